//! The stored aggregates, as plain records. Times are [`sekimori_core::Timestamp`]
//! milliseconds stored as integers.

pub use sekimori_core::access::HoursWindow;

use sekimori_core::Timestamp;

use crate::records_access::{AdminRole, AppKind, OperatorScope};

/// An organisation; everything belongs to one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Id (UUID text).
    pub id: String,
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
    pub created_at: i64,
}

impl Tenant {
    /// A new tenant with the default settings: standby required, 60-second windows,
    /// password policy level 2, time zone UTC.
    pub fn with_defaults(id: &str, name: &str, created_at: i64) -> Tenant {
        Tenant {
            id: id.to_owned(),
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
    pub tenant_id: String,
    /// Who or what it is for.
    pub name: String,
    /// SHA-256 of the secret part.
    pub secret_hash: Vec<u8>,
    /// Creation time, ms.
    pub created_at: i64,
    /// Revocation time, ms.
    pub revoked_at: Option<i64>,
    /// `admin`, `auditor` or `operator`.
    pub role: AdminRole,
    /// An operator's scope (stored as JSON `{"capabilities":[…],"groups":[…]}`).
    pub scope: Option<OperatorScope>,
}

/// A relying party or verifier with an API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// Id (32 hex digits), the middle part of the key.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Display name, shown to users in challenges.
    pub name: String,
    /// What its key may do.
    pub kind: AppKind,
    /// SHA-256 of the secret part.
    pub secret_hash: Vec<u8>,
    /// Creation time, ms.
    pub created_at: i64,
    /// Revocation time, ms.
    pub revoked_at: Option<i64>,
    /// Web origins that may start a QR login for this app (the JS snippet; stored as a JSON
    /// array).
    pub origins: Option<Vec<String>>,
}

/// A person who logs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id (UUIDv7 text).
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Unique in the tenant.
    pub username: String,
    /// Optional email.
    pub email: Option<String>,
    /// Optional display name.
    pub display_name: Option<String>,
    /// Disabled users cannot log in.
    pub disabled: bool,
    /// Creation time, ms.
    pub created_at: i64,
    /// No login before this time, ms.
    pub valid_from: Option<i64>,
    /// No login from this time on, ms.
    pub valid_until: Option<i64>,
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
    pub tenant_id: String,
    /// The user the device will belong to.
    pub user_id: String,
    /// SHA-256 of the single-use code.
    pub code_hash: Vec<u8>,
    /// Creation time, ms.
    pub created_at: i64,
    /// Expiry, ms.
    pub expires_at: i64,
    /// When the code was consumed.
    pub used_at: Option<i64>,
    /// The device it created.
    pub device_id: Option<String>,
}

/// An enrolled authenticator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Id (UUIDv7 text).
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Owner.
    pub user_id: String,
    /// Name given at enrolment.
    pub name: String,
    /// Ed25519 public key, 32 bytes.
    pub public_key: Vec<u8>,
    /// Enrolment time, ms.
    pub created_at: i64,
    /// Removal time, ms.
    pub revoked_at: Option<i64>,
}

/// An armed standby window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandbyWindow {
    /// Id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// The user who armed it.
    pub user_id: String,
    /// The device that armed it.
    pub device_id: String,
    /// Opening time, ms.
    pub opened_at: i64,
    /// Expiry, ms.
    pub expires_at: i64,
    /// Closed by a successful login, ms.
    pub closed_at: Option<i64>,
}

/// A push login waiting for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRequest {
    /// Id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// The user asked.
    pub user_id: String,
    /// The relying party that asked, if any.
    pub app_id: Option<String>,
    /// The number shown at login, to be entered on the authenticator (10 to 99).
    pub number: i64,
    /// The environment, as JSON.
    pub environment: String,
    /// The environment key.
    pub env_key: String,
    /// Whether the environment was known when the login started.
    pub env_known: bool,
    /// Creation, ms.
    pub created_at: i64,
    /// Expiry, ms.
    pub expires_at: i64,
    /// Pending, approved or denied.
    pub status: LoginStatus,
    /// Decision time, ms.
    pub decided_at: Option<i64>,
    /// The device that decided.
    pub device_id: Option<String>,
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
}

impl MessageKind {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::PushLogin => "push_login",
            MessageKind::EnvironmentWarning => "environment_warning",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [MessageKind::PushLogin, MessageKind::EnvironmentWarning].into_iter().find(|v| v.as_str() == s)
    }
}

/// A message in a user's device inbox: a login challenge or a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxMessage {
    /// Id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Recipient.
    pub user_id: String,
    /// A login challenge or a notice.
    pub kind: MessageKind,
    /// The login it belongs to (push challenges).
    pub login_id: Option<String>,
    /// The message body as canonical JSON (what the server signs).
    pub body: String,
    /// Creation, ms.
    pub created_at: i64,
    /// Expiry, ms.
    pub expires_at: i64,
    /// Dismissed by a device, ms.
    pub dismissed_at: Option<i64>,
}

/// A QR login session shown on a login page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrSession {
    /// Id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// SHA-256 of the token in the QR code.
    pub token_hash: Vec<u8>,
    /// SHA-256 of the secret the page polls with.
    pub poll_hash: Vec<u8>,
    /// The browser's environment, JSON.
    pub environment: String,
    /// The environment key.
    pub env_key: String,
    /// Creation, ms.
    pub created_at: i64,
    /// Expiry, ms.
    pub expires_at: i64,
    /// Redemption, ms.
    pub used_at: Option<i64>,
    /// Who redeemed it.
    pub user_id: Option<String>,
    /// With which device.
    pub device_id: Option<String>,
    /// The assertion minted on redemption.
    pub assertion_jti: Option<String>,
    /// The app whose page started it (the assertion's audience); none for Sekimori's own page.
    pub app_id: Option<String>,
}

/// A one-time login assertion handed to a relying party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionRecord {
    /// JWT id.
    pub jti: String,
    /// Tenant.
    pub tenant_id: String,
    /// Subject.
    pub user_id: String,
    /// Subject's username.
    pub username: String,
    /// The login (push request or QR session) it came from.
    pub login_id: String,
    /// Auth level reached.
    pub level: i64,
    /// Methods used, space separated (`push`, `qr`, `number_match`).
    pub amr: String,
    /// Issue time, ms.
    pub issued_at: i64,
    /// Expiry, ms.
    pub expires_at: i64,
    /// Verification (consumption) time, ms.
    pub consumed_at: Option<i64>,
    /// App that verified it.
    pub consumed_by: Option<String>,
}

/// A one-time ticket for an entitlement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// Id (UUIDv7 text).
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Holder.
    pub user_id: String,
    /// What it entitles to, e.g. `lunch`.
    pub entitlement: String,
    /// App that issued it.
    pub issued_by: String,
    /// Issue time, ms.
    pub created_at: i64,
    /// Expiry, ms.
    pub expires_at: i64,
    /// First (only) redemption, ms.
    pub redeemed_at: Option<i64>,
    /// App that redeemed it.
    pub redeemed_by: Option<String>,
}

/// A ticket joined with its holder's username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketWithHolder {
    /// The ticket.
    pub ticket: Ticket,
    /// The holder's username.
    pub holder: String,
}

/// A client environment a user has been seen in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentRecord {
    /// Owner.
    pub user_id: String,
    /// Stable key.
    pub env_key: String,
    /// Tenant.
    pub tenant_id: String,
    /// Browser family.
    pub browser: String,
    /// OS family.
    pub os: String,
    /// Network (CIDR).
    pub network: String,
    /// Country code.
    pub country: Option<String>,
    /// First attempt, ms.
    pub first_seen: i64,
    /// Latest attempt, ms.
    pub last_seen: i64,
    /// Latest successful login, ms; an environment is known once it has one.
    pub last_login_at: Option<i64>,
    /// Marked trusted by the user.
    pub trusted: bool,
}

impl EnvironmentRecord {
    /// Known: at least one successful login from it.
    pub fn is_known(&self) -> bool {
        self.last_login_at.is_some()
    }
}

/// One row of the hash-chained audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// Tenant.
    pub tenant_id: String,
    /// Event time, ms.
    pub ts: i64,
    /// `event.action`.
    pub action: String,
    /// `event.outcome`.
    pub outcome: String,
    /// `user.id`.
    pub user_id: Option<String>,
    /// The ECS document, canonical JSON.
    pub doc: String,
    /// Hash of the previous row.
    pub prev_hash: Vec<u8>,
    /// `sha256(prev_hash || doc)`.
    pub hash: Vec<u8>,
}

/// Where the live audit chain starts once older rows were archived: the last archived
/// row's number and hash, signed with the server key by whoever archived them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditBase {
    /// The last archived row.
    pub seq: i64,
    /// Its hash (the next live row's `prev_hash`).
    pub hash: Vec<u8>,
    /// The server key's signature over the base (see `sekimori_gate::archive`), base64url.
    pub sig: String,
    /// When it was archived, ms.
    pub archived_at: i64,
}

/// Why rows could not be archived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveRefused {
    /// The row to archive up to is not in the live log with the hash the archive holds.
    NotInLog,
    /// It is the chain's head, or rows before it are already archived past it.
    NotArchivable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consume<T> {
    /// Consumed now, by this call.
    Done(T),
    /// Consumed before, at this time.
    AlreadyUsed {
        /// When the first consumption happened, ms.
        at: i64,
    },
    /// Past its expiry, never consumed.
    Expired,
    /// No such token.
    NotFound,
}

/// Filters for reading the audit log.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only this tenant.
    pub tenant_id: Option<String>,
    /// Only this user id.
    pub user_id: Option<String>,
    /// Only this action (exact) or prefix when it ends with `*`.
    pub action: Option<String>,
    /// At or after this time.
    pub since: Option<Timestamp>,
    /// Before this time.
    pub until: Option<Timestamp>,
    /// Rows after this sequence number (paging).
    pub after_seq: Option<i64>,
    /// At most this many rows.
    pub limit: i64,
}

/// A log source allowed to send events (`POST /api/v1/ingest`), with its hashed key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestSource {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub secret_hash: Vec<u8>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// A document that could not be read, kept as a sample with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub id: String,
    pub tenant_id: String,
    pub source_id: String,
    pub received_at: i64,
    pub reason: String,
    pub sample: String,
}

/// A rule that fired on an ingested event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRecord {
    pub id: String,
    pub tenant_id: String,
    pub rule_id: Option<String>,
    pub title: String,
    pub level: String,
    /// JSON array of the rule's tags.
    pub tags: String,
    pub source_id: String,
    /// The ingested event it fired on (`ingested_events.seq`).
    pub event_seq: i64,
    /// JSON array of `field=value` pairs that matched.
    pub matched: String,
    /// JSON object: the user, IP address and host the event is about.
    pub entities: String,
    /// JSON: the event, or a cut-down view of a large one (kept after the event is pruned).
    pub excerpt: String,
    pub created_at: i64,
}

/// One version of a tenant's detection tuning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TuningRecord {
    pub tenant_id: String,
    /// 1, 2, 3… per tenant.
    pub version: i64,
    /// The tuning document (JSON).
    pub doc: String,
    /// The admin token id that wrote it.
    pub author: String,
    pub created_at: i64,
}

/// An ingested event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestedEvent {
    pub seq: i64,
    pub tenant_id: String,
    pub source_id: String,
    pub received_at: i64,
    pub doc: String,
}

/// One accepted request's worth of ingest, written in one transaction.
#[derive(Debug, Clone, Default)]
pub struct IngestBatch {
    pub tenant_id: String,
    pub source_id: String,
    pub received_at: i64,
    /// The events, as JSON text.
    pub events: Vec<String>,
    pub dead_letters: Vec<DeadLetter>,
    /// Alerts, each with the index into `events` it fired on (`event_seq` is filled in).
    pub alerts: Vec<(usize, AlertRecord)>,
    /// A follower's cursor to move in the same transaction: (name, where it was when the
    /// batch was read, the last sequence read). If it is no longer where it was (another
    /// node moved it), nothing of the batch is written.
    pub cursor: Option<(String, i64, i64)>,
    /// Behaviour profiles to write (entity, JSON document), replacing the stored ones.
    pub profiles: Vec<(String, String)>,
}

/// A TOTP credential (RFC 6238). The seed is sealed by the server's secret key (the store
/// never sees it in the clear).
#[derive(Clone, PartialEq, Eq)]
pub struct TotpCredential {
    /// Id (UUIDv7 text).
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Owner.
    pub user_id: String,
    /// Nonce and XChaCha20-Poly1305 ciphertext of the seed.
    pub secret_sealed: Vec<u8>,
    /// `SHA1`, `SHA256` or `SHA512`.
    pub algorithm: String,
    /// Code length.
    pub digits: i64,
    /// Step, seconds.
    pub period: i64,
    /// Creation time, ms.
    pub created_at: i64,
    /// When the owner proved they hold it (first correct code), ms; unusable before.
    pub confirmed_at: Option<i64>,
    /// The last step accepted; codes of this step or earlier are refused.
    pub last_step: i64,
    /// Wrong codes since the last right one.
    pub failures: i64,
    /// Time of the last wrong code, ms.
    pub last_failure_at: Option<i64>,
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

/// A user's password, as an Argon2id PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordRecord {
    /// Owner.
    pub user_id: String,
    /// Tenant.
    pub tenant_id: String,
    /// The PHC string: algorithm, parameters, salt and hash.
    pub hash: String,
    /// When it was first set, ms.
    pub created_at: i64,
    /// When it was last set (or rehashed), ms.
    pub updated_at: i64,
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
    pub tenant_id: String,
    /// Failures since `window_start`.
    pub failures: i64,
    /// Start of the counting window, ms.
    pub window_start: i64,
    /// Locked until then, ms (may be in the past).
    pub locked_until: Option<i64>,
}

/// One failed login to count: the limits come from the caller's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleHit<'a> {
    /// The key counted.
    pub key: &'a str,
    /// Tenant.
    pub tenant_id: &'a str,
    /// When it failed, ms.
    pub now: i64,
    /// Failures older than this (ms) start a new window.
    pub window_ms: i64,
    /// Failures within a window that lock the key.
    pub max_failures: i64,
    /// How long a lock lasts, ms.
    pub lock_ms: i64,
}

/// A named set of users in a tenant, with optional login hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Id (UUIDv7 text).
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Unique in the tenant.
    pub name: String,
    /// Login hours (`sekimori_core::access`; stored as JSON), for members without their own.
    pub login_hours: Option<Vec<HoursWindow>>,
    /// Creation time, ms.
    pub created_at: i64,
}

/// A browser session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 (hex) of the cookie's secret.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Whose.
    pub user_id: String,
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
    pub sso_id: String,
}

/// An app that is an OIDC client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcClient {
    /// The app's id, which is the `client_id`.
    pub app_id: String,
    /// Tenant.
    pub tenant_id: String,
    /// A public client (no secret; PKCE S256 required).
    pub public: bool,
    /// Registered redirect URIs (matched exactly; stored as a JSON array).
    pub redirect_uris: Vec<String>,
    /// Registered post-logout redirect URIs (stored as a JSON array).
    pub post_logout_redirect_uris: Vec<String>,
    /// `RS256` or `ES256`.
    pub id_token_alg: String,
    /// Creation time, ms.
    pub created_at: i64,
}

/// A signing key of the OIDC provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcKey {
    /// Key id (`kid`).
    pub kid: String,
    /// `RS256` or `ES256`.
    pub alg: String,
    /// PKCS#8 private key, sealed under the server's secret key.
    pub private_sealed: Vec<u8>,
    /// The public JWK, JSON.
    pub public_jwk: String,
    /// Creation time, ms.
    pub created_at: i64,
    /// When a newer key replaced it for signing, ms.
    pub retired_at: Option<i64>,
}

/// An authorization code (single use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcCode {
    /// SHA-256 (hex) of the code.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The user.
    pub user_id: String,
    /// The sign-on (session `sso_id`) it came from (`sid`).
    pub session_id: String,
    /// The redirect URI of the request (the token request must repeat it).
    pub redirect_uri: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// The request's `nonce`.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// When the user authenticated, ms.
    pub auth_time: i64,
    /// Auth level of the session.
    pub level: i64,
    /// Methods (stored as a JSON array).
    pub amr: Vec<String>,
    /// The refresh-token family the exchange starts (revoked if the code is replayed).
    pub family_id: String,
    /// Creation time, ms.
    pub created_at: i64,
    /// Expiry, ms.
    pub expires_at: i64,
    /// When it was exchanged, ms.
    pub consumed_at: Option<i64>,
}

/// A refresh token (single use: each use rotates it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcRefreshToken {
    /// SHA-256 (hex) of the token.
    pub id: String,
    /// Every token rotated from one authorization code.
    pub family_id: String,
    /// Tenant.
    pub tenant_id: String,
    /// The client.
    pub client_id: String,
    /// The user.
    pub user_id: String,
    /// The sign-on (session `sso_id`) behind it.
    pub session_id: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// When the user authenticated, ms.
    pub auth_time: i64,
    /// Auth level.
    pub level: i64,
    /// Methods (stored as a JSON array).
    pub amr: Vec<String>,
    /// Creation time, ms.
    pub created_at: i64,
    /// Expiry, ms.
    pub expires_at: i64,
    /// When it was rotated, ms.
    pub used_at: Option<i64>,
    /// When its family was revoked, ms.
    pub revoked_at: Option<i64>,
}

/// Outcome of presenting a refresh token for rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// Rotated now: the token presented (the new one is stored).
    Done(OidcRefreshToken),
    /// Already rotated: the whole family is revoked now (the one event of the reuse).
    Reused(OidcRefreshToken),
    /// Its family was revoked before (by a reuse, a logout or an admin): nothing changes
    /// and nothing is logged again.
    Revoked(OidcRefreshToken),
    /// Past its expiry.
    Expired,
    /// No such token.
    NotFound,
}
