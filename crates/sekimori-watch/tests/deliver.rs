//! Delivery to an HTTP receiver, against a real HTTP server on loopback that answers as
//! scripted: one that fails twice with 503 then takes the notification gets it once
//! accepted after three attempts; a 400 is not retried; an unreachable receiver is retried
//! until the attempts run out; every body is signed with HMAC-SHA256 over time and body.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use sekimori_core::{OsRng, SystemClock};
use sekimori_respond::delivery::RetryPolicy;
use sekimori_watch::deliver::{HttpReceiver, Sender};
use serde_json::json;
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Clone)]
struct Seen {
    signature: Option<String>,
    body: Vec<u8>,
}

/// Serves one scripted status per request (the last repeats); returns the URL and what it saw.
async fn receiver(script: Vec<u16>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        let mut n = 0;
        loop {
            let Ok((mut conn, _)) = listener.accept().await else { return };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head_end, length) = loop {
                let Ok(read) = conn.read(&mut chunk).await else { break (0, 0) };
                if read == 0 {
                    break (0, 0);
                }
                buf.extend_from_slice(&chunk[..read]);
                if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..at]).to_ascii_lowercase();
                    let length = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    break (at + 4, length);
                }
            };
            while buf.len() < head_end + length {
                let Ok(read) = conn.read(&mut chunk).await else { break };
                if read == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..read]);
            }
            let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
            let signature = head
                .lines()
                .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("x-sekimori-signature")))
                .map(|(_, v)| v.trim().to_owned());
            log.lock().expect("log").push(Seen { signature, body: buf[head_end..].to_vec() });
            let status = script[n.min(script.len() - 1)];
            n += 1;
            let reply = format!("HTTP/1.1 {status} Scripted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = conn.write_all(reply.as_bytes()).await;
        }
    });
    (url, seen)
}

fn sender(attempts: u32) -> Sender {
    let policy = RetryPolicy { base: Duration::from_millis(5), max: Duration::from_millis(20), attempts };
    Sender::new(Arc::new(SystemClock), Arc::new(OsRng), policy, Duration::from_secs(5)).expect("sender")
}

#[tokio::test]
async fn a_receiver_that_fails_twice_then_takes_it_gets_it_once_and_a_refusal_is_not_retried() {
    let body = json!({"version": "4", "status": "firing", "alerts": [{"labels": {"rule": "r1"}}]});
    let (url, seen) = receiver(vec![503, 503, 200]).await;
    let hook = HttpReceiver { name: "siem".into(), url, hmac_key: Some(b"k3y".to_vec()) };
    let report = sender(5).post(&hook, &body).await;
    assert!(report.delivered, "{report:?}");
    let outcomes: Vec<&str> = report.attempts.iter().map(|a| a.outcome.as_str()).collect();
    assert_eq!(outcomes, ["status 503", "status 503", "delivered"]);
    let seen = seen.lock().expect("log").clone();
    assert_eq!(seen.len(), 3, "three requests, one taken");
    for s in &seen {
        assert_eq!(s.body, body.to_string().into_bytes());
        let sig = s.signature.as_deref().expect("signed");
        let (t, v1) = sig.strip_prefix("t=").and_then(|r| r.split_once(",v1=")).expect("t=…,v1=…");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"k3y").expect("key");
        mac.update(format!("{t}.").as_bytes());
        mac.update(&s.body);
        assert_eq!(hex::encode(mac.finalize().into_bytes()), v1, "the MAC verifies over time and body");
    }

    let (url, seen) = receiver(vec![400]).await;
    let hook = HttpReceiver { name: "bad".into(), url, hmac_key: None };
    let report = sender(5).post(&hook, &body).await;
    assert!(!report.delivered);
    assert_eq!(report.attempts.len(), 1, "a 4xx is not retried");
    assert_eq!(seen.lock().expect("log").len(), 1);
    assert!(seen.lock().expect("log")[0].signature.is_none(), "no key, no signature");

    let (url, seen) = receiver(vec![429, 200]).await;
    let hook = HttpReceiver { name: "slack".into(), url, hmac_key: None };
    assert!(sender(5).post(&hook, &body).await.delivered, "429 is retried");
    assert_eq!(seen.lock().expect("log").len(), 2);
}

#[tokio::test]
async fn an_unreachable_receiver_is_retried_until_the_attempts_run_out() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let hook = HttpReceiver { name: "gone".into(), url: format!("http://127.0.0.1:{port}/hook"), hmac_key: None };
    let report = sender(3).post(&hook, &json!({})).await;
    assert!(!report.delivered);
    assert_eq!(report.attempts.iter().map(|a| a.outcome.as_str()).collect::<Vec<_>>(), ["connection"; 3]);
}
