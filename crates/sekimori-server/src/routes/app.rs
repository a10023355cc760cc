//! The authenticator app (a Progressive Web App) at `/app/`: its page, scripts, service
//! worker, manifest and icons, all compiled into the binary. The page runs under a strict
//! CSP with no third-party origin; `connect-src` also allows https servers, so one app can
//! hold accounts on several Sekimori servers (the device API answers CORS).

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use crate::AppState;

/// The app page's Content-Security-Policy.
pub const APP_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     media-src 'self' blob:; connect-src 'self' https:; manifest-src 'self'; worker-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The app's files: path under `/app/`, content type, body.
pub const FILES: &[(&str, &str, &[u8])] = &[
    ("", "text/html; charset=utf-8", include_bytes!("../../static/app/index.html")),
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("../../static/app/app.js")),
    ("device.js", "text/javascript; charset=utf-8", include_bytes!("../../static/app/device.js")),
    ("sw.js", "text/javascript; charset=utf-8", include_bytes!("../../static/app/sw.js")),
    ("app.css", "text/css; charset=utf-8", include_bytes!("../../static/app/app.css")),
    ("manifest.webmanifest", "application/manifest+json", include_bytes!("../../static/app/manifest.webmanifest")),
    ("icon.svg", "image/svg+xml", include_bytes!("../../static/app/icon.svg")),
    ("icon-192.png", "image/png", include_bytes!("../../static/app/icon-192.png")),
    ("icon-512.png", "image/png", include_bytes!("../../static/app/icon-512.png")),
    ("vendor/jsQR.js", "text/javascript; charset=utf-8", include_bytes!("../../static/app/vendor/jsQR.js")),
];

pub(super) fn router() -> Router<AppState> {
    let mut r = Router::new().route("/app", get(|| async { Redirect::permanent("/app/") }));
    for (path, content_type, body) in FILES {
        let handler = move || async move { file(path, content_type, body) };
        r = r.route(&format!("/app/{path}"), get(handler));
        if path.is_empty() {
            r = r.route("/app/index.html", get(handler));
        }
    }
    r
}

fn file(path: &str, content_type: &'static str, body: &'static [u8]) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The service worker keeps the shell offline; the network copy is always revalidated so
    // a new release reaches phones at once.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if path.is_empty() {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(APP_CSP));
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        h.insert(
            header::HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(self), microphone=(), geolocation=()"),
        );
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use sha2::Digest;

    /// The vendored QR decoder is loaded with the integrity the page names.
    #[test]
    fn the_page_names_the_vendored_decoders_hash() {
        let (_, _, page) = FILES[0];
        let page = std::str::from_utf8(page).expect("utf-8");
        let (_, _, js) = FILES.iter().find(|(p, _, _)| *p == "vendor/jsQR.js").expect("jsQR");
        let want = format!("sha384-{}", base64::engine::general_purpose::STANDARD.encode(sha2::Sha384::digest(js)));
        assert!(page.contains(&format!("integrity=\"{want}\"")), "index.html must carry integrity=\"{want}\"");
    }
}
