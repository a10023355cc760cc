//! The gate's error is the services' shared [`ServiceError`]: a stable [`ErrorCode`],
//! a human detail and optional extension members for the problem document.

pub use sekimori_core::ServiceError as GateError;

/// Result alias.
pub type GateResult<T> = Result<T, GateError>;
