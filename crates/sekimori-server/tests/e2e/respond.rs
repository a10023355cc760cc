//! The alert routing document over the admin API: refused with the place when the respond
//! engine cannot use it, written as versions with optimistic concurrency, audited, read
//! back by an auditor who cannot change it. On SQLite and PostgreSQL.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{Backend, TestServer, START};
use sekimori_core::Timestamp;

fn document(slack_receiver: &str) -> Value {
    json!({
        "route": {
            "receiver": "soc-email",
            "group_by": ["rule"],
            "routes": [
                {"matchers": ["severity=~\"high|critical\""], "receiver": slack_receiver, "continue": true, "group_wait": "10s"},
                {"matchers": ["kind=\"baseline\""], "receiver": "helpdesk-teams", "group_by": ["user"]}
            ]
        },
        "receivers": [{"name": "soc-email"}, {"name": "soc-slack"}, {"name": "helpdesk-teams"}],
        "inhibit_rules": [{"source_matchers": ["rule=\"host_down\""], "target_matchers": ["severity!=\"critical\""], "equal": ["host"]}]
    })
}

async fn bearer(s: &TestServer, token: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new().request(method, format!("{}{path}", s.url)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn routing_is_checked_versioned_and_audited(backend: Backend) {
    let s = TestServer::start_on(backend).await;
    let (status, current) = s.admin_call(Method::GET, "/api/v1/admin/routing", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(current, json!({"version": 0, "document": null}));

    // A route naming a receiver that does not exist: refused, with the place.
    let (status, problem) = s
        .admin_call(
            Method::PUT,
            "/api/v1/admin/routing",
            Some(json!({"base_version": 0, "document": document("soc-slak")})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["place"], "route.routes[0].receiver", "{problem}");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("no receiver named \"soc-slak\"")), "{problem}");
    // A matcher that is not one, and an unknown key: refused too, nothing written.
    let mut bad = document("soc-slack");
    bad["route"]["routes"][1]["matchers"] = json!(["kind==baseline"]);
    let (status, problem) =
        s.admin_call(Method::PUT, "/api/v1/admin/routing", Some(json!({"base_version": 0, "document": bad}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    let mut bad = document("soc-slack");
    bad["route"]["colour"] = json!("red");
    let (status, _) =
        s.admin_call(Method::PUT, "/api/v1/admin/routing", Some(json!({"base_version": 0, "document": bad}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(s.admin_call(Method::GET, "/api/v1/admin/routing", None).await.1["version"], 0);

    // Written as version 1; a second writer still on version 0 gets a conflict.
    let good = document("soc-slack");
    let (status, written) = s
        .admin_call(Method::PUT, "/api/v1/admin/routing", Some(json!({"base_version": 0, "document": good.clone()})))
        .await;
    assert_eq!((status, written), (StatusCode::OK, json!({"version": 1})));
    let (status, problem) = s
        .admin_call(Method::PUT, "/api/v1/admin/routing", Some(json!({"base_version": 0, "document": good.clone()})))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["current_version"], 1);
    let (_, current) = s.admin_call(Method::GET, "/api/v1/admin/routing", None).await;
    assert_eq!(current, json!({"version": 1, "document": good}));
    let (_, versions) = s.admin_call(Method::GET, "/api/v1/admin/routing/versions", None).await;
    assert_eq!(versions.as_array().map(Vec::len), Some(1));
    let audited = s.events("action=admin.routing.updated").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0]["sekimori"]["routing"]["version"], 1);

    // An auditor reads it and cannot change it; an operator needs the detection capability.
    let (_, token) =
        s.admin_call(Method::POST, "/api/v1/admin/tokens", Some(json!({"name": "audit", "role": "auditor"}))).await;
    let auditor = token["key"].as_str().expect("key").to_owned();
    assert_eq!(bearer(&s, &auditor, Method::GET, "/api/v1/admin/routing", None).await.0, StatusCode::OK);
    let change = json!({"base_version": 1, "document": document("soc-slack")});
    assert_eq!(
        bearer(&s, &auditor, Method::PUT, "/api/v1/admin/routing", Some(change.clone())).await.0,
        StatusCode::FORBIDDEN
    );
    let (_, token) = s
        .admin_call(
            Method::POST,
            "/api/v1/admin/tokens",
            Some(json!({"name": "reader", "role": "operator", "capabilities": ["detection.read"]})),
        )
        .await;
    let reader = token["key"].as_str().expect("key").to_owned();
    assert_eq!(bearer(&s, &reader, Method::GET, "/api/v1/admin/routing", None).await.0, StatusCode::OK);
    assert_eq!(bearer(&s, &reader, Method::PUT, "/api/v1/admin/routing", Some(change)).await.0, StatusCode::FORBIDDEN);
}

async fn silences_are_made_listed_ended_and_audited(backend: Backend) {
    let s = TestServer::start_on(backend).await;
    let at = |minutes: i64| Timestamp(START.millis() + minutes * 60_000).to_rfc3339();
    let post = |body: Value| s.admin_call(Method::POST, "/api/v1/admin/silences", Some(body));

    // Refused, naming the field: a matcher that is not one, a window already over, no reason.
    let (status, problem) =
        post(json!({"matchers": ["user=alice", "rule==x"], "ends_at": at(60), "comment": "travel"})).await;
    assert_eq!((status, problem["field"].as_str()), (StatusCode::BAD_REQUEST, Some("matchers[1]")), "{problem}");
    let (status, problem) = post(json!({"matchers": ["user=alice"], "ends_at": at(-1), "comment": "travel"})).await;
    assert_eq!((status, problem["field"].as_str()), (StatusCode::BAD_REQUEST, Some("ends_at")), "{problem}");
    let (status, problem) = post(json!({"matchers": ["user=alice"], "ends_at": "tomorrow", "comment": "x"})).await;
    assert_eq!((status, problem["field"].as_str()), (StatusCode::BAD_REQUEST, Some("ends_at")), "{problem}");
    let (status, problem) = post(json!({"matchers": ["user=alice"], "ends_at": at(60), "comment": "  "})).await;
    assert_eq!((status, problem["field"].as_str()), (StatusCode::BAD_REQUEST, Some("comment")), "{problem}");
    let (status, _) = post(json!({"matchers": [], "ends_at": at(60), "comment": "x"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // One now for an hour, one for the maintenance night later.
    let (status, now) =
        post(json!({"matchers": ["user=\"alice\"", "rule=~new_.*"], "ends_at": at(60), "comment": "alice travels"}))
            .await;
    assert_eq!(status, StatusCode::CREATED, "{now}");
    assert_eq!(now["state"], "active");
    assert_eq!(now["starts_at"], at(0));
    let (status, later) =
        post(json!({"matchers": ["host=db1"], "starts_at": at(120), "ends_at": at(240), "comment": "maintenance"}))
            .await;
    assert_eq!((status, later["state"].as_str()), (StatusCode::CREATED, Some("pending")), "{later}");
    let (_, listed) = s.admin_call(Method::GET, "/api/v1/admin/silences", None).await;
    let ids: Vec<&str> = listed.as_array().expect("list").iter().filter_map(|x| x["id"].as_str()).collect();
    assert_eq!(ids, [now["id"].as_str().expect("id"), later["id"].as_str().expect("id")]);

    // It ends on time: an hour later only the maintenance one is listed.
    s.clock.advance_seconds(3600);
    let (_, listed) = s.admin_call(Method::GET, "/api/v1/admin/silences", None).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    // Ended early, once.
    let path = format!("/api/v1/admin/silences/{}", later["id"].as_str().expect("id"));
    assert_eq!(s.admin_call(Method::DELETE, &path, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(s.admin_call(Method::DELETE, &path, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.admin_call(Method::GET, "/api/v1/admin/silences", None).await.1, json!([]));
    assert_eq!(s.events("action=admin.silence.created").await.len(), 2);
    assert_eq!(s.events("action=admin.silence.expired").await.len(), 1);

    // An auditor reads them and cannot make one.
    let (_, token) =
        s.admin_call(Method::POST, "/api/v1/admin/tokens", Some(json!({"name": "audit", "role": "auditor"}))).await;
    let auditor = token["key"].as_str().expect("key").to_owned();
    assert_eq!(bearer(&s, &auditor, Method::GET, "/api/v1/admin/silences", None).await.0, StatusCode::OK);
    let body = json!({"matchers": ["user=bob"], "ends_at": at(120), "comment": "x"});
    assert_eq!(bearer(&s, &auditor, Method::POST, "/api/v1/admin/silences", Some(body)).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn silences_are_made_listed_ended_and_audited_on_sqlite() {
    silences_are_made_listed_ended_and_audited(Backend::Sqlite).await;
}

#[tokio::test]
async fn silences_are_made_listed_ended_and_audited_on_postgres() {
    silences_are_made_listed_ended_and_audited(Backend::Postgres).await;
}

#[tokio::test]
async fn routing_is_checked_versioned_and_audited_on_sqlite() {
    routing_is_checked_versioned_and_audited(Backend::Sqlite).await;
}

#[tokio::test]
async fn routing_is_checked_versioned_and_audited_on_postgres() {
    routing_is_checked_versioned_and_audited(Backend::Postgres).await;
}
