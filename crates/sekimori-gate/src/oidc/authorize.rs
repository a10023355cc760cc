//! The authorization endpoint: request validation (errors that cannot be sent back to a
//! verified redirect URI are shown, the others are redirected), the decision against the
//! browser session (`prompt`, `max_age`, `acr_values`), and the authorization code.

use sekimori_core::ecs::{action, field};
use sekimori_core::event::Outcome;
use sekimori_core::token::sha256_hex;
use sekimori_core::AppId;
use sekimori_core::Timestamp;
use sekimori_store::OidcCode;
use serde::{Deserialize, Serialize};

use super::Oidc;
use super::{level_of_acr_values, OidcError, OidcResult, SCOPES};
use crate::sessions::SessionView;

/// Context of a sealed authorization request waiting for a login.
const REQUEST_CONTEXT: &[u8] = b"sekimori:oidc-authorize:v1";
/// How long a login for an authorization request may take, seconds.
pub const LOGIN_SECONDS: i64 = 1800;

/// The parameters of an authorization request (query or form). Parameters this provider
/// does not know are ignored, as RFC 6749 section 3.1 requires.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthorizeParams {
    /// Must be `code`.
    pub response_type: Option<String>,
    /// The client.
    pub client_id: Option<String>,
    /// One of the client's registered redirect URIs, exactly.
    pub redirect_uri: Option<String>,
    /// Must include `openid`.
    pub scope: Option<String>,
    /// Returned unchanged.
    pub state: Option<String>,
    /// Copied into the id_token.
    pub nonce: Option<String>,
    /// PKCE (RFC 7636).
    pub code_challenge: Option<String>,
    /// Must be `S256` when a challenge is given.
    pub code_challenge_method: Option<String>,
    /// `none`, `login`, `consent`, `select_account`.
    pub prompt: Option<String>,
    /// Seconds since the last authentication that the client accepts.
    pub max_age: Option<String>,
    /// Requested `acr` values (auth levels `1`, `2`, `3`).
    pub acr_values: Option<String>,
    /// Only `query` is supported.
    pub response_mode: Option<String>,
    /// Request objects are not supported.
    pub request: Option<String>,
    /// Request objects by reference are not supported.
    pub request_uri: Option<String>,
}

/// `prompt` as understood here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Prompt {
    /// No user interaction allowed.
    None,
    /// Reauthenticate.
    Login,
    /// Default.
    Default,
}

/// A validated authorization request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidRequest {
    /// The client.
    pub client_id: AppId,
    /// The verified redirect URI.
    pub redirect_uri: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// The client's state.
    pub state: Option<String>,
    /// The client's nonce.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// Auth level required (from `acr_values`).
    pub level: u8,
    /// The login must be at or after this time, ms (`prompt=login`, `max_age`).
    pub not_before: Option<i64>,
    /// `max_age`, seconds.
    pub max_age: Option<i64>,
    /// `prompt`.
    pub prompt: Prompt,
}

/// What the authorization endpoint answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorized {
    /// Redirect the browser to the client (a code or an error).
    Redirect(String),
    /// Send the browser to the login page for `level` (`fresh`: even with a session), then
    /// to the continuation with this sealed request.
    Login {
        /// Level to reach.
        level: u8,
        /// Reauthenticate even when a session exists.
        fresh: bool,
        /// The sealed request.
        request: String,
    },
}

/// A redirect to the client: `pairs` appended to its redirect URI, with `iss` (RFC 9207).
fn client_redirect(redirect_uri: &str, iss: &str, pairs: &[(&str, Option<&str>)]) -> String {
    let Ok(mut u) = url::Url::parse(redirect_uri) else { return redirect_uri.to_owned() };
    {
        let mut q = u.query_pairs_mut();
        for (k, v) in pairs {
            if let Some(v) = v {
                q.append_pair(k, v);
            }
        }
        q.append_pair("iss", iss);
    }
    u.to_string()
}

/// Why an authorization request is refused, and how the user learns of it.
#[derive(Debug)]
pub enum AuthorizeRefusal {
    /// There is no verified redirect URI: show the error to the user.
    Show(OidcError),
    /// Send the browser to the client's verified redirect URI, which carries `error`,
    /// `error_description`, `state` and `iss` (RFC 6749 4.1.2.1, RFC 9207).
    Redirect(String),
}

fn is_b64url(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Oidc {
    /// Validates an authorization request; a refusal says whether to show the error to the
    /// user (no verified redirect URI) or to redirect it to the client.
    pub async fn oidc_authorize_request(&self, p: &AuthorizeParams) -> Result<ValidRequest, AuthorizeRefusal> {
        let client_id =
            p.client_id.as_deref().ok_or(AuthorizeRefusal::Show(OidcError::invalid_request("client_id is missing")))?;
        let (_, client) = self
            .oidc_client(client_id)
            .await
            .map_err(AuthorizeRefusal::Show)?
            .ok_or_else(|| AuthorizeRefusal::Show(OidcError::new("unauthorized_client", "unknown client_id")))?;
        let redirect_uri = p
            .redirect_uri
            .as_deref()
            .ok_or(AuthorizeRefusal::Show(OidcError::invalid_request("redirect_uri is missing")))?;
        if !client.redirect_uris.iter().any(|u| u == redirect_uri) {
            return Err(AuthorizeRefusal::Show(OidcError::invalid_request(
                "redirect_uri is not registered for this client",
            )));
        }
        let iss = self.issuer();
        let fail = |error: &'static str, description: &str| {
            Err(AuthorizeRefusal::Redirect(client_redirect(
                redirect_uri,
                &iss,
                &[("error", Some(error)), ("error_description", Some(description)), ("state", p.state.as_deref())],
            )))
        };
        let too_long = [(&p.state, 2048), (&p.nonce, 512), (&p.scope, 1024), (&p.acr_values, 256), (&p.max_age, 12)]
            .iter()
            .any(|(v, max)| v.as_ref().is_some_and(|v| v.len() > *max));
        if too_long {
            return fail("invalid_request", "a parameter is too long");
        }
        if p.request.is_some() {
            return fail("request_not_supported", "request objects are not supported");
        }
        if p.request_uri.is_some() {
            return fail("request_uri_not_supported", "request_uri is not supported");
        }
        if p.response_type.as_deref() != Some("code") {
            return fail("unsupported_response_type", "only response_type=code is supported");
        }
        if p.response_mode.as_deref().is_some_and(|m| m != "query") {
            return fail("invalid_request", "only response_mode=query is supported");
        }
        let requested: Vec<&str> = p.scope.as_deref().unwrap_or("").split_whitespace().collect();
        if !requested.contains(&"openid") {
            return fail("invalid_scope", "scope must include openid");
        }
        let mut granted: Vec<&str> = Vec::new();
        for s in &SCOPES {
            if requested.contains(s) {
                granted.push(s);
            }
        }
        let code_challenge = match (p.code_challenge.as_deref(), p.code_challenge_method.as_deref()) {
            (None, _) if client.public => return fail("invalid_request", "a public client must use PKCE (S256)"),
            (None, Some(_)) => return fail("invalid_request", "code_challenge_method without code_challenge"),
            (None, None) => None,
            (Some(c), Some("S256")) if c.len() == 43 && is_b64url(c) => Some(c.to_owned()),
            (Some(_), Some("S256")) => return fail("invalid_request", "code_challenge is not a S256 challenge"),
            (Some(_), _) => return fail("invalid_request", "code_challenge_method must be S256"),
        };
        let prompts: Vec<&str> = p.prompt.as_deref().unwrap_or("").split_whitespace().collect();
        if prompts.contains(&"none") && prompts.len() > 1 {
            return fail("invalid_request", "prompt=none cannot be combined with other values");
        }
        if let Some(bad) = prompts.iter().find(|v| !["none", "login", "consent", "select_account"].contains(v)) {
            return fail("invalid_request", &format!("prompt value {bad} is not supported"));
        }
        let prompt = if prompts.contains(&"none") {
            Prompt::None
        } else if prompts.contains(&"login") {
            Prompt::Login
        } else {
            Prompt::Default
        };
        let max_age = match p.max_age.as_deref() {
            None => None,
            Some(m) => match m.parse::<i64>() {
                Ok(v) if v >= 0 => Some(v),
                _ => return fail("invalid_request", "max_age must be a number of seconds"),
            },
        };
        Ok(ValidRequest {
            client_id: client.app_id,
            redirect_uri: redirect_uri.to_owned(),
            scope: granted.join(" "),
            state: p.state.clone(),
            nonce: p.nonce.clone(),
            code_challenge,
            level: p.acr_values.as_deref().and_then(level_of_acr_values).unwrap_or(1),
            not_before: None,
            max_age,
            prompt,
        })
    }

    /// Decides a validated request against the browser's session: a code, an error for the
    /// client, or a login first. `continued`: the browser comes back from that login.
    pub async fn oidc_authorize(
        &self,
        req: &ValidRequest,
        session: Option<&SessionView>,
        continued: bool,
    ) -> OidcResult<Authorized> {
        let now = self.ctx.clock.now().millis();
        let mut req = req.clone();
        let Some((app, _)) = self.oidc_client(&req.client_id).await? else {
            return Err(OidcError::new("unauthorized_client", "the client is no longer registered"));
        };
        let session = session.filter(|s| s.tenant_id == app.tenant_id);
        let stale = |s: &SessionView| {
            req.not_before.is_some_and(|t| s.auth_time_ms < t)
                || (!continued && req.max_age.is_some_and(|m| s.auth_time_ms + m * 1000 < now))
        };
        let fresh_needed = !continued && req.prompt == Prompt::Login;
        // A required-level override on the user raises what this request needs.
        if let Some(s) = session {
            req.level = req.level.max(s.required_level);
        }
        match session {
            Some(s) if !fresh_needed && !stale(s) && s.level >= req.level => {
                return self.issue_code(&req, s).await.map(Authorized::Redirect)
            }
            _ => {}
        }
        let iss = self.issuer();
        if req.prompt == Prompt::None {
            let error = match session {
                Some(s) if !stale(s) => "interaction_required",
                _ => "login_required",
            };
            let to =
                client_redirect(&req.redirect_uri, &iss, &[("error", Some(error)), ("state", req.state.as_deref())]);
            return Ok(Authorized::Redirect(to));
        }
        let fresh = fresh_needed || session.is_some_and(&stale);
        if fresh && req.not_before.is_none() {
            req.not_before = Some(now);
        }
        let level = req.level;
        Ok(Authorized::Login { level, fresh: fresh || req.not_before.is_some(), request: self.seal_request(&req) })
    }

    fn seal_request(&self, req: &ValidRequest) -> String {
        self.ctx.seal_token_for(REQUEST_CONTEXT, req, LOGIN_SECONDS)
    }

    /// A sealed authorization request that has not expired.
    pub fn open_authorize_request(&self, sealed: &str) -> Option<ValidRequest> {
        self.ctx.open_token(REQUEST_CONTEXT, sealed)
    }

    /// Stores a code for `req` and the session, and returns the redirect that carries it.
    async fn issue_code(&self, req: &ValidRequest, s: &SessionView) -> OidcResult<String> {
        let now = self.ctx.clock.now();
        let code = self.ctx.new_secret();
        let record = OidcCode {
            id: sha256_hex(code.as_bytes()),
            tenant_id: s.tenant_id.clone(),
            client_id: req.client_id.clone(),
            user_id: s.user_id.clone(),
            session_id: s.sso_id.clone(),
            redirect_uri: req.redirect_uri.clone(),
            scope: req.scope.clone(),
            nonce: req.nonce.clone(),
            code_challenge: req.code_challenge.clone(),
            auth_time: Timestamp(s.auth_time_ms),
            level: i64::from(s.level),
            amr: s.amr.clone(),
            family_id: self.ctx.new_id(),
            created_at: now,
            expires_at: now.plus_seconds(self.settings.code_ttl_seconds),
            consumed_at: None,
        };
        let ev = self
            .ctx
            .event(&s.tenant_id, "authentication", action::OIDC_CODE_ISSUED, Outcome::Success)
            .user(&s.user_id, &s.username)
            .field(field::APP_ID, req.client_id.as_str())
            .field(field::LEVEL, i64::from(s.level));
        self.ctx.store.insert_oidc_code(&record, &ev).await?;
        let iss = self.issuer();
        Ok(client_redirect(&req.redirect_uri, &iss, &[("code", Some(&code)), ("state", req.state.as_deref())]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_keep_the_registered_query_and_encode_values() {
        let to = client_redirect(
            "https://rp.example/cb?tenant=a",
            "https://id.example",
            &[("code", Some("abc")), ("state", Some("x y&z")), ("nonce", None)],
        );
        assert_eq!(to, "https://rp.example/cb?tenant=a&code=abc&state=x+y%26z&iss=https%3A%2F%2Fid.example");
    }

    #[test]
    fn acr_values_ask_for_the_lowest_known_level() {
        assert_eq!(level_of_acr_values("3"), Some(3));
        assert_eq!(level_of_acr_values("2 3"), Some(2));
        assert_eq!(level_of_acr_values("urn:other 3"), Some(3));
        assert_eq!(level_of_acr_values("urn:other 0 4"), None);
    }
}
