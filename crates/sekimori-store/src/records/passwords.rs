//! Passwords and their throttling (SQL: `sql/passwords.rs`).

use sekimori_core::{TenantId, Timestamp, UserId};

/// A user's password, as an Argon2id PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordRecord {
    /// Owner.
    pub user_id: UserId,
    /// Tenant.
    pub tenant_id: TenantId,
    /// The PHC string: algorithm, parameters, salt and hash.
    pub hash: String,
    /// When it was first set, ms.
    pub created_at: Timestamp,
    /// When it was last set (or rehashed), ms.
    pub updated_at: Timestamp,
}

impl std::fmt::Debug for PasswordRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordRecord")
            .field("user_id", &self.user_id)
            .field("updated_at", &self.updated_at)
            .finish_non_exhaustive()
    }
}

/// Failed logins counted against one key (a username or a client network).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleRecord {
    /// `user:<tenant>:<username>` or `net:<tenant>:<network>`.
    pub key: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Failures since `window_start`.
    pub failures: i64,
    /// Start of the counting window, ms.
    pub window_start: Timestamp,
    /// Locked until then, ms (may be in the past).
    pub locked_until: Option<Timestamp>,
}

/// One failed login to count: the limits come from the caller's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleHit<'a> {
    /// The key counted.
    pub key: &'a str,
    /// Tenant.
    pub tenant_id: &'a TenantId,
    /// When it failed, ms.
    pub now: Timestamp,
    /// Failures older than this (ms) start a new window.
    pub window_ms: i64,
    /// Failures within a window that lock the key.
    pub max_failures: i64,
    /// How long a lock lasts, ms.
    pub lock_ms: i64,
}
