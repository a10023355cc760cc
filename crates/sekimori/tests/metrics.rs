//! `GET /metrics` of the built binary, read by a Prometheus text-format parser that is not
//! ours (`prometheus-parse`): refused without the token, 404 where not configured, open on
//! the separate metrics address; and the counters move as requests are made (requests per
//! route class, password logins by result from the audit log, process metrics).

use std::time::Duration;

use serde_json::json;
use sha2::Digest;

mod common;
use common::{free_port, start_with};

const TOKEN: &str = "scrape-token-0123456789abcdef";

fn parse(text: &str) -> prometheus_parse::Scrape {
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text format")
}

/// The value of `name` whose labels include every pair of `labels` (0 when absent).
fn value(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => 0.0,
        })
        .sum()
}

async fn scrape(http: &reqwest::Client, url: &str, token: Option<&str>) -> (u16, String) {
    let mut req = http.get(format!("{url}/metrics"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.expect("scrape");
    (r.status().as_u16(), r.text().await.expect("body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_guarded_parse_as_prometheus_text_and_move_with_requests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let metrics_port = free_port();
    let config = dir.path().join("sekimori.toml");
    let hash = hex::encode(sha2::Sha256::digest(TOKEN.as_bytes()));
    std::fs::write(&config, format!("[metrics]\ntoken_sha256 = \"{hash}\"\nlisten = \"127.0.0.1:{metrics_port}\"\n"))
        .expect("config");
    let server = start_with(&dir.path().join("data"), &["--config", config.to_str().expect("path")], &[]).await;
    let http = reqwest::Client::new();

    // Guarded on the main listener.
    assert_eq!(scrape(&http, &server.url, None).await.0, 401);
    assert_eq!(scrape(&http, &server.url, Some("not-the-token")).await.0, 401);
    assert_eq!(scrape(&http, &server.url, Some(&server.token)).await.0, 401, "an admin token is not the metrics token");
    let (status, text) = scrape(&http, &server.url, Some(TOKEN)).await;
    assert_eq!(status, 200);
    let before = parse(&text);
    // Open on the metrics address, and only /metrics there.
    let metrics_url = format!("http://127.0.0.1:{metrics_port}");
    let (status, open) = scrape(&http, &metrics_url, None).await;
    assert_eq!(status, 200);
    parse(&open);
    assert_eq!(http.get(format!("{metrics_url}/api/v1/admin/users")).send().await.expect("get").status(), 404);

    for family in [
        "sekimori_http_requests_total",
        "sekimori_http_request_duration_seconds",
        "sekimori_password_hash_queue_depth",
        "sekimori_store_wal_bytes",
        "sekimori_store_connection_waits_total",
        "sekimori_store_connection_wait_seconds_total",
        "sekimori_web_push_total",
        "sekimori_rule_evaluation_seconds",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
    ] {
        assert!(before.docs.contains_key(family), "{family} is described (# HELP)");
    }
    assert!(value(&before, "process_resident_memory_bytes", &[]) > 1e6);
    let waits_before = value(&before, "sekimori_store_connection_waits_total", &[]);

    // Requests: an admin call, a relying party's password checks (one right, two wrong).
    let admin = sekimori_client::AdminClient::new(&server.url, &server.token);
    admin.add_user("alice", None, None).await.expect("user");
    let set = http
        .put(format!("{}/api/v1/admin/users/alice/password", server.url))
        .bearer_auth(&server.token)
        .json(&json!({"password": "kumamoto42"}))
        .send()
        .await
        .expect("password");
    assert_eq!(set.status(), 204);
    let key = admin.add_app("shop", "relying_party").await.expect("app")["key"].as_str().expect("key").to_owned();
    for (password, want) in [("kumamoto42", 200), ("wrong-one", 401), ("wrong-two", 401)] {
        let r = http
            .post(format!("{}/api/v1/factors/password/verify", server.url))
            .bearer_auth(&key)
            .json(&json!({"username": "alice", "password": password, "client": {"ip": "203.0.113.7"}}))
            .send()
            .await
            .expect("verify");
        assert_eq!(r.status().as_u16(), want, "{password}");
    }
    // The audit follower reads the log once a second.
    let mut after = before;
    for _ in 0..50 {
        after = parse(&scrape(&http, &server.url, Some(TOKEN)).await.1);
        if value(&after, "sekimori_logins_total", &[("method", "password"), ("result", "failure")]) >= 2.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(value(&after, "sekimori_logins_total", &[("method", "password"), ("result", "failure")]), 2.0);
    assert_eq!(value(&after, "sekimori_logins_total", &[("method", "password"), ("result", "success")]), 1.0);
    assert!(value(&after, "sekimori_http_requests_total", &[("class", "admin"), ("status", "2xx")]) >= 3.0);
    assert_eq!(value(&after, "sekimori_http_requests_total", &[("class", "relying"), ("status", "2xx")]), 1.0);
    assert_eq!(value(&after, "sekimori_http_requests_total", &[("class", "relying"), ("status", "4xx")]), 2.0);
    assert!(
        value(&after, "sekimori_http_requests_total", &[("class", "metrics"), ("status", "4xx")]) >= 3.0,
        "refused scrapes"
    );
    assert!(value(&after, "sekimori_audit_events_total", &[("action", "auth.password.failed")]) >= 2.0);
    assert!(value(&after, "sekimori_ingest_events_accepted_total", &[("source", "sekimori")]) >= 3.0);
    // Every write waited for the writer, however briefly: the count moved with them.
    assert!(value(&after, "sekimori_store_connection_waits_total", &[]) >= waits_before + 3.0);
    let relying_count = after
        .samples
        .iter()
        .find(|s| s.metric == "sekimori_http_request_duration_seconds" && s.labels.get("class") == Some("relying"))
        .map(|s| match &s.value {
            prometheus_parse::Value::Histogram(h) => h.iter().map(|b| b.count).fold(0.0, f64::max),
            _ => 0.0,
        })
        .expect("the relying class's latency histogram");
    assert_eq!(relying_count, 3.0, "three relying requests timed");
}

#[tokio::test]
async fn without_metrics_configured_the_endpoint_is_not_there() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_with(&dir.path().join("data"), &[], &[]).await;
    let http = reqwest::Client::new();
    assert_eq!(scrape(&http, &server.url, Some(TOKEN)).await.0, 404);
}
