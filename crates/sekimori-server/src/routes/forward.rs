//! Forward-auth endpoints for reverse proxies (docs/protocol.md, section 14):
//! `/api/v1/forward-auth/nginx` answers `401` when a login is needed (nginx
//! `auth_request` turns it into a redirect with `error_page`), `/api/v1/forward-auth/redirect`
//! answers `302` to the login page with the original URL (Traefik ForwardAuth, Caddy
//! `forward_auth`). Both answer `200` with `Remote-User`, `Remote-Email`, `Remote-Name`,
//! `Remote-Groups` and `Remote-Level` when the session may pass, `403` when its user is
//! not in the route's groups.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use sekimori_core::names::percent_encode;
use sekimori_core::ErrorCode;
use sekimori_gate::forward::Decision;

use super::login::current_session;
use crate::problem::{ApiError, ApiResult};
use crate::AppState;

/// The level a refused request needs, for the proxy's login redirect.
pub const REQUIRED_LEVEL_HEADER: &str = "x-sekimori-required-level";

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/api/v1/forward-auth/{mode}", any(decide))
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// The original request as the proxy reports it: (scheme, host, path with query).
fn original(h: &HeaderMap) -> Option<(String, String, String)> {
    if let Some(url) = header(h, "x-original-url") {
        let (scheme, rest) = url.split_once("://")?;
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        return Some((scheme.to_owned(), host.to_owned(), path.to_owned()));
    }
    let host = header(h, "x-forwarded-host").or_else(|| header(h, "host"))?;
    let path = header(h, "x-forwarded-uri").or_else(|| header(h, "x-original-uri")).unwrap_or("/");
    let scheme = header(h, "x-forwarded-proto").unwrap_or("http");
    Some((scheme.to_owned(), host.to_owned(), path.to_owned()))
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
    let (scheme, host, uri) = original(&headers).ok_or_else(|| {
        ApiError::new(ErrorCode::InvalidRequest, "the proxy sent no X-Original-URL, X-Forwarded-Host or Host header")
    })?;
    if uri.len() > 8192 || host.len() > 255 || !matches!(scheme.as_str(), "http" | "https") {
        return Err(ApiError::new(ErrorCode::InvalidRequest, "the original URL is not a plausible http(s) URL"));
    }
    let path = uri.split(['?', '#']).next().unwrap_or("/");
    let session = current_session(&s.gate, &headers).await?;
    match s.gate.forward_decision(session.as_ref(), &host, path) {
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
                let back = format!("{scheme}://{host}{uri}");
                let login = format!(
                    "{}/login?return_to={}&level={level}",
                    s.gate.settings().public_url.trim_end_matches('/'),
                    percent_encode(&back)
                );
                let mut r = StatusCode::FOUND.into_response();
                r.headers_mut().insert(axum::http::header::LOCATION, value(&login));
                r
            } else {
                ApiError::new(ErrorCode::Unauthorized, format!("a session of level {level} is needed")).into_response()
            };
            resp.headers_mut().insert(HeaderName::from_static(REQUIRED_LEVEL_HEADER), value(&level.to_string()));
            Ok(resp)
        }
        Decision::Forbidden => Err(ApiError::new(ErrorCode::Forbidden, "the user is not in a group this route allows")),
    }
}
