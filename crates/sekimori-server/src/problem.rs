//! RFC 9457 problem details: every error the API returns is `application/problem+json`
//! with a stable `type` (`urn:sekimori:problem:<code>`) and the same `code` as a member.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sekimori_core::ErrorCode;
use sekimori_gate::GateError;
use serde_json::{json, Value};

/// An API error, rendered as a problem document.
#[derive(Debug)]
pub struct ApiError(pub GateError);

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with a code and detail.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        ApiError(GateError::new(code, detail))
    }

    /// `invalid_request` naming the request's `field` (parameter or member) that is wrong.
    pub fn invalid(field: &str, detail: impl Into<String>) -> Self {
        ApiError(GateError::new(ErrorCode::InvalidRequest, detail).with("field", field))
    }
}

impl From<GateError> for ApiError {
    fn from(e: GateError) -> Self {
        ApiError(e)
    }
}

/// The problem document for `e`.
pub fn problem_body(e: &GateError) -> Value {
    let mut doc = json!({
        "type": e.code.type_uri(),
        "title": e.code.title(),
        "status": e.code.http_status(),
        "detail": e.detail,
        "code": e.code.as_str(),
    });
    if let Value::Object(map) = &mut doc {
        for (k, v) in &e.extensions {
            map.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    doc
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = problem_body(&self.0).to_string();
        let mut resp = (status, body).into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if self.0.code == ErrorCode::ServiceUnavailable {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let Some(secs) = self.0.extensions.get("retry_after_seconds").and_then(serde_json::Value::as_u64) {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}
