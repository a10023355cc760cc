//! The server's Web Push sender against a push service the test runs on loopback: the test
//! subscribes with its own P-256 key pair and auth secret (as a browser does), a relying
//! party starts a push login, and the test decrypts what arrives (RFC 8291, implemented
//! here independently of the sender's crate) and verifies the VAPID token (RFC 8292). A
//! push service's 410 removes the subscription; endpoints elsewhere are refused.

use std::sync::{Arc, Mutex};

use aes_gcm::aead::{Aead, KeyInit};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hkdf::Hkdf;
use p256::ecdsa::signature::Verifier;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::harness::*;

/// One request the push service received.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

type Log = Arc<Mutex<Vec<Received>>>;

/// A push service on loopback: `POST /push/{id}` is accepted (201), except ids starting
/// with `gone`, which it answers 410 Gone as for an unsubscribed browser.
async fn push_service() -> (String, Log) {
    async fn push(
        State(log): State<Log>,
        Path(id): Path<String>,
        headers: HeaderMap,
        body: axum::body::Bytes,
    ) -> StatusCode {
        let gone = id.starts_with("gone");
        log.lock().expect("log").push(Received { id, headers, body: body.to_vec() });
        if gone {
            StatusCode::GONE
        } else {
            StatusCode::CREATED
        }
    }
    let log: Log = Arc::default();
    let app = axum::Router::new().route("/push/{id}", axum::routing::post(push)).with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (origin, log)
}

/// A browser's side of a subscription: its key pair and auth secret.
struct BrowserKeys {
    secret: p256::SecretKey,
    auth: [u8; 16],
}

impl BrowserKeys {
    fn new(seed: u8) -> Self {
        BrowserKeys { secret: p256::SecretKey::from_slice(&[seed; 32]).expect("key"), auth: [seed ^ 0x5a; 16] }
    }

    fn subscription(&self, endpoint: &str) -> Value {
        json!({
            "endpoint": endpoint,
            "expirationTime": null,
            "keys": {
                "p256dh": URL_SAFE_NO_PAD.encode(self.secret.public_key().to_encoded_point(false).as_bytes()),
                "auth": URL_SAFE_NO_PAD.encode(self.auth),
            }
        })
    }

    /// RFC 8291 section 3 and RFC 8188: decrypts one `aes128gcm` body.
    fn decrypt(&self, body: &[u8]) -> Vec<u8> {
        let salt = &body[..16];
        let rs = u32::from_be_bytes(body[16..20].try_into().expect("rs"));
        let idlen = body[20] as usize;
        assert_eq!(idlen, 65, "the key id is the sender's uncompressed public key");
        let as_public = p256::PublicKey::from_sec1_bytes(&body[21..21 + idlen]).expect("sender key");
        let ciphertext = &body[21 + idlen..];
        assert!(ciphertext.len() <= rs as usize, "one record");
        let shared = p256::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), as_public.as_affine());
        let ua_public = self.secret.public_key().to_encoded_point(false);
        let mut info = b"WebPush: info\0".to_vec();
        info.extend_from_slice(ua_public.as_bytes());
        info.extend_from_slice(as_public.to_encoded_point(false).as_bytes());
        let mut ikm = [0u8; 32];
        Hkdf::<Sha256>::new(Some(&self.auth), shared.raw_secret_bytes().as_slice())
            .expand(&info, &mut ikm)
            .expect("ikm");
        let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
        let (mut cek, mut nonce) = ([0u8; 16], [0u8; 12]);
        prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek).expect("cek");
        prk.expand(b"Content-Encoding: nonce\0", &mut nonce).expect("nonce");
        let mut plain = aes_gcm::Aes128Gcm::new_from_slice(&cek)
            .expect("cek")
            .decrypt(aes_gcm::Nonce::from_slice(&nonce), ciphertext)
            .expect("the payload decrypts with the browser's keys");
        // The last record ends with 0x02, then zero padding.
        while plain.last() == Some(&0) {
            plain.pop();
        }
        assert_eq!(plain.pop(), Some(2), "last-record delimiter");
        plain
    }
}

/// Checks the VAPID header (RFC 8292 section 3) against the server's published key and
/// returns the JWT's claims.
fn vapid_claims(headers: &HeaderMap, server_key: &str) -> Value {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).expect("Authorization");
    let (t, k) = auth.strip_prefix("vapid t=").and_then(|r| r.split_once(", k=")).expect("vapid t=…, k=…");
    assert_eq!(k, server_key, "k is the key the app subscribed with (applicationServerKey)");
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&URL_SAFE_NO_PAD.decode(k).expect("k")).expect("P-256");
    let parts: Vec<&str> = t.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("b64")).expect("json");
    assert_eq!(header, json!({"typ": "JWT", "alg": "ES256"}));
    let sig = p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).expect("b64")).expect("r||s");
    key.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig).expect("the JWT verifies with k");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json")
}

async fn wait_for(log: &Log, n: usize) -> Vec<Received> {
    for _ in 0..200 {
        let got = log.lock().expect("log").clone();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the push service got {} pushes, not {n}", log.lock().expect("log").len());
}

async fn put_subscription(a: &sekimori_client::Authenticator, sub: &Value) -> reqwest::Response {
    a.send_signed("PUT", "/api/v1/device/web-push", Some(sub)).await.expect("request")
}

#[tokio::test]
async fn a_push_login_wakes_the_subscribed_app_encrypted_and_signed_and_a_gone_subscription_is_dropped() {
    let (origin, log) = push_service().await;
    let allowed = origin.clone();
    let s = TestServer::start_configured(Backend::Sqlite, None, move |g| {
        g.web_push.endpoint_origins = vec![allowed];
        g.web_push.subject = Some("mailto:security@example.org".into());
    })
    .await;
    let alice = s.enrolled("alice").await;
    let rp = s.app("shop", "relying_party").await;

    let config: Value =
        alice.send_signed("GET", "/api/v1/device/web-push", None).await.expect("get").json().await.expect("json");
    assert_eq!(config["enabled"], true);
    assert_eq!(config["subscribed"], false);
    let server_key = config["vapid_public_key"].as_str().expect("vapid key").to_owned();
    assert_eq!(URL_SAFE_NO_PAD.decode(&server_key).expect("b64").len(), 65);

    let browser = BrowserKeys::new(3);
    let endpoint = format!("{origin}/push/alice-phone");
    assert_eq!(put_subscription(&alice, &browser.subscription(&endpoint)).await.status(), 204);
    let config: Value =
        alice.send_signed("GET", "/api/v1/device/web-push", None).await.expect("get").json().await.expect("json");
    assert_eq!(config["subscribed"], true);
    assert_eq!(s.events("action=iam.device.push_subscribed").await.len(), 1);

    alice.standby().await.expect("standby");
    let started = rp.start_push("alice", client("203.0.113.9", FIREFOX_LINUX)).await.expect("push");
    let got = wait_for(&log, 1).await;
    let push = &got[0];
    assert_eq!(push.id, "alice-phone");
    assert_eq!(push.headers["content-encoding"], "aes128gcm");
    assert_eq!(push.headers["urgency"], "high");
    let ttl: i64 = push.headers["ttl"].to_str().expect("ttl").parse().expect("number");
    assert!((1..=24 * 3600).contains(&ttl), "TTL until the longest message (the warning) expires: {ttl}");
    let claims = vapid_claims(&push.headers, &server_key);
    assert_eq!(claims["aud"], origin.as_str());
    assert_eq!(claims["sub"], "mailto:security@example.org");
    let exp = claims["exp"].as_i64().expect("exp");
    let now = sekimori_core::Clock::now(&s.clock).seconds();
    assert!(exp > now && exp <= now + 24 * 3600, "RFC 8292: at most 24 hours ahead");

    // The payload only says which messages wait; the challenge itself is fetched signed.
    let payload: Value = serde_json::from_slice(&browser.decrypt(&push.body)).expect("JSON payload");
    let messages = alice.messages(0).await.expect("messages");
    let challenge = messages.iter().find(|m| m["type"] == "push_login").expect("challenge");
    let listed: Vec<&str> =
        payload["messages"].as_array().expect("list").iter().filter_map(|m| m["id"].as_str()).collect();
    assert!(listed.contains(&challenge["id"].as_str().expect("id")), "{payload}");
    assert_eq!(payload["v"], 1);
    // Nothing but ids and types: no number, no environment, no names.
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&payload), ["messages", "v"], "{payload}");
    for m in payload["messages"].as_array().expect("list") {
        assert_eq!(keys(m), ["id", "type"], "{payload}");
    }
    assert!(!payload.to_string().contains("203.0.113"), "no content in the push");
    assert!(started["number"].is_i64());

    // The browser unsubscribed: the push service answers 410 and the subscription goes.
    let gone = format!("{origin}/push/gone-1");
    assert_eq!(put_subscription(&alice, &browser.subscription(&gone)).await.status(), 204);
    alice.standby().await.expect("standby");
    rp.start_push("alice", None).await.expect("push");
    let got = wait_for(&log, 2).await;
    assert_eq!(got[1].id, "gone-1");
    for _ in 0..200 {
        if s.store
            .push_subscriptions(&sekimori_core::UserId::new(alice.state().user_id.clone()))
            .await
            .expect("read")
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(s
        .store
        .push_subscriptions(&sekimori_core::UserId::new(alice.state().user_id.clone()))
        .await
        .expect("read")
        .is_empty());
    assert_eq!(s.web_push.stats().gone.load(std::sync::atomic::Ordering::Relaxed), 1);
    let config: Value =
        alice.send_signed("GET", "/api/v1/device/web-push", None).await.expect("get").json().await.expect("json");
    assert_eq!(config["subscribed"], false);
}

#[tokio::test]
async fn subscriptions_outside_the_push_services_or_with_bad_keys_are_refused() {
    let s = TestServer::start().await;
    let alice = s.enrolled("alice").await;
    let keys = BrowserKeys::new(9);
    for (endpoint, why) in [
        ("http://127.0.0.1:6379/", "the server's own network (default origins are the browsers' push services)"),
        ("https://fcm.googleapis.com.evil.example/x", "a look-alike host"),
        ("http://fcm.googleapis.com/fcm/send/x", "not https"),
        ("https://user:pw@fcm.googleapis.com/fcm/send/x", "credentials"),
        ("not a url", "not a URL"),
    ] {
        let r = put_subscription(&alice, &keys.subscription(endpoint)).await;
        assert_eq!(r.status(), 400, "{why}");
        let p: Value = r.json().await.expect("problem");
        assert_eq!(p["code"], "invalid_request", "{why}: {p}");
    }
    let mut bad = keys.subscription("https://fcm.googleapis.com/fcm/send/x");
    bad["keys"]["p256dh"] = json!(URL_SAFE_NO_PAD.encode([4u8; 65]));
    let p: Value = put_subscription(&alice, &bad).await.json().await.expect("problem");
    assert_eq!(p["field"], "keys.p256dh", "{p}");
    let mut bad = keys.subscription("https://fcm.googleapis.com/fcm/send/x");
    bad["keys"]["auth"] = json!("c2hvcnQ");
    let p: Value = put_subscription(&alice, &bad).await.json().await.expect("problem");
    assert_eq!(p["field"], "keys.auth", "{p}");
    let mut extra = keys.subscription("https://fcm.googleapis.com/fcm/send/x");
    extra["surprise"] = json!(1);
    assert_eq!(put_subscription(&alice, &extra).await.status(), 400, "unknown fields are refused");
    // A real push service's endpoint is taken.
    let ok = keys.subscription("https://fcm.googleapis.com/fcm/send/abc:def");
    assert_eq!(put_subscription(&alice, &ok).await.status(), 204);
    let r = alice.send_signed("DELETE", "/api/v1/device/web-push", None).await.expect("delete");
    assert_eq!(r.status(), 204);
}
