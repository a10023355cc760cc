//! Records of passkeys (WebAuthn).

use sekimori_core::{TenantId, Timestamp, UserId};

/// A user's passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyRecord {
    /// Credential id (base64url).
    pub id: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Whose.
    pub user_id: UserId,
    /// The user's name for it.
    pub name: String,
    /// The credential (public key, counter, flags) as webauthn-rs serialises it, JSON.
    pub credential: String,
    /// Registration time, ms.
    pub created_at: Timestamp,
    /// Last login with it, ms.
    pub last_used_at: Option<Timestamp>,
}

/// What a passkey ceremony is for. Stored as its name; a stored value that is none of these
/// is `StoreError::Corrupt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyKind {
    /// Registering a new passkey for a signed-in user.
    Register,
    /// Logging in as a named user.
    Login,
    /// Logging in with a discoverable credential (no username given).
    Discoverable,
}

impl CeremonyKind {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CeremonyKind::Register => "register",
            CeremonyKind::Login => "login",
            CeremonyKind::Discoverable => "discoverable",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [CeremonyKind::Register, CeremonyKind::Login, CeremonyKind::Discoverable].into_iter().find(|k| k.as_str() == s)
    }
}

/// A registration or authentication ceremony waiting for the authenticator's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyCeremony {
    /// Id (random, 256 bits, hex).
    pub id: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// What it is for.
    pub kind: CeremonyKind,
    /// The user (registration, or a login that named one).
    pub user_id: Option<UserId>,
    /// The ceremony state (challenge and options), JSON.
    pub state: String,
    /// Creation time, ms.
    pub created_at: Timestamp,
    /// Expiry, ms.
    pub expires_at: Timestamp,
    /// When its answer was taken, ms.
    pub consumed_at: Option<Timestamp>,
}
