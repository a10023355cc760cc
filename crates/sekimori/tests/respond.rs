//! Alert delivery through the built binary, as operators run it: an alert stored before a
//! kill -9 is notified once after the restart (and a notification sent before a crash is
//! not sent again), and two nodes sharing one PostgreSQL notify each group once.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use common::{start_with, Server};
use serde_json::{json, Value};

const RULE: &str = "title: Whoami Execution
id: 0b1c2d3e-0000-4000-8000-000000000001
level: medium
logsource: {category: process_creation, product: windows}
detection:
  sel:
    Image|endswith: '\\\\whoami.exe'
  condition: sel
";

/// A webhook receiver on loopback: every body it got.
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let g = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: Bytes| {
            let g = g.clone();
            async move {
                g.lock().expect("got").push(serde_json::from_slice(&body).expect("json"));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, got)
}

fn count(got: &Arc<Mutex<Vec<Value>>>) -> usize {
    got.lock().expect("got").len()
}

async fn wait_for(got: &Arc<Mutex<Vec<Value>>>, n: usize) {
    for _ in 0..300 {
        if count(got) >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the receiver got {} notifications, not {n}", count(got));
}

/// A config: the rule, a shared key file (nodes of one cluster share it), optionally a
/// PostgreSQL URL.
fn config(dir: &Path, database_url: Option<&str>) -> std::path::PathBuf {
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).expect("rules dir");
    std::fs::write(rules.join("whoami.yml"), RULE).expect("rule");
    let mut text = format!(
        "[detect]\nrules = [\"{}\"]\n\n[storage]\nkeys_file = \"{}\"\n",
        rules.display(),
        dir.join("server-keys.json").display()
    );
    if let Some(url) = database_url {
        text.push_str(&format!("database_url = \"{url}\"\n"));
    }
    let path = dir.join("sekimori.toml");
    std::fs::write(&path, text).expect("config");
    path
}

async fn call(server: &Server, token: &str, method: reqwest::Method, path: &str, body: Value) -> Value {
    let resp = reqwest::Client::new()
        .request(method, format!("{}{path}", server.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("send");
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap_or(Value::Null)
}

async fn set_up(server: &Server, token: &str, hook: &str) -> String {
    let doc = json!({
        "route": {"receiver": "siem", "group_by": ["rule"], "group_wait": "2s", "group_interval": "1m"},
        "receivers": [{"name": "siem", "webhook_configs": [{"url": hook}]}]
    });
    call(server, token, reqwest::Method::PUT, "/api/v1/admin/routing", json!({"base_version": 0, "document": doc}))
        .await;
    let source =
        call(server, token, reqwest::Method::POST, "/api/v1/admin/ingest-sources", json!({"name": "edr"})).await;
    source["key"].as_str().expect("key").to_owned()
}

async fn ingest(server: &Server, key: &str, users: &[&str]) {
    let events: Vec<Value> = users
        .iter()
        .map(|u| {
            json!({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
                   "Image": "C:\\Windows\\System32\\whoami.exe", "TargetUserName": u})
        })
        .collect();
    let report = common::ingest_ndjson(server, key, &events).await;
    assert_eq!(report["alerts"], users.len(), "{report}");
}

fn kill9(server: &mut Server) {
    server.child.kill().expect("kill -9");
    server.child.wait().expect("reap");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_stored_before_kill_9_is_notified_once_after_the_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let cfg = config(dir.path(), None);
    let args = ["--config", cfg.to_str().expect("utf-8")];
    let (hook, got) = receiver().await;
    let mut server = start_with(&data, &args, &[]).await;
    let token = server.token.clone();
    let key = set_up(&server, &token, &hook).await;
    // Stored (the ingest answered) and killed within the group's 2 s wait: nothing sent yet.
    ingest(&server, &key, &["alice"]).await;
    kill9(&mut server);
    assert_eq!(count(&got), 0);
    let mut server = start_with(&data, &args, &[]).await;
    wait_for(&got, 1).await;
    let body = got.lock().expect("got")[0].clone();
    assert_eq!(body["alerts"][0]["labels"]["user"], "alice", "{body}");
    // Killed again right after the notification: the restart sends nothing more.
    kill9(&mut server);
    let server = start_with(&data, &args, &[]).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(count(&got), 1, "notified once");
    drop(server);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgresql_notify_each_group_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (schema, url) = common::fresh_schema("t_respond");
    let cfg = config(dir.path(), Some(&url));
    let args = ["--config", cfg.to_str().expect("utf-8")];
    let (hook, got) = receiver().await;
    let a = start_with(&dir.path().join("a"), &args, &[]).await;
    let token = a.token.clone();
    let b = start_with(&dir.path().join("b"), &args, &[]).await;
    assert!(b.token.is_empty(), "the second node joins the first's tenant");
    let key = set_up(&a, &token, &hook).await;
    // Two alerts stored together (one transaction), in one group (by rule): both nodes'
    // dispatchers read them, group them alike and claim the same notification.
    ingest(&b, &key, &["alice", "bob"]).await;
    wait_for(&got, 1).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let bodies = got.lock().expect("got").clone();
    assert_eq!(bodies.len(), 1, "the group is notified once: {bodies:?}");
    assert_eq!(bodies[0]["alerts"].as_array().map(Vec::len), Some(2), "{bodies:?}");
    let attempts = call(&a, &token, reqwest::Method::GET, "/api/v1/admin/notifications", Value::Null).await;
    assert_eq!(attempts.as_array().map(Vec::len), Some(1), "one attempt, by one node: {attempts}");
    drop((a, b));
    common::psql(&format!("DROP SCHEMA {schema} CASCADE"));
}

fn cli(server: &Server, token: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(common::BIN)
        .args(["alerts"])
        .args(args)
        .env("SEKIMORI_URL", &server.url)
        .env("SEKIMORI_TOKEN", token)
        .output()
        .expect("run sekimori");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_triaged_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path(), None);
    let server = start_with(&dir.path().join("data"), &["--config", cfg.to_str().expect("utf-8")], &[]).await;
    let token = server.token.clone();
    let (hook, _got) = receiver().await;
    let key = set_up(&server, &token, &hook).await;
    ingest(&server, &key, &["alice"]).await;
    let (code, out, err) = cli(&server, &token, &["list", "--state", "firing"]);
    assert_eq!(code, Some(0), "{err}");
    let line = out.lines().next().unwrap_or_else(|| panic!("one firing alert: {out}"));
    let id = line.split('\t').next().expect("id").to_owned();
    assert!(line.contains("\tfiring\tmedium\tWhoami Execution\talice\t-\t"), "{line}");
    assert_eq!(cli(&server, &token, &["ack", &id]).0, Some(0));
    let (code, _, err) = cli(&server, &token, &["ack", &id]);
    assert_eq!(code, Some(1), "acknowledged once");
    assert!(err.contains("the alert is acknowledged"), "{err}");
    assert_eq!(cli(&server, &token, &["assign", &id, "hanako"]).0, Some(0));
    assert_eq!(cli(&server, &token, &["comment", &id, "checked with alice: her script"]).0, Some(0));
    assert_eq!(cli(&server, &token, &["resolve", &id, "--comment", "expected admin work"]).0, Some(0));
    let (_, out, _) = cli(&server, &token, &["list", "--state", "resolved"]);
    assert!(out.starts_with(&format!("{id}\tresolved\t")) && out.contains("\thanako\t"), "{out}");
    let (code, out, _) = cli(&server, &token, &["show", &id]);
    assert_eq!(code, Some(0));
    let shown: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(shown["state"], "resolved");
    let comments: Vec<&str> =
        shown["comments"].as_array().expect("comments").iter().filter_map(|c| c["body"].as_str()).collect();
    assert_eq!(comments, ["checked with alice: her script", "expected admin work"]);
    assert!(shown["changed_by"].as_str().is_some_and(|b| b.starts_with("admin_token:")), "{shown}");
    let (code, _, err) = cli(&server, &token, &["list", "--state", "snoozed"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("state is firing, acknowledged or resolved"), "{err}");
    // Every change is in the audit log.
    let events = call(&server, &token, reqwest::Method::GET, "/api/v1/events?action=alert.*", Value::Null).await;
    let mut actions: Vec<&str> =
        events["events"].as_array().expect("events").iter().filter_map(|e| e["event"]["action"].as_str()).collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        ["alert.acknowledged", "alert.assigned", "alert.commented", "alert.commented", "alert.resolved"],
        "{events}"
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_is_tested_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path(), None);
    let server = start_with(&dir.path().join("data"), &["--config", cfg.to_str().expect("utf-8")], &[]).await;
    let token = server.token.clone();
    let (hook, got) = receiver().await;
    set_up(&server, &token, &hook).await;
    let (code, out, err) = cli(&server, &token, &["test-receiver", "siem"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "siem/webhook_configs[0]\tdelivered\tdelivered\n");
    let body = got.lock().expect("got")[0].clone();
    assert_eq!(body["alerts"][0]["labels"]["rule"], "sekimori_test", "{body}");
    assert_eq!(count(&got), 1, "a test is not in the notification log: no alert is involved");
    let (code, _, err) = cli(&server, &token, &["test-receiver", "nobody"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("no receiver named \"nobody\""), "{err}");
    // A receiver that cannot be reached fails, once (a test is not retried).
    let closed = format!("http://127.0.0.1:{}/hook", common::free_port());
    let doc =
        json!({"route": {"receiver": "gone"}, "receivers": [{"name": "gone", "webhook_configs": [{"url": closed}]}]});
    call(&server, &token, reqwest::Method::PUT, "/api/v1/admin/routing", json!({"base_version": 1, "document": doc}))
        .await;
    let (code, out, _) = cli(&server, &token, &["test-receiver", "gone"]);
    assert_eq!((code, out.as_str()), (Some(1), "gone/webhook_configs[0]\tfailed\tconnection\n"));
}
