//! Push and QR logins: standby windows, login requests and their status, the device inbox,
//! QR sessions, assertions, environments (SQL: `sql/login.rs`).

use sekimori_core::environment::Environment;
use sekimori_core::{AppId, DeviceId, LoginId, TenantId, Timestamp, UserId};

/// An armed standby window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandbyWindow {
    /// Id.
    pub id: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// The user who armed it.
    pub user_id: UserId,
    /// The device that armed it.
    pub device_id: DeviceId,
    /// Opening time, ms.
    pub opened_at: Timestamp,
    /// Expiry, ms.
    pub expires_at: Timestamp,
    /// Closed by a successful login, ms.
    pub closed_at: Option<Timestamp>,
}

/// A push login waiting for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRequest {
    /// Id.
    pub id: LoginId,
    /// Tenant.
    pub tenant_id: TenantId,
    /// The user asked.
    pub user_id: UserId,
    /// The relying party that asked, if any.
    pub app_id: Option<AppId>,
    /// The number shown at login, to be entered on the authenticator (10 to 99).
    pub number: i64,
    /// The environment (stored as JSON).
    pub environment: Environment,
    /// The environment key.
    pub env_key: String,
    /// Whether the environment was known when the login started.
    pub env_known: bool,
    /// Creation, ms.
    pub created_at: Timestamp,
    /// Expiry, ms.
    pub expires_at: Timestamp,
    /// Pending, approved or denied.
    pub status: LoginStatus,
    /// Decision time, ms.
    pub decided_at: Option<Timestamp>,
    /// The device that decided.
    pub device_id: Option<DeviceId>,
    /// The assertion minted on approval.
    pub assertion_jti: Option<String>,
}

/// The state of a push login request. Stored as its name; a stored value that is none of
/// these is `StoreError::Corrupt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginStatus {
    /// Waiting for a device's decision.
    Pending,
    /// Approved on a device (an assertion was minted).
    Approved,
    /// Denied on a device (or a wrong number was entered).
    Denied,
}

impl LoginStatus {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LoginStatus::Pending => "pending",
            LoginStatus::Approved => "approved",
            LoginStatus::Denied => "denied",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [LoginStatus::Pending, LoginStatus::Approved, LoginStatus::Denied].into_iter().find(|v| v.as_str() == s)
    }
}

/// What a device inbox message is. Stored as its name (also its `type` in the signed body);
/// a stored value that is none of these is `StoreError::Corrupt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// A push login challenge.
    PushLogin,
    /// A login was attempted from an environment the user has not logged in from.
    EnvironmentWarning,
    /// A response to a detection changed what the user's logins need (docs/respond.md).
    SecurityNotice,
}

impl MessageKind {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::PushLogin => "push_login",
            MessageKind::EnvironmentWarning => "environment_warning",
            MessageKind::SecurityNotice => "security_notice",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [MessageKind::PushLogin, MessageKind::EnvironmentWarning, MessageKind::SecurityNotice]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// A message in a user's device inbox: a login challenge or a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxMessage {
    /// Id.
    pub id: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Recipient.
    pub user_id: UserId,
    /// A login challenge or a notice.
    pub kind: MessageKind,
    /// The login it belongs to (push challenges).
    pub login_id: Option<String>,
    /// The message body as canonical JSON (what the server signs).
    pub body: String,
    /// Creation, ms.
    pub created_at: Timestamp,
    /// Expiry, ms.
    pub expires_at: Timestamp,
    /// Dismissed by a device, ms.
    pub dismissed_at: Option<Timestamp>,
}

/// A QR login session shown on a login page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrSession {
    /// Id.
    pub id: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// SHA-256 of the token in the QR code.
    pub token_hash: Vec<u8>,
    /// SHA-256 of the secret the page polls with.
    pub poll_hash: Vec<u8>,
    /// The browser's environment (stored as JSON).
    pub environment: Environment,
    /// The environment key.
    pub env_key: String,
    /// Creation, ms.
    pub created_at: Timestamp,
    /// Expiry, ms.
    pub expires_at: Timestamp,
    /// Redemption, ms.
    pub used_at: Option<Timestamp>,
    /// Who redeemed it.
    pub user_id: Option<UserId>,
    /// With which device.
    pub device_id: Option<DeviceId>,
    /// The assertion minted on redemption.
    pub assertion_jti: Option<String>,
    /// The app whose page started it (the assertion's audience); none for Sekimori's own page.
    pub app_id: Option<AppId>,
}

/// A one-time login assertion handed to a relying party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionRecord {
    /// JWT id.
    pub jti: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Subject.
    pub user_id: UserId,
    /// Subject's username.
    pub username: String,
    /// The login (push request or QR session) it came from.
    pub login_id: String,
    /// Auth level reached.
    pub level: i64,
    /// Methods used, space separated (`push`, `qr`, `number_match`).
    pub amr: String,
    /// Issue time, ms.
    pub issued_at: Timestamp,
    /// Expiry, ms.
    pub expires_at: Timestamp,
    /// Verification (consumption) time, ms.
    pub consumed_at: Option<Timestamp>,
    /// App that verified it.
    pub consumed_by: Option<String>,
}

/// A client environment a user has been seen in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentRecord {
    /// Owner.
    pub user_id: UserId,
    /// Stable key.
    pub env_key: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Browser family.
    pub browser: String,
    /// OS family.
    pub os: String,
    /// Network (CIDR).
    pub network: String,
    /// Country code.
    pub country: Option<String>,
    /// First attempt, ms.
    pub first_seen: Timestamp,
    /// Latest attempt, ms.
    pub last_seen: Timestamp,
    /// Latest successful login, ms; an environment is known once it has one.
    pub last_login_at: Option<Timestamp>,
    /// Marked trusted by the user.
    pub trusted: bool,
}

impl EnvironmentRecord {
    /// Known: at least one successful login from it.
    pub fn is_known(&self) -> bool {
        self.last_login_at.is_some()
    }
}
