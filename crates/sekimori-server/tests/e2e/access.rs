//! Who may log in when, over HTTP: login hours per user and per group in the tenant's time
//! zone (moved test clock), validity periods, disable and enable, and deleting a user
//! with everything theirs, for password, push and QR logins alike.

use reqwest::{Method, StatusCode};
use sekimori_core::UserId;
use serde_json::{json, Value};

use crate::harness::{code, Backend, Rp, TestServer};
use sekimori_core::Timestamp;

/// Monday 2026-12-07 10:00 in Tokyo (01:00 UTC).
const MON_10_JST: i64 = 1_796_605_200_000;
/// Saturday 2026-12-05 10:00 in Tokyo.
const SAT_10_JST: i64 = 1_796_432_400_000;
/// Monday 2026-12-07 23:30 in Tokyo.
const MON_2330_JST: i64 = 1_796_653_800_000;
/// Tuesday 2026-12-08 05:30 in Tokyo.
const TUE_0530_JST: i64 = 1_796_675_400_000;
/// Monday 2026-12-07 08:30 in Tokyo.
const MON_0830_JST: i64 = 1_796_599_800_000;

async fn patch(s: &TestServer, path: &str, body: Value) -> (StatusCode, Value) {
    s.admin_call(Method::PATCH, path, Some(body)).await
}

async fn with_password(s: &TestServer, user: &str) {
    s.admin.add_user(user, None, None).await.expect("user");
    let (status, body) = s
        .admin_call(
            Method::PUT,
            &format!("/api/v1/admin/users/{user}/password"),
            Some(json!({"password": "kumamoto42"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

async fn login(s: &TestServer, rp: &Rp, user: &str) -> (u16, Value) {
    let (status, body) =
        rp.post(s, "/api/v1/factors/password/verify", json!({"username": user, "password": "kumamoto42"})).await;
    (status.as_u16(), body)
}

fn refused(answer: &(u16, Value), reason: &str) {
    assert_eq!(answer.0, 403, "{}", answer.1);
    assert_eq!(answer.1["code"], "login_not_allowed", "{}", answer.1);
    assert_eq!(answer.1["reason"], reason, "{}", answer.1);
}

async fn login_hours_flow(backend: Backend) {
    let s = TestServer::start_on(backend).await;
    let (status, body) = patch(&s, "/api/v1/admin/tenant", json!({"time_zone": "Asia/Tokyo"})).await;
    assert_eq!((status, body["time_zone"].as_str()), (StatusCode::OK, Some("Asia/Tokyo")), "{body}");
    let rp =
        Rp { key: s.admin.add_app("bank", "relying_party").await.expect("app")["key"].as_str().expect("k").into() };

    // Alice: weekdays 09:00-18:00 Tokyo time, her own rule.
    with_password(&s, "alice").await;
    let office = json!([{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "09:00", "until": "18:00"}]);
    let (status, body) = patch(&s, "/api/v1/admin/users/alice", json!({"login_hours": office})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["login_hours"], office);
    s.clock.set(Timestamp(MON_10_JST));
    assert_eq!(login(&s, &rp, "alice").await.0, 200);
    s.clock.set(Timestamp(MON_0830_JST));
    refused(&login(&s, &rp, "alice").await, "outside_login_hours");
    s.clock.set(Timestamp(SAT_10_JST));
    refused(&login(&s, &rp, "alice").await, "outside_login_hours");
    // Push login is held to the same rule (checked before anything is sent to a device).
    let push = s.app("bank-push", "relying_party").await.start_push("alice", None).await;
    assert_eq!(code(push), "login_not_allowed");

    // Bob: no rule of his own; his group works nights, over midnight.
    with_password(&s, "bob").await;
    let night = json!([{"days": ["mon"], "from": "22:00", "until": "06:00"}]);
    let (status, body) = s
        .admin_call(Method::POST, "/api/v1/admin/groups", Some(json!({"name": "night-shift", "login_hours": night})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = s.admin_call(Method::PUT, "/api/v1/admin/groups/night-shift/members/bob", None).await;
    assert_eq!((status, body["members"].clone()), (StatusCode::OK, json!(["bob"])), "{body}");
    s.clock.set(Timestamp(MON_2330_JST));
    assert_eq!(login(&s, &rp, "bob").await.0, 200);
    s.clock.set(Timestamp(TUE_0530_JST));
    assert_eq!(login(&s, &rp, "bob").await.0, 200, "Monday's night runs into Tuesday morning");
    s.clock.set(Timestamp(MON_10_JST));
    refused(&login(&s, &rp, "bob").await, "outside_login_hours");
    // Out of the group, no rule applies.
    let (status, _) = s.admin_call(Method::DELETE, "/api/v1/admin/groups/night-shift/members/bob", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(login(&s, &rp, "bob").await.0, 200);

    let refusals = s.events("action=auth.login.not_allowed").await;
    assert_eq!(refusals.len(), 4, "{refusals:?}");
    assert_eq!(refusals[0]["sekimori"]["reason"], "outside_login_hours");
    assert_eq!(refusals[2]["sekimori"]["method"], "push");
}

#[tokio::test]
async fn login_hours_per_user_and_group_follow_the_tenant_time_zone_on_sqlite() {
    login_hours_flow(Backend::Sqlite).await;
}

#[tokio::test]
async fn login_hours_per_user_and_group_follow_the_tenant_time_zone_on_postgres() {
    login_hours_flow(Backend::Postgres).await;
}

#[tokio::test]
async fn validity_periods_and_disable_enable() {
    let s = TestServer::start().await;
    let rp =
        Rp { key: s.admin.add_app("bank", "relying_party").await.expect("app")["key"].as_str().expect("k").into() };
    with_password(&s, "alice").await;
    let now = s.now_seconds() * 1000;
    let rfc = |ms: i64| Timestamp(ms).to_rfc3339();
    let (status, body) = patch(
        &s,
        "/api/v1/admin/users/alice",
        json!({"valid_from": rfc(now + 3_600_000), "valid_until": rfc(now + 7_200_000)}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    refused(&login(&s, &rp, "alice").await, "not_yet_valid");
    s.clock.advance_seconds(3_600);
    assert_eq!(login(&s, &rp, "alice").await.0, 200);
    s.clock.advance_seconds(3_600);
    refused(&login(&s, &rp, "alice").await, "expired");
    // Clearing the end date lets her in again.
    let (status, body) = patch(&s, "/api/v1/admin/users/alice", json!({"valid_until": null})).await;
    assert_eq!((status, body.get("valid_until")), (StatusCode::OK, None), "{body}");
    assert_eq!(login(&s, &rp, "alice").await.0, 200);

    let (status, body) = patch(&s, "/api/v1/admin/users/alice", json!({"disabled": true})).await;
    assert_eq!((status, body["disabled"].as_bool()), (StatusCode::OK, Some(true)));
    let answer = login(&s, &rp, "alice").await;
    assert_eq!((answer.0, answer.1["code"].as_str()), (403, Some("forbidden")), "{}", answer.1);
    patch(&s, "/api/v1/admin/users/alice", json!({"disabled": false})).await;
    assert_eq!(login(&s, &rp, "alice").await.0, 200);
    assert_eq!(s.events("action=iam.user.disabled").await.len(), 1);
    assert_eq!(s.events("action=iam.user.enabled").await.len(), 1);

    // Bad input is a clear 400 naming the field, and changes nothing.
    for (body, field) in [
        (json!({"valid_from": "tomorrow"}), "valid_from"),
        (json!({"valid_from": rfc(now + 10_000_000), "valid_until": rfc(now)}), "valid_until"),
        (json!({"login_hours": [{"days": ["mon"], "from": "8:00", "until": "18:00"}]}), "login_hours"),
        (json!({"nickname": "x"}), ""),
    ] {
        let (status, problem) = patch(&s, "/api/v1/admin/users/alice", body).await;
        assert_eq!((status.as_u16(), problem["code"].as_str()), (400, Some("invalid_request")), "{problem}");
        if !field.is_empty() {
            assert_eq!(problem["field"], field, "{problem}");
        }
    }
    let (status, problem) = patch(&s, "/api/v1/admin/tenant", json!({"time_zone": "Mars/Olympus_Mons"})).await;
    assert_eq!((status.as_u16(), problem["field"].as_str()), (400, Some("time_zone")), "{problem}");
    assert_eq!(login(&s, &rp, "alice").await.0, 200);
}

#[tokio::test]
async fn deleting_a_user_removes_devices_and_credentials_and_keeps_the_audit_trail() {
    let s = TestServer::start().await;
    let device = s.enrolled("alice").await;
    let (status, _) =
        s.admin_call(Method::PUT, "/api/v1/admin/users/alice/password", Some(json!({"password": "kumamoto42"}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s.admin_call(Method::POST, "/api/v1/admin/users/alice/recovery-codes", None).await;
    assert_eq!(status, StatusCode::CREATED);
    s.admin_call(Method::POST, "/api/v1/admin/groups", Some(json!({"name": "staff"}))).await;
    s.admin_call(Method::PUT, "/api/v1/admin/groups/staff/members/alice", None).await;
    device.standby().await.expect("the device works");
    let user_id = s.admin.list_users().await.expect("users")[0]["id"].as_str().expect("id").to_owned();

    let (status, _) = s.admin_call(Method::DELETE, "/api/v1/admin/users/alice", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = s.admin_call(Method::GET, "/api/v1/admin/users/alice", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = s.admin_call(Method::DELETE, "/api/v1/admin/users/alice", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(code(device.standby().await), "unauthorized", "the device stops working");
    let (_, group) = s.admin_call(Method::GET, "/api/v1/admin/groups/staff", None).await;
    assert_eq!(group["members"], json!([]));
    // A new alice is a new person: nothing of the old one carries over.
    s.admin.add_user("alice", None, None).await.expect("again");
    let (_, factors) = s.admin_call(Method::GET, "/api/v1/admin/users/alice/factors", None).await;
    assert_eq!((factors["password"].as_bool(), factors["recovery_codes_left"].as_i64()), (Some(false), Some(0)));
    // The audit log keeps the old user's id on the deletion and on what came before it.
    let filter = sekimori_store::EventFilter { user_id: Some(UserId::new(user_id)), limit: 100, ..Default::default() };
    let trail: Vec<String> = s.store.events(&filter).await.expect("events").into_iter().map(|e| e.action).collect();
    assert!(trail.contains(&"iam.user.deleted".to_owned()), "{trail:?}");
    assert!(trail.contains(&"credential.password.set".to_owned()), "{trail:?}");
    assert_eq!(s.admin.verify_audit().await.expect("verify")["first_broken"], Value::Null);
}
