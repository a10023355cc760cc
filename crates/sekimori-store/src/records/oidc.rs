//! The OpenID Connect provider: clients, signing keys, codes and refresh tokens (SQL:
//! `sql/oidc.rs`).

use sekimori_core::{AppId, SessionId, TenantId, Timestamp, UserId};

/// An app that is an OIDC client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcClient {
    /// The app's id, which is the `client_id`.
    pub app_id: AppId,
    /// Tenant.
    pub tenant_id: TenantId,
    /// A public client (no secret; PKCE S256 required).
    pub public: bool,
    /// Registered redirect URIs (matched exactly; stored as a JSON array).
    pub redirect_uris: Vec<String>,
    /// Registered post-logout redirect URIs (stored as a JSON array).
    pub post_logout_redirect_uris: Vec<String>,
    /// `RS256` or `ES256`.
    pub id_token_alg: String,
    /// Creation time, ms.
    pub created_at: Timestamp,
}

/// A signing key of the OIDC provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcKey {
    /// Key id (`kid`).
    pub kid: String,
    /// `RS256` or `ES256`.
    pub alg: String,
    /// PKCS#8 private key, sealed under the server's secret key.
    pub private_sealed: Vec<u8>,
    /// The public JWK, JSON.
    pub public_jwk: String,
    /// Creation time, ms.
    pub created_at: Timestamp,
    /// When a newer key replaced it for signing, ms.
    pub retired_at: Option<Timestamp>,
}

/// An authorization code (single use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcCode {
    /// SHA-256 (hex) of the code.
    pub id: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// The client it was issued to.
    pub client_id: AppId,
    /// The user.
    pub user_id: UserId,
    /// The sign-on (session `sso_id`) it came from (`sid`).
    pub session_id: SessionId,
    /// The redirect URI of the request (the token request must repeat it).
    pub redirect_uri: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// The request's `nonce`.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// When the user authenticated, ms.
    pub auth_time: Timestamp,
    /// Auth level of the session.
    pub level: i64,
    /// Methods (stored as a JSON array).
    pub amr: Vec<String>,
    /// The refresh-token family the exchange starts (revoked if the code is replayed).
    pub family_id: String,
    /// Creation time, ms.
    pub created_at: Timestamp,
    /// Expiry, ms.
    pub expires_at: Timestamp,
    /// When it was exchanged, ms.
    pub consumed_at: Option<Timestamp>,
}

/// A refresh token (single use: each use rotates it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcRefreshToken {
    /// SHA-256 (hex) of the token.
    pub id: String,
    /// Every token rotated from one authorization code.
    pub family_id: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// The client.
    pub client_id: AppId,
    /// The user.
    pub user_id: UserId,
    /// The sign-on (session `sso_id`) behind it.
    pub session_id: SessionId,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// When the user authenticated, ms.
    pub auth_time: Timestamp,
    /// Auth level.
    pub level: i64,
    /// Methods (stored as a JSON array).
    pub amr: Vec<String>,
    /// Creation time, ms.
    pub created_at: Timestamp,
    /// Expiry, ms.
    pub expires_at: Timestamp,
    /// When it was rotated, ms.
    pub used_at: Option<Timestamp>,
    /// When its family was revoked, ms.
    pub revoked_at: Option<Timestamp>,
}

/// Outcome of presenting a refresh token for rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// Rotated now: the token presented (the new one is stored).
    Done(OidcRefreshToken),
    /// Already rotated: the whole family is revoked now (the one event of the reuse).
    Reused(OidcRefreshToken),
    /// Its family was revoked before (by a reuse, a logout or an admin): nothing changes
    /// and nothing is logged again.
    Revoked(OidcRefreshToken),
    /// Past its expiry.
    Expired,
    /// No such token.
    NotFound,
}
