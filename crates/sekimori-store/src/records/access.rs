//! Who may do what, as stored: an app key's kind, an admin token's role and an operator's
//! scope. A stored value that is none of these is `StoreError::Corrupt`, never a default.

/// What an app key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppKind {
    /// Starts logins, verifies assertions, issues tickets.
    RelyingParty,
    /// Redeems tickets.
    Verifier,
}

impl AppKind {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AppKind::RelyingParty => "relying_party",
            AppKind::Verifier => "verifier",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "relying_party" => Some(AppKind::RelyingParty),
            "verifier" => Some(AppKind::Verifier),
            _ => None,
        }
    }
}

/// The role of an admin token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminRole {
    /// Everything.
    Admin,
    /// Reads everything, personal data masked.
    Auditor,
    /// Named capabilities, optionally limited to user groups.
    Operator,
}

impl AdminRole {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AdminRole::Admin => "admin",
            AdminRole::Auditor => "auditor",
            AdminRole::Operator => "operator",
        }
    }

    /// The role named `s`.
    pub fn parse(s: &str) -> Option<AdminRole> {
        [AdminRole::Admin, AdminRole::Auditor, AdminRole::Operator].into_iter().find(|r| r.as_str() == s)
    }
}

/// What an operator token may do: capabilities, and the groups whose members it may see
/// and manage (empty: every user).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorScope {
    /// Capabilities.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Groups; empty: every user.
    #[serde(default)]
    pub groups: Vec<String>,
}
