//! One-time login assertions: compact JWS (RFC 7515) JWTs signed with the server's
//! Ed25519 key (`alg: EdDSA`, RFC 8037). A relying party verifies one with a single
//! REST call, which consumes its `jti`: a second verification fails.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::Signature;
use sekimori_core::ecs::{action, field};
use sekimori_core::event::Outcome;
use sekimori_core::ErrorCode;
use sekimori_core::{TenantId, UserId};
use sekimori_store::{App, AssertionRecord, Consume};
use serde::{Deserialize, Serialize};
use serde_json::json;

use std::sync::Arc;

use crate::push::ClientInfo;
use crate::risk::{LoginAttempt, Risk};
use crate::{Context, GateError, GateResult};

/// The claims of an assertion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer: the server's public URL.
    pub iss: String,
    /// Subject: the user id.
    pub sub: String,
    /// Audience: the app id that started the login, or `sekimori` for hosted QR logins.
    pub aud: String,
    /// The username.
    pub preferred_username: String,
    /// The auth level reached, as OIDC `acr` (`"1"`, `"2"`, `"3"`).
    pub acr: String,
    /// Methods used.
    pub amr: Vec<String>,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Single-use id.
    pub jti: String,
    /// The login it came from.
    pub sid: String,
}

/// What a successful verification tells the relying party.
#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    /// User id.
    pub user_id: UserId,
    /// Username.
    pub username: String,
    /// Auth level.
    pub level: i64,
    /// Methods used.
    pub amr: Vec<String>,
    /// The login id.
    pub login_id: String,
    /// When the user logged in (RFC 3339).
    pub auth_time: String,
}

/// Audience of assertions from hosted logins that no app started.
pub const HOSTED_AUDIENCE: &str = "sekimori";

/// Issues, signs and verifies the one-time login assertions.
pub struct Assertions {
    ctx: Arc<Context>,
    risk: Arc<Risk>,
    ttl_seconds: i64,
}

impl Assertions {
    pub(crate) fn new(ctx: Arc<Context>, risk: Arc<Risk>, ttl_seconds: i64) -> Self {
        Assertions { ctx, risk, ttl_seconds }
    }

    /// The JWT for a stored assertion. Ed25519 signatures are deterministic, so the same
    /// record always gives the same token.
    pub fn assertion_jwt(&self, a: &AssertionRecord, audience: &str) -> String {
        let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": self.ctx.keys.key_id()});
        let claims = Claims {
            iss: self.ctx.public_url.to_string(),
            sub: a.user_id.to_string(),
            aud: audience.to_owned(),
            preferred_username: a.username.clone(),
            acr: a.level.to_string(),
            amr: a.amr.split_whitespace().map(str::to_owned).collect(),
            iat: a.issued_at.seconds(),
            exp: a.expires_at.seconds(),
            jti: a.jti.clone(),
            sid: a.login_id.clone(),
        };
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let c = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap_or_default());
        let signing_input = format!("{h}.{c}");
        let sig = self.ctx.keys.sign_b64(signing_input.as_bytes());
        format!("{signing_input}.{sig}")
    }

    /// Checks an assertion's signature and claims and consumes it for `app`.
    ///
    /// A QR login's assertion (the JS snippet's page collected it; a push was judged when it
    /// started) is judged here first, with the end user's `client` as the relying party saw
    /// it: an NG or a REVIEW is refused and the assertion stays unused. The scan proves the
    /// phone, not that the page showing the code is the user's, so no factor on the phone
    /// can satisfy a REVIEW of the page.
    pub async fn verify_assertion(&self, app: &App, token: &str, client: &ClientInfo) -> GateResult<Verified> {
        let claims = self.decode_assertion(token)?;
        let now = self.ctx.clock.now();
        if claims.exp <= now.seconds() {
            return Err(GateError::new(ErrorCode::Expired, "the assertion has expired"));
        }
        if app.id != claims.aud && claims.aud != HOSTED_AUDIENCE {
            return Err(GateError::new(ErrorCode::Forbidden, "the assertion was issued to another app"));
        }
        let record = self.ctx.store.assertion(&claims.jti).await?;
        let Some(record) = record.filter(|r| r.tenant_id == app.tenant_id) else {
            return Err(GateError::new(ErrorCode::InvalidRequest, "unknown assertion"));
        };
        let mut judged = None;
        if record.consumed_at.is_none() && record.amr.split_whitespace().any(|m| m == "qr") {
            let user = self.ctx.user_of(&record.user_id, "assertion", ErrorCode::Unauthorized).await?;
            let verdict = self.risk.judge(&LoginAttempt::of_client(&user, "qr", client)).await?;
            if !verdict.ok() {
                return Err(crate::risk::refused());
            }
            judged = Some((user, verdict));
        }
        let ev = self
            .ctx
            .event(&app.tenant_id, "authentication", action::AUTH_ASSERTION_VERIFIED, Outcome::Success)
            .user(&record.user_id, &record.username)
            .field(field::APP_ID, app.id.as_str())
            .field(field::LOGIN_ID, record.login_id.as_str());
        match self.ctx.store.consume_assertion(&claims.jti, &app.id, now, &ev).await? {
            Consume::Done(a) => {
                // The login completes here: its environment is known from now on.
                if let Some((user, verdict)) = &judged {
                    self.risk.completed(user, verdict).await?;
                }
                Ok(Verified {
                    user_id: a.user_id,
                    username: a.username,
                    level: a.level,
                    amr: a.amr.split_whitespace().map(str::to_owned).collect(),
                    login_id: a.login_id,
                    auth_time: a.issued_at.to_rfc3339(),
                })
            }
            Consume::AlreadyUsed { at } => {
                let ev = self
                    .ctx
                    .event(
                        &app.tenant_id,
                        "authentication",
                        action::AUTH_ASSERTION_REJECTED_ALREADY_USED,
                        Outcome::Failure,
                    )
                    .user(&record.user_id, &record.username)
                    .field(field::APP_ID, app.id.as_str());
                self.ctx.store.append(&ev).await?;
                Err(GateError::new(ErrorCode::AlreadyUsed, "this assertion was already verified")
                    .with("first_used_at", at.to_rfc3339()))
            }
            Consume::Expired => Err(GateError::new(ErrorCode::Expired, "the assertion has expired")),
            Consume::NotFound => Err(GateError::new(ErrorCode::InvalidRequest, "unknown assertion")),
        }
    }

    /// Parses a compact JWT and checks its signature; claims are not checked here.
    pub fn decode_assertion(&self, token: &str) -> GateResult<Claims> {
        let bad = || GateError::new(ErrorCode::InvalidRequest, "the assertion is not a Sekimori JWT");
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).map_err(|_| bad())?).map_err(|_| bad())?;
        if header.get("alg").and_then(|v| v.as_str()) != Some("EdDSA")
            || header.get("kid").and_then(|v| v.as_str()) != Some(self.ctx.keys.key_id())
        {
            return Err(bad());
        }
        let sig: [u8; 64] = URL_SAFE_NO_PAD.decode(s).ok().and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
        let input = format!("{h}.{c}");
        self.ctx
            .keys
            .verifying_key()
            .verify_strict(input.as_bytes(), &Signature::from_bytes(&sig))
            .map_err(|_| GateError::new(ErrorCode::InvalidSignature, "the assertion's signature does not verify"))?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(c).map_err(|_| bad())?).map_err(|_| bad())
    }

    /// The server's public key as a JWK Set (RFC 7517, OKP keys per RFC 8037).
    pub fn jwks(&self) -> serde_json::Value {
        json!({"keys": [{
            "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA",
            "kid": self.ctx.keys.key_id(), "x": self.ctx.keys.public_key_b64(),
        }]})
    }

    pub(crate) fn new_assertion(
        &self,
        tenant_id: &TenantId,
        user_id: &UserId,
        username: &str,
        login_id: &str,
        level: sekimori_core::AuthLevel,
        amr: &[&str],
    ) -> AssertionRecord {
        let now = self.ctx.clock.now();
        AssertionRecord {
            jti: self.ctx.new_secret(),
            tenant_id: tenant_id.to_owned(),
            user_id: user_id.to_owned(),
            username: username.to_owned(),
            login_id: login_id.to_owned(),
            level: i64::from(level.as_u8()),
            amr: amr.join(" "),
            issued_at: now,
            expires_at: now.plus_seconds(self.ttl_seconds),
            consumed_at: None,
            consumed_by: None,
        }
    }
}
