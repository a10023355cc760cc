//! Passkey logins per second, over real HTTP on loopback with SQLite: each login is the
//! hosted page's `POST /api/v1/session/passkey/start` (the user's passkeys offered, the
//! ceremony stored) and `…/finish` (the ceremony taken atomically, the ECDSA P-256
//! assertion verified by webauthn-rs, the counter stored, the audited success, a new
//! browser session). Software passkeys (`webauthn-authenticator-rs`) answer in the same
//! process, one per concurrent user, sharing the machine's cores with the server.
//!
//! `cargo bench -p sekimori-server --bench passkey_login`
//! Environment: `SEKIMORI_BENCH_LOGINS` (default 4000), `SEKIMORI_BENCH_CONCURRENCY` (16).

#![allow(clippy::disallowed_methods)] // reason: a benchmark measures wall-clock time with Instant
#![allow(clippy::unwrap_used)] // reason: a failed benchmark step should stop the run loudly

mod common;

use sekimori_core::PublicUrl;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use sekimori_client::AdminClient;
use sekimori_gate::GateSettings;
use serde_json::{json, Value};
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url, WebauthnAuthenticator,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn post(http: &reqwest::Client, url: &str, cookie: Option<&str>, body: Value) -> (Value, Option<String>) {
    let mut req = http.post(url).json(&body);
    if let Some(c) = cookie {
        req = req.header("cookie", format!("sekimori_session={c}"));
    }
    let r = req.send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("sekimori_session="))
        .map(|c| c.split(';').next().unwrap_or("").to_owned());
    (r.json().await.unwrap(), cookie)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let logins = env_num("SEKIMORI_BENCH_LOGINS", 4000);
        let concurrency = env_num("SEKIMORI_BENCH_CONCURRENCY", 16);
        let dir = tempfile::tempdir().unwrap();
        let store =
            Arc::new(sekimori_store::sqlite::SqliteStore::open(&dir.path().join("bench.db")).await.unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let url = format!("http://127.0.0.1:{port}");
        let origin = Url::parse(&format!("http://localhost:{port}")).unwrap();
        let mut settings = GateSettings { public_url: PublicUrl::from_listen(std::net::SocketAddr::from(([127, 0, 0, 1], port))), ..Default::default() };
        settings.passkey.rp_id = Some("localhost".into());
        settings.passkey.origins = vec![origin.to_string().trim_end_matches('/').to_owned()];
        let (state, token) = common::state(store, settings).await;
        let gate = state.gate.clone();
        let app = sekimori_server::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let admin = AdminClient::new(&url, &token);
        let http = reqwest::Client::new();
        let tenant = gate.admin().default_tenant().await.unwrap();
        // One user and one software passkey per concurrent client.
        let mut keys = Vec::new();
        for i in 0..concurrency {
            let name = format!("user{i}");
            admin.add_user(&name, None, None).await.unwrap();
            let user = gate.admin().find_user(&tenant.id, &name).await.unwrap();
            let (cookie, _) = gate.sessions().create_session(&user, 1, &["pwd".to_owned()], None).await.unwrap();
            let (started, _) =
                post(&http, &format!("{url}/api/v1/session/passkeys/register/start"), Some(&cookie), json!({})).await;
            let options: CreationChallengeResponse = serde_json::from_value(started["options"].clone()).unwrap();
            let mut key = WebauthnAuthenticator::new(SoftPasskey::new(true));
            let credential = key.do_registration(origin.clone(), options).unwrap();
            let body = json!({"ceremony": started["ceremony"], "credential": credential});
            post(&http, &format!("{url}/api/v1/session/passkeys/register/finish"), Some(&cookie), body).await;
            keys.push((name, key));
        }
        let next = Arc::new(AtomicUsize::new(0));
        let t0 = Instant::now();
        let tasks: Vec<_> = keys
            .into_iter()
            .map(|(name, mut key)| {
                let (http, url, origin, next) = (http.clone(), url.clone(), origin.clone(), next.clone());
                tokio::spawn(async move {
                    while next.fetch_add(1, Ordering::Relaxed) < logins {
                        let (started, _) =
                            post(&http, &format!("{url}/api/v1/session/passkey/start"), None, json!({"username": name}))
                                .await;
                        let options: RequestChallengeResponse =
                            serde_json::from_value(started["options"].clone()).unwrap();
                        let answer = key.do_authentication(origin.clone(), options).unwrap();
                        let body = json!({"ceremony": started["ceremony"], "credential": answer});
                        let (done, cookie) = post(&http, &format!("{url}/api/v1/session/passkey/finish"), None, body).await;
                        assert_eq!(done["level"], 3);
                        assert!(cookie.is_some());
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let secs = t0.elapsed().as_secs_f64();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        println!(
            "passkey logins (start + finish, ECDSA P-256, new session), concurrency {concurrency}: {logins} in {secs:.2} s = {:.0}/s ({:.0}/s per core)",
            logins as f64 / secs,
            logins as f64 / secs / cores
        );
    });
}
