//! Login-time risk through the built binary (docs/risk.md): `[risk]` address lists read from
//! the configuration file (a Tor exit list and a plain list), a relying party's password
//! check from a listed address refused, `sekimori risk explain` printing why, a policy file
//! written with `sekimori risk set-policy` (dry run: recorded, not enforced), a list file
//! changed while the server runs and read again, and a bad list refusing the start with
//! its key and line.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_sekimori");

fn cli(s: &common::Server, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("SEKIMORI_URL", &s.url)
        .env("SEKIMORI_TOKEN", &s.token)
        .output()
        .expect("run sekimori");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn admin(s: &common::Server, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, format!("{}{path}", s.url)).bearer_auth(&s.token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("send");
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

async fn verify(s: &common::Server, key: &str, ip: &str) -> (u16, Value) {
    let body = json!({"username": "alice", "password": "kumamoto42", "client": {"ip": ip}});
    common::post_json(s, key, "/api/v1/factors/password/verify", &body).await
}

/// Runs `sekimori serve` with `file`, expects it to refuse to start, and returns what it
/// printed on stderr.
fn refused_start(data: &Path, file: &Path) -> String {
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .arg("--config")
        .arg(file)
        .env_remove("SEKIMORI_CONFIG")
        .output()
        .expect("run");
    assert!(!out.status.success(), "the start was refused");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn config(dir: &Path, tor: &Path, block: &Path) -> std::path::PathBuf {
    let file = dir.join("sekimori.toml");
    let text = format!(
        "[risk]\nreload_seconds = 5\n\n[[risk.address_lists]]\nname = \"tor-exits\"\npath = {tor:?}\nweight = 60\n\n\
         [[risk.address_lists]]\nname = \"blocklist\"\npath = {block:?}\nweight = 90\n"
    );
    std::fs::write(&file, text).expect("config");
    file
}

#[tokio::test]
async fn listed_addresses_are_refused_explained_and_reread_when_the_list_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tor = dir.path().join("tor-exits.txt");
    let block = dir.path().join("blocklist.txt");
    std::fs::write(
        &tor,
        "ExitNode 0011BD\nPublished 2026-12-05 10:00:00\nExitAddress 203.0.113.66 2026-12-05 10:02:44\n",
    )
    .expect("tor list");
    std::fs::write(&block, "# incidents\n198.51.100.0/24\n").expect("list");
    let file = config(dir.path(), &tor, &block);
    let s = common::start_with(&dir.path().join("data"), &["--config", file.to_str().expect("utf-8")], &[]).await;
    let stdout = std::fs::read_to_string(dir.path().join("data.stdout")).expect("stdout");
    assert!(stdout.contains("risk: 2 address lists, 2 entries"), "{stdout}");

    assert_eq!(
        admin(&s, reqwest::Method::POST, "/api/v1/admin/users", Some(json!({"username": "alice"}))).await.0,
        201
    );
    let pw = json!({"password": "kumamoto42"});
    assert_eq!(admin(&s, reqwest::Method::PUT, "/api/v1/admin/users/alice/password", Some(pw)).await.0, 204);
    let (_, app) =
        admin(&s, reqwest::Method::POST, "/api/v1/admin/apps", Some(json!({"name": "bank", "kind": "relying_party"})))
            .await;
    let key = app["key"].as_str().expect("key").to_owned();

    assert_eq!(verify(&s, &key, "192.0.2.10").await.0, 200);
    let (status, refused) = verify(&s, &key, "198.51.100.7").await;
    assert_eq!((status, refused["code"].as_str()), (403, Some("login_not_allowed")), "{refused}");

    // `sekimori risk explain` says why, from the attempt's audit event.
    let (_, events) = admin(&s, reqwest::Method::GET, "/api/v1/events?action=auth.risk.assessed", None).await;
    let ng = events["events"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["sekimori"]["risk"]["decision"] == "NG"))
        .expect("the NG attempt")
        .clone();
    let attempt = ng["sekimori"]["audit"]["seq"].to_string();
    let (code, out, err) = cli(&s, &["risk", "explain", &attempt]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(": NG for alice by password") && out.contains("rule \"listed address\""), "{out}");
    assert!(out.contains("+90   listed_address       lists=blocklist"), "{out}");
    let (code, _, err) = cli(&s, &["risk", "explain", "999999"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("not_found"), "{err}");

    // A policy file in dry-run mode: the blocklisted address is let through, and recorded.
    let policy = dir.path().join("policy.yml");
    std::fs::write(&policy, "dry_run: true\n").expect("policy");
    let (code, out, err) = cli(&s, &["risk", "set-policy", policy.to_str().expect("utf-8")]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.trim(), "risk policy version 1 written");
    assert_eq!(verify(&s, &key, "198.51.100.7").await.0, 200, "dry run");
    std::fs::write(&policy, "dry_run: false\nng_at: 5\nreview_at: 10\n").expect("policy");
    let (code, _, err) = cli(&s, &["risk", "set-policy", policy.to_str().expect("utf-8")]);
    assert_eq!(code, Some(1));
    assert!(err.contains("ng_at"), "{err}");
    std::fs::write(&policy, "dry_run: false\n").expect("policy");
    assert_eq!(cli(&s, &["risk", "set-policy", policy.to_str().expect("utf-8")]).0, Some(0));
    let (code, out, _) = cli(&s, &["risk", "policy"]);
    assert_eq!(code, Some(0));
    let shown: Value = serde_json::from_str(&out).expect("json");
    assert_eq!((shown["version"].as_i64(), shown["policy"]["dry_run"].as_bool()), (Some(2), Some(false)));

    // The Tor list changes while the server runs: a new exit is refused within a reload.
    assert_eq!(verify(&s, &key, "192.0.2.99").await.0, 200);
    std::fs::write(&tor, "ExitNode 0011BD\nExitAddress 192.0.2.99 2026-12-06 10:00:00\n").expect("tor list");
    let mut refused_now = false;
    for _ in 0..150 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if verify(&s, &key, "192.0.2.99").await.0 == 403 {
            refused_now = true;
            break;
        }
    }
    assert!(refused_now, "the changed list was read again within 15 s");
}

#[tokio::test]
async fn a_geolocation_database_is_read_at_start_and_a_bad_one_refuses_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = mmdb_writer::Writer::new("Test-GeoLite2-Country");
    let record = json!({"country": {"iso_code": "JP"}});
    w.insert("192.0.2.0/24".parse::<ipnet::IpNet>().expect("net"), &record).expect("insert");
    let db = dir.path().join("geo.mmdb");
    std::fs::write(&db, w.to_bytes().expect("bytes")).expect("write");
    let file = dir.path().join("sekimori.toml");
    std::fs::write(&file, format!("[risk]\ngeoip_database = {db:?}\n")).expect("config");
    let s = common::start_with(&dir.path().join("data"), &["--config", file.to_str().expect("utf-8")], &[]).await;
    let stdout = std::fs::read_to_string(dir.path().join("data.stdout")).expect("stdout");
    assert!(stdout.contains("risk: geolocation from a Test-GeoLite2-Country database"), "{stdout}");
    drop(s);
    std::fs::write(&db, b"not a database").expect("write");
    let err = refused_start(&dir.path().join("data2"), &file);
    assert!(err.contains("risk.geoip_database") && err.contains("not a MaxMind DB file"), "{err}");
}

#[test]
fn a_list_that_does_not_parse_refuses_the_start_with_its_key_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tor = dir.path().join("tor.txt");
    let block = dir.path().join("block.txt");
    std::fs::write(&tor, "203.0.113.66\n").expect("list");
    std::fs::write(&block, "198.51.100.0/24\n10.0.0.0/33\n").expect("list");
    let file = config(dir.path(), &tor, &block);
    let err = refused_start(&dir.path().join("data"), &file);
    assert!(err.contains("risk.address_lists[1].path") && err.contains("line 2"), "{err}");
    assert!(err.contains("sekimori.toml"), "the file is named: {err}");
}
