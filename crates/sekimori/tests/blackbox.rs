//! Black-box tests of the built `sekimori` binary, as the README runs it.

use std::process::{Command, Stdio};
use std::time::Duration;

mod common;
use common::{start, start_with_env, BIN};

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
        let mode = |p: &std::path::Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
        assert_eq!(mode(&data.join("keys/server.json")), 0o600);
        // The database holds password hashes: nobody but the server's user reads it.
        assert_eq!(mode(&data), 0o700, "the data directory");
        assert_eq!(mode(&data.join("keys")), 0o700, "the key directory");
        for f in ["sekimori.db", "sekimori.db-wal", "sekimori.db-shm"] {
            assert_eq!(mode(&data.join(f)), 0o600, "{f}");
        }
    }
    let users = reqwest::Client::new()
        .get(format!("{}/api/v1/admin/users", server.url))
        .bearer_auth(&server.token)
        .send()
        .await
        .expect("users");
    assert_eq!(users.status(), 200);
    drop(server);
    let again = start(&data).await;
    assert!(again.token.is_empty(), "the admin token is printed on the first start only");
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
    let token = server.token.clone();
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
    let conn = rusqlite::Connection::open(&db).expect("open db");
    let (seq, doc): (i64, String) = conn
        .query_row(
            "SELECT seq, doc FROM audit_events WHERE doc LIKE '%\"name\":\"bob\"%' AND action = 'iam.user.created'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("bob's row");
    conn.execute(
        "UPDATE audit_events SET doc = ?1 WHERE seq = ?2",
        rusqlite::params![doc.replace("\"bob\"", "\"eve\""), seq],
    )
    .expect("tamper");
    drop(conn);

    let broken = verify();
    assert_eq!(broken.status.code(), Some(1));
    let text = String::from_utf8_lossy(&broken.stdout);
    assert!(text.contains(&format!("BROKEN at row {seq}")), "{text}");

    // The server, started again, names the row too when asked, records the result in the
    // log, and its built-in rule raises an alert from that record.
    let server = common::start_with(&data, &[], &[("SEKIMORI_AUDIT__VERIFY_INTERVAL_HOURS", "0")]).await;
    let admin = sekimori_client::AdminClient::new(&server.url, &token);
    let report = admin.verify_audit().await.expect("verify");
    assert_eq!(report["first_broken"]["seq"], seq, "{report}");
    let recorded = admin.events("action=audit.chain.verified").await.expect("events");
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0]["event"]["outcome"], "failure");
    assert_eq!(recorded[0]["sekimori"]["audit_chain"]["first_broken"], seq);
    for _ in 0..100 {
        let alerts = admin.call(reqwest::Method::GET, "/api/v1/admin/alerts", None).await.expect("alerts");
        if alerts.as_array().expect("list").iter().any(|a| a["title"] == "Audit Chain Does Not Verify") {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("no alert for the broken chain within 20 s");
}

/// The README walkthrough through the CLI: enrol, `login push` refused outside standby
/// (exit 1, the refusal type printed), then armed and approved (exit 0).
#[tokio::test]
async fn cli_push_login_walkthrough() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = start(&data).await;
    let state = dir.path().join("alice.json");
    let cli = |args: &[&str], app_key: Option<&str>| {
        let mut c = Command::new(BIN);
        c.args(args).env("SEKIMORI_URL", &server.url).env("SEKIMORI_TOKEN", &server.token);
        c.env("SEKIMORI_AUTHENTICATOR_STATE", &state);
        if let Some(k) = app_key {
            c.env("SEKIMORI_APP_KEY", k);
        }
        c
    };
    let text = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(cli(&["user", "add", "alice"], None).output().expect("run").status.success());
    let enroll = cli(&["device", "enroll", "alice"], None).output().expect("run");
    let link =
        text(&enroll).lines().find_map(|l| l.strip_prefix("link:").map(|r| r.trim().to_owned())).expect("link line");
    let enrolled = cli(&["authenticator", "enroll", &link, "--name", "laptop"], None).output().expect("run");
    assert!(enrolled.status.success(), "{}", String::from_utf8_lossy(&enrolled.stderr));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&state).expect("state file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the authenticator's private key is readable by its owner only");
    }
    let again = cli(&["authenticator", "enroll", &link], None).output().expect("run");
    assert_eq!(again.status.code(), Some(2), "an existing state file is never overwritten");
    let app = cli(&["app", "add", "shop"], None).output().expect("run");
    let key = text(&app).split_whitespace().find(|w| w.starts_with("skapp_")).expect("key").to_owned();

    let refused = cli(&["login", "push", "alice", "--timeout", "2"], Some(&key)).output().expect("run");
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(text(&refused).trim(), "outside_standby");

    assert!(cli(&["authenticator", "standby"], None).output().expect("run").status.success());
    let mut pusher = cli(&["login", "push", "alice", "--timeout", "30"], Some(&key))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // The authenticator sees the challenge; the number comes from the pusher's stderr.
    let mut login_id = None;
    for _ in 0..50 {
        let pending = cli(&["authenticator", "pending", "--json"], None).output().expect("run");
        let msgs: serde_json::Value = serde_json::from_slice(&pending.stdout).expect("json");
        login_id = msgs
            .as_array()
            .expect("array")
            .iter()
            .find(|m| m["type"] == "push_login")
            .map(|m| m["login_id"].as_str().expect("id").to_owned());
        if login_id.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let login_id = login_id.expect("a challenge arrived");
    // The number is only on the relying party's side: read it from the server as the RP.
    let mut stderr = pusher.stderr.take().expect("stderr");
    let mut seen = String::new();
    let number = loop {
        let mut buf = [0u8; 256];
        let n = std::io::Read::read(&mut stderr, &mut buf).expect("read");
        assert!(n > 0, "pusher ended before printing the number: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        if let Some(rest) = seen.split("Number to match: ").nth(1) {
            if let Some(num) = rest.split_whitespace().next().filter(|_| rest.contains('\n')) {
                break num.to_owned();
            }
        }
    };
    let approve = cli(&["authenticator", "approve", &login_id, "--number", &number], None).output().expect("run");
    assert!(approve.status.success(), "{}", String::from_utf8_lossy(&approve.stderr));
    let mut stdout = pusher.stdout.take().expect("stdout");
    let mut out = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut out).expect("read");
    assert!(out.contains("approved: alice (level 2)"), "{out}");
    assert!(pusher.wait().expect("wait").success(), "exit status 0 only when approved");
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

    std::fs::write(&cfg, "[detect]\nrules = [\"/no/such/rules\"]\n").expect("write");
    let out = Command::new(BIN).arg("serve").arg("--config").arg(&cfg).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sekimori.toml") && err.contains("detect.rules") && err.contains("/no/such/rules"), "{err}");
    std::fs::write(&cfg, "[detect]\nrule = []\n").expect("write");
    let out = Command::new(BIN).arg("serve").arg("--config").arg(&cfg).output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() == Some(2) && err.contains("detect") && err.contains("rule"),
        "unknown keys are refused: {err}"
    );
}

#[tokio::test]
async fn serve_runs_configured_sigma_rules_on_ingested_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = common::sigma_data("rules/cloud/aws/cloudtrail");
    assert!(rules.is_dir(), "SigmaHQ CloudTrail rules at {}", rules.display());
    let data = dir.path().join("data");
    let server = start_with_env(&data, &[("SEKIMORI_DETECT__RULES", rules.to_str().expect("utf-8"))]).await;
    let stdout = std::fs::read_to_string(data.with_extension("stdout")).expect("stdout");
    assert!(stdout.contains("detection:") && stdout.contains("0 not loaded"), "{stdout}");

    let http = reqwest::Client::new();
    let call = |req: reqwest::RequestBuilder| async move {
        req.send().await.expect("send").json::<serde_json::Value>().await.expect("json")
    };
    let source = call(
        http.post(format!("{}/api/v1/admin/ingest-sources", server.url))
            .bearer_auth(&server.token)
            .json(&serde_json::json!({"name": "cloudtrail"})),
    )
    .await;
    let key = source["key"].as_str().expect("key");
    let trail = r#"{"Records": [{"eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging", "eventTime": "2026-11-23T10:00:00Z"}]}"#;
    let report = call(
        http.post(format!("{}/api/v1/ingest", server.url))
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(trail),
    )
    .await;
    assert_eq!(report["accepted"], 1, "{report}");
    assert!(report["alerts"].as_u64().is_some_and(|n| n >= 1), "{report}");
    let alerts = call(http.get(format!("{}/api/v1/admin/alerts", server.url)).bearer_auth(&server.token)).await;
    assert!(
        alerts.as_array().is_some_and(|a| a.iter().any(|x| x["rule_id"] == "4db60cc0-36fb-42b7-9b58-a5b53019fb74")),
        "the SigmaHQ rule for disabled CloudTrail logging fired: {alerts}"
    );

    // Tuning from the command line: back-test switching the rule off, then write it.
    let tuning = dir.path().join("tuning.yml");
    std::fs::write(&tuning, "disabled_rules:\n  - 4db60cc0-36fb-42b7-9b58-a5b53019fb74\n").expect("write");
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .arg(&tuning)
            .env("SEKIMORI_URL", &server.url)
            .env("SEKIMORI_TOKEN", &server.token)
            .output()
            .expect("run")
    };
    let out = run(&["rules", "backtest"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("current tuning (version 0)"), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("- event") && l.contains("4db60cc0-36fb-42b7-9b58-a5b53019fb74")),
        "{text}"
    );
    let out = run(&["rules", "tune"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("tuning version 1 written"));
    let out = run(&["rules", "backtest"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("current tuning (version 1)") && !text.contains("- event"), "{text}");
    std::fs::write(&tuning, "severity: {x: urgent}\n").expect("write");
    let out = run(&["rules", "tune"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("severity.x"), "the refusal names the key");
}

/// The admin CLI for passwords, roles and account life cycle, against the binary.
#[tokio::test]
async fn cli_sets_passwords_mints_an_auditor_and_manages_a_user() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(&dir.path().join("data")).await;
    let run = |args: &[&str], stdin: &str| {
        let mut child = Command::new(BIN)
            .args(args)
            .env("SEKIMORI_URL", &server.url)
            .env("SEKIMORI_TOKEN", &server.token)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run");
        child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write");
        let out = child.wait_with_output().expect("wait");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        )
    };
    assert!(run(&["user", "add", "alice", "--email", "alice@example.jp"], "").0);
    let (ok, out) = run(&["user", "password", "alice"], "abc\n");
    assert!(!ok && out.contains("weak_password"), "{out}");
    let (ok, out) = run(&["user", "password", "alice"], "kumamoto42\n");
    assert!(ok, "{out}");
    let (ok, out) = run(&["app", "add", "shop"], "");
    assert!(ok, "{out}");
    let key = out
        .split_whitespace()
        .find(|w| w.contains("skapp_"))
        .expect("key")
        .trim_start_matches("SEKIMORI_APP_KEY=")
        .to_owned();
    let http = reqwest::Client::new();
    let verify = || {
        http.post(format!("{}/api/v1/factors/password/verify", server.url))
            .bearer_auth(&key)
            .json(&serde_json::json!({"username": "alice", "password": "kumamoto42"}))
            .send()
    };
    assert_eq!(verify().await.expect("send").status(), 200);

    // An auditor token from the CLI reads users with the email masked.
    let (ok, out) = run(&["token", "add", "audit-2026", "--role", "auditor"], "");
    assert!(ok, "{out}");
    let auditor = out.trim().to_owned();
    assert!(auditor.starts_with("skadm_"), "{out}");
    let users: serde_json::Value = http
        .get(format!("{}/api/v1/admin/users", server.url))
        .bearer_auth(&auditor)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(users[0]["email"], "[masked]", "{users}");

    // An OIDC client from the CLI: its secret is its app key, the provider answers discovery
    // and publishes its keys, which the CLI lists and rotates.
    let (ok, out) = run(&["app", "add", "wiki", "--oidc", "--redirect-uri", "https://wiki.example/cb"], "");
    assert!(ok && out.contains("client_id:") && out.contains("client_secret: skapp_"), "{out}");
    let (ok, out) = run(&["app", "add", "spa", "--oidc", "--public", "--redirect-uri", "ftp://x/"], "");
    assert!(!ok && out.contains("redirect_uris"), "a bad URI is refused by name: {out}");
    let discovery: serde_json::Value = http
        .get(format!("{}/.well-known/openid-configuration", server.url))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(discovery["issuer"].as_str(), Some(server.url.trim_end_matches('/')));
    let (ok, out) = run(&["oidc", "keys"], "");
    assert!(ok && out.matches("\"kid\"").count() == 2, "{out}");
    let (ok, out) = run(&["oidc", "rotate-keys"], "");
    assert!(ok && out.contains("active"), "{out}");
    let (ok, out) = run(&["oidc", "keys"], "");
    assert!(ok && out.matches("\"kid\"").count() == 4, "{out}");
    let (ok, out) = run(&["oidc", "clients"], "");
    assert!(ok && out.contains("https://wiki.example/cb"), "{out}");
    let clients: serde_json::Value = serde_json::from_str(&out).expect("the clients as JSON");
    let wiki = clients[0]["client_id"].as_str().expect("client_id").to_owned();
    let (ok, out) = run(&["oidc", "set-redirects", &wiki, "--redirect-uri", "https://wiki.example/cb2"], "");
    assert!(ok && out.contains("https://wiki.example/cb2") && !out.contains("https://wiki.example/cb\""), "{out}");
    let (ok, out) = run(&["oidc", "set-redirects", &wiki, "--redirect-uri", "https://wiki.example/cb#x"], "");
    assert!(!ok && out.contains("redirect_uris"), "a bad URI is refused by name: {out}");

    // Groups and login hours from the CLI.
    let (ok, out) = run(&["group", "add", "night", "--hours", "mon-sun 22:00-06:00"], "");
    assert!(ok && out.contains("\"22:00\""), "{out}");
    assert!(run(&["group", "add-member", "night", "alice"], "").0);
    let (ok, out) = run(&["group", "show", "night"], "");
    assert!(ok && out.contains("alice"), "{out}");
    let (ok, out) = run(&["user", "hours", "alice", "mon-fri 09:00-18:00", "sat 10:00-12:00"], "");
    assert!(ok && out.contains("\"fri\"") && out.contains("\"sat\""), "{out}");
    let (ok, out) = run(&["user", "hours", "alice", "someday 09:00-18:00"], "");
    assert!(!ok && out.contains("unknown day"), "{out}");
    let (ok, out) = run(&["user", "hours", "alice", "mon 09:00-25:00"], "");
    assert!(!ok && out.contains("invalid_request"), "the server checks the times: {out}");
    assert!(run(&["user", "hours", "alice", "--clear"], "").0);
    assert!(run(&["group", "remove-member", "night", "alice"], "").0);
    assert!(run(&["group", "delete", "night"], "").0);
    let (ok, out) = run(&["group", "list"], "");
    assert!(ok && !out.contains("night"), "{out}");

    // Disable, enable, delete.
    assert!(run(&["user", "disable", "alice"], "").0);
    assert_eq!(verify().await.expect("send").status(), 403);
    assert!(run(&["user", "enable", "alice"], "").0);
    assert_eq!(verify().await.expect("send").status(), 200);
    assert!(run(&["user", "logout", "alice"], "").0);
    let (ok, out) = run(&["user", "delete", "alice"], "");
    assert!(ok && out.contains("deleted alice"), "{out}");
    assert_eq!(verify().await.expect("send").status(), 401);
}

/// The CLI pointed at something that is not Sekimori (a proxy's login page, a web server)
/// says so, instead of "expected value at line 1 column 1".
#[tokio::test]
async fn the_cli_says_when_the_url_answers_html() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let body = "<!doctype html><title>Sign in</title><p>proxy login</p>";
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(body.as_bytes()).await;
            });
        }
    });
    let out = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(["user", "list"])
            .env("SEKIMORI_URL", &url)
            .env("SEKIMORI_TOKEN", "skadm_x")
            .output()
            .expect("run")
    })
    .await
    .expect("join");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("text/html") && err.contains("SEKIMORI_URL"), "{err}");
    assert!(!err.contains("expected value"), "{err}");
}
