//! Forward-auth endpoints for reverse proxies (docs/protocol.md, section 14):
//! `/api/v1/forward-auth/nginx` answers `401` when a login is needed (nginx
//! `auth_request` turns it into a redirect with `error_page`), `/api/v1/forward-auth/redirect`
//! answers `302` to the login page with the original URL (Traefik ForwardAuth, Caddy
//! `forward_auth`). Both answer `200` with `Remote-User`, `Remote-Email`, `Remote-Name`,
//! `Remote-Groups` and `Remote-Level` when the session may pass, `403` when its user is
//! not in the route's groups.
//!
//! The original path is matched in its normal form (dot segments resolved, escapes
//! decoded, slashes merged); a path with no single reading, or an original-URL header
//! that is not visible ASCII, is refused with `400` so the proxy refuses the request.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use sekimori_core::names::percent_encode;
use sekimori_core::ErrorCode;
use sekimori_gate::forward::{Decision, NormalPath};

use super::login::current_session;
use crate::problem::{ApiError, ApiResult};
use crate::AppState;

/// The level a refused request needs, for the proxy's login redirect.
pub const REQUIRED_LEVEL_HEADER: &str = "x-sekimori-required-level";
/// The login page's address (relative to the protected host, return address encoded) for
/// nginx's `@login` redirect.
pub const LOGIN_HEADER: &str = "x-sekimori-login";

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/api/v1/forward-auth/{mode}", any(decide))
}

/// A header's value: `Ok(None)` when absent or empty, an error when present but not
/// visible ASCII (a raw byte in the path must not make the decision fall back to another
/// header).
fn header<'a>(h: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    match h.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|v| Some(v.trim()).filter(|v| !v.is_empty()))
            .map_err(|_| ApiError::new(ErrorCode::InvalidRequest, format!("the {name} header is not visible ASCII"))),
    }
}

/// The original request as the proxy reports it.
struct Original {
    scheme: String,
    host: String,
    /// The request target as sent: path and query.
    target: String,
}

fn original(h: &HeaderMap) -> Result<Original, ApiError> {
    let bad = |what: &str| ApiError::new(ErrorCode::InvalidRequest, what.to_owned());
    let (scheme, host, target) = if let Some(url) = header(h, "x-original-url")? {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("X-Original-URL is not an absolute URL"))?;
        match rest.find('/') {
            Some(i) => (scheme, &rest[..i], &rest[i..]),
            None => (scheme, rest, "/"),
        }
    } else {
        let host = header(h, "x-forwarded-host")?
            .or(header(h, "host")?)
            .ok_or_else(|| bad("the proxy sent no X-Original-URL, X-Forwarded-Host or Host header"))?;
        let target = match header(h, "x-forwarded-uri")? {
            Some(t) => t,
            None => header(h, "x-original-uri")?.unwrap_or("/"),
        };
        (header(h, "x-forwarded-proto")?.unwrap_or("http"), host, target)
    };
    if target.len() > 8192 || !matches!(scheme, "http" | "https") || !plausible_host(host) {
        return Err(bad("the original URL is not a plausible http(s) URL"));
    }
    Ok(Original { scheme: scheme.to_owned(), host: host.to_ascii_lowercase(), target: target.to_owned() })
}

/// A host name or address with an optional port: letters, digits, `-`, `.`, `:`, `[`, `]`.
fn plausible_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':' | b'[' | b']'))
}

fn value(v: &str) -> HeaderValue {
    // Header values must be visible ASCII; anything else is percent-encoded.
    HeaderValue::from_str(v)
        .unwrap_or_else(|_| HeaderValue::from_str(&percent_encode(v)).unwrap_or(HeaderValue::from_static("")))
}

async fn decide(State(s): State<AppState>, Path(mode): Path<String>, headers: HeaderMap) -> ApiResult<Response> {
    let redirect = match mode.as_str() {
        "nginx" => false,
        "redirect" | "traefik" | "caddy" => true,
        _ => return Err(ApiError::new(ErrorCode::NotFound, "forward-auth modes: nginx, redirect")),
    };
    // A request that cannot be judged is refused: 400 for the redirect mode (Traefik and
    // Caddy pass it to the client), 403 for nginx (whose auth_request turns anything but
    // 2xx, 401 and 403 into a 500).
    let refuse = |e: ApiError| {
        if redirect {
            e
        } else {
            ApiError::new(ErrorCode::Forbidden, e.0.detail)
        }
    };
    let Original { scheme, host, target } = original(&headers).map_err(refuse)?;
    let raw_path = target.split(['?', '#']).next().unwrap_or("/");
    let path = NormalPath::parse(raw_path).map_err(|e| {
        refuse(ApiError::new(ErrorCode::InvalidRequest, format!("the original path cannot be judged: {e}")))
    })?;
    let session = current_session(&s.gate, &headers).await?;
    match s.gate.forward().forward_decision(session.as_ref(), &host, &path) {
        Decision::Allow(identity) => {
            let mut resp = StatusCode::OK.into_response();
            let h = resp.headers_mut();
            if let Some(id) = identity {
                h.insert(HeaderName::from_static("remote-user"), value(&id.username));
                if let Some(e) = &id.email {
                    h.insert(HeaderName::from_static("remote-email"), value(e));
                }
                if let Some(n) = &id.display_name {
                    h.insert(HeaderName::from_static("remote-name"), value(n));
                }
                h.insert(HeaderName::from_static("remote-groups"), value(&id.groups.join(",")));
                h.insert(HeaderName::from_static("remote-level"), value(&id.level.to_string()));
            }
            Ok(resp)
        }
        Decision::Login { level } => {
            let mut resp = if redirect {
                let back = format!("{scheme}://{host}{target}");
                let login =
                    format!("{}/login?return_to={}&level={level}", s.gate.public_url().as_str(), percent_encode(&back));
                let mut r = StatusCode::FOUND.into_response();
                r.headers_mut().insert(axum::http::header::LOCATION, value(&login));
                r
            } else {
                let mut r = ApiError::new(ErrorCode::Unauthorized, format!("a session of level {level} is needed"))
                    .into_response();
                // nginx serves the login page under the application's host: a relative address.
                let login = format!("/login?return_to={}&level={level}", percent_encode(&target));
                r.headers_mut().insert(HeaderName::from_static(LOGIN_HEADER), value(&login));
                r
            };
            resp.headers_mut().insert(HeaderName::from_static(REQUIRED_LEVEL_HEADER), value(&level.to_string()));
            Ok(resp)
        }
        Decision::Forbidden => Err(ApiError::new(ErrorCode::Forbidden, "the user is not in a group this route allows")),
    }
}
