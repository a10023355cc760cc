//! Login-time risk over HTTP (issue 19, docs/risk.md): a relying party's password check and
//! the hosted login page are judged OK / REVIEW / NG by the tenant's policy. A listed
//! address is refused with the same words as any refusal (the reasons only in the audit
//! event, read back by the explain API); too many attempts in the window are refused until
//! it passes (test clock); a REVIEW asks for a factor of another kind and one that cannot be
//! satisfied is refused; dry-run records and does not enforce; the policy is versioned,
//! checked with the key named, and audited.

use reqwest::{Method, StatusCode};
use sekimori_gate::risk::RiskInputs;
use sekimori_risk::{AddressList, GeoDb, Reputation};
use serde_json::{json, Value};
use std::sync::Arc;
use totp_rs::TOTP;

use crate::harness::{Backend, Rp, TestServer};
use crate::login::{with_password, Browser};

async fn rp(s: &TestServer) -> Rp {
    let key = s.admin.add_app("bank", "relying_party").await.expect("app")["key"].as_str().expect("key").to_owned();
    Rp { key }
}

async fn verify(s: &TestServer, rp: &Rp, ip: &str) -> (StatusCode, Value) {
    let client = json!({"ip": ip, "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"});
    rp.post(
        s,
        "/api/v1/factors/password/verify",
        json!({"username": "alice", "password": "kumamoto42", "client": client}),
    )
    .await
}

fn list(name: &str, weight: u32, text: &str) -> AddressList {
    AddressList::parse(name, weight, text).expect("list")
}

/// Enrols and confirms TOTP for `user`, then moves the clock past the confirming code's
/// step; the generator gives the code at the server's time.
pub(crate) async fn enrol_totp(s: &TestServer, user: &str) -> TOTP {
    let (_, e) = s.admin_call(Method::POST, &format!("/api/v1/admin/users/{user}/totp"), None).await;
    let totp = TOTP::from_url(e["otpauth_uri"].as_str().expect("uri")).expect("uri");
    let path = format!("/api/v1/admin/users/{user}/totp/{}/confirm", e["id"].as_str().expect("id"));
    let code = totp.generate(u64::try_from(s.now_seconds()).expect("time"));
    assert_eq!(s.admin_call(Method::POST, &path, Some(json!({"code": code}))).await.0, StatusCode::OK);
    s.clock.advance_seconds(30);
    totp
}

/// The code of `totp` at the server's time.
pub(crate) fn code_now(s: &TestServer, totp: &TOTP) -> String {
    totp.generate(u64::try_from(s.now_seconds()).expect("time"))
}

/// Approves, on `device`, the newest push challenge with the number `page` shows.
async fn approve_shown(page: &crate::login::Page, device: &sekimori_client::Authenticator) {
    let at = page.body.find("data-number=\"").expect("the number is shown") + 13;
    let number: i64 = page.body[at..].split('"').next().expect("number").parse().expect("digits");
    let msgs = device.messages(0).await.expect("messages");
    let challenge = msgs.iter().rev().find(|m| m["type"] == "push_login").expect("a challenge");
    device.approve(challenge["login_id"].as_str().expect("id"), number).await.expect("approve");
}

async fn set_policy(s: &TestServer, base: i64, policy: Value) -> (StatusCode, Value) {
    s.admin_call(Method::PUT, "/api/v1/admin/risk/policy", Some(json!({"base_version": base, "policy": policy}))).await
}

async fn explain(s: &TestServer, attempt: &Value) -> Value {
    let (status, body) = s.admin_call(Method::GET, &format!("/api/v1/admin/risk/attempts/{attempt}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn listed_and_fast_attempts(backend: Backend) {
    let s = TestServer::start_on(backend).await;
    with_password(&s, "alice").await;
    let rp = rp(&s).await;
    s.gate.risk().set_inputs(RiskInputs {
        reputation: Reputation::new(vec![
            list("tor-exits", 60, "ExitNode 00AA\nExitAddress 203.0.113.66 2026-12-05 10:00:00\n"),
            list("blocklist", 90, "# known bad\n198.51.100.0/24\n"),
        ]),
        ..RiskInputs::default()
    });

    // From an ordinary address: OK, and the relying party learns only that.
    let (status, ok) = verify(&s, &rp, "192.0.2.10").await;
    assert_eq!(status, StatusCode::OK, "{ok}");
    assert_eq!((ok["risk"]["decision"].as_str(), ok["risk"]["step_up"].as_bool()), (Some("OK"), Some(false)));
    assert!(ok["risk"].get("reasons").is_none(), "no reasons to the relying party: {ok}");

    // From a Tor exit: refused, with the generic words; the reasons are in the audit event.
    let (status, ng) = verify(&s, &rp, "203.0.113.66").await;
    assert_eq!((status.as_u16(), ng["code"].as_str()), (403, Some("login_not_allowed")), "{ng}");
    assert_eq!(ng["detail"], "this login was refused");
    let judged = s.events("action=auth.risk.assessed").await;
    let last = judged.iter().find(|e| e["source"]["ip"] == "203.0.113.66").expect("the refused attempt");
    assert_eq!(last["sekimori"]["risk"]["decision"], "NG");
    assert_eq!(last["sekimori"]["risk"]["rule"], "listed address");
    assert_eq!(last["sekimori"]["risk"]["reasons"], json!(["new_environment", "listed_address"]));
    assert_eq!(last["event"]["outcome"], "failure");
    // The explain API reads the attempt back with each signal's share.
    let seq = last["sekimori"]["audit"]["seq"].clone();
    let why = explain(&s, &seq).await;
    assert_eq!((why["decision"].as_str(), why["method"].as_str()), (Some("NG"), Some("password")), "{why}");
    let listed = why["contributions"].as_array().expect("contributions");
    assert!(listed
        .iter()
        .any(|c| c["signal"] == "listed_address" && c["points"] == 60 && c["detail"] == "lists=tor-exits"));
    let (status, missing) = s.admin_call(Method::GET, "/api/v1/admin/risk/attempts/999999", None).await;
    assert_eq!((status.as_u16(), missing["code"].as_str()), (404, Some("not_found")));

    // Velocity: the default policy allows 10 attempts per user per minute; the 11th within
    // the window is refused, and the next minute it is allowed again.
    for i in 0..8 {
        let (status, body) = verify(&s, &rp, "192.0.2.10").await;
        assert_eq!(status, StatusCode::OK, "attempt {i}: {body}");
    }
    let (status, fast) = verify(&s, &rp, "192.0.2.10").await;
    assert_eq!((status.as_u16(), fast["code"].as_str()), (403, Some("login_not_allowed")), "{fast}");
    let refused = s.events("action=auth.risk.assessed").await;
    assert!(refused.iter().any(|e| e["sekimori"]["risk"]["rule"] == "too many attempts for the user"));
    s.clock.advance_seconds(61);
    assert_eq!(verify(&s, &rp, "192.0.2.10").await.0, StatusCode::OK, "a new window");

    // Dry run: the same Tor exit is recorded as NG but let through.
    let (status, body) = s.admin_call(Method::GET, "/api/v1/admin/risk/policy", None).await;
    assert_eq!((status, body["version"].as_i64()), (StatusCode::OK, Some(0)), "{body}");
    let mut policy = body["policy"].clone();
    policy["dry_run"] = json!(true);
    let (status, written) = set_policy(&s, 0, policy.clone()).await;
    assert_eq!((status, written["version"].as_i64()), (StatusCode::OK, Some(1)), "{written}");
    let (status, through) = verify(&s, &rp, "203.0.113.66").await;
    assert_eq!(status, StatusCode::OK, "dry run does not enforce: {through}");
    let judged = s.events("action=auth.risk.assessed").await;
    let dry = judged.iter().find(|e| e["sekimori"]["risk"]["enforced"] == false).expect("a dry-run verdict");
    assert_eq!(
        (dry["sekimori"]["risk"]["decision"].as_str(), dry["sekimori"]["risk"]["policy_version"].as_i64()),
        (Some("NG"), Some(1))
    );

    // The policy is checked (the key named), versioned (a stale base is a conflict) and audited.
    let (status, bad) = set_policy(&s, 1, json!({"review_at": 50, "ng_at": 10})).await;
    assert_eq!((status.as_u16(), bad["field"].as_str()), (400, Some("ng_at")), "{bad}");
    let (status, bad) = set_policy(&s, 1, json!({"weights": {"moon_phase": 5}})).await;
    assert_eq!(status.as_u16(), 400, "{bad}");
    assert!(bad["detail"].as_str().is_some_and(|d| d.contains("moon_phase")), "{bad}");
    let (status, stale) = set_policy(&s, 0, policy).await;
    assert_eq!((status.as_u16(), stale["current_version"].as_i64()), (409, Some(1)), "{stale}");
    assert_eq!(s.events("action=admin.risk_policy.updated").await.len(), 1);
}

#[tokio::test]
async fn listed_addresses_and_fast_attempts_are_refused_and_dry_run_only_records_on_sqlite() {
    listed_and_fast_attempts(Backend::Sqlite).await;
}

#[tokio::test]
async fn listed_addresses_and_fast_attempts_are_refused_and_dry_run_only_records_on_postgres() {
    listed_and_fast_attempts(Backend::Postgres).await;
}

/// A policy that asks for a second factor from any environment the user has not logged
/// in from.
fn review_new_environments() -> Value {
    json!({
        "rules": [{"name": "new environment", "when": ["new_environment"], "decision": "REVIEW"}],
        "review_at": 1000, "ng_at": 1000
    })
}

#[tokio::test]
async fn a_review_asks_for_another_factor_and_one_that_cannot_be_given_is_refused() {
    let s = TestServer::start_on(Backend::Sqlite).await;
    with_password(&s, "alice").await;
    with_password(&s, "bob").await;
    let rp = rp(&s).await;
    assert_eq!(set_policy(&s, 0, review_new_environments()).await.0, StatusCode::OK);

    // Over the API the relying party is told to step up; the reasons stay with Sekimori.
    let (status, body) = verify(&s, &rp, "192.0.2.20").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["risk"]["decision"].as_str(), body["risk"]["step_up"].as_bool()), (Some("REVIEW"), Some(true)));

    // On the hosted page, bob has no second factor: the REVIEW cannot be satisfied.
    let mut b = Browser::new(&s);
    let refused = b.login("bob", "kumamoto42", "/app").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(!b.jar.contains_key("sekimori_session"));

    // Alice has TOTP: she is asked for it, and once she has given it the environment is
    // known, so her next password from the same browser is OK.
    let app = enrol_totp(&s, "alice").await;
    let asked = b.login("alice", "kumamoto42", "/app").await;
    assert!(asked.body.contains("action=\"/login/factor\""), "{}", asked.body);
    let csrf = asked.csrf();
    let code = app.generate(u64::try_from(s.now_seconds()).expect("time"));
    let done =
        b.post("/login/factor", &[("csrf", &csrf), ("code", &code), ("return_to", "/app"), ("level", "1")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    s.clock.advance_seconds(30);
    let mut again = Browser::new(&s);
    again.login("alice", "kumamoto42", "/app").await;
    let judged = s.events("action=auth.risk.assessed").await;
    let mut hosted: Vec<&Value> =
        judged.iter().filter(|e| e["user"]["name"] == "alice" && e["source"]["ip"] == "127.0.0.1").collect();
    hosted.sort_by_key(|e| e["sekimori"]["audit"]["seq"].as_i64());
    let decisions: Vec<&Value> = hosted.iter().map(|e| &e["sekimori"]["risk"]["decision"]).collect();
    assert_eq!(decisions, [&json!("REVIEW"), &json!("OK")], "{hosted:?}");
    assert_eq!(hosted[1]["sekimori"]["environment"]["known"], true);
}

/// After a password judged REVIEW, a user whose only other factor is their authenticator
/// approves a push as the second factor on the hosted page's factor form; the session has
/// both methods. A second-factor push without the page's half-done login is refused.
#[tokio::test]
async fn a_review_after_a_password_is_satisfied_by_an_approval_on_the_authenticator() {
    let s = TestServer::start_on(Backend::Sqlite).await;
    let carol = s.enrolled("carol").await;
    let pw = json!({"password": "kumamoto42"});
    assert_eq!(
        s.admin_call(Method::PUT, "/api/v1/admin/users/carol/password", Some(pw)).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(set_policy(&s, 0, review_new_environments()).await.0, StatusCode::OK);

    // No pending login: a "second factor" push is refused, and the phone is not disturbed.
    let mut stranger = Browser::new(&s);
    let csrf = stranger.get("/login").await.csrf();
    let form =
        [("csrf", csrf.as_str()), ("username", "carol"), ("second", "true"), ("return_to", "/app"), ("level", "1")];
    assert_eq!(stranger.post("/login/push", &form).await.status, StatusCode::UNAUTHORIZED);

    let mut b = Browser::new(&s);
    let asked = b.login("carol", "kumamoto42", "/app").await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    assert!(asked.body.contains("name=\"second\" value=\"true\""), "the push option: {}", asked.body);
    carol.standby().await.expect("arm");
    let csrf = asked.csrf();
    let form =
        [("csrf", csrf.as_str()), ("username", "carol"), ("second", "true"), ("return_to", "/app"), ("level", "1")];
    let waiting = b.post("/login/push", &form).await;
    assert_eq!(waiting.status, StatusCode::OK, "{}", waiting.body);
    approve_shown(&waiting, &carol).await;
    let done = b.get("/login/push/wait?return_to=/app&level=1").await;
    assert_eq!((done.status, done.location()), (StatusCode::SEE_OTHER, "/app"), "{}", done.body);
    let (_, me) = b.whoami().await;
    assert_eq!((me["level"].as_u64(), me["amr"].clone()), (Some(2), json!(["pwd", "push", "mfa"])), "{me}");
}

/// A geolocation database in the MaxMind DB format, as GeoLite2 City lays it out: Tokyo,
/// São Paulo and Berlin networks, each with its ASN.
fn geo_db() -> GeoDb {
    let mut w = mmdb_writer::Writer::new("Test-GeoLite2-City");
    for (net, iso, lat, lon, asn) in [
        ("192.0.2.0/24", "JP", 35.68, 139.69, 64500u32),
        ("198.51.100.0/24", "BR", -23.55, -46.63, 64501),
        ("203.0.113.0/24", "DE", 52.52, 13.40, 64502),
    ] {
        let record = json!({
            "country": {"iso_code": iso},
            "location": {"latitude": lat, "longitude": lon},
            "autonomous_system_number": asn
        });
        w.insert(net.parse::<ipnet::IpNet>().expect("net"), &record).expect("insert");
    }
    GeoDb::from_bytes(w.to_bytes().expect("bytes")).expect("a MaxMind DB")
}

/// Waits (real time: the audit follower runs every second) until alice's behaviour profile
/// has taken in `events` events.
async fn profile_has(s: &TestServer, events: u64) -> Value {
    let tenant = sekimori_core::TenantId::new(s.tenant_id.as_str());
    for _ in 0..100 {
        let rows = s.store.behaviour_profiles(&tenant, &["user:alice".to_owned()]).await.expect("profiles");
        if let Some((_, json)) = rows.first() {
            let p: Value = serde_json::from_str(json).expect("profile json");
            if p["events"].as_u64().is_some_and(|n| n >= events) {
                return p;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("alice's profile did not reach {events} events");
}

async fn verify_as(s: &TestServer, rp: &Rp, ip: &str, ua: &str) -> (StatusCode, Value) {
    let body = json!({"username": "alice", "password": "kumamoto42", "client": {"ip": ip, "user_agent": ua}});
    rp.post(s, "/api/v1/factors/password/verify", body).await
}

fn last_verdict(events: &[Value]) -> &Value {
    events
        .iter()
        .max_by_key(|e| e["sekimori"]["audit"]["seq"].as_i64())
        .map(|e| &e["sekimori"]["risk"])
        .expect("a verdict")
}

/// The scenarios of issue 19 with a geolocation database: a known user in a known place is
/// OK; Tokyo then São Paulo thirty minutes later is impossible travel (REVIEW); a new
/// environment in a new country is REVIEW; the countries and places are learned by the
/// same behaviour profile detection keeps, from Sekimori's own audit events.
#[tokio::test]
async fn geolocation_finds_new_countries_and_impossible_travel() {
    let s = TestServer::start_on(Backend::Sqlite).await;
    with_password(&s, "alice").await;
    let rp = rp(&s).await;
    s.gate.risk().set_inputs(RiskInputs { geo: Some(Arc::new(geo_db())), ..RiskInputs::default() });
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

    // Day 0, Tokyo: a first login (a new environment alone is not enough to ask for more).
    let (status, body) = verify_as(&s, &rp, "192.0.2.10", firefox).await;
    assert_eq!((status, body["risk"]["decision"].as_str()), (StatusCode::OK, Some("OK")), "{body}");
    let judged = s.events("action=auth.risk.assessed").await;
    assert_eq!(judged[0]["source"]["geo"]["country_iso_code"], "JP", "the event carries the place: {:?}", judged[0]);
    assert_eq!(judged[0]["source"]["as"]["number"], 64500);
    let before = profile_has(&s, 1).await["events"].as_u64().expect("events");

    // Day 8, Tokyo again: the profile has learned; a known user in a known place is OK.
    s.clock.advance_seconds(8 * 86_400);
    let (_, body) = verify_as(&s, &rp, "192.0.2.10", firefox).await;
    assert_eq!((body["risk"]["decision"].as_str(), body["risk"]["step_up"].as_bool()), (Some("OK"), Some(false)));
    let verdict = last_verdict(&s.events("action=auth.risk.assessed").await).clone();
    assert_eq!((verdict["score"].as_u64(), verdict["reasons"].clone()), (Some(0), json!([])), "{verdict}");
    let p = profile_has(&s, before + 2).await;
    assert!(p["seen"]["country"]["JP"].is_object(), "the country is learned from the audit events: {p}");
    let before = p["events"].as_u64().expect("events");

    // Thirty minutes later, São Paulo: impossible travel, a new country and environment.
    s.clock.advance_seconds(1_800);
    let (status, body) = verify_as(&s, &rp, "198.51.100.20", firefox).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["risk"]["decision"].as_str(), body["risk"]["step_up"].as_bool()), (Some("REVIEW"), Some(true)));
    let verdict = last_verdict(&s.events("action=auth.risk.assessed").await).clone();
    assert_eq!(verdict["rule"], "impossible travel", "{verdict}");
    for signal in ["new_environment", "new_country", "new_network", "impossible_travel"] {
        assert!(verdict["reasons"].as_array().is_some_and(|r| r.contains(&json!(signal))), "{signal}: {verdict}");
    }
    let travel = verdict["contributions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["signal"] == "impossible_travel"))
        .expect("travel");
    assert!(travel["detail"].as_str().is_some_and(|d| d.starts_with("distance_km=18")), "{travel}");
    profile_has(&s, before + 2).await;

    // Two days later, Berlin, from another browser: no travel problem any more, but a new
    // environment in a new country is REVIEW by its rule.
    s.clock.advance_seconds(2 * 86_400);
    let chrome =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
    let (_, body) = verify_as(&s, &rp, "203.0.113.30", chrome).await;
    assert_eq!(body["risk"]["decision"], "REVIEW", "{body}");
    let verdict = last_verdict(&s.events("action=auth.risk.assessed").await).clone();
    assert_eq!(verdict["rule"], "new environment in a new country", "{verdict}");
    assert!(!verdict["reasons"].as_array().is_some_and(|r| r.contains(&json!("impossible_travel"))), "{verdict}");

    // The relying party steps up with TOTP, passing the same client: the login completes,
    // and the next one from Berlin in that browser is OK.
    let totp = enrol_totp(&s, "alice").await;
    let code = |s: &TestServer| code_now(s, &totp);
    let client = json!({"ip": "203.0.113.30", "user_agent": chrome});
    let (status, body) = rp
        .post(&s, "/api/v1/factors/totp/verify", json!({"username": "alice", "code": code(&s), "client": client}))
        .await;
    assert_eq!(status, StatusCode::OK, "the step-up succeeds: {body}");
    // Once the baselines have learned Berlin from the REVIEW's own event (the audit follower
    // runs every second):
    let mut learned = false;
    for _ in 0..100 {
        if profile_has(&s, 0).await["seen"]["country"]["DE"].is_object() {
            learned = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(learned, "the country is learned");
    s.clock.advance_seconds(60);
    let (_, body) = verify_as(&s, &rp, "203.0.113.30", chrome).await;
    assert_eq!(body["risk"]["decision"], "OK", "{body}");
    let verdict = last_verdict(&s.events("action=auth.risk.assessed").await).clone();
    assert!(!verdict["reasons"].as_array().is_some_and(|r| r.contains(&json!("new_environment"))), "{verdict}");
}

/// Push logins are judged before the device is disturbed: from a listed address nothing
/// reaches the phone; under a policy that asks for more from new environments the relying
/// party is told to step up after the approval; the hosted page refuses instead of sending
/// it while the user has no code to give, and once they have TOTP it asks for the code after
/// the approval.
#[tokio::test]
async fn push_logins_are_judged_before_the_phone_is_disturbed() {
    let s = TestServer::start_on(Backend::Sqlite).await;
    let alice = s.enrolled("alice").await;
    let rp = s.app("shop", "relying_party").await;
    s.gate.risk().set_inputs(RiskInputs {
        reputation: Reputation::new(vec![list("blocklist", 90, "198.51.100.0/24\n")]),
        ..RiskInputs::default()
    });
    alice.standby().await.expect("arm");
    let listed = crate::harness::client("198.51.100.7", crate::harness::FIREFOX_LINUX);
    assert_eq!(crate::harness::code(rp.start_push("alice", listed).await), "login_not_allowed");
    let challenges = |m: &[Value]| m.iter().filter(|m| m["type"] == "push_login").count();
    assert_eq!(challenges(&alice.messages(0).await.expect("messages")), 0, "nothing reached the phone");
    let judged = s.events("action=auth.risk.assessed").await;
    assert_eq!(
        (judged[0]["sekimori"]["risk"]["method"].as_str(), judged[0]["sekimori"]["risk"]["decision"].as_str()),
        (Some("push"), Some("NG"))
    );

    // From an ordinary address: OK, sent.
    let ok =
        rp.start_push("alice", crate::harness::client("192.0.2.5", crate::harness::FIREFOX_LINUX)).await.expect("push");
    assert_eq!((ok["risk"]["decision"].as_str(), ok["risk"]["step_up"].as_bool()), (Some("OK"), Some(false)), "{ok}");
    assert_eq!(challenges(&alice.messages(0).await.expect("messages")), 1);

    // A policy that asks for more from new environments: the relying party is told.
    assert_eq!(set_policy(&s, 0, review_new_environments()).await.0, StatusCode::OK);
    let review =
        rp.start_push("alice", crate::harness::client("203.0.113.5", crate::harness::CHROME_MAC)).await.expect("push");
    assert_eq!(
        (review["risk"]["decision"].as_str(), review["risk"]["step_up"].as_bool()),
        (Some("REVIEW"), Some(true))
    );
    // The hosted page cannot ask for a second factor after a push: it refuses, and the
    // phone is not disturbed.
    let before = challenges(&alice.messages(0).await.expect("messages"));
    let mut b = Browser::new(&s);
    let csrf = b.get("/login").await.csrf();
    let page =
        b.post("/login/push", &[("csrf", &csrf), ("username", "alice"), ("return_to", "/app"), ("level", "1")]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert_eq!(challenges(&alice.messages(0).await.expect("messages")), before);

    // With TOTP the REVIEW can be satisfied: the push is sent, and after the approval the
    // page asks for the code before the session.
    let totp = enrol_totp(&s, "alice").await;
    let code = |s: &TestServer| code_now(s, &totp);
    let csrf = b.get("/login").await.csrf();
    let waiting =
        b.post("/login/push", &[("csrf", &csrf), ("username", "alice"), ("return_to", "/app"), ("level", "1")]).await;
    assert_eq!(waiting.status, StatusCode::OK, "{}", waiting.body);
    approve_shown(&waiting, &alice).await;
    let asked = b.get("/login/push/wait?return_to=/app&level=1").await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    assert!(asked.body.contains("action=\"/login/factor\""), "the code is asked for: {}", asked.body);
    assert!(!b.jar.contains_key("sekimori_session"), "no session before the code");
    let csrf = asked.csrf();
    let done =
        b.post("/login/factor", &[("csrf", &csrf), ("code", &code(&s)), ("return_to", "/app"), ("level", "1")]).await;
    assert_eq!((done.status, done.location()), (StatusCode::SEE_OTHER, "/app"), "{}", done.body);
    let (_, me) = b.whoami().await;
    assert_eq!(me["amr"], json!(["push", "mfa", "otp"]), "{me}");
}

/// The problem's code and `reason` of a refused call.
fn refusal<T: std::fmt::Debug>(r: Result<T, sekimori_client::ClientError>) -> (String, Value) {
    match r {
        Err(sekimori_client::ClientError::Problem(p)) => (p.code.clone(), p.body["reason"].clone()),
        other => panic!("expected a problem, got {other:?}"),
    }
}

/// Push fatigue and "not me": three push logins denied in a row suspend push approvals for
/// a while (the fourth push is refused before the phone is disturbed) and an approval ends
/// a run of denials; "not me" on a challenge denies it, suspends push, raises the required
/// level to 3, writes an event the detection rules can alert on, and tells the user.
#[tokio::test]
async fn denials_in_a_row_and_not_me_suspend_push_and_raise_the_level() {
    let s = TestServer::start_on(Backend::Sqlite).await;
    let alice = s.enrolled("alice").await;
    let bob = s.enrolled("bob").await;
    let rp = s.app("shop", "relying_party").await;
    let start = |user: &'static str| {
        let rp = &rp;
        async move { rp.start_push(user, crate::harness::client("192.0.2.5", crate::harness::FIREFOX_LINUX)).await }
    };
    let id = |v: &Value| v["login_id"].as_str().expect("id").to_owned();

    // Two denials, an approval (the run ends), then three denials in a row.
    for _ in 0..2 {
        alice.standby().await.expect("arm");
        alice.deny(&id(&start("alice").await.expect("push"))).await.expect("deny");
    }
    alice.standby().await.expect("arm");
    let p = start("alice").await.expect("push");
    alice.approve(&id(&p), p["number"].as_i64().expect("number")).await.expect("approve");
    assert!(s.events("action=auth.push.fatigue").await.is_empty(), "an approval ended the run");
    for _ in 0..3 {
        alice.standby().await.expect("arm");
        alice.deny(&id(&start("alice").await.expect("push"))).await.expect("deny");
    }
    let fatigue = s.events("action=auth.push.fatigue").await;
    assert_eq!(fatigue.len(), 1, "{fatigue:?}");
    assert_eq!(fatigue[0]["sekimori"]["push"]["denials"], 3);
    alice.standby().await.expect("arm");
    assert_eq!(refusal(start("alice").await), ("login_not_allowed".to_owned(), json!("push_suspended")));
    let (_, list) = s.admin_call(Method::GET, "/api/v1/admin/overrides", None).await;
    let suspended = list.as_array().and_then(|l| l.iter().find(|o| o["username"] == "alice")).expect("an override");
    assert_eq!(
        (suspended["action"].as_str(), suspended["reason"].as_str()),
        (Some("suspend_push"), Some("3 push logins denied in a row"))
    );
    // The user is told on the authenticator.
    let notices = alice.messages(0).await.expect("messages");
    assert!(notices.iter().any(|m| m["type"] == "security_notice"), "{notices:?}");
    // Fifteen minutes later push works again.
    s.clock.advance_seconds(15 * 60 + 1);
    alice.standby().await.expect("arm");
    start("alice").await.expect("push again");

    // Bob did not start this one: "not me".
    bob.standby().await.expect("arm");
    let p = start("bob").await.expect("push");
    bob.deny_not_me(&id(&p)).await.expect("not me");
    let reported = s.events("action=auth.push.reported").await;
    assert_eq!((reported.len(), reported[0]["user"]["name"].as_str()), (1, Some("bob")));
    let (_, list) = s.admin_call(Method::GET, "/api/v1/admin/overrides", None).await;
    let bobs: Vec<&Value> = list.as_array().expect("list").iter().filter(|o| o["username"] == "bob").collect();
    let mut actions: Vec<&str> = bobs.iter().filter_map(|o| o["action"].as_str()).collect();
    actions.sort_unstable();
    assert_eq!(actions, ["raise_level", "suspend_push"], "{bobs:?}");
    assert!(bobs.iter().any(|o| o["level"] == 3));
    bob.standby().await.expect("arm");
    assert_eq!(refusal(start("bob").await), ("login_not_allowed".to_owned(), json!("push_suspended")));

    // The built-in rules raise alerts from these events (the audit follower runs every
    // second, in real time): "not me" for Bob, push fatigue for Alice.
    let mut titles: Vec<(String, String)> = Vec::new();
    for _ in 0..100 {
        let (_, alerts) = s.admin_call(Method::GET, "/api/v1/admin/alerts", None).await;
        titles = alerts
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| Some((a["title"].as_str()?.to_owned(), a["entities"]["user"].as_str()?.to_owned())))
            .collect();
        if titles.iter().filter(|(t, _)| t.starts_with("Push ")).count() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    titles.retain(|(t, _)| t.starts_with("Push "));
    titles.sort();
    assert_eq!(
        titles,
        [
            ("Push Approvals Suspended After Repeated Denials".to_owned(), "alice".to_owned()),
            ("Push Login Reported As Not Me".to_owned(), "bob".to_owned())
        ],
        "built-in rules alerted"
    );
}

/// A QR login is judged when the browser collects its session: from a listed address the
/// assertion is refused (and stays unused); from an ordinary one the same kind of login
/// completes.
#[tokio::test]
async fn qr_logins_are_judged_when_the_browser_collects_the_session() {
    let s = TestServer::start_on(Backend::Sqlite).await;
    let alice = s.enrolled("alice").await;
    let collect = |assertion: String| {
        let s = &s;
        async move {
            let resp = s
                .http()
                .post(format!("{}/api/v1/session/assertion", s.url))
                .header("origin", &s.url)
                .json(&json!({"assertion": assertion}))
                .send()
                .await
                .expect("send");
            let status = resp.status();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    // The test's browser is 127.0.0.1: put it on a list.
    s.gate.risk().set_inputs(RiskInputs {
        reputation: Reputation::new(vec![list("loopback", 90, "127.0.0.0/8\n")]),
        ..RiskInputs::default()
    });
    let (status, body) = collect(s.qr_login(&alice).await).await;
    assert_eq!((status.as_u16(), body["code"].as_str()), (403, Some("login_not_allowed")), "{body}");
    let judged = s.events("action=auth.risk.assessed").await;
    assert_eq!(
        (judged[0]["sekimori"]["risk"]["method"].as_str(), judged[0]["sekimori"]["risk"]["decision"].as_str()),
        (Some("qr"), Some("NG"))
    );
    assert!(s.events("action=auth.session.created").await.is_empty());

    s.gate.risk().set_inputs(RiskInputs::default());
    let (status, body) = collect(s.qr_login(&alice).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(s.events("action=auth.session.created").await.len(), 1);
}

/// A QR login collected by a relying party's page (the JS snippet) is judged when the
/// relying party verifies its assertion, with the end user's client as it saw it: a listed
/// address is refused and the assertion stays unused, so the same assertion verifies from
/// the user's real client; the browser's signals and review id come along.
#[tokio::test]
async fn snippet_qr_logins_are_judged_when_the_relying_party_verifies_the_assertion() {
    let s = TestServer::start_on(Backend::Sqlite).await;
    let alice = s.enrolled("alice").await;
    let shop = rp(&s).await;
    s.gate.risk().set_inputs(RiskInputs {
        reputation: Reputation::new(vec![list("blocklist", 90, "198.51.100.0/24\n")]),
        ..RiskInputs::default()
    });
    let assertion = s.qr_login(&alice).await;
    let verify = |ip: &'static str| {
        let (s, shop, assertion) = (&s, &shop, assertion.clone());
        async move {
            let client = json!({"ip": ip, "user_agent": "Mozilla/5.0 Firefox/133.0",
                                "signals": {"webdriver": false, "pointer_moved": true},
                                "review_id": "rv-0123456789abcdef"});
            shop.post(s, "/api/v1/assertions/verify", json!({"assertion": assertion, "client": client})).await
        }
    };
    let (status, body) = verify("198.51.100.7").await;
    assert_eq!((status.as_u16(), body["code"].as_str()), (403, Some("login_not_allowed")), "{body}");
    let (status, body) = verify("192.0.2.10").await;
    assert_eq!(status, StatusCode::OK, "the refused assertion stayed unused: {body}");
    assert_eq!((body["username"].as_str(), body["level"].as_i64()), (Some("alice"), Some(3)));
    let judged = s.events("action=auth.risk.assessed").await;
    let qr: Vec<&Value> = judged.iter().filter(|e| e["sekimori"]["risk"]["method"] == "qr").collect();
    let decisions: Vec<&str> = qr.iter().filter_map(|e| e["sekimori"]["risk"]["decision"].as_str()).collect();
    assert_eq!(decisions.len(), 2, "{qr:?}");
    assert!(decisions.contains(&"NG") && decisions.contains(&"OK"), "{decisions:?}");
    assert!(qr.iter().all(|e| e["sekimori"]["risk"]["review_id"] == "rv-0123456789abcdef"), "{qr:?}");
    let (status, body) = shop
        .post(&s, "/api/v1/assertions/verify", json!({"assertion": assertion, "client": {"review_id": "short"}}))
        .await;
    assert_eq!((status.as_u16(), body["code"].as_str()), (400, Some("invalid_request")), "{body}");
}

/// "Not me" on a new-environment warning: the warning is dismissed, push approvals are
/// suspended and the required level raised to 3, and `auth.environment.reported` is
/// written; a push challenge cannot be reported this way.
#[tokio::test]
async fn a_new_environment_warning_reported_as_not_me_locks_push_and_raises_the_level() {
    let s = TestServer::start_on(Backend::Sqlite).await;
    let carol = s.enrolled("carol").await;
    let rp = s.app("shop", "relying_party").await;
    carol.standby().await.expect("arm");
    rp.start_push("carol", crate::harness::client("203.0.113.44", crate::harness::CHROME_MAC)).await.expect("push");
    let messages = carol.messages(0).await.expect("messages");
    let warning = messages.iter().find(|m| m["type"] == "environment_warning").expect("a new-environment warning");
    let challenge = messages.iter().find(|m| m["type"] == "push_login").expect("the challenge");
    let refused = carol.report_warning(challenge["id"].as_str().expect("id")).await;
    assert_eq!(crate::harness::code(refused), "invalid_request");
    carol.report_warning(warning["id"].as_str().expect("id")).await.expect("reported");
    let reported = s.events("action=auth.environment.reported").await;
    assert_eq!((reported.len(), reported[0]["user"]["name"].as_str()), (1, Some("carol")));
    let (_, list) = s.admin_call(Method::GET, "/api/v1/admin/overrides", None).await;
    let mut actions: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .filter(|o| o["username"] == "carol")
        .filter_map(|o| o["action"].as_str())
        .collect();
    actions.sort_unstable();
    assert_eq!(actions, ["raise_level", "suspend_push"]);
    let left = carol.messages(0).await.expect("messages");
    assert!(!left.iter().any(|m| m["id"] == warning["id"]), "the warning is gone");
}
