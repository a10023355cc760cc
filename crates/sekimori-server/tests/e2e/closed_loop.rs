//! The closed loop, end to end over HTTP: a user who never mistypes a password fails three
//! times; Sekimori's own audit events raise the baseline alert; the SOC's webhook hears of
//! it; the response policy raises the user's required level to 3 for one hour, so an OIDC
//! login with password and TOTP (level 2) is stepped up to the authenticator; once the
//! test clock passes the hour, level 2 is enough again. An exempt user is not raised; an
//! admin's override by hand is listed and lifted with a reason, audited. On SQLite and
//! PostgreSQL.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use totp_rs::TOTP;

use crate::delivery::{seen_through, Receiver, Smtp};
use crate::harness::{Backend, Rp, TestServer};
use crate::login::{with_password, Browser, Page};
use crate::oidc::{code_of, enrol_totp, exchange, path_of, register, request, rp, verified};

fn routing(receiver: &str, smtp: &Smtp) -> Value {
    json!({
        "route": {"receiver": "soc", "group_by": ["rule", "user"], "group_wait": "30s"},
        "receivers": [
            {"name": "soc", "webhook_configs": [{"url": receiver}]},
            {"name": "mail", "email_configs": [{"to": ["soc@example.jp"], "from": "sekimori@example.jp",
                "smarthost": format!("127.0.0.1:{}", smtp.port), "tls_ca_file": smtp.ca_file,
                "auth_username": "soc-mailer", "auth_password": "mail-password-1"}]}
        ],
        "user_notices": {"email_receiver": "mail", "language": "ja"},
        "response_policies": [{
            "name": "unusual-failures",
            "matchers": ["kind=\"baseline\"", "rule=\"failure_burst\""],
            "action": "raise_level",
            "level": 3,
            "escalation": ["1h", "2h", "24h"],
            "exempt_users": ["carol"]
        }]
    })
}

async fn verify(s: &TestServer, rp: &Rp, user: &str, password: &str) -> StatusCode {
    rp.post(
        s,
        "/api/v1/factors/password/verify",
        json!({"username": user, "password": password, "client": {"ip": "192.0.2.10"}}),
    )
    .await
    .0
}

/// Twenty good logins (a history of someone who does not fail), then three wrong passwords.
/// The logins are 7 s apart: more than ten a minute would be refused by the default risk
/// policy's velocity limit.
async fn careful_user_fails_three_times(s: &TestServer, rp: &Rp, user: &str) {
    for _ in 0..20 {
        assert_eq!(verify(s, rp, user, "kumamoto42").await, StatusCode::OK);
        s.clock.advance_seconds(7);
    }
    for _ in 0..3 {
        assert_eq!(verify(s, rp, user, "wrong-password").await, StatusCode::UNAUTHORIZED);
    }
}

async fn overrides(s: &TestServer) -> Vec<Value> {
    let (status, list) = s.admin_call(Method::GET, "/api/v1/admin/overrides", None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().expect("list").clone()
}

/// Waits (real time: the audit follower and the dispatcher run every second) until `user`
/// has an override.
async fn raised(s: &TestServer, user: &str) -> Value {
    for _ in 0..100 {
        if let Some(o) = overrides(s).await.into_iter().find(|o| o["username"] == user) {
            return o;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no override for {user}");
}

/// Waits (real time: the audit follower runs every second) until an alert about `user` is
/// stored, and a moment more for the dispatcher (woken by the store) to take it in.
async fn alerted(s: &TestServer, user: &str) {
    for _ in 0..100 {
        let (_, alerts) = s.admin_call(Method::GET, "/api/v1/admin/alerts", None).await;
        if alerts.as_array().is_some_and(|a| a.iter().any(|x| x["entities"]["user"] == user)) {
            tokio::time::sleep(Duration::from_millis(500)).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no alert about {user}");
}

/// An OIDC login asking for level 2 with password and TOTP: the page the browser ends at
/// after the second factor, following redirects on the server.
async fn oidc_with_totp(s: &TestServer, b: &mut Browser, totp: &TOTP, r: &crate::oidc::Request) -> Page {
    let to_login = b.get(&path_of(s, &r.url)).await;
    assert_eq!(to_login.status, StatusCode::SEE_OTHER, "{}", to_login.body);
    let form = b.get(to_login.location()).await;
    let (csrf, return_to) = (form.csrf(), hidden(&form, "return_to"));
    let factor = b
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", "alice"),
                ("password", "kumamoto42"),
                ("return_to", &return_to),
                ("level", "2"),
            ],
        )
        .await;
    assert!(factor.body.contains("action=\"/login/factor\""), "{}", factor.body);
    let code = totp.generate(u64::try_from(s.now_seconds()).expect("time"));
    let done = b
        .post("/login/factor", &[("csrf", &factor.csrf()), ("code", &code), ("return_to", &return_to), ("level", "2")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    b.get(done.location()).await
}

fn hidden(p: &Page, name: &str) -> String {
    let key = format!("name=\"{name}\" value=\"");
    let at = p.body.find(&key).unwrap_or_else(|| panic!("field {name} in {}", p.body)) + key.len();
    p.body[at..].split('"').next().expect("value").replace("&amp;", "&")
}

async fn closed_loop(backend: Backend) {
    let s = TestServer::start_on(backend).await;
    let receiver = Receiver::start(Vec::new()).await;
    let smtp = Smtp::start();
    s.set_routing(routing(&receiver.url, &smtp)).await;
    with_password(&s, "alice").await;
    let (status, _) =
        s.admin_call(Method::PATCH, "/api/v1/admin/users/alice", Some(json!({"email": "alice@example.jp"}))).await;
    assert_eq!(status, StatusCode::OK);
    with_password(&s, "carol").await;
    let totp = enrol_totp(&s, "alice").await;
    let phone = s.enrolled("alice").await;
    let (client_id, secret) = register(&s, "wiki", json!({})).await;
    let c = rp(&s, &client_id, secret).await;
    let app = Rp {
        key: s.admin.add_app("bank", "relying_party").await.expect("app")["key"].as_str().expect("key").to_owned(),
    };

    // Alice, who never fails, fails three times: raised to level 3 for an hour.
    careful_user_fails_three_times(&s, &app, "alice").await;
    let o = raised(&s, "alice").await;
    assert_eq!((o["action"].as_str(), o["level"].as_i64()), (Some("raise_level"), Some(3)), "{o}");
    assert_eq!(o["policy"], "unusual-failures");
    assert!(o["source"].as_str().is_some_and(|src| src.starts_with("alert:")), "{o}");
    assert!(o["reason"].as_str().is_some_and(|r| r.contains("rarely fails")), "{o}");
    let set_at = time::OffsetDateTime::parse(
        o["created_at"].as_str().expect("t"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("time");
    let ends = time::OffsetDateTime::parse(
        o["expires_at"].as_str().expect("t"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("time");
    assert_eq!(ends - set_at, time::Duration::hours(1), "the first step of the escalation");
    let set = s.events("action=response.override.set").await;
    assert_eq!(set.len(), 1, "audited once");
    // Alice's authenticator is told what happened and what to do.
    let notices: Vec<Value> =
        phone.messages(0).await.expect("messages").into_iter().filter(|m| m["type"] == "security_notice").collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!((notices[0]["action"].as_str(), notices[0]["level"].as_u64()), (Some("raise_level"), Some(3)));
    assert_eq!(notices[0]["until"], o["expires_at"]);
    assert!(notices[0]["text"].as_str().is_some_and(|t| t.contains("passkey or your Sekimori authenticator")));
    // And by email, in Japanese, to her own address, through the mail receiver's server.
    let mail = smtp.message(1).await;
    assert_eq!(mail["rcpt_tos"], json!(["alice@example.jp"]), "{mail}");
    assert_eq!(mail["subject"], "関守: ログインに追加の確認が必要になりました");
    assert!(mail["text"].as_str().is_some_and(|t| t.contains("パスキーまたは関守認証アプリ")), "{mail}");

    // The SOC's webhook hears of it after the group's wait.
    s.clock.advance_seconds(31);
    let got = receiver.wait_for(1).await;
    let body: Value = serde_json::from_slice(&got[0].body).expect("json");
    assert_eq!(body["commonLabels"]["rule"], "failure_burst", "{body}");
    assert_eq!(body["commonLabels"]["user"], "alice");
    assert_eq!(body["commonLabels"]["source"], "sekimori", "raised on Sekimori's own events");

    // An OIDC login with password and TOTP (level 2) is stepped up to the authenticator.
    let mut b = Browser::new(&s);
    let r = request(&c, |mut p| {
        p.push(("acr", "2".into()));
        p
    });
    let after = oidc_with_totp(&s, &mut b, &totp, &r).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "{}", after.body);
    assert!(after.location().starts_with("/login?") && after.location().contains("level=3"), "{}", after.location());
    let page = b.get(after.location()).await;
    assert!(page.body.contains("needs a sign-in with your Sekimori authenticator"), "{}", page.body);
    // The session itself says what it must reach.
    let (_, me) = b.whoami().await;
    assert_eq!((me["level"].as_u64(), me["required_level"].as_u64()), (Some(2), Some(3)), "{me}");

    // Past the hour, level 2 is enough again.
    s.clock.advance_seconds(3600);
    assert!(overrides(&s).await.is_empty(), "ended on time");
    let mut b = Browser::new(&s);
    let r = request(&c, |mut p| {
        p.push(("acr", "2".into()));
        p
    });
    let after = oidc_with_totp(&s, &mut b, &totp, &r).await;
    let code = code_of(&s, &after, &r);
    let tokens = exchange(&c, &code, &r.verifier).await.expect("tokens");
    let claims = verified(
        &s,
        &c,
        &tokens,
        Some(&r.nonce),
        &[openidconnect::core::CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256],
    );
    assert_eq!(claims["acr"], "2");

    // Carol is exempt: her burst alerts the SOC but does not raise her.
    careful_user_fails_three_times(&s, &app, "carol").await;
    alerted(&s, "carol").await;
    s.clock.advance_seconds(31);
    // (Alice's group, quiet for an hour, is told it resolved too.)
    let got = receiver.wait_for(3).await;
    let bodies: Vec<Value> = got.iter().map(|r| serde_json::from_slice(&r.body).expect("json")).collect();
    assert!(bodies.iter().any(|b| b["status"] == "resolved" && b["commonLabels"]["user"] == "alice"), "{bodies:?}");
    assert!(bodies.iter().any(|b| b["status"] == "firing" && b["commonLabels"]["user"] == "carol"), "{bodies:?}");
    seen_through(&s).await;
    assert!(overrides(&s).await.iter().all(|o| o["username"] != "carol"), "exempt");

    // An admin raises Carol by hand, then lifts it with a reason: both audited.
    let (status, set) = s
        .admin_call(
            Method::POST,
            "/api/v1/admin/users/carol/overrides",
            Some(json!({"action": "raise_level", "level": 3, "duration": "2h", "reason": "travelling with a new laptop"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{set}");
    let id = set["id"].as_str().expect("id");
    assert_eq!(raised(&s, "carol").await["source"].as_str().map(|s| s.starts_with("admin_token:")), Some(true));
    let (status, problem) =
        s.admin_call(Method::POST, &format!("/api/v1/admin/overrides/{id}/lift"), Some(json!({"reason": " "}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a lift needs a reason: {problem}");
    let (status, _) = s
        .admin_call(
            Method::POST,
            &format!("/api/v1/admin/overrides/{id}/lift"),
            Some(json!({"reason": "confirmed by phone"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s
        .admin_call(Method::POST, &format!("/api/v1/admin/overrides/{id}/lift"), Some(json!({"reason": "again"})))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "lifted once");
    assert!(overrides(&s).await.is_empty());
    let lifted = s.events("action=response.override.lifted").await;
    assert_eq!(lifted.len(), 1);
    assert_eq!(lifted[0]["sekimori"]["reason"], "confirmed by phone", "{}", lifted[0]);
}

#[tokio::test]
async fn closed_loop_on_sqlite() {
    closed_loop(Backend::Sqlite).await;
}

#[tokio::test]
async fn closed_loop_on_postgres() {
    closed_loop(Backend::Postgres).await;
}
