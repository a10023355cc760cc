//! The authenticator app (a Progressive Web App) at `/app/`: its page, scripts, service
//! worker, manifest and icons, all compiled into the binary. The page runs under a strict
//! CSP with no third-party origin; `connect-src` also allows https servers, so one app can
//! hold accounts on several Sekimori servers (the device API answers CORS).

use std::sync::OnceLock;

use axum::http::{header, HeaderMap, HeaderValue};
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
    for (i, (path, content_type, _)) in FILES.iter().enumerate() {
        let handler = move |headers: HeaderMap| async move { file(i, path, content_type, &headers) };
        r = r.route(&format!("/app/{path}"), get(handler));
        if path.is_empty() {
            r = r.route("/app/index.html", get(handler));
        }
    }
    r
}

/// The text files gzip-compressed (once, at first use); `None` for images already compressed.
pub fn gzipped() -> &'static [Option<Vec<u8>>] {
    static GZ: OnceLock<Vec<Option<Vec<u8>>>> = OnceLock::new();
    GZ.get_or_init(|| {
        FILES
            .iter()
            .map(|(_, content_type, body)| {
                if content_type.starts_with("image/png") {
                    return None;
                }
                gzip(body)
            })
            .collect()
    })
}

/// `body` gzip-compressed (best compression: done once per file).
pub(super) fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(body).ok()?;
    enc.finish().ok()
}

/// Whether the request accepts gzip (RFC 9110 12.5.3; `q=0` refuses).
pub(super) fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).any(|v| {
        v.split(',').any(|part| {
            let (coding, params) = part.split_once(';').unwrap_or((part, ""));
            let refused = params.split(';').any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            coding.trim().eq_ignore_ascii_case("gzip") && !refused
        })
    })
}

/// A file served from the binary: `gz` (its gzip form, if any) when the request accepts
/// gzip, else `plain`; always revalidated (`no-cache`: a new release is seen at once) and
/// never sniffed.
pub(super) fn static_file(
    plain: &'static [u8],
    gz: Option<&'static [u8]>,
    content_type: &'static str,
    headers: &HeaderMap,
) -> Response {
    let gz = gz.filter(|_| accepts_gzip(headers));
    let mut resp = gz.unwrap_or(plain).into_response();
    let h = resp.headers_mut();
    if gz.is_some() {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    resp
}

fn file(index: usize, path: &str, content_type: &'static str, headers: &HeaderMap) -> Response {
    let (_, _, plain) = FILES[index];
    // The service worker keeps the shell offline; the network copy is revalidated so a new
    // release reaches phones at once.
    let mut resp = static_file(plain, gzipped().get(index).and_then(Option::as_deref), content_type, headers);
    let h = resp.headers_mut();
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

    #[test]
    fn gzip_is_served_only_where_accepted() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).expect("header"));
            accepts_gzip(&h)
        };
        assert!(with("gzip, deflate, br"));
        assert!(with("br;q=1.0, GZIP;q=0.5"));
        assert!(!with("gzip;q=0"));
        assert!(!with("br"));
        assert!(!accepts_gzip(&HeaderMap::new()));
        let page = gzipped()[0].as_ref().expect("the page is compressed");
        let mut out = Vec::new();
        use std::io::Read;
        flate2::read::GzDecoder::new(page.as_slice()).read_to_end(&mut out).expect("gunzip");
        assert_eq!(out, FILES[0].2);
    }

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
