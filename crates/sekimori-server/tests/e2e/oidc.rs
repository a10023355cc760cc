//! The OIDC provider driven by an independent client library (the `openidconnect` crate)
//! as a relying party would, with a cookie-keeping browser for the login: discovery and
//! JWKS, authorization code with PKCE, id_token signatures (RS256 and ES256) checked against
//! the JWKS, at_hash, userinfo, refresh rotation and reuse detection, code replay,
//! `acr_values` forcing a step-up, `prompt`, `max_age`, exact redirect URIs, client
//! authentication and introspection (their refusals in `oidc_clients.rs`), key rotation and RP-initiated
//! logout.

use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreTokenResponse, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthenticationContextClass, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IntrospectionUrl, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    TokenIntrospectionResponse, TokenResponse,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use totp_rs::TOTP;

use crate::harness::{Backend, TestServer};
use crate::login::{with_password, Browser, Page};
use crate::oidc_clients::token_call;

pub(crate) const REDIRECT: &str = "http://rp.test/cb";
const AFTER_LOGOUT: &str = "http://rp.test/bye";

pub(crate) type Rp =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

pub(crate) fn http() -> openidconnect::reqwest::Client {
    // Following redirects would open the client to SSRF; the library's own advice.
    openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Registers an OIDC client over the admin API: (client_id, secret).
pub(crate) async fn register(s: &TestServer, name: &str, extra: Value) -> (String, Option<String>) {
    let mut oidc = json!({"redirect_uris": [REDIRECT], "post_logout_redirect_uris": [AFTER_LOGOUT]});
    for (k, v) in extra.as_object().expect("object") {
        oidc[k] = v.clone();
    }
    let (status, body) =
        s.admin_call(Method::POST, "/api/v1/admin/apps", Some(json!({"name": name, "oidc": oidc}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (body["client_id"].as_str().expect("id").to_owned(), body["client_secret"].as_str().map(str::to_owned))
}

pub(crate) async fn rp(s: &TestServer, client_id: &str, secret: Option<String>) -> Rp {
    let meta = CoreProviderMetadata::discover_async(IssuerUrl::new(s.url.clone()).expect("issuer"), &http())
        .await
        .expect("discovery and JWKS");
    CoreClient::from_provider_metadata(meta, ClientId::new(client_id.into()), secret.map(ClientSecret::new))
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).expect("redirect"))
}

/// One authorization request as the relying party makes it.
pub(crate) struct Request {
    pub(crate) url: String,
    pub(crate) state: CsrfToken,
    pub(crate) nonce: Nonce,
    pub(crate) verifier: PkceCodeVerifier,
}

pub(crate) fn request(
    c: &Rp,
    tune: impl FnOnce(Vec<(&'static str, String)>) -> Vec<(&'static str, String)>,
) -> Request {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = c
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("groups".into()))
        .set_pkce_challenge(challenge);
    for (k, v) in tune(Vec::new()) {
        req = match k {
            "acr" => req.add_auth_context_value(AuthenticationContextClass::new(v)),
            "prompt" if v == "login" => req.add_prompt(CoreAuthPrompt::Login),
            "prompt" => req.add_prompt(CoreAuthPrompt::None),
            "max_age" => req.set_max_age(std::time::Duration::from_secs(v.parse().expect("seconds"))),
            _ => req.add_extra_param(k, v),
        };
    }
    let (url, state, nonce) = req.url();
    Request { url: url.to_string(), state, nonce, verifier }
}

pub(crate) fn path_of(s: &TestServer, url: &str) -> String {
    url.strip_prefix(&s.url).expect("on the server").to_owned()
}

/// The query parameters of a redirect to the relying party.
fn callback(p: &Page) -> Vec<(String, String)> {
    let loc = p.location();
    assert!(loc.starts_with(REDIRECT), "{} {loc} {}", p.status, p.body);
    url::Url::parse(loc).expect("url").query_pairs().into_owned().collect()
}

pub(crate) fn param(q: &[(String, String)], k: &str) -> Option<String> {
    q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

/// Follows the browser from the authorization URL through the password login to the
/// callback; returns the code.
pub(crate) async fn sign_in(s: &TestServer, b: &mut Browser, r: &Request, user: &str) -> String {
    let to_login = b.get(&path_of(s, &r.url)).await;
    assert_eq!(to_login.status, StatusCode::SEE_OTHER, "{}", to_login.body);
    assert!(to_login.location().starts_with("/login?return_to="), "{}", to_login.location());
    let form = b.get(to_login.location()).await;
    let csrf = form.csrf();
    let return_to = hidden(&form, "return_to");
    let level = hidden(&form, "level");
    let done = b
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", user),
                ("password", "kumamoto42"),
                ("return_to", &return_to),
                ("level", &level),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    code_of(s, &b.get(done.location()).await, r)
}

fn hidden(p: &Page, name: &str) -> String {
    let key = format!("name=\"{name}\" value=\"");
    let at = p.body.find(&key).unwrap_or_else(|| panic!("field {name} in {}", p.body)) + key.len();
    p.body[at..].split('"').next().expect("value").replace("&amp;", "&")
}

pub(crate) fn code_of(s: &TestServer, p: &Page, r: &Request) -> String {
    let q = callback(p);
    assert_eq!(param(&q, "state").as_deref(), Some(r.state.secret().as_str()));
    assert_eq!(param(&q, "iss").as_deref(), Some(s.url.as_str()), "RFC 9207 iss");
    param(&q, "code").unwrap_or_else(|| panic!("a code in {q:?}"))
}

pub(crate) async fn exchange(c: &Rp, code: &str, verifier: &PkceCodeVerifier) -> Result<CoreTokenResponse, String> {
    c.exchange_code(AuthorizationCode::new(code.into()))
        .expect("token endpoint")
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.secret().clone()))
        .request_async(&http())
        .await
        .map_err(oauth_error)
}

async fn refresh(c: &Rp, token: &RefreshToken) -> Result<CoreTokenResponse, String> {
    c.exchange_refresh_token(token).expect("token endpoint").request_async(&http()).await.map_err(oauth_error)
}

fn oauth_error<RE: std::error::Error + 'static>(
    e: RequestTokenError<RE, openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>>,
) -> String {
    match e {
        RequestTokenError::ServerResponse(r) => r.error().to_string(),
        other => format!("transport: {other:?}"),
    }
}

/// The id_token's claims, its signature checked by the library against the JWKS.
pub(crate) fn verified(
    s: &TestServer,
    c: &Rp,
    t: &CoreTokenResponse,
    nonce: Option<&Nonce>,
    algs: &[CoreJwsSigningAlgorithm],
) -> Value {
    let id: &CoreIdToken = t.id_token().expect("an id_token");
    // The server runs on a test clock; the library checks expiry against it.
    let now = chrono::DateTime::from_timestamp(s.now_seconds(), 0).expect("time");
    let verifier = c.id_token_verifier().set_allowed_algs(algs.to_vec()).set_time_fn(move || now);
    let claims = match nonce {
        Some(n) => id.claims(&verifier, n).expect("valid id_token").clone(),
        None => id.claims(&verifier, |_: Option<&Nonce>| Ok(())).expect("valid id_token").clone(),
    };
    // at_hash binds the access token to the id_token.
    let expected = claims.access_token_hash().expect("at_hash").clone();
    let actual = AccessTokenHash::from_token(
        t.access_token(),
        id.signing_alg().expect("alg"),
        id.signing_key(&verifier).expect("key"),
    )
    .expect("hash");
    assert_eq!(actual, expected, "at_hash matches the access token");
    serde_json::to_value(&claims).expect("json")
}

pub(crate) async fn enrol_totp(s: &TestServer, user: &str) -> TOTP {
    let (_, e) = s.admin_call(Method::POST, &format!("/api/v1/admin/users/{user}/totp"), None).await;
    let app = TOTP::from_url(e["otpauth_uri"].as_str().expect("uri")).expect("uri");
    let id = e["id"].as_str().expect("id");
    let code = app.generate(u64::try_from(s.now_seconds()).expect("time"));
    let path = format!("/api/v1/admin/users/{user}/totp/{id}/confirm");
    let (status, _) = s.admin_call(Method::POST, &path, Some(json!({"code": code}))).await;
    assert_eq!(status, StatusCode::OK);
    s.clock.advance_seconds(30);
    app
}

async fn code_flow(backend: Backend) {
    let s = TestServer::start_on(backend).await;
    with_password(&s, "alice").await;
    let (status, _) =
        s.admin_call(Method::PATCH, "/api/v1/admin/users/alice", Some(json!({"email": "alice@example.jp"}))).await;
    assert_eq!(status, StatusCode::OK);
    let (id, secret) = register(&s, "wiki", json!({})).await;
    let secret = secret.expect("a confidential client has a secret");
    let c = rp(&s, &id, Some(secret)).await;
    let mut b = Browser::new(&s);

    // Code A: login, exchange, id_token checked by the library (signature against JWKS,
    // iss, aud, exp, nonce), userinfo.
    let ra = request(&c, |p| p);
    let code = sign_in(&s, &mut b, &ra, "alice").await;
    let tokens = exchange(&c, &code, &ra.verifier).await.expect("tokens");
    let claims = verified(&s, &c, &tokens, Some(&ra.nonce), &[CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
    assert_eq!(claims["acr"], "1");
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert_eq!(claims["preferred_username"], "alice");
    assert_eq!(claims["email"], "alice@example.jp");
    assert_eq!(claims["aud"], json!([id]));
    assert_eq!(claims["auth_time"], json!(s.now_seconds()), "{claims}");
    let raw = tokens.id_token().expect("id").to_string();
    let part = |i: usize| -> Value {
        serde_json::from_slice(&base64_url(raw.split('.').nth(i).expect("part"))).expect("json")
    };
    assert_eq!(part(0)["alg"], "RS256");
    assert_eq!(part(0)["kid"].as_str().map(str::len), Some(43), "an RFC 7638 thumbprint");
    assert!(part(1)["sid"].is_string(), "{}", part(1));
    let info: CoreUserInfoClaims = c
        .user_info(tokens.access_token().clone(), None)
        .expect("userinfo endpoint")
        .request_async(&http())
        .await
        .expect("userinfo");
    let info = serde_json::to_value(&info).expect("json");
    assert_eq!((info["sub"].clone(), info["email"].clone()), (claims["sub"].clone(), json!("alice@example.jp")));

    // A resource server asks the introspection endpoint (RFC 7662), as the library does it
    // (HTTP Basic): active, with the token's subject, client and scope.
    let introspection = IntrospectionUrl::new(format!("{}/oidc/introspect", s.url)).expect("url");
    let resource_server = c.clone().set_introspection_url(introspection);
    let answer = resource_server.introspect(tokens.access_token()).request_async(&http()).await.expect("introspect");
    assert!(answer.active());
    assert_eq!(answer.sub(), claims["sub"].as_str());
    assert_eq!(answer.username(), Some("alice"));
    assert_eq!(answer.client_id().map(|c| c.as_str()), Some(id.as_str()));
    assert_eq!(answer.scopes().map(|v| v.iter().any(|sc| sc.as_str() == "openid")), Some(true));

    // Refresh rotation: each refresh token works once; the old one again is reuse and
    // revokes the family, the newest token included.
    let ra1 = tokens.refresh_token().expect("refresh token").clone();
    let second = refresh(&c, &ra1).await.expect("refresh");
    let ra2 = second.refresh_token().expect("rotated").clone();
    assert_ne!(ra1.secret(), ra2.secret());
    let again = verified(&s, &c, &second, None, &[CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
    assert_eq!(
        (again["sub"].clone(), again["auth_time"].clone()),
        (claims["sub"].clone(), claims["auth_time"].clone())
    );
    assert_eq!(refresh(&c, &ra1).await.expect_err("reuse"), "invalid_grant");
    assert_eq!(refresh(&c, &ra2).await.expect_err("family revoked"), "invalid_grant");
    // The family's access tokens end with it, not five minutes later.
    for t in [&tokens, &second] {
        let info: Result<CoreUserInfoClaims, _> =
            c.user_info(t.access_token().clone(), None).expect("userinfo endpoint").request_async(&http()).await;
        assert!(info.is_err(), "a revoked grant's access token is refused at userinfo");
        let answer = resource_server.introspect(t.access_token()).request_async(&http()).await.expect("introspect");
        assert!(!answer.active(), "and is inactive at introspection");
        assert_eq!(answer.sub(), None, "an inactive token says nothing more");
    }
    assert_eq!(
        s.events("action=oidc.refresh.reused").await.len(),
        1,
        "the reuse is audited once; the family's newest token is answered as revoked, not as another reuse"
    );

    // Code B (the session exists: no login page): a replayed code is refused and revokes
    // what the first exchange issued.
    let rb = request(&c, |p| p);
    let code_b = code_of(&s, &b.get(&path_of(&s, &rb.url)).await, &rb);
    // A wrong verifier is refused and does not use the code up.
    let wrong = PkceCodeVerifier::new("x".repeat(43));
    assert_eq!(exchange(&c, &code_b, &wrong).await.expect_err("pkce"), "invalid_grant");
    let tb = exchange(&c, &code_b, &rb.verifier).await.expect("tokens");
    assert_eq!(exchange(&c, &code_b, &rb.verifier).await.expect_err("replay"), "invalid_grant");
    assert_eq!(refresh(&c, tb.refresh_token().expect("rt")).await.expect_err("revoked"), "invalid_grant");
    assert_eq!(s.events("action=oidc.code.replayed").await.len(), 1);

    // A grant that outlives the step-up below: the sign-on stays the same when the session
    // id rotates.
    let rk = request(&c, |p| p);
    let code_k = code_of(&s, &b.get(&path_of(&s, &rk.url)).await, &rk);
    let tk = exchange(&c, &code_k, &rk.verifier).await.expect("tokens");

    // acr_values=2 makes a level-1 session step up with TOTP.
    let totp = enrol_totp(&s, "alice").await;
    let rc = request(&c, |mut p| {
        p.push(("acr", "2".into()));
        p
    });
    let step = b.get(&path_of(&s, &rc.url)).await;
    assert!(step.location().contains("level=2"), "{}", step.location());
    let factor = b.get(step.location()).await;
    assert!(factor.body.contains("action=\"/login/factor\""), "{}", factor.body);
    let code = totp.generate(u64::try_from(s.now_seconds()).expect("time"));
    let (csrf, return_to) = (factor.csrf(), hidden(&factor, "return_to"));
    let done =
        b.post("/login/factor", &[("csrf", &csrf), ("code", &code), ("return_to", &return_to), ("level", "2")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let code_c = code_of(&s, &b.get(done.location()).await, &rc);
    let tc = exchange(&c, &code_c, &rc.verifier).await.expect("tokens");
    let stepped = verified(&s, &c, &tc, Some(&rc.nonce), &[CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
    assert_eq!(stepped["acr"], "2");
    assert_eq!(stepped["amr"], json!(["pwd", "otp", "mfa"]));
    let tk = refresh(&c, tk.refresh_token().expect("rt")).await.expect("the grant survives the step-up");

    // prompt=none: level 3 cannot be had without interaction; nobody signed in is login_required.
    let rn = request(&c, |mut p| {
        p.extend([("prompt", "none".into()), ("acr", "3".into())]);
        p
    });
    let q = callback(&b.get(&path_of(&s, &rn.url)).await);
    assert_eq!(param(&q, "error").as_deref(), Some("interaction_required"));
    let mut stranger = Browser::new(&s);
    let rn = request(&c, |mut p| {
        p.push(("prompt", "none".into()));
        p
    });
    let q = callback(&stranger.get(&path_of(&s, &rn.url)).await);
    assert_eq!(param(&q, "error").as_deref(), Some("login_required"));
    assert_eq!(param(&q, "state").as_deref(), Some(rn.state.secret().as_str()));

    // Logout from the relying party with an id_token_hint: back to the registered URI with
    // the state, the session ended, and its refresh tokens dead.
    let hint = tc.id_token().expect("id").to_string();
    let out = b
        .get(&format!(
            "/oidc/logout?id_token_hint={hint}&post_logout_redirect_uri={}&state=bye1",
            sekimori_core::names::percent_encode(AFTER_LOGOUT)
        ))
        .await;
    assert_eq!((out.status, out.location()), (StatusCode::SEE_OTHER, "http://rp.test/bye?state=bye1"));
    assert_eq!(b.whoami().await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(refresh(&c, tc.refresh_token().expect("rt")).await.expect_err("session over"), "invalid_grant");
    assert_eq!(refresh(&c, tk.refresh_token().expect("rt")).await.expect_err("sign-on over"), "invalid_grant");
    let userinfo = reqwest::Client::new()
        .get(format!("{}/oidc/userinfo", s.url))
        .bearer_auth(tc.access_token().secret())
        .send()
        .await
        .expect("send");
    assert_eq!(userinfo.status(), StatusCode::UNAUTHORIZED);
    assert!(userinfo.headers()["www-authenticate"].to_str().expect("ascii").contains("invalid_token"));
}

fn base64_url(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).expect("base64url")
}

#[tokio::test]
async fn code_flow_with_pkce_refresh_rotation_reuse_detection_and_step_up_on_sqlite() {
    code_flow(Backend::Sqlite).await;
}

#[tokio::test]
async fn code_flow_with_pkce_refresh_rotation_reuse_detection_and_step_up_on_postgres() {
    code_flow(Backend::Postgres).await;
}

/// `prompt=login` and `max_age` make a signed-in user sign in again; the id_token's
/// `auth_time` is the new login's.
#[tokio::test]
async fn prompt_login_and_max_age_force_a_fresh_login() {
    let s = TestServer::start().await;
    with_password(&s, "alice").await;
    let (id, secret) = register(&s, "wiki", json!({})).await;
    let c = rp(&s, &id, secret).await;
    let mut b = Browser::new(&s);
    let first = request(&c, |p| p);
    let code = sign_in(&s, &mut b, &first, "alice").await;
    let t = exchange(&c, &code, &first.verifier).await.expect("tokens");
    let first_login = verified(&s, &c, &t, Some(&first.nonce), &[CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);

    s.clock.advance_seconds(120);
    // Within max_age the session is enough; beyond it, a login.
    let fresh_enough = request(&c, |mut p| {
        p.push(("max_age", "600".into()));
        p
    });
    code_of(&s, &b.get(&path_of(&s, &fresh_enough.url)).await, &fresh_enough);
    let too_old = request(&c, |mut p| {
        p.push(("max_age", "60".into()));
        p
    });
    let code = sign_in(&s, &mut b, &too_old, "alice").await;
    let t = exchange(&c, &code, &too_old.verifier).await.expect("tokens");
    let second = verified(&s, &c, &t, Some(&too_old.nonce), &[CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
    assert_eq!(second["auth_time"].as_i64(), Some(first_login["auth_time"].as_i64().expect("t") + 120));

    s.clock.advance_seconds(30);
    let again = request(&c, |mut p| {
        p.push(("prompt", "login".into()));
        p
    });
    let to_login = b.get(&path_of(&s, &again.url)).await;
    assert!(to_login.location().contains("fresh=true"), "{}", to_login.location());
    // Coming back without signing in again gets no code.
    let back = hidden(&b.get(to_login.location()).await, "return_to");
    let not_yet = b.get(&back).await;
    assert!(not_yet.location().starts_with("/login?"), "{}", not_yet.location());
    let code = sign_in(&s, &mut b, &again, "alice").await;
    let t = exchange(&c, &code, &again.verifier).await.expect("tokens");
    let third = verified(&s, &c, &t, Some(&again.nonce), &[CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
    assert_eq!(third["auth_time"].as_i64(), Some(s.now_seconds()));
}

/// Errors before the redirect URI is verified are shown, never redirected; later ones go
/// back to the client. Redirect URIs match exactly.
#[tokio::test]
async fn requests_are_checked_and_redirect_uris_match_exactly() {
    let s = TestServer::start().await;
    with_password(&s, "alice").await;
    let (public_id, public_secret) = register(&s, "spa", json!({"public": true})).await;
    assert!(public_secret.is_none(), "a public client gets no secret");
    let mut b = Browser::new(&s);
    let base = format!("/oidc/authorize?response_type=code&scope=openid&client_id={public_id}");
    let enc = sekimori_core::names::percent_encode;
    for (query, why) in [
        (format!("{base}&redirect_uri={}", enc("http://rp.test/cb/")), "not registered"),
        (format!("{base}&redirect_uri={}", enc("http://rp.test/cb?x=1")), "not registered"),
        (format!("{base}&redirect_uri={}", enc("http://evil.test/cb")), "not registered"),
        (base.clone(), "redirect_uri is missing"),
        (
            format!("/oidc/authorize?response_type=code&scope=openid&client_id=nope&redirect_uri={}", enc(REDIRECT)),
            "unknown client_id",
        ),
    ] {
        let p = b.get(&query).await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(p.location().is_empty(), "never redirected: {query}");
        assert!(p.body.contains(why), "{why}: {}", p.body);
    }
    let with_uri = format!("{base}&redirect_uri={}&state=s1", enc(REDIRECT));
    for (extra, error) in [
        ("", "invalid_request"), // a public client without PKCE
        ("&code_challenge=abc&code_challenge_method=plain", "invalid_request"),
        ("&response_type=token", "invalid_request"), // a duplicate parameter
        ("&request=eyJ", "request_not_supported"),
        ("&prompt=none%20login", "invalid_request"),
    ] {
        let p = b.get(&format!("{with_uri}{extra}")).await;
        if p.status == StatusCode::BAD_REQUEST {
            assert_eq!(extra, "&response_type=token", "only a malformed query is answered directly");
            assert!(p.headers["content-type"].to_str().expect("ascii").starts_with("application/problem+json"));
            continue;
        }
        let q = callback(&p);
        assert_eq!(param(&q, "error").as_deref(), Some(error), "{extra}");
        assert_eq!(param(&q, "state").as_deref(), Some("s1"));
    }
    let no_openid = b.get(&with_uri.replace("scope=openid", "scope=email")).await;
    assert_eq!(param(&callback(&no_openid), "error").as_deref(), Some("invalid_scope"));

    // The public client's full flow, with PKCE and no secret; a secret from it is refused.
    let c = rp(&s, &public_id, None).await;
    let r = request(&c, |p| p);
    let code = sign_in(&s, &mut b, &r, "alice").await;
    let t = exchange(&c, &code, &r.verifier).await.expect("tokens");
    verified(&s, &c, &t, Some(&r.nonce), &[CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
    let form = [("grant_type", "refresh_token"), ("client_id", public_id.as_str()), ("client_secret", "x")];
    let (status, body) = token_call(&s, &form, None).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
}

/// Rotation: new keys sign at once, the old ones stay in the JWKS until every token they
/// signed has expired, then leave it.
#[tokio::test]
async fn signing_keys_rotate_and_old_keys_stay_until_their_tokens_expire() {
    let s = TestServer::start().await;
    with_password(&s, "alice").await;
    let (id, secret) = register(&s, "wiki", json!({})).await;
    let c = rp(&s, &id, secret.clone()).await;
    let mut b = Browser::new(&s);
    let r = request(&c, |p| p);
    let code = sign_in(&s, &mut b, &r, "alice").await;
    let old = exchange(&c, &code, &r.verifier).await.expect("tokens");
    let jwks = |s: &TestServer| {
        let url = format!("{}/oidc/jwks", s.url);
        async move { reqwest::get(url).await.expect("jwks").json::<Value>().await.expect("json") }
    };
    let kids = |v: &Value| -> Vec<String> {
        v["keys"].as_array().expect("keys").iter().map(|k| k["kid"].as_str().expect("kid").to_owned()).collect()
    };
    let before = kids(&jwks(&s).await);
    assert_eq!(before.len(), 2, "one RS256 and one ES256 key");

    let (status, rotated) = s.admin_call(Method::POST, "/api/v1/admin/oidc/keys/rotate", None).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let during = kids(&jwks(&s).await);
    assert_eq!(during.len(), 4, "old and new keys are published");
    // A relying party that discovers again verifies both the old token and a new one.
    let c = rp(&s, &id, secret).await;
    verified(&s, &c, &old, Some(&r.nonce), &[CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
    let r2 = request(&c, |p| p);
    let code = code_of(&s, &b.get(&path_of(&s, &r2.url)).await, &r2);
    let new = exchange(&c, &code, &r2.verifier).await.expect("tokens");
    let kid_of = |t: &CoreTokenResponse| {
        let raw = t.id_token().expect("id").to_string();
        let h: Value = serde_json::from_slice(&base64_url(raw.split('.').next().expect("h"))).expect("json");
        h["kid"].as_str().expect("kid").to_owned()
    };
    assert!(before.contains(&kid_of(&old)) && !before.contains(&kid_of(&new)), "the new key signs at once");
    verified(&s, &c, &new, Some(&r2.nonce), &[CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);

    // id_tokens and access tokens live 300 s; with 300 s of skew the old keys go after 600 s.
    s.clock.advance_seconds(599);
    assert_eq!(kids(&jwks(&s).await).len(), 4);
    s.clock.advance_seconds(2);
    let after = kids(&jwks(&s).await);
    assert_eq!(after.len(), 2);
    assert!(after.iter().all(|k| !before.contains(k)), "only the new keys remain");
    // Deleted from the store at the next reload of the key set (every minute).
    s.clock.advance_seconds(61);
    let (_, listed) = s.admin_call(Method::GET, "/api/v1/admin/oidc/keys", None).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "retired keys are deleted: {listed}");
    assert!(listed.to_string().find("private").is_none());
    assert_eq!(s.events("action=oidc.key.created").await.len(), 4);
}

/// Logout without a hint asks the user first (CSRF-protected form); an unregistered
/// post-logout URI is refused.
#[tokio::test]
async fn logout_without_a_hint_asks_first() {
    let s = TestServer::start().await;
    with_password(&s, "alice").await;
    let (id, secret) = register(&s, "wiki", json!({})).await;
    let c = rp(&s, &id, secret).await;
    let mut b = Browser::new(&s);
    let r = request(&c, |p| p);
    sign_in(&s, &mut b, &r, "alice").await;

    let bad = b.get(&format!("/oidc/logout?client_id={id}&post_logout_redirect_uri=http%3A%2F%2Fevil.test%2F")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(b.whoami().await.0, StatusCode::OK, "nothing happened");
    let ask = b
        .get(&format!(
            "/oidc/logout?client_id={id}&post_logout_redirect_uri={}&state=z",
            sekimori_core::names::percent_encode(AFTER_LOGOUT)
        ))
        .await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(ask.body.contains("Sign out of Sekimori?"), "{}", ask.body);
    assert_eq!(b.whoami().await.0, StatusCode::OK, "not until confirmed");
    let forged = b
        .post("/oidc/logout", &[("csrf", "forged"), ("client_id", &id), ("post_logout_redirect_uri", AFTER_LOGOUT)])
        .await;
    assert_eq!(forged.status, StatusCode::OK, "a forged post only asks again");
    assert_eq!(b.whoami().await.0, StatusCode::OK);
    let csrf = ask.csrf();
    let done = b
        .post(
            "/oidc/logout",
            &[("csrf", &csrf), ("client_id", &id), ("post_logout_redirect_uri", AFTER_LOGOUT), ("state", "z")],
        )
        .await;
    assert_eq!((done.status, done.location()), (StatusCode::SEE_OTHER, "http://rp.test/bye?state=z"));
    assert_eq!(b.whoami().await.0, StatusCode::UNAUTHORIZED);
}

/// `acr_values=3` asks for the authenticator: the login page points to the QR login, whose
/// level-3 session then gets the code; the id_token says `acr` 3 and `amr` `qr`.
#[tokio::test]
async fn acr_3_is_met_by_a_qr_login_with_the_authenticator() {
    let s = TestServer::start().await;
    let alice = s.enrolled("alice").await;
    let (id, secret) = register(&s, "vault", json!({})).await;
    let c = rp(&s, &id, secret).await;
    let mut b = Browser::new(&s);
    let r = request(&c, |mut p| {
        p.push(("acr", "3".into()));
        p
    });
    let to_login = b.get(&path_of(&s, &r.url)).await;
    assert!(to_login.location().contains("level=3"), "{}", to_login.location());
    let page = b.get(to_login.location()).await;
    assert!(page.body.contains("/login/qr?return_to="), "the page points to the authenticator: {}", page.body);
    let back = sekimori_client::percent_decode(
        page.body.split("/login/qr?return_to=").nth(1).expect("link").split('"').next().expect("value"),
    )
    .expect("decoded");

    // The QR login, as the hosted QR page and the authenticator do it.
    let assertion = s.qr_login(&alice).await;
    let resp = s
        .http()
        .post(format!("{}/api/v1/session/assertion", s.url))
        .header("origin", &s.url)
        .json(&json!({"assertion": assertion, "return_to": back}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = resp.headers()["set-cookie"].to_str().expect("ascii").split(';').next().expect("pair").to_owned();
    let (name, value) = cookie.split_once('=').expect("pair");
    b.jar.insert(name.to_owned(), value.to_owned());
    let body: Value = resp.json().await.expect("json");
    let code = code_of(&s, &b.get(body["return_to"].as_str().expect("return_to")).await, &r);
    let t = exchange(&c, &code, &r.verifier).await.expect("tokens");
    let claims = verified(&s, &c, &t, Some(&r.nonce), &[CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
    assert_eq!(claims["acr"], "3");
    assert!(claims["amr"].as_array().expect("amr").contains(&json!("qr")), "{claims}");
}

/// Disabling a user, an admin's password reset and removing a factor end the user's
/// sessions and the grants resting on them for good: re-enabling brings none back.
/// (Disabling used to only pause them: after `user enable` the old cookie and refresh
/// token worked again.)
async fn trust_withdrawn_ends_sessions_for_good(backend: Backend) {
    let s = TestServer::start_on(backend).await;
    with_password(&s, "alice").await;
    let (id, secret) = register(&s, "wiki", json!({})).await;
    let c = rp(&s, &id, secret).await;
    let patch = |disabled: bool| {
        let s = &s;
        async move {
            let (status, body) =
                s.admin_call(Method::PATCH, "/api/v1/admin/users/alice", Some(json!({"disabled": disabled}))).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    };
    let signed_in = |b: Browser| async move {
        let mut b = b;
        let (status, _) = b.whoami().await;
        (status == StatusCode::OK, b)
    };

    // Disable, then enable: the old cookie and refresh token stay dead.
    let mut b = Browser::new(&s);
    let r = request(&c, |p| p);
    let code = sign_in(&s, &mut b, &r, "alice").await;
    let tokens = exchange(&c, &code, &r.verifier).await.expect("tokens");
    let refresh_token = tokens.refresh_token().expect("refresh").clone();
    let (alive, b) = signed_in(b).await;
    assert!(alive);
    patch(true).await;
    patch(false).await;
    let (alive, _) = signed_in(b).await;
    assert!(!alive, "the session ended with the disable");
    assert_eq!(refresh(&c, &refresh_token).await.expect_err("grant ended"), "invalid_grant");
    let ended = s.events("action=auth.session.revoked").await;
    let last = ended.last().expect("an event");
    assert_eq!(last["sekimori"]["cause"], "iam.user.disabled", "{ended:?}");

    // An admin's password reset signs out whoever knew the old one.
    let mut b = Browser::new(&s);
    assert_eq!(b.login("alice", "kumamoto42", "/").await.status, StatusCode::SEE_OTHER);
    let (status, _) = s
        .admin_call(Method::PUT, "/api/v1/admin/users/alice/password", Some(json!({"password": "kumamoto-castle-7"})))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (alive, _) = signed_in(b).await;
    assert!(!alive, "the session ended with the reset");

    // Removing a factor does too.
    let mut b = Browser::new(&s);
    assert_eq!(b.login("alice", "kumamoto-castle-7", "/").await.status, StatusCode::SEE_OTHER);
    let (_, e) = s.admin_call(Method::POST, "/api/v1/admin/users/alice/totp", None).await;
    let totp_id = e["id"].as_str().expect("id").to_owned();
    let (status, _) = s.admin_call(Method::DELETE, &format!("/api/v1/admin/users/alice/totp/{totp_id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (alive, _) = signed_in(b).await;
    assert!(!alive, "the session ended with the factor");
    let causes: Vec<String> = s
        .events("action=auth.session.revoked")
        .await
        .iter()
        .map(|e| e["sekimori"]["cause"].as_str().expect("cause").to_owned())
        .collect();
    // (The first is the password set before the first login.)
    assert_eq!(
        causes,
        ["credential.password.set", "iam.user.disabled", "credential.password.set", "credential.totp.deleted"]
    );
}

#[tokio::test]
async fn trust_withdrawn_ends_sessions_for_good_on_sqlite() {
    trust_withdrawn_ends_sessions_for_good(Backend::Sqlite).await;
}

#[tokio::test]
async fn trust_withdrawn_ends_sessions_for_good_on_postgres() {
    trust_withdrawn_ends_sessions_for_good(Backend::Postgres).await;
}
