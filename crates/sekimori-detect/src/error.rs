//! The errors of the detection engine's public API.

/// Why a settings document, a rule set or a log file could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DetectError {
    /// The text is not a document of the expected shape (YAML syntax, an unknown or
    /// mistyped field); the parser's message says where.
    #[error("{0}")]
    Syntax(String),
    /// A setting has a value that is not allowed.
    #[error("{key}: {reason}")]
    Setting {
        /// Where in the document, e.g. `failures.floor` or `filters[1]`.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A line of a threat-intel list is not an IP address or network.
    #[error("{list}:{line}: not an IP address or CIDR: {entry:?}")]
    IntelEntry {
        /// The list's name.
        list: String,
        /// The line, from 1.
        line: usize,
        /// What it holds.
        entry: String,
    },
    /// Rules that load on their own cannot be compiled together (the evaluator's message).
    #[error("{0}")]
    Compile(String),
    /// A file that should be a Windows event log is not one, or its parser failed.
    #[error("{0}")]
    Evtx(String),
    /// An output format that does not exist.
    #[error("unknown format `{0}` (table, csv, json, jsonl)")]
    UnknownFormat(String),
}

impl DetectError {
    /// A [`DetectError::Setting`].
    pub fn setting(key: impl Into<String>, reason: impl Into<String>) -> Self {
        DetectError::Setting { key: key.into(), reason: reason.into() }
    }

    /// A [`DetectError::Syntax`] from a parser's error.
    pub fn syntax(e: impl std::fmt::Display) -> Self {
        DetectError::Syntax(e.to_string())
    }
}

/// Into the problem boundary: what a caller sent (a document, a list, a file, a format) is
/// `invalid_request`; rules that do not compile together are the server's own fault.
impl From<DetectError> for sekimori_core::error::ServiceError {
    fn from(e: DetectError) -> Self {
        use sekimori_core::error::ErrorCode;
        let code = match e {
            DetectError::Compile(_) => ErrorCode::Internal,
            _ => ErrorCode::InvalidRequest,
        };
        sekimori_core::error::ServiceError::new(code, e.to_string())
    }
}
