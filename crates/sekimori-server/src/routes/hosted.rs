//! Hosted pages: the QR login page (and its API), and the enrolment page that an https
//! enrolment link opens.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
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
        .route("/enroll", get(enroll_page))
        .route("/api/v1/qr-sessions", post(create_qr))
        .route("/api/v1/qr-sessions/{id}", get(qr_status))
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrollQuery {
    c: String,
}

async fn enroll_page(State(s): State<AppState>, ApiQuery(q): ApiQuery<EnrollQuery>) -> ApiResult<Response> {
    if q.c.len() > 128 || !q.c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(ApiError::new(ErrorCode::InvalidRequest, "c is not an enrolment code"));
    }
    let base = s.gate.settings().public_url.trim_end_matches('/');
    let link = format!("sekimori://enroll?u={}&c={}", sekimori_gate::enroll::percent_encode(base), q.c);
    let svg = crate::qr::svg(&link)?;
    Ok(page(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Enrol an authenticator · Sekimori</title>\
         <meta name=\"viewport\" content=\"width=device-width\"></head><body style=\"font-family:sans-serif;max-width:32em;margin:2em auto\">\
         <h1>Enrol your authenticator</h1><p>Scan this code with your Sekimori authenticator, or run:</p>\
         <pre>sekimori authenticator enroll '{link}'</pre><div>{svg}</div>\
         <p>The code works once and expires soon.</p></body></html>"
    )))
}

async fn create_qr(State(s): State<AppState>, PageClient(client): PageClient) -> ApiResult<(StatusCode, Json<Value>)> {
    let created = s.gate.create_qr(&client).await?;
    let svg = crate::qr::svg(&created.payload)?;
    let mut body = json!(created);
    body["svg"] = Value::String(svg);
    Ok((StatusCode::CREATED, Json(body)))
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
) -> ApiResult<Json<Value>> {
    let secret = headers
        .get(POLL_SECRET_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "the sekimori-poll-secret header is required"))?;
    Ok(Json(json!(s.gate.qr_status(&id, secret, wait_duration(q.wait)).await?)))
}
