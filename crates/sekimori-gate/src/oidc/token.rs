//! The token endpoint (authorization code with PKCE, refresh with rotation and reuse
//! detection), userinfo, and the id_token hint of RP-initiated logout.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sekimori_core::ecs::{action, field};
use sekimori_core::event::Outcome;
use sekimori_core::token::{ct_eq, sha256_hex};
use sekimori_core::{SessionId, Timestamp, UserId};
use sekimori_store::{Consume, OidcClient, OidcRefreshToken, Rotation};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::jose::{self, Alg};
use super::Oidc;
use super::{acr, OidcError, OidcResult};
use crate::sessions::SessionView;

/// The form of a token request. Unknown parameters are ignored (RFC 6749 section 3.2).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokenRequest {
    /// `authorization_code` or `refresh_token`.
    pub grant_type: Option<String>,
    /// The authorization code.
    pub code: Option<String>,
    /// The redirect URI of the authorization request.
    pub redirect_uri: Option<String>,
    /// PKCE verifier.
    pub code_verifier: Option<String>,
    /// The refresh token.
    pub refresh_token: Option<String>,
    /// A narrower scope for a refresh.
    pub scope: Option<String>,
    /// The client (`client_secret_post` or a public client).
    pub client_id: Option<String>,
    /// `client_secret_post`.
    pub client_secret: Option<String>,
}

/// A successful token response (RFC 6749 section 5.1 plus `id_token`).
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    /// RFC 9068 JWT.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: &'static str,
    /// Seconds.
    pub expires_in: i64,
    /// The id_token.
    pub id_token: String,
    /// The next refresh token.
    pub refresh_token: String,
    /// Granted scopes.
    pub scope: String,
}

/// What an RP-initiated logout request was verified to be.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogoutHint {
    /// Where to send the browser afterwards (registered URI with `state`).
    pub redirect: Option<String>,
    /// The user the verified id_token_hint names.
    pub subject: Option<UserId>,
}

/// Everything a token is about.
struct Grant<'a> {
    client: &'a OidcClient,
    session: &'a SessionView,
    scope: &'a str,
    auth_time: i64,
    level: i64,
    amr: Vec<String>,
    nonce: Option<&'a str>,
    /// The refresh-token family: a revoked family revokes its access tokens too.
    family: &'a str,
}

fn is_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

impl Oidc {
    /// Answers a token request; `basic` is the client's HTTP Basic credentials, if sent.
    pub async fn token(&self, req: &TokenRequest, basic: Option<(String, String)>) -> OidcResult<TokenResponse> {
        let (client_id, secret) = match (basic, &req.client_secret) {
            (Some(_), Some(_)) => return Err(OidcError::invalid_request("use one client authentication method")),
            (Some((id, secret)), None) => {
                if req.client_id.as_deref().is_some_and(|c| c != id) {
                    return Err(OidcError::invalid_client("client_id differs from the authenticated client"));
                }
                (id, Some(secret))
            }
            (None, secret) => {
                let id = req.client_id.clone().ok_or_else(|| OidcError::invalid_client("client_id is missing"))?;
                (id, secret.clone())
            }
        };
        let (app, client) = self.authenticate_client(&client_id, secret.as_deref()).await?;
        match req.grant_type.as_deref() {
            Some("authorization_code") => self.exchange_code(req, &client).await,
            Some("refresh_token") => self.refresh(req, &client).await,
            Some(_) => Err(OidcError::new("unsupported_grant_type", "grant_type is not supported")),
            None => Err(OidcError::invalid_request("grant_type is missing")),
        }
        .inspect_err(|e| tracing::debug!(client = %app.id, error = e.error, "token request refused"))
    }

    async fn exchange_code(&self, req: &TokenRequest, client: &OidcClient) -> OidcResult<TokenResponse> {
        let code = req
            .code
            .as_deref()
            .filter(|c| c.len() <= 128)
            .ok_or_else(|| OidcError::invalid_request("code is missing"))?;
        let id = sha256_hex(code.as_bytes());
        let invalid = || OidcError::invalid_grant("the code is invalid, expired or was issued to another client");
        let record = self.ctx.store.oidc_code(&id).await?.ok_or_else(invalid)?;
        if record.client_id != client.app_id {
            return Err(invalid());
        }
        if req.redirect_uri.as_deref() != Some(record.redirect_uri.as_str()) {
            return Err(OidcError::invalid_grant("redirect_uri differs from the authorization request"));
        }
        match (&record.code_challenge, req.code_verifier.as_deref()) {
            (Some(challenge), Some(v)) if is_verifier(v) => {
                let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes()));
                if !ct_eq(computed.as_bytes(), challenge.as_bytes()) {
                    return Err(OidcError::invalid_grant("code_verifier does not match the code_challenge"));
                }
            }
            (Some(_), Some(_)) => return Err(OidcError::invalid_grant("code_verifier is malformed")),
            (Some(_), None) => return Err(OidcError::invalid_grant("code_verifier is missing")),
            (None, Some(_)) => return Err(OidcError::invalid_grant("no code_challenge was sent for this code")),
            (None, None) => {}
        }
        let session = self
            .sessions
            .sso_session(&record.session_id)
            .await?
            .ok_or_else(|| OidcError::invalid_grant("the login session behind this code has ended"))?;
        let now = self.ctx.clock.now();
        let (refresh_token, refresh) = self.new_refresh(
            &record.family_id,
            client,
            &session,
            &record.scope,
            record.auth_time.millis(),
            record.level,
            &record.amr,
        );
        let ev = self
            .ctx
            .event(&record.tenant_id, "authentication", action::OIDC_TOKEN_ISSUED, Outcome::Success)
            .user(&session.user_id, &session.username)
            .field(field::APP_ID, client.app_id.as_str());
        match self.ctx.store.consume_oidc_code(&id, now, Some(&refresh), &ev).await? {
            Consume::Done(code) => {
                let grant = Grant {
                    client,
                    session: &session,
                    scope: &code.scope,
                    auth_time: code.auth_time.millis(),
                    level: code.level,
                    amr: code.amr.clone(),
                    nonce: code.nonce.as_deref(),
                    family: &code.family_id,
                };
                self.issue_tokens(&grant, refresh_token).await
            }
            Consume::AlreadyUsed { .. } => {
                // A replayed code: whatever the first exchange issued is revoked (RFC 6749 4.1.2).
                let ev = self
                    .ctx
                    .event(&record.tenant_id, "authentication", action::OIDC_CODE_REPLAYED, Outcome::Failure)
                    .user(&session.user_id, &session.username)
                    .field(field::APP_ID, client.app_id.as_str());
                self.ctx.store.revoke_oidc_family(&record.family_id, now, &ev).await?;
                Err(OidcError::invalid_grant("the code was already used; the tokens issued for it are revoked"))
            }
            Consume::Expired | Consume::NotFound => Err(invalid()),
        }
    }

    #[allow(clippy::too_many_arguments)] // reason: the fields of one refresh-token row
    fn new_refresh(
        &self,
        family: &str,
        client: &OidcClient,
        session: &SessionView,
        scope: &str,
        auth_time: i64,
        level: i64,
        amr: &[String],
    ) -> (String, OidcRefreshToken) {
        let now = self.ctx.clock.now();
        let secret = self.ctx.new_secret();
        let record = OidcRefreshToken {
            id: sha256_hex(secret.as_bytes()),
            family_id: family.to_owned(),
            tenant_id: session.tenant_id.clone(),
            client_id: client.app_id.clone(),
            user_id: session.user_id.clone(),
            session_id: session.sso_id.clone(),
            scope: scope.to_owned(),
            auth_time: Timestamp(auth_time),
            level,
            amr: amr.to_vec(),
            created_at: now,
            expires_at: now.plus_seconds(self.settings.refresh_token_ttl_seconds),
            used_at: None,
            revoked_at: None,
        };
        (secret, record)
    }

    async fn refresh(&self, req: &TokenRequest, client: &OidcClient) -> OidcResult<TokenResponse> {
        let token = req
            .refresh_token
            .as_deref()
            .filter(|t| t.len() <= 128)
            .ok_or_else(|| OidcError::invalid_request("refresh_token is missing"))?;
        let id = sha256_hex(token.as_bytes());
        let invalid = || OidcError::invalid_grant("the refresh token is invalid, expired or revoked");
        let old = self.ctx.store.oidc_refresh_token(&id).await?.ok_or_else(invalid)?;
        if old.client_id != client.app_id {
            return Err(invalid());
        }
        let scope = match req.scope.as_deref() {
            None => old.scope.clone(),
            Some(s) => {
                let had: Vec<&str> = old.scope.split_whitespace().collect();
                if !s.split_whitespace().all(|x| had.contains(&x)) {
                    return Err(OidcError::new("invalid_scope", "a refresh cannot widen the scope"));
                }
                s.split_whitespace().collect::<Vec<_>>().join(" ")
            }
        };
        let session = self
            .sessions
            .sso_session(&old.session_id)
            .await?
            .ok_or_else(|| OidcError::invalid_grant("the login session behind this grant has ended"))?;
        let (next_token, next) =
            self.new_refresh(&old.family_id, client, &session, &scope, old.auth_time.millis(), old.level, &old.amr);
        let ev = |action: &str, outcome| {
            self.ctx
                .event(&old.tenant_id, "authentication", action, outcome)
                .user(&session.user_id, &session.username)
                .field(field::APP_ID, client.app_id.as_str())
        };
        let now = self.ctx.clock.now().millis();
        let done = ev(action::OIDC_TOKEN_REFRESHED, Outcome::Success);
        let reused = ev(action::OIDC_REFRESH_REUSED, Outcome::Failure);
        match self.ctx.store.rotate_oidc_refresh(&id, &next, Timestamp(now), &done, &reused).await? {
            Rotation::Done(old) => {
                let grant = Grant {
                    client,
                    session: &session,
                    scope: &scope,
                    auth_time: old.auth_time.millis(),
                    level: old.level,
                    amr: old.amr.clone(),
                    nonce: None,
                    family: &old.family_id,
                };
                self.issue_tokens(&grant, next_token).await
            }
            Rotation::Reused(_) => {
                Err(OidcError::invalid_grant("the refresh token was already used; the grant is revoked"))
            }
            Rotation::Revoked(_) => Err(OidcError::invalid_grant("the grant of this refresh token was revoked")),
            Rotation::Expired | Rotation::NotFound => Err(invalid()),
        }
    }

    async fn issue_tokens(&self, g: &Grant<'_>, refresh_token: String) -> OidcResult<TokenResponse> {
        let ring = self.key_ring().await?;
        let settings = &self.settings;
        // A stored algorithm the provider does not know is a corrupt client row, never
        // silently another algorithm.
        let id_alg = Alg::parse(&g.client.id_token_alg).ok_or_else(|| {
            tracing::error!(client = %g.client.app_id, alg = %g.client.id_token_alg, "stored id_token_alg is unknown");
            OidcError {
                status: 500,
                ..OidcError::new("server_error", "the client's id_token algorithm cannot be read")
            }
        })?;
        let at_alg = settings.access_token_alg;
        let (Some(id_key), Some(at_key)) = (ring.active(id_alg), ring.active(at_alg)) else {
            return Err(OidcError { status: 503, ..OidcError::new("temporarily_unavailable", "no signing key") });
        };
        let now = self.ctx.clock.now();
        let iss = self.issuer();
        let s = g.session;
        let access = json!({
            "iss": iss, "sub": s.user_id, "aud": g.client.app_id, "client_id": g.client.app_id,
            "iat": now.seconds(), "exp": now.seconds() + settings.access_token_ttl_seconds,
            "jti": self.ctx.new_id::<String>(), "scope": g.scope, "sid": s.sso_id, "sekimori_grant": g.family,
            "auth_time": g.auth_time.div_euclid(1000), "acr": acr(u8::try_from(g.level).unwrap_or(1)),
        });
        let unsigned = || OidcError { status: 503, ..OidcError::new("temporarily_unavailable", "signing failed") };
        let access_token = at_key.sign_jwt("at+jwt", &access).ok_or_else(unsigned)?;
        let mut id = json!({
            "iss": iss, "sub": s.user_id, "aud": g.client.app_id, "azp": g.client.app_id,
            "iat": now.seconds(), "exp": now.seconds() + settings.id_token_ttl_seconds,
            "auth_time": g.auth_time.div_euclid(1000), "acr": acr(u8::try_from(g.level).unwrap_or(1)),
            "amr": g.amr, "sid": s.sso_id, "at_hash": jose::half_hash(&access_token),
        });
        if let Some(n) = g.nonce {
            id["nonce"] = json!(n);
        }
        profile_claims(&mut id, s, g.scope);
        Ok(TokenResponse {
            id_token: id_key.sign_jwt("JWT", &id).ok_or_else(unsigned)?,
            access_token,
            token_type: "Bearer",
            expires_in: settings.access_token_ttl_seconds,
            refresh_token,
            scope: g.scope.to_owned(),
        })
    }

    /// The claims about the user that an access token may read (OIDC Core 5.3).
    pub async fn userinfo(&self, bearer: &str) -> OidcResult<Value> {
        let (c, session) = self.live_access_token(bearer).await?;
        let mut out = json!({ "sub": session.user_id });
        profile_claims(&mut out, &session, c["scope"].as_str().unwrap_or(""));
        Ok(out)
    }

    /// The claims of an access token this provider signed that is still good: not expired,
    /// its login session alive, its grant not revoked (a code replay, a refresh-token reuse
    /// or a logout ends its access tokens at once, not when they expire); with the session.
    pub(crate) async fn live_access_token(&self, bearer: &str) -> OidcResult<(Value, SessionView)> {
        let bad = || OidcError::invalid_token("the access token is invalid or expired");
        let parsed = jose::parse(bearer).ok_or_else(bad)?;
        if parsed.header["typ"] != "at+jwt" {
            return Err(bad());
        }
        let ring = self.key_ring().await?;
        let key = parsed.header["kid"].as_str().and_then(|kid| ring.find(kid)).ok_or_else(bad)?;
        if !jose::verify(&parsed, key.jwk()) {
            return Err(bad());
        }
        let c = parsed.claims;
        if c["iss"].as_str() != Some(&self.issuer())
            || c["exp"].as_i64().is_none_or(|e| e <= self.ctx.clock.now().seconds())
        {
            return Err(bad());
        }
        let sid = SessionId::new(c["sid"].as_str().ok_or_else(bad)?);
        let session = self
            .sessions
            .sso_session(&sid)
            .await?
            .filter(|s| c["sub"].as_str() == Some(s.user_id.as_str()))
            .ok_or_else(|| OidcError::invalid_token("the login session behind this token has ended"))?;
        if let Some(family) = c["sekimori_grant"].as_str() {
            if self.ctx.store.oidc_family_revoked(family).await? {
                return Err(OidcError::invalid_token("the grant of this access token was revoked"));
            }
        }
        Ok((c, session))
    }

    /// Verifies the parameters of an RP-initiated logout (OIDC RP-Initiated Logout 1.0):
    /// the id_token_hint must be one this provider signed (expired is fine), and the
    /// post-logout redirect URI one registered for the client.
    pub async fn logout_hint(
        &self,
        id_token_hint: Option<&str>,
        client_id: Option<&str>,
        post_logout_redirect_uri: Option<&str>,
        state: Option<&str>,
    ) -> OidcResult<LogoutHint> {
        let mut subject = None;
        let mut client_id = client_id.map(str::to_owned);
        if let Some(hint) = id_token_hint {
            let bad = || OidcError::invalid_request("id_token_hint is not an id_token of this provider");
            let parsed = jose::parse(hint).ok_or_else(bad)?;
            let ring = self.key_ring().await?;
            let key = parsed.header["kid"].as_str().and_then(|kid| ring.find(kid)).ok_or_else(bad)?;
            if !jose::verify(&parsed, key.jwk()) || parsed.claims["iss"].as_str() != Some(&self.issuer()) {
                return Err(bad());
            }
            let aud = parsed.claims["aud"].as_str().map(str::to_owned);
            if client_id.is_some() && client_id != aud {
                return Err(OidcError::invalid_request("client_id differs from the id_token_hint's audience"));
            }
            client_id = aud;
            subject = parsed.claims["sub"].as_str().map(UserId::from);
        }
        let redirect = match post_logout_redirect_uri {
            None => None,
            Some(uri) => {
                let client = match client_id.as_deref() {
                    Some(id) => self.oidc_client(id).await?.map(|(_, c)| c),
                    None => None,
                };
                let client = client.ok_or_else(|| {
                    OidcError::invalid_request("post_logout_redirect_uri needs id_token_hint or client_id")
                })?;
                if !client.post_logout_redirect_uris.iter().any(|u| u == uri) {
                    return Err(OidcError::invalid_request("post_logout_redirect_uri is not registered"));
                }
                let mut u = url::Url::parse(uri).map_err(|_| OidcError::invalid_request("bad redirect URI"))?;
                if let Some(state) = state {
                    u.query_pairs_mut().append_pair("state", state);
                }
                Some(u.to_string())
            }
        };
        Ok(LogoutHint { redirect, subject })
    }
}

/// Adds the claims `scope` allows: `profile` (preferred_username, name), `email`, `groups`.
fn profile_claims(out: &mut Value, s: &SessionView, scope: &str) {
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    if scopes.contains(&"profile") {
        out["preferred_username"] = json!(s.username);
        if let Some(n) = &s.display_name {
            out["name"] = json!(n);
        }
    }
    if scopes.contains(&"email") {
        if let Some(e) = &s.email {
            out["email"] = json!(e);
        }
    }
    if scopes.contains(&"groups") {
        out["groups"] = json!(s.groups);
    }
}
