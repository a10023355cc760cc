//! OIDC client authentication at the token endpoint (client_secret_basic and _post, an
//! ES256 client), refused token requests, and token introspection (RFC 7662) with its
//! refusals: every refusal an OAuth error document, none a 500.

use openidconnect::core::CoreJwsSigningAlgorithm;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::TestServer;
use crate::login::{with_password, Browser};
use crate::oidc::{code_of, exchange, path_of, register, request, rp, sign_in, verified, REDIRECT};

/// A raw call to the token endpoint: (status, JSON body).
pub(crate) async fn token_call(
    s: &TestServer,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new().post(format!("{}/oidc/token", s.url)).form(form);
    if let Some((u, p)) = basic {
        req = req.basic_auth(u, Some(p));
    }
    let resp = req.send().await.expect("send");
    let status = resp.status();
    assert_eq!(resp.headers()["cache-control"], "no-store");
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// client_secret_post, an ES256 client, bad client credentials, and bad token requests:
/// every refusal is an OAuth error document, none a 500.
#[tokio::test]
async fn client_authentication_es256_and_bad_token_requests() {
    let s = TestServer::start().await;
    with_password(&s, "alice").await;
    let (id, secret) = register(&s, "erp", json!({"id_token_alg": "ES256"})).await;
    let secret = secret.expect("secret");
    let c = rp(&s, &id, Some(secret.clone())).await.set_auth_type(openidconnect::AuthType::RequestBody);
    let mut b = Browser::new(&s);
    let r = request(&c, |p| p);
    let code = sign_in(&s, &mut b, &r, "alice").await;
    let t = exchange(&c, &code, &r.verifier).await.expect("client_secret_post");
    verified(&s, &c, &t, Some(&r.nonce), &[CoreJwsSigningAlgorithm::EcdsaP256Sha256]);

    let (other, _) = register(&s, "other", json!({})).await;
    let r = request(&c, |p| p);
    let code = code_of(&s, &b.get(&path_of(&s, &r.url)).await, &r);
    let v = r.verifier.secret().as_str();
    let good = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", v),
    ];
    for (form, basic, status, error) in [
        (good.to_vec(), Some((id.as_str(), "skapp_wrong")), 401, "invalid_client"),
        (good.to_vec(), Some((other.as_str(), secret.as_str())), 401, "invalid_client"),
        (good.to_vec(), None, 401, "invalid_client"),
        (
            [&good[..], &[("client_secret", secret.as_str())]].concat(),
            Some((id.as_str(), secret.as_str())),
            400,
            "invalid_request",
        ),
        ([("grant_type", "password")].to_vec(), Some((id.as_str(), secret.as_str())), 400, "unsupported_grant_type"),
        ([("code", code.as_str())].to_vec(), Some((id.as_str(), secret.as_str())), 400, "invalid_request"),
        (
            [&good[..1], &[("code", "nope"), ("redirect_uri", REDIRECT), ("code_verifier", v)]].concat(),
            Some((id.as_str(), secret.as_str())),
            400,
            "invalid_grant",
        ),
        (
            [&good[..2], &[("redirect_uri", "http://rp.test/other"), ("code_verifier", v)]].concat(),
            Some((id.as_str(), secret.as_str())),
            400,
            "invalid_grant",
        ),
        (good[..3].to_vec(), Some((id.as_str(), secret.as_str())), 400, "invalid_grant"),
    ] {
        let (got, body) = token_call(&s, &form, basic).await;
        assert_eq!((got.as_u16(), body["error"].as_str()), (status, Some(error)), "{form:?} {body}");
        assert_eq!(body["type"], format!("urn:sekimori:problem:oauth.{error}"));
    }
    // The code survived every refused attempt.
    let (status, body) = token_call(&s, &good, Some((&id, &secret))).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Introspection (RFC 7662) with client_secret_post; only confidential clients may ask,
    // and anything that is not a live access token is simply inactive.
    let access = body["access_token"].as_str().expect("access token").to_owned();
    let refresh = body["refresh_token"].as_str().expect("refresh token").to_owned();
    let introspect = |form: Vec<(&'static str, String)>, basic: Option<(String, String)>| {
        let url = format!("{}/oidc/introspect", s.url);
        async move {
            let mut req = reqwest::Client::new().post(url).form(&form);
            if let Some((u, p)) = basic {
                req = req.basic_auth(u, Some(p));
            }
            let resp = req.send().await.expect("send");
            let status = resp.status().as_u16();
            assert_eq!(resp.headers()["cache-control"], "no-store");
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let post =
        |token: &str| vec![("token", token.to_owned()), ("client_id", id.clone()), ("client_secret", secret.clone())];
    let (status, answer) = introspect(post(&access), None).await;
    assert_eq!((status, answer["active"].clone(), answer["client_id"].clone()), (200, json!(true), json!(id)));
    assert_eq!(answer["token_type"], "Bearer");
    for token in [refresh.as_str(), "x", "a.b.c", &"a".repeat(20_000)] {
        let (status, answer) = introspect(post(token), None).await;
        assert_eq!((status, answer), (200, json!({"active": false})));
    }
    let (public_id, _) = register(&s, "spa", json!({"public": true})).await;
    let token_only = vec![("token", access.clone())];
    for (form, basic, status, error) in [
        (token_only.clone(), None, 401, "invalid_client"),
        (token_only.clone(), Some((id.clone(), "skapp_wrong".to_owned())), 401, "invalid_client"),
        (vec![("token", access.clone()), ("client_id", public_id.clone())], None, 401, "invalid_client"),
        ([post(&access), vec![("surprise", "1".to_owned())]].concat(), None, 400, "invalid_request"),
        (vec![("client_id", id.clone()), ("client_secret", secret.clone())], None, 400, "invalid_request"),
    ] {
        let (got, body) = introspect(form.clone(), basic).await;
        assert_eq!((got, body["error"].as_str()), (status, Some(error)), "{form:?} {body}");
    }
    // Not a form: a clear error.
    let resp = reqwest::Client::new()
        .post(format!("{}/oidc/token", s.url))
        .json(&json!({"grant_type": "authorization_code"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // Garbage bearer tokens at userinfo.
    for bearer in ["x", "a.b.c", &"a".repeat(20_000)] {
        let resp = reqwest::Client::new()
            .get(format!("{}/oidc/userinfo", s.url))
            .bearer_auth(bearer)
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
}
