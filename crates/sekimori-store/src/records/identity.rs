//! Tenants, admin tokens, apps, users, their groups, enrolments and devices (SQL:
//! `sql/identity.rs`, `sql/access.rs`).

use sekimori_core::{AppId, DeviceId, TenantId, Timestamp, UserId};

use sekimori_core::access::HoursWindow;

use super::access::{AdminRole, AppKind, OperatorScope};

/// An organisation; everything belongs to one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Id (UUID text).
    pub id: TenantId,
    /// Unique name; the first one is `default`.
    pub name: String,
    /// Whether push login requires an armed standby window.
    pub standby_required: bool,
    /// Length of a standby window in seconds (10 to 300).
    pub standby_seconds: i64,
    /// Password policy level, 1 to 4 (`sekimori_core::password`).
    pub password_policy: i64,
    /// IANA time zone that login hours are read in, e.g. `Asia/Tokyo`.
    pub time_zone: String,
    /// Creation time, ms.
    pub created_at: Timestamp,
}

impl Tenant {
    /// A new tenant with the default settings: standby required, 60-second windows,
    /// password policy level 2, time zone UTC.
    pub fn with_defaults(id: TenantId, name: &str, created_at: Timestamp) -> Tenant {
        Tenant {
            id,
            name: name.to_owned(),
            standby_required: true,
            standby_seconds: 60,
            password_policy: i64::from(sekimori_core::password::PasswordPolicy::default().level()),
            time_zone: "UTC".to_owned(),
            created_at,
        }
    }
}

/// A hashed admin bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminToken {
    /// Id (32 hex digits), the middle part of the token.
    pub id: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Who or what it is for.
    pub name: String,
    /// SHA-256 of the secret part.
    pub secret_hash: Vec<u8>,
    /// Creation time, ms.
    pub created_at: Timestamp,
    /// Revocation time, ms.
    pub revoked_at: Option<Timestamp>,
    /// `admin`, `auditor` or `operator`.
    pub role: AdminRole,
    /// An operator's scope (stored as JSON `{"capabilities":[…],"groups":[…]}`).
    pub scope: Option<OperatorScope>,
}

/// A relying party or verifier with an API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// Id (32 hex digits), the middle part of the key.
    pub id: AppId,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Display name, shown to users in challenges.
    pub name: String,
    /// What its key may do.
    pub kind: AppKind,
    /// SHA-256 of the secret part.
    pub secret_hash: Vec<u8>,
    /// Creation time, ms.
    pub created_at: Timestamp,
    /// Revocation time, ms.
    pub revoked_at: Option<Timestamp>,
    /// Web origins that may start a QR login for this app (the JS snippet; stored as a JSON
    /// array).
    pub origins: Option<Vec<String>>,
}

/// A person who logs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id (UUIDv7 text).
    pub id: UserId,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Unique in the tenant.
    pub username: String,
    /// Optional email.
    pub email: Option<String>,
    /// Optional display name.
    pub display_name: Option<String>,
    /// Disabled users cannot log in.
    pub disabled: bool,
    /// Creation time, ms.
    pub created_at: Timestamp,
    /// No login before this time, ms.
    pub valid_from: Option<Timestamp>,
    /// No login from this time on, ms.
    pub valid_until: Option<Timestamp>,
    /// Login hours (`sekimori_core::access`; stored as JSON); `None` defers to the user's
    /// groups.
    pub login_hours: Option<Vec<HoursWindow>>,
}

/// A pending device enrolment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrollment {
    /// Id.
    pub id: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// The user the device will belong to.
    pub user_id: UserId,
    /// SHA-256 of the single-use code.
    pub code_hash: Vec<u8>,
    /// Creation time, ms.
    pub created_at: Timestamp,
    /// Expiry, ms.
    pub expires_at: Timestamp,
    /// When the code was consumed.
    pub used_at: Option<Timestamp>,
    /// The device it created.
    pub device_id: Option<DeviceId>,
}

/// An enrolled authenticator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Id (UUIDv7 text).
    pub id: DeviceId,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Owner.
    pub user_id: UserId,
    /// Name given at enrolment.
    pub name: String,
    /// Ed25519 public key, 32 bytes.
    pub public_key: Vec<u8>,
    /// Enrolment time, ms.
    pub created_at: Timestamp,
    /// Removal time, ms.
    pub revoked_at: Option<Timestamp>,
}

/// A named set of users in a tenant, with optional login hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Id (UUIDv7 text).
    pub id: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Unique in the tenant.
    pub name: String,
    /// Login hours (`sekimori_core::access`; stored as JSON), for members without their own.
    pub login_hours: Option<Vec<HoursWindow>>,
    /// Creation time, ms.
    pub created_at: Timestamp,
}
