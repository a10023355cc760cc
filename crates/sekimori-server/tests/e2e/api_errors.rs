//! Bad input gets an RFC 9457 problem with a stable type, never a 500 or a panic.

use serde_json::Value;

use crate::harness::*;

async fn expect_problem(resp: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status, "status for {code}");
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["code"], code);
    assert_eq!(body["type"], format!("urn:sekimori:problem:{code}"));
    assert_eq!(body["status"], status);
    assert!(body["title"].is_string() && body["detail"].is_string());
    body
}

#[tokio::test]
async fn malformed_requests_get_problems() {
    let s = TestServer::start().await;
    let h = s.http();
    let url = |p: &str| format!("{}{p}", s.url);

    expect_problem(h.get(url("/nope")).send().await.expect("send"), 404, "not_found").await;
    expect_problem(h.delete(url("/healthz")).send().await.expect("send"), 405, "method_not_allowed").await;
    expect_problem(h.get(url("/api/v1/admin/users")).send().await.expect("send"), 401, "unauthorized").await;
    let bad = h
        .get(url("/api/v1/admin/users"))
        .bearer_auth("skadm_00000000000000000000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    expect_problem(bad.send().await.expect("send"), 401, "unauthorized").await;

    let rp_key = s.admin.add_app("shop", "relying_party").await.expect("app")["key"].as_str().expect("key").to_owned();
    let post = |body: &'static str, ct: &'static str| {
        h.post(url("/api/v1/logins/push")).bearer_auth(&rp_key).header("content-type", ct).body(body)
    };
    expect_problem(post("{not json", "application/json").send().await.expect("send"), 400, "invalid_request").await;
    let unknown = expect_problem(
        post(r#"{"username":"alice","extra":1}"#, "application/json").send().await.expect("send"),
        400,
        "invalid_request",
    )
    .await;
    assert!(unknown["detail"].as_str().expect("detail").contains("unknown field"), "{unknown}");
    expect_problem(
        post(r#"{"username":"Not Valid"}"#, "application/json").send().await.expect("send"),
        400,
        "invalid_request",
    )
    .await;
    expect_problem(
        post(r#"{"username":"alice"}"#, "text/plain").send().await.expect("send"),
        415,
        "unsupported_media_type",
    )
    .await;
    let big = format!(r#"{{"username":"{}"}}"#, "a".repeat(70 * 1024));
    let resp = h
        .post(url("/api/v1/logins/push"))
        .bearer_auth(&rp_key)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .expect("send");
    expect_problem(resp, 413, "payload_too_large").await;
    let q = h.get(url("/api/v1/logins/push/x?wait=soon")).bearer_auth(&rp_key).send().await.expect("send");
    expect_problem(q, 400, "invalid_request").await;
    let q = h.get(url("/api/v1/events?since=yesterday")).bearer_auth(&rp_key).send().await.expect("send");
    expect_problem(q, 401, "unauthorized").await;
    let enroll = h
        .post(url("/api/v1/device/enroll"))
        .header("content-type", "application/json")
        .body(r#"{"code":"x","public_key":"short","name":"p"}"#)
        .send()
        .await
        .expect("send");
    expect_problem(enroll, 400, "invalid_request").await;
}

#[tokio::test]
async fn garbage_never_causes_a_server_error() {
    let s = TestServer::start().await;
    let h = s.http();
    let bodies: [&[u8]; 6] = [
        b"",
        b"null",
        b"[]",
        b"\xff\xfe\x00",
        b"{\"username\":null}",
        b"{\"username\":\"alice\",\"client\":{\"ip\":\"999.1.1.1\"}}",
    ];
    let paths = [
        "/api/v1/logins/push",
        "/api/v1/tickets/redeem",
        "/api/v1/assertions/verify",
        "/api/v1/device/enroll",
        "/api/v1/device/standby",
        "/api/v1/qr-sessions",
        "/api/v1/admin/users",
    ];
    for path in paths {
        for body in bodies {
            let resp = h
                .post(format!("{}{path}", s.url))
                .header("content-type", "application/json")
                .header("sekimori-device", "not-a-device")
                .body(body.to_vec())
                .send()
                .await
                .expect("send");
            assert!(resp.status().as_u16() < 500, "{path} with {body:?} gave {}", resp.status());
        }
    }
    let resp = h.get(format!("{}/healthz", s.url)).send().await.expect("health");
    assert_eq!(resp.status(), 200);
}
