//! Required-level overrides beyond the closed loop: a policy's escalation for repeat
//! offenders (30 min, then 2 h), a group exempt from it, and what suspend_push and block do
//! to logins; over HTTP on SQLite and PostgreSQL.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{code, Backend, TestServer};
use crate::login::with_password;

async fn ingest_whoami(s: &TestServer, key: &str, user: &str) {
    let event = json!({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
                       "Image": "C:\\Windows\\System32\\whoami.exe", "TargetUserName": user});
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/ingest", s.url))
        .bearer_auth(key)
        .header("content-type", "application/x-ndjson")
        .body(format!("{event}\n"))
        .send()
        .await
        .expect("ingest");
    assert_eq!(resp.status(), StatusCode::OK);
}

async fn overrides_of(s: &TestServer, user: &str) -> Vec<Value> {
    let (_, list) = s.admin_call(Method::GET, "/api/v1/admin/overrides", None).await;
    list.as_array().expect("list").iter().filter(|o| o["username"] == user).cloned().collect()
}

/// Waits until `user` has `n` overrides set in all (the audit log counts them).
async fn set_count(s: &TestServer, user: &str, n: usize) {
    for _ in 0..100 {
        let set = s.events("action=response.override.set").await;
        if set.iter().filter(|e| e["user"]["name"] == user).count() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{user} does not have {n} overrides");
}

fn minutes(o: &Value) -> i64 {
    let t = |k: &str| {
        time::OffsetDateTime::parse(o[k].as_str().expect("time"), &time::format_description::well_known::Rfc3339)
            .expect("rfc3339")
    };
    (t("expires_at") - t("created_at")).whole_minutes()
}

async fn escalation_exemption_suspension_and_block(backend: Backend) {
    let s = TestServer::start_on(backend).await;
    let (status, src) = s.admin_call(Method::POST, "/api/v1/admin/ingest-sources", Some(json!({"name": "edr"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (source_id, key) = (src["id"].as_str().expect("id").to_owned(), src["key"].as_str().expect("key").to_owned());
    with_password(&s, "alice").await;
    with_password(&s, "bob").await;
    s.admin_call(Method::POST, "/api/v1/admin/groups", Some(json!({"name": "sre"}))).await;
    let (status, _) = s.admin_call(Method::PUT, "/api/v1/admin/groups/sre/members/bob", None).await;
    assert_eq!(status, StatusCode::OK);
    let doc = json!({
        "route": {"receiver": "nobody"},
        "receivers": [{"name": "nobody"}],
        "response_policies": [{
            "name": "edr-whoami", "matchers": ["rule=\"0b1c2d3e-0000-4000-8000-000000000001\""],
            "action": "raise_level", "level": 2, "escalation": ["30m", "2h"], "escalation_window": "1d",
            "trusted_sources": [source_id], "exempt_groups": ["sre"]
        }]
    });
    s.set_routing(doc).await;

    // First offence: 30 minutes; more alerts while it is in force add nothing.
    ingest_whoami(&s, &key, "alice").await;
    set_count(&s, "alice", 1).await;
    ingest_whoami(&s, &key, "alice").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let now = overrides_of(&s, "alice").await;
    assert_eq!(now.len(), 1, "{now:?}");
    assert_eq!((minutes(&now[0]), now[0]["level"].as_i64()), (30, Some(2)));
    // After it ends, the next offence within the window: the second step, 2 h.
    s.clock.advance_seconds(31 * 60);
    assert!(overrides_of(&s, "alice").await.is_empty(), "ended on time");
    ingest_whoami(&s, &key, "alice").await;
    set_count(&s, "alice", 2).await;
    let now = overrides_of(&s, "alice").await;
    assert_eq!(minutes(&now[0]), 120, "{now:?}");
    let set = s.events("action=response.override.set").await;
    let steps: Vec<&Value> = set.iter().map(|e| &e["sekimori"]["escalation"]["step"]).collect();
    assert_eq!(steps, [&json!(1), &json!(2)], "{set:?}");
    // Bob is in the exempt group: his alert acts on nothing.
    ingest_whoami(&s, &key, "bob").await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert!(overrides_of(&s, "bob").await.is_empty());

    // suspend_push refuses push logins, with the reason; block refuses every login.
    let carol = s.enrolled("carol").await;
    let rp = s.app("shop", "relying_party").await;
    carol.standby().await.expect("standby");
    let (status, _) = s
        .admin_call(
            Method::POST,
            "/api/v1/admin/users/carol/overrides",
            Some(json!({"action": "suspend_push", "duration": "1h", "reason": "lost phone reported"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(code(rp.start_push("carol", None).await), "login_not_allowed");
    let refused = s.events("action=auth.login.not_allowed").await;
    assert!(refused.iter().any(|e| e["sekimori"]["reason"] == "push_suspended"), "{refused:?}");
    let (status, _) = s
        .admin_call(
            Method::POST,
            "/api/v1/admin/users/alice/overrides",
            Some(json!({"action": "block", "duration": "1h", "reason": "account takeover suspected"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, problem) = rp_verify(&s, "alice").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["type"], "urn:sekimori:problem:login_not_allowed", "{problem}");
    assert_eq!(problem["reason"], "blocked");
    // Bad requests name the field.
    for (body, field) in [
        (json!({"action": "raise_level", "duration": "1h", "reason": "x"}), "level"),
        (json!({"action": "block", "reason": "x"}), "duration"),
        (json!({"action": "jail", "duration": "1h", "reason": "x"}), "action"),
        (json!({"action": "block", "duration": "1h", "reason": ""}), "reason"),
        (json!({"action": "reauthenticate", "duration": "1h", "reason": "x"}), "duration"),
    ] {
        let (status, problem) = s.admin_call(Method::POST, "/api/v1/admin/users/alice/overrides", Some(body)).await;
        assert_eq!((status, problem["field"].as_str()), (StatusCode::BAD_REQUEST, Some(field)), "{problem}");
    }
}

async fn rp_verify(s: &TestServer, user: &str) -> (StatusCode, Value) {
    let key = s.admin.add_app("bank", "relying_party").await.expect("app")["key"].as_str().expect("key").to_owned();
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/factors/password/verify", s.url))
        .bearer_auth(key)
        .json(&json!({"username": user, "password": "kumamoto42"}))
        .send()
        .await
        .expect("send");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn escalation_exemption_suspension_and_block_on_sqlite() {
    escalation_exemption_suspension_and_block(Backend::Sqlite).await;
}

#[tokio::test]
async fn escalation_exemption_suspension_and_block_on_postgres() {
    escalation_exemption_suspension_and_block(Backend::Postgres).await;
}

/// `reauthenticate` ends the user's sessions now: the browser's session is gone and the
/// user is told; nothing lasting is set.
#[tokio::test]
async fn reauthenticate_ends_the_sessions_now() {
    let s = TestServer::start().await;
    with_password(&s, "dana").await;
    let mut b = crate::login::Browser::new(&s);
    let form = b.get("/login").await;
    let done = b
        .post("/login", &[("csrf", &form.csrf()), ("username", "dana"), ("password", "kumamoto42"), ("return_to", "/")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(b.whoami().await.0, StatusCode::OK);
    let (status, body) = s
        .admin_call(
            Method::POST,
            "/api/v1/admin/users/dana/overrides",
            Some(json!({"action": "reauthenticate", "reason": "token theft suspected"})),
        )
        .await;
    assert_eq!((status, body["sessions_ended"].as_bool()), (StatusCode::OK, Some(true)), "{body}");
    assert_eq!(b.whoami().await.0, StatusCode::UNAUTHORIZED, "signed out everywhere");
    assert!(overrides_of(&s, "dana").await.is_empty(), "nothing lasting");
    let events = s.events("action=response.reauthenticate").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["sekimori"]["reason"], "token theft suspected");
}
