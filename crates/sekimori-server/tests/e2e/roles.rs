//! Admin roles over HTTP. The auditor reads every admin endpoint and never receives an
//! unmasked personal field (email, display name, IP address or network, environment, user
//! agent), in JSON or NDJSON, while an admin sees the same data; an auditor cannot
//! change anything. An operator acts only with its capabilities and only on users of its
//! groups. Token creation and revocation are audited.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{client, Rp, TestServer, FIREFOX_LINUX};

/// Personal data planted below; none may reach an auditor.
const SENTINELS: &[&str] = &[
    "alice@example.jp",
    "山田花子",
    "203.0.113.7",
    "203.0.113.0/24",
    "198.51.100.23",
    "192.0.2.44",
    "192.0.2.45",
    "Firefox",
    "rv:128.0",
];

async fn call(s: &TestServer, token: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, String) {
    let mut req = reqwest::Client::new().request(method, format!("{}{path}", s.url)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("send");
    (resp.status(), resp.text().await.expect("text"))
}

async fn seed(s: &TestServer) -> i64 {
    s.admin.add_user("alice", Some("alice@example.jp"), Some("山田花子")).await.expect("user");
    let device = s.enrolled("alice").await;
    device.standby().await.expect("standby");
    let rp = s.app("bank", "relying_party").await;
    rp.start_push("alice", client("203.0.113.7", FIREFOX_LINUX)).await.expect("push");
    let (status, _) =
        s.admin_call(Method::PUT, "/api/v1/admin/users/alice/password", Some(json!({"password": "kumamoto42"}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let key = s.admin.add_app("shop", "relying_party").await.expect("app")["key"].as_str().expect("key").to_owned();
    let (status, _) = Rp { key }
        .post(
            s,
            "/api/v1/factors/password/verify",
            json!({"username": "alice", "password": "wrong-wrong", "client": {"ip": "198.51.100.23"}}),
        )
        .await;
    assert_eq!(status.as_u16(), 401);
    s.admin_call(Method::POST, "/api/v1/admin/groups", Some(json!({"name": "staff"}))).await;
    // A CloudTrail event with an address raises an alert; a broken line is a dead letter.
    let ingest = s.ingest_key("cloudtrail").await;
    let report = s
        .ingest_ndjson(
            &ingest,
            &[json!({"eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging",
                     "sourceIPAddress": "192.0.2.44", "userAgent": "aws-cli", "detail": "from 192.0.2.44"})],
        )
        .await;
    assert!(report["alerts"].as_i64() >= Some(1), "{report}");
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/ingest", s.url))
        .bearer_auth(&ingest)
        .header("content-type", "application/x-ndjson")
        .body("{\"broken\": \"192.0.2.45\"\n")
        .send()
        .await
        .expect("send");
    assert!(resp.status().is_client_error() || resp.status().is_success());
    let (_, alerts) = s.admin_call(Method::GET, "/api/v1/admin/alerts", None).await;
    alerts[0]["event_seq"].as_i64().expect("seq")
}

#[tokio::test]
async fn the_auditor_reads_every_admin_endpoint_and_never_sees_personal_data() {
    let s = TestServer::start().await;
    let seq = seed(&s).await;
    let (status, body) = s
        .admin_call(Method::POST, "/api/v1/admin/tokens", Some(json!({"name": "audit-2026", "role": "auditor"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let auditor = body["key"].as_str().expect("key").to_owned();
    assert_eq!(body["token"]["role"], "auditor");

    let reads = [
        "/api/v1/admin/users".to_owned(),
        "/api/v1/admin/users/alice".into(),
        "/api/v1/admin/users/alice/devices".into(),
        "/api/v1/admin/users/alice/environments".into(),
        "/api/v1/admin/users/alice/factors".into(),
        "/api/v1/admin/users/alice/passkeys".into(),
        "/api/v1/admin/apps".into(),
        "/api/v1/admin/oidc/clients".into(),
        "/api/v1/admin/oidc/keys".into(),
        "/api/v1/admin/tenant".into(),
        "/api/v1/admin/groups".into(),
        "/api/v1/admin/groups/staff".into(),
        "/api/v1/admin/tokens".into(),
        "/api/v1/admin/audit/verify".into(),
        "/api/v1/events?limit=1000".into(),
        "/api/v1/events?limit=1000&format=ndjson".into(),
        "/api/v1/admin/ingest-sources".into(),
        "/api/v1/admin/alerts".into(),
        format!("/api/v1/admin/ingested-events/{seq}"),
        "/api/v1/admin/dead-letters".into(),
        "/api/v1/admin/listeners".into(),
        "/api/v1/admin/ingest-settings".into(),
        "/api/v1/admin/tuning".into(),
        "/api/v1/admin/tuning/versions".into(),
    ];
    let mut seen_by_admin = String::new();
    for path in &reads {
        let (status, as_admin) = call(&s, &s.admin_token, Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "admin {path}: {as_admin}");
        seen_by_admin.push_str(&as_admin);
        let (status, as_auditor) = call(&s, &auditor, Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "auditor {path}: {as_auditor}");
        for sentinel in SENTINELS {
            assert!(!as_auditor.contains(sentinel), "{path} shows {sentinel:?} to the auditor: {as_auditor}");
        }
        if as_admin.contains("alice") {
            assert!(as_auditor.contains("alice"), "usernames are not personal data here: {path}");
        }
    }
    // The test data is really there: the admin sees every sentinel somewhere.
    for sentinel in SENTINELS {
        assert!(seen_by_admin.contains(sentinel), "the admin never saw {sentinel:?}");
    }
    // Masked, not dropped: the auditor can tell there was an address.
    let (_, users) = call(&s, &auditor, Method::GET, "/api/v1/admin/users/alice", None).await;
    assert_eq!(serde_json::from_str::<Value>(&users).expect("json")["email"], "[masked]");

    // The auditor changes nothing.
    for (method, path, body) in [
        (Method::POST, "/api/v1/admin/users", Some(json!({"username": "mallory"}))),
        (Method::PATCH, "/api/v1/admin/tenant", Some(json!({"standby_seconds": 30}))),
        (Method::DELETE, "/api/v1/admin/users/alice", None),
        (Method::POST, "/api/v1/admin/tokens", Some(json!({"name": "x", "role": "admin"}))),
        (Method::POST, "/api/v1/admin/oidc/keys/rotate", None),
        (Method::DELETE, "/api/v1/admin/users/alice/passkeys/x", None),
    ] {
        let (status, body) = call(&s, &auditor, method, path, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    assert_eq!(s.admin_call(Method::GET, "/api/v1/admin/users/alice", None).await.0, StatusCode::OK);

    // Revoked, the token stops working; both are in the audit log.
    let id = s.events("action=admin.token.created").await.last().expect("created")["sekimori"]["admin_token"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, _) = call(&s, &s.admin_token, Method::DELETE, &format!("/api/v1/admin/tokens/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(call(&s, &auditor, Method::GET, "/api/v1/admin/users", None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.events("action=admin.token.revoked").await.len(), 1);
}

#[tokio::test]
async fn an_operator_acts_only_with_its_capabilities_on_its_groups() {
    let s = TestServer::start().await;
    for u in ["alice", "bob"] {
        s.admin.add_user(u, None, None).await.expect("user");
    }
    s.admin_call(Method::POST, "/api/v1/admin/groups", Some(json!({"name": "staff"}))).await;
    s.admin_call(Method::PUT, "/api/v1/admin/groups/staff/members/bob", None).await;
    let (status, body) = s
        .admin_call(
            Method::POST,
            "/api/v1/admin/tokens",
            Some(json!({"name": "helpdesk", "role": "operator", "capabilities": ["users.read", "credentials"],
                        "groups": ["staff"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let op = body["key"].as_str().expect("key").to_owned();
    let op_id = body["token"]["id"].as_str().expect("id").to_owned();

    let (status, users) = call(&s, &op, Method::GET, "/api/v1/admin/users", None).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<String> = serde_json::from_str::<Vec<Value>>(&users)
        .expect("list")
        .iter()
        .map(|u| u["username"].as_str().expect("name").to_owned())
        .collect();
    assert_eq!(names, ["bob"], "only its group's members");
    assert_eq!(call(&s, &op, Method::GET, "/api/v1/admin/users/alice", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(call(&s, &op, Method::GET, "/api/v1/admin/users/bob", None).await.0, StatusCode::OK);
    let (status, body) =
        call(&s, &op, Method::PUT, "/api/v1/admin/users/bob/password", Some(json!({"password": "kumamoto42"}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) =
        call(&s, &op, Method::PUT, "/api/v1/admin/users/alice/password", Some(json!({"password": "kumamoto42"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "alice is outside its groups");
    // Capabilities it lacks.
    for (method, path, body) in [
        (Method::PATCH, "/api/v1/admin/users/bob", Some(json!({"disabled": true}))),
        (Method::GET, "/api/v1/events", None),
        (Method::GET, "/api/v1/admin/apps", None),
        (Method::POST, "/api/v1/admin/tokens", Some(json!({"name": "x", "role": "admin"}))),
        (Method::GET, "/api/v1/admin/tokens", None),
    ] {
        let (status, body) = call(&s, &op, method, path, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    // With the groups capability, an operator limited to staff manages staff's members
    // but cannot make a group beside it or delete its own.
    let (status, body) = s
        .admin_call(
            Method::POST,
            "/api/v1/admin/tokens",
            Some(json!({"name": "team-lead", "role": "operator", "capabilities": ["users.read", "groups"], "groups": ["staff"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let lead = body["key"].as_str().expect("key").to_owned();
    let (status, body) = call(&s, &lead, Method::POST, "/api/v1/admin/groups", Some(json!({"name": "staff2"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = call(&s, &lead, Method::DELETE, "/api/v1/admin/groups/staff", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = call(&s, &lead, Method::DELETE, "/api/v1/admin/groups/staff/members/bob", None).await;
    assert!(status.is_success(), "{status} {body}");
    let (status, _) = s.admin_call(Method::GET, "/api/v1/admin/groups/staff", None).await;
    assert_eq!(status, StatusCode::OK, "staff still exists");
    s.admin_call(Method::PUT, "/api/v1/admin/groups/staff/members/bob", None).await;

    // Its changes are audited under its own id.
    let set = s.events("action=credential.password.set").await;
    assert_eq!(set.len(), 1);
    assert_eq!(set[0]["sekimori"]["actor"], format!("admin_token:{op_id}"));

    // Bad scopes are refused.
    for body in [
        json!({"name": "x", "role": "operator", "capabilities": ["everything"]}),
        json!({"name": "x", "role": "operator", "capabilities": ["users.read"], "groups": ["nope"]}),
        json!({"name": "x", "role": "operator"}),
        json!({"name": "x", "role": "auditor", "capabilities": ["users.read"]}),
        json!({"name": "x", "role": "root"}),
    ] {
        let (status, problem) = s.admin_call(Method::POST, "/api/v1/admin/tokens", Some(body)).await;
        assert_eq!(status.as_u16(), 400, "{problem}");
    }
}
