//! Administration: the default tenant, admin tokens, app keys, users, devices and
//! tenant settings. Every change is audited in the same transaction.

use sekimori_core::ecs::{action, field};
use sekimori_core::event::{NewEvent, Outcome};
use sekimori_core::names::{Label, Username};
use sekimori_core::token::{hash_secret, PrefixedKey};
use sekimori_core::ErrorCode;
use sekimori_store::{AdminToken, App, Device, Tenant, User};

use crate::{Gate, GateError, GateResult};

/// Prefix of admin tokens.
pub const ADMIN_PREFIX: &str = "skadm";
/// Prefix of app keys.
pub const APP_PREFIX: &str = "skapp";
/// Name of the tenant created at first start.
pub const DEFAULT_TENANT: &str = "default";

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

/// A tenant's gate settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TenantSettings {
    /// Push login needs an armed standby window.
    pub standby_required: bool,
    /// Standby window length, 10 to 300 seconds.
    pub standby_seconds: i64,
    /// Password policy level, 1 to 4 (`sekimori_core::password`).
    pub password_policy: u8,
    /// IANA time zone that login hours are read in.
    pub time_zone: String,
}

impl Gate {
    pub(crate) fn event(&self, tenant: &str, category: &'static str, action: &str, outcome: Outcome) -> NewEvent {
        NewEvent::new(self.clock.now(), tenant, category, action, outcome)
    }

    /// Creates the default tenant if missing. On the very first start also mints an admin
    /// token and returns it (it is stored only hashed and never shown again).
    pub async fn bootstrap(&self) -> GateResult<(Tenant, Option<String>)> {
        let now = self.clock.now();
        let candidate = Tenant::with_defaults(&self.new_id(), DEFAULT_TENANT, now.millis());
        let (tenant, created) = self.store.ensure_tenant(&candidate).await?;
        let token = if created { Some(self.mint_admin_token(&tenant.id, "first-start").await?) } else { None };
        Ok((tenant, token))
    }

    /// The default tenant.
    pub async fn default_tenant(&self) -> GateResult<Tenant> {
        self.store
            .tenant_by_name(DEFAULT_TENANT)
            .await?
            .ok_or_else(|| GateError::new(ErrorCode::ServiceUnavailable, "the server has not been initialised"))
    }

    /// Readiness: the store takes a write now and, where this node sees the disk, has at
    /// least `min_free_bytes` free (a full disk or a read-only database make this
    /// `service_unavailable`, while liveness may still answer).
    pub async fn ready(&self, min_free_bytes: u64) -> GateResult<()> {
        let node = self.settings.public_url.clone();
        self.store.probe_write(&node, self.clock.now().millis()).await.map_err(|e| {
            tracing::warn!(error = %e, "readiness: the store refused a write");
            GateError::new(ErrorCode::ServiceUnavailable, "the store does not take writes now")
        })?;
        match self.store.free_bytes() {
            Some(free) if free < min_free_bytes => {
                tracing::warn!(free, min_free_bytes, "readiness: the data directory is nearly full");
                Err(GateError::new(
                    ErrorCode::ServiceUnavailable,
                    format!("the data directory has {} KiB free, less than {} KiB", free / 1024, min_free_bytes / 1024),
                ))
            }
            _ => Ok(()),
        }
    }

    /// Mints an admin token (role `admin`) for `tenant_id`.
    pub async fn mint_admin_token(&self, tenant_id: &str, name: &str) -> GateResult<String> {
        let (_, key) = self.mint_token(tenant_id, name, crate::roles::Role::Admin, None, "system").await?;
        Ok(key)
    }

    /// The admin token presented as a bearer credential.
    pub async fn authenticate_admin(&self, bearer: &str) -> GateResult<AdminToken> {
        let denied = || GateError::new(ErrorCode::Unauthorized, "invalid admin token");
        let key = PrefixedKey::parse(ADMIN_PREFIX, bearer).ok_or_else(denied)?;
        let token = self.store.admin_token(&key.id).await?.ok_or_else(denied)?;
        if !key.unlocks(&token.secret_hash, token.revoked_at) {
            return Err(denied());
        }
        Ok(token)
    }

    /// The app presented as a bearer credential.
    pub async fn authenticate_app(&self, bearer: &str) -> GateResult<App> {
        let denied = || GateError::new(ErrorCode::Unauthorized, "invalid app key");
        let key = PrefixedKey::parse(APP_PREFIX, bearer).ok_or_else(denied)?;
        let app = self.store.app(&key.id).await?.ok_or_else(denied)?;
        if !key.unlocks(&app.secret_hash, app.revoked_at) {
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

    /// Adds a user.
    pub async fn add_user(
        &self,
        admin: &AdminToken,
        username: &Username,
        email: Option<String>,
        display_name: Option<String>,
    ) -> GateResult<User> {
        let user = User {
            id: self.new_id(),
            tenant_id: admin.tenant_id.clone(),
            username: username.to_string(),
            email,
            display_name,
            disabled: false,
            created_at: self.clock.now().millis(),
            valid_from: None,
            valid_until: None,
            login_hours: None,
        };
        let ev = self
            .event(&admin.tenant_id, "iam", action::IAM_USER_CREATED, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::ADMIN_TOKEN_ID, admin.id.as_str());
        if !self.store.insert_user(&user, &ev).await? {
            return Err(GateError::new(ErrorCode::Conflict, format!("user {username} already exists")));
        }
        Ok(user)
    }

    /// All users of the admin's tenant.
    pub async fn list_users(&self, admin: &AdminToken) -> GateResult<Vec<User>> {
        Ok(self.store.list_users(&admin.tenant_id).await?)
    }

    /// The user `username` of `tenant_id`.
    pub async fn find_user(&self, tenant_id: &str, username: &str) -> GateResult<User> {
        self.store
            .user_by_name(tenant_id, username)
            .await?
            .ok_or_else(|| GateError::new(ErrorCode::NotFound, format!("no user {username}")))
    }

    /// A user's live devices.
    pub async fn user_devices(&self, tenant_id: &str, username: &str) -> GateResult<Vec<Device>> {
        let user = self.find_user(tenant_id, username).await?;
        Ok(self.store.list_devices(&user.id).await?)
    }

    /// Removes one of a user's devices; the others keep working.
    pub async fn remove_device(&self, admin: &AdminToken, username: &str, device_id: &str) -> GateResult<()> {
        let user = self.find_user(&admin.tenant_id, username).await?;
        let ev = self
            .event(&admin.tenant_id, "iam", action::IAM_DEVICE_REMOVED, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::DEVICE_ID, device_id)
            .field(field::ADMIN_TOKEN_ID, admin.id.as_str());
        let owned = self.store.device(device_id).await?.is_some_and(|d| d.user_id == user.id);
        if !owned || !self.store.revoke_device(device_id, self.clock.now().millis(), &ev).await? {
            return Err(GateError::new(ErrorCode::NotFound, format!("{username} has no device {device_id}")));
        }
        self.end_sessions_after(&user, action::IAM_DEVICE_REMOVED, &format!("admin_token:{}", admin.id.as_str()))
            .await?;
        Ok(())
    }

    /// Registers an app and returns its key, once.
    pub async fn add_app(&self, admin: &AdminToken, name: &Label, kind: AppKind) -> GateResult<NewAppKey> {
        let (new, ev) = self.new_app(admin, name, kind);
        if !self.store.insert_app(&new.app, &ev).await? {
            return Err(GateError::new(ErrorCode::Conflict, format!("an app named {name} already exists")));
        }
        Ok(new)
    }

    /// A new app record with its key, and the event that records its creation.
    pub(crate) fn new_app(&self, admin: &AdminToken, name: &Label, kind: AppKind) -> (NewAppKey, NewEvent) {
        let id = uuid_hex(&self.new_id());
        let secret = self.new_secret();
        let app = App {
            id: id.clone(),
            tenant_id: admin.tenant_id.clone(),
            name: name.to_string(),
            kind,
            secret_hash: hash_secret(&secret),
            created_at: self.clock.now().millis(),
            revoked_at: None,
            origins: None,
        };
        let ev = self
            .event(&admin.tenant_id, "configuration", action::ADMIN_APP_CREATED, Outcome::Success)
            .field(field::APP_ID, id.as_str())
            .field(field::APP_NAME, name.as_str())
            .field(field::APP_KIND, kind.as_str())
            .field(field::ADMIN_TOKEN_ID, admin.id.as_str());
        (NewAppKey { key: PrefixedKey::format(APP_PREFIX, &id, &secret), app }, ev)
    }

    /// The tenant's apps.
    pub async fn list_apps(&self, admin: &AdminToken) -> GateResult<Vec<App>> {
        Ok(self.store.list_apps(&admin.tenant_id).await?)
    }

    /// Revokes an app key.
    pub async fn revoke_app(&self, admin: &AdminToken, app_id: &str) -> GateResult<()> {
        let ev = self
            .event(&admin.tenant_id, "configuration", action::ADMIN_APP_REVOKED, Outcome::Success)
            .field(field::APP_ID, app_id)
            .field(field::ADMIN_TOKEN_ID, admin.id.as_str());
        let owned = self.store.app(app_id).await?.is_some_and(|a| a.tenant_id == admin.tenant_id);
        if !owned || !self.store.revoke_app(app_id, self.clock.now().millis(), &ev).await? {
            return Err(GateError::new(ErrorCode::NotFound, format!("no live app {app_id}")));
        }
        Ok(())
    }

    /// The tenant's settings.
    pub async fn tenant_settings(&self, tenant_id: &str) -> GateResult<TenantSettings> {
        let t =
            self.store.tenant(tenant_id).await?.ok_or_else(|| GateError::new(ErrorCode::NotFound, "no such tenant"))?;
        Ok(TenantSettings {
            standby_required: t.standby_required,
            standby_seconds: t.standby_seconds,
            password_policy: self.password_policy(tenant_id).await?.level(),
            time_zone: t.time_zone,
        })
    }

    /// Changes the tenant's settings; `standby_seconds` must be 10 to 300 and
    /// `password_policy` 1 to 4. Nothing changes when one is wrong.
    pub async fn update_tenant_settings(
        &self,
        admin: &AdminToken,
        standby_required: Option<bool>,
        standby_seconds: Option<i64>,
        password_policy: Option<u8>,
        time_zone: Option<String>,
    ) -> GateResult<TenantSettings> {
        let current = self.tenant_settings(&admin.tenant_id).await?;
        let next = TenantSettings {
            standby_required: standby_required.unwrap_or(current.standby_required),
            standby_seconds: standby_seconds.unwrap_or(current.standby_seconds),
            password_policy: password_policy.unwrap_or(current.password_policy),
            time_zone: time_zone.unwrap_or_else(|| current.time_zone.clone()),
        };
        if !crate::access::valid_time_zone(&next.time_zone) {
            return Err(GateError::new(
                ErrorCode::InvalidRequest,
                format!("{:?} is not an IANA time zone", next.time_zone),
            )
            .with("field", "time_zone"));
        }
        if !(10..=300).contains(&next.standby_seconds) {
            return Err(GateError::new(ErrorCode::InvalidRequest, "standby_seconds must be between 10 and 300")
                .with("field", "standby_seconds"));
        }
        if sekimori_core::password::PasswordPolicy::new(next.password_policy).is_none() {
            return Err(GateError::new(ErrorCode::InvalidRequest, "password_policy must be 1, 2, 3 or 4")
                .with("field", "password_policy"));
        }
        let actor = format!("admin_token:{}", admin.id);
        if next.password_policy != current.password_policy {
            self.set_password_policy(&admin.tenant_id, next.password_policy, &actor).await?;
        }
        if next.time_zone != current.time_zone {
            self.set_time_zone(&admin.tenant_id, &next.time_zone, &actor).await?;
        }
        let ev = self
            .event(&admin.tenant_id, "configuration", action::ADMIN_TENANT_UPDATED, Outcome::Success)
            .field(field::SETTINGS_STANDBY_REQUIRED, next.standby_required)
            .field(field::SETTINGS_STANDBY_SECONDS, next.standby_seconds)
            .field(field::ADMIN_TOKEN_ID, admin.id.as_str());
        self.store.update_standby_settings(&admin.tenant_id, next.standby_required, next.standby_seconds, &ev).await?;
        Ok(next)
    }
}

/// The 32-hex-digit form of a UUID string (key ids in bearer tokens).
fn uuid_hex(uuid: &str) -> String {
    uuid.replace('-', "")
}
