//! The gate's error: a stable [`ErrorCode`], a human detail and optional extension
//! members for the problem document.

use sekimori_core::ErrorCode;
use serde_json::{Map, Value};

/// A refused or failed gate operation.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct GateError {
    /// Stable code.
    pub code: ErrorCode,
    /// What happened, for people.
    pub detail: String,
    /// Extra members of the problem document (e.g. `first_redeemed_at`).
    pub extensions: Map<String, Value>,
}

/// Result alias.
pub type GateResult<T> = Result<T, GateError>;

impl GateError {
    /// An error with a code and detail.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        GateError { code, detail: detail.into(), extensions: Map::new() }
    }

    /// Adds an extension member.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extensions.insert(key.to_owned(), value.into());
        self
    }
}

impl From<sekimori_store::StoreError> for GateError {
    fn from(e: sekimori_store::StoreError) -> Self {
        tracing::error!(error = %e, "store failure");
        GateError::new(ErrorCode::ServiceUnavailable, "the database is unavailable; retry later")
    }
}
