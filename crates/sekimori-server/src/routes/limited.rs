//! The rate-limit layer: which requests count against which limit
//! ([`crate::limits`]), and the refusal (a page for the hosted login's forms, a problem
//! document elsewhere).

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sekimori_core::ErrorCode;

use crate::extract::client_ip_of;
use crate::limits::Limited;
use crate::problem::ApiError;
use crate::AppState;

/// What a request counts against, if anything.
fn limited(method: &Method, path: &str) -> Option<Limited> {
    if method != Method::POST {
        return None;
    }
    match path {
        "/api/v1/qr-sessions" => Some(Limited::QrSession),
        "/api/v1/device/enroll" => Some(Limited::Enrolment),
        "/login" | "/login/factor" | "/login/push" | "/api/v1/session/assertion" => Some(Limited::Login),
        "/api/v1/session/passkey/start" | "/api/v1/session/passkey/finish" => Some(Limited::Passkey),
        _ => None,
    }
}

/// Refuses a limited request over its network's allowance with `429` and `Retry-After`.
pub(crate) async fn rate_limit(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let Some(what) = limited(req.method(), req.uri().path()) else { return next.run(req).await };
    let Some(ip) = client_ip_of(req.headers(), req.extensions(), &s.trusted_proxies) else {
        return next.run(req).await;
    };
    let Err(seconds) = s.limiter.check(what, ip) else { return next.run(req).await };
    tracing::debug!(?what, %ip, seconds, "rate limited");
    if req.uri().path().starts_with("/login") {
        let mut page = super::login::message_page(
            req.headers(),
            StatusCode::TOO_MANY_REQUESTS,
            "Too many sign-in attempts from your network. Try again in a minute.",
            "お使いのネットワークからのログイン試行が多すぎます。1分ほど待ってからお試しください。",
            "",
            Vec::new(),
        );
        page.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return page;
    }
    let e = sekimori_gate::GateError::new(
        ErrorCode::RateLimited,
        format!("too many requests of this kind from your network; retry in {seconds} s"),
    )
    .with("retry_after_seconds", seconds);
    ApiError(e).into_response()
}
