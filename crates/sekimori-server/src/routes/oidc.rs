//! The OIDC provider's endpoints (docs/protocol.md section 16): discovery, JWKS,
//! authorization (and its continuation after the hosted login), token, userinfo and
//! RP-initiated logout. OAuth errors are answered as RFC 6749 requires
//! (`application/json` with `error` and `error_description`), with the problem-document
//! members alongside; errors at the authorization endpoint that cannot go back to a
//! verified redirect URI are shown to the user.

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use sekimori_gate::oidc::{
    AuthorizeParams, AuthorizeRefusal, Authorized, IntrospectionRequest, OidcError, TokenRequest, ValidRequest,
};
use serde::Deserialize;
use serde_json::json;

use super::login::{self, current_session, SESSION_COOKIE};
use crate::extract::{read_body, ApiQuery, PageForm};
use crate::problem::ApiResult;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/oidc/jwks", get(jwks))
        .route("/oidc/authorize", get(authorize_get).post(authorize_post))
        .route("/oidc/authorize/continue", get(authorize_continue))
        .route("/oidc/token", post(token))
        .route("/oidc/userinfo", get(userinfo).post(userinfo))
        .route("/oidc/introspect", post(introspect))
        .route("/oidc/logout", get(logout_get).post(logout_post))
}

/// An OAuth error response.
fn oauth_error(e: &OidcError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = json!({
        "error": e.error,
        "error_description": e.description,
        "type": format!("urn:sekimori:problem:oauth.{}", e.error),
        "title": e.error,
        "status": e.status,
        "detail": e.description,
    });
    let mut resp = (status, Json(body)).into_response();
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if e.status == 401 {
        let challenge = if e.error == "invalid_token" {
            format!("Bearer error=\"invalid_token\", error_description=\"{}\"", e.description.replace('"', "'"))
        } else {
            "Basic realm=\"sekimori\"".to_owned()
        };
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            h.insert(header::WWW_AUTHENTICATE, v);
        }
    }
    resp
}

fn no_store(mut resp: Response) -> Response {
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

/// An error shown to the user at the authorization endpoint.
fn error_page(headers: &HeaderMap, e: &OidcError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let en = format!("The application's sign-in request is invalid: {}.", e.description);
    let ja = format!("アプリケーションからのログイン要求が不正です: {}。", e.description);
    no_store(login::message_page(headers, status, &en, &ja, "", Vec::new()))
}

async fn discovery(State(s): State<AppState>) -> Response {
    let mut resp = Json(s.gate.oidc().oidc_discovery()).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    resp
}

async fn jwks(State(s): State<AppState>) -> Response {
    match s.gate.oidc().oidc_jwks().await {
        Ok(keys) => {
            let mut resp = Json(keys).into_response();
            resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
            resp
        }
        Err(e) => oauth_error(&e),
    }
}

async fn authorize_get(
    State(s): State<AppState>,
    headers: HeaderMap,
    ApiQuery(p): ApiQuery<AuthorizeParams>,
) -> ApiResult<Response> {
    authorize(&s, &headers, &p).await
}

async fn authorize_post(
    State(s): State<AppState>,
    headers: HeaderMap,
    PageForm(p): PageForm<AuthorizeParams>,
) -> ApiResult<Response> {
    authorize(&s, &headers, &p).await
}

async fn authorize(s: &AppState, headers: &HeaderMap, p: &AuthorizeParams) -> ApiResult<Response> {
    match s.gate.oidc().oidc_authorize_request(p).await {
        Ok(req) => decide(s, headers, &req, false).await,
        Err(AuthorizeRefusal::Show(e)) => Ok(error_page(headers, &e)),
        Err(AuthorizeRefusal::Redirect(to)) => Ok(no_store(login::redirect(&to, Vec::new()))),
    }
}

async fn decide(s: &AppState, headers: &HeaderMap, req: &ValidRequest, continued: bool) -> ApiResult<Response> {
    let session = current_session(&s.gate, headers).await?;
    match s.gate.oidc().oidc_authorize(req, session.as_ref(), continued).await {
        Ok(Authorized::Redirect(to)) => Ok(no_store(login::redirect(&to, Vec::new()))),
        Ok(Authorized::Login { level, fresh, request }) => {
            let back = format!("/oidc/authorize/continue?request={request}");
            let to = format!(
                "/login?return_to={}&level={level}{}",
                sekimori_core::names::percent_encode(&back),
                if fresh { "&fresh=true" } else { "" }
            );
            Ok(no_store(login::redirect(&to, Vec::new())))
        }
        Err(e) => Ok(error_page(headers, &e)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContinueQuery {
    request: String,
}

/// The browser is back from the hosted login.
async fn authorize_continue(
    State(s): State<AppState>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<ContinueQuery>,
) -> ApiResult<Response> {
    match s.gate.oidc().open_authorize_request(&q.request) {
        Some(req) => decide(&s, &headers, &req, true).await,
        None => Ok(no_store(login::message_page(
            &headers,
            StatusCode::BAD_REQUEST,
            "The sign-in took too long. Go back to the application and start again.",
            "時間切れです。アプリケーションに戻って最初からやり直してください。",
            "",
            Vec::new(),
        ))),
    }
}

/// HTTP Basic client credentials (RFC 6749 section 2.3.1: each part form-urlencoded).
fn basic(headers: &HeaderMap) -> Result<Option<(String, String)>, OidcError> {
    let Some(v) = headers.get(header::AUTHORIZATION) else { return Ok(None) };
    let bad = || OidcError::invalid_client("malformed Basic credentials");
    let v = v.to_str().map_err(|_| bad())?;
    let Some(b64) = v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")) else {
        return Err(OidcError::invalid_client("the token endpoint takes Basic client credentials"));
    };
    let raw = base64::engine::general_purpose::STANDARD.decode(b64.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let decode = |s: &str| -> Result<String, OidcError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&format!("v={s}")).map_err(|_| bad())?;
        pairs.into_iter().next().map(|(_, v)| v).ok_or_else(bad)
    };
    Ok(Some((decode(id)?, decode(secret)?)))
}

/// A client's form post to the token or introspection endpoint: the form, and the
/// client's HTTP Basic credentials if sent; or the OAuth error to answer.
async fn client_form<T: serde::de::DeserializeOwned>(
    s: &AppState,
    req: Request,
) -> Result<(T, Option<(String, String)>), Response> {
    let headers = req.headers().clone();
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return Err(oauth_error(&OidcError::invalid_request("the body must be application/x-www-form-urlencoded")));
    }
    let body = read_body(req, s.body_limit).await.map_err(|e| oauth_error(&OidcError::invalid_request(e.0.detail)))?;
    let form: T = serde_urlencoded::from_bytes(&body)
        .map_err(|e| oauth_error(&OidcError::invalid_request(format!("invalid form: {e}"))))?;
    let credentials = basic(&headers).map_err(|e| oauth_error(&e))?;
    Ok((form, credentials))
}

async fn token(State(s): State<AppState>, req: Request) -> Response {
    let (form, credentials) = match client_form::<TokenRequest>(&s, req).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    match s.gate.oidc().token(&form, credentials).await {
        Ok(tokens) => no_store(Json(tokens).into_response()),
        Err(e) => oauth_error(&e),
    }
}

/// RFC 7662 token introspection, for resource servers holding a confidential client.
async fn introspect(State(s): State<AppState>, req: Request) -> Response {
    let (form, credentials) = match client_form::<IntrospectionRequest>(&s, req).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    match s.gate.oidc().introspect(&form, credentials).await {
        Ok(answer) => no_store(Json(answer).into_response()),
        Err(e) => oauth_error(&e),
    }
}

async fn userinfo(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
    let Some(token) = token else {
        let mut resp = StatusCode::UNAUTHORIZED.into_response();
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"sekimori\""));
        return resp;
    };
    match s.gate.oidc().userinfo(token.trim()).await {
        Ok(claims) => no_store(Json(claims).into_response()),
        Err(e) => oauth_error(&e),
    }
}

#[derive(Debug, Default, Deserialize)]
struct LogoutParams {
    id_token_hint: Option<String>,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    /// On the confirmation form.
    csrf: Option<String>,
}

async fn logout_get(
    State(s): State<AppState>,
    headers: HeaderMap,
    ApiQuery(p): ApiQuery<LogoutParams>,
) -> ApiResult<Response> {
    logout(&s, &headers, &p, false).await
}

async fn logout_post(
    State(s): State<AppState>,
    headers: HeaderMap,
    PageForm(p): PageForm<LogoutParams>,
) -> ApiResult<Response> {
    logout(&s, &headers, &p, true).await
}

/// RP-initiated logout: at once when a verified id_token_hint names the signed-in user (or
/// nobody is signed in), otherwise after the user confirms on a form.
async fn logout(s: &AppState, headers: &HeaderMap, p: &LogoutParams, posted: bool) -> ApiResult<Response> {
    let hint = match s
        .gate
        .oidc()
        .logout_hint(
            p.id_token_hint.as_deref(),
            p.client_id.as_deref(),
            p.post_logout_redirect_uri.as_deref(),
            p.state.as_deref(),
        )
        .await
    {
        Ok(h) => h,
        Err(e) => return Ok(error_page(headers, &e)),
    };
    let session = current_session(&s.gate, headers).await?;
    let confirmed = posted && p.csrf.as_deref().is_some_and(|c| login::csrf_ok(&s.gate, headers, c));
    let hinted = hint.subject.is_some() && session.as_ref().is_none_or(|v| Some(&v.user_id) == hint.subject.as_ref());
    if session.is_some() && !confirmed && !hinted {
        let (token, cookie) = login::csrf(&s.gate, headers);
        let field = |name: &str, v: &Option<String>| {
            v.as_deref()
                .map(|v| format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">", login::esc(v)))
                .unwrap_or_default()
        };
        let form = format!(
            "<form method=\"post\" action=\"/oidc/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">{}{}{}{}\
             <button type=\"submit\">OK</button></form>",
            login::esc(&token),
            field("id_token_hint", &p.id_token_hint),
            field("client_id", &p.client_id),
            field("post_logout_redirect_uri", &p.post_logout_redirect_uri),
            field("state", &p.state),
        );
        let mut page = login::message_page(
            headers,
            StatusCode::OK,
            "Sign out of Sekimori?",
            "関守からログアウトしますか?",
            &form,
            cookie.into_iter().collect(),
        );
        // The confirmed form ends at the client's post-logout page.
        login::allow_form_target(&mut page, hint.redirect.as_deref().and_then(login::csp_origin).as_deref());
        return Ok(no_store(page));
    }
    if let Some(secret) = login::cookie_value(headers, SESSION_COOKIE) {
        s.gate.sessions().logout(secret).await?;
    }
    let clear = vec![login::set_cookie(&s.gate, SESSION_COOKIE, "", "/", "Lax", 0)];
    Ok(no_store(match hint.redirect {
        Some(to) => login::redirect(&to, clear),
        None => login::message_page(headers, StatusCode::OK, "You are signed out.", "ログアウトしました。", "", clear),
    }))
}
