//! The black-box harness: the built `sekimori` binary on a fresh data dir and a free port.
#![allow(dead_code)] // reason: each test file uses a part of the harness

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_sekimori");

/// A folder of the public Sigma data (`../shared/data/sigma`, or `SEKIMORI_SIGMA_DATA`).
pub fn sigma_data(sub: &str) -> std::path::PathBuf {
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sigma");
    let root = std::env::var("SEKIMORI_SIGMA_DATA").map(std::path::PathBuf::from).unwrap_or(default);
    let dir = root.join(sub);
    assert!(dir.is_dir(), "Sigma data at {}", dir.display());
    dir
}

pub struct Server {
    pub child: Child,
    pub url: String,
    pub token: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Starts `sekimori serve` on a fresh data dir and waits for `/healthz`.
pub async fn start(data_dir: &Path) -> Server {
    start_with_env(data_dir, &[]).await
}

pub async fn start_with_env(data_dir: &Path, env: &[(&str, &str)]) -> Server {
    start_with(data_dir, &[], env).await
}

/// Starts `sekimori serve` with extra arguments (e.g. `--config FILE`).
pub async fn start_with(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
    let port = free_port();
    let out = data_dir.with_extension("stdout");
    let child = Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data_dir)
        .args(args)
        .env_remove("SEKIMORI_CONFIG")
        .envs(env.iter().copied())
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sekimori");
    // From here on, Drop kills and reaps the child whatever happens.
    let mut server = Server { child, url: format!("http://127.0.0.1:{port}"), token: String::new() };
    let http = reqwest::Client::new();
    // Up to 30 s: a start that loads every SigmaHQ rule on a busy 2-core machine can take
    // several seconds.
    for _ in 0..300 {
        if let Ok(r) = http.get(format!("{}/healthz", server.url)).send().await {
            assert_eq!(r.status(), 200);
            let body: serde_json::Value = r.json().await.expect("json");
            assert_eq!(body["status"], "ok");
            let text = std::fs::read_to_string(&out).expect("stdout");
            server.token = text.split_whitespace().find(|w| w.starts_with("skadm_")).unwrap_or_default().to_owned();
            return server;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("sekimori serve did not answer /healthz within 30 s");
}

/// Sends SIGTERM and waits up to 60 s for the server to stop; its exit status.
#[cfg(unix)]
pub async fn terminate(server: &mut Server) -> std::process::ExitStatus {
    let sent = Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().expect("kill");
    assert!(sent.success());
    for _ in 0..600 {
        if let Some(status) = server.child.try_wait().expect("wait") {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server did not stop within 60 s of SIGTERM");
}

/// POSTs `body` as JSON to `path` with `key` as the bearer token: the status and the JSON
/// answer (null when there is none).
pub async fn post_json(s: &Server, key: &str, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let resp =
        reqwest::Client::new().post(format!("{}{path}", s.url)).bearer_auth(key).json(body).send().await.expect("send");
    (resp.status().as_u16(), resp.json().await.unwrap_or(serde_json::Value::Null))
}

/// POSTs `events` as one NDJSON body to `/api/v1/ingest` with the source's `key`; checks
/// it was accepted and returns the report (`accepted`, `malformed`, `alerts`).
pub async fn ingest_ndjson(s: &Server, key: &str, events: &[serde_json::Value]) -> serde_json::Value {
    let body: String = events.iter().map(|e| format!("{e}\n")).collect();
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/ingest", s.url))
        .bearer_auth(key)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .expect("ingest");
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("json")
}

/// Runs `sql` with `psql` on the local test database (PostgreSQL on 127.0.0.1, trust auth);
/// its output (unaligned, tuples only).
pub fn psql(sql: &str) -> String {
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qtAc", sql])
        .output()
        .expect("psql (PostgreSQL's client) runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A new schema of the test database named `<prefix>_<random>`: its name, and a database
/// URL whose search path is it (drop it with `psql("DROP SCHEMA … CASCADE")`).
pub fn fresh_schema(prefix: &str) -> (String, String) {
    let mut tag = [0u8; 6];
    sekimori_core::Rng::fill(&sekimori_core::OsRng, &mut tag);
    let schema = format!("{prefix}_{}", tag.iter().map(|b| format!("{b:02x}")).collect::<String>());
    psql(&format!("CREATE SCHEMA {schema}"));
    let url = format!("postgres://postgres@127.0.0.1:5432/test?options[search_path]={schema}");
    (schema, url)
}
