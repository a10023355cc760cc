//! Web Push latency and the app's size:
//!
//! 1. **Push login to push sent**: 1,000 users, each with one enrolled device subscribed to
//!    a push service on loopback (SQLite, the sender as `sekimori serve` wires it). For each
//!    login the time from the relying party's `POST /api/v1/logins/push` to the push
//!    service receiving the encrypted, VAPID-signed request: an upper bound of the time to
//!    the push leaving the server. Logins one after another (latency), then 8 at once.
//! 2. **The app's first load**: the bytes of `/app/` and everything its page loads before
//!    the first screen (scripts, style, manifest, icon), as sent with `Accept-Encoding: gzip`,
//!    and the QR decoder loaded on the first camera use.
//!
//! `cargo bench -p sekimori-server --bench web_push`
//! Environment: `SEKIMORI_BENCH_USERS` (default 1000), `SEKIMORI_BENCH_LOGINS` (1000).

#![allow(clippy::disallowed_methods)] // reason: a benchmark measures wall-clock time with Instant
#![allow(clippy::unwrap_used)] // reason: a failed benchmark step should stop the run loudly

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use sekimori_core::{OsRng, PublicUrl, SystemClock};
use sekimori_gate::{Gate, GateSettings, ServerKeys};
use sekimori_store::{PushSubscription, Store};
use serde_json::json;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

async fn push_service() -> (String, Arrivals) {
    let arrivals: Arrivals = Arc::default();
    let seen = arrivals.clone();
    let app = axum::Router::new().route(
        "/push/{id}",
        axum::routing::post(move |axum::extract::Path(id): axum::extract::Path<String>| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().entry(id).or_insert_with(Instant::now);
                axum::http::StatusCode::CREATED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (origin, arrivals)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let users = env_num("SEKIMORI_BENCH_USERS", 1000);
        let logins = env_num("SEKIMORI_BENCH_LOGINS", 1000).min(users);
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(sekimori_store::sqlite::SqliteStore::open(&dir.path().join("bench.db")).await.unwrap());
        let (push_origin, arrivals) = push_service().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let url = format!("http://{addr}");
        let mut settings = GateSettings { public_url: PublicUrl::from_listen(addr), ..Default::default() };
        settings.web_push.endpoint_origins = vec![push_origin.clone()];
        let keys = ServerKeys::generate(&OsRng);
        let sender = sekimori_webpush::WebPush::start(
            store.clone(),
            Arc::new(SystemClock),
            sekimori_webpush::SenderConfig::new(&keys, &settings),
        )
        .unwrap();
        let gate = Gate::with_deliveries(
            store.clone(),
            Arc::new(SystemClock),
            Arc::new(OsRng),
            keys,
            settings,
            vec![sender.clone() as Arc<dyn sekimori_gate::notify::Delivery>],
        )
        .unwrap();
        let (mut state, token) = common::state(store.clone(), GateSettings::default()).await;
        let token = {
            // The benchmark's gate is the one with the sender; mint its admin token.
            drop(token);
            let tenant = gate.admin().bootstrap().await.unwrap().0;
            gate.admin().mint_admin_token(&tenant.id, "bench").await.unwrap()
        };
        state.gate = gate.clone();
        let app = sekimori_server::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let admin = sekimori_client::AdminClient::new(&url, &token);
        admin.update_tenant(&json!({"standby_required": false})).await.unwrap();
        let rp = admin.add_app("shop", "relying_party").await.unwrap();
        let rp = sekimori_client::AppClient::new(&url, rp["key"].as_str().unwrap());
        let http = reqwest::Client::new();

        // Users, each with an enrolled device and a subscription.
        let t = Instant::now();
        let browser = p256::SecretKey::from_slice(&[5u8; 32]).unwrap();
        let p256dh = URL_SAFE_NO_PAD.encode(browser.public_key().to_encoded_point(false).as_bytes());
        for i in 0..users {
            let name = format!("user{i}");
            admin.add_user(&name, None, None).await.unwrap();
            let link = admin.create_enrollment(&name).await.unwrap()["link"].as_str().unwrap().to_owned();
            let code = link.rsplit_once("c=").unwrap().1.to_owned();
            let device = ed25519_dalek::SigningKey::from_bytes(&[(i % 251) as u8 + 1; 32]);
            let enrolled: serde_json::Value = http
                .post(format!("{url}/api/v1/device/enroll"))
                .json(&json!({"code": code, "public_key": URL_SAFE_NO_PAD.encode(device.verifying_key().as_bytes()), "name": "phone"}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let sub = PushSubscription {
                device_id: sekimori_core::DeviceId::new(enrolled["device_id"].as_str().unwrap()),
                tenant_id: gate.admin().default_tenant().await.unwrap().id,
                user_id: sekimori_core::UserId::new(enrolled["user_id"].as_str().unwrap()),
                endpoint: format!("{push_origin}/push/{name}"),
                p256dh: p256dh.clone(),
                auth: URL_SAFE_NO_PAD.encode([7u8; 16]),
                created_at: sekimori_core::Timestamp(0),
            };
            let ev = sekimori_core::event::NewEvent::new(
                sekimori_core::Timestamp(0),
                sub.tenant_id.as_str(),
                "iam",
                "iam.device.push_subscribed",
                sekimori_core::event::Outcome::Success,
            );
            store.put_push_subscription(&sub, &ev).await.unwrap();
        }
        println!("setup: {users} users with a subscribed device in {:.1} s", t.elapsed().as_secs_f64());

        for concurrency in [1usize, 8] {
            arrivals.lock().unwrap().clear();
            let started: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
            let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let t = Instant::now();
            let mut tasks = Vec::new();
            for _ in 0..concurrency {
                let (rp, started, next) = (rp.clone(), started.clone(), next.clone());
                tasks.push(tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= logins {
                            break;
                        }
                        let name = format!("user{i}");
                        started.lock().unwrap().insert(name.clone(), Instant::now());
                        rp.start_push(&name, None).await.unwrap();
                    }
                }));
            }
            for task in tasks {
                task.await.unwrap();
            }
            while arrivals.lock().unwrap().len() < logins {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let wall = t.elapsed();
            let (started, arrived) = (started.lock().unwrap().clone(), arrivals.lock().unwrap().clone());
            let mut lat: Vec<Duration> = started.iter().map(|(name, t0)| arrived[name].duration_since(*t0)).collect();
            lat.sort();
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            println!(
                "push login to push received, {logins} logins, {concurrency} at once: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {:.0} logins/s",
                ms(percentile(&lat, 0.5)),
                ms(percentile(&lat, 0.99)),
                ms(lat[lat.len() - 1]),
                logins as f64 / wall.as_secs_f64()
            );
        }
        let st = sender.stats();
        println!(
            "sender: sent {} failed {} dropped {}",
            st.sent.load(std::sync::atomic::Ordering::Relaxed),
            st.failed.load(std::sync::atomic::Ordering::Relaxed),
            st.dropped.load(std::sync::atomic::Ordering::Relaxed)
        );

        // The app's first load, as a phone's browser fetches it.
        let mut first = 0usize;
        let mut plain = 0usize;
        for path in ["", "app.js", "device.js", "app.css", "manifest.webmanifest", "icon.svg", "icon-192.png"] {
            let r = http.get(format!("{url}/app/{path}")).header("accept-encoding", "gzip").send().await.unwrap();
            assert!(r.status().is_success());
            let gz = r.headers().get("content-encoding").is_some();
            let body = r.bytes().await.unwrap();
            first += body.len();
            let r = http.get(format!("{url}/app/{path}")).send().await.unwrap();
            plain += r.bytes().await.unwrap().len();
            println!("  /app/{path:<22} {:>7} bytes{}", body.len(), if gz { " (gzip)" } else { "" });
        }
        let sw = http.get(format!("{url}/app/sw.js")).header("accept-encoding", "gzip").send().await.unwrap();
        let sw = sw.bytes().await.unwrap().len();
        let qr = http.get(format!("{url}/app/vendor/jsQR.js")).header("accept-encoding", "gzip").send().await.unwrap();
        let qr = qr.bytes().await.unwrap().len();
        println!(
            "app first load: {first} bytes compressed ({plain} uncompressed); service worker {sw}; QR decoder on first camera use {qr} (compressed)"
        );
    });
}
