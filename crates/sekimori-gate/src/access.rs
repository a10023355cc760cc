//! Who may log in when: disabled accounts, validity periods, login hours per user or
//! group in the tenant's time zone; and account administration (change, delete, groups).
//!
//! A user's own login hours, when set, are the rule; otherwise the hours of every group
//! they are in that has hours (any of them allows); with none, any time. Validity:
//! no login before `valid_from` or from `valid_until` on. Every refusal is audited
//! (`auth.login.not_allowed` with `sekimori.reason`).

use sekimori_core::access::{HoursWindow, LoginHours};
use sekimori_core::ecs::{action, field};
use sekimori_core::event::Outcome;
use sekimori_core::names::Label;
use sekimori_core::TenantId;
use sekimori_core::{ErrorCode, Timestamp};
use sekimori_store::{Group, Tenant, User};
use serde::Serialize;

use std::sync::Arc;

use crate::sessions::SessionCache;
use crate::{Context, GateError, GateResult};

/// Why a login is not allowed now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Before `valid_from`.
    NotYetValid,
    /// At or after `valid_until`.
    Expired,
    /// Outside the login hours.
    OutsideLoginHours,
}

impl Refusal {
    /// The stable name (`reason` in the problem document and the audit event).
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::NotYetValid => "not_yet_valid",
            Refusal::Expired => "expired",
            Refusal::OutsideLoginHours => "outside_login_hours",
        }
    }
}

/// Changes to a user; `None` leaves a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// Email.
    pub email: Option<Option<String>>,
    /// Display name.
    pub display_name: Option<Option<String>>,
    /// Disabled.
    pub disabled: Option<bool>,
    /// Valid from (RFC 3339 parsed to a timestamp).
    pub valid_from: Option<Option<Timestamp>>,
    /// Valid until.
    pub valid_until: Option<Option<Timestamp>>,
    /// Login hours.
    pub login_hours: Option<Option<Vec<HoursWindow>>>,
}

/// A group as shown.
#[derive(Debug, Clone, Serialize)]
pub struct GroupView {
    /// Name.
    pub name: String,
    /// Login hours of members without their own (absent: no rule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_hours: Option<Vec<HoursWindow>>,
    /// Members' usernames, sorted.
    pub members: Vec<String>,
    /// Creation time (RFC 3339).
    pub created_at: String,
}

/// Parses stored or given hours JSON; `None` when absent.
fn parse_hours(windows: Option<&[HoursWindow]>) -> GateResult<Option<LoginHours>> {
    let Some(windows) = windows else { return Ok(None) };
    LoginHours::parse(windows)
        .map(Some)
        .map_err(|e| GateError::new(ErrorCode::Internal, format!("stored login hours are invalid: {e}")))
}

/// Checks given hours; they are stored as given.
fn checked_hours(windows: &[HoursWindow]) -> GateResult<Vec<HoursWindow>> {
    LoginHours::parse(windows)
        .map_err(|e| GateError::new(ErrorCode::InvalidRequest, e.to_string()).with("field", "login_hours"))?;
    Ok(windows.to_vec())
}

/// Whether `name` is an IANA time zone this build knows.
pub fn valid_time_zone(name: &str) -> bool {
    jiff::tz::TimeZone::get(name).is_ok()
}

/// Who may log in now (disabled accounts, validity, login hours), account and group
/// administration, and ending a user's sessions when trust is withdrawn. Owns the
/// session cache's invalidation: every change here that can end a session clears it.
pub struct Access {
    ctx: Arc<Context>,
    cache: Arc<SessionCache>,
}

impl Access {
    pub(crate) fn new(ctx: Arc<Context>) -> Self {
        Access { ctx, cache: Arc::new(SessionCache::default()) }
    }

    /// The cache of validated sessions this service clears.
    pub(crate) fn session_cache(&self) -> &Arc<SessionCache> {
        &self.cache
    }

    /// Drops every cached session (after a change to users, groups or sessions).
    pub(crate) fn forget_sessions(&self) {
        self.cache.clear();
    }

    /// Ends every session of `user`, and with them every OIDC grant resting on one, after a
    /// change that withdraws trust (`cause`: the user disabled, a password set by an
    /// admin, a factor removed). Re-enabling the user does not bring them back.
    pub(crate) async fn end_sessions_after(&self, user: &User, cause: &str, actor: &str) -> GateResult<u64> {
        let ev = self
            .ctx
            .event(&user.tenant_id, "session", action::AUTH_SESSION_REVOKED, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::CAUSE, cause)
            .field(field::ACTOR, actor);
        let n = self.ctx.store.revoke_user_sessions(&user.id, self.ctx.clock.now(), &ev).await?;
        self.forget_sessions();
        Ok(n)
    }

    /// Why `user` may not log in now, if so (disabled is separate: [`ErrorCode::Forbidden`]).
    pub async fn login_refusal(&self, user: &User) -> GateResult<Option<Refusal>> {
        let groups = if user.login_hours.is_none() { self.ctx.store.user_groups(&user.id).await? } else { Vec::new() };
        self.login_refusal_in(user, &groups, None).await
    }

    /// [`Access::login_refusal`] with the user's groups already read.
    /// `tenant`, when the caller has read it already, gives the time zone without reading
    /// it again.
    pub(crate) async fn login_refusal_in(
        &self,
        user: &User,
        groups: &[Group],
        tenant: Option<&Tenant>,
    ) -> GateResult<Option<Refusal>> {
        let now = self.ctx.clock.now();
        if user.valid_from.is_some_and(|t| now < t) {
            return Ok(Some(Refusal::NotYetValid));
        }
        if user.valid_until.is_some_and(|t| now >= t) {
            return Ok(Some(Refusal::Expired));
        }
        let rules: Vec<LoginHours> = match parse_hours(user.login_hours.as_deref())? {
            Some(own) => vec![own],
            None => {
                let mut from_groups = Vec::new();
                for g in groups {
                    if let Some(h) = parse_hours(g.login_hours.as_deref())? {
                        from_groups.push(h);
                    }
                }
                from_groups
            }
        };
        if rules.is_empty() {
            return Ok(None);
        }
        let zone = match tenant {
            Some(t) => t.time_zone.clone(),
            None => self.ctx.store.tenant(&user.tenant_id).await?.map_or_else(|| "UTC".to_owned(), |t| t.time_zone),
        };
        let tz = jiff::tz::TimeZone::get(&zone).unwrap_or(jiff::tz::TimeZone::UTC);
        let local = jiff::Timestamp::from_millisecond(now.millis())
            .map_err(|e| GateError::new(ErrorCode::Internal, e.to_string()))?
            .to_zoned(tz);
        let weekday = u8::try_from(local.weekday().to_monday_zero_offset()).unwrap_or(0);
        let minute = u16::try_from(i32::from(local.hour()) * 60 + i32::from(local.minute())).unwrap_or(0);
        if rules.iter().any(|r| r.allows(weekday, minute)) {
            Ok(None)
        } else {
            Ok(Some(Refusal::OutsideLoginHours))
        }
    }

    /// Refuses a login by `user` that is not allowed now (disabled, validity, hours), with
    /// an audit event. `method` names the login method for the event.
    pub async fn check_login_allowed(&self, user: &User, method: &str) -> GateResult<()> {
        self.check_login_allowed_in(user, None, method).await
    }

    /// [`Access::check_login_allowed`] with the user's tenant already read.
    pub(crate) async fn check_login_allowed_in(
        &self,
        user: &User,
        tenant: Option<&Tenant>,
        method: &str,
    ) -> GateResult<()> {
        if user.disabled {
            return Err(GateError::new(ErrorCode::Forbidden, format!("{} is disabled", user.username)));
        }
        let overrides = crate::overrides::effective(&self.ctx, &user.id, self.ctx.clock.now()).await?;
        let held = if overrides.blocked {
            Some(("blocked", "logins are blocked for this account for now after a security alert"))
        } else if overrides.push_suspended && method == "push" {
            Some(("push_suspended", "push approvals are suspended for this account for now; log in another way"))
        } else {
            None
        };
        if let Some((reason, detail)) = held {
            let ev = self
                .ctx
                .event(&user.tenant_id, "authentication", action::AUTH_LOGIN_NOT_ALLOWED, Outcome::Failure)
                .user(&user.id, &user.username)
                .field(field::REASON, reason)
                .field(field::METHOD, method);
            self.ctx.store.append(&ev).await?;
            return Err(GateError::new(ErrorCode::LoginNotAllowed, detail).with("reason", reason));
        }
        let groups = if user.login_hours.is_none() { self.ctx.store.user_groups(&user.id).await? } else { Vec::new() };
        let Some(refusal) = self.login_refusal_in(user, &groups, tenant).await? else { return Ok(()) };
        let ev = self
            .ctx
            .event(&user.tenant_id, "authentication", action::AUTH_LOGIN_NOT_ALLOWED, Outcome::Failure)
            .user(&user.id, &user.username)
            .field(field::REASON, refusal.as_str())
            .field(field::METHOD, method);
        self.ctx.store.append(&ev).await?;
        let detail = match refusal {
            Refusal::NotYetValid => "the account is not valid yet",
            Refusal::Expired => "the account has expired",
            Refusal::OutsideLoginHours => "logins are not allowed at this time for this account",
        };
        Err(GateError::new(ErrorCode::LoginNotAllowed, detail).with("reason", refusal.as_str()))
    }

    /// Refuses device requests of a disabled or expired account (not login hours: a user
    /// may look at their authenticator at any time).
    pub(crate) fn check_account_usable(&self, user: &User) -> GateResult<()> {
        if user.disabled {
            return Err(GateError::new(ErrorCode::Forbidden, "the user is disabled"));
        }
        if user.valid_until.is_some_and(|t| self.ctx.clock.now() >= t) {
            return Err(GateError::new(ErrorCode::LoginNotAllowed, "the account has expired").with("reason", "expired"));
        }
        Ok(())
    }

    /// Changes `username`; audited with the names of the fields changed.
    pub async fn update_user(
        &self,
        tenant_id: &TenantId,
        username: &str,
        patch: UserPatch,
        actor: &str,
    ) -> GateResult<User> {
        let mut user = self.ctx.find_user(tenant_id, username).await?;
        let mut changed = Vec::new();
        if let Some(v) = patch.email {
            user.email = v;
            changed.push("email");
        }
        if let Some(v) = patch.display_name {
            user.display_name = v;
            changed.push("display_name");
        }
        if let Some(v) = patch.disabled {
            user.disabled = v;
            changed.push("disabled");
        }
        if let Some(v) = patch.valid_from {
            user.valid_from = v;
            changed.push("valid_from");
        }
        if let Some(v) = patch.valid_until {
            user.valid_until = v;
            changed.push("valid_until");
        }
        if let (Some(from), Some(until)) = (user.valid_from, user.valid_until) {
            if from >= until {
                return Err(GateError::new(ErrorCode::InvalidRequest, "valid_from must be before valid_until")
                    .with("field", "valid_until"));
            }
        }
        if let Some(v) = patch.login_hours {
            user.login_hours = v.as_deref().map(checked_hours).transpose()?;
            changed.push("login_hours");
        }
        let action = match patch.disabled {
            Some(true) => action::IAM_USER_DISABLED,
            Some(false) => action::IAM_USER_ENABLED,
            None => action::IAM_USER_UPDATED,
        };
        let ev = self
            .ctx
            .event(tenant_id, "iam", action, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::CHANGED, changed.join(","))
            .field(field::ACTOR, actor);
        self.ctx.store.update_user(&user, &ev).await?;
        self.forget_sessions();
        if patch.disabled == Some(true) {
            self.end_sessions_after(&user, action::IAM_USER_DISABLED, actor).await?;
        }
        Ok(user)
    }

    /// Deletes `username` with their devices, credentials and pending logins; the audit
    /// log keeps their id.
    pub async fn delete_user(&self, tenant_id: &TenantId, username: &str, actor: &str) -> GateResult<()> {
        let user = self.ctx.find_user(tenant_id, username).await?;
        let ev = self
            .ctx
            .event(tenant_id, "iam", action::IAM_USER_DELETED, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::ACTOR, actor);
        if !self.ctx.store.delete_user(&user.id, &ev).await? {
            return Err(GateError::new(ErrorCode::NotFound, format!("no user {username}")));
        }
        self.forget_sessions();
        Ok(())
    }

    /// Sets the tenant's time zone (IANA name, e.g. `Asia/Tokyo`).
    pub(crate) async fn set_time_zone(&self, tenant_id: &TenantId, zone: &str, actor: &str) -> GateResult<()> {
        if !valid_time_zone(zone) {
            return Err(GateError::new(ErrorCode::InvalidRequest, format!("{zone:?} is not an IANA time zone"))
                .with("field", "time_zone"));
        }
        let ev = self
            .ctx
            .event(tenant_id, "configuration", action::ADMIN_TENANT_TIME_ZONE, Outcome::Success)
            .field(field::SETTINGS_TIME_ZONE, zone)
            .field(field::ACTOR, actor);
        self.ctx.store.set_time_zone(tenant_id, zone, &ev).await?;
        self.forget_sessions();
        Ok(())
    }

    async fn find_group(&self, tenant_id: &TenantId, name: &str) -> GateResult<Group> {
        self.ctx
            .store
            .group_by_name(tenant_id, name)
            .await?
            .ok_or_else(|| GateError::new(ErrorCode::NotFound, format!("no group {name}")))
    }

    async fn group_view(&self, g: Group) -> GateResult<GroupView> {
        Ok(GroupView {
            members: self.ctx.store.group_member_names(&g.id).await?,
            name: g.name,
            login_hours: g.login_hours,
            created_at: g.created_at.to_rfc3339(),
        })
    }

    /// Adds a group.
    pub async fn create_group(
        &self,
        tenant_id: &TenantId,
        name: &Label,
        login_hours: Option<&[HoursWindow]>,
        actor: &str,
    ) -> GateResult<GroupView> {
        let g = Group {
            id: self.ctx.new_id(),
            tenant_id: tenant_id.to_owned(),
            name: name.to_string(),
            login_hours: login_hours.map(checked_hours).transpose()?,
            created_at: self.ctx.clock.now(),
        };
        let ev = self
            .ctx
            .event(tenant_id, "iam", action::IAM_GROUP_CREATED, Outcome::Success)
            .field(field::GROUP_NAME, name.as_str())
            .field(field::ACTOR, actor);
        if !self.ctx.store.insert_group(&g, &ev).await? {
            return Err(GateError::new(ErrorCode::Conflict, format!("group {name} already exists")));
        }
        self.group_view(g).await
    }

    /// The tenant's groups with their members.
    pub async fn groups(&self, tenant_id: &TenantId) -> GateResult<Vec<GroupView>> {
        let mut out = Vec::new();
        for g in self.ctx.store.list_groups(tenant_id).await? {
            out.push(self.group_view(g).await?);
        }
        Ok(out)
    }

    /// One group.
    pub async fn group(&self, tenant_id: &TenantId, name: &str) -> GateResult<GroupView> {
        let g = self.find_group(tenant_id, name).await?;
        self.group_view(g).await
    }

    /// Sets or clears a group's login hours.
    pub async fn set_group_hours(
        &self,
        tenant_id: &TenantId,
        name: &str,
        login_hours: Option<&[HoursWindow]>,
        actor: &str,
    ) -> GateResult<GroupView> {
        let g = self.find_group(tenant_id, name).await?;
        let hours = login_hours.map(checked_hours).transpose()?;
        let ev = self
            .ctx
            .event(tenant_id, "iam", action::IAM_GROUP_UPDATED, Outcome::Success)
            .field(field::GROUP_NAME, name)
            .field(field::ACTOR, actor);
        self.ctx.store.set_group_hours(&g.id, hours.as_deref(), &ev).await?;
        self.forget_sessions();
        self.group(tenant_id, name).await
    }

    /// Deletes a group (its members stay).
    pub async fn delete_group(&self, tenant_id: &TenantId, name: &str, actor: &str) -> GateResult<()> {
        let g = self.find_group(tenant_id, name).await?;
        let ev = self
            .ctx
            .event(tenant_id, "iam", action::IAM_GROUP_DELETED, Outcome::Success)
            .field(field::GROUP_NAME, name)
            .field(field::ACTOR, actor);
        self.ctx.store.delete_group(&g.id, &ev).await?;
        self.forget_sessions();
        Ok(())
    }

    /// Adds (`member` true) or removes `username` from group `name`; idempotent.
    pub async fn set_group_member(
        &self,
        tenant_id: &TenantId,
        name: &str,
        username: &str,
        member: bool,
        actor: &str,
    ) -> GateResult<GroupView> {
        let g = self.find_group(tenant_id, name).await?;
        let user = self.ctx.find_user(tenant_id, username).await?;
        let action = if member { action::IAM_GROUP_MEMBER_ADDED } else { action::IAM_GROUP_MEMBER_REMOVED };
        let ev = self
            .ctx
            .event(tenant_id, "iam", action, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::GROUP_NAME, name)
            .field(field::ACTOR, actor);
        if member {
            self.ctx.store.add_group_member(&g.id, &user.id, &ev).await?;
        } else {
            self.ctx.store.remove_group_member(&g.id, &user.id, &ev).await?;
        }
        self.forget_sessions();
        self.group_view(g).await
    }
}
