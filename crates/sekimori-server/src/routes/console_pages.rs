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
        .route("/console/console.js", get(|headers: HeaderMap| async move { assets().js.response(&headers) }))
        .route("/console/console.css", get(|headers: HeaderMap| async move { assets().css.response(&headers) }))
}

/// The script: the files of `static/console/` by role, in one function.
const SCRIPT: &str = concat!(
    "\"use strict\";\n(function () {\n",
    include_str!("../../static/console/core.js"),
    include_str!("../../static/console/text.js"),
    include_str!("../../static/console/home.js"),
    include_str!("../../static/console/users.js"),
    include_str!("../../static/console/alerts.js"),
    include_str!("../../static/console/search.js"),
    include_str!("../../static/console/admin.js"),
    include_str!("../../static/console/main.js"),
    "})();\n"
);
const STYLE: &str = include_str!("../../static/console/console.css");
const PAGE: &str = include_str!("../../static/console/index.html");

/// A file of the console, as written and gzip-compressed.
struct Asset {
    content_type: &'static str,
    plain: Vec<u8>,
    gz: Option<Vec<u8>>,
}

impl Asset {
    fn new(content_type: &'static str, plain: Vec<u8>) -> Asset {
        let gz = super::app::gzip(&plain);
        Asset { content_type, plain, gz }
    }

    /// The file, compressed when the request accepts gzip.
    fn response(&'static self, headers: &HeaderMap) -> Response {
        super::app::static_file(&self.plain, self.gz.as_deref(), self.content_type, headers)
    }
}

struct Assets {
    page: Asset,
    js: Asset,
    css: Asset,
}

/// The console's files, made once: the page names its script's and style's integrity (so a
/// script or style altered on the way, or by a proxy's cache, is refused by the browser).
fn assets() -> &'static Assets {
    static ASSETS: std::sync::OnceLock<Assets> = std::sync::OnceLock::new();
    ASSETS.get_or_init(|| {
        let page = PAGE
            .replace(
                "<script src=\"/console/console.js\"",
                &format!("<script src=\"/console/console.js\" integrity=\"{}\"", crate::sri(SCRIPT)),
            )
            .replace(
                "<link rel=\"stylesheet\" href=\"/console/console.css\"",
                &format!("<link rel=\"stylesheet\" href=\"/console/console.css\" integrity=\"{}\"", crate::sri(STYLE)),
            );
        Assets {
            page: Asset::new("text/html; charset=utf-8", page.into_bytes()),
            js: Asset::new("text/javascript; charset=utf-8", SCRIPT.as_bytes().to_vec()),
            css: Asset::new("text/css; charset=utf-8", STYLE.as_bytes().to_vec()),
        }
    })
}

fn secure(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONSOLE_CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    r
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
        Ok(_) => secure(assets().page.response(&headers)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn the_page_names_its_script_and_style_by_integrity_and_all_are_compressed() {
        let a = assets();
        let page = std::str::from_utf8(&a.page.plain).expect("utf-8");
        for (file, body) in [("console.js", SCRIPT), ("console.css", STYLE)] {
            let want = format!("/console/{file}\" integrity=\"{}\"", crate::sri(body));
            assert!(page.contains(&want), "the page names {file}'s hash: {page}");
        }
        assert_eq!(page.matches("integrity=").count(), 2);
        for asset in [&a.page, &a.js, &a.css] {
            let mut out = Vec::new();
            let gz = asset.gz.as_ref().expect("compressed");
            flate2::read::GzDecoder::new(gz.as_slice()).read_to_end(&mut out).expect("gunzip");
            assert_eq!(out, asset.plain);
            assert!(gz.len() < asset.plain.len() / 2, "{} compresses", asset.content_type);
        }
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        let zipped = a.js.response(&h);
        assert_eq!(zipped.headers()[header::CONTENT_ENCODING], "gzip");
        let plain = a.js.response(&HeaderMap::new());
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(plain.headers()[header::VARY], "Accept-Encoding");
    }
}
