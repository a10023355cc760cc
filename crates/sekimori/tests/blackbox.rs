//! Black-box tests of the built `sekimori` binary, as the README runs it.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_sekimori");

struct Server {
    child: Child,
    url: String,
    token: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Starts `sekimori serve` on a fresh data dir and waits for `/healthz`.
async fn start(data_dir: &Path) -> Server {
    let port = free_port();
    let out = data_dir.with_extension("stdout");
    let child = Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data_dir)
        .env_remove("SEKIMORI_CONFIG")
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sekimori");
    // From here on, Drop kills and reaps the child whatever happens.
    let mut server = Server { child, url: format!("http://127.0.0.1:{port}"), token: String::new() };
    let http = reqwest::Client::new();
    for _ in 0..100 {
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
    panic!("sekimori serve did not answer /healthz within 10 s");
}

#[tokio::test]
async fn serve_starts_on_a_fresh_data_dir_and_answers_healthz() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = start(&data).await;
    assert!(server.token.starts_with("skadm_"), "the first start prints an admin token");
    assert!(data.join("sekimori.db").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("keys/server.json")).expect("key file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let users = reqwest::Client::new()
        .get(format!("{}/api/v1/admin/users", server.url))
        .bearer_auth(&server.token)
        .send()
        .await
        .expect("users");
    assert_eq!(users.status(), 200);
}

#[tokio::test]
async fn admin_token_command_mints_a_working_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = start(&data).await;
    let out = Command::new(BIN).args(["admin-token", "--data-dir"]).arg(&data).output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).expect("utf8").trim().to_owned();
    assert_ne!(token, server.token);
    let users = Command::new(BIN)
        .args(["user", "list"])
        .env("SEKIMORI_URL", &server.url)
        .env("SEKIMORI_TOKEN", &token)
        .output()
        .expect("run");
    assert!(users.status.success(), "{}", String::from_utf8_lossy(&users.stderr));
}

#[tokio::test]
async fn tampered_audit_row_is_named_by_audit_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = start(&data).await;
    let cli = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .env("SEKIMORI_URL", &server.url)
            .env("SEKIMORI_TOKEN", &server.token)
            .output()
            .expect("run")
    };
    for name in ["alice", "bob", "carol"] {
        assert!(cli(&["user", "add", name]).status.success());
    }
    drop(server);

    let verify = || Command::new(BIN).args(["audit", "verify", "--data-dir"]).arg(&data).output().expect("run");
    let ok = verify();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stdout));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("intact"));

    // Rewrite bob's creation event as if it were someone else's: the chain must break there.
    let db = data.join("sekimori.db");
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&db);
    let mut conn = sqlx::ConnectOptions::connect(&opts).await.expect("open db");
    let (seq, doc): (i64, String) = sqlx::query_as(
        "SELECT seq, doc FROM audit_events WHERE doc LIKE '%\"name\":\"bob\"%' AND action = 'iam.user.created'",
    )
    .fetch_one(&mut conn)
    .await
    .expect("bob's row");
    sqlx::query("UPDATE audit_events SET doc = $1 WHERE seq = $2")
        .bind(doc.replace("\"bob\"", "\"eve\""))
        .bind(seq)
        .execute(&mut conn)
        .await
        .expect("tamper");
    drop(conn);

    let broken = verify();
    assert_eq!(broken.status.code(), Some(1));
    let text = String::from_utf8_lossy(&broken.stdout);
    assert!(text.contains(&format!("BROKEN at row {seq}")), "{text}");
}

#[test]
fn bad_config_is_refused_with_file_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("sekimori.toml");
    std::fs::write(&cfg, "[server]\nlisten = \"127.0.0.1:0\"\nbody_limit = 5\n").expect("write");
    let out = Command::new(BIN).arg("serve").arg("--config").arg(&cfg).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sekimori.toml") && err.contains("body_limit"), "{err}");

    let out = Command::new(BIN).args(["serve"]).env("SEKIMORI_GATE__QR_TTL_SECONDS", "5").output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("gate.qr_ttl_seconds") && err.contains("between"), "{err}");
}
