//! Second factors: TOTP credentials (SQL: `sql/factors.rs`).

use sekimori_core::{TenantId, Timestamp, UserId};

/// A TOTP credential (RFC 6238). The seed is sealed by the server's secret key (the store
/// never sees it in the clear).
#[derive(Clone, PartialEq, Eq)]
pub struct TotpCredential {
    /// Id (UUIDv7 text).
    pub id: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Owner.
    pub user_id: UserId,
    /// Nonce and XChaCha20-Poly1305 ciphertext of the seed.
    pub secret_sealed: Vec<u8>,
    /// `SHA1`, `SHA256` or `SHA512`.
    pub algorithm: String,
    /// Code length.
    pub digits: i64,
    /// Step, seconds.
    pub period: i64,
    /// Creation time, ms.
    pub created_at: Timestamp,
    /// When the owner proved they hold it (first correct code), ms; unusable before.
    pub confirmed_at: Option<Timestamp>,
    /// The last step accepted; codes of this step or earlier are refused.
    pub last_step: i64,
    /// Wrong codes since the last right one.
    pub failures: i64,
    /// Time of the last wrong code, ms.
    pub last_failure_at: Option<Timestamp>,
}

impl std::fmt::Debug for TotpCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpCredential")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("algorithm", &self.algorithm)
            .field("confirmed_at", &self.confirmed_at)
            .field("last_step", &self.last_step)
            .field("failures", &self.failures)
            .finish_non_exhaustive()
    }
}
