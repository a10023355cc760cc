//! Stable error codes shared by every crate; the server maps them to RFC 9457
//! problem types (`urn:sekimori:problem:<code>`) and HTTP statuses.

/// A stable, documented error code. The string form never changes once published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The request body or parameters are malformed or fail validation.
    InvalidRequest,
    /// The body is larger than the limit for this endpoint.
    PayloadTooLarge,
    /// The body's media type is not accepted here.
    UnsupportedMediaType,
    /// No credentials, or credentials that do not identify anyone.
    Unauthorized,
    /// The caller is known but may not do this.
    Forbidden,
    /// The resource does not exist (or is not visible to the caller).
    NotFound,
    /// The method is not allowed on this path.
    MethodNotAllowed,
    /// The resource already exists.
    Conflict,
    /// A push login was requested while the user had no armed standby window.
    OutsideStandby,
    /// A single-use token was presented again.
    AlreadyUsed,
    /// A ticket was presented again after its first redemption.
    AlreadyRedeemed,
    /// The token, request or window has expired.
    Expired,
    /// A device request's signature does not verify.
    InvalidSignature,
    /// A device request's nonce was seen before.
    Replayed,
    /// A device request's timestamp is outside the allowed clock skew.
    StaleTimestamp,
    /// The number entered on the authenticator does not match the one shown at login.
    NumberMismatch,
    /// The user has no usable authenticator for this flow.
    NoDevices,
    /// A one-time code (TOTP, recovery code) is wrong.
    InvalidCode,
    /// Too many failed attempts: the factor, account or network is locked for a while
    /// (`retry_after_seconds`).
    Locked,
    /// Too many requests of this kind from the client's network (`retry_after_seconds`).
    RateLimited,
    /// The user has not enrolled (or confirmed) the factor this needs.
    NotEnrolled,
    /// The username or password is wrong (never says which).
    InvalidCredentials,
    /// A new password breaks the tenant's policy (`violations` lists why, `policy` says
    /// what is asked).
    WeakPassword,
    /// The account may not log in now (`reason`: `not_yet_valid`, `expired`,
    /// `outside_login_hours`).
    LoginNotAllowed,
    /// The service cannot take the request now; retry later.
    ServiceUnavailable,
    /// An unexpected internal failure (never caused by the request's content).
    Internal,
}

impl ErrorCode {
    /// Every code, for documentation and tests.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::InvalidRequest,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Conflict,
        ErrorCode::OutsideStandby,
        ErrorCode::AlreadyUsed,
        ErrorCode::AlreadyRedeemed,
        ErrorCode::Expired,
        ErrorCode::InvalidSignature,
        ErrorCode::Replayed,
        ErrorCode::StaleTimestamp,
        ErrorCode::NumberMismatch,
        ErrorCode::NoDevices,
        ErrorCode::InvalidCode,
        ErrorCode::Locked,
        ErrorCode::RateLimited,
        ErrorCode::NotEnrolled,
        ErrorCode::InvalidCredentials,
        ErrorCode::WeakPassword,
        ErrorCode::LoginNotAllowed,
        ErrorCode::ServiceUnavailable,
        ErrorCode::Internal,
    ];

    /// The stable snake_case name, e.g. `outside_standby`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::OutsideStandby => "outside_standby",
            ErrorCode::AlreadyUsed => "already_used",
            ErrorCode::AlreadyRedeemed => "already_redeemed",
            ErrorCode::Expired => "expired",
            ErrorCode::InvalidSignature => "invalid_signature",
            ErrorCode::Replayed => "replayed",
            ErrorCode::StaleTimestamp => "stale_timestamp",
            ErrorCode::NumberMismatch => "number_mismatch",
            ErrorCode::NoDevices => "no_devices",
            ErrorCode::InvalidCode => "invalid_code",
            ErrorCode::Locked => "locked",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::NotEnrolled => "not_enrolled",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::WeakPassword => "weak_password",
            ErrorCode::LoginNotAllowed => "login_not_allowed",
            ErrorCode::ServiceUnavailable => "service_unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    /// The code named `s`, if any.
    pub fn from_name(s: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == s)
    }

    /// The RFC 9457 `type` URI.
    pub fn type_uri(self) -> String {
        format!("urn:sekimori:problem:{}", self.as_str())
    }

    /// The HTTP status this code is answered with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidRequest => 400,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::Unauthorized | ErrorCode::InvalidSignature | ErrorCode::StaleTimestamp => 401,
            ErrorCode::Replayed => 401,
            ErrorCode::Forbidden | ErrorCode::OutsideStandby => 403,
            ErrorCode::NumberMismatch | ErrorCode::InvalidCode => 403,
            ErrorCode::Locked | ErrorCode::RateLimited => 429,
            ErrorCode::NotEnrolled => 409,
            ErrorCode::InvalidCredentials => 401,
            ErrorCode::WeakPassword => 422,
            ErrorCode::LoginNotAllowed => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::Conflict | ErrorCode::AlreadyUsed | ErrorCode::AlreadyRedeemed => 409,
            ErrorCode::NoDevices => 409,
            ErrorCode::Expired => 410,
            ErrorCode::ServiceUnavailable => 503,
            ErrorCode::Internal => 500,
        }
    }

    /// A short human title for the problem document.
    pub fn title(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "the request is malformed",
            ErrorCode::PayloadTooLarge => "the request body is too large",
            ErrorCode::UnsupportedMediaType => "the media type is not supported",
            ErrorCode::Unauthorized => "authentication is required",
            ErrorCode::Forbidden => "not allowed",
            ErrorCode::NotFound => "not found",
            ErrorCode::MethodNotAllowed => "method not allowed",
            ErrorCode::Conflict => "already exists",
            ErrorCode::OutsideStandby => "the user has not armed login on an authenticator",
            ErrorCode::AlreadyUsed => "this single-use token was already used",
            ErrorCode::AlreadyRedeemed => "this ticket was already redeemed",
            ErrorCode::Expired => "expired",
            ErrorCode::InvalidSignature => "the device signature does not verify",
            ErrorCode::Replayed => "this device request was already received",
            ErrorCode::StaleTimestamp => "the device request's timestamp is outside the allowed skew",
            ErrorCode::NumberMismatch => "the number does not match the one shown at login",
            ErrorCode::NoDevices => "the user has no enrolled authenticator",
            ErrorCode::InvalidCode => "the code is wrong",
            ErrorCode::Locked => "too many failed attempts; try again later",
            ErrorCode::RateLimited => "too many requests from this network; try again later",
            ErrorCode::NotEnrolled => "the user has not enrolled this factor",
            ErrorCode::InvalidCredentials => "the username or password is wrong",
            ErrorCode::WeakPassword => "the password does not meet the tenant's password policy",
            ErrorCode::LoginNotAllowed => "the account may not log in now",
            ErrorCode::ServiceUnavailable => "temporarily unavailable",
            ErrorCode::Internal => "internal error",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()));
            assert_eq!(ErrorCode::from_name(c.as_str()), Some(*c));
            assert!((400..600).contains(&c.http_status()));
        }
    }
}

/// A refused or failed service operation: a stable [`ErrorCode`], a human detail and
/// optional extension members for the problem document. Every service crate (the gate,
/// detection) returns it, and the server renders it as RFC 9457 problem+json.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct ServiceError {
    /// Stable code.
    pub code: ErrorCode,
    /// What happened, for people.
    pub detail: String,
    /// Extra members of the problem document (e.g. `first_redeemed_at`).
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

impl ServiceError {
    /// An error with a code and detail.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        ServiceError { code, detail: detail.into(), extensions: serde_json::Map::new() }
    }

    /// Adds an extension member.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.extensions.insert(key.to_owned(), value.into());
        self
    }
}

/// A setting that cannot be used: its key, as the operator writes it (e.g.
/// `gate.passkey.rp_id`, or a field such as `path` that the caller places under its
/// section), and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
#[non_exhaustive]
pub struct SettingsError {
    /// The key.
    pub key: String,
    /// What is wrong with its value.
    pub reason: String,
}

impl SettingsError {
    /// The error for `key`.
    pub fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        SettingsError { key: key.into(), reason: reason.into() }
    }

    /// The same error with `prefix.` before the key (`gate.forward_auth[2]` + `path`).
    pub fn under(self, prefix: &str) -> Self {
        SettingsError { key: format!("{prefix}.{}", self.key), reason: self.reason }
    }
}
