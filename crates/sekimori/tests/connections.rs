//! The server's connections as an attacker and an operator meet them, against the built
//! binary: clients that send half a request head and wait (slowloris), kept-alive
//! connections left idle, more connections than the cap, and a SIGTERM while a client
//! holds an unfinished request. Every wait here is a liveness bound, not a speed claim.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod common;
use common::{start_with_env, terminate};

/// Opens a connection and sends the start of a request head, never its end.
async fn half_open(addr: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.expect("write");
    s
}

/// Whether the server closed `s` (EOF or reset, after any answer) within `within`.
async fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

async fn healthz(url: &str) -> bool {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client");
    client.get(format!("{url}/healthz")).send().await.is_ok_and(|r| r.status() == 200)
}

/// 1,100 slowloris connections (more than the usual 1,024 open-files limit): `/healthz`
/// answers throughout, and every one of them is closed once the head timeout has passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_are_timed_out_and_healthz_answers_throughout() {
    sekimori_server::listen::raise_open_files_limit();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_with_env(&dir.path().join("data"), &[("SEKIMORI_SERVER__HEADER_TIMEOUT_SECONDS", "3")]).await;
    let addr = server.url.trim_start_matches("http://").to_owned();
    let mut slow = Vec::new();
    for i in 0..1_100 {
        slow.push(half_open(&addr).await);
        if i % 275 == 0 {
            assert!(healthz(&server.url).await, "/healthz answers with {i} slow clients connected");
        }
    }
    assert!(healthz(&server.url).await, "/healthz answers with 1,100 slow clients connected");
    // A kept-alive connection that answered once and then idles is closed as well.
    let mut idle = TcpStream::connect(&addr).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("write");
    let mut first = [0u8; 512];
    let n = idle.read(&mut first).await.expect("an answer");
    assert!(first[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&first[..n]));
    let mut open = 0;
    for s in &mut slow {
        if !closed_within(s, Duration::from_secs(30)).await {
            open += 1;
        }
    }
    assert_eq!(open, 0, "every slow client is closed after the head timeout");
    assert!(closed_within(&mut idle, Duration::from_secs(30)).await, "an idle kept-alive connection is closed");
    assert!(healthz(&server.url).await);
}

/// Beyond `max_connections` a newcomer is closed at once instead of waiting in the
/// backlog; when the holders go, the server answers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_refused_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [("SEKIMORI_SERVER__MAX_CONNECTIONS", "16"), ("SEKIMORI_SERVER__HEADER_TIMEOUT_SECONDS", "60")];
    let server = start_with_env(&dir.path().join("data"), &env).await;
    let addr = server.url.trim_start_matches("http://").to_owned();
    // Forty connections against a cap of sixteen: whatever order the server takes them
    // in, sixteen are held and the other twenty-four are closed at once.
    let mut conns = Vec::new();
    for _ in 0..40 {
        conns.push(half_open(&addr).await);
    }
    let mut checks = Vec::new();
    for mut c in conns {
        checks.push(tokio::spawn(async move {
            let closed = closed_within(&mut c, Duration::from_secs(10)).await;
            (closed, c)
        }));
    }
    let mut holders = Vec::new();
    let mut closed = 0;
    for check in checks {
        let (was_closed, c) = check.await.expect("join");
        if was_closed {
            closed += 1;
        } else {
            holders.push(c);
        }
    }
    // (The start-up probe's connection may still count as one of the sixteen for a moment.)
    assert!(
        (15..=16).contains(&holders.len()) && closed + holders.len() == 40,
        "the cap holds sixteen and closes the rest at once: {closed} closed, {} held",
        holders.len()
    );
    drop(holders);
    let mut answered = false;
    for _ in 0..50 {
        if healthz(&server.url).await {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answered, "/healthz answers once the holders are gone");
}

/// SIGTERM while a client holds half a request head: the server stops within its
/// shutdown grace (2 s here) instead of waiting for the client for ever.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_server_despite_an_unfinished_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [("SEKIMORI_SERVER__SHUTDOWN_GRACE_SECONDS", "2"), ("SEKIMORI_SERVER__HEADER_TIMEOUT_SECONDS", "120")];
    let mut server = start_with_env(&dir.path().join("data"), &env).await;
    let addr = server.url.trim_start_matches("http://").to_owned();
    let mut holder = half_open(&addr).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let status = terminate(&mut server).await;
    assert!(status.success(), "{status:?}");
    assert!(closed_within(&mut holder, Duration::from_secs(5)).await, "the unfinished connection is closed");
}
