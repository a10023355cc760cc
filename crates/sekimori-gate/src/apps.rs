//! Apps: the relying parties and verifiers that hold app keys, and the web origins whose
//! pages may start a QR login for them (the JS snippet). Every change is audited in the
//! same transaction.

use sekimori_core::AppId;
use sekimori_core::Timestamp;
use std::sync::Arc;

use sekimori_core::ecs::{action, field};
use sekimori_core::event::{NewEvent, Outcome};
use sekimori_core::names::Label;
use sekimori_core::token::{hash_secret, PrefixedKey};
use sekimori_core::ErrorCode;
use sekimori_store::{AdminToken, App};

use crate::snippet::{normalize_origin, origins_of, MAX_ORIGINS};
use crate::{Context, GateError, GateResult};

/// Prefix of app keys.
pub const APP_PREFIX: &str = "skapp";

/// What an app key may do: start logins, verify assertions and issue tickets (a relying
/// party), or redeem tickets (a verifier). Stored typed; a stored kind that is neither is a
/// store error.
pub use sekimori_store::AppKind;

/// A new app and its key, shown once.
#[derive(Debug, Clone)]
pub struct NewAppKey {
    /// The stored app.
    pub app: App,
    /// The bearer key (`skapp_<id>_<secret>`).
    pub key: String,
}

/// App keys: registration, authentication, revocation and origins.
pub struct Apps {
    ctx: Arc<Context>,
}

impl Apps {
    pub(crate) fn new(ctx: Arc<Context>) -> Self {
        Apps { ctx }
    }

    /// The app presented as a bearer credential.
    pub async fn authenticate_app(&self, bearer: &str) -> GateResult<App> {
        let denied = || GateError::new(ErrorCode::Unauthorized, "invalid app key");
        let key = PrefixedKey::parse(APP_PREFIX, bearer).ok_or_else(denied)?;
        let app = self.ctx.store.app(&AppId::new(key.id.as_str())).await?.ok_or_else(denied)?;
        if !key.unlocks(&app.secret_hash, app.revoked_at.map(Timestamp::millis)) {
            return Err(denied());
        }
        Ok(app)
    }

    /// Checks that `app` is of `kind`.
    pub fn require_app_kind(app: &App, kind: AppKind) -> GateResult<()> {
        if app.kind == kind {
            Ok(())
        } else {
            Err(GateError::new(ErrorCode::Forbidden, format!("this needs a {} key", kind.as_str())))
        }
    }

    /// Registers an app and returns its key, once.
    pub async fn add_app(&self, admin: &AdminToken, name: &Label, kind: AppKind) -> GateResult<NewAppKey> {
        let (new, ev) = self.new_app(admin, name, kind);
        if !self.ctx.store.insert_app(&new.app, &ev).await? {
            return Err(GateError::new(ErrorCode::Conflict, format!("an app named {name} already exists")));
        }
        Ok(new)
    }

    /// A new app record with its key, and the event that records its creation.
    pub(crate) fn new_app(&self, admin: &AdminToken, name: &Label, kind: AppKind) -> (NewAppKey, NewEvent) {
        let id = uuid_hex(&self.ctx.new_id::<String>());
        let secret = self.ctx.new_secret();
        let app = App {
            id: AppId::new(id.as_str()),
            tenant_id: admin.tenant_id.clone(),
            name: name.to_string(),
            kind,
            secret_hash: hash_secret(&secret),
            created_at: self.ctx.clock.now(),
            revoked_at: None,
            origins: None,
        };
        let ev = self
            .ctx
            .event(&admin.tenant_id, "configuration", action::ADMIN_APP_CREATED, Outcome::Success)
            .field(field::APP_ID, id.as_str())
            .field(field::APP_NAME, name.as_str())
            .field(field::APP_KIND, kind.as_str())
            .field(field::ADMIN_TOKEN_ID, admin.id.as_str());
        (NewAppKey { key: PrefixedKey::format(APP_PREFIX, &id, &secret), app }, ev)
    }

    /// The tenant's apps.
    pub async fn list_apps(&self, admin: &AdminToken) -> GateResult<Vec<App>> {
        Ok(self.ctx.store.list_apps(&admin.tenant_id).await?)
    }

    /// Revokes an app key.
    pub async fn revoke_app(&self, admin: &AdminToken, app_id: &AppId) -> GateResult<()> {
        let ev = self
            .ctx
            .event(&admin.tenant_id, "configuration", action::ADMIN_APP_REVOKED, Outcome::Success)
            .field(field::APP_ID, app_id)
            .field(field::ADMIN_TOKEN_ID, admin.id.as_str());
        let owned = self.ctx.store.app(app_id).await?.is_some_and(|a| a.tenant_id == admin.tenant_id);
        if !owned || !self.ctx.store.revoke_app(app_id, self.ctx.clock.now(), &ev).await? {
            return Err(GateError::new(ErrorCode::NotFound, format!("no live app {app_id}")));
        }
        Ok(())
    }
    /// Sets the web origins whose pages may start a QR login for `app_id`.
    pub async fn set_app_origins(&self, admin: &AdminToken, app_id: &AppId, origins: &[String]) -> GateResult<App> {
        if origins.len() > MAX_ORIGINS {
            return Err(GateError::new(ErrorCode::InvalidRequest, format!("at most {MAX_ORIGINS} origins"))
                .with("field", "origins"));
        }
        let mut clean = Vec::new();
        for o in origins {
            let n = normalize_origin(o)
                .map_err(|e| GateError::new(ErrorCode::InvalidRequest, e.to_string()).with("field", "origins"))?;
            if !clean.contains(&n) {
                clean.push(n);
            }
        }
        let app = self
            .ctx
            .store
            .app(app_id)
            .await?
            .filter(|a| a.tenant_id == admin.tenant_id && a.revoked_at.is_none())
            .ok_or_else(|| GateError::new(ErrorCode::NotFound, format!("no live app {app_id}")))?;
        let origins = (!clean.is_empty()).then_some(clean);
        let ev = self
            .ctx
            .event(&admin.tenant_id, "configuration", action::ADMIN_APP_ORIGINS_UPDATED, Outcome::Success)
            .field(field::APP_ID, app_id)
            .field(field::APP_ORIGINS, origins.as_deref().unwrap_or_default().join(" "))
            .field(field::ADMIN_TOKEN_ID, admin.id.as_str());
        self.ctx.store.set_app_origins(app_id, origins.as_deref(), &ev).await?;
        Ok(App { origins, ..app })
    }

    /// The live relying-party app `app_id` if `origin` may start a QR login for it.
    pub async fn snippet_app(&self, app_id: &AppId, origin: Option<&str>) -> GateResult<App> {
        let refused = || GateError::new(ErrorCode::Forbidden, "this page's origin may not start a login for this app");
        let app = self
            .ctx
            .store
            .app(app_id)
            .await?
            .filter(|a| a.revoked_at.is_none() && a.kind == AppKind::RelyingParty)
            .ok_or_else(|| GateError::new(ErrorCode::NotFound, format!("no live relying party {app_id}")))?;
        let origin = origin.ok_or_else(refused).and_then(|o| normalize_origin(o).map_err(|_| refused()))?;
        if !origins_of(&app).contains(&origin) {
            return Err(refused());
        }
        Ok(app)
    }

    /// The origins allowed to read QR session `id`'s status (its app's), if it has an app.
    pub async fn qr_origins(&self, id: &str) -> GateResult<Vec<String>> {
        let Some(app_id) = self.ctx.store.qr(id).await?.and_then(|s| s.app_id) else { return Ok(Vec::new()) };
        Ok(self.ctx.store.app(&app_id).await?.map(|a| origins_of(&a)).unwrap_or_default())
    }
}

/// The 32-hex-digit form of a UUID string (key ids in bearer tokens).
fn uuid_hex(uuid: &str) -> String {
    uuid.replace('-', "")
}
