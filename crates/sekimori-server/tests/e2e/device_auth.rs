//! Signed device requests: unsigned, wrongly signed, stale and replayed requests are refused.

use serde_json::Value;

use crate::harness::*;

async fn problem(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert_eq!(ct, "application/problem+json");
    let body: Value = resp.json().await.expect("problem body");
    assert_eq!(body["status"], status);
    assert_eq!(body["type"], format!("urn:sekimori:problem:{}", body["code"].as_str().expect("code")));
    (status, body["code"].as_str().expect("code").to_owned())
}

const PATH: &str = "/api/v1/device/standby";

#[tokio::test]
async fn unsigned_request_is_refused() {
    let s = TestServer::start().await;
    let a = s.enrolled("alice").await;
    let resp = a.send_with_headers("POST", PATH, b"", &[]).await.expect("send");
    assert_eq!(problem(resp).await, (401, "unauthorized".into()));
}

#[tokio::test]
async fn wrong_signature_is_refused_and_recorded() {
    let s = TestServer::start().await;
    let a = s.enrolled("alice").await;
    let mallory = s.enrolled("mallory").await;
    let now = s.now_seconds();
    // Mallory signs, but claims to be Alice's device.
    let mut headers = mallory.sign_headers("POST", PATH, b"", now, &a.new_nonce());
    headers[0].1 = a.state().device_id.clone();
    let resp = a.send_with_headers("POST", PATH, b"", &headers).await.expect("send");
    assert_eq!(problem(resp).await, (401, "invalid_signature".into()));
    // A valid signature over a different path does not carry over.
    let headers = a.sign_headers("POST", "/api/v1/device/tickets", b"", now, &a.new_nonce());
    let resp = a.send_with_headers("POST", PATH, b"", &headers).await.expect("send");
    assert_eq!(problem(resp).await.1, "invalid_signature");
    // Nor over a different body.
    let headers = a.sign_headers("POST", PATH, b"{}", now, &a.new_nonce());
    let resp = a.send_with_headers("POST", PATH, b"{ }", &headers).await.expect("send");
    assert_eq!(problem(resp).await.1, "invalid_signature");
    assert_eq!(s.events("action=auth.device.invalid_signature").await.len(), 3);
}

#[tokio::test]
async fn stale_and_future_timestamps_are_refused() {
    let s = TestServer::start().await;
    let a = s.enrolled("alice").await;
    let now = s.now_seconds();
    for ts in [now - 61, now + 61] {
        let headers = a.sign_headers("POST", PATH, b"", ts, &a.new_nonce());
        let resp = a.send_with_headers("POST", PATH, b"", &headers).await.expect("send");
        assert_eq!(problem(resp).await, (401, "stale_timestamp".into()));
    }
    let headers = a.sign_headers("POST", PATH, b"", now - 60, &a.new_nonce());
    let resp = a.send_with_headers("POST", PATH, b"", &headers).await.expect("send");
    assert_eq!(resp.status(), 201, "60 s of skew is accepted");
}

#[tokio::test]
async fn replayed_request_is_refused() {
    let s = TestServer::start().await;
    let a = s.enrolled("alice").await;
    let headers = a.sign_headers("POST", PATH, b"", s.now_seconds(), &a.new_nonce());
    let first = a.send_with_headers("POST", PATH, b"", &headers).await.expect("send");
    assert_eq!(first.status(), 201);
    let again = a.send_with_headers("POST", PATH, b"", &headers).await.expect("send");
    assert_eq!(problem(again).await, (401, "replayed".into()));
    assert_eq!(s.events("action=auth.device.replayed").await.len(), 1);
    assert_eq!(s.events("action=auth.standby.opened").await.len(), 1, "the replay opened nothing");
}

#[tokio::test]
async fn server_signatures_on_challenges_are_checked_by_the_authenticator() {
    let s = TestServer::start().await;
    let alice = s.enrolled("alice").await;
    let rp = s.app("shop", "relying_party").await;
    alice.standby().await.expect("standby");
    rp.start_push("alice", None).await.expect("push");
    // An authenticator that trusts another server key refuses what this server signed.
    let mut forged = alice.state().clone();
    forged.server_public_key = sekimori_gate::ServerKeys::generate(&sekimori_core::OsRng).public_key_b64();
    let impostor = sekimori_client::Authenticator::from_state(
        forged,
        std::sync::Arc::new(s.clock.clone()),
        std::sync::Arc::new(sekimori_core::OsRng),
    )
    .expect("state");
    let err = impostor.messages(0).await.expect_err("refused");
    assert!(err.to_string().contains("signature"), "{err}");
    assert!(!alice.messages(0).await.expect("genuine").is_empty());
}

#[tokio::test]
async fn enrolment_code_is_single_use_and_expires() {
    let s = TestServer::start().await;
    s.admin.add_user("alice", None, None).await.expect("add");
    let e = s.admin.create_enrollment("alice").await.expect("enrollment");
    let link = e["link"].as_str().expect("link");
    let clock = std::sync::Arc::new(s.clock.clone());
    let rng = std::sync::Arc::new(sekimori_core::OsRng);
    sekimori_client::Authenticator::enroll(link, "one", clock.clone(), rng.clone()).await.expect("first");
    let again = sekimori_client::Authenticator::enroll(link, "two", clock.clone(), rng.clone()).await;
    assert_eq!(code(again), "already_used");
    let e = s.admin.create_enrollment("alice").await.expect("enrollment");
    s.clock.advance_seconds(601);
    let late = sekimori_client::Authenticator::enroll(e["link"].as_str().expect("link"), "three", clock, rng).await;
    assert_eq!(code(late), "expired");
    // The https form of the link works too, and opens a page with the QR code.
    let e = s.admin.create_enrollment("alice").await.expect("enrollment");
    let page = s.http().get(e["https_link"].as_str().expect("https")).send().await.expect("page");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("html").contains("<svg"));
    let (svg, link) = s.admin.create_enrollment_image("alice", "svg").await.expect("svg");
    assert!(String::from_utf8_lossy(&svg).contains("<svg") && link.starts_with("sekimori://enroll?"));
    let (png, _) = s.admin.create_enrollment_image("alice", "png").await.expect("png");
    assert_eq!(&png[1..4], b"PNG");
}

/// A P-256 device (a browser without Ed25519): enrolled with `key_type: p256`, its ES256
/// signatures accepted once, replays and changed bodies refused as for Ed25519, and its
/// messages signed ES256 with the server's P-256 key.
#[tokio::test]
async fn a_p256_device_is_held_to_the_same_checks() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use p256::ecdsa::signature::{Signer, Verifier};

    let s = TestServer::start().await;
    s.admin.add_user("alice", None, None).await.expect("user");
    let link = s.admin.create_enrollment("alice").await.expect("enrolment")["link"].as_str().expect("link").to_owned();
    let code = link.rsplit_once("c=").expect("code").1.to_owned();
    let key = p256::ecdsa::SigningKey::from_slice(&[11u8; 32]).expect("key");
    let public = URL_SAFE_NO_PAD.encode(key.verifying_key().to_encoded_point(false).as_bytes());
    let http = reqwest::Client::new();
    let enrol = |key_type: &str, public: &str, code: &str| {
        http.post(format!("{}/api/v1/device/enroll", s.url))
            .json(&serde_json::json!({"code": code, "public_key": public, "key_type": key_type, "name": "old iPhone"}))
            .send()
    };
    // An Ed25519 key named P-256 (or the reverse) is refused before the code is spent.
    let (status, code_name) =
        problem(enrol("p256", &URL_SAFE_NO_PAD.encode([9u8; 32]), &code).await.expect("send")).await;
    assert_eq!((status, code_name.as_str()), (400, "invalid_request"));
    assert_eq!(problem(enrol("rsa", &public, &code).await.expect("send")).await.1, "invalid_request");
    let enrolled: Value = enrol("p256", &public, &code).await.expect("send").json().await.expect("json");
    assert_eq!(enrolled["key_type"], "p256", "{enrolled}");
    let device = enrolled["device_id"].as_str().expect("device").to_owned();
    let server_p256 = p256::ecdsa::VerifyingKey::from_sec1_bytes(
        &URL_SAFE_NO_PAD.decode(enrolled["server_public_key_p256"].as_str().expect("key")).expect("b64"),
    )
    .expect("P-256 key");

    let send = |method: &'static str,
                path: &'static str,
                body: &'static str,
                nonce: &'static str,
                signed_body: &'static str| {
        let ts = s.now_seconds();
        let input = sekimori_core::device::signing_input(&device, method, path, ts, nonce, signed_body.as_bytes());
        let sig: p256::ecdsa::Signature = key.sign(input.as_bytes());
        http.request(method.parse().expect("method"), format!("{}{path}", s.url))
            .header("sekimori-device", &device)
            .header("sekimori-timestamp", ts.to_string())
            .header("sekimori-nonce", nonce)
            .header("sekimori-signature", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_eq!(send("POST", PATH, "{}", "p256-nonce-000000001", "{}").await.expect("send").status(), 201);
    let replay = send("POST", PATH, "{}", "p256-nonce-000000001", "{}").await.expect("send");
    assert_eq!(problem(replay).await, (401, "replayed".into()));
    let tampered = send("POST", PATH, "{\"x\":1}", "p256-nonce-000000002", "{}").await.expect("send");
    assert_eq!(problem(tampered).await, (401, "invalid_signature".into()));

    // Its challenge comes signed ES256 with the server's P-256 key.
    let rp = s.app("shop", "relying_party").await;
    rp.start_push("alice", None).await.expect("push");
    let got: Value = send("GET", "/api/v1/device/messages?wait=0", "", "p256-nonce-000000003", "")
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let items = got["messages"].as_array().expect("messages");
    for item in items {
        assert_eq!(item["alg"], "ES256", "{got}");
        let sig = p256::ecdsa::Signature::from_slice(
            &URL_SAFE_NO_PAD.decode(item["signature"].as_str().expect("sig")).expect("b64"),
        )
        .expect("r||s");
        let canonical = sekimori_core::canonical::to_canonical_string(&item["message"]);
        server_p256.verify(canonical.as_bytes(), &sig).expect("the message verifies with server_public_key_p256");
    }
    assert!(items.iter().any(|i| i["message"]["type"] == "push_login"), "{got}");
}
