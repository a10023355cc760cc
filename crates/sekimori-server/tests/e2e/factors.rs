//! Second factors over HTTP: an admin enrols TOTP for a user and the code from an
//! independent implementation (`totp-rs`, reading the `otpauth://` URI as an authenticator
//! app would) confirms it; a relying party verifies codes with a moved test clock (current
//! step, ±1, ±2, replay), the lock after ten wrong codes, and recovery codes (single use,
//! regenerated). The seed is stored encrypted.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use totp_rs::TOTP;

use crate::harness::{Backend, Rp, TestServer};

trait Totp {
    async fn totp(&self, s: &TestServer, code: &str) -> (StatusCode, Value);
}

impl Totp for Rp {
    async fn totp(&self, s: &TestServer, code: &str) -> (StatusCode, Value) {
        self.post(s, "/api/v1/factors/totp/verify", json!({"username": "alice", "code": code})).await
    }
}

/// The code `totp-rs` computes for `t` (Unix seconds).
fn code_at(app: &TOTP, t: i64) -> String {
    app.generate(u64::try_from(t).expect("positive"))
}

/// A six-digit code that no step within ±1 of `now` has.
fn wrong_code(app: &TOTP, now: i64) -> String {
    let right = [code_at(app, now - 30), code_at(app, now), code_at(app, now + 30)];
    (0..4).map(|i| format!("{:06}", 123_456 + i)).find(|c| !right.contains(c)).expect("a wrong code")
}

async fn setup(backend: Backend) -> (TestServer, Rp, TOTP, String) {
    let s = TestServer::start_on(backend).await;
    s.admin.add_user("alice", None, None).await.expect("user");
    let key = s.admin.add_app("bank", "relying_party").await.expect("app")["key"].as_str().expect("key").to_owned();
    let (status, e) = s.admin_call(Method::POST, "/api/v1/admin/users/alice/totp", None).await;
    assert_eq!(status, StatusCode::CREATED, "{e}");
    let uri = e["otpauth_uri"].as_str().expect("uri");
    assert!(uri.starts_with("otpauth://totp/default:alice?secret="), "{uri}");
    assert!(e["qr_svg"].as_str().is_some_and(|svg| svg.contains("<svg")), "a QR code of the URI");
    assert_eq!(
        (e["algorithm"].as_str(), e["digits"].as_u64(), e["period"].as_u64()),
        (Some("SHA1"), Some(6), Some(30))
    );
    let app = TOTP::from_url(uri).expect("an authenticator app reads the URI");
    assert_eq!(app.get_secret_base32(), e["secret"].as_str().expect("secret"));
    (s, Rp { key }, app, e["id"].as_str().expect("id").to_owned())
}

async fn totp_flow(backend: Backend) {
    let (s, rp, app, id) = setup(backend).await;
    // Not confirmed yet: the relying party cannot use it.
    let (status, body) = rp.totp(&s, &code_at(&app, s.now_seconds())).await;
    assert_eq!((status.as_u16(), body["code"].as_str()), (409, Some("not_enrolled")), "{body}");

    let confirm = |code: String| {
        let s = &s;
        let id = id.clone();
        async move {
            s.admin_call(
                Method::POST,
                &format!("/api/v1/admin/users/alice/totp/{id}/confirm"),
                Some(json!({"code": code})),
            )
            .await
        }
    };
    let (status, body) = confirm(wrong_code(&app, s.now_seconds())).await;
    assert_eq!((status.as_u16(), body["code"].as_str()), (403, Some("invalid_code")), "{body}");
    let (status, body) = confirm(code_at(&app, s.now_seconds())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["confirmed_at"].is_string(), "{body}");

    // The step that confirmed it is used; the next step's code works once.
    s.clock.advance_seconds(30);
    let now = s.now_seconds();
    let (status, body) = rp.totp(&s, &code_at(&app, now)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["username"], "alice");
    assert_eq!(body["amr"], json!(["otp"]));
    assert_eq!(body["level"], 1);
    assert_eq!(body["method"], "totp");
    let (status, body) = rp.totp(&s, &code_at(&app, now)).await;
    assert_eq!((status.as_u16(), body["code"].as_str()), (409, Some("already_used")), "a reused code: {body}");

    // ±1 step is accepted (a clock 30 s off either way); ±2 is not.
    s.clock.advance_seconds(120);
    let now = s.now_seconds();
    let (status, body) = rp.totp(&s, &code_at(&app, now - 30)).await;
    assert_eq!(status, StatusCode::OK, "one step behind: {body}");
    let (status, body) = rp.totp(&s, &code_at(&app, now + 30)).await;
    assert_eq!(status, StatusCode::OK, "one step ahead: {body}");
    s.clock.advance_seconds(300);
    let now = s.now_seconds();
    for off in [-60, 60] {
        let code = code_at(&app, now + off);
        if [code_at(&app, now - 30), code_at(&app, now), code_at(&app, now + 30)].contains(&code) {
            continue; // a 1-in-a-million collision with an accepted step
        }
        let (status, body) = rp.totp(&s, &code).await;
        assert_eq!((status.as_u16(), body["code"].as_str()), (403, Some("invalid_code")), "{off:+} s: {body}");
    }
    // A code from before the last accepted step is refused as used, even inside the window.
    let (status, body) = rp.totp(&s, &code_at(&app, now)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = rp.totp(&s, &code_at(&app, now - 30)).await;
    assert_eq!((status.as_u16(), body["code"].as_str()), (409, Some("already_used")), "{body}");

    // Ten wrong codes in a row lock the credential for ten minutes, right codes included.
    s.clock.advance_seconds(90);
    for _ in 0..10 {
        let (status, body) = rp.totp(&s, &wrong_code(&app, s.now_seconds())).await;
        assert_eq!((status.as_u16(), body["code"].as_str()), (403, Some("invalid_code")), "{body}");
    }
    let (status, body) = rp.totp(&s, &code_at(&app, s.now_seconds())).await;
    assert_eq!((status.as_u16(), body["code"].as_str()), (429, Some("locked")), "{body}");
    assert_eq!(body["retry_after_seconds"], 600);
    assert_eq!(body["__retry_after"], "600");
    let (_, factors) = s.admin_call(Method::GET, "/api/v1/admin/users/alice/factors", None).await;
    assert_eq!(
        (factors["totp"][0]["failures"].as_i64(), factors["totp"][0]["locked"].as_bool()),
        (Some(10), Some(true))
    );
    assert!(factors["totp"][0].get("secret").is_none() && factors["totp"][0].get("secret_sealed").is_none());
    s.clock.advance_seconds(601);
    let (status, body) = rp.totp(&s, &code_at(&app, s.now_seconds())).await;
    assert_eq!(status, StatusCode::OK, "unlocked after ten minutes: {body}");

    // Audited: enrolment, confirmation, verifications, failures, the lock.
    let events = s.events("limit=500").await;
    let count = |a: &str| events.iter().filter(|e| e["event"]["action"] == a).count();
    assert_eq!(count("credential.totp.enrolled"), 1);
    assert_eq!(count("credential.totp.confirmed"), 1);
    assert_eq!(count("credential.totp.confirm_failed"), 1);
    assert_eq!(count("auth.totp.verified"), 5);
    assert_eq!(count("auth.totp.replayed"), 2);
    assert_eq!(count("auth.totp.locked"), 1);
    assert!(count("auth.totp.failed") >= 12);

    // The seed is stored encrypted: the row holds neither the raw nor the base32 seed.
    let cred = s.store.totp_credential(&id).await.expect("read").expect("some");
    let raw = app.secret.clone();
    assert!(!cred.secret_sealed.windows(raw.len()).any(|w| w == raw.as_slice()), "the raw seed is not stored");
    assert_eq!(cred.secret_sealed.len(), 24 + raw.len() + 16, "nonce, ciphertext, tag");

    // Deleted, it no longer verifies.
    let (status, _) = s.admin_call(Method::DELETE, &format!("/api/v1/admin/users/alice/totp/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = rp.totp(&s, &code_at(&app, s.now_seconds() + 30)).await;
    assert_eq!((status.as_u16(), body["code"].as_str()), (409, Some("not_enrolled")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_enrol_confirm_verify_on_sqlite() {
    totp_flow(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_enrol_confirm_verify_on_postgres() {
    totp_flow(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_codes_work_once_and_are_replaced() {
    let s = TestServer::start().await;
    s.admin.add_user("alice", None, None).await.expect("user");
    let rp = Rp {
        key: s.admin.add_app("bank", "relying_party").await.expect("app")["key"].as_str().expect("key").to_owned(),
    };
    let verify =
        |code: &str| rp.post(&s, "/api/v1/factors/recovery-codes/verify", json!({"username": "alice", "code": code}));
    let (status, body) = verify("aaaaa-bbbbb-ccccc-ddddd-eeeee-f").await;
    assert_eq!((status.as_u16(), body["code"].as_str()), (409, Some("not_enrolled")), "{body}");

    let (status, body) = s.admin_call(Method::POST, "/api/v1/admin/users/alice/recovery-codes", None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let codes: Vec<String> = serde_json::from_value(body["codes"].clone()).expect("codes");
    assert_eq!(codes.len(), 10);
    assert_eq!(codes.iter().collect::<std::collections::HashSet<_>>().len(), 10, "all different");

    // Typed in upper case with spaces, it still works; the second time it does not.
    let (status, body) = verify(&codes[0].to_uppercase().replace('-', " ")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["method"].as_str(), body["recovery_codes_left"].as_i64()), (Some("recovery_code"), Some(9)));
    let (status, body) = verify(&codes[0]).await;
    assert_eq!((status.as_u16(), body["code"].as_str()), (403, Some("invalid_code")), "used: {body}");
    let (status, _) = verify("not a code").await;
    assert_eq!(status.as_u16(), 403);

    // A new set replaces the old one.
    let (_, body) = s.admin_call(Method::POST, "/api/v1/admin/users/alice/recovery-codes", None).await;
    let fresh: Vec<String> = serde_json::from_value(body["codes"].clone()).expect("codes");
    let (status, _) = verify(&codes[1]).await;
    assert_eq!(status.as_u16(), 403, "the old set is gone");
    let (status, body) = verify(&fresh[3]).await;
    assert_eq!((status, body["recovery_codes_left"].as_i64()), (StatusCode::OK, Some(9)));
    let (_, factors) = s.admin_call(Method::GET, "/api/v1/admin/users/alice/factors", None).await;
    assert_eq!(factors["recovery_codes_left"], 9);

    // Only relying parties verify; a verifier key may not.
    let verifier = s.admin.add_app("gate", "verifier").await.expect("app")["key"].as_str().expect("key").to_owned();
    let (status, body) = Rp { key: verifier }
        .post(&s, "/api/v1/factors/recovery-codes/verify", json!({"username": "alice", "code": fresh[4]}))
        .await;
    assert_eq!((status.as_u16(), body["code"].as_str()), (403, Some("forbidden")), "{body}");
    let events = s.events("limit=200").await;
    assert_eq!(events.iter().filter(|e| e["event"]["action"] == "auth.recovery_code.used").count(), 2);
    assert_eq!(events.iter().filter(|e| e["event"]["action"] == "credential.recovery_codes.generated").count(), 2);
}
