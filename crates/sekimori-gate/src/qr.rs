//! One-time QR login: a login page shows `sekimori://login?s=<token>` (single use, 60 s);
//! an authenticator redeems it, signed; the page, polling with its own secret, completes.

use sekimori_core::ecs::{action, field};
use std::time::Duration;

use sekimori_core::environment::Environment;
use sekimori_core::event::Outcome;
use sekimori_core::token::{ct_eq, hash_secret};
use sekimori_core::{AuthLevel, ErrorCode};
use sekimori_store::{Consume, Device, QrSession, User};
use serde::Serialize;

use crate::assertion::HOSTED_AUDIENCE;
use crate::notify::Topic;
use crate::push::ClientInfo;
use std::sync::Arc;

use crate::access::Access;
use crate::assertion::Assertions;
use crate::{Context, GateError, GateResult};

/// A QR login session for a page.
#[derive(Debug, Clone, Serialize)]
pub struct QrCreated {
    /// Session id.
    pub id: String,
    /// What the QR code holds.
    pub payload: String,
    /// The secret the page polls with (only the page has it).
    pub poll_secret: String,
    /// Expiry (RFC 3339).
    pub expires_at: String,
    /// Seconds until the page should ask for a fresh code.
    pub ttl_seconds: i64,
}

/// A QR session's state, for the page that shows it.
#[derive(Debug, Clone, Serialize)]
pub struct QrStatus {
    /// Session id.
    pub id: String,
    /// `pending`, `completed` or `expired`.
    pub status: &'static str,
    /// Who logged in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The one-time assertion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assertion: Option<String>,
    /// Expiry (RFC 3339).
    pub expires_at: String,
}

/// What the authenticator learns when it redeems a QR code.
#[derive(Debug, Clone, Serialize)]
pub struct QrRedeemed {
    /// Session id.
    pub session_id: String,
    /// The environment of the page that showed the code.
    pub environment: Environment,
}

/// The scheme prefix of QR login payloads.
pub const QR_PREFIX: &str = "sekimori://login?s=";

/// QR login: one-time codes for login pages, redeemed by an authenticator.
pub struct QrLogin {
    ctx: Arc<Context>,
    access: Arc<Access>,
    assertions: Arc<Assertions>,
    /// Lifetime of a QR login token, seconds.
    ttl_seconds: i64,
}

impl QrLogin {
    pub(crate) fn new(ctx: Arc<Context>, access: Arc<Access>, assertions: Arc<Assertions>, ttl_seconds: i64) -> Self {
        QrLogin { ctx, access, assertions, ttl_seconds }
    }
}

impl QrLogin {
    /// Creates a QR login session for a page: Sekimori's own (`app` none) or an app's page
    /// through the JS snippet (the assertion's audience is then the app).
    pub async fn create_qr(&self, client: &ClientInfo, app: Option<&sekimori_store::App>) -> GateResult<QrCreated> {
        let tenant_id = match app {
            Some(a) => a.tenant_id.clone(),
            None => self.ctx.default_tenant().await?.id,
        };
        let env = client.environment();
        let now = self.ctx.clock.now();
        let token = self.ctx.new_secret();
        let poll_secret = self.ctx.new_secret();
        let expires_at = now.plus_seconds(self.ttl_seconds);
        let s = QrSession {
            id: self.ctx.new_id(),
            tenant_id,
            token_hash: hash_secret(&token),
            poll_hash: hash_secret(&poll_secret),
            environment: env.clone(),
            env_key: env.key(),
            created_at: now,
            expires_at,
            used_at: None,
            user_id: None,
            device_id: None,
            assertion_jti: None,
            app_id: app.map(|a| a.id.clone()),
        };
        self.ctx.store.insert_qr(&s).await?;
        Ok(QrCreated {
            id: s.id,
            payload: format!("{QR_PREFIX}{token}"),
            poll_secret,
            expires_at: expires_at.to_rfc3339(),
            ttl_seconds: self.ttl_seconds,
        })
    }

    /// The session's state for the page holding `poll_secret`; waits up to `wait`.
    pub async fn qr_status(&self, id: &str, poll_secret: &str, wait: Duration) -> GateResult<QrStatus> {
        let load = || async {
            self.ctx
                .store
                .qr(id)
                .await?
                .filter(|s| ct_eq(&s.poll_hash, &hash_secret(poll_secret)))
                .ok_or_else(|| GateError::new(ErrorCode::NotFound, "no such QR session"))
        };
        let done = self
            .ctx
            .hub
            .wait_for(&Topic::Qr(id.to_owned()), wait, || async {
                let s = load().await?;
                Ok((s.used_at.is_some() || s.expires_at <= self.ctx.clock.now()).then_some(s))
            })
            .await?;
        let s = match done {
            Some(s) => s,
            None => load().await?,
        };
        let (status, username, assertion) = match (&s.used_at, &s.assertion_jti) {
            (Some(_), Some(jti)) => match self.ctx.store.assertion(jti).await? {
                Some(a) => {
                    let audience = s.app_id.as_deref().unwrap_or(HOSTED_AUDIENCE);
                    ("completed", Some(a.username.clone()), Some(self.assertions.assertion_jwt(&a, audience)))
                }
                None => ("completed", None, None),
            },
            _ if s.expires_at <= self.ctx.clock.now() => ("expired", None, None),
            _ => ("pending", None, None),
        };
        Ok(QrStatus { id: s.id, status, username, assertion, expires_at: s.expires_at.to_rfc3339() })
    }

    /// Redeems a scanned QR payload (or its bare token) for the device's user.
    pub async fn redeem_qr(&self, device: &Device, user: &User, payload: &str) -> GateResult<QrRedeemed> {
        self.access.check_login_allowed(user, "qr").await?;
        let token = payload.strip_prefix(QR_PREFIX).unwrap_or(payload);
        let now = self.ctx.clock.now();
        let assertion = self.assertions.new_assertion(
            &user.tenant_id,
            &user.id,
            &user.username,
            "",
            AuthLevel::Three,
            &["qr", "mfa"],
        );
        let ev = self
            .ctx
            .event(&user.tenant_id, "authentication", action::AUTH_QR_REDEEMED, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::DEVICE_ID, device.id.as_str())
            .field(field::AUTH_LEVEL, 3);
        let refused = |action: &str, reason: &str| {
            self.ctx
                .event(&user.tenant_id, "authentication", action, Outcome::Failure)
                .user(&user.id, &user.username)
                .field(field::DEVICE_ID, device.id.as_str())
                .field(field::EVENT_REASON, reason)
        };
        match self.ctx.store.redeem_qr(&hash_secret(token), device, &assertion, now, &ev).await? {
            Consume::Done(s) => {
                self.ctx.hub.wake(&Topic::Qr(s.id.clone()));
                Ok(QrRedeemed { session_id: s.id, environment: s.environment })
            }
            Consume::AlreadyUsed { at } => {
                self.ctx.store.append(&refused(action::AUTH_QR_REJECTED_ALREADY_USED, "already_used")).await?;
                Err(GateError::new(ErrorCode::AlreadyUsed, "this QR code was already used")
                    .with("first_used_at", at.to_rfc3339()))
            }
            Consume::Expired => {
                self.ctx.store.append(&refused(action::AUTH_QR_REJECTED_EXPIRED, "expired")).await?;
                Err(GateError::new(ErrorCode::Expired, "this QR code has expired; ask the page for a new one"))
            }
            Consume::NotFound => {
                self.ctx.store.append(&refused(action::AUTH_QR_REJECTED_UNKNOWN, "not_found")).await?;
                Err(GateError::new(ErrorCode::NotFound, "unknown QR code"))
            }
        }
    }
}
