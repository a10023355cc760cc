//! Hosted pages: the QR login page (and its API), and the enrolment page that an https
//! enrolment link opens.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use sekimori_core::AppId;
use sekimori_core::ErrorCode;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::extract::{ApiQuery, PageClient};
use crate::problem::{ApiError, ApiResult};
use crate::{wait_duration, AppState};

/// The header a QR login page polls with.
pub const POLL_SECRET_HEADER: &str = "sekimori-poll-secret";

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/login/qr", get(qr_page))
        .route("/static/qr-login.js", get(qr_script))
        .route("/static/passkey.js", get(passkey_script))
        .route("/static/signals.js", get(signals_script))
        .route("/enroll", get(enroll_page))
        .route("/api/v1/qr-sessions", post(create_qr).options(preflight))
        .route("/api/v1/qr-sessions/{id}", get(qr_status).options(preflight))
        .route("/sdk/v1/sekimori.js", get(sdk_script))
}

fn page(html: String) -> Response {
    ([(header::CONTENT_SECURITY_POLICY, CSP), (header::X_FRAME_OPTIONS, "DENY")], Html(html)).into_response()
}

async fn qr_page() -> Response {
    page(include_str!("../../static/qr-login.html").to_owned())
}

async fn qr_script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], include_str!("../../static/qr-login.js"))
        .into_response()
}

async fn signals_script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], include_str!("../../static/signals.js"))
        .into_response()
}

async fn passkey_script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], include_str!("../../static/passkey.js"))
        .into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrollQuery {
    c: String,
}

async fn enroll_page(State(s): State<AppState>, ApiQuery(q): ApiQuery<EnrollQuery>) -> ApiResult<Response> {
    if q.c.len() > 128 || !q.c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(ApiError::new(ErrorCode::InvalidRequest, "c is not an enrolment code"));
    }
    let base = s.gate.public_url().as_str();
    let link = format!("sekimori://enroll?u={}&c={}", sekimori_gate::enroll::percent_encode(base), q.c);
    let svg = crate::qr::svg(&link)?;
    Ok(page(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Enrol an authenticator · Sekimori</title>\
         <meta name=\"viewport\" content=\"width=device-width\"></head><body style=\"font-family:sans-serif;max-width:32em;margin:2em auto\">\
         <h1>Enrol your authenticator</h1>\
         <p>On your phone: <a id=\"open-app\" href=\"/app/#enroll={app_link}\">Open the Sekimori app</a> \
         (install it from the browser's menu: \"Add to Home Screen\"), or scan this code with the app:</p>\
         <div>{svg}</div><p>With the command-line authenticator:</p>\
         <pre>sekimori authenticator enroll '{link}'</pre>\
         <p>The code works once and expires soon.</p></body></html>",
        app_link = sekimori_gate::enroll::percent_encode(&link),
    )))
}

/// The JS snippet (docs/protocol.md, section 15): loadable from any page (CORS, so
/// `integrity` works), cached briefly.
pub const SDK_SCRIPT: &str = include_str!("../../static/sekimori.js");

async fn sdk_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::HeaderName::from_static("cross-origin-resource-policy"), "cross-origin"),
        ],
        SDK_SCRIPT,
    )
        .into_response()
}

fn origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

/// Whether a browser request comes from Sekimori's own pages (or from no browser page).
fn own_origin(s: &AppState, headers: &HeaderMap) -> bool {
    origin(headers).is_none_or(|o| o == s.gate.public_url().as_str())
}

fn allow_origin(resp: &mut Response, origin: &str) {
    if let Ok(v) = header::HeaderValue::from_str(origin) {
        resp.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    resp.headers_mut().append(header::VARY, header::HeaderValue::from_static("Origin"));
}

/// CORS preflight for the snippet's requests: the actual answers say whether the page's
/// origin may read them.
async fn preflight(headers: HeaderMap) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if let Some(o) = origin(&headers).map(str::to_owned) {
        allow_origin(&mut resp, &o);
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, header::HeaderValue::from_static("GET, POST"));
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, header::HeaderValue::from_static(POLL_SECRET_HEADER));
        h.insert(header::ACCESS_CONTROL_MAX_AGE, header::HeaderValue::from_static("600"));
    }
    resp
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateQuery {
    app: Option<AppId>,
}

/// Sekimori's own page starts a QR login without `app`; an app's page (the JS snippet)
/// names its app and must be served from one of the app's origins.
async fn create_qr(
    State(s): State<AppState>,
    headers: HeaderMap,
    PageClient(client): PageClient,
    ApiQuery(q): ApiQuery<CreateQuery>,
) -> ApiResult<Response> {
    let app = match &q.app {
        Some(id) => Some(s.gate.apps().snippet_app(id, origin(&headers)).await?),
        None if own_origin(&s, &headers) => None,
        None => {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "a page on another origin must name its app (data-app) to start a login",
            ))
        }
    };
    let created = s.gate.qr().create_qr(&client, app.as_ref()).await?;
    let svg = crate::qr::svg(&created.payload)?;
    let mut body = json!(created);
    body["svg"] = Value::String(svg);
    let mut resp = (StatusCode::CREATED, Json(body)).into_response();
    if let (Some(_), Some(o)) = (&app, origin(&headers)) {
        allow_origin(&mut resp, o);
    }
    Ok(resp)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WaitQuery {
    wait: Option<u64>,
}

async fn qr_status(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<WaitQuery>,
) -> ApiResult<Response> {
    let secret = headers
        .get(POLL_SECRET_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "the sekimori-poll-secret header is required"))?;
    let status = s.gate.qr().qr_status(&id, secret, wait_duration(q.wait)).await?;
    let mut resp = Json(json!(status)).into_response();
    if let Some(o) = origin(&headers).filter(|_| !own_origin(&s, &headers)) {
        let allowed = s.gate.apps().qr_origins(&id).await?;
        if sekimori_gate::snippet::normalize_origin(o).is_ok_and(|n| allowed.contains(&n)) {
            allow_origin(&mut resp, o);
        }
    }
    Ok(resp)
}
