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

/// A registered client's redirect URIs are replaced over the admin API: the old one is
/// refused at once, the new one completes a code flow with a client that is not ours, the
/// change is audited with the new list; bad changes are refused naming the field.
#[tokio::test]
async fn redirect_uris_are_changed_after_registration() {
    let s = TestServer::start().await;
    with_password(&s, "alice").await;
    let (id, secret) = register(&s, "wiki", json!({})).await;
    let moved = format!("{REDIRECT}/v2");
    let path = format!("/api/v1/admin/oidc/clients/{id}");
    let (status, client) =
        s.admin_call(reqwest::Method::PATCH, &path, Some(json!({"redirect_uris": [moved.clone()]}))).await;
    assert_eq!(status, StatusCode::OK, "{client}");
    assert_eq!(client["redirect_uris"], json!([moved]));
    assert_eq!(client["post_logout_redirect_uris"], json!(["http://rp.test/bye"]), "a list not given is kept");
    let (_, listed) = s.admin_call(reqwest::Method::GET, "/api/v1/admin/oidc/clients", None).await;
    assert_eq!(listed[0]["redirect_uris"], json!([moved]));

    let enc = sekimori_core::names::percent_encode;
    let mut b = Browser::new(&s);
    let old = b
        .get(&format!("/oidc/authorize?response_type=code&scope=openid&client_id={id}&redirect_uri={}", enc(REDIRECT)))
        .await;
    assert_eq!(old.status, StatusCode::BAD_REQUEST, "the old URI is no longer registered");
    assert!(old.location().is_empty());
    let c =
        rp(&s, &id, secret).await.set_redirect_uri(openidconnect::RedirectUrl::new(moved.clone()).expect("redirect"));
    let r = request(&c, |p| p);
    let code = sign_in(&s, &mut b, &r, "alice").await;
    let t = exchange(&c, &code, &r.verifier).await.expect("tokens through the new redirect URI");
    verified(&s, &c, &t, Some(&r.nonce), &[CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);

    let audited = s.events("action=admin.oidc_client.updated").await;
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(audited[0]["sekimori"]["oidc"]["redirect_uris"], json!([moved]), "{}", audited[0]);

    for (body, field) in [
        (json!({}), "redirect_uris"),
        (json!({"redirect_uris": []}), "redirect_uris"),
        (json!({"redirect_uris": ["http://rp.test/cb#frag"]}), "redirect_uris"),
        (json!({"post_logout_redirect_uris": ["not a url"]}), "post_logout_redirect_uris"),
    ] {
        let (status, p) = s.admin_call(reqwest::Method::PATCH, &path, Some(body.clone())).await;
        assert_eq!((status, p["field"].as_str()), (StatusCode::BAD_REQUEST, Some(field)), "{body}: {p}");
    }
    let (status, _) = s.admin_call(reqwest::Method::PATCH, &path, Some(json!({"public": true}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "only the URIs can change");
    let body = Some(json!({"redirect_uris": [REDIRECT]}));
    let (status, p) = s.admin_call(reqwest::Method::PATCH, "/api/v1/admin/oidc/clients/nope", body.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{p}");
    let (status, _) = s.admin_call(reqwest::Method::DELETE, &format!("/api/v1/admin/apps/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s.admin_call(reqwest::Method::PATCH, &path, body).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a revoked client cannot be changed");
    assert_eq!(s.events("action=admin.oidc_client.updated").await.len(), 1, "refused changes write nothing");
}
