//! Second factors: TOTP (RFC 6238) and recovery codes.
//!
//! - **TOTP.** An enrolment makes a 160-bit seed (SHA-1, 6 digits, 30 s, as every
//!   authenticator app supports), sealed with the server's secret key (XChaCha20-Poly1305,
//!   bound to the credential's id and owner) before it is stored, and returns the
//!   `otpauth://` URI once. The credential is unusable until the owner confirms it with a
//!   code. A code is accepted for the current step ±1; the accepted step is stored by an
//!   atomic conditional update, so the same code (or an older one) is refused afterwards,
//!   however many requests race. After [`MAX_TOTP_FAILURES`] wrong codes in a row the
//!   credential is locked for [`TOTP_LOCK_SECONDS`] from the last failure.
//! - **Recovery codes.** Ten codes of 128 random bits, shown once, stored as SHA-256
//!   hashes; each works once (atomic consume); a new set replaces the old one.
//!
//! Relying parties verify either over the REST API with their app key; both count as one
//! factor (auth level 1, `amr` `otp`), to be combined with another by the caller.

use sekimori_core::ecs::{action, field};
use sekimori_core::event::Outcome;
use sekimori_core::totp::{recovery, Algorithm, Totp};
use sekimori_core::{AppId, TenantId, Timestamp, UserId};
use sekimori_core::{AuthLevel, ErrorCode};
use sekimori_store::{App, TotpCredential, User};
use serde::Serialize;

use std::sync::Arc;

use crate::access::Access;
use crate::{Context, GateError, GateResult};

/// Wrong codes in a row after which a TOTP credential is locked.
pub const MAX_TOTP_FAILURES: i64 = 10;
/// How long a locked credential stays locked after its last wrong code, seconds.
pub const TOTP_LOCK_SECONDS: i64 = 600;
/// Steps either side of the current one that are accepted (clock drift of ±30 s).
pub const TOTP_WINDOW: i64 = 1;

/// A new TOTP credential, as shown to its owner once.
#[derive(Debug, Clone, Serialize)]
pub struct TotpEnrollment {
    /// Credential id (confirm and delete by it).
    pub id: String,
    /// What the authenticator app scans.
    pub otpauth_uri: String,
    /// The seed in base32, for typing in by hand.
    pub secret: String,
    /// `SHA1`.
    pub algorithm: &'static str,
    /// 6.
    pub digits: u32,
    /// 30.
    pub period: i64,
}

/// A TOTP credential as listed (never its seed).
#[derive(Debug, Clone, Serialize)]
pub struct TotpView {
    /// Id.
    pub id: String,
    /// `SHA1`, `SHA256` or `SHA512`.
    pub algorithm: String,
    /// Code length.
    pub digits: i64,
    /// Step, seconds.
    pub period: i64,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// Confirmation time (RFC 3339), absent until confirmed.
    pub confirmed_at: Option<String>,
    /// Wrong codes since the last right one.
    pub failures: i64,
    /// Whether it is locked now.
    pub locked: bool,
}

/// A user's second factors.
#[derive(Debug, Clone, Serialize)]
pub struct FactorsView {
    /// TOTP credentials, oldest first.
    pub totp: Vec<TotpView>,
    /// Unused recovery codes.
    pub recovery_codes_left: i64,
    /// Whether the user has a password.
    pub password: bool,
}

/// A verified factor.
#[derive(Debug, Clone, Serialize)]
pub struct FactorVerified {
    /// The user's id.
    pub user_id: UserId,
    /// Username.
    pub username: String,
    /// `otp` (RFC 8176 authentication method reference).
    pub amr: Vec<&'static str>,
    /// What this one factor proves on its own: level 1.
    pub level: u8,
    /// Which factor: `totp` or `recovery_code`.
    pub method: &'static str,
    /// Unused recovery codes left (after a recovery code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_codes_left: Option<i64>,
    /// After a password: the risk verdict's effect (docs/risk.md). `step_up` means the
    /// relying party must ask for a factor of another kind (TOTP, passkey, push) before
    /// the login completes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<RiskSummary>,
    /// The judgement itself, for the login path that completes the attempt.
    #[serde(skip)]
    pub judged: Option<crate::risk::Judged>,
}

/// What a relying party learns of a risk verdict: never the reasons.
#[derive(Debug, Clone, Serialize)]
pub struct RiskSummary {
    /// `OK` or `REVIEW` (an NG is refused, not reported).
    pub decision: sekimori_risk::Decision,
    /// Another factor is needed.
    pub step_up: bool,
    /// The attempt id (`sekimori risk explain <id>`).
    pub attempt: i64,
}

fn context(c: &TotpCredential) -> Vec<u8> {
    format!("totp:{}:{}", c.id, c.user_id).into_bytes()
}

/// Second factors: TOTP (RFC 6238) and recovery codes.
pub struct Factors {
    ctx: Arc<Context>,
    access: Arc<Access>,
    /// Whether passkeys are on (a passkey then counts as a second factor).
    passkeys_on: bool,
}

impl Factors {
    pub(crate) fn new(ctx: Arc<Context>, access: Arc<Access>, passkeys_on: bool) -> Self {
        Factors { ctx, access, passkeys_on }
    }
}

impl Factors {
    /// Starts a TOTP enrolment for `username`: a fresh seed, stored sealed and unconfirmed.
    /// The tenant's name is the issuer the authenticator app shows; `actor` is audited.
    pub async fn enrol_totp(&self, tenant_id: &TenantId, username: &str, actor: &str) -> GateResult<TotpEnrollment> {
        let user = self.ctx.find_user(tenant_id, username).await?;
        let issuer = self.ctx.store.tenant(tenant_id).await?.map_or_else(|| "Sekimori".to_owned(), |t| t.name);
        let totp = Totp::generate(self.ctx.rng.as_ref());
        let now = self.ctx.clock.now();
        let mut cred = TotpCredential {
            id: self.ctx.new_id(),
            tenant_id: user.tenant_id.clone(),
            user_id: user.id.clone(),
            secret_sealed: Vec::new(),
            algorithm: totp.algorithm.as_str().to_owned(),
            digits: i64::from(totp.digits),
            period: totp.period,
            created_at: now,
            confirmed_at: None,
            last_step: 0,
            failures: 0,
            last_failure_at: None,
        };
        cred.secret_sealed = self.ctx.keys.seal(self.ctx.rng.as_ref(), &context(&cred), &totp.secret);
        let ev = self
            .ctx
            .event(tenant_id, "iam", action::CREDENTIAL_TOTP_ENROLLED, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::CREDENTIAL_ID, cred.id.as_str())
            .field(field::ACTOR, actor);
        self.ctx.store.insert_totp(&cred, &ev).await?;
        Ok(TotpEnrollment {
            otpauth_uri: totp.otpauth_uri(&issuer, &user.username),
            secret: sekimori_core::totp::base32(&totp.secret),
            id: cred.id,
            algorithm: totp.algorithm.as_str(),
            digits: totp.digits,
            period: totp.period,
        })
    }

    /// Confirms credential `id` of `username` with a code from the app.
    pub async fn confirm_totp(
        &self,
        tenant_id: &TenantId,
        username: &str,
        id: &str,
        code: &str,
    ) -> GateResult<TotpView> {
        let user = self.ctx.find_user(tenant_id, username).await?;
        let cred = match self.ctx.store.totp_credential(id).await? {
            Some(c) if c.user_id == user.id => c,
            _ => return Err(GateError::new(ErrorCode::NotFound, format!("{username} has no TOTP credential {id}"))),
        };
        if cred.confirmed_at.is_some() {
            return Err(GateError::new(ErrorCode::Conflict, "this credential is already confirmed"));
        }
        self.check_lock(&cred)?;
        let step = self.matching_step(&cred, code)?;
        self.record_code(&user, &cred, step, true).await?;
        let cred = self.ctx.store.totp_credential(id).await?.unwrap_or(cred);
        Ok(self.totp_view(&cred))
    }

    /// Verifies a TOTP code of `username` for a relying party.
    pub async fn verify_totp(&self, app: &App, username: &str, code: &str) -> GateResult<FactorVerified> {
        self.verify_totp_in(&app.tenant_id, username, code).await
    }

    /// Verifies a TOTP code of `username` in tenant `tenant_id` (the hosted login).
    pub async fn verify_totp_in(&self, tenant_id: &TenantId, username: &str, code: &str) -> GateResult<FactorVerified> {
        let user = self.usable_user(tenant_id, username).await?;
        let creds: Vec<TotpCredential> = self
            .ctx
            .store
            .user_totp_credentials(&user.id)
            .await?
            .into_iter()
            .filter(|c| c.confirmed_at.is_some())
            .collect();
        // With several credentials, the first whose code matches is used; a wrong code
        // counts against the first (the one a user is asked for).
        let Some(first) = creds.first() else {
            return Err(GateError::new(ErrorCode::NotEnrolled, format!("{username} has no confirmed TOTP credential")));
        };
        for c in &creds {
            self.check_lock(c)?;
        }
        let mut matched = (first, None);
        for c in &creds {
            if let Some(step) = self.matching_step(c, code)? {
                matched = (c, Some(step));
                break;
            }
        }
        self.record_code(&user, matched.0, matched.1, false).await?;
        Ok(FactorVerified {
            user_id: user.id,
            username: user.username,
            amr: vec!["otp"],
            level: AuthLevel::One.as_u8(),
            method: "totp",
            recovery_codes_left: None,
            risk: None,
            judged: None,
        })
    }

    /// Deletes credential `id` of `username`.
    pub async fn delete_totp(&self, tenant_id: &TenantId, username: &str, id: &str, actor: &str) -> GateResult<()> {
        let user = self.ctx.find_user(tenant_id, username).await?;
        let ev = self
            .ctx
            .event(tenant_id, "iam", action::CREDENTIAL_TOTP_DELETED, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::CREDENTIAL_ID, id)
            .field(field::ACTOR, actor);
        if !self.ctx.store.delete_totp(&user.id, id, &ev).await? {
            return Err(GateError::new(ErrorCode::NotFound, format!("{username} has no TOTP credential {id}")));
        }
        self.access.end_sessions_after(&user, action::CREDENTIAL_TOTP_DELETED, actor).await?;
        Ok(())
    }

    /// A fresh set of recovery codes for `username`, replacing any earlier set; shown once.
    pub async fn generate_recovery_codes(
        &self,
        tenant_id: &TenantId,
        username: &str,
        actor: &str,
    ) -> GateResult<Vec<String>> {
        let user = self.ctx.find_user(tenant_id, username).await?;
        let codes: Vec<String> =
            (0..recovery::CODES_PER_SET).map(|_| recovery::generate(self.ctx.rng.as_ref())).collect();
        let hashes: Vec<Vec<u8>> =
            codes.iter().filter_map(|c| recovery::canonical(c)).map(|c| recovery::hash(&c)).collect();
        let ev = self
            .ctx
            .event(tenant_id, "iam", action::CREDENTIAL_RECOVERY_CODES_GENERATED, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::ACTOR, actor);
        self.ctx.store.replace_recovery_codes(tenant_id, &user.id, &hashes, self.ctx.clock.now(), &ev).await?;
        Ok(codes)
    }

    /// Verifies (and uses up) a recovery code of `username` for a relying party.
    pub async fn use_recovery_code(&self, app: &App, username: &str, code: &str) -> GateResult<FactorVerified> {
        self.use_recovery_code_in(&app.tenant_id, username, code, Some(&app.id)).await
    }

    /// Uses up a recovery code of `username` in tenant `tenant_id`; `app_id` is audited.
    pub async fn use_recovery_code_in(
        &self,
        tenant_id: &TenantId,
        username: &str,
        code: &str,
        app_id: Option<&AppId>,
    ) -> GateResult<FactorVerified> {
        let user = self.usable_user(tenant_id, username).await?;
        if self.ctx.store.recovery_codes_left(&user.id).await? == 0 {
            return Err(GateError::new(ErrorCode::NotEnrolled, format!("{username} has no recovery codes left")));
        }
        let ok = match recovery::canonical(code) {
            Some(c) => {
                let ev = self
                    .ctx
                    .event(&user.tenant_id, "authentication", action::AUTH_RECOVERY_CODE_USED, Outcome::Success)
                    .user(&user.id, &user.username)
                    .field_opt(field::APP_ID, app_id.map(AppId::to_string));
                self.ctx.store.consume_recovery_code(&user.id, &recovery::hash(&c), self.ctx.clock.now(), &ev).await?
            }
            None => false,
        };
        if !ok {
            let ev = self
                .ctx
                .event(&user.tenant_id, "authentication", action::AUTH_RECOVERY_CODE_FAILED, Outcome::Failure)
                .user(&user.id, &user.username)
                .field_opt(field::APP_ID, app_id.map(AppId::to_string));
            self.ctx.store.append(&ev).await?;
            return Err(GateError::new(ErrorCode::InvalidCode, "the recovery code is wrong or was used before"));
        }
        Ok(FactorVerified {
            user_id: user.id.clone(),
            username: user.username.clone(),
            amr: vec!["otp"],
            level: AuthLevel::One.as_u8(),
            method: "recovery_code",
            recovery_codes_left: Some(self.ctx.store.recovery_codes_left(&user.id).await?),
            risk: None,
            judged: None,
        })
    }

    /// A user's second factors (no secrets).
    pub async fn factors(&self, tenant_id: &TenantId, username: &str) -> GateResult<FactorsView> {
        let user = self.ctx.find_user(tenant_id, username).await?;
        let totp = self.ctx.store.user_totp_credentials(&user.id).await?.iter().map(|c| self.totp_view(c)).collect();
        Ok(FactorsView {
            totp,
            recovery_codes_left: self.ctx.store.recovery_codes_left(&user.id).await?,
            password: self.ctx.store.password(&user.id).await?.is_some(),
        })
    }

    /// Whether the user has a second factor the hosted login can ask for (a confirmed
    /// TOTP credential, unused recovery codes, or a passkey when passkeys are on).
    pub async fn has_second_factor(&self, user: &User) -> GateResult<bool> {
        if has_code_factor(&self.ctx, user).await? {
            return Ok(true);
        }
        Ok(self.passkeys_on && !self.ctx.store.user_passkeys(&user.id).await?.is_empty())
    }

    /// Whether the user has an enrolled authenticator (a push approval can be a second
    /// factor of another kind after a password judged REVIEW).
    pub async fn has_authenticator(&self, user: &User) -> GateResult<bool> {
        Ok(!self.ctx.store.list_devices(&user.id).await?.is_empty())
    }

    async fn usable_user(&self, tenant_id: &TenantId, username: &str) -> GateResult<User> {
        let user = self.ctx.find_user(tenant_id, username).await?;
        self.access.check_login_allowed(&user, "factor").await?;
        Ok(user)
    }

    fn totp_of(&self, c: &TotpCredential) -> GateResult<Totp> {
        let corrupt = || GateError::new(ErrorCode::Internal, "a stored TOTP credential cannot be read");
        let secret = self.ctx.keys.open(&context(c), &c.secret_sealed).ok_or_else(|| {
            tracing::error!(credential = %c.id, "TOTP seed does not open under this server's secret key");
            corrupt()
        })?;
        Ok(Totp {
            secret,
            algorithm: Algorithm::parse(&c.algorithm).ok_or_else(corrupt)?,
            digits: u32::try_from(c.digits).map_err(|_| corrupt())?,
            period: c.period,
        })
    }

    fn matching_step(&self, c: &TotpCredential, code: &str) -> GateResult<Option<i64>> {
        let totp = self.totp_of(c)?;
        Ok(totp.matching_step(code, self.ctx.clock.now().seconds(), TOTP_WINDOW))
    }

    fn lock_remaining(&self, c: &TotpCredential) -> Option<i64> {
        let last = c.last_failure_at?;
        let until = last.plus_seconds(TOTP_LOCK_SECONDS);
        let now = self.ctx.clock.now();
        (c.failures >= MAX_TOTP_FAILURES && now < until).then(|| until.millis_since(now).div_euclid(1000).max(1))
    }

    fn check_lock(&self, c: &TotpCredential) -> GateResult<()> {
        match self.lock_remaining(c) {
            Some(secs) => Err(GateError::new(
                ErrorCode::Locked,
                format!("{MAX_TOTP_FAILURES} wrong codes in a row; try again in {secs} s"),
            )
            .with("retry_after_seconds", secs)),
            None => Ok(()),
        }
    }

    /// Records the outcome of a code checked against `c`: the step it matched, accepted
    /// atomically and once, or a failure (`None`).
    async fn record_code(&self, user: &User, c: &TotpCredential, step: Option<i64>, confirm: bool) -> GateResult<()> {
        let (action, fail_action) = if confirm {
            (action::CREDENTIAL_TOTP_CONFIRMED, action::CREDENTIAL_TOTP_CONFIRM_FAILED)
        } else {
            (action::AUTH_TOTP_VERIFIED, action::AUTH_TOTP_FAILED)
        };
        match step {
            Some(step) => {
                let ev = self
                    .ctx
                    .event(&user.tenant_id, "authentication", action, Outcome::Success)
                    .user(&user.id, &user.username)
                    .field(field::CREDENTIAL_ID, c.id.as_str());
                if self.ctx.store.accept_totp_step(&c.id, step, self.ctx.clock.now(), confirm, &ev).await? {
                    return Ok(());
                }
                let ev = self
                    .ctx
                    .event(&user.tenant_id, "authentication", action::AUTH_TOTP_REPLAYED, Outcome::Failure)
                    .user(&user.id, &user.username)
                    .field(field::CREDENTIAL_ID, c.id.as_str());
                self.ctx.store.append(&ev).await?;
                Err(GateError::new(
                    ErrorCode::AlreadyUsed,
                    "this code (or a later one) was already used; wait for the next",
                ))
            }
            None => {
                let ev = self
                    .ctx
                    .event(&user.tenant_id, "authentication", fail_action, Outcome::Failure)
                    .user(&user.id, &user.username)
                    .field(field::CREDENTIAL_ID, c.id.as_str());
                let failures = self.ctx.store.record_totp_failure(&c.id, self.ctx.clock.now(), &ev).await?;
                if failures == MAX_TOTP_FAILURES {
                    let ev = self
                        .ctx
                        .event(&user.tenant_id, "authentication", action::AUTH_TOTP_LOCKED, Outcome::Failure)
                        .user(&user.id, &user.username)
                        .field(field::CREDENTIAL_ID, c.id.as_str());
                    self.ctx.store.append(&ev).await?;
                }
                Err(GateError::new(ErrorCode::InvalidCode, "the code is wrong"))
            }
        }
    }

    fn totp_view(&self, c: &TotpCredential) -> TotpView {
        let _rfc = |ms: i64| sekimori_core::Timestamp(ms).to_rfc3339();
        TotpView {
            id: c.id.clone(),
            algorithm: c.algorithm.clone(),
            digits: c.digits,
            period: c.period,
            created_at: c.created_at.to_rfc3339(),
            confirmed_at: c.confirmed_at.map(Timestamp::to_rfc3339),
            failures: c.failures,
            locked: self.lock_remaining(c).is_some(),
        }
    }
}

/// Whether the user can give a code on the hosted page's factor form: a confirmed TOTP
/// credential or a recovery code left.
pub(crate) async fn has_code_factor(ctx: &Context, user: &User) -> GateResult<bool> {
    let totp = ctx.store.user_totp_credentials(&user.id).await?.iter().any(|c| c.confirmed_at.is_some());
    Ok(totp || ctx.store.recovery_codes_left(&user.id).await? > 0)
}
