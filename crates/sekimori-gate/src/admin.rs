//! Administration: the default tenant, readiness, admin-token authentication, users,
//! their devices and tenant settings. Every change is audited in the same transaction.

use sekimori_core::ecs::{action, field};
use sekimori_core::event::Outcome;
use sekimori_core::names::Username;
use sekimori_core::token::PrefixedKey;
use sekimori_core::ErrorCode;
use sekimori_core::{DeviceId, TenantId, Timestamp};
use sekimori_store::{AdminToken, Device, Tenant, User};

use std::sync::Arc;

use crate::access::Access;
use crate::password::Passwords;
use crate::roles::Roles;
use crate::{Context, GateError, GateResult};

/// Prefix of admin tokens.
pub const ADMIN_PREFIX: &str = "skadm";
pub use crate::context::DEFAULT_TENANT;

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

/// Administration: the default tenant, readiness, admin-token authentication, users and
/// their devices, and tenant settings.
pub struct Admin {
    ctx: Arc<Context>,
    access: Arc<Access>,
    passwords: Arc<Passwords>,
    roles: Arc<Roles>,
}

impl Admin {
    pub(crate) fn new(ctx: Arc<Context>, access: Arc<Access>, passwords: Arc<Passwords>, roles: Arc<Roles>) -> Self {
        Admin { ctx, access, passwords, roles }
    }

    /// Creates the default tenant if missing. On the very first start also mints an admin
    /// token and returns it (it is stored only hashed and never shown again).
    pub async fn bootstrap(&self) -> GateResult<(Tenant, Option<String>)> {
        let now = self.ctx.clock.now();
        let candidate = Tenant::with_defaults(self.ctx.new_id(), DEFAULT_TENANT, now);
        let (tenant, created) = self.ctx.store.ensure_tenant(&candidate).await?;
        let token = if created { Some(self.mint_admin_token(&tenant.id, "first-start").await?) } else { None };
        Ok((tenant, token))
    }

    /// The default tenant.
    pub async fn default_tenant(&self) -> GateResult<Tenant> {
        self.ctx.default_tenant().await
    }

    /// Readiness: the store takes a write now and, where this node sees the disk, has at
    /// least `min_free_bytes` free (a full disk or a read-only database make this
    /// `service_unavailable`, while liveness may still answer).
    pub async fn ready(&self, min_free_bytes: u64) -> GateResult<()> {
        let node = self.ctx.public_url.to_string();
        self.ctx.store.probe_write(&node, self.ctx.clock.now()).await.map_err(|e| {
            tracing::warn!(error = %e, "readiness: the store refused a write");
            GateError::new(ErrorCode::ServiceUnavailable, "the store does not take writes now")
        })?;
        match self.ctx.store.free_bytes() {
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
    pub async fn mint_admin_token(&self, tenant_id: &TenantId, name: &str) -> GateResult<String> {
        let (_, key) = self.roles.mint_token(tenant_id, name, crate::roles::Role::Admin, None, "system").await?;
        Ok(key)
    }

    /// The admin token presented as a bearer credential.
    pub async fn authenticate_admin(&self, bearer: &str) -> GateResult<AdminToken> {
        let denied = || GateError::new(ErrorCode::Unauthorized, "invalid admin token");
        let key = PrefixedKey::parse(ADMIN_PREFIX, bearer).ok_or_else(denied)?;
        let token = self.ctx.store.admin_token(&key.id).await?.ok_or_else(denied)?;
        if !key.unlocks(&token.secret_hash, token.revoked_at.map(Timestamp::millis)) {
            return Err(denied());
        }
        Ok(token)
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
            id: self.ctx.new_id(),
            tenant_id: admin.tenant_id.clone(),
            username: username.to_string(),
            email,
            display_name,
            disabled: false,
            created_at: self.ctx.clock.now(),
            valid_from: None,
            valid_until: None,
            login_hours: None,
        };
        let ev = self
            .ctx
            .event(&admin.tenant_id, "iam", action::IAM_USER_CREATED, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::ADMIN_TOKEN_ID, admin.id.as_str());
        if !self.ctx.store.insert_user(&user, &ev).await? {
            return Err(GateError::new(ErrorCode::Conflict, format!("user {username} already exists")));
        }
        Ok(user)
    }

    /// All users of the admin's tenant.
    pub async fn list_users(&self, admin: &AdminToken) -> GateResult<Vec<User>> {
        Ok(self.ctx.store.list_users(&admin.tenant_id).await?)
    }

    /// The user `username` of `tenant_id`.
    pub async fn find_user(&self, tenant_id: &TenantId, username: &str) -> GateResult<User> {
        self.ctx.find_user(tenant_id, username).await
    }

    /// A user's live devices.
    pub async fn user_devices(&self, tenant_id: &TenantId, username: &str) -> GateResult<Vec<Device>> {
        let user = self.ctx.find_user(tenant_id, username).await?;
        Ok(self.ctx.store.list_devices(&user.id).await?)
    }

    /// Removes one of a user's devices; the others keep working.
    pub async fn remove_device(&self, admin: &AdminToken, username: &str, device_id: &DeviceId) -> GateResult<()> {
        let user = self.ctx.find_user(&admin.tenant_id, username).await?;
        let ev = self
            .ctx
            .event(&admin.tenant_id, "iam", action::IAM_DEVICE_REMOVED, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::DEVICE_ID, device_id)
            .field(field::ADMIN_TOKEN_ID, admin.id.as_str());
        let owned = self.ctx.store.device(device_id).await?.is_some_and(|d| d.user_id == user.id);
        if !owned || !self.ctx.store.revoke_device(device_id, self.ctx.clock.now(), &ev).await? {
            return Err(GateError::new(ErrorCode::NotFound, format!("{username} has no device {device_id}")));
        }
        self.access
            .end_sessions_after(&user, action::IAM_DEVICE_REMOVED, &format!("admin_token:{}", admin.id.as_str()))
            .await?;
        Ok(())
    }

    /// The tenant's settings.
    pub async fn tenant_settings(&self, tenant_id: &TenantId) -> GateResult<TenantSettings> {
        let t = self.ctx.tenant(tenant_id).await?;
        Ok(TenantSettings {
            standby_required: t.standby_required,
            standby_seconds: t.standby_seconds,
            password_policy: crate::password::policy_of(&t)?.level(),
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
            self.passwords.set_password_policy(&admin.tenant_id, next.password_policy, &actor).await?;
        }
        if next.time_zone != current.time_zone {
            self.access.set_time_zone(&admin.tenant_id, &next.time_zone, &actor).await?;
        }
        let ev = self
            .ctx
            .event(&admin.tenant_id, "configuration", action::ADMIN_TENANT_UPDATED, Outcome::Success)
            .field(field::SETTINGS_STANDBY_REQUIRED, next.standby_required)
            .field(field::SETTINGS_STANDBY_SECONDS, next.standby_seconds)
            .field(field::ADMIN_TOKEN_ID, admin.id.as_str());
        self.ctx
            .store
            .update_standby_settings(&admin.tenant_id, next.standby_required, next.standby_seconds, &ev)
            .await?;
        Ok(next)
    }
}
