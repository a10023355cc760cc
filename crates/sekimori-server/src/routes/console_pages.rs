//! The console's pages at `/console/`: a page that needs a browser session at level 2 (a
//! session below it is sent to sign in again at level 2) and a console role (docs/console.md),
//! and the script and style it loads. The script acts through the admin API with the
//! session (docs/protocol.md 9.5), so the pages can show nothing the role may not read.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use sekimori_core::ErrorCode;

use super::login::current_session;
use crate::AppState;

/// The console's Content-Security-Policy: its own script and style only; QR images of
/// enrolments are `blob:` URLs.
pub const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; \
     connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const SIGN_IN: &str = "/login?return_to=%2Fconsole%2F&level=2";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(|| async { Redirect::permanent("/console/") }))
        .route("/console/", get(page))
        .route(
            "/console/console.js",
            get(|| async { asset("text/javascript; charset=utf-8", include_str!("../../static/console/console.js")) }),
        )
        .route(
            "/console/console.css",
            get(|| async { asset("text/css; charset=utf-8", include_str!("../../static/console/console.css")) }),
        )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, Html(body)).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONSOLE_CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    r
}

async fn page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let session = match current_session(&s.gate, &headers).await {
        Ok(Some(v)) => v,
        Ok(None) => return Redirect::to(SIGN_IN).into_response(),
        Err(e) => return e.into_response(),
    };
    match s.gate.console().principal(&session).await {
        Ok(_) => html(StatusCode::OK, include_str!("../../static/console/index.html").to_owned()),
        // Below the level the console needs: sign in again at level 2 (a step-up).
        Err(e) if e.code == ErrorCode::Forbidden && e.extensions.contains_key("required_level") => {
            Redirect::to(SIGN_IN).into_response()
        }
        Err(e) if e.code == ErrorCode::Forbidden => html(
            StatusCode::FORBIDDEN,
            format!(
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sekimori console</title>\
                 <link rel=\"stylesheet\" href=\"/console/console.css\"></head><body><main id=\"main\">\
                 <h1>No console role</h1><p>{} has no console role. An administrator gives console roles \
                 (docs/console.md).</p><p><a href=\"/login\">Your account</a></p></main></body></html>",
                html_escape(&session.username)
            ),
        ),
        Err(e) => crate::problem::ApiError(e).into_response(),
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
