//! Required-level overrides: the one place where a response to a detection (or an admin)
//! changes what a user's logins need, until a time, with a reason (docs/respond.md).
//!
//! - **raise_level** to 2 or 3: every session and login of the user must reach it; the
//!   hosted login, OIDC (`acr`) and forward-auth step the user up.
//! - **suspend_push**: push approvals are refused; other methods still work.
//! - **block**: logins are refused and the user's sessions (and OIDC grants) end.
//! - **reauthenticate** (not lasting): the user's sessions and OIDC grants end now.
//!
//! Every change is audited; a policy's repeat offenders get the next step of its
//! escalation (e.g. 30 min, then 2 h, then 24 h within a week).

use sekimori_core::{TenantId, UserId};
use std::sync::Arc;

use sekimori_core::ecs::{action, field};
use sekimori_core::event::Outcome;
use sekimori_core::{ErrorCode, Timestamp};
use sekimori_store::{InboxMessage, MessageKind, OverrideAction, OverrideRecord, User};

/// A security notice stays in the device inbox at least this long, ms (a day).
const NOTICE_MIN_MS: i64 = 86_400_000;
use serde::Serialize;

use crate::access::Access;
use crate::context::Context;
use crate::{GateError, GateResult};

/// What a user's overrides in force add up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effective {
    /// The level every session and login must reach (0: no override).
    pub required_level: u8,
    /// Push approvals are refused.
    pub push_suspended: bool,
    /// Logins are refused.
    pub blocked: bool,
    /// When the first of them ends ([`Timestamp::MAX`]: none in force).
    pub changes_at: Timestamp,
}

impl Default for Effective {
    /// Nothing in force.
    fn default() -> Self {
        Effective { required_level: 0, push_suspended: false, blocked: false, changes_at: Timestamp::MAX }
    }
}

/// The overrides of `user_id` in force at `now`, added up.
pub(crate) async fn effective(ctx: &Context, user_id: &UserId, now: Timestamp) -> GateResult<Effective> {
    let list = ctx.store.user_overrides(user_id, now).await?;
    let mut e = Effective::default();
    for o in &list {
        e.changes_at = e.changes_at.min(o.expires_at);
        match o.action {
            OverrideAction::RaiseLevel => e.required_level = e.required_level.max(u8::try_from(o.level).unwrap_or(3)),
            OverrideAction::SuspendPush => e.push_suspended = true,
            OverrideAction::Block => e.blocked = true,
        }
    }
    Ok(e)
}

/// What a response asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// Require this level (2 or 3).
    RaiseLevel(u8),
    /// Refuse push approvals.
    SuspendPush,
    /// Refuse logins and end sessions.
    Block,
    /// End sessions now.
    Reauthenticate,
}

/// A response to apply to one user.
#[derive(Debug, Clone)]
pub struct ResponseRequest {
    /// What.
    pub response: Response,
    /// How long, ms, for the first time; later steps of `escalation` for repeat offenders.
    pub escalation_ms: Vec<i64>,
    /// Window in which earlier applications of the same policy count as repeats, ms.
    pub escalation_window_ms: i64,
    /// Why (shown to admins and the user).
    pub reason: String,
    /// The policy (escalation counts per policy); `None`: by hand.
    pub policy: Option<String>,
    /// What set it: `alert:<id>`, `admin_token:<id>`.
    pub source: String,
    /// Users it never applies to.
    pub exempt_users: Vec<String>,
    /// Members of these groups are exempt.
    pub exempt_groups: Vec<String>,
}

/// What became of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Set (or, for a reauthentication, done).
    Set(Option<OverrideRecord>),
    /// The same policy's override is already in force on the user: nothing added.
    AlreadyInForce(OverrideRecord),
    /// The user is exempt.
    Exempt,
    /// No such user in the tenant.
    NoSuchUser,
}

/// An override as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct OverrideView {
    /// Id.
    pub id: String,
    /// The user.
    pub username: String,
    /// `raise_level`, `suspend_push`, `block`.
    pub action: &'static str,
    /// The level required (raise_level).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<i64>,
    /// Why.
    pub reason: String,
    /// The policy that set it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// What set it.
    pub source: String,
    /// Set (RFC 3339).
    pub created_at: String,
    /// Ends (RFC 3339).
    pub expires_at: String,
}

/// Required-level overrides.
pub struct Overrides {
    ctx: Arc<Context>,
    access: Arc<Access>,
}

impl Overrides {
    pub(crate) fn new(ctx: Arc<Context>, access: Arc<Access>) -> Self {
        Overrides { ctx, access }
    }

    /// Applies `req` to `username` of `tenant_id`.
    pub async fn apply(&self, tenant_id: &TenantId, username: &str, req: &ResponseRequest) -> GateResult<Applied> {
        let Some(user) = self.ctx.store.user_by_name(tenant_id, username).await? else {
            return Ok(Applied::NoSuchUser);
        };
        if req.exempt_users.iter().any(|u| u == &user.username) {
            return Ok(Applied::Exempt);
        }
        if !req.exempt_groups.is_empty() {
            let groups = self.ctx.store.user_groups(&user.id).await?;
            if groups.iter().any(|g| req.exempt_groups.contains(&g.name)) {
                return Ok(Applied::Exempt);
            }
        }
        let now = self.ctx.clock.now().millis();
        let (action, level) = match req.response {
            Response::RaiseLevel(l @ 2..=3) => (OverrideAction::RaiseLevel, i64::from(l)),
            Response::RaiseLevel(l) => {
                return Err(GateError::new(ErrorCode::InvalidRequest, format!("level {l}: a raise is to 2 or 3")))
            }
            Response::SuspendPush => (OverrideAction::SuspendPush, 0),
            Response::Block => (OverrideAction::Block, 0),
            Response::Reauthenticate => {
                self.reauthenticate(&user, req).await?;
                return Ok(Applied::Set(None));
            }
        };
        if let Some(policy) = &req.policy {
            let in_force = self.ctx.store.user_overrides(&user.id, Timestamp(now)).await?;
            if let Some(o) = in_force.into_iter().find(|o| o.policy.as_deref() == Some(policy) && o.action == action) {
                return Ok(Applied::AlreadyInForce(o));
            }
        }
        let earlier = match &req.policy {
            Some(p) => {
                self.ctx.store.policy_override_count(&user.id, p, Timestamp(now - req.escalation_window_ms)).await?
            }
            None => 0,
        };
        let step = usize::try_from(earlier).unwrap_or(usize::MAX).min(req.escalation_ms.len().saturating_sub(1));
        let duration = *req
            .escalation_ms
            .get(step)
            .ok_or_else(|| GateError::new(ErrorCode::InvalidRequest, "a response needs a duration"))?;
        if duration <= 0 {
            return Err(GateError::new(ErrorCode::InvalidRequest, "a response's duration must be positive"));
        }
        let record = OverrideRecord {
            id: self.ctx.new_id(),
            tenant_id: user.tenant_id.clone(),
            user_id: user.id.clone(),
            action,
            level,
            reason: req.reason.clone(),
            policy: req.policy.clone(),
            source: req.source.clone(),
            created_at: Timestamp(now),
            expires_at: Timestamp(now.saturating_add(duration)),
            lifted_at: None,
            lifted_by: None,
            lift_reason: None,
        };
        let ev = self
            .ctx
            .event(&user.tenant_id, "iam", action::RESPONSE_OVERRIDE_SET, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::OVERRIDE_ID, record.id.as_str())
            .field(field::OVERRIDE_ACTION, action.as_str())
            .field(field::OVERRIDE_LEVEL, level)
            .field(field::OVERRIDE_EXPIRES_AT, record.expires_at.to_rfc3339())
            .field(field::REASON, req.reason.as_str())
            .field(field::ACTOR, req.source.as_str())
            .field_opt(field::POLICY, req.policy.clone())
            .field(field::ESCALATION_STEP, i64::try_from(step).unwrap_or(i64::MAX) + 1);
        if !self.ctx.store.insert_override(&record, &ev).await? {
            // Another node took in the same alert and acted first.
            let in_force = self.ctx.store.user_overrides(&user.id, Timestamp(now)).await?;
            return Ok(match in_force.into_iter().find(|o| o.policy == req.policy && o.source == req.source) {
                Some(o) => Applied::AlreadyInForce(o),
                None => Applied::AlreadyInForce(record),
            });
        }
        if action == OverrideAction::Block {
            self.access.end_sessions_after(&user, "blocked", &req.source).await?;
        } else {
            self.access.forget_sessions();
        }
        self.notify(&user, req.response, &req.reason, record.expires_at.millis()).await?;
        Ok(Applied::Set(Some(record)))
    }

    async fn reauthenticate(&self, user: &User, req: &ResponseRequest) -> GateResult<()> {
        let ev = self
            .ctx
            .event(&user.tenant_id, "iam", action::RESPONSE_REAUTHENTICATE, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::REASON, req.reason.as_str())
            .field(field::ACTOR, req.source.as_str())
            .field_opt(field::POLICY, req.policy.clone());
        self.ctx.store.append(&ev).await?;
        self.access.end_sessions_after(user, "reauthenticate", &req.source).await?;
        let now = self.ctx.clock.now().millis();
        self.notify(user, Response::Reauthenticate, &req.reason, now + NOTICE_MIN_MS).await
    }

    /// Tells the user's authenticators what happened and what to do (a `security_notice`
    /// in the device inbox, kept until the override ends, at least a day).
    async fn notify(&self, user: &User, response: Response, reason: &str, until: i64) -> GateResult<()> {
        let now = self.ctx.clock.now();
        let until_text = Timestamp(until).to_rfc3339();
        let (action, level, text) = match response {
            Response::RaiseLevel(l) => (
                "raise_level",
                Some(l),
                format!("After a security alert, your logins need a passkey or your Sekimori authenticator until {until_text}. If it was not you, tell your administrator."),
            ),
            Response::SuspendPush => (
                "suspend_push",
                None,
                format!("After a security alert, push approvals are off until {until_text}; log in another way. If it was not you, tell your administrator."),
            ),
            Response::Block => (
                "block",
                None,
                format!("After a security alert, logins to your account are blocked until {until_text}. Contact your administrator."),
            ),
            Response::Reauthenticate => (
                "reauthenticate",
                None,
                "After a security alert, you were signed out everywhere. Sign in again; if a sign-in was not you, tell your administrator.".to_owned(),
            ),
        };
        let id = self.ctx.new_id();
        let expires_at = until.max(now.millis() + NOTICE_MIN_MS);
        let body = serde_json::json!({
            "type": MessageKind::SecurityNotice.as_str(),
            "id": id,
            "user": user.username,
            "action": action,
            "level": level,
            "until": until_text,
            "reason": reason,
            "text": text,
            "created_at": now.to_rfc3339(),
            "expires_at": Timestamp(expires_at).to_rfc3339(),
        });
        let message = InboxMessage {
            id,
            tenant_id: user.tenant_id.clone(),
            user_id: user.id.clone(),
            kind: MessageKind::SecurityNotice,
            login_id: None,
            body: sekimori_core::canonical::to_canonical_string(&body),
            created_at: now,
            expires_at: Timestamp(expires_at),
            dismissed_at: None,
        };
        self.ctx.store.insert_messages(std::slice::from_ref(&message)).await?;
        self.ctx.deliver(&user.id, &[message]);
        Ok(())
    }

    /// The tenant's overrides in force, soonest end first.
    pub async fn list(&self, tenant_id: &TenantId) -> GateResult<Vec<OverrideView>> {
        let now = self.ctx.clock.now().millis();
        let list = self.ctx.store.tenant_overrides(tenant_id, Timestamp(now)).await?;
        let mut out = Vec::with_capacity(list.len());
        for o in list {
            let username = self.ctx.store.user(&o.user_id).await?.map_or_else(|| o.user_id.to_string(), |u| u.username);
            out.push(view(o, username));
        }
        Ok(out)
    }

    /// The overrides in force on `username`, added up.
    pub async fn effective_for(&self, tenant_id: &TenantId, username: &str) -> GateResult<Effective> {
        let user = self.ctx.find_user(tenant_id, username).await?;
        effective(&self.ctx, &user.id, self.ctx.clock.now()).await
    }

    /// Lifts override `id` now, with a reason (audited); `not_found` when none is in force.
    pub async fn lift(&self, tenant_id: &TenantId, id: &str, by: &str, reason: &str) -> GateResult<()> {
        if reason.trim().is_empty() {
            return Err(GateError::new(ErrorCode::InvalidRequest, "a lift needs a reason").with("field", "reason"));
        }
        let now = self.ctx.clock.now().millis();
        let ev = self
            .ctx
            .event(tenant_id, "iam", action::RESPONSE_OVERRIDE_LIFTED, Outcome::Success)
            .field(field::OVERRIDE_ID, id)
            .field(field::REASON, reason)
            .field(field::ACTOR, by);
        match self.ctx.store.lift_override(tenant_id, id, Timestamp(now), by, reason, &ev).await? {
            Some(_) => {
                self.access.forget_sessions();
                Ok(())
            }
            None => Err(GateError::new(ErrorCode::NotFound, format!("no override {id} in force"))),
        }
    }
}

fn view(o: OverrideRecord, username: String) -> OverrideView {
    OverrideView {
        id: o.id,
        username,
        action: o.action.as_str(),
        level: (o.action == OverrideAction::RaiseLevel).then_some(o.level),
        reason: o.reason,
        policy: o.policy,
        source: o.source,
        created_at: o.created_at.to_rfc3339(),
        expires_at: o.expires_at.to_rfc3339(),
    }
}
