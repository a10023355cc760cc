//! Browser sessions (SQL: `sql/sessions.rs`).

use sekimori_core::{SessionId, TenantId, Timestamp, UserId};

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
    pub auth_time: Timestamp,
    /// Creation time, ms.
    pub created_at: Timestamp,
    /// Last activity, ms (idle timeout).
    pub last_seen_at: Timestamp,
    /// Absolute end, ms.
    pub expires_at: Timestamp,
    /// Revocation (logout), ms.
    pub revoked_at: Option<Timestamp>,
    /// The sign-on this session belongs to: its own id, or that of the session it rotated.
    pub sso_id: SessionId,
}
