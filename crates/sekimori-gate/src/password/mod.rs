//! Passwords: Argon2id hashing on a bounded pool, the tenant's policy, and throttling.
//!
//! - **Hashing.** Argon2id (RFC 9106), by default m = 19 MiB, t = 2, p = 1 (OWASP's
//!   first recommendation), stored as a PHC string so parameters can change: a password
//!   hashed with other parameters is rehashed at its next successful login.
//! - **A bounded pool.** Hashes run on a fixed set of worker threads, each owning its
//!   Argon2 memory, behind a bounded queue. A flood of attempts fills the queue and the
//!   rest are answered at once with `service_unavailable` (503, `Retry-After`); a request
//!   that waited in the queue longer than `queue_wait_ms` gets the same. Memory is
//!   `hash_workers × memory_kib` plus the queue, whatever the load.
//! - **Throttling.** Failures count per username (known or not, so the answer never
//!   tells which) and per client network (IPv4 /24, IPv6 /48). `user_max_failures` in
//!   `user_window_seconds` lock the username for `user_lock_seconds`; the network limit
//!   works the same way. A locked username or network is refused before any hashing
//!   (`locked`, 429, `Retry-After`). Each failure, each lock and each throttle is in the
//!   audit log. A lock is temporary by construction; a successful login clears the
//!   username's count, never the network's.
//! - **Unknown users** cost the same hash as known ones (a dummy PHC with the current
//!   parameters), so timing does not reveal who exists.

use argon2::Params;
use sekimori_core::ecs::{action, field};
use sekimori_core::environment::network_of;
use sekimori_core::event::Outcome;
use sekimori_core::password::{PasswordPolicy, Rule, MAX_PASSWORD_CHARS};
use sekimori_core::TenantId;
use sekimori_core::{AuthLevel, ErrorCode, Timestamp};
use sekimori_store::{PasswordRecord, ThrottleHit, ThrottleRecord, User};
use serde::Serialize;

use crate::factors::FactorVerified;
use crate::factors::RiskSummary;
use crate::risk::{self, LoginAttempt, Risk};
use std::sync::Arc;

use crate::access::Access;
use crate::{Context, GateError, GateResult};

/// The longest password accepted for verification, bytes (four bytes per character of
/// the longest password a policy allows).
pub const MAX_PASSWORD_BYTES: usize = 4 * MAX_PASSWORD_CHARS;

/// The `[gate.password]` configuration section.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordSettings {
    /// Argon2id memory, KiB (at least 8 × `parallelism`).
    pub memory_kib: u32,
    /// Argon2id passes.
    pub iterations: u32,
    /// Argon2id lanes.
    pub parallelism: u32,
    /// Hashing threads; 0 means one per CPU core.
    pub hash_workers: usize,
    /// Attempts that may wait for a hashing thread; more get 503 at once.
    pub hash_queue: usize,
    /// Longest wait in the queue before a 503, ms.
    pub queue_wait_ms: u64,
    /// Failures for one username within the window that lock it.
    pub user_max_failures: i64,
    /// The username's counting window, seconds.
    pub user_window_seconds: i64,
    /// How long a locked username stays locked, seconds.
    pub user_lock_seconds: i64,
    /// Failures from one client network within the window that throttle it.
    pub network_max_failures: i64,
    /// The network's counting window, seconds.
    pub network_window_seconds: i64,
    /// How long a throttled network is refused, seconds.
    pub network_lock_seconds: i64,
}

impl Default for PasswordSettings {
    fn default() -> Self {
        PasswordSettings {
            memory_kib: Params::DEFAULT_M_COST,
            iterations: Params::DEFAULT_T_COST,
            parallelism: Params::DEFAULT_P_COST,
            hash_workers: 0,
            hash_queue: 64,
            queue_wait_ms: 2_000,
            user_max_failures: 5,
            user_window_seconds: 900,
            user_lock_seconds: 900,
            network_max_failures: 100,
            network_window_seconds: 300,
            network_lock_seconds: 300,
        }
    }
}

impl PasswordSettings {
    /// The Argon2 parameters, or the key and what is wrong.
    pub fn params(&self) -> Result<Params, (&'static str, String)> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, None).map_err(|e| {
            let key = match e {
                argon2::Error::TimeTooSmall => "gate.password.iterations",
                argon2::Error::ThreadsTooFew | argon2::Error::ThreadsTooMany => "gate.password.parallelism",
                _ => "gate.password.memory_kib",
            };
            let reason = format!(
                "memory_kib = {}, iterations = {}, parallelism = {} are not valid Argon2 parameters: {e}",
                self.memory_kib, self.iterations, self.parallelism
            );
            (key, reason)
        })
    }

    /// Checks every setting; the error is the key and what is wrong with it.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        self.params()?;
        let positive = [
            ("gate.password.hash_queue", i64::try_from(self.hash_queue).unwrap_or(i64::MAX)),
            ("gate.password.queue_wait_ms", i64::try_from(self.queue_wait_ms).unwrap_or(i64::MAX)),
            ("gate.password.user_max_failures", self.user_max_failures),
            ("gate.password.user_window_seconds", self.user_window_seconds),
            ("gate.password.user_lock_seconds", self.user_lock_seconds),
            ("gate.password.network_max_failures", self.network_max_failures),
            ("gate.password.network_window_seconds", self.network_window_seconds),
            ("gate.password.network_lock_seconds", self.network_lock_seconds),
        ];
        for (key, value) in positive {
            if value <= 0 {
                return Err((key, format!("must be greater than 0, got {value}")));
            }
        }
        if self.hash_workers > 1024 {
            return Err(("gate.password.hash_workers", format!("must be at most 1024, got {}", self.hash_workers)));
        }
        Ok(())
    }
}

pub mod hasher;

pub use self::hasher::{Lane, PasswordHasher};

/// A tenant's password policy, as shown to users and relying parties.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyView {
    /// Level 1 to 4.
    pub level: u8,
    /// Its rules, in English and Japanese.
    pub rules: Vec<Rule>,
}

impl From<PasswordPolicy> for PolicyView {
    fn from(p: PasswordPolicy) -> Self {
        PolicyView { level: p.level(), rules: p.rules() }
    }
}

/// Where a password attempt came from.
#[derive(Debug, Clone, Default)]
pub struct Attempt<'a> {
    /// The end user's address, as the caller saw it.
    pub ip: Option<std::net::IpAddr>,
    /// The app that asked (audited).
    pub app_id: Option<&'a str>,
    /// The user agent sent with the request (risk).
    pub user_agent: Option<&'a str>,
    /// What the browser reported (risk), when the page collected it.
    pub browser: Option<&'a sekimori_risk::BrowserSignals>,
    /// The review id the page kept in its cookie (risk, external providers).
    pub review_id: Option<&'a str>,
}

/// Passwords: the tenant's policy, setting and changing, verification with throttling
/// per user and per network, and hashing on the bounded worker pool.
pub struct Passwords {
    ctx: Arc<Context>,
    access: Arc<Access>,
    risk: Arc<Risk>,
    hasher: PasswordHasher,
    settings: PasswordSettings,
}

impl Passwords {
    pub(crate) fn new(
        ctx: Arc<Context>,
        access: Arc<Access>,
        risk: Arc<Risk>,
        hasher: PasswordHasher,
        settings: PasswordSettings,
    ) -> Self {
        Passwords { ctx, access, risk, hasher, settings }
    }

    /// Hashing jobs waiting now: (the first lane, the rest), for metrics.
    pub fn hash_queue_depth(&self) -> (usize, usize) {
        self.hasher.queue_depth()
    }
}

/// The password policy stored with `tenant`; a stored value that is not a level is an
/// error, never the default policy.
pub fn policy_of(t: &sekimori_store::Tenant) -> GateResult<PasswordPolicy> {
    u8::try_from(t.password_policy).ok().and_then(PasswordPolicy::new).ok_or_else(|| {
        tracing::error!(tenant = %t.id, policy = t.password_policy, "stored password policy is not a level");
        GateError::new(ErrorCode::Internal, format!("tenant {}: the stored password policy cannot be read", t.id))
    })
}

impl Passwords {
    /// The tenant's password policy.
    pub async fn password_policy(&self, tenant_id: &TenantId) -> GateResult<PasswordPolicy> {
        policy_of(&self.ctx.tenant(tenant_id).await?)
    }

    /// Changes the tenant's password policy level (passwords already set stay valid).
    pub async fn set_password_policy(&self, tenant_id: &TenantId, level: u8, actor: &str) -> GateResult<PolicyView> {
        let policy = PasswordPolicy::new(level).ok_or_else(|| {
            GateError::new(ErrorCode::InvalidRequest, "password_policy must be 1, 2, 3 or 4")
                .with("field", "password_policy")
        })?;
        let ev = self
            .ctx
            .event(tenant_id, "configuration", action::ADMIN_TENANT_PASSWORD_POLICY, Outcome::Success)
            .field(field::SETTINGS_PASSWORD_POLICY, i64::from(level))
            .field(field::ACTOR, actor);
        self.ctx.store.set_password_policy(tenant_id, i64::from(level), &ev).await?;
        Ok(policy.into())
    }

    /// Sets `username`'s password after checking it against the tenant's policy; a refusal
    /// lists every rule broken and the whole policy.
    pub async fn set_password(
        &self,
        tenant_id: &TenantId,
        username: &str,
        password: &str,
        actor: &str,
    ) -> GateResult<()> {
        let user = self.ctx.find_user(tenant_id, username).await?;
        self.store_password(&user, password, actor).await?;
        // Whoever knew the old password is signed out.
        self.access.end_sessions_after(&user, action::CREDENTIAL_PASSWORD_SET, actor).await?;
        Ok(())
    }

    async fn store_password(&self, user: &User, password: &str, actor: &str) -> GateResult<()> {
        let policy = self.password_policy(&user.tenant_id).await?;
        if let Err(violations) = policy.check(password, &user.username) {
            let first = violations.first().map(|v| v.en.clone()).unwrap_or_default();
            return Err(GateError::new(ErrorCode::WeakPassword, format!("the password is refused: {first}"))
                .with("violations", serde_json::to_value(&violations).unwrap_or_default())
                .with("policy", serde_json::to_value(PolicyView::from(policy)).unwrap_or_default()));
        }
        let hash = self.hasher.hash(password, self.ctx.rng.as_ref()).await?;
        let now = self.ctx.clock.now().millis();
        let ev = self
            .ctx
            .event(&user.tenant_id, "iam", action::CREDENTIAL_PASSWORD_SET, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::ACTOR, actor);
        let record = PasswordRecord {
            user_id: user.id.clone(),
            tenant_id: user.tenant_id.clone(),
            hash,
            created_at: Timestamp(now),
            updated_at: Timestamp(now),
        };
        self.ctx.store.set_password(&record, &ev).await?;
        Ok(())
    }

    /// Removes `username`'s password.
    pub async fn delete_password(&self, tenant_id: &TenantId, username: &str, actor: &str) -> GateResult<()> {
        let user = self.ctx.find_user(tenant_id, username).await?;
        let ev = self
            .ctx
            .event(tenant_id, "iam", action::CREDENTIAL_PASSWORD_DELETED, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::ACTOR, actor);
        if !self.ctx.store.delete_password(&user.id, &ev).await? {
            return Err(GateError::new(ErrorCode::NotFound, format!("{username} has no password")));
        }
        self.access.end_sessions_after(&user, action::CREDENTIAL_PASSWORD_DELETED, actor).await?;
        Ok(())
    }

    /// Checks `username`'s password in tenant `tenant_id`: throttled, locked, wrong and
    /// unknown all look the same from outside except for `locked` (with `Retry-After`).
    pub async fn verify_password(
        &self,
        tenant_id: &TenantId,
        username: &str,
        password: &str,
        attempt: &Attempt<'_>,
    ) -> GateResult<FactorVerified> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(GateError::new(
                ErrorCode::InvalidRequest,
                format!("password is longer than {MAX_PASSWORD_BYTES} bytes"),
            )
            .with("field", "password"));
        }
        let s = &self.settings;
        let user_key = format!("user:{tenant_id}:{username}");
        let net_key = attempt.ip.map(|ip| format!("net:{tenant_id}:{}", network_of(ip)));
        let net_clean = match &net_key {
            Some(key) => self.refuse_if_locked(key, "too many failed logins from this network").await?,
            None => false,
        };
        // The attempt is counted against the username before the hash is checked, in one
        // statement with the lock test: parallel guesses cannot all pass a check made
        // before any of them is counted. A success clears the count.
        let now = self.ctx.clock.now().millis();
        let user_hit = ThrottleHit {
            key: &user_key,
            tenant_id,
            now: Timestamp(now),
            window_ms: s.user_window_seconds * 1000,
            max_failures: s.user_max_failures,
            lock_ms: s.user_lock_seconds * 1000,
        };
        let Some(reserved) = self.ctx.store.reserve_login_attempt(&user_hit).await? else {
            let _ = self.refuse_if_locked(&user_key, "this account has too many failed logins").await?;
            // The lock ended between the two reads: refuse this one attempt all the same.
            return Err(GateError::new(ErrorCode::Locked, "this account has too many failed logins; try again")
                .with("retry_after_seconds", 1));
        };
        let user = self.ctx.store.user_by_name(tenant_id, username).await?;
        let stored = match &user {
            Some(u) => self.ctx.store.password(&u.id).await?,
            None => None,
        };
        // A known user's first attempt in the window, from a network without failures, is
        // checked before the flood (an attacker gets that for one attempt per real user).
        let lane = if user.is_some() && reserved.failures <= 1 && net_clean { Lane::First } else { Lane::Rest };
        let checked = self.hasher.verify(password, stored.as_ref().map(|r| r.hash.as_str()), lane).await?;
        match (user, stored) {
            (Some(user), Some(stored)) if checked.matches => {
                self.ctx.store.clear_login_throttle(&user_key).await?;
                self.access.check_login_allowed(&user, "password").await?;
                if checked.outdated {
                    self.rehash(&user, &stored, password).await;
                }
                let mut ev = self
                    .ctx
                    .event(tenant_id, "authentication", action::AUTH_PASSWORD_VERIFIED, Outcome::Success)
                    .user(&user.id, &user.username);
                if let Some(ip) = attempt.ip {
                    ev = ev.field(field::SOURCE_IP, ip.to_string());
                }
                if let Some(app) = attempt.app_id {
                    ev = ev.field(field::APP_ID, app);
                }
                self.ctx.store.append(&ev).await?;
                let judged = self
                    .risk
                    .judge(&LoginAttempt {
                        user: &user,
                        method: "password",
                        ip: attempt.ip,
                        user_agent: attempt.user_agent,
                        browser: attempt.browser,
                        review_id: attempt.review_id,
                        environment_known: None,
                    })
                    .await?;
                if !judged.ok() && !judged.needs_step_up() {
                    return Err(risk::refused());
                }
                if judged.ok() {
                    self.risk.completed(&user, &judged).await?;
                }
                let summary = RiskSummary {
                    decision: judged.verdict.effective(),
                    step_up: judged.needs_step_up(),
                    attempt: judged.attempt,
                };
                Ok(FactorVerified {
                    user_id: user.id,
                    username: user.username,
                    amr: vec!["pwd"],
                    level: AuthLevel::One.as_u8(),
                    method: "password",
                    recovery_codes_left: None,
                    risk: Some(summary),
                    judged: Some(judged),
                })
            }
            (user, _) => {
                let mut ev =
                    self.ctx.event(tenant_id, "authentication", action::AUTH_PASSWORD_FAILED, Outcome::Failure);
                ev = match &user {
                    Some(u) => ev.user(&u.id, &u.username),
                    None => ev.field(field::USER_NAME, username).field(field::USER_KNOWN, false),
                };
                if let Some(ip) = attempt.ip {
                    ev = ev.field(field::SOURCE_IP, ip.to_string());
                }
                if let Some(app) = attempt.app_id {
                    ev = ev.field(field::APP_ID, app);
                }
                self.ctx.store.append(&ev).await?;
                if just_locked(&reserved, &user_hit) {
                    let until = user_hit.now.plus_millis(user_hit.lock_ms);
                    let mut lock = self
                        .ctx
                        .event(tenant_id, "authentication", action::AUTH_PASSWORD_LOCKED, Outcome::Failure)
                        .field(field::USER_NAME, username)
                        .field(field::LOCK_UNTIL, until.to_rfc3339())
                        .field(field::LOCK_FAILURES, s.user_max_failures);
                    if let Some(u) = &user {
                        lock = lock.user(&u.id, &u.username);
                    }
                    self.ctx.store.append(&lock).await?;
                }
                if let (Some(key), Some(ip)) = (&net_key, attempt.ip) {
                    let hit = ThrottleHit {
                        key,
                        tenant_id,
                        now: Timestamp(now),
                        window_ms: s.network_window_seconds * 1000,
                        max_failures: s.network_max_failures,
                        lock_ms: s.network_lock_seconds * 1000,
                    };
                    let row = self.ctx.store.record_login_failure(&hit, None).await?;
                    if just_locked(&row, &hit) {
                        let ev = self
                            .ctx
                            .event(tenant_id, "authentication", action::AUTH_PASSWORD_THROTTLED, Outcome::Failure)
                            .field(field::SOURCE_IP, ip.to_string())
                            .field(field::SOURCE_NETWORK, network_of(ip))
                            .field(field::LOCK_UNTIL, hit.now.plus_millis(hit.lock_ms).to_rfc3339())
                            .field(field::LOCK_FAILURES, s.network_max_failures);
                        self.ctx.store.append(&ev).await?;
                    }
                }
                Err(GateError::new(ErrorCode::InvalidCredentials, "the username or password is wrong"))
            }
        }
    }

    /// Changes a user's password after checking the current one (a relying party's
    /// "change password" form).
    pub async fn change_password(
        &self,
        tenant_id: &TenantId,
        username: &str,
        current: &str,
        new: &str,
        attempt: &Attempt<'_>,
    ) -> GateResult<()> {
        let verified = self.verify_password(tenant_id, username, current, attempt).await?;
        let user = self.ctx.find_user(tenant_id, &verified.username).await?;
        self.store_password(&user, new, &format!("user:{}", user.id)).await
    }

    /// Refuses while `key` is locked; otherwise whether it has no failures in its window.
    async fn refuse_if_locked(&self, key: &str, why: &str) -> GateResult<bool> {
        let now = self.ctx.clock.now();
        let row = self.ctx.store.login_throttle(key).await?;
        match row.as_ref().and_then(|r| r.locked_until).filter(|until| *until > now) {
            Some(until) => {
                let secs = until.millis_since(now).div_euclid(1000).max(1);
                Err(GateError::new(ErrorCode::Locked, format!("{why}; try again in {secs} s"))
                    .with("retry_after_seconds", secs))
            }
            None => Ok(row.is_none_or(|r| r.failures == 0)),
        }
    }

    /// Re-hashes with the current parameters after a successful login; a failure only
    /// leaves the old hash in place.
    async fn rehash(&self, user: &User, stored: &PasswordRecord, password: &str) {
        let result = async {
            let new = self.hasher.hash(password, self.ctx.rng.as_ref()).await?;
            self.ctx.store.rehash_password(&user.id, &stored.hash, &new, self.ctx.clock.now()).await?;
            GateResult::Ok(())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(user = %user.id, error = %e, "password rehash skipped");
        }
    }
}

/// Whether the failure just recorded is the one that locked the key.
fn just_locked(row: &ThrottleRecord, hit: &ThrottleHit<'_>) -> bool {
    row.failures == 0 && row.locked_until == Some(hit.now.plus_millis(hit.lock_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_errors_name_the_key() {
        let bad = PasswordSettings { memory_kib: 1, ..Default::default() };
        assert_eq!(bad.validate().expect_err("bad").0, "gate.password.memory_kib");
        let bad = PasswordSettings { iterations: 0, ..Default::default() };
        assert_eq!(bad.validate().expect_err("bad").0, "gate.password.iterations");
        let bad = PasswordSettings { user_max_failures: 0, ..Default::default() };
        assert_eq!(
            bad.validate().expect_err("bad"),
            ("gate.password.user_max_failures", "must be greater than 0, got 0".into())
        );
        assert!(PasswordSettings::default().validate().is_ok());
    }
}
