//! Per-tenant tuning over the admin API: a proposal is back-tested against the stored
//! events, written as a new version (optimistic concurrency, checked, audited), and then
//! changes what alerts: a Sigma filter as the exception for the vulnerability scanner, a
//! severity override, a disabled rule group. On SQLite and PostgreSQL.

use reqwest::{Method, StatusCode};
use sekimori_core::Clock;
use serde_json::{json, Value};

use crate::harness::{Backend, TestServer};

const WHOAMI: &str = "0b1c2d3e-0000-4000-8000-000000000001";
const TRAIL: &str = "0b1c2d3e-0000-4000-8000-000000000002";

fn whoami(host: &str) -> Value {
    json!({"Channel": "Microsoft-Windows-Sysmon/Operational", "Provider_Name": "Microsoft-Windows-Sysmon", "EventID": 1,
           "Image": "C:\\Windows\\System32\\whoami.exe", "Computer": host})
}

fn stop_logging() -> Value {
    json!({"eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging", "eventTime": "2026-11-23T10:00:00Z"})
}

fn proposal() -> Value {
    json!({
        "severity": {TRAIL: "critical"},
        "filters": [format!("title: Not the vulnerability scanner\nlogsource: {{product: windows}}\nfilter:\n  rules:\n    - {WHOAMI}\n  scanner:\n    Computer|startswith: 'SCAN-'\n  condition: not scanner\n")],
        "baselines": {"risk_threshold": 80}
    })
}

async fn tuning_is_backtested_versioned_and_applied(backend: Backend) {
    let srv = TestServer::start_on(backend).await;
    let key = srv.ingest_key("mixed").await;
    let report = srv.ingest_ndjson(&key, &[whoami("SCAN-01"), whoami("WS1"), stop_logging()]).await;
    assert_eq!(report["alerts"], 3);

    // No tuning yet.
    let (status, current) = srv.admin_call(Method::GET, "/api/v1/admin/tuning", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(current["version"], 0);

    // Back-test the proposal over the stored events (the three sent, and Sekimori's own
    // audit events, which the follower stores as they are judged).
    let (status, bt) =
        srv.admin_call(Method::POST, "/api/v1/admin/tuning/backtest", Some(json!({"tuning": proposal()}))).await;
    assert_eq!(status, StatusCode::OK, "{bt}");
    assert!(bt["events"].as_u64().is_some_and(|n| n >= 3), "{bt}");
    assert_eq!((bt["current_alerts"].as_u64(), bt["proposed_alerts"].as_u64()), (Some(3), Some(2)), "{bt}");
    let gone: Vec<(String, String)> = bt["disappear"]
        .as_array()
        .expect("list")
        .iter()
        .map(|a| {
            (a["rule_id"].as_str().unwrap_or_default().to_owned(), a["level"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    assert_eq!(gone, [(WHOAMI.to_owned(), "medium".to_owned()), (TRAIL.to_owned(), "high".to_owned())], "{bt}");
    let new = &bt["appear"];
    assert_eq!(new.as_array().map(Vec::len), Some(1), "{bt}");
    assert_eq!((new[0]["rule_id"].as_str(), new[0]["level"].as_str()), (Some(TRAIL), Some("critical")));

    // Bad tuning is refused with the place of the mistake; unknown fields too.
    let bad = json!({"base_version": 0, "tuning": {"severity": {TRAIL: "urgent"}}});
    let (status, problem) = srv.admin_call(Method::PUT, "/api/v1/admin/tuning", Some(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(problem["detail"].as_str().is_some_and(|d| d.starts_with(&format!("severity.{TRAIL}"))), "{problem}");
    let bad = json!({"base_version": 0, "tuning": {"filters": ["title: x\nfilter: [1"]}});
    let (status, problem) = srv.admin_call(Method::PUT, "/api/v1/admin/tuning", Some(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(problem["detail"].as_str().is_some_and(|d| d.starts_with("filters[0]")), "{problem}");
    let bad = json!({"base_version": 0, "tuning": {"disable": []}});
    let (status, _) = srv.admin_call(Method::PUT, "/api/v1/admin/tuning", Some(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Written as version 1; a writer still on version 0 gets a conflict.
    let put = json!({"base_version": 0, "tuning": proposal()});
    let (status, written) = srv.admin_call(Method::PUT, "/api/v1/admin/tuning", Some(put.clone())).await;
    assert_eq!((status, written["version"].as_i64()), (StatusCode::OK, Some(1)), "{written}");
    let (status, problem) = srv.admin_call(Method::PUT, "/api/v1/admin/tuning", Some(put)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        (problem["type"].as_str(), problem["current_version"].as_i64()),
        (Some("urn:sekimori:problem:conflict"), Some(1))
    );

    // Applied to what arrives next.
    srv.clock.advance_seconds(60);
    let since = srv.clock.now().to_rfc3339();
    let report = srv.ingest_ndjson(&key, &[whoami("SCAN-02"), whoami("WS2"), stop_logging()]).await;
    assert_eq!(report["alerts"], 2);
    let (_, alerts) = srv.admin_call(Method::GET, &format!("/api/v1/admin/alerts?since={since}"), None).await;
    assert_eq!(alerts.as_array().map(Vec::len), Some(2), "{alerts}");
    let levels: Vec<(&str, &str)> = alerts
        .as_array()
        .expect("list")
        .iter()
        .map(|a| (a["rule_id"].as_str().unwrap_or_default(), a["level"].as_str().unwrap_or_default()))
        .collect();
    assert!(levels.contains(&(TRAIL, "critical")) && levels.contains(&(WHOAMI, "medium")), "{levels:?}");

    // Version 2 switches the discovery group off; both versions are kept.
    let v2 = json!({"base_version": 1, "tuning": {"disabled_groups": ["attack.discovery"]}});
    let (status, _) = srv.admin_call(Method::PUT, "/api/v1/admin/tuning", Some(v2)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(srv.ingest_ndjson(&key, &[whoami("WS3")]).await["alerts"], 0);
    let (_, versions) = srv.admin_call(Method::GET, "/api/v1/admin/tuning/versions", None).await;
    let list = versions.as_array().expect("list");
    assert_eq!(list.iter().map(|v| v["version"].as_i64()).collect::<Vec<_>>(), [Some(2), Some(1)]);
    assert_eq!(list[1]["tuning"]["severity"][TRAIL], "critical");
    let (_, current) = srv.admin_call(Method::GET, "/api/v1/admin/tuning", None).await;
    assert_eq!(current["tuning"]["disabled_groups"], json!(["attack.discovery"]));

    // Every version is in the audit log, with the hash of what was written.
    let audit =
        srv.store.events(&sekimori_store::EventFilter { limit: 1000, ..Default::default() }).await.expect("audit");
    let updates: Vec<&sekimori_store::StoredEvent> =
        audit.iter().filter(|e| e.doc.contains("admin.tuning.updated")).collect();
    assert_eq!(updates.len(), 2);
    assert!(updates.iter().all(|e| e.doc.contains("sha256")));
}

#[tokio::test]
async fn tuning_is_backtested_versioned_and_applied_on_sqlite() {
    tuning_is_backtested_versioned_and_applied(Backend::Sqlite).await;
}

#[tokio::test]
async fn tuning_is_backtested_versioned_and_applied_on_postgres() {
    tuning_is_backtested_versioned_and_applied(Backend::Postgres).await;
}
