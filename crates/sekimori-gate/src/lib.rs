//! Sekimori's gate: the authentication services. Handlers in `sekimori-server` call
//! one method here per request; everything that decides lives here, over the
//! [`sekimori_store::Store`] trait, with time and randomness injected.

pub mod access;
pub mod admin;
pub mod apps;
pub mod archive;
pub mod assertion;
pub mod audit;
pub mod checkpoints;
pub mod console;
pub mod context;
pub mod dashboard;
pub mod device_auth;
pub mod enroll;
pub mod environments;
mod error;
pub mod factors;
pub mod forward;
pub mod keys;
mod metrics;
pub mod notify;
pub mod oidc;
pub mod overrides;
pub mod passkeys;
pub mod password;
pub mod push;
pub mod qr;
pub mod risk;
pub mod roles;
pub mod sessions;
pub mod snippet;
pub mod standby;
pub mod tickets;
pub mod web_push;

use std::sync::Arc;

use sekimori_core::{Clock, PublicUrl, Rng};
use sekimori_store::Store;

pub use admin::TenantSettings;
pub use apps::{AppKind, NewAppKey};
pub use context::Context;
pub use enroll::{Enrolled, EnrollmentCreated};
pub use error::{GateError, GateResult};
pub use keys::ServerKeys;
pub use push::{PushStarted, PushStatus};
pub use qr::{QrCreated, QrStatus};
pub use tickets::{IssuedTicket, Redeemed, TicketView};

/// The public URL of a server on the default listen address.
fn default_public_url() -> PublicUrl {
    PublicUrl::from_listen(std::net::SocketAddr::from(([127, 0, 0, 1], 8080)))
}

/// Gate settings that come from configuration, the `[gate]` section (tenant settings live
/// in the store). Unknown keys are refused; missing ones take the defaults.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GateSettings {
    /// The public base URL, used in enrolment links and as the assertion issuer; set from
    /// `server.public_url`, not from `[gate]`.
    #[serde(skip, default = "default_public_url")]
    pub public_url: PublicUrl,
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
    /// Waking authenticator apps by Web Push, the `[gate.web_push]` section.
    pub web_push: web_push::WebPushSettings,
}

impl Default for GateSettings {
    fn default() -> Self {
        GateSettings {
            public_url: default_public_url(),
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
            web_push: web_push::WebPushSettings::default(),
        }
    }
}

/// The gate: the authentication services over one shared [`Context`], built together so
/// each gets the services it depends on. The server reaches a service by its accessor
/// (`gate.push().start_push(…)`); a service's settings and caches live in the service.
#[derive(Clone)]
pub struct Gate {
    ctx: Arc<Context>,
    access: Arc<access::Access>,
    admin: Arc<admin::Admin>,
    apps: Arc<apps::Apps>,
    assertions: Arc<assertion::Assertions>,
    audit: Arc<audit::AuditLog>,
    devices: Arc<device_auth::Devices>,
    enrolment: Arc<enroll::Enrolment>,
    environments: Arc<environments::Environments>,
    factors: Arc<factors::Factors>,
    forward: Arc<forward::Forward>,
    oidc: Arc<oidc::Oidc>,
    overrides: Arc<overrides::Overrides>,
    passkeys: Arc<passkeys::Passkeys>,
    passwords: Arc<password::Passwords>,
    push: Arc<push::PushLogin>,
    qr: Arc<qr::QrLogin>,
    risk: Arc<risk::Risk>,
    roles: Arc<roles::Roles>,
    sessions: Arc<sessions::Sessions>,
    standby: Arc<standby::Standby>,
    tickets: Arc<tickets::Tickets>,
    web_push: Arc<web_push::WebPushSubscriptions>,
    console: Arc<console::ConsoleRoles>,
    dashboards: Arc<dashboard::Dashboards>,
}

/// Seals under the server's secret key with the gate's randomness.
struct ContextSealer(Arc<Context>);

impl sekimori_core::Sealer for ContextSealer {
    fn seal(&self, context: &[u8], plaintext: &[u8]) -> Vec<u8> {
        self.0.keys.seal(self.0.rng.as_ref(), context, plaintext)
    }

    fn open(&self, context: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        self.0.keys.open(context, sealed)
    }
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
        Self::with_deliveries(store, clock, rng, keys, settings, Vec::new())
    }

    /// [`Gate::new`] with delivery channels (Web Push, a cross-node bridge, …) told of every
    /// new device message.
    pub fn with_deliveries(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
        keys: ServerKeys,
        settings: GateSettings,
        deliveries: Vec<Arc<dyn notify::Delivery>>,
    ) -> Result<Self, sekimori_core::SettingsError> {
        use sekimori_core::SettingsError;
        settings.oidc.validate().map_err(|(key, reason)| SettingsError::new(key, reason))?;
        let hasher = password::PasswordHasher::start(&settings.password, rng.as_ref()).map_err(|e| match e {
            password::hasher::StartError::Setting { key, reason } => SettingsError::new(key, reason),
            other => SettingsError::new("gate.password.hash_workers", other.to_string()),
        })?;
        let webauthn = passkeys::relying_party(&settings.public_url, &settings.passkey);
        let ctx = Arc::new(Context::new(store, clock, rng, keys, settings.public_url.clone(), deliveries));
        let s = &settings;
        let access = Arc::new(access::Access::new(ctx.clone()));
        let environments = Arc::new(environments::Environments::new(ctx.clone()));
        let risk = Arc::new(risk::Risk::new(ctx.clone(), environments.clone()));
        let assertions = Arc::new(assertion::Assertions::new(ctx.clone(), risk.clone(), s.assertion_ttl_seconds));
        let roles = Arc::new(roles::Roles::new(ctx.clone()));
        let apps = Arc::new(apps::Apps::new(ctx.clone()));
        let passwords =
            Arc::new(password::Passwords::new(ctx.clone(), access.clone(), risk.clone(), hasher, s.password.clone()));
        let overrides = Arc::new(overrides::Overrides::new(ctx.clone(), access.clone()));
        let push = Arc::new(push::PushLogin::new(
            ctx.clone(),
            access.clone(),
            environments.clone(),
            assertions.clone(),
            (risk.clone(), overrides.clone()),
            s.login_ttl_seconds,
            s.warning_ttl_seconds,
        ));
        let passkeys = Arc::new(passkeys::Passkeys::new(ctx.clone(), access.clone(), webauthn, s.passkey.clone()));
        let factors = Arc::new(factors::Factors::new(ctx.clone(), access.clone(), passkeys.enabled()));
        let sessions = Arc::new(sessions::Sessions::new(
            ctx.clone(),
            access.clone(),
            assertions.clone(),
            (push.clone(), risk.clone()),
            s.session.clone(),
        ));
        let web_push = Arc::new(web_push::WebPushSubscriptions::new(ctx.clone(), s.web_push.clone())?);
        Ok(Gate {
            web_push,
            console: Arc::new(console::ConsoleRoles::new(ctx.clone(), roles.clone())),
            dashboards: Arc::new(dashboard::Dashboards::new(ctx.clone())),
            admin: Arc::new(admin::Admin::new(ctx.clone(), access.clone(), passwords.clone(), roles.clone())),
            audit: Arc::new(audit::AuditLog::new(ctx.clone())),
            devices: Arc::new(device_auth::Devices::new(
                ctx.clone(),
                access.clone(),
                s.device_clock_skew_seconds,
                s.retention_grace_seconds,
            )),
            enrolment: Arc::new(enroll::Enrolment::new(ctx.clone(), s.enrollment_ttl_seconds)),
            standby: Arc::new(standby::Standby::new(ctx.clone())),
            forward: Arc::new(forward::Forward::new(s.forward_auth.clone())),
            oidc: Arc::new(oidc::Oidc::new(ctx.clone(), apps.clone(), sessions.clone(), s.oidc.clone())),
            qr: Arc::new(qr::QrLogin::new(ctx.clone(), access.clone(), assertions.clone(), s.qr_ttl_seconds)),
            tickets: Arc::new(tickets::Tickets::new(ctx.clone(), s.ticket_ttl_seconds, s.ticket_max_ttl_seconds)),
            overrides,
            access,
            apps,
            assertions,
            environments,
            factors,
            passkeys,
            passwords,
            push,
            risk,
            roles,
            sessions,
            ctx,
        })
    }

    /// The server's keys (public part for JWKS and devices).
    pub fn keys(&self) -> &ServerKeys {
        &self.ctx.keys
    }

    /// The server's secret key as a [`sekimori_core::Sealer`], for other services that
    /// keep secrets at rest (the routing document's webhook URLs and keys).
    pub fn sealer(&self) -> Arc<dyn sekimori_core::Sealer> {
        Arc::new(ContextSealer(self.ctx.clone()))
    }

    /// The server's time now (the injected clock), for pages that show ranges up to now.
    pub fn now(&self) -> sekimori_core::Timestamp {
        self.ctx.clock.now()
    }

    /// Dashboards' numbers, from the audit roll-ups.
    pub fn dashboards(&self) -> &dashboard::Dashboards {
        &self.dashboards
    }

    /// Console roles and the principal of a console session.
    pub fn console(&self) -> &console::ConsoleRoles {
        &self.console
    }

    /// Devices' Web Push subscriptions and the VAPID settings.
    pub fn web_push(&self) -> &web_push::WebPushSubscriptions {
        &self.web_push
    }

    /// The public base URL.
    pub fn public_url(&self) -> &PublicUrl {
        &self.ctx.public_url
    }

    /// Required-level overrides: responses that raise, suspend push or block a user.
    pub fn overrides(&self) -> &overrides::Overrides {
        &self.overrides
    }

    /// Who may log in now; users, groups and login hours.
    pub fn access(&self) -> &access::Access {
        &self.access
    }

    /// Tenants, users, devices, readiness and housekeeping.
    pub fn admin(&self) -> &admin::Admin {
        &self.admin
    }

    /// App keys and their origins.
    pub fn apps(&self) -> &apps::Apps {
        &self.apps
    }

    /// Signed login assertions.
    pub fn assertions(&self) -> &assertion::Assertions {
        &self.assertions
    }

    /// The audit log: events, verification, checkpoints.
    pub fn audit(&self) -> &audit::AuditLog {
        &self.audit
    }

    /// Authenticators' signed requests, and housekeeping of single-use rows.
    pub fn devices(&self) -> &Arc<device_auth::Devices> {
        &self.devices
    }

    /// Enrolment of authenticators.
    pub fn enrolment(&self) -> &enroll::Enrolment {
        &self.enrolment
    }

    /// Client environments a user has logged in from.
    pub fn environments(&self) -> &environments::Environments {
        &self.environments
    }

    /// TOTP and recovery codes.
    pub fn factors(&self) -> &factors::Factors {
        &self.factors
    }

    /// Forward-auth rules and decisions.
    pub fn forward(&self) -> &forward::Forward {
        &self.forward
    }

    /// The OpenID Connect provider.
    pub fn oidc(&self) -> &oidc::Oidc {
        &self.oidc
    }

    /// Passkeys (WebAuthn).
    pub fn passkeys(&self) -> &passkeys::Passkeys {
        &self.passkeys
    }

    /// Passwords, their policy and throttling.
    pub fn passwords(&self) -> &password::Passwords {
        &self.passwords
    }

    /// Push login and the device inbox.
    pub fn push(&self) -> &push::PushLogin {
        &self.push
    }

    /// Login-time risk: the tenant's policy and the judgement of attempts.
    pub fn risk(&self) -> &risk::Risk {
        &self.risk
    }

    /// QR login.
    pub fn qr(&self) -> &qr::QrLogin {
        &self.qr
    }

    /// Admin tokens, roles and their authorization.
    pub fn roles(&self) -> &roles::Roles {
        &self.roles
    }

    /// Browser sessions of the hosted login.
    pub fn sessions(&self) -> &sessions::Sessions {
        &self.sessions
    }

    /// The standby window.
    pub fn standby(&self) -> &standby::Standby {
        &self.standby
    }

    /// Tickets.
    pub fn tickets(&self) -> &tickets::Tickets {
        &self.tickets
    }
}
