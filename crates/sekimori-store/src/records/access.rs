//! Who may do what, as stored: an app key's kind, an admin token's role and an operator's
//! scope. A stored value that is none of these is `StoreError::Corrupt`, never a default.

use sekimori_core::{TenantId, Timestamp, UserId};

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

/// What a required-level override does to a user's logins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OverrideAction {
    /// Every login and session must reach the override's level (2 or 3).
    RaiseLevel,
    /// Push approvals are refused (other methods still work).
    SuspendPush,
    /// Logins are refused and sessions end.
    Block,
}

impl OverrideAction {
    /// Every action.
    pub const ALL: [OverrideAction; 3] =
        [OverrideAction::RaiseLevel, OverrideAction::SuspendPush, OverrideAction::Block];

    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OverrideAction::RaiseLevel => "raise_level",
            OverrideAction::SuspendPush => "suspend_push",
            OverrideAction::Block => "block",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A required-level override on a user, until `expires_at` unless lifted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideRecord {
    /// Id.
    pub id: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// The user.
    pub user_id: UserId,
    /// What it does.
    pub action: OverrideAction,
    /// The level required ([`OverrideAction::RaiseLevel`]; 0 otherwise).
    pub level: i64,
    /// Why, for the user and the admins.
    pub reason: String,
    /// The response policy that set it (escalation counts per policy); `None`: by hand.
    pub policy: Option<String>,
    /// Who or what set it: `alert:<id>` or `admin_token:<id>`.
    pub source: String,
    /// Set, ms.
    pub created_at: Timestamp,
    /// Ends, ms (exclusive).
    pub expires_at: Timestamp,
    /// Lifted early, ms.
    pub lifted_at: Option<Timestamp>,
    /// Who lifted it.
    pub lifted_by: Option<String>,
    /// Why it was lifted.
    pub lift_reason: Option<String>,
}

impl OverrideRecord {
    /// Whether it is in force at `now` (ms).
    pub fn active(&self, now: Timestamp) -> bool {
        self.lifted_at.is_none() && now < self.expires_at
    }
}
