//! Cookies of the hosted pages: the session, the CSRF cookie and the form token bound to
//! it by the server's MAC key, the sealed half-done login and pending push.

use axum::http::header::{self, HeaderMap, HeaderValue};
use sekimori_gate::sessions::SessionView;
use sekimori_gate::Gate;

use crate::problem::ApiError;

/// The session cookie.
pub const SESSION_COOKIE: &str = "sekimori_session";
pub(crate) const CSRF_COOKIE: &str = "sekimori_csrf";
pub(crate) const PENDING_COOKIE: &str = "sekimori_pending";
pub(crate) const PUSH_COOKIE: &str = "sekimori_push";

pub(crate) fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub(crate) fn secure(gate: &Gate) -> &'static str {
    if gate.public_url().is_https() {
        "; Secure"
    } else {
        ""
    }
}

pub(crate) fn set_cookie(
    gate: &Gate,
    name: &str,
    value: &str,
    path: &str,
    same_site: &str,
    max_age: i64,
) -> HeaderValue {
    let c = format!("{name}={value}; Path={path}; HttpOnly; SameSite={same_site}; Max-Age={max_age}{}", secure(gate));
    HeaderValue::from_str(&c).unwrap_or(HeaderValue::from_static(""))
}

pub(crate) fn csrf_token(gate: &Gate, cookie: &str) -> String {
    hex::encode(gate.keys().mac(format!("csrf:{cookie}").as_bytes()))
}

/// The CSRF cookie (made when missing) and the form token bound to it.
pub(crate) fn csrf(gate: &Gate, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match cookie_value(headers, CSRF_COOKIE).filter(|v| (16..=128).contains(&v.len())) {
        Some(v) => (csrf_token(gate, v), None),
        None => {
            let fresh = sekimori_core::token::new_secret(&sekimori_core::OsRng);
            let token = csrf_token(gate, &fresh);
            (token, Some(set_cookie(gate, CSRF_COOKIE, &fresh, "/", "Strict", 12 * 3600)))
        }
    }
}

pub(crate) fn csrf_ok(gate: &Gate, headers: &HeaderMap, sent: &str) -> bool {
    cookie_value(headers, CSRF_COOKIE)
        .is_some_and(|c| sekimori_core::token::ct_eq(csrf_token(gate, c).as_bytes(), sent.as_bytes()))
}

/// The live session of the browser that sent `headers`.
pub(crate) async fn current_session(gate: &Gate, headers: &HeaderMap) -> Result<Option<SessionView>, ApiError> {
    match cookie_value(headers, SESSION_COOKIE) {
        Some(secret) => Ok(gate.sessions().session(secret).await?),
        None => Ok(None),
    }
}
