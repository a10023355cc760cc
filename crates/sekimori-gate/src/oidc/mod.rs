//! The OpenID Connect provider (docs/protocol.md section 16).
//!
//! Clients are apps with redirect URIs; a confidential client authenticates with its app
//! key as `client_secret`, a public one with PKCE S256 alone. The provider signs id_tokens
//! with RS256 (ES256 per client) and access tokens (RFC 9068 JWTs) with the configured
//! algorithm; keys live in the store (private part sealed), rotate on a schedule or on
//! demand, and stay in the JWKS until every token they signed has expired. Codes and
//! refresh tokens are random 256-bit secrets kept only as hashes; a code is consumed once,
//! a refresh token rotates at each use and a replayed one revokes its whole family.

mod authorize;
mod clients;
mod introspect;
pub mod jose;
pub(crate) mod keyring;
mod token;

use serde::Deserialize;
use serde_json::{json, Value};

pub use authorize::{AuthorizeParams, AuthorizeRefusal, Authorized, Prompt, ValidRequest};
pub use clients::{ClientRegistration, ClientUris, NewOidcClient};
pub use introspect::IntrospectionRequest;
pub use keyring::KeyRing;
pub use token::{LogoutHint, TokenRequest, TokenResponse};

use std::sync::Arc;

use crate::apps::Apps;
use crate::sessions::Sessions;
use crate::{Context, GateError};

/// The `[gate.oidc]` configuration section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcSettings {
    /// Lifetime of an authorization code, seconds.
    pub code_ttl_seconds: i64,
    /// Lifetime of an id_token, seconds.
    pub id_token_ttl_seconds: i64,
    /// Lifetime of an access token, seconds.
    pub access_token_ttl_seconds: i64,
    /// Lifetime of a refresh token, seconds (each refresh issues a new one; none outlives
    /// the browser session it came from).
    pub refresh_token_ttl_seconds: i64,
    /// Algorithm of access tokens: `ES256` or `RS256`.
    pub access_token_alg: jose::Alg,
    /// A signing key older than this many days is replaced (0: only on demand).
    pub key_rotation_days: i64,
    /// Size of new RSA keys, bits (2048 to 4096).
    pub rsa_key_bits: usize,
}

impl Default for OidcSettings {
    fn default() -> Self {
        OidcSettings {
            code_ttl_seconds: 60,
            id_token_ttl_seconds: 300,
            access_token_ttl_seconds: 300,
            refresh_token_ttl_seconds: 1800,
            access_token_alg: jose::Alg::Es256,
            key_rotation_days: 90,
            rsa_key_bits: 2048,
        }
    }
}

impl OidcSettings {
    /// Checks the values: `(key, reason)` of the first that is wrong.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let ranges = [
            ("gate.oidc.code_ttl_seconds", self.code_ttl_seconds, 10, 600),
            ("gate.oidc.id_token_ttl_seconds", self.id_token_ttl_seconds, 30, 86_400),
            ("gate.oidc.access_token_ttl_seconds", self.access_token_ttl_seconds, 30, 86_400),
            ("gate.oidc.refresh_token_ttl_seconds", self.refresh_token_ttl_seconds, 60, 90 * 86_400),
            ("gate.oidc.key_rotation_days", self.key_rotation_days, 0, 3650),
        ];
        for (key, v, lo, hi) in ranges {
            if !(lo..=hi).contains(&v) {
                return Err((key, format!("must be between {lo} and {hi}, got {v}")));
            }
        }
        if !(2048..=4096).contains(&self.rsa_key_bits) {
            return Err((
                "gate.oidc.rsa_key_bits",
                format!("must be between 2048 and 4096, got {}", self.rsa_key_bits),
            ));
        }
        Ok(())
    }

    /// How long a retired key stays published: the longest a token it signed can live,
    /// plus five minutes of clock skew, ms.
    pub fn key_keep_ms(&self) -> i64 {
        (self.id_token_ttl_seconds.max(self.access_token_ttl_seconds) + 300) * 1000
    }
}

/// An OAuth 2.0 error (RFC 6749 section 5.2 and OIDC Core section 3.1.2.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcError {
    /// The `error` code.
    pub error: &'static str,
    /// `error_description`.
    pub description: String,
    /// HTTP status at the token and userinfo endpoints.
    pub status: u16,
}

impl OidcError {
    /// An error with status 400.
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        OidcError { error, description: description.into(), status: 400 }
    }

    /// `invalid_request`.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", description)
    }

    /// `invalid_grant`.
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", description)
    }

    /// `invalid_client` (401).
    pub fn invalid_client(description: impl Into<String>) -> Self {
        OidcError { status: 401, ..Self::new("invalid_client", description) }
    }

    /// `invalid_token` (401, userinfo).
    pub fn invalid_token(description: impl Into<String>) -> Self {
        OidcError { status: 401, ..Self::new("invalid_token", description) }
    }
}

impl From<GateError> for OidcError {
    fn from(e: GateError) -> Self {
        let status = e.code.http_status();
        if status >= 500 {
            OidcError { status, ..Self::new("server_error", e.detail) }
        } else {
            Self::invalid_request(e.detail)
        }
    }
}

impl From<sekimori_store::StoreError> for OidcError {
    fn from(e: sekimori_store::StoreError) -> Self {
        GateError::from(e).into()
    }
}

/// Result of an OIDC operation.
pub type OidcResult<T> = Result<T, OidcError>;

/// The `acr` value of an auth level.
pub fn acr(level: u8) -> String {
    level.to_string()
}

/// The auth level an `acr_values` request asks for: the lowest level among the values this
/// provider knows (any of them satisfies the client); `None` when it names none.
pub fn level_of_acr_values(values: &str) -> Option<u8> {
    values.split_whitespace().filter_map(|v| v.parse::<u8>().ok().filter(|l| (1..=3).contains(l))).min()
}

/// Scopes the provider knows; others are ignored (RFC 6749 section 3.3).
pub const SCOPES: [&str; 4] = ["openid", "profile", "email", "groups"];

/// The OpenID Connect provider: discovery, authorization, tokens, userinfo,
/// introspection, client registration and its rotating signing keys.
pub struct Oidc {
    ctx: Arc<Context>,
    apps: Arc<Apps>,
    sessions: Arc<Sessions>,
    key_cache: keyring::KeyCache,
    settings: OidcSettings,
}

impl Oidc {
    pub(crate) fn new(ctx: Arc<Context>, apps: Arc<Apps>, sessions: Arc<Sessions>, settings: OidcSettings) -> Self {
        Oidc { ctx, apps, sessions, key_cache: keyring::KeyCache::default(), settings }
    }

    /// The issuer identifier: the public URL without a trailing slash.
    pub fn issuer(&self) -> String {
        self.ctx.public_url.to_string()
    }

    /// The discovery document (OpenID Connect Discovery 1.0).
    pub fn oidc_discovery(&self) -> Value {
        let iss = self.issuer();
        json!({
            "issuer": iss,
            "authorization_endpoint": format!("{iss}/oidc/authorize"),
            "token_endpoint": format!("{iss}/oidc/token"),
            "userinfo_endpoint": format!("{iss}/oidc/userinfo"),
            "introspection_endpoint": format!("{iss}/oidc/introspect"),
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "jwks_uri": format!("{iss}/oidc/jwks"),
            "end_session_endpoint": format!("{iss}/oidc/logout"),
            "scopes_supported": SCOPES,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "userinfo_signing_alg_values_supported": ["none"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": [
                "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid", "at_hash",
                "preferred_username", "name", "email", "groups"
            ],
            "acr_values_supported": ["1", "2", "3"],
            "prompt_values_supported": ["none", "login", "consent", "select_account"],
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "authorization_response_iss_parameter_supported": true,
            "frontchannel_logout_supported": false,
            "backchannel_logout_supported": false,
        })
    }

    /// The provider's published keys (JWK Set): the live signing keys and retired ones whose
    /// tokens may still be valid.
    pub async fn oidc_jwks(&self) -> OidcResult<Value> {
        let ring = self.key_ring().await?;
        let now = self.ctx.clock.now().millis();
        let keys: Vec<&Value> = ring.published(now, self.settings.key_keep_ms()).map(|k| k.jwk()).collect();
        Ok(json!({ "keys": keys }))
    }
}
