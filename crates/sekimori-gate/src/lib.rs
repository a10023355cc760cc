//! Sekimori's gate: the authentication services. Handlers in `sekimori-server` call
//! one method here per request; everything that decides lives here, over the
//! [`sekimori_store::Store`] trait, with time and randomness injected.

pub mod access;
mod admin;
pub mod archive;
pub mod assertion;
pub mod audit;
pub mod checkpoints;
pub mod device_auth;
pub mod enroll;
pub mod environments;
mod error;
pub mod factors;
pub mod forward;
pub mod keys;
pub mod notify;
pub mod oidc;
pub mod passkeys;
pub mod password;
pub mod push;
pub mod qr;
pub mod roles;
pub mod sessions;
pub mod snippet;
pub mod standby;
pub mod tickets;

use std::sync::Arc;

use sekimori_core::{Clock, Rng};
use sekimori_store::Store;

pub use admin::{AppKind, NewAppKey, TenantSettings};
pub use enroll::{Enrolled, EnrollmentCreated};
pub use error::{GateError, GateResult};
pub use keys::ServerKeys;
pub use push::{PushStarted, PushStatus};
pub use qr::{QrCreated, QrStatus};
pub use tickets::{IssuedTicket, Redeemed, TicketView};

/// Gate settings that come from configuration, the `[gate]` section (tenant settings live
/// in the store). Unknown keys are refused; missing ones take the defaults.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GateSettings {
    /// The public base URL, used in enrolment links and as the assertion issuer; set from
    /// `server.public_url`, not from `[gate]`.
    #[serde(skip)]
    pub public_url: String,
    /// Lifetime of a push login request, seconds.
    pub login_ttl_seconds: i64,
    /// Lifetime of a QR login token, seconds.
    pub qr_ttl_seconds: i64,
    /// Lifetime of an enrolment code, seconds.
    pub enrollment_ttl_seconds: i64,
    /// Lifetime of an assertion, seconds.
    pub assertion_ttl_seconds: i64,
    /// Allowed clock skew of a signed device request, seconds.
    pub device_clock_skew_seconds: i64,
    /// Default ticket lifetime, seconds.
    pub ticket_ttl_seconds: i64,
    /// Longest ticket lifetime a relying party may ask for, seconds.
    pub ticket_max_ttl_seconds: i64,
    /// Lifetime of an unknown-environment warning in the device inbox, seconds.
    pub warning_ttl_seconds: i64,
    /// How long expired single-use rows are kept before housekeeping deletes them, seconds.
    pub retention_grace_seconds: i64,
    /// Password hashing and throttling, the `[gate.password]` section.
    pub password: password::PasswordSettings,
    /// Browser session timeouts, the `[gate.session]` section.
    pub session: sessions::SessionSettings,
    /// Forward-auth rules, `[[gate.forward_auth]]`, first match wins.
    pub forward_auth: Vec<forward::ForwardRule>,
    /// The OIDC provider, the `[gate.oidc]` section.
    pub oidc: oidc::OidcSettings,
    /// Passkeys (WebAuthn), the `[gate.passkey]` section.
    pub passkey: passkeys::PasskeySettings,
}

impl Default for GateSettings {
    fn default() -> Self {
        GateSettings {
            public_url: "http://127.0.0.1:8080".into(),
            login_ttl_seconds: 60,
            qr_ttl_seconds: 60,
            enrollment_ttl_seconds: 600,
            assertion_ttl_seconds: 60,
            device_clock_skew_seconds: 60,
            ticket_ttl_seconds: 3600,
            ticket_max_ttl_seconds: 30 * 24 * 3600,
            warning_ttl_seconds: 24 * 3600,
            retention_grace_seconds: 24 * 3600,
            password: password::PasswordSettings::default(),
            session: sessions::SessionSettings::default(),
            forward_auth: Vec::new(),
            oidc: oidc::OidcSettings::default(),
            passkey: passkeys::PasskeySettings::default(),
        }
    }
}

/// The gate: every authentication service, sharing one store, clock, rng and key set.
#[derive(Clone)]
pub struct Gate {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
    keys: Arc<ServerKeys>,
    settings: Arc<GateSettings>,
    hub: notify::Hub,
    deliveries: Arc<Vec<Arc<dyn notify::Delivery>>>,
    hasher: Arc<password::PasswordHasher>,
    session_cache: Arc<sessions::SessionCache>,
    oidc_keys: Arc<oidc::keyring::KeyCache>,
    /// The WebAuthn relying party, or why passkeys are off.
    webauthn: Arc<Result<webauthn_rs::Webauthn, sekimori_core::SettingsError>>,
}

impl Gate {
    /// Builds the gate and starts its password hashing threads; the error names the
    /// setting that is wrong.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
        keys: ServerKeys,
        settings: GateSettings,
    ) -> Result<Self, sekimori_core::SettingsError> {
        use sekimori_core::SettingsError;
        settings.oidc.validate().map_err(|(key, reason)| SettingsError::new(key, reason))?;
        let hasher =
            Arc::new(password::PasswordHasher::start(&settings.password, rng.as_ref()).map_err(|e| match e {
                password::hasher::StartError::Setting { key, reason } => SettingsError::new(key, reason),
                other => SettingsError::new("gate.password.hash_workers", other.to_string()),
            })?);
        Ok(Gate {
            hasher,
            session_cache: Arc::new(sessions::SessionCache::default()),
            oidc_keys: Arc::new(oidc::keyring::KeyCache::default()),
            webauthn: Arc::new(passkeys::relying_party(&settings.public_url, &settings.passkey)),
            store,
            clock,
            rng,
            keys: Arc::new(keys),
            settings: Arc::new(settings),
            hub: notify::Hub::default(),
            deliveries: Arc::new(Vec::new()),
        })
    }

    /// Adds a delivery channel (Web Push, a cross-node bridge, …) for new device messages.
    pub fn with_delivery(mut self, delivery: Arc<dyn notify::Delivery>) -> Self {
        Arc::make_mut(&mut self.deliveries).push(delivery);
        self
    }

    /// Wakes this node's long-polls and hands stored messages to every delivery channel.
    fn deliver(&self, user_id: &str, messages: &[sekimori_store::InboxMessage]) {
        self.hub.wake(&notify::Topic::UserInbox(user_id.to_owned()));
        for d in self.deliveries.iter() {
            d.deliver(user_id, messages);
        }
    }

    /// The server's keys (public part for JWKS and devices).
    pub fn keys(&self) -> &ServerKeys {
        &self.keys
    }

    /// The settings.
    pub fn settings(&self) -> &GateSettings {
        &self.settings
    }

    fn new_id(&self) -> String {
        sekimori_core::token::new_id(self.clock.now(), self.rng.as_ref()).to_string()
    }

    fn new_secret(&self) -> String {
        sekimori_core::token::new_secret(self.rng.as_ref())
    }
}
