//! Load benchmark of the gate over real HTTP on loopback, on SQLite and PostgreSQL:
//! ticket issue and redemption throughput, and the push round trip
//! (start → approve → status → verify) latency.
//!
//! `cargo bench -p sekimori-server --bench gate_load`
//! Environment: `SEKIMORI_BENCH_BACKENDS` (`sqlite,postgres`), `SEKIMORI_BENCH_TICKETS`
//! (default 20000), `SEKIMORI_BENCH_CONCURRENCY` (default 32), `SEKIMORI_BENCH_PUSHES`
//! (default 2000), `SEKIMORI_TEST_DATABASE_URL` for PostgreSQL.
//! The client runs in the same process as the server and shares the machine's cores,
//! so throughput is a lower bound for the server alone. The push round trip is reported
//! twice: as the client saw it, and as the server's own time (a middleware measures each
//! request from the router's entry to its response; the four are summed).

#![allow(clippy::disallowed_methods)] // reason: a benchmark measures wall-clock time with Instant
#![allow(clippy::unwrap_used)] // reason: a failed benchmark step should stop the run loudly

mod common;

use sekimori_core::PublicUrl;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sekimori_client::{AdminClient, AppClient, Authenticator};
use sekimori_core::{OsRng, SystemClock};
use sekimori_gate::GateSettings;
use sekimori_store::Store;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Time the server spent on each request since the last drain (handler entry to response).
static SERVER_TIME: std::sync::Mutex<Vec<Duration>> = std::sync::Mutex::new(Vec::new());

async fn timed(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let t0 = Instant::now();
    let resp = next.run(req).await;
    SERVER_TIME.lock().unwrap().push(t0.elapsed());
    resp
}

fn drain_server_time() -> Duration {
    SERVER_TIME.lock().unwrap().drain(..).sum()
}

async fn start(store: Arc<dyn Store>) -> (String, AdminClient) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let settings =
        GateSettings { public_url: PublicUrl::from_listen(listener.local_addr().unwrap()), ..Default::default() };
    let (state, token) = common::state(store, settings).await;
    let app = sekimori_server::router(state)
        .layer(axum::middleware::from_fn(timed))
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let admin = AdminClient::new(&url, &token);
    (url, admin)
}

async fn run_parallel<F, Fut>(n: usize, concurrency: usize, f: F) -> Duration
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let f = Arc::new(f);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let t0 = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let f = f.clone();
            let next = next.clone();
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    f(i).await;
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    t0.elapsed()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

async fn bench_backend(name: &str, store: Arc<dyn Store>) {
    let tickets = env_num("SEKIMORI_BENCH_TICKETS", 20_000);
    let concurrency = env_num("SEKIMORI_BENCH_CONCURRENCY", 32);
    let pushes = env_num("SEKIMORI_BENCH_PUSHES", 2_000);
    let (url, admin) = start(store).await;
    admin.add_user("alice", None, None).await.unwrap();
    let rp_key = admin.add_app("canteen", "relying_party").await.unwrap()["key"].as_str().unwrap().to_owned();
    let v_key = admin.add_app("till", "verifier").await.unwrap()["key"].as_str().unwrap().to_owned();
    let rp = AppClient::new(&url, &rp_key);
    let verifier = AppClient::new(&url, &v_key);

    // Issue.
    let payloads = Arc::new(std::sync::Mutex::new(vec![String::new(); tickets]));
    let issue_time = {
        let rp = rp.clone();
        let payloads = payloads.clone();
        run_parallel(tickets, concurrency, move |i| {
            let rp = rp.clone();
            let payloads = payloads.clone();
            async move {
                let t = rp.issue_ticket("alice", "lunch", None).await.unwrap();
                payloads.lock().unwrap()[i] = t["payload"].as_str().unwrap().to_owned();
            }
        })
        .await
    };
    // Redeem.
    let payloads = Arc::new(payloads.lock().unwrap().clone());
    let redeem_time = {
        let verifier = verifier.clone();
        run_parallel(tickets, concurrency, move |i| {
            let verifier = verifier.clone();
            let payloads = payloads.clone();
            async move {
                verifier.redeem_ticket(&payloads[i]).await.unwrap();
            }
        })
        .await
    };
    println!(
        "{name}: tickets issued {tickets} in {:.2} s = {:.0}/s; redeemed {tickets} in {:.2} s = {:.0}/s (concurrency {concurrency})",
        issue_time.as_secs_f64(),
        tickets as f64 / issue_time.as_secs_f64(),
        redeem_time.as_secs_f64(),
        tickets as f64 / redeem_time.as_secs_f64()
    );

    // Push round trips, one at a time: start → approve (signed) → status → verify.
    let e = admin.create_enrollment("alice").await.unwrap();
    let device = Authenticator::enroll(e["link"].as_str().unwrap(), "bench", Arc::new(SystemClock), Arc::new(OsRng))
        .await
        .unwrap();
    let mut rtts = Vec::with_capacity(pushes);
    let mut server_rtts = Vec::with_capacity(pushes);
    for _ in 0..pushes {
        device.standby().await.unwrap();
        drain_server_time();
        let t0 = Instant::now();
        let started = rp.start_push("alice", None).await.unwrap();
        let id = started["login_id"].as_str().unwrap();
        device.approve(id, started["number"].as_i64().unwrap()).await.unwrap();
        let status = rp.push_status(id, 0).await.unwrap();
        rp.verify_assertion(status["assertion"].as_str().unwrap()).await.unwrap();
        rtts.push(t0.elapsed());
        server_rtts.push(drain_server_time());
    }
    rtts.sort();
    server_rtts.sort();
    println!(
        "{name}: push round trip (4 HTTP requests) over {pushes}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&rtts, 0.50).as_secs_f64() * 1e3,
        percentile(&rtts, 0.99).as_secs_f64() * 1e3,
        rtts.last().unwrap().as_secs_f64() * 1e3
    );
    println!(
        "{name}: push round trip, server-side time of the 4 requests: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&server_rtts, 0.50).as_secs_f64() * 1e3,
        percentile(&server_rtts, 0.99).as_secs_f64() * 1e3,
        server_rtts.last().unwrap().as_secs_f64() * 1e3
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let backends = std::env::var("SEKIMORI_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    rt.block_on(async {
        for b in backends.split(',') {
            match b.trim() {
                "sqlite" => bench_backend("sqlite", Arc::new(sekimori_store::testing::fresh_sqlite().await)).await,
                "postgres" => {
                    bench_backend("postgres", Arc::new(sekimori_store::testing::fresh_postgres().await)).await
                }
                other => panic!("unknown backend {other}"),
            }
        }
    });
}
