//! Behaviour baselines through HTTP ingest: a CloudTrail user's history is learned from
//! their events, then a destructive operation they never did, from a threat-intel address
//! and a new network, raises the baseline alerts and the entity risk score; Entra sign-in
//! logs give a failure burst for the careful user only, and impossible travel. Alerts carry
//! entities, an excerpt and a link to their event. On SQLite and PostgreSQL.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{Backend, TestServer};

const DAY: i64 = 86_400;

fn at(secs: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(1_795_000_000 + secs).expect("time");
    t.format(&time::format_description::well_known::Rfc3339).expect("format")
}

async fn get(srv: &TestServer, path: &str) -> (StatusCode, Value) {
    srv.admin_call(reqwest::Method::GET, path, None).await
}

fn baseline_ids(alerts: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = alerts
        .iter()
        .filter_map(|a| a["rule_id"].as_str()?.strip_prefix("urn:sekimori:baseline:").map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

async fn baselines_learn_and_alert(backend: Backend) {
    let srv = TestServer::start_on(backend).await;
    let trail = srv.ingest_key("cloudtrail").await;
    let arn = "arn:aws:iam::111122223333:user/ops";
    let ct = |t: i64, name: &str, ip: &str| {
        json!({"eventTime": at(t), "eventSource": "s3.amazonaws.com", "eventName": name,
               "sourceIPAddress": ip, "userIdentity": {"type": "IAMUser", "arn": arn}, "userAgent": "aws-cli/2.15"})
    };
    // Ten days of ordinary work from one network: nothing alerts while learning or after.
    let history: Vec<Value> = (0..20)
        .map(|i| ct(i * DAY / 2, if i % 2 == 0 { "ListBuckets" } else { "GetObject" }, "198.51.100.20"))
        .collect();
    let report = srv.ingest_ndjson(&trail, &history).await;
    assert_eq!(report, json!({"accepted": 20, "malformed": 0, "alerts": 0}));

    // Day 11: DeleteBucket, never done before, from a threat-intel address on a new network.
    let report = srv.ingest_ndjson(&trail, &[ct(11 * DAY, "DeleteBucket", "203.0.113.66")]).await;
    let (_, alerts) = get(&srv, "/api/v1/admin/alerts").await;
    let alerts = alerts.as_array().cloned().unwrap_or_default();
    assert_eq!(
        baseline_ids(&alerts),
        ["destructive", "new_value", "new_value", "risk_score", "threat_intel"],
        "{alerts:#?}"
    );
    assert_eq!(report["alerts"], 5);
    let destructive = alerts.iter().find(|a| a["rule_id"] == "urn:sekimori:baseline:destructive").expect("destructive");
    assert_eq!(destructive["level"], "high", "unusual for this user");
    assert_eq!(destructive["entities"], json!({"user": arn, "ip": "203.0.113.66"}));
    assert_eq!(destructive["excerpt"]["eventName"], "DeleteBucket");
    let risk = alerts.iter().find(|a| a["rule_id"] == "urn:sekimori:baseline:risk_score").expect("risk");
    assert!(risk["matched"].as_array().is_some_and(|m| m.iter().any(|s| s == "score=110")), "{risk}");
    let news: Vec<&Value> = alerts.iter().filter(|a| a["rule_id"] == "urn:sekimori:baseline:new_value").collect();
    assert!(news.iter().any(|a| a["matched"] == json!(["network=203.0.113.0/24"])), "{news:?}");
    assert!(news.iter().any(|a| a["matched"] == json!(["action=DeleteBucket"])), "{news:?}");
    // The link leads to the whole stored event.
    let (status, event) = get(&srv, destructive["event"].as_str().expect("link")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(event["sourceIPAddress"], "203.0.113.66");
    let (status, problem) = get(&srv, "/api/v1/admin/ingested-events/abc").await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (StatusCode::BAD_REQUEST, Some("urn:sekimori:problem:invalid_request"))
    );
    let (status, _) = get(&srv, "/api/v1/admin/ingested-events/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A second destructive call a minute later: known now (medium), no second risk alert.
    srv.ingest_ndjson(&trail, &[ct(11 * DAY + 60, "DeleteObject", "203.0.113.66")]).await;
    let (_, alerts) = get(&srv, "/api/v1/admin/alerts").await;
    let alerts = alerts.as_array().cloned().unwrap_or_default();
    assert_eq!(alerts.iter().filter(|a| a["rule_id"] == "urn:sekimori:baseline:risk_score").count(), 1);
    assert_eq!(alerts.iter().filter(|a| a["rule_id"] == "urn:sekimori:baseline:threat_intel").count(), 1, "suppressed");

    // Entra sign-ins: carol never fails, sam often does; both fail three times in 10 minutes.
    let entra = srv.ingest_key("entra").await;
    let signin = |t: i64, upn: &str, code: i64, lat: f64, lon: f64| {
        json!({"createdDateTime": at(t), "userPrincipalName": upn, "ipAddress": "192.0.2.10", "appDisplayName": "Portal",
               "status": {"errorCode": code}, "location": {"countryOrRegion": "JP", "geoCoordinates": {"latitude": lat, "longitude": lon}}})
    };
    let tokyo = (35.68, 139.69);
    let mut history = Vec::new();
    for i in 0..30 {
        history.push(signin(i * 3600, "carol@example.com", 0, tokyo.0, tokyo.1));
        history.push(signin(i * 3600, "sam@example.com", if i % 3 == 0 { 50126 } else { 0 }, tokyo.0, tokyo.1));
    }
    assert_eq!(srv.ingest_ndjson(&entra, &history).await["alerts"], 0);
    let burst: Vec<Value> = (0..3)
        .flat_map(|k| {
            let t = 40 * 3600 + k * 120;
            [
                signin(t, "carol@example.com", 50126, tokyo.0, tokyo.1),
                signin(t, "sam@example.com", 50126, tokyo.0, tokyo.1),
            ]
        })
        .collect();
    assert_eq!(srv.ingest_ndjson(&entra, &burst).await["alerts"], 1);
    // One hour later carol signs in from Paris: impossible travel, and with the failure
    // burst (30 + 40 points within the hour) her risk score crosses 60.
    let paris = signin(41 * 3600, "carol@example.com", 0, 48.85, 2.35);
    assert_eq!(srv.ingest_ndjson(&entra, &[paris]).await["alerts"], 2);
    let (_, alerts) = get(&srv, "/api/v1/admin/alerts").await;
    let alerts = alerts.as_array().cloned().unwrap_or_default();
    let burst = alerts.iter().find(|a| a["rule_id"] == "urn:sekimori:baseline:failure_burst").expect("burst");
    assert_eq!(burst["entities"]["user"], "carol@example.com");
    let travel = alerts.iter().find(|a| a["rule_id"] == "urn:sekimori:baseline:impossible_travel").expect("travel");
    assert_eq!(travel["entities"]["user"], "carol@example.com");
    assert_eq!(travel["level"], "high");
    let carol_risk = alerts
        .iter()
        .filter(|a| a["rule_id"] == "urn:sekimori:baseline:risk_score" && a["entities"]["user"] == "carol@example.com")
        .count();
    assert_eq!(carol_risk, 1);
    assert!(!alerts.iter().any(|a| a["entities"]["user"] == "sam@example.com"), "sam often fails: no alert");
}

#[tokio::test]
async fn baselines_learn_and_alert_on_sqlite() {
    baselines_learn_and_alert(Backend::Sqlite).await;
}

#[tokio::test]
async fn baselines_learn_and_alert_on_postgres() {
    baselines_learn_and_alert(Backend::Postgres).await;
}
