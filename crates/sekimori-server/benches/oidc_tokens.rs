//! OIDC token endpoint throughput, over real HTTP on loopback with SQLite, as relying
//! parties drive it: authorization requests with a signed-in browser (a code each),
//! authorization-code exchanges (client_secret_basic, PKCE S256, atomic code consume plus
//! refresh-token insert and audit row, an id_token and an RFC 9068 access token signed),
//! then refresh grants (atomic rotation, a new token pair signed).
//!
//! `cargo bench -p sekimori-server --bench oidc_tokens`
//! Environment: `SEKIMORI_BENCH_GRANTS` (default 4000), `SEKIMORI_BENCH_CONCURRENCY`
//! (default 16), `SEKIMORI_BENCH_PIN` (default 1). Runs for an RS256 and an ES256 client
//! (access tokens ES256, the default). Pinned (with two cores or more): the server runs on
//! one thread pinned to core 0 and the load generator on core 1, so the rates are per
//! server core; unpinned, both share every core.

#![allow(clippy::disallowed_methods)] // reason: a benchmark measures wall-clock time with Instant
#![allow(clippy::unwrap_used)] // reason: a failed benchmark step should stop the run loudly

mod common;

use sekimori_core::PublicUrl;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use base64::Engine as _;
use sekimori_client::AdminClient;
use sekimori_gate::GateSettings;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Runs `n` jobs over `concurrency` tasks; returns their results and jobs per second.
async fn drive<T, F, Fut>(n: usize, concurrency: usize, job: F) -> (Vec<T>, f64)
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = T> + Send,
{
    let job = Arc::new(job);
    let out = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (job, out, next) = (job.clone(), out.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let r = job(i).await;
                    out.lock().unwrap().push(r);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let rate = n as f64 / t0.elapsed().as_secs_f64();
    let out = std::mem::take(&mut *out.lock().unwrap());
    (out, rate)
}

/// Starts the server: on its own thread pinned to core 0 with a single-threaded runtime
/// (`pin`), or on the caller's runtime. Its URL, admin token and gate.
async fn server(pin: bool) -> (String, String, sekimori_gate::Gate) {
    async fn start() -> (tokio::net::TcpListener, String, String, sekimori_gate::Gate, sekimori_server::AppState) {
        let dir = tempfile::tempdir().unwrap().keep();
        let store = Arc::new(sekimori_store::sqlite::SqliteStore::open(&dir.join("bench.db")).await.unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let settings =
            GateSettings { public_url: PublicUrl::from_listen(listener.local_addr().unwrap()), ..Default::default() };
        let (state, token) = common::state(store, settings).await;
        let gate = state.gate.clone();
        (listener, url, token, gate, state)
    }
    if !pin {
        let (listener, url, token, gate, state) = start().await;
        let app = sekimori_server::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await });
        return (url, token, gate);
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        core_affinity::set_for_current(core_affinity::CoreId { id: 0 });
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let (listener, url, token, gate, state) = start().await;
            tx.send((url, token, gate)).ok();
            let app = sekimori_server::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.await.unwrap()
}

async fn run(alg: &str, pin: bool) {
    let grants = env_num("SEKIMORI_BENCH_GRANTS", 4000);
    let concurrency = env_num("SEKIMORI_BENCH_CONCURRENCY", 16);
    let (url, token, gate) = server(pin).await;
    let admin = AdminClient::new(&url, &token);
    admin.add_user("alice", None, None).await.unwrap();
    let user = gate.admin().find_user(&gate.admin().default_tenant().await.unwrap().id, "alice").await.unwrap();
    let (cookie, _) = gate.sessions().create_session(&user, 1, &["pwd".to_owned()], None).await.unwrap();
    let reg = json!({"redirect_uris": ["https://rp.example/cb"], "id_token_alg": alg});
    let client = admin.add_oidc_client(&format!("bench-{alg}"), &reg).await.unwrap();
    let client_id = client["client_id"].as_str().unwrap().to_owned();
    let secret = client["client_secret"].as_str().unwrap().to_owned();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let verifier = "bench-verifier-0123456789-0123456789-0123456789".to_owned();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    // Warm the key ring (keys are made at the first use).
    http.get(format!("{url}/oidc/jwks")).send().await.unwrap();

    let authorize = format!(
        "{url}/oidc/authorize?response_type=code&scope=openid%20profile&client_id={client_id}\
         &redirect_uri=https%3A%2F%2Frp.example%2Fcb&code_challenge={challenge}&code_challenge_method=S256&nonce=n"
    );
    let (codes, authorize_rate) = drive(grants, concurrency, {
        let (http, authorize, cookie) = (http.clone(), authorize.clone(), cookie.clone());
        move |_| {
            let (http, authorize, cookie) = (http.clone(), authorize.clone(), cookie.clone());
            async move {
                let r =
                    http.get(&authorize).header("cookie", format!("sekimori_session={cookie}")).send().await.unwrap();
                let loc = r.headers()["location"].to_str().unwrap().to_owned();
                loc.split("code=").nth(1).unwrap().split('&').next().unwrap().to_owned()
            }
        }
    })
    .await;
    let codes = Arc::new(codes);

    let token_url = format!("{url}/oidc/token");
    let (refresh_tokens, exchange_rate) = drive(grants, concurrency, {
        let (http, token_url, client_id, secret, verifier, codes) =
            (http.clone(), token_url.clone(), client_id.clone(), secret.clone(), verifier.clone(), codes.clone());
        move |i| {
            let (http, token_url, client_id, secret, verifier, codes) =
                (http.clone(), token_url.clone(), client_id.clone(), secret.clone(), verifier.clone(), codes.clone());
            async move {
                let form = [
                    ("grant_type", "authorization_code"),
                    ("code", codes[i].as_str()),
                    ("redirect_uri", "https://rp.example/cb"),
                    ("code_verifier", verifier.as_str()),
                ];
                let r = http.post(&token_url).basic_auth(&client_id, Some(&secret)).form(&form).send().await.unwrap();
                assert_eq!(r.status(), 200);
                let v: Value = r.json().await.unwrap();
                v["refresh_token"].as_str().unwrap().to_owned()
            }
        }
    })
    .await;
    let refresh_tokens = Arc::new(refresh_tokens);

    let (_, refresh_rate) = drive(grants, concurrency, {
        let (http, token_url, client_id, secret, refresh_tokens) =
            (http.clone(), token_url.clone(), client_id.clone(), secret.clone(), refresh_tokens.clone());
        move |i| {
            let (http, token_url, client_id, secret, refresh_tokens) =
                (http.clone(), token_url.clone(), client_id.clone(), secret.clone(), refresh_tokens.clone());
            async move {
                let form = [("grant_type", "refresh_token"), ("refresh_token", refresh_tokens[i].as_str())];
                let r = http.post(&token_url).basic_auth(&client_id, Some(&secret)).form(&form).send().await.unwrap();
                assert_eq!(r.status(), 200);
            }
        }
    })
    .await;
    let cores = if pin { 1.0 } else { std::thread::available_parallelism().map_or(1, |n| n.get()) as f64 };
    let how = if pin { "server pinned to one core, load on another" } else { "server and load on all cores" };
    println!("OIDC, id_token {alg}, access token ES256, {grants} each, concurrency {concurrency}, {how}:");
    println!(
        "  authorization requests (signed in): {authorize_rate:>8.0}/s ({:.0}/s per core)",
        authorize_rate / cores
    );
    println!("  code exchanges:                     {exchange_rate:>8.0}/s ({:.0}/s per core)", exchange_rate / cores);
    println!("  refresh grants:                     {refresh_rate:>8.0}/s ({:.0}/s per core)", refresh_rate / cores);
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pin = cores >= 2 && std::env::var("SEKIMORI_BENCH_PIN").map_or(true, |v| v != "0");
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if pin {
        rt.worker_threads(1).on_thread_start(|| {
            core_affinity::set_for_current(core_affinity::CoreId { id: 1 });
        });
    }
    let rt = rt.enable_all().build().unwrap();
    rt.block_on(run("RS256", pin));
    rt.block_on(run("ES256", pin));
}
