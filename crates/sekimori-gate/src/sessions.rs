//! Browser sessions for the hosted login.
//!
//! A session is a 256-bit secret in a cookie; the store keeps only its SHA-256. Each
//! login (and each step-up) makes a new session and revokes the one it replaces, so the
//! id changes whenever the level does. A session ends at logout, at logout-everywhere, after
//! `idle_seconds` without use, or `absolute_seconds` after the login, whichever is first.
//! Every session records the level and the methods (`amr`) its login proved.
//!
//! Between a password and a second factor, the half-done login is a short-lived sealed
//! token (XChaCha20-Poly1305 under the server's secret key), not a session: it carries the
//! user and what was proved so far, and cannot be read or forged by the browser.

use sekimori_core::ecs::{action, field};
use sekimori_core::{AppId, LoginId, SessionId, TenantId, UserId};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sekimori_core::event::Outcome;
use sekimori_core::token::sha256_hex;
use sekimori_core::{ErrorCode, Timestamp};
use sekimori_store::{SessionRecord, User};
use serde::{Deserialize, Serialize};

use std::sync::Arc;

use crate::access::Access;
use crate::assertion::Assertions;
use crate::push::PushLogin;
use crate::{Context, GateError, GateResult};

/// How long a half-done login (password accepted, second factor pending) lasts, seconds.
pub const PENDING_SECONDS: i64 = 300;
/// How often activity is written for the idle timeout, ms (the idle timeout is exact to
/// within this).
const TOUCH_EVERY_MS: i64 = 60_000;
const PENDING_CONTEXT: &[u8] = b"sekimori:pending-login:v1";
const PUSH_CONTEXT: &[u8] = b"sekimori:pending-push:v1";
/// Who consumes an assertion exchanged for a hosted-login session (audit, `consumed_by`).
pub const HOSTED_SESSION_APP: &str = "sekimori-hosted-login";

/// The `[gate.session]` configuration section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSettings {
    /// A session unused this long ends, seconds.
    pub idle_seconds: i64,
    /// A session ends this long after its login whatever happens, seconds.
    pub absolute_seconds: i64,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings { idle_seconds: 30 * 60, absolute_seconds: 12 * 3600 }
    }
}

/// How long a validated session is reused without the database (real time). Changes
/// made on this node (logout, revocation, user and group changes) clear the cache at once;
/// on other nodes of a cluster they take effect within this time.
pub const SESSION_CACHE_TTL: Duration = Duration::from_secs(2);
/// Sessions the cache holds before it starts over.
const SESSION_CACHE_MAX: usize = 100_000;

#[derive(Debug)]
struct Cached {
    view: SessionView,
    last_seen_at: Timestamp,
    expires_at: Timestamp,
    at: Instant,
}

/// Recently validated sessions, so a busy forward-auth proxy does not read the database
/// for every request.
#[derive(Debug, Default)]
pub struct SessionCache(Mutex<HashMap<SessionId, Cached>>);

impl SessionCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, Cached>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Drops every cached session.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }
}

#[allow(clippy::disallowed_methods)] // reason: the cache's freshness is real elapsed time, not domain time
fn monotonic_now() -> Instant {
    Instant::now()
}

/// One of a user's live sessions, as an admin sees it.
#[derive(Debug, Clone, Serialize)]
pub struct UserSession {
    /// The start of the session's id (the hash of its cookie).
    pub id: String,
    pub level: i64,
    pub amr: Vec<String>,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
}

/// A live session.
#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    /// User id.
    pub user_id: UserId,
    /// Username.
    pub username: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Auth level proved.
    pub level: u8,
    /// Methods used (RFC 8176).
    pub amr: Vec<String>,
    /// Last authentication (RFC 3339).
    pub auth_time: String,
    /// Last authentication, ms.
    #[serde(skip)]
    pub auth_time_ms: i64,
    /// Absolute end (RFC 3339).
    pub expires_at: String,
    /// The user's email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The user's display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The user's groups.
    pub groups: Vec<String>,
    /// The level a required-level override asks of this user now (0: none); a session
    /// below it must step up.
    #[serde(skip_serializing_if = "is_zero")]
    pub required_level: u8,
    /// The session id's hash (what logs and admins see).
    #[serde(skip)]
    pub id: SessionId,
    /// The sign-on it belongs to (stable across rotation; the OIDC `sid`).
    #[serde(skip)]
    pub sso_id: SessionId,
}

/// A password accepted, a second factor pending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    /// Tenant.
    pub tenant_id: TenantId,
    /// Username.
    pub username: String,
    /// Methods proved so far.
    pub amr: Vec<String>,
}

/// Where a hosted push login stands in its login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PushStep {
    /// The whole login: approved, signed in.
    Alone,
    /// The first factor of a login judged REVIEW: a code follows the approval.
    ThenCode,
    /// The second factor of a login whose first factor the page holds (pending).
    AfterFirstFactor,
}

/// How the hosted page's approved push login goes on.
#[derive(Debug)]
pub enum HostedPushDone {
    /// Signed in: the session's secret and view.
    Session(String, Box<SessionView>),
    /// Judged REVIEW ([`PushStep::ThenCode`]: a code on the factor form completes it) or
    /// the second factor ([`PushStep::AfterFirstFactor`]: the page completes the login it
    /// holds): the approval's user and methods, the assertion consumed.
    SecondFactor(PendingLogin),
}

/// Browser sessions of the hosted login: creation and rotation, validation (with a
/// short cache), logout, and the sealed tokens of half-done logins.
pub struct Sessions {
    ctx: Arc<Context>,
    access: Arc<Access>,
    assertions: Arc<Assertions>,
    push: Arc<PushLogin>,
    risk: Arc<crate::risk::Risk>,
    settings: SessionSettings,
}

impl Sessions {
    pub(crate) fn new(
        ctx: Arc<Context>,
        access: Arc<Access>,
        assertions: Arc<Assertions>,
        (push, risk): (Arc<PushLogin>, Arc<crate::risk::Risk>),
        settings: SessionSettings,
    ) -> Self {
        Sessions { ctx, access, assertions, push, risk, settings }
    }

    /// The `[gate.session]` settings.
    pub fn settings(&self) -> &SessionSettings {
        &self.settings
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, Cached>> {
        self.access.session_cache().lock()
    }

    /// Starts a session for `user` after a login that proved `level` with `amr`;
    /// `replaces` (the cookie secret of the session it rotates) is revoked. Returns the
    /// new cookie secret.
    pub async fn create_session(
        &self,
        user: &User,
        level: u8,
        amr: &[String],
        replaces: Option<&str>,
    ) -> GateResult<(String, SessionView)> {
        let secret = self.ctx.new_secret();
        let now = self.ctx.clock.now().millis();
        let id = SessionId::new(sha256_hex(secret.as_bytes()));
        let replaced = replaces.map(|r| SessionId::new(sha256_hex(r.as_bytes())));
        // A rotation keeps the sign-on of the session it replaces (same user, still live).
        let sso_id = match &replaced {
            Some(old) => self
                .ctx
                .store
                .session(old)
                .await?
                .filter(|o| o.user_id == user.id && o.revoked_at.is_none() && o.expires_at > Timestamp(now))
                .map(|o| o.sso_id),
            None => None,
        }
        .unwrap_or_else(|| id.clone());
        let record = SessionRecord {
            id,
            sso_id,
            tenant_id: user.tenant_id.clone(),
            user_id: user.id.clone(),
            level: i64::from(level),
            amr: amr.to_vec(),
            auth_time: Timestamp(now),
            created_at: Timestamp(now),
            last_seen_at: Timestamp(now),
            expires_at: Timestamp(now + self.settings.absolute_seconds * 1000),
            revoked_at: None,
        };
        let ev = self
            .ctx
            .event(&user.tenant_id, "session", action::AUTH_SESSION_CREATED, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::SESSION_ID, &record.id[..16])
            .field(field::AUTH_LEVEL, i64::from(level))
            .field(field::AMR, amr.join(","));
        self.ctx.store.insert_session(&record, replaced.as_deref(), &ev).await?;
        if let Some(old) = &replaced {
            self.forget_session(old);
        }
        Ok((secret, view(&record, user)))
    }

    /// Exchanges a hosted-page assertion (a completed QR login) for a session at the
    /// assertion's level and methods; the assertion is consumed, so it works once. The
    /// browser that collects it (`client`) is judged by the tenant's risk policy first: an
    /// NG is refused, and so is a REVIEW (the QR path has no second step), with the
    /// assertion left unused.
    pub async fn session_from_assertion(
        &self,
        token: &str,
        replaces: Option<&str>,
        client: &crate::push::ClientInfo,
    ) -> GateResult<(String, SessionView)> {
        self.assertion_session(token, replaces, Some(client)).await
    }

    /// [`Sessions::session_from_assertion`]; `client: None` when the attempt was judged
    /// already (a hosted push, judged before the phone was disturbed).
    async fn assertion_session(
        &self,
        token: &str,
        replaces: Option<&str>,
        client: Option<&crate::push::ClientInfo>,
    ) -> GateResult<(String, SessionView)> {
        let (user, level, amr) = self.consume_hosted(token, client).await?;
        self.create_session(&user, level, &amr, replaces).await
    }

    /// Checks and consumes an assertion for the hosted page: its user, level and methods.
    /// With `client` (a QR login collected by the page) the login is judged first.
    async fn consume_hosted(
        &self,
        token: &str,
        client: Option<&crate::push::ClientInfo>,
    ) -> GateResult<(User, u8, Vec<String>)> {
        let claims = self.assertions.decode_assertion(token)?;
        let now = self.ctx.clock.now();
        if claims.exp <= now.seconds() {
            return Err(GateError::new(ErrorCode::Expired, "the assertion has expired"));
        }
        if claims.aud != crate::assertion::HOSTED_AUDIENCE {
            return Err(GateError::new(
                ErrorCode::Forbidden,
                "the assertion was issued to an app, not this login page",
            ));
        }
        let Some(record) = self.ctx.store.assertion(&claims.jti).await? else {
            return Err(GateError::new(ErrorCode::InvalidRequest, "unknown assertion"));
        };
        let user = self.ctx.user_of(&record.user_id, "assertion", ErrorCode::Unauthorized).await?;
        self.access.check_login_allowed(&user, "assertion").await?;
        if let Some(client) = client {
            if !self.risk.judge(&crate::risk::LoginAttempt::of_client(&user, "qr", client)).await?.ok() {
                return Err(crate::risk::refused());
            }
        }
        let ev = self
            .ctx
            .event(&record.tenant_id, "authentication", action::AUTH_ASSERTION_VERIFIED, Outcome::Success)
            .user(&record.user_id, &record.username)
            .field(field::APP_ID, HOSTED_SESSION_APP)
            .field(field::LOGIN_ID, record.login_id.as_str());
        match self.ctx.store.consume_assertion(&claims.jti, &AppId::new(HOSTED_SESSION_APP), now, &ev).await? {
            sekimori_store::Consume::Done(a) => {
                let amr: Vec<String> = a.amr.split_whitespace().map(str::to_owned).collect();
                let level = u8::try_from(a.level).map_err(|_| {
                    GateError::new(ErrorCode::Internal, format!("stored assertion level {} is out of range", a.level))
                })?;
                Ok((user, level, amr))
            }
            sekimori_store::Consume::AlreadyUsed { at } => {
                Err(GateError::new(ErrorCode::AlreadyUsed, "this assertion was already used")
                    .with("first_used_at", at.to_rfc3339()))
            }
            sekimori_store::Consume::Expired => Err(GateError::new(ErrorCode::Expired, "the assertion has expired")),
            sekimori_store::Consume::NotFound => Err(GateError::new(ErrorCode::InvalidRequest, "unknown assertion")),
        }
    }

    /// The relying party that Sekimori's own login page is, for push logins it starts:
    /// its challenges name the tenant, and its assertions never leave the server.
    pub async fn hosted_app(&self) -> GateResult<sekimori_store::App> {
        Ok(hosted_app_of(self.ctx.default_tenant().await?))
    }

    /// Completes the half-done login `first` with a second factor of its user (`methods`,
    /// e.g. `["otp", "mfa"]`): the client's environment is known from now on (the login,
    /// judged when its first factor succeeded, completes here) and a session is started at
    /// `level` with the methods of both. A factor of another user is refused.
    pub async fn complete_pending(
        &self,
        first: &PendingLogin,
        methods: &[String],
        level: u8,
        client: &crate::push::ClientInfo,
        replaces: Option<&str>,
    ) -> GateResult<(String, SessionView)> {
        let user = self.ctx.find_user(&first.tenant_id, &first.username).await?;
        self.complete_pending_of(&user, first, methods, level, client, replaces).await
    }

    /// [`Sessions::complete_pending`] with the second factor's user already read; refused
    /// when it is not the first factor's.
    pub async fn complete_pending_of(
        &self,
        user: &User,
        first: &PendingLogin,
        methods: &[String],
        level: u8,
        client: &crate::push::ClientInfo,
        replaces: Option<&str>,
    ) -> GateResult<(String, SessionView)> {
        if first.tenant_id != user.tenant_id || first.username != user.username {
            return Err(GateError::new(ErrorCode::Forbidden, "this factor belongs to another user"));
        }
        self.risk.completed_from(user, client.ip, client.user_agent.as_deref()).await?;
        let mut amr = first.amr.clone();
        for m in methods {
            if !amr.contains(m) {
                amr.push(m.clone());
            }
        }
        self.create_session(user, level, &amr, replaces).await
    }

    /// Starts a push login from Sekimori's own login page (the default tenant, read once).
    ///
    /// A REVIEW can be satisfied when the user can give a code on the factor form after
    /// approving (a TOTP credential or recovery codes): `risk.step_up` then says the page
    /// must ask for it before the session. Otherwise a REVIEW is refused like an NG.
    ///
    /// `second`: the push is itself the second factor of a login whose first factor was
    /// judged (the factor form's "approve on your authenticator"), so a REVIEW is what it
    /// satisfies; an NG is still refused.
    pub async fn start_hosted_push(
        &self,
        username: &str,
        client: &crate::push::ClientInfo,
        second: bool,
    ) -> GateResult<crate::PushStarted> {
        let tenant = self.ctx.default_tenant().await?;
        let app = hosted_app_of(tenant.clone());
        let step_up = if second { crate::push::StepUp::Possible } else { crate::push::StepUp::IfCodeFactor };
        self.push.start_push_in(&app, &tenant, username, client, step_up).await
    }

    /// Waits up to `wait` for the hosted page's push login `login_id`; when approved,
    /// consumes its assertion for a session (the secret), or, when the attempt was judged
    /// REVIEW (`step_up`), for the half-done login the factor form completes; `Ok(None)`
    /// while pending.
    pub async fn finish_hosted_push(
        &self,
        login_id: &LoginId,
        wait: std::time::Duration,
        replaces: Option<&str>,
        step: PushStep,
    ) -> GateResult<Option<HostedPushDone>> {
        let app = self.hosted_app().await?;
        let status = self.push.push_status(&app, login_id, wait).await?;
        match (status.status, status.assertion) {
            ("approved", Some(assertion)) if step != PushStep::Alone => {
                let (user, _, amr) = self.consume_hosted(&assertion, None).await?;
                Ok(Some(HostedPushDone::SecondFactor(PendingLogin {
                    tenant_id: user.tenant_id,
                    username: user.username,
                    amr,
                })))
            }
            ("approved", Some(assertion)) => {
                let (secret, view) = self.assertion_session(&assertion, replaces, None).await?;
                Ok(Some(HostedPushDone::Session(secret, Box::new(view))))
            }
            ("pending", _) => Ok(None),
            ("denied", _) => Err(GateError::new(ErrorCode::Forbidden, "the login was denied on the authenticator")),
            _ => Err(GateError::new(ErrorCode::Expired, "the login request expired")),
        }
    }

    /// The live session behind a cookie secret, if any (records activity).
    pub async fn session(&self, secret: &str) -> GateResult<Option<SessionView>> {
        if secret.len() > 128 {
            return Ok(None);
        }
        self.session_by_id(&SessionId::new(sha256_hex(secret.as_bytes()))).await
    }

    /// The live session with id (hash) `id`, if any (records activity): what an OIDC
    /// refresh or userinfo call checks the session behind its token with.
    pub async fn session_by_id(&self, id: &SessionId) -> GateResult<Option<SessionView>> {
        let id = id.clone();
        let now = self.ctx.clock.now();
        let idle_ms = self.settings.idle_seconds * 1000;
        {
            let cache = self.cache();
            if let Some(c) = cache.get(&id) {
                // Fresh, and no activity to record yet: answered without the database.
                let fresh = monotonic_now().duration_since(c.at) < SESSION_CACHE_TTL;
                if fresh
                    && now.millis_since(c.last_seen_at) < TOUCH_EVERY_MS
                    && now < c.expires_at
                    && now < c.last_seen_at.plus_millis(idle_ms)
                {
                    return Ok(Some(c.view.clone()));
                }
            }
        }
        let Some(r) = self.ctx.store.session(&id).await? else { return Ok(None) };
        let idle_until = r.last_seen_at.plus_millis(idle_ms);
        if r.revoked_at.is_some() || now >= r.expires_at || now >= idle_until {
            self.forget_session(&id);
            return Ok(None);
        }
        let Some(user) = self.ctx.store.user(&r.user_id).await? else { return Ok(None) };
        let groups = self.ctx.store.user_groups(&user.id).await?;
        if user.disabled || self.access.login_refusal_in(&user, &groups, None).await?.is_some() {
            self.forget_session(&id);
            return Ok(None);
        }
        let overrides = crate::overrides::effective(&self.ctx, &user.id, now).await?;
        if overrides.blocked {
            self.forget_session(&id);
            return Ok(None);
        }
        let mut last_seen_at = r.last_seen_at;
        if now.millis_since(r.last_seen_at) >= TOUCH_EVERY_MS {
            self.ctx.store.touch_session(&id, now).await?;
            last_seen_at = now;
        }
        let mut v = view(&r, &user);
        v.groups = groups.into_iter().map(|g| g.name).collect();
        v.required_level = overrides.required_level;
        let mut cache = self.cache();
        if cache.len() >= SESSION_CACHE_MAX {
            cache.clear();
        }
        // Reused from the cache no later than the first override ends.
        let expires_at = r.expires_at.min(overrides.changes_at);
        cache.insert(id, Cached { view: v.clone(), last_seen_at, expires_at, at: monotonic_now() });
        Ok(Some(v))
    }

    fn forget_session(&self, id: &str) {
        self.cache().remove(id);
    }

    /// The live session of sign-on `sso_id`, if any (records activity).
    pub async fn sso_session(&self, sso_id: &SessionId) -> GateResult<Option<SessionView>> {
        if sso_id.len() > 128 {
            return Ok(None);
        }
        match self.ctx.store.sso_session(sso_id).await? {
            Some(r) => self.session_by_id(&r.id).await,
            None => Ok(None),
        }
    }

    /// Ends the session behind a cookie secret.
    pub async fn logout(&self, secret: &str) -> GateResult<()> {
        let Some(s) = self.session(secret).await? else { return Ok(()) };
        let ev = self
            .ctx
            .event(&s.tenant_id, "session", action::AUTH_SESSION_LOGOUT, Outcome::Success)
            .user(&s.user_id, &s.username)
            .field(field::SESSION_ID, &s.id[..16]);
        self.ctx.store.revoke_session(&s.id, self.ctx.clock.now(), &ev).await?;
        self.forget_session(&s.id);
        Ok(())
    }

    /// Ends every session of the user behind a cookie secret; how many ended.
    pub async fn logout_everywhere(&self, secret: &str) -> GateResult<u64> {
        let Some(s) = self.session(secret).await? else { return Ok(0) };
        let ev = self
            .ctx
            .event(&s.tenant_id, "session", action::AUTH_SESSION_LOGOUT_EVERYWHERE, Outcome::Success)
            .user(&s.user_id, &s.username);
        let n = self.ctx.store.revoke_user_sessions(&s.user_id, self.ctx.clock.now(), &ev).await?;
        self.access.forget_sessions();
        Ok(n)
    }

    /// The live sessions of `username` (admin): each with the first 8 characters of its id
    /// (the hash of its cookie, never the cookie), level, methods and times, newest first.
    /// A session past its idle timeout is left out, as it no longer signs anyone in.
    pub async fn user_sessions(&self, tenant_id: &TenantId, username: &str) -> GateResult<Vec<UserSession>> {
        let user = self.ctx.find_user(tenant_id, username).await?;
        let now = self.ctx.clock.now();
        let idle_ms = self.settings.idle_seconds * 1000;
        Ok(self
            .ctx
            .store
            .user_sessions(&user.id, now)
            .await?
            .into_iter()
            .filter(|r| now < r.last_seen_at.plus_millis(idle_ms))
            .map(|r| UserSession {
                id: r.id.as_str().chars().take(8).collect(),
                level: r.level,
                amr: r.amr,
                created_at: r.created_at.to_rfc3339(),
                last_seen_at: r.last_seen_at.to_rfc3339(),
                expires_at: r.expires_at.to_rfc3339(),
            })
            .collect())
    }

    /// Ends every session of `username` (admin).
    pub async fn revoke_sessions(&self, tenant_id: &TenantId, username: &str, actor: &str) -> GateResult<u64> {
        let user = self.ctx.find_user(tenant_id, username).await?;
        let ev = self
            .ctx
            .event(tenant_id, "session", action::AUTH_SESSION_REVOKED_BY_ADMIN, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::ACTOR, actor);
        let n = self.ctx.store.revoke_user_sessions(&user.id, self.ctx.clock.now(), &ev).await?;
        self.access.forget_sessions();
        Ok(n)
    }

    /// Seals a half-done login for the browser to carry.
    pub fn seal_pending(&self, tenant_id: &TenantId, username: &str, amr: &[String]) -> String {
        let pending =
            PendingLogin { tenant_id: tenant_id.to_owned(), username: username.to_owned(), amr: amr.to_vec() };
        self.seal_token(PENDING_CONTEXT, pending)
    }

    /// Opens a sealed half-done login that has not expired.
    pub fn open_pending(&self, token: &str) -> Option<PendingLogin> {
        self.ctx.open_token(PENDING_CONTEXT, token)
    }

    /// Seals the hosted page's pending push login (its id, the number to show, and whether
    /// a second factor must follow the approval) for the browser that started it.
    pub fn seal_push(&self, login_id: &str, number: i64, step: PushStep) -> String {
        self.seal_token(PUSH_CONTEXT, (login_id.to_owned(), number, step))
    }

    /// Opens a sealed pending push login: (login id, number, step).
    pub fn open_push(&self, token: &str) -> Option<(LoginId, i64, PushStep)> {
        self.ctx.open_token(PUSH_CONTEXT, token)
    }

    /// `value` and an expiry [`PENDING_SECONDS`] from now, sealed under the server's secret
    /// key for `context`, base64url.
    fn seal_token<T: Serialize>(&self, context: &[u8], value: T) -> String {
        self.ctx.seal_token_for(context, value, PENDING_SECONDS)
    }
}

/// The relying party that Sekimori's own login page is, in `tenant`.
fn hosted_app_of(tenant: sekimori_store::Tenant) -> sekimori_store::App {
    sekimori_store::App {
        id: AppId::new(crate::assertion::HOSTED_AUDIENCE),
        name: format!("{} sign-in", tenant.name),
        tenant_id: tenant.id,
        kind: crate::AppKind::RelyingParty,
        secret_hash: Vec::new(),
        created_at: Timestamp(0),
        revoked_at: None,
        origins: None,
    }
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

fn view(r: &SessionRecord, user: &User) -> SessionView {
    SessionView {
        id: r.id.clone(),
        sso_id: r.sso_id.clone(),
        user_id: r.user_id.clone(),
        username: user.username.clone(),
        tenant_id: r.tenant_id.clone(),
        level: u8::try_from(r.level).unwrap_or(0),
        amr: r.amr.clone(),
        auth_time: r.auth_time.to_rfc3339(),
        auth_time_ms: r.auth_time.millis(),
        expires_at: r.expires_at.to_rfc3339(),
        email: user.email.clone(),
        display_name: user.display_name.clone(),
        groups: Vec::new(),
        required_level: 0,
    }
}
