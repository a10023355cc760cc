//! Push login: a relying party asks; if the user armed a standby window, a challenge goes
//! to the user's devices and the login page shows a number to enter on the authenticator;
//! the device approves (with the number) or denies, signed; the relying party gets a
//! one-time assertion.

use sekimori_core::ecs::{action, field};
use std::net::IpAddr;
use std::time::Duration;

use sekimori_core::environment::Environment;
use sekimori_core::event::Outcome;
use sekimori_core::rng::RngExt;
use sekimori_core::{AuthLevel, ErrorCode, LoginId, Timestamp};
use sekimori_store::{
    App, Consume, Decision, Device, InboxMessage, LoginRequest, LoginStatus, MessageKind, Tenant, User,
};
use serde::Serialize;
use serde_json::{json, Value};

use crate::factors::RiskSummary;
use crate::notify::Topic;
use crate::overrides::{Overrides, Response, ResponseRequest};
use crate::risk::{LoginAttempt, Risk};
use std::sync::Arc;

use crate::access::Access;
use crate::assertion::Assertions;
use crate::environments::Environments;
use crate::{Context, GateError, GateResult};

/// The client a login attempt comes from, as the relying party or the hosted page saw it.
/// Push logins denied in a row after which push approvals are suspended (push fatigue).
pub const FATIGUE_DENIALS: u32 = 3;
/// How long push approvals stay suspended after push fatigue, minutes.
pub const FATIGUE_MINUTES: i64 = 15;
/// How long a "not me" report suspends push and requires level 3, hours.
pub const NOT_ME_HOURS: i64 = 1;

fn response_name(r: Response) -> &'static str {
    match r {
        Response::RaiseLevel(_) => "raise_level",
        Response::SuspendPush => "suspend_push",
        Response::Block => "block",
        Response::Reauthenticate => "reauthenticate",
    }
}

#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// The client's address.
    pub ip: Option<IpAddr>,
    /// The client's user agent.
    pub user_agent: Option<String>,
    /// What the login page's script observed in the browser, when it sent it (risk).
    pub browser: Option<sekimori_risk::BrowserSignals>,
    /// The review id the login page keeps in its cookie (risk, external providers).
    pub review_id: Option<String>,
}

impl ClientInfo {
    /// The environment this client is in.
    pub fn environment(&self) -> Environment {
        Environment::from_client(self.ip, self.user_agent.as_deref())
    }
}

/// A started push login.
#[derive(Debug, Clone, Serialize)]
pub struct PushStarted {
    /// Login id, to poll.
    pub login_id: String,
    /// The number to show the user, who enters it on the authenticator.
    pub number: i64,
    /// Expiry (RFC 3339).
    pub expires_at: String,
    /// The environment of the attempt.
    pub environment: Environment,
    /// Whether the user has logged in from this environment before.
    pub environment_known: bool,
    /// The risk verdict's effect (docs/risk.md): `step_up` means the relying party must
    /// ask for a factor of another kind (TOTP, passkey) once the push is approved.
    pub risk: RiskSummary,
}

/// Whether a push login judged REVIEW can be stepped up after its approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepUp {
    /// Yes: a relying party asks for another factor, or the push is itself the second
    /// factor the REVIEW asks for.
    Possible,
    /// Only if the user can give a code on the hosted page's factor form.
    IfCodeFactor,
}

/// A push login's state, for the relying party.
#[derive(Debug, Clone, Serialize)]
pub struct PushStatus {
    /// Login id.
    pub login_id: String,
    /// `pending`, `approved`, `denied` or `expired`.
    pub status: &'static str,
    /// The one-time assertion, when approved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assertion: Option<String>,
    /// Expiry (RFC 3339).
    pub expires_at: String,
    /// Decision time (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
}

/// A message for a device, with the server's signature over its canonical JSON.
#[derive(Debug, Clone, Serialize)]
pub struct SignedMessage {
    /// The message.
    pub message: Value,
    /// base64url signature of the server over the message's canonical JSON: Ed25519 for an
    /// Ed25519 device, ES256 (`r || s`) with the server's P-256 message key for a P-256 one.
    pub signature: String,
    /// `EdDSA` or `ES256`.
    pub alg: &'static str,
}

/// Push login: the challenge to the user's authenticators (refused outside an armed
/// standby window), the number to match, the decision and its assertion; and the device
/// inbox the challenges are read from.
pub struct PushLogin {
    ctx: Arc<Context>,
    access: Arc<Access>,
    environments: Arc<Environments>,
    assertions: Arc<Assertions>,
    risk: Arc<Risk>,
    overrides: Arc<Overrides>,
    /// Push logins denied in a row, per user (push fatigue), on this node.
    denials: std::sync::Mutex<std::collections::HashMap<sekimori_core::UserId, u32>>,
    /// Lifetime of a push login request, seconds.
    ttl_seconds: i64,
    /// Lifetime of an unknown-environment warning in the inbox, seconds.
    warning_ttl_seconds: i64,
}

impl PushLogin {
    pub(crate) fn new(
        ctx: Arc<Context>,
        access: Arc<Access>,
        environments: Arc<Environments>,
        assertions: Arc<Assertions>,
        (risk, overrides): (Arc<Risk>, Arc<Overrides>),
        ttl_seconds: i64,
        warning_ttl_seconds: i64,
    ) -> Self {
        let denials = std::sync::Mutex::default();
        PushLogin { ctx, access, environments, assertions, risk, overrides, denials, ttl_seconds, warning_ttl_seconds }
    }

    /// Starts a push login for `username` on behalf of `app`. The attempt is judged by the
    /// tenant's risk policy before the device is disturbed: an NG sends nothing, a REVIEW
    /// is reported to the relying party (`risk.step_up`), which asks for another factor.
    pub async fn start_push(&self, app: &App, username: &str, client: &ClientInfo) -> GateResult<PushStarted> {
        let tenant = self.ctx.tenant(&app.tenant_id).await?;
        self.start_push_in(app, &tenant, username, client, StepUp::Possible).await
    }

    /// [`PushLogin::start_push`] with the app's tenant already read.
    pub(crate) async fn start_push_in(
        &self,
        app: &App,
        tenant: &Tenant,
        username: &str,
        client: &ClientInfo,
        step_up: StepUp,
    ) -> GateResult<PushStarted> {
        let user = self.ctx.find_user(&tenant.id, username).await?;
        self.access.check_login_allowed_in(&user, Some(tenant), "push").await?;
        let devices = self.ctx.store.list_devices(&user.id).await?;
        if devices.is_empty() {
            return Err(GateError::new(ErrorCode::NoDevices, format!("{username} has no enrolled authenticator")));
        }
        let env = client.environment();
        let env_key = env.key();
        let known_since = self.environments.observe_environment(&user, &env, &env_key).await?;
        let known = known_since.is_some();
        let now = self.ctx.clock.now();
        if tenant.standby_required && self.ctx.store.active_standby(&user.id, now).await?.is_none() {
            let ev = self
                .ctx
                .event(&user.tenant_id, "authentication", action::AUTH_PUSH_REJECTED_OUTSIDE_STANDBY, Outcome::Failure)
                .user(&user.id, &user.username)
                .field(field::EVENT_REASON, "outside_standby")
                .field(field::APP_ID, app.id.as_str())
                .field_opt(field::SOURCE_IP, env.ip.clone())
                .field_opt(field::USER_AGENT_ORIGINAL, client.user_agent.clone())
                .field(field::ENVIRONMENT_KEY, env_key.as_str())
                .field(field::ENVIRONMENT_KNOWN, known);
            self.ctx.store.append(&ev).await?;
            return Err(GateError::new(
                ErrorCode::OutsideStandby,
                "the user has not armed login on an authenticator; refused without disturbing the device",
            ));
        }
        // Judged before the device is disturbed. Where no second step can follow the
        // approval (the hosted page's push), a REVIEW cannot be satisfied and is refused.
        let attempt = LoginAttempt {
            user: &user,
            method: "push",
            ip: client.ip,
            user_agent: client.user_agent.as_deref(),
            browser: client.browser.as_ref(),
            review_id: client.review_id.as_deref(),
            environment_known: Some(known_since),
        };
        let judged = self.risk.judge(&attempt).await?;
        let satisfiable = judged.ok()
            || (judged.needs_step_up()
                && match step_up {
                    StepUp::Possible => true,
                    StepUp::IfCodeFactor => crate::factors::has_code_factor(&self.ctx, &user).await?,
                });
        if !satisfiable {
            return Err(crate::risk::refused());
        }
        let risk = RiskSummary {
            decision: judged.verdict.effective(),
            step_up: judged.needs_step_up(),
            attempt: judged.attempt,
        };
        let expires_at = now.plus_seconds(self.ttl_seconds);
        let number = i64::from(10 + self.ctx.rng.below(90));
        let login = LoginRequest {
            id: self.ctx.new_id(),
            tenant_id: user.tenant_id.clone(),
            user_id: user.id.clone(),
            app_id: Some(app.id.clone()),
            number,
            environment: env.clone(),
            env_key: env_key.clone(),
            env_known: known,
            created_at: now,
            expires_at,
            status: LoginStatus::Pending,
            decided_at: None,
            device_id: None,
            assertion_jti: None,
        };
        let mut env_value = serde_json::to_value(&env).unwrap_or(Value::Null);
        env_value["known"] = Value::Bool(known);
        env_value["description"] = Value::String(env.describe());
        let challenge_id: String = self.ctx.new_id();
        let mut messages = vec![self.message(
            &user,
            &challenge_id,
            MessageKind::PushLogin,
            Some(&login.id),
            expires_at,
            json!({
                "relying_party": app.name,
                "service": "Sekimori",
                "user": user.username,
                "environment": env_value,
                "number_match": true,
            }),
        )];
        if !known {
            let warn_id: String = self.ctx.new_id();
            messages.push(self.message(
                &user,
                &warn_id,
                MessageKind::EnvironmentWarning,
                None,
                now.plus_seconds(self.warning_ttl_seconds),
                json!({
                    "relying_party": app.name,
                    "user": user.username,
                    "environment": env_value,
                    "text": format!("A login to {} was attempted from {}, where you have not logged in before.", app.name, env.describe()),
                }),
            ));
        }
        let ev = self
            .ctx
            .event(&user.tenant_id, "authentication", action::AUTH_PUSH_STARTED, Outcome::Unknown)
            .user(&user.id, &user.username)
            .field(field::LOGIN_ID, login.id.as_str())
            .field(field::APP_ID, app.id.as_str())
            .field_opt(field::SOURCE_IP, env.ip.clone())
            .field_opt(field::USER_AGENT_ORIGINAL, client.user_agent.clone())
            .field(field::ENVIRONMENT_KEY, env_key.as_str())
            .field(field::ENVIRONMENT_KNOWN, known);
        self.ctx.store.insert_login(&login, &messages, &ev).await?;
        self.ctx.deliver(&user.id, &messages);
        Ok(PushStarted {
            login_id: login.id.to_string(),
            number,
            expires_at: expires_at.to_rfc3339(),
            environment: env,
            environment_known: known,
            risk,
        })
    }

    fn message(
        &self,
        user: &User,
        id: &str,
        kind: MessageKind,
        login_id: Option<&str>,
        expires_at: Timestamp,
        mut body: Value,
    ) -> InboxMessage {
        let now = self.ctx.clock.now();
        body["type"] = json!(kind.as_str());
        body["id"] = json!(id);
        body["created_at"] = json!(now.to_rfc3339());
        body["expires_at"] = json!(expires_at.to_rfc3339());
        if let Some(l) = login_id {
            body["login_id"] = json!(l);
        }
        InboxMessage {
            id: id.to_owned(),
            tenant_id: user.tenant_id.clone(),
            user_id: user.id.clone(),
            kind,
            login_id: login_id.map(str::to_owned),
            body: sekimori_core::canonical::to_canonical_string(&body),
            created_at: now,
            expires_at,
            dismissed_at: None,
        }
    }

    /// The push login's state; waits up to `wait` for a decision.
    pub async fn push_status(&self, app: &App, login_id: &LoginId, wait: Duration) -> GateResult<PushStatus> {
        let topic = Topic::Login(login_id.clone());
        let decided = self
            .ctx
            .hub
            .wait_for(&topic, wait, || async {
                let login = self.owned_login(app, login_id).await?;
                let expired = login.status == LoginStatus::Pending && login.expires_at <= self.ctx.clock.now();
                Ok((login.status != LoginStatus::Pending || expired).then_some(login))
            })
            .await?;
        let login = match decided {
            Some(l) => l,
            None => self.owned_login(app, login_id).await?,
        };
        let now = self.ctx.clock.now().millis();
        let status = match login.status {
            LoginStatus::Approved => "approved",
            LoginStatus::Denied => "denied",
            LoginStatus::Pending if login.expires_at <= Timestamp(now) => "expired",
            LoginStatus::Pending => "pending",
        };
        let assertion = match (&login.assertion_jti, status) {
            (Some(jti), "approved") => {
                self.ctx.store.assertion(jti).await?.map(|a| self.assertions.assertion_jwt(&a, &app.id))
            }
            _ => None,
        };
        Ok(PushStatus {
            login_id: login.id.to_string(),
            status,
            assertion,
            expires_at: login.expires_at.to_rfc3339(),
            decided_at: login.decided_at.map(|t| t.to_rfc3339()),
        })
    }

    async fn owned_login(&self, app: &App, login_id: &LoginId) -> GateResult<LoginRequest> {
        self.ctx
            .store
            .login(login_id)
            .await?
            .filter(|l| l.app_id.as_deref() == Some(app.id.as_str()))
            .ok_or_else(|| GateError::new(ErrorCode::NotFound, "no such login"))
    }

    /// The user's pending messages, signed; waits up to `wait` when there are none.
    pub async fn device_messages(
        &self,
        device: &Device,
        user: &User,
        wait: Duration,
    ) -> GateResult<Vec<SignedMessage>> {
        let key_type = sekimori_core::device::KeyType::of_public_key(&device.public_key)
            .ok_or_else(|| GateError::new(ErrorCode::Internal, "stored device key is invalid"))?;
        let topic = Topic::UserInbox(user.id.clone());
        let found = self
            .ctx
            .hub
            .wait_for(&topic, wait, || async {
                let msgs = self.ctx.store.pending_messages(&user.id, self.ctx.clock.now()).await?;
                Ok((!msgs.is_empty()).then_some(msgs))
            })
            .await?
            .unwrap_or_default();
        Ok(found
            .into_iter()
            .map(|m| SignedMessage {
                signature: match key_type {
                    sekimori_core::device::KeyType::Ed25519 => self.ctx.keys.sign_b64(m.body.as_bytes()),
                    sekimori_core::device::KeyType::P256 => self.ctx.keys.sign_p256_b64(m.body.as_bytes()),
                },
                alg: key_type.message_alg(),
                message: serde_json::from_str(&m.body).unwrap_or(Value::Null),
            })
            .collect())
    }

    /// Reports a new-environment warning as a sign-in that was not the user's ("not me"):
    /// the warning is dismissed, push approvals are suspended and the user's required level
    /// raised to 3 for [`NOT_ME_HOURS`], audited as `auth.environment.reported`, and the
    /// user is told. Only a warning can be reported (`invalid_request` otherwise).
    pub async fn report_warning(&self, user: &User, id: &str) -> GateResult<()> {
        let now = self.ctx.clock.now();
        let pending = self.ctx.store.pending_messages(&user.id, now).await?;
        let Some(m) = pending.iter().find(|m| m.id == id) else {
            return Err(GateError::new(ErrorCode::NotFound, "no such message"));
        };
        if m.kind != MessageKind::EnvironmentWarning {
            return Err(GateError::new(ErrorCode::InvalidRequest, "only a new-environment warning can be reported"));
        }
        if !self.ctx.store.dismiss_message(id, &user.id, now).await? {
            return Err(GateError::new(ErrorCode::NotFound, "no such message"));
        }
        let ev = self
            .ctx
            .event(&user.tenant_id, "authentication", action::AUTH_ENVIRONMENT_REPORTED, Outcome::Failure)
            .user(&user.id, &user.username)
            .field(field::EVENT_REASON, "not_me")
            .field_opt(field::LOGIN_ID, m.login_id.clone());
        self.ctx.store.append(&ev).await?;
        let reason = "you reported a sign-in from a new environment that was not yours";
        self.respond(user, Response::SuspendPush, NOT_ME_HOURS * 3_600_000, reason, "not_me").await?;
        self.respond(user, Response::RaiseLevel(3), NOT_ME_HOURS * 3_600_000, reason, "not_me").await
    }

    /// Dismisses a notice (or a challenge) from the user's inbox.
    pub async fn dismiss_message(&self, user: &User, id: &str) -> GateResult<()> {
        if !self.ctx.store.dismiss_message(id, &user.id, self.ctx.clock.now()).await? {
            return Err(GateError::new(ErrorCode::NotFound, "no such message"));
        }
        Ok(())
    }

    /// Approves a push login from a device, with the number shown at login.
    pub async fn approve_push(&self, device: &Device, user: &User, login_id: &LoginId, number: i64) -> GateResult<()> {
        let login = self.device_login(user, login_id).await?;
        if login.number != number {
            // One guess only: a wrong number denies the login.
            let ev = self
                .decision_event(user, device, &login, action::AUTH_PUSH_REJECTED_NUMBER_MISMATCH, Outcome::Failure)
                .field(field::EVENT_REASON, "number_mismatch");
            self.decide(device, &login, &Decision::Deny, &ev).await?;
            return Err(GateError::new(ErrorCode::NumberMismatch, "the number does not match; the login was refused"));
        }
        let assertion = self.assertions.new_assertion(
            &user.tenant_id,
            &user.id,
            &user.username,
            &login.id,
            AuthLevel::Two,
            &["push", "mfa"],
        );
        let ev = self
            .decision_event(user, device, &login, action::AUTH_PUSH_APPROVED, Outcome::Success)
            .field(field::AUTH_LEVEL, 2);
        self.decide(device, &login, &Decision::Approve(Box::new(assertion)), &ev).await?;
        // An approval ends a run of denials.
        self.denials.lock().unwrap_or_else(|p| p.into_inner()).remove(&user.id);
        Ok(())
    }

    /// Denies a push login from a device. `not_me`: the user reports that they did not
    /// start it: push approvals are suspended and the user's required level raised to 3
    /// for [`NOT_ME_HOURS`], audited as `auth.push.reported`, and the user is told on their
    /// authenticators and by email. Denials in a row count towards push fatigue: after
    /// [`FATIGUE_DENIALS`] push approvals are suspended for [`FATIGUE_MINUTES`].
    pub async fn deny_push(&self, device: &Device, user: &User, login_id: &LoginId, not_me: bool) -> GateResult<()> {
        let login = self.device_login(user, login_id).await?;
        let ev = self.decision_event(user, device, &login, action::AUTH_PUSH_DENIED, Outcome::Failure);
        self.decide(device, &login, &Decision::Deny, &ev).await?;
        let denials = {
            let mut map = self.denials.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() > 100_000 {
                map.clear();
            }
            let n = map.entry(user.id.clone()).or_insert(0);
            *n += 1;
            *n
        };
        if not_me {
            let ev = self
                .decision_event(user, device, &login, action::AUTH_PUSH_REPORTED, Outcome::Failure)
                .field(field::EVENT_REASON, "not_me");
            self.ctx.store.append(&ev).await?;
            let reason = "you reported a push login that was not yours";
            self.respond(user, Response::SuspendPush, NOT_ME_HOURS * 3_600_000, reason, "not_me").await?;
            self.respond(user, Response::RaiseLevel(3), NOT_ME_HOURS * 3_600_000, reason, "not_me").await?;
        } else if denials >= FATIGUE_DENIALS {
            let ev = self
                .decision_event(user, device, &login, action::AUTH_PUSH_FATIGUE, Outcome::Failure)
                .field(field::EVENT_REASON, "push_fatigue")
                .field("sekimori.push.denials", denials);
            self.ctx.store.append(&ev).await?;
            let reason = format!("{denials} push logins denied in a row");
            self.respond(user, Response::SuspendPush, FATIGUE_MINUTES * 60_000, &reason, "push_fatigue").await?;
        }
        if not_me || denials >= FATIGUE_DENIALS {
            self.denials.lock().unwrap_or_else(|p| p.into_inner()).remove(&user.id);
        }
        Ok(())
    }

    /// Applies a response to the user through the override service (audited; the user is
    /// told through their other channels).
    async fn respond(&self, user: &User, response: Response, ms: i64, reason: &str, policy: &str) -> GateResult<()> {
        let req = ResponseRequest {
            response,
            escalation_ms: vec![ms],
            escalation_window_ms: ms,
            reason: reason.to_owned(),
            policy: Some(format!("{policy}:{}", response_name(response))),
            source: format!("push:{policy}"),
            exempt_users: Vec::new(),
            exempt_groups: Vec::new(),
        };
        self.overrides.apply(&user.tenant_id, &user.username, &req).await?;
        Ok(())
    }

    async fn device_login(&self, user: &User, login_id: &LoginId) -> GateResult<LoginRequest> {
        self.ctx
            .store
            .login(login_id)
            .await?
            .filter(|l| l.user_id == user.id)
            .ok_or_else(|| GateError::new(ErrorCode::NotFound, "no such login for this user"))
    }

    fn decision_event(
        &self,
        user: &User,
        device: &Device,
        login: &LoginRequest,
        action: &str,
        outcome: Outcome,
    ) -> sekimori_core::event::NewEvent {
        self.ctx
            .event(&user.tenant_id, "authentication", action, outcome)
            .user(&user.id, &user.username)
            .field(field::LOGIN_ID, login.id.as_str())
            .field(field::DEVICE_ID, device.id.as_str())
            .field_opt(field::APP_ID, login.app_id.clone())
            .field(field::ENVIRONMENT_KEY, login.env_key.as_str())
    }

    async fn decide(
        &self,
        device: &Device,
        login: &LoginRequest,
        decision: &Decision,
        ev: &sekimori_core::event::NewEvent,
    ) -> GateResult<()> {
        let now = self.ctx.clock.now().millis();
        let result = self.ctx.store.decide_login(&login.id, &device.id, decision, Timestamp(now), ev).await?;
        match result {
            Consume::Done(_) => {
                self.ctx.hub.wake(&Topic::Login(login.id.clone()));
                Ok(())
            }
            Consume::AlreadyUsed { at } => {
                Err(GateError::new(ErrorCode::AlreadyUsed, "this login was already decided")
                    .with("decided_at", at.to_rfc3339()))
            }
            Consume::Expired => Err(GateError::new(ErrorCode::Expired, "this login request has expired")),
            Consume::NotFound => Err(GateError::new(ErrorCode::NotFound, "no such login")),
        }
    }
}
