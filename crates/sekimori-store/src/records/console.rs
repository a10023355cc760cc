//! Records of console roles: which users and groups may sign in to the console, and as
//! what (the admin-token roles: admin, auditor, operator with a scope).

use sekimori_core::{TenantId, Timestamp};

use super::access::{AdminRole, OperatorScope};

/// Whom a console role is given to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConsoleSubject {
    /// One user.
    User,
    /// Every member of a group.
    Group,
}

impl ConsoleSubject {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsoleSubject::User => "user",
            ConsoleSubject::Group => "group",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [ConsoleSubject::User, ConsoleSubject::Group].into_iter().find(|k| k.as_str() == s)
    }
}

/// A console role given to a user or a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleGrant {
    /// Tenant.
    pub tenant_id: TenantId,
    /// User or group.
    pub subject_kind: ConsoleSubject,
    /// The user's or the group's id.
    pub subject_id: String,
    /// The role.
    pub role: AdminRole,
    /// An operator's scope.
    pub scope: Option<OperatorScope>,
    /// When given, ms.
    pub created_at: Timestamp,
    /// Who gave it (an admin token's or a console user's name).
    pub created_by: String,
}
