//! Password logins per second at the production Argon2id setting (m = 19 MiB, t = 2,
//! p = 1), over real HTTP on loopback with SQLite: each login is a relying party's
//! `POST /api/v1/factors/password/verify` with the right password (throttle checks, user
//! and hash lookup, one Argon2id verification on the pool, the audited success).
//!
//! `cargo bench -p sekimori-server --bench password_login`
//! Environment: `SEKIMORI_BENCH_LOGINS` (default 600), `SEKIMORI_BENCH_CONCURRENCY`
//! (default 8). Runs with one hashing thread (logins/s per core) and with one per core,
//! each with login-time risk switched off and on (issue 19: the default policy's signals
//! and rules, with velocity limits raised so that the benchmark's own pace is not
//! refused). The client shares the machine's cores with the server.

#![allow(clippy::disallowed_methods)] // reason: a benchmark measures wall-clock time with Instant
#![allow(clippy::unwrap_used)] // reason: a failed benchmark step should stop the run loudly

mod common;

use sekimori_core::PublicUrl;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use sekimori_client::AdminClient;
use sekimori_gate::GateSettings;
use serde_json::json;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn run(workers: usize, risk: bool) {
    let logins = env_num("SEKIMORI_BENCH_LOGINS", 600);
    let concurrency = env_num("SEKIMORI_BENCH_CONCURRENCY", 8);
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(sekimori_store::sqlite::SqliteStore::open(&dir.path().join("bench.db")).await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mut settings =
        GateSettings { public_url: PublicUrl::from_listen(listener.local_addr().unwrap()), ..Default::default() };
    settings.password.hash_workers = workers;
    settings.password.hash_queue = 4 * concurrency;
    let (state, token) = common::state(store, settings).await;
    let app = sekimori_server::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let admin = AdminClient::new(&url, &token);
    let http = reqwest::Client::new();
    let users = 50;
    for i in 0..users {
        admin.add_user(&format!("user{i}"), None, None).await.unwrap();
        let r = http
            .put(format!("{url}/api/v1/admin/users/user{i}/password"))
            .bearer_auth(&token)
            .json(&json!({"password": format!("kumamoto-{i}-castle")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
    let key = admin.add_app("bench", "relying_party").await.unwrap()["key"].as_str().unwrap().to_owned();
    let policy = if risk {
        json!({"velocity": {"window_seconds": 60, "user": 100_000, "address": 100_000, "network": 100_000}})
    } else {
        json!({"enabled": false})
    };
    let r = http
        .put(format!("{url}/api/v1/admin/risk/policy"))
        .bearer_auth(&token)
        .json(&json!({"base_version": 0, "policy": policy}))
        .send()
        .await
        .unwrap();
    let status = r.status();
    assert_eq!(status, 200, "{}", r.text().await.unwrap());
    let next = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, url, key, next) = (http.clone(), url.clone(), key.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= logins {
                        break;
                    }
                    let u = i % users;
                    let r = http
                        .post(format!("{url}/api/v1/factors/password/verify"))
                        .bearer_auth(&key)
                        .json(&json!({"username": format!("user{u}"), "password": format!("kumamoto-{u}-castle"),
                                      "client": {"ip": format!("10.0.{}.1", u)}}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 200);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "password logins (Argon2id m=19456 KiB, t=2, p=1), {workers} hashing thread(s), risk {}: {logins} in {secs:.2} s = {:.1}/s ({:.1}/s per hashing thread)",
        if risk { "on" } else { "off" },
        logins as f64 / secs,
        logins as f64 / secs / workers as f64
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for workers in [1, cores] {
        rt.block_on(run(workers, false));
        rt.block_on(run(workers, true));
    }
}
