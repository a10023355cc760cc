//! Passkeys (WebAuthn Level 3, through `webauthn-rs`): registration by a signed-in user,
//! and passwordless login, with a username (its passkeys offered) or without one
//! (a discoverable credential names the user). User verification is required, so a passkey
//! login proves possession and a PIN or biometric: level 3, `amr` `["pop", "mfa"]`.
//!
//! Each ceremony's challenge lives in the store and is taken once, atomically, so an
//! authenticator's answer cannot be replayed.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sekimori_core::ecs::{action, field};
use sekimori_core::event::Outcome;
use sekimori_core::names::Label;
use sekimori_core::{ErrorCode, PublicUrl, SettingsError};
use sekimori_core::{TenantId, UserId};
use sekimori_store::{CeremonyKind, Consume, PasskeyCeremony, PasskeyRecord, User};
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

use crate::sessions::SessionView;
use std::sync::Arc;

use crate::access::Access;
use crate::{Context, GateError, GateResult};

/// Methods a passkey login proves (RFC 8176): proof of possession of a key, with user
/// verification (a second factor on the device).
pub const PASSKEY_AMR: [&str; 2] = ["pop", "mfa"];
/// Most passkeys a user may register.
const MAX_PER_USER: usize = 20;

/// The `[gate.passkey]` configuration section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasskeySettings {
    /// The relying-party id (a domain); default: the host of the public URL.
    pub rp_id: Option<String>,
    /// The name authenticators show.
    pub rp_name: String,
    /// Origins the browser may run the ceremony on; default: the public URL's origin (in
    /// the environment: comma-separated).
    #[serde(deserialize_with = "sekimori_core::settings::comma_list")]
    pub origins: Vec<String>,
    /// How long a ceremony waits for the authenticator, seconds.
    pub ceremony_ttl_seconds: i64,
}

impl Default for PasskeySettings {
    fn default() -> Self {
        PasskeySettings { rp_id: None, rp_name: "Sekimori".into(), origins: Vec::new(), ceremony_ttl_seconds: 300 }
    }
}

/// The WebAuthn relying party for `settings`, or why passkeys are off.
pub fn relying_party(public_url: &PublicUrl, settings: &PasskeySettings) -> Result<Webauthn, SettingsError> {
    let public = public_url.url();
    let origins: Vec<Url> = if settings.origins.is_empty() {
        vec![public.clone()]
    } else {
        settings
            .origins
            .iter()
            .map(|o| Url::parse(o).map_err(|e| SettingsError::new("gate.passkey.origins", format!("{o:?}: {e}"))))
            .collect::<Result<_, _>>()?
    };
    let rp_id = match &settings.rp_id {
        Some(id) => id.clone(),
        None => origins[0].domain().map(str::to_owned).ok_or_else(|| {
            SettingsError::new(
                "gate.passkey.rp_id",
                "passkeys need a domain name: set it (the public URL's host is an IP address)",
            )
        })?,
    };
    let mut b = WebauthnBuilder::new(&rp_id, &origins[0])
        .map_err(|e| {
            SettingsError::new("gate.passkey.rp_id", format!("{rp_id:?} does not fit origin {}: {e}", origins[0]))
        })?
        .rp_name(&settings.rp_name);
    for o in &origins[1..] {
        b = b.append_allowed_origin(o);
    }
    b.build().map_err(|e| SettingsError::new("gate.passkey", e.to_string()))
}

/// A ceremony started: its id and the options for `navigator.credentials`.
#[derive(Debug, Clone, Serialize)]
pub struct PasskeyChallenge {
    /// Send it back with the authenticator's answer.
    pub ceremony: String,
    /// `{"publicKey": {...}}` as `navigator.credentials.create/get` takes it (base64url
    /// binary fields).
    pub options: serde_json::Value,
}

/// A registered passkey, as its owner and admins see it.
#[derive(Debug, Clone, Serialize)]
pub struct PasskeyView {
    /// Credential id.
    pub id: String,
    /// The user's name for it.
    pub name: String,
    /// Registration (RFC 3339).
    pub created_at: String,
    /// Last login (RFC 3339).
    pub last_used_at: Option<String>,
}

impl From<PasskeyRecord> for PasskeyView {
    fn from(p: PasskeyRecord) -> Self {
        PasskeyView {
            id: p.id,
            name: p.name,
            created_at: p.created_at.to_rfc3339(),
            last_used_at: p.last_used_at.map(|t| t.to_rfc3339()),
        }
    }
}

fn bad(detail: impl Into<String>) -> GateError {
    GateError::new(ErrorCode::InvalidRequest, detail)
}

fn refused(e: impl std::fmt::Display) -> GateError {
    GateError::new(ErrorCode::InvalidSignature, format!("the authenticator's answer was refused: {e}"))
}

fn json<T: Serialize>(v: &T) -> GateResult<String> {
    serde_json::to_string(v).map_err(|e| GateError::new(ErrorCode::Internal, e.to_string()))
}

/// Passkeys (WebAuthn): registration, login and their one-time ceremonies.
pub struct Passkeys {
    ctx: Arc<Context>,
    access: Arc<Access>,
    /// The WebAuthn relying party, or why passkeys are off.
    relying_party: Result<Webauthn, SettingsError>,
    settings: PasskeySettings,
}

impl Passkeys {
    pub(crate) fn new(
        ctx: Arc<Context>,
        access: Arc<Access>,
        relying_party: Result<Webauthn, SettingsError>,
        settings: PasskeySettings,
    ) -> Self {
        Passkeys { ctx, access, relying_party, settings }
    }

    /// Whether passkeys are on (the relying party could be built from the settings).
    pub fn enabled(&self) -> bool {
        self.relying_party.is_ok()
    }

    /// The `[gate.passkey]` settings.
    pub fn settings(&self) -> &PasskeySettings {
        &self.settings
    }
}

impl Passkeys {
    /// The host of the first origin passkeys are used on, or why they are off.
    pub fn passkey_host(&self) -> Result<&str, &SettingsError> {
        match self.relying_party.as_ref() {
            Ok(wa) => Ok(wa.get_allowed_origins().first().and_then(|o| o.domain()).unwrap_or("?")),
            Err(why) => Err(why),
        }
    }

    fn webauthn(&self) -> GateResult<&Webauthn> {
        self.relying_party.as_ref().map_err(|why| GateError::new(ErrorCode::ServiceUnavailable, why.to_string()))
    }

    async fn new_ceremony(
        &self,
        tenant_id: &TenantId,
        kind: CeremonyKind,
        user_id: Option<&UserId>,
        state: String,
        options: serde_json::Value,
    ) -> GateResult<PasskeyChallenge> {
        let now = self.ctx.clock.now();
        let c = PasskeyCeremony {
            id: self.ctx.new_secret(),
            tenant_id: tenant_id.to_owned(),
            kind,
            user_id: user_id.cloned(),
            state,
            created_at: now,
            expires_at: now.plus_seconds(self.settings.ceremony_ttl_seconds),
            consumed_at: None,
        };
        self.ctx.store.insert_passkey_ceremony(&c).await?;
        Ok(PasskeyChallenge { ceremony: c.id, options })
    }

    async fn take_ceremony(&self, id: &str, kinds: &[CeremonyKind]) -> GateResult<PasskeyCeremony> {
        if id.len() > 128 {
            return Err(bad("unknown ceremony"));
        }
        match self.ctx.store.consume_passkey_ceremony(id, self.ctx.clock.now()).await? {
            Consume::Done(c) if kinds.contains(&c.kind) => Ok(c),
            Consume::Done(_) | Consume::NotFound => Err(bad("unknown ceremony")),
            Consume::AlreadyUsed { .. } => {
                Err(GateError::new(ErrorCode::AlreadyUsed, "this ceremony was already answered"))
            }
            Consume::Expired => Err(GateError::new(ErrorCode::Expired, "the ceremony expired; start again")),
        }
    }

    /// The stored credentials; one that cannot be read is an error, never silently left out.
    fn user_passkey_list(records: &[PasskeyRecord]) -> GateResult<Vec<Passkey>> {
        records
            .iter()
            .map(|r| {
                serde_json::from_str(&r.credential).map_err(|e| {
                    tracing::error!(passkey = %r.id, error = %e, "stored passkey cannot be read");
                    GateError::new(ErrorCode::Internal, format!("stored passkey {} cannot be read", r.id))
                })
            })
            .collect()
    }

    /// Starts registering a passkey for the signed-in user.
    pub async fn passkey_register_start(&self, s: &SessionView) -> GateResult<PasskeyChallenge> {
        let wa = self.webauthn()?;
        let user = self.ctx.store.user(&s.user_id).await?.ok_or_else(|| bad("no such user"))?;
        let existing = self.ctx.store.user_passkeys(&user.id).await?;
        if existing.len() >= MAX_PER_USER {
            return Err(GateError::new(ErrorCode::Conflict, format!("at most {MAX_PER_USER} passkeys per user")));
        }
        let exclude = Self::user_passkey_list(&existing)?.iter().map(|p| p.cred_id().clone()).collect();
        let uuid = Uuid::parse_str(&user.id).map_err(|e| GateError::new(ErrorCode::Internal, e.to_string()))?;
        let display = user.display_name.clone().unwrap_or_else(|| user.username.clone());
        let (options, state) =
            wa.start_passkey_registration(uuid, &user.username, &display, Some(exclude)).map_err(refused)?;
        let options = serde_json::to_value(options).map_err(|e| GateError::new(ErrorCode::Internal, e.to_string()))?;
        self.new_ceremony(&user.tenant_id, CeremonyKind::Register, Some(&user.id), json(&state)?, options).await
    }

    /// Finishes a registration with the authenticator's answer.
    pub async fn passkey_register_finish(
        &self,
        s: &SessionView,
        ceremony: &str,
        credential: serde_json::Value,
        name: &Label,
    ) -> GateResult<PasskeyView> {
        let wa = self.webauthn()?;
        let answer: RegisterPublicKeyCredential =
            serde_json::from_value(credential).map_err(|e| bad(format!("credential: {e}")))?;
        let c = self.take_ceremony(ceremony, &[CeremonyKind::Register]).await?;
        if c.user_id.as_deref() != Some(s.user_id.as_str()) {
            return Err(bad("unknown ceremony"));
        }
        let state: PasskeyRegistration =
            serde_json::from_str(&c.state).map_err(|e| GateError::new(ErrorCode::Internal, e.to_string()))?;
        let passkey = wa.finish_passkey_registration(&answer, &state).map_err(refused)?;
        let record = PasskeyRecord {
            id: URL_SAFE_NO_PAD.encode(passkey.cred_id()),
            tenant_id: s.tenant_id.clone(),
            user_id: s.user_id.clone(),
            name: name.to_string(),
            credential: json(&passkey)?,
            created_at: self.ctx.clock.now(),
            last_used_at: None,
        };
        let ev = self
            .ctx
            .event(&s.tenant_id, "iam", action::CREDENTIAL_PASSKEY_REGISTERED, Outcome::Success)
            .user(&s.user_id, &s.username)
            .field(field::PASSKEY_ID, record.id.as_str());
        if !self.ctx.store.insert_passkey(&record, &ev).await? {
            return Err(GateError::new(ErrorCode::Conflict, "this passkey is already registered"));
        }
        Ok(record.into())
    }

    /// A user's passkeys.
    pub async fn passkeys_of(&self, user_id: &UserId) -> GateResult<Vec<PasskeyView>> {
        Ok(self.ctx.store.user_passkeys(user_id).await?.into_iter().map(PasskeyView::from).collect())
    }

    /// Deletes one of a user's passkeys.
    pub async fn delete_passkey(&self, user: &User, id: &str, actor: &str) -> GateResult<()> {
        let ev = self
            .ctx
            .event(&user.tenant_id, "iam", action::CREDENTIAL_PASSKEY_DELETED, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::PASSKEY_ID, id)
            .field(field::ACTOR, actor);
        if !self.ctx.store.delete_passkey(&user.id, id, &ev).await? {
            return Err(GateError::new(ErrorCode::NotFound, format!("{} has no passkey {id}", user.username)));
        }
        self.access.end_sessions_after(user, action::CREDENTIAL_PASSKEY_DELETED, actor).await?;
        Ok(())
    }

    /// Starts a passkey login. With a username that has passkeys, they are offered;
    /// otherwise (no name, an unknown one, or one without passkeys: all look the same) the
    /// browser is asked for any discoverable credential of this site.
    pub async fn passkey_login_start(
        &self,
        tenant_id: &TenantId,
        username: Option<&str>,
    ) -> GateResult<PasskeyChallenge> {
        let wa = self.webauthn()?;
        let user = match username.filter(|u| sekimori_core::names::Username::parse(u).is_ok()) {
            Some(u) => self.ctx.store.user_by_name(tenant_id, u).await?,
            None => None,
        };
        let passkeys = match &user {
            Some(u) => Self::user_passkey_list(&self.ctx.store.user_passkeys(&u.id).await?)?,
            None => Vec::new(),
        };
        let to_value = |v| serde_json::to_value(v).map_err(|e| GateError::new(ErrorCode::Internal, e.to_string()));
        match user.filter(|_| !passkeys.is_empty()) {
            Some(u) => {
                let (options, state) = wa.start_passkey_authentication(&passkeys).map_err(refused)?;
                self.new_ceremony(tenant_id, CeremonyKind::Login, Some(&u.id), json(&state)?, to_value(options)?).await
            }
            None => {
                let (options, state) = wa.start_discoverable_authentication().map_err(refused)?;
                let mut options = to_value(options)?;
                // Offered as a plain prompt, not only as form autofill.
                if let Some(o) = options.as_object_mut() {
                    o.remove("mediation");
                }
                self.new_ceremony(tenant_id, CeremonyKind::Discoverable, None, json(&state)?, options).await
            }
        }
    }

    /// Finishes a passkey login: the user, who may log in now, and the level proved.
    pub async fn passkey_login_finish(
        &self,
        tenant_id: &TenantId,
        ceremony: &str,
        credential: serde_json::Value,
    ) -> GateResult<(User, u8)> {
        let wa = self.webauthn()?;
        let answer: PublicKeyCredential =
            serde_json::from_value(credential).map_err(|e| bad(format!("credential: {e}")))?;
        let c = self.take_ceremony(ceremony, &[CeremonyKind::Login, CeremonyKind::Discoverable]).await?;
        if c.tenant_id != *tenant_id {
            return Err(bad("unknown ceremony"));
        }
        let user_id = match &c.user_id {
            Some(id) => id.clone(),
            None => wa.identify_discoverable_authentication(&answer).map_err(refused)?.0.to_string().into(),
        };
        let user = self.ctx.store.user(&user_id).await?.filter(|u| u.tenant_id == *tenant_id);
        let Some(user) = user else { return Err(refused("no user has this passkey")) };
        let records = self.ctx.store.user_passkeys(&user.id).await?;
        let passkeys = Self::user_passkey_list(&records)?;
        let result = if c.kind == CeremonyKind::Login {
            let state: PasskeyAuthentication =
                serde_json::from_str(&c.state).map_err(|e| GateError::new(ErrorCode::Internal, e.to_string()))?;
            wa.finish_passkey_authentication(&answer, &state)
        } else {
            let state: DiscoverableAuthentication =
                serde_json::from_str(&c.state).map_err(|e| GateError::new(ErrorCode::Internal, e.to_string()))?;
            let keys: Vec<DiscoverableKey> = passkeys.iter().map(DiscoverableKey::from).collect();
            wa.finish_discoverable_authentication(&answer, state, &keys)
        };
        let result = match result {
            Ok(r) => r,
            Err(e) => {
                let ev = self
                    .ctx
                    .event(tenant_id, "authentication", action::AUTH_PASSKEY_FAILED, Outcome::Failure)
                    .user(&user.id, &user.username)
                    .field(field::ERROR_MESSAGE, e.to_string());
                self.ctx.store.append(&ev).await?;
                return Err(refused(e));
            }
        };
        let id = URL_SAFE_NO_PAD.encode(result.cred_id());
        let mut passkey =
            passkeys.into_iter().find(|p| p.cred_id() == result.cred_id()).ok_or_else(|| refused("unknown passkey"))?;
        passkey.update_credential(&result);
        self.ctx.store.passkey_used(&id, &json(&passkey)?, self.ctx.clock.now()).await?;
        let groups = self.ctx.store.user_groups(&user.id).await?;
        if user.disabled || self.access.login_refusal_in(&user, &groups, None).await?.is_some() {
            return Err(GateError::new(ErrorCode::LoginNotAllowed, "this account may not log in now"));
        }
        let level = if result.user_verified() { 3 } else { 1 };
        let ev = self
            .ctx
            .event(tenant_id, "authentication", action::AUTH_PASSKEY_SUCCEEDED, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::PASSKEY_ID, id.as_str())
            .field(field::AUTH_LEVEL, i64::from(level));
        self.ctx.store.append(&ev).await?;
        Ok((user, level))
    }
}
