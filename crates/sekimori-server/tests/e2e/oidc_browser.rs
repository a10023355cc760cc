//! The OpenID Connect flow in real headless Chromium, with the hosted page's real CSP, to
//! a client on another origin (`tests/browser/oidc-flow.mjs`): sign-in, step-up and
//! RP-initiated logout, tokens exchanged and checked by the `openidconnect` crate.

use openidconnect::core::{CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata};
use openidconnect::{ClientId, ClientSecret, IssuerUrl, RedirectUrl};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::TestServer;
use crate::login::with_password;
use crate::oidc::{enrol_totp, exchange, http, param, request, verified};

/// A relying party's pages on another origin (127.0.0.2): whatever it is asked, a plain
/// page. Returns its origin.
async fn rp_site() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.expect("bind 127.0.0.2");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let page = || async { axum::response::Html("<!doctype html><title>rp</title><p>relying party</p>") };
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(page)).await });
    origin
}

/// The whole authorization-code flow in headless Chromium to a client on another origin,
/// with the hosted page's real CSP: sign-in, step-up by `acr_values=2`, and RP-initiated
/// logout with its confirmation form. (Before the fix Chromium blocked the redirects that
/// follow the form posts, `form-action 'self'`, and the browser stayed on /login.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_code_flow_in_chromium_returns_to_a_client_on_another_origin() {
    let s = TestServer::start().await;
    with_password(&s, "alice").await;
    let origin = rp_site().await;
    let (redirect, after) = (format!("{origin}/cb"), format!("{origin}/bye"));
    let oidc = json!({"redirect_uris": [redirect], "post_logout_redirect_uris": [after]});
    let (status, body) =
        s.admin_call(Method::POST, "/api/v1/admin/apps", Some(json!({"name": "portal", "oidc": oidc}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["client_id"].as_str().expect("id").to_owned();
    let secret = body["client_secret"].as_str().map(|s| ClientSecret::new(s.to_owned()));
    let meta = CoreProviderMetadata::discover_async(IssuerUrl::new(s.url.clone()).expect("issuer"), &http())
        .await
        .expect("discovery");
    let scopes: Vec<String> = meta.scopes_supported().expect("scopes").iter().map(|s| s.as_str().to_owned()).collect();
    assert_eq!(scopes, ["openid", "profile", "email", "groups"], "no offline_access: there is none");
    let c = CoreClient::from_provider_metadata(meta, ClientId::new(id.clone()), secret)
        .set_redirect_uri(RedirectUrl::new(redirect.clone()).expect("redirect"));
    let first = request(&c, |p| p);
    let second = request(&c, |mut p| {
        p.push(("acr", "2".into()));
        p
    });
    let logout = format!(
        "{}/oidc/logout?client_id={id}&post_logout_redirect_uri={}&state=bye",
        s.url,
        sekimori_core::names::percent_encode(&after)
    );
    let args = [&first.url, &second.url, &logout, "alice", "kumamoto42", &origin];
    let (mut child, mut stdin, mut lines) = crate::browser::node_interactive("oidc-flow.mjs", &args);

    for (label, req, acr) in [("CALLBACK1 ", &first, "1"), ("CALLBACK2 ", &second, "2")] {
        let line = crate::browser::next_line(&mut lines).await;
        let landed = line.strip_prefix(label).unwrap_or_else(|| panic!("{label}expected, got {line}"));
        assert!(landed.starts_with(&redirect), "{landed}");
        let q: Vec<(String, String)> = url::Url::parse(landed).expect("url").query_pairs().into_owned().collect();
        assert_eq!(param(&q, "state").as_deref(), Some(req.state.secret().as_str()));
        let code = param(&q, "code").expect("a code");
        let tokens = exchange(&c, &code, &req.verifier).await.expect("tokens");
        let claims = verified(&s, &c, &tokens, Some(&req.nonce), &[CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
        assert_eq!(claims["acr"], acr, "{claims}");
        if acr == "1" {
            // Now alice gets a second factor, and the browser steps up with its code.
            let totp = enrol_totp(&s, "alice").await;
            let code = totp.generate(u64::try_from(s.now_seconds()).expect("time"));
            tokio::io::AsyncWriteExt::write_all(&mut stdin, format!("{code}\n").as_bytes()).await.expect("stdin");
        }
    }
    let line = crate::browser::next_line(&mut lines).await;
    let landed = line.strip_prefix("LOGOUT ").unwrap_or_else(|| panic!("LOGOUT expected, got {line}"));
    assert_eq!(landed, format!("{after}?state=bye"));
    let exit =
        tokio::time::timeout(std::time::Duration::from_secs(30), child.wait()).await.expect("exits").expect("wait");
    assert!(exit.success(), "no page error and no CSP violation in Chromium");
}
