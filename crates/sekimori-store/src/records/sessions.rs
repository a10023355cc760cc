//! Browser sessions (SQL: `sql/sessions.rs`).

use sekimori_core::{SessionId, TenantId, UserId};

/// A browser session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 (hex) of the cookie's secret.
    pub id: SessionId,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Whose.
    pub user_id: UserId,
    /// Auth level proved (1 to 3).
    pub level: i64,
    /// Methods used (RFC 8176 `amr` values; stored as a JSON array).
    pub amr: Vec<String>,
    /// When the user last authenticated, ms.
    pub auth_time: i64,
    /// Creation time, ms.
    pub created_at: i64,
    /// Last activity, ms (idle timeout).
    pub last_seen_at: i64,
    /// Absolute end, ms.
    pub expires_at: i64,
    /// Revocation (logout), ms.
    pub revoked_at: Option<i64>,
    /// The sign-on this session belongs to: its own id, or that of the session it rotated.
    pub sso_id: SessionId,
}
