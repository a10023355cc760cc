//! Passkeys over HTTP with a software authenticator (`webauthn-authenticator-rs`'s soft
//! passkey): a signed-in user registers one, then logs in with it alone and gets a level-3
//! session; the ceremony cannot be answered twice, an answer made for another origin is
//! refused, an unknown username looks like none, and an admin can list and delete passkeys.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url, WebauthnAuthenticator,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

use crate::harness::{Backend, TestServer};
use crate::login::{with_password, Browser};

/// A server whose passkey relying party is `localhost` (WebAuthn needs a domain), and the
/// origin the browser would be on.
async fn server() -> (TestServer, Url) {
    let mut origin = None;
    let s = TestServer::start_configured(Backend::Sqlite, None, |g| {
        let port = g.public_url.rsplit(':').next().expect("port").to_owned();
        let o = format!("http://localhost:{port}");
        g.passkey.rp_id = Some("localhost".into());
        g.passkey.origins = vec![o.clone()];
        origin = Some(o);
    })
    .await;
    let origin = Url::parse(&origin.expect("origin")).expect("url");
    (s, origin)
}

/// A JSON POST with the browser's cookies: (status, body, Set-Cookie session value).
async fn post(s: &TestServer, b: &Browser, path: &str, body: Value) -> (StatusCode, Value, Option<String>) {
    let cookies = b.jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    let resp =
        s.http().post(format!("{}{path}", s.url)).header("cookie", cookies).json(&body).send().await.expect("send");
    let status = resp.status();
    let session = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("sekimori_session="))
        .map(|c| c.split(';').next().unwrap_or("").to_owned());
    (status, resp.json().await.unwrap_or(Value::Null), session)
}

async fn register(s: &TestServer, b: &Browser, key: &mut WebauthnAuthenticator<SoftPasskey>, origin: &Url) -> Value {
    let (status, started, _) = post(s, b, "/api/v1/session/passkeys/register/start", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let options: CreationChallengeResponse = serde_json::from_value(started["options"].clone()).expect("options");
    assert_eq!(options.public_key.rp.id, "localhost");
    let credential = key.do_registration(origin.clone(), options).expect("the authenticator registers");
    let body = json!({"ceremony": started["ceremony"], "credential": credential, "name": "soft key"});
    let (status, done, _) = post(s, b, "/api/v1/session/passkeys/register/finish", body).await;
    assert_eq!(status, StatusCode::CREATED, "{done}");
    done
}

/// A login with alice's passkey alone, from browser `b`: (status, body, session cookie).
async fn passkey_alone(
    s: &TestServer,
    b: &Browser,
    key: &mut WebauthnAuthenticator<SoftPasskey>,
    origin: &Url,
) -> (StatusCode, Value, Option<String>) {
    let (_, started, _) = post(s, b, "/api/v1/session/passkey/start", json!({"username": "alice"})).await;
    let options: RequestChallengeResponse = serde_json::from_value(started["options"].clone()).expect("options");
    let answer = key.do_authentication(origin.clone(), options).expect("signs");
    post(s, b, "/api/v1/session/passkey/finish", json!({"ceremony": started["ceremony"], "credential": answer})).await
}

#[tokio::test]
async fn a_passkey_registers_and_then_logs_in_alone_at_level_3() {
    let (s, origin) = server().await;
    with_password(&s, "alice").await;
    let mut b = Browser::new(&s);
    b.login("alice", "kumamoto42", "/").await;
    let mut key = WebauthnAuthenticator::new(SoftPasskey::new(true));
    let registered = register(&s, &b, &mut key, &origin).await;
    assert_eq!(registered["name"], "soft key");
    let (status, mine) = {
        let p = b.get("/api/v1/session/passkeys").await;
        (p.status, serde_json::from_str::<Value>(&p.body).expect("json"))
    };
    assert_eq!((status, mine[0]["id"].clone()), (StatusCode::OK, registered["id"].clone()));
    assert_eq!(s.events("action=credential.passkey.registered").await.len(), 1);

    // A new browser logs in with the passkey alone.
    let mut fresh = Browser::new(&s);
    let (status, started, _) = post(&s, &fresh, "/api/v1/session/passkey/start", json!({"username": "alice"})).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let allowed = &started["options"]["publicKey"]["allowCredentials"];
    assert_eq!(allowed[0]["id"], registered["id"], "alice's passkey is offered: {started}");
    let options: RequestChallengeResponse = serde_json::from_value(started["options"].clone()).expect("options");
    let answer = key.do_authentication(origin.clone(), options).expect("the authenticator signs");
    let finish = json!({"ceremony": started["ceremony"], "credential": answer, "return_to": "/app"});
    let (status, session, cookie) = post(&s, &fresh, "/api/v1/session/passkey/finish", finish.clone()).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!((session["level"].as_u64(), session["return_to"].as_str()), (Some(3), Some("/app")));
    assert_eq!(session["amr"], json!(["pop", "mfa"]));
    fresh.jar.insert("sekimori_session".into(), cookie.expect("a session cookie"));
    let (status, me) = fresh.whoami().await;
    assert_eq!((status, me["username"].as_str()), (StatusCode::OK, Some("alice")));
    assert_eq!(s.events("action=auth.passkey.succeeded").await.len(), 1);

    // With a passkey, a password login asks for a second factor, and the passkey is one.
    let mut second = Browser::new(&s);
    let asked = second.login("alice", "kumamoto42", "/app").await;
    assert!(asked.body.contains("action=\"/login/factor\""), "{}", asked.body);
    let attr = |name: &str| {
        let key = format!("{name}=\"");
        let at = asked.body.find(&key).unwrap_or_else(|| panic!("{name} in {}", asked.body)) + key.len();
        asked.body[at..].split('"').next().expect("value").to_owned()
    };
    assert_eq!(attr("data-username"), "alice");
    let (_, started, _) = post(&s, &second, "/api/v1/session/passkey/start", json!({"username": "alice"})).await;
    let options: RequestChallengeResponse = serde_json::from_value(started["options"].clone()).expect("options");
    let answer = key.do_authentication(origin.clone(), options).expect("signs");
    let body = json!({"ceremony": started["ceremony"], "credential": answer, "pending": attr("data-pending")});
    let (status, session, _) = post(&s, &second, "/api/v1/session/passkey/finish", body).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!((session["level"].as_u64(), session["amr"].clone()), (Some(3), json!(["pwd", "pop", "mfa"])));

    // A passkey alone is judged by the risk policy: a REVIEW is satisfied by the passkey
    // itself, an NG (here: the browser's address is on a list) is refused.
    s.gate.risk().set_inputs(sekimori_gate::risk::RiskInputs {
        reputation: sekimori_risk::Reputation::new(vec![sekimori_risk::AddressList::parse(
            "loopback",
            30,
            "127.0.0.0/8",
        )
        .expect("list")]),
        ..Default::default()
    });
    let policy =
        |decision: &str| json!({"rules": [{"name": "listed", "when": ["listed_address"], "decision": decision}]});
    let put = |base: i64, p: Value| {
        let s = &s;
        async move {
            s.admin_call(Method::PUT, "/api/v1/admin/risk/policy", Some(json!({"base_version": base, "policy": p})))
                .await
                .0
        }
    };
    assert_eq!(put(0, policy("REVIEW")).await, StatusCode::OK);
    let (status, session, _) = passkey_alone(&s, &Browser::new(&s), &mut key, &origin).await;
    assert_eq!(status, StatusCode::OK, "a passkey satisfies a REVIEW: {session}");
    let newest = |events: Vec<Value>| {
        events.into_iter().max_by_key(|e| e["sekimori"]["audit"]["seq"].as_i64()).expect("an event")
    };
    let judged = newest(s.events("action=auth.risk.assessed").await);
    assert_eq!(
        (judged["sekimori"]["risk"]["method"].as_str(), judged["sekimori"]["risk"]["decision"].as_str()),
        (Some("passkey"), Some("REVIEW"))
    );
    assert_eq!(put(1, policy("NG")).await, StatusCode::OK);
    let (status, refused, cookie) = passkey_alone(&s, &Browser::new(&s), &mut key, &origin).await;
    assert_eq!((status, refused["code"].as_str()), (StatusCode::FORBIDDEN, Some("login_not_allowed")), "{refused}");
    assert!(cookie.is_none(), "no session");
    s.gate.risk().set_inputs(sekimori_gate::risk::RiskInputs::default());

    // The same answer again: the ceremony is spent.
    let (status, replay, _) = post(&s, &Browser::new(&s), "/api/v1/session/passkey/finish", finish).await;
    assert_eq!((status, replay["type"].as_str()), (StatusCode::CONFLICT, Some("urn:sekimori:problem:already_used")));

    // An answer made on another origin (a phishing page) is refused.
    let (_, started, _) = post(&s, &fresh, "/api/v1/session/passkey/start", json!({"username": "alice"})).await;
    let options: RequestChallengeResponse = serde_json::from_value(started["options"].clone()).expect("options");
    let phished = key.do_authentication(Url::parse("http://localhost:1").expect("url"), options).expect("signs");
    let body = json!({"ceremony": started["ceremony"], "credential": phished});
    let (status, refused, _) = post(&s, &Browser::new(&s), "/api/v1/session/passkey/finish", body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{refused}");
    assert_eq!(s.events("action=auth.passkey.failed").await.len(), 1);

    // Unknown users and no username get the same kind of challenge: no list to read names from.
    for body in [json!({"username": "mallory"}), json!({})] {
        let (status, started, _) = post(&s, &fresh, "/api/v1/session/passkey/start", body).await;
        assert_eq!(status, StatusCode::OK);
        let allowed = &started["options"]["publicKey"]["allowCredentials"];
        assert!(allowed.as_array().is_none_or(Vec::is_empty), "{started}");
    }

    // Registration needs a session and this site's pages.
    let (status, _, _) = post(&s, &Browser::new(&s), "/api/v1/session/passkeys/register/start", json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let cookies = b.jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    let cross = s
        .http()
        .post(format!("{}/api/v1/session/passkeys/register/start", s.url))
        .header("cookie", cookies)
        .header("origin", "https://evil.example")
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);

    // The admin sees and deletes it; then it logs nobody in.
    let (status, listed) = s.admin_call(Method::GET, "/api/v1/admin/users/alice/passkeys", None).await;
    assert_eq!((status, listed.as_array().map(Vec::len)), (StatusCode::OK, Some(1)));
    let id = listed[0]["id"].as_str().expect("id");
    let (status, _) = s.admin_call(Method::DELETE, &format!("/api/v1/admin/users/alice/passkeys/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, started, _) = post(&s, &fresh, "/api/v1/session/passkey/start", json!({"username": "alice"})).await;
    let options: RequestChallengeResponse = serde_json::from_value(started["options"].clone()).expect("options");
    assert!(key.do_authentication(origin.clone(), options).is_err(), "nothing of alice's is offered any more");
}

/// Without a domain name (the public URL is an IP address and no rp_id is set), passkeys
/// are off and say why; nothing else is affected.
#[tokio::test]
async fn passkeys_without_a_domain_are_off_with_a_reason() {
    let s = TestServer::start().await;
    let (status, body, _) = post(&s, &Browser::new(&s), "/api/v1/session/passkey/start", json!({})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body["detail"].as_str().expect("detail").contains("gate.passkey.rp_id"), "{body}");
}
