//! OIDC clients: an app (its key is the client secret) with exactly-matched redirect URIs.

use sekimori_core::ecs::{action, field};
use sekimori_core::event::Outcome;
use sekimori_core::names::Label;
use sekimori_core::token::ct_eq;
use sekimori_core::AppId;
use sekimori_core::ErrorCode;
use sekimori_store::{AdminToken, App, OidcClient};
use serde::Deserialize;

use super::jose::Alg;
use super::Oidc;
use super::{OidcError, OidcResult};
use crate::apps::AppKind;
use crate::{GateError, GateResult, NewAppKey};

/// Most redirect URIs a client may register.
const MAX_URIS: usize = 20;

/// What an admin registers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientRegistration {
    /// Redirect URIs, matched exactly.
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may return to.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (a browser or native app): no secret, PKCE S256 required.
    #[serde(default)]
    pub public: bool,
    /// `RS256` (default) or `ES256`.
    #[serde(default)]
    pub id_token_alg: Option<String>,
}

/// A registered client and, for a confidential one, its secret (shown once).
#[derive(Debug, Clone)]
pub struct NewOidcClient {
    /// The app and its key.
    pub app: NewAppKey,
    /// The OIDC settings.
    pub client: OidcClient,
}

/// Checks a redirect URI: absolute, no fragment, no user info; `https`, `http` (for
/// development and loopback) or a private-use scheme with a dot (RFC 8252, native apps).
fn check_uri(uri: &str, key: &str) -> GateResult<()> {
    let bad = |why: &str| GateError::new(ErrorCode::InvalidRequest, format!("{key}: {uri:?} {why}"));
    if uri.len() > 2048 || uri.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad("is too long or has spaces or control characters"));
    }
    let parsed = url::Url::parse(uri).map_err(|e| bad(&format!("is not an absolute URL ({e})")))?;
    if parsed.fragment().is_some() {
        return Err(bad("has a fragment"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("has user information"));
    }
    let scheme = parsed.scheme();
    if !(scheme == "https" || scheme == "http" || scheme.contains('.')) {
        return Err(bad("needs https, http or a private-use scheme such as com.example.app"));
    }
    Ok(())
}

/// Checks a client's redirect URIs (1 to [`MAX_URIS`]) and post-logout ones (at most as many).
fn check_uris(redirect_uris: &[String], post_logout_redirect_uris: &[String]) -> GateResult<()> {
    if redirect_uris.is_empty() || redirect_uris.len() > MAX_URIS {
        return Err(GateError::new(
            ErrorCode::InvalidRequest,
            format!("redirect_uris: give 1 to {MAX_URIS} redirect URIs"),
        )
        .with("field", "redirect_uris"));
    }
    if post_logout_redirect_uris.len() > MAX_URIS {
        return Err(GateError::new(ErrorCode::InvalidRequest, "post_logout_redirect_uris: too many")
            .with("field", "post_logout_redirect_uris"));
    }
    for (key, uris) in [("redirect_uris", redirect_uris), ("post_logout_redirect_uris", post_logout_redirect_uris)] {
        for u in uris {
            check_uri(u, key).map_err(|e| e.with("field", key))?;
        }
    }
    Ok(())
}

/// New redirect URIs for a registered client; a list not given is kept.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientUris {
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
}

impl Oidc {
    /// Registers an OIDC client (an app of kind relying party); the app key is shown once
    /// and is the client secret of a confidential client.
    pub async fn add_oidc_client(
        &self,
        admin: &AdminToken,
        name: &Label,
        reg: &ClientRegistration,
    ) -> GateResult<NewOidcClient> {
        check_uris(&reg.redirect_uris, &reg.post_logout_redirect_uris)?;
        let alg = match reg.id_token_alg.as_deref() {
            None => Alg::Rs256,
            Some(a) => Alg::parse(a).ok_or_else(|| {
                GateError::new(ErrorCode::InvalidRequest, format!("id_token_alg: {a:?} is not RS256 or ES256"))
            })?,
        };
        let (app, ev) = self.apps.new_app(admin, name, AppKind::RelyingParty);
        let client = OidcClient {
            app_id: app.app.id.clone(),
            tenant_id: admin.tenant_id.clone(),
            public: reg.public,
            redirect_uris: reg.redirect_uris.clone(),
            post_logout_redirect_uris: reg.post_logout_redirect_uris.clone(),
            id_token_alg: alg.as_str().into(),
            created_at: app.app.created_at,
        };
        let ev = ev.field(field::OIDC_PUBLIC, reg.public).field(field::OIDC_REDIRECT_URIS, reg.redirect_uris.clone());
        if !self.ctx.store.insert_oidc_client(&app.app, &client, &ev).await? {
            return Err(GateError::new(ErrorCode::Conflict, format!("an app named {name} already exists")));
        }
        Ok(NewOidcClient { app, client })
    }

    /// Replaces the redirect URIs (and post-logout ones) of the tenant's live client
    /// `client_id`, as registering checks them; audited with the new lists. Codes already
    /// issued keep the redirect URI they were issued for (a token request must repeat it).
    pub async fn set_oidc_client_uris(
        &self,
        admin: &AdminToken,
        client_id: &AppId,
        uris: &ClientUris,
    ) -> GateResult<OidcClient> {
        let not_found = || GateError::new(ErrorCode::NotFound, format!("no live OIDC client {client_id}"));
        let client = self
            .ctx
            .store
            .oidc_client(client_id)
            .await?
            .filter(|c| c.tenant_id == admin.tenant_id)
            .ok_or_else(not_found)?;
        let redirect_uris = uris.redirect_uris.clone().unwrap_or_else(|| client.redirect_uris.clone());
        let post_logout =
            uris.post_logout_redirect_uris.clone().unwrap_or_else(|| client.post_logout_redirect_uris.clone());
        check_uris(&redirect_uris, &post_logout)?;
        let ev = self
            .ctx
            .event(&admin.tenant_id, "configuration", action::ADMIN_OIDC_CLIENT_UPDATED, Outcome::Success)
            .field(field::APP_ID, client_id)
            .field(field::OIDC_REDIRECT_URIS, redirect_uris.clone())
            .field(field::OIDC_POST_LOGOUT_REDIRECT_URIS, post_logout.clone())
            .field(field::ADMIN_TOKEN_ID, admin.id.as_str());
        if !self.ctx.store.set_oidc_client_uris(client_id, &redirect_uris, &post_logout, &ev).await? {
            return Err(not_found());
        }
        Ok(OidcClient { redirect_uris, post_logout_redirect_uris: post_logout, ..client })
    }

    /// The tenant's OIDC clients.
    pub async fn list_oidc_clients(&self, admin: &AdminToken) -> GateResult<Vec<OidcClient>> {
        Ok(self.ctx.store.list_oidc_clients(&admin.tenant_id).await?)
    }

    /// A live OIDC client by `client_id`.
    pub(crate) async fn oidc_client(&self, client_id: &str) -> OidcResult<Option<(App, OidcClient)>> {
        if client_id.len() > 64 {
            return Ok(None);
        }
        let client_id = AppId::new(client_id);
        let Some(client) = self.ctx.store.oidc_client(&client_id).await? else { return Ok(None) };
        let Some(app) = self.ctx.store.app(&client_id).await?.filter(|a| a.revoked_at.is_none()) else {
            return Ok(None);
        };
        Ok(Some((app, client)))
    }

    /// Authenticates the client of a token request: a confidential client by its secret
    /// (the app key), a public one by its id alone.
    pub(crate) async fn authenticate_client(
        &self,
        client_id: &str,
        secret: Option<&str>,
    ) -> OidcResult<(App, OidcClient)> {
        let unknown = || OidcError::invalid_client("unknown client or wrong client credentials");
        let (app, client) = self.oidc_client(client_id).await?.ok_or_else(unknown)?;
        match (client.public, secret) {
            (true, None) => Ok((app, client)),
            (true, Some(_)) => Err(OidcError::invalid_client("a public client has no secret")),
            (false, None) => Err(OidcError::invalid_client("this client must authenticate with its secret")),
            (false, Some(secret)) => {
                let key = self.apps.authenticate_app(secret).await.map_err(|_| unknown())?;
                if !ct_eq(key.id.as_bytes(), app.id.as_bytes()) {
                    return Err(unknown());
                }
                Ok((app, client))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_checked() {
        for ok in ["https://rp.example/cb", "http://127.0.0.1:8080/cb?x=1", "com.example.app:/oauth2redirect"] {
            assert!(check_uri(ok, "redirect_uris").is_ok(), "{ok}");
        }
        for bad in [
            "/relative",
            "https://rp.example/cb#frag",
            "https://user:pw@rp.example/cb",
            "javascript:alert(1)",
            "https://rp.example/a b",
            "ftp://rp.example/cb",
        ] {
            let e = check_uri(bad, "redirect_uris").expect_err(bad);
            assert!(e.detail.starts_with("redirect_uris: "), "{}", e.detail);
        }
    }
}
