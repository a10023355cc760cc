//! Client environments: each attempt records where it came from; an environment with no
//! successful login yet is unknown, and attempts from it warn the user's devices.

use sekimori_core::ecs::{action, field};
use sekimori_core::environment::Environment;
use sekimori_core::event::Outcome;
use sekimori_core::{ErrorCode, Timestamp};
use sekimori_store::{EnvironmentRecord, User};
use serde::Serialize;

use std::sync::Arc;

use crate::{Context, GateError, GateResult};

/// An environment as shown to its user.
#[derive(Debug, Clone, Serialize)]
pub struct EnvironmentView {
    /// Stable key.
    pub key: String,
    /// Browser family.
    pub browser: String,
    /// OS family.
    pub os: String,
    /// Network.
    pub network: String,
    /// Country.
    pub country: Option<String>,
    /// First attempt (RFC 3339).
    pub first_seen: String,
    /// Latest attempt (RFC 3339).
    pub last_seen: String,
    /// Latest successful login (RFC 3339).
    pub last_login_at: Option<String>,
    /// Known: at least one successful login.
    pub known: bool,
    /// Marked trusted by the user.
    pub trusted: bool,
}

impl From<EnvironmentRecord> for EnvironmentView {
    fn from(r: EnvironmentRecord) -> Self {
        EnvironmentView {
            known: r.is_known(),
            key: r.env_key,
            browser: r.browser,
            os: r.os,
            network: r.network,
            country: r.country,
            first_seen: r.first_seen.to_rfc3339(),
            last_seen: r.last_seen.to_rfc3339(),
            last_login_at: r.last_login_at.map(|t| t.to_rfc3339()),
            trusted: r.trusted,
        }
    }
}

/// The client environments a user has logged in from: remembered, trusted or revoked.
pub struct Environments {
    ctx: Arc<Context>,
}

impl Environments {
    pub(crate) fn new(ctx: Arc<Context>) -> Self {
        Environments { ctx }
    }
}

impl Environments {
    /// Records an attempt by `user` from `env` (whose key is `env_key`); returns whether the
    /// environment was known.
    /// Records an attempt from `env`; since when it has been seen, when it is known (has
    /// completed a login), or `None` for an environment new to this user.
    pub(crate) async fn observe_environment(
        &self,
        user: &User,
        env: &Environment,
        env_key: &str,
    ) -> GateResult<Option<Timestamp>> {
        let now = self.ctx.clock.now().millis();
        let rec = EnvironmentRecord {
            user_id: user.id.clone(),
            env_key: env_key.to_owned(),
            tenant_id: user.tenant_id.clone(),
            browser: env.browser.clone(),
            os: env.os.clone(),
            network: env.network.clone(),
            country: env.country.clone(),
            first_seen: Timestamp(now),
            last_seen: Timestamp(now),
            last_login_at: None,
            trusted: false,
        };
        let before = self.ctx.store.observe_environment(&rec).await?;
        Ok(before.filter(|b| b.is_known()).map(|b| b.first_seen))
    }

    /// The user's environments, most recent first.
    pub async fn environments(&self, user: &User) -> GateResult<Vec<EnvironmentView>> {
        Ok(self.ctx.store.list_environments(&user.id).await?.into_iter().map(EnvironmentView::from).collect())
    }

    /// Marks an environment trusted or not.
    pub async fn trust_environment(&self, user: &User, key: &str, trusted: bool) -> GateResult<()> {
        let ev = self
            .ctx
            .event(&user.tenant_id, "iam", action::IAM_ENVIRONMENT_TRUST_CHANGED, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::ENVIRONMENT_KEY, key)
            .field(field::ENVIRONMENT_TRUSTED, trusted);
        if !self.ctx.store.set_environment_trust(&user.id, key, trusted, &ev).await? {
            return Err(GateError::new(ErrorCode::NotFound, format!("no environment {key}")));
        }
        Ok(())
    }

    /// Forgets an environment: the next attempt from it warns again.
    pub async fn revoke_environment(&self, user: &User, key: &str) -> GateResult<()> {
        let ev = self
            .ctx
            .event(&user.tenant_id, "iam", action::IAM_ENVIRONMENT_REVOKED, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::ENVIRONMENT_KEY, key);
        if !self.ctx.store.revoke_environment(&user.id, key, &ev).await? {
            return Err(GateError::new(ErrorCode::NotFound, format!("no environment {key}")));
        }
        Ok(())
    }
}
