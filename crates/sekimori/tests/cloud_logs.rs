//! Okta, GitHub, Google Cloud and Microsoft 365 logs through the front door: the built
//! binary with SigmaHQ's rules for the four products, one NDJSON request of records as the
//! products write them, and each record judged by its own product's rules only (placed by
//! `shapes` in `data/logsources.yml`, with the field names SigmaHQ uses added).

use serde_json::{json, Value};

mod common;
use common::start_with;

#[tokio::test]
async fn okta_github_gcp_and_m365_records_fire_their_own_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = common::sigma_data("rules");
    let dirs = ["identity/okta", "application/github", "cloud/gcp/audit", "cloud/m365"]
        .map(|d| format!("\"{}\"", rules.join(d).display()))
        .join(", ");
    let config = dir.path().join("sekimori.toml");
    std::fs::write(&config, format!("[detect]\nrules = [{dirs}]\n")).expect("config");
    let data = dir.path().join("data");
    let server = start_with(&data, &["--config", &config.display().to_string()], &[]).await;
    let admin = sekimori_client::AdminClient::new(&server.url, &server.token);
    let source = admin
        .call(reqwest::Method::POST, "/api/v1/admin/ingest-sources", Some(&json!({"name": "saas"})))
        .await
        .expect("ingest source");
    let key = source["key"].as_str().expect("key").to_owned();

    let records = [
        // Okta System Log: an MFA factor deactivated, and an ordinary sign-in.
        json!({"uuid": "9f1c", "published": "2026-11-30T10:00:00.000Z", "eventType": "user.mfa.factor.deactivate",
            "displayMessage": "Reset factor for user", "actor": {"alternateId": "admin@example.com", "type": "User"},
            "outcome": {"result": "SUCCESS"}, "client": {"ipAddress": "198.51.100.7"}}),
        json!({"uuid": "9f1d", "published": "2026-11-30T10:00:01.000Z", "eventType": "user.session.start",
            "displayMessage": "User login to Okta", "actor": {"alternateId": "alice@example.com", "type": "User"},
            "outcome": {"result": "SUCCESS"}}),
        // GitHub organisation audit log: two-factor requirement turned off.
        json!({"@timestamp": 1_795_000_000_000_i64, "action": "org.disable_two_factor_requirement",
            "actor": "octocat", "org": "example-org", "actor_location": {"country_code": "JP"}}),
        // Google Cloud audit log entry: buckets listed.
        json!({"logName": "projects/p/logs/cloudaudit.googleapis.com%2Fdata_access", "timestamp": "2026-11-30T10:00:02Z",
            "protoPayload": {"@type": "type.googleapis.com/google.cloud.audit.AuditLog", "serviceName": "storage.googleapis.com",
                "methodName": "storage.buckets.list", "authenticationInfo": {"principalEmail": "svc@p.iam.gserviceaccount.com"}}}),
        // Microsoft 365 Management Activity API: a Security & Compliance alert.
        json!({"CreationTime": "2026-11-30T10:00:03", "Id": "a1", "Workload": "SecurityComplianceCenter",
            "Operation": "AlertTriggered", "RecordType": 40, "Name": "Potential ransomware activity", "Status": "success"}),
    ];
    let body: String = records.iter().map(|r| format!("{r}\n")).collect();
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/ingest", server.url))
        .bearer_auth(&key)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .expect("ingest");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.expect("json"), json!({"accepted": 5, "malformed": 0, "alerts": 4}));

    let alerts = admin.call(reqwest::Method::GET, "/api/v1/admin/alerts", None).await.expect("alerts");
    let alerts = alerts.as_array().expect("a list");
    let mut titles: Vec<&str> = alerts.iter().filter_map(|a| a["title"].as_str()).collect();
    titles.sort_unstable();
    assert_eq!(
        titles,
        [
            "Github High Risk Configuration Disabled",
            "Google Cloud Storage Buckets Enumeration",
            "Microsoft 365 - Potential Ransomware Activity",
            "Okta MFA Reset or Deactivated",
        ]
    );
}
