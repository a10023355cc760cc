//! Token introspection (RFC 7662) for resource servers: a confidential client of the
//! tenant asks whether an access token is still good, and gets the same answer userinfo
//! would give (expired, signed by another key, its session ended or its grant revoked:
//! inactive), with the token's claims when it is active.

use serde::Deserialize;
use serde_json::{json, Value};

use super::Oidc;
use super::{OidcError, OidcResult};

/// The form of an introspection request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntrospectionRequest {
    /// The token.
    pub token: String,
    /// `access_token` or `refresh_token`; a hint only.
    pub token_type_hint: Option<String>,
    /// `client_secret_post`.
    pub client_id: Option<String>,
    /// `client_secret_post`.
    pub client_secret: Option<String>,
}

impl Oidc {
    /// Answers an introspection request (RFC 7662 section 2); `basic` is the caller's HTTP
    /// Basic credentials, if sent. Only confidential clients may ask, and only about tokens
    /// of their own tenant. Refresh tokens are answered inactive: they are not presented
    /// to resource servers, and only the client they were issued to may use them.
    pub async fn introspect(&self, req: &IntrospectionRequest, basic: Option<(String, String)>) -> OidcResult<Value> {
        let (client_id, secret) = match (basic, &req.client_id, &req.client_secret) {
            (Some(_), _, Some(_)) => return Err(OidcError::invalid_request("use one client authentication method")),
            (Some((id, secret)), None, None) => (id, secret),
            (Some((id, secret)), Some(c), None) if *c == id => (id, secret),
            (None, Some(id), Some(secret)) => (id.clone(), secret.clone()),
            _ => return Err(OidcError::invalid_client("introspection needs a confidential client's credentials")),
        };
        let (app, _) = self.authenticate_client(&client_id, Some(&secret)).await?;
        if req.token.len() > 8192 {
            return Ok(json!({"active": false}));
        }
        let (claims, session) = match self.live_access_token(&req.token).await {
            Ok(live) => live,
            Err(e) if e.error == "invalid_token" => return Ok(json!({"active": false})),
            Err(e) => return Err(e),
        };
        if session.tenant_id != app.tenant_id {
            return Ok(json!({"active": false}));
        }
        let mut out = json!({"active": true, "token_type": "Bearer", "username": session.username});
        for k in ["scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti", "acr", "auth_time"] {
            if !claims[k].is_null() {
                out[k] = claims[k].clone();
            }
        }
        Ok(out)
    }
}
