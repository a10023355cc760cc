//! The JS snippet: an application's own page shows a QR login widget served by Sekimori.
//!
//! An app lists the web origins its pages are served from. A page on one of them may
//! start a QR login *for that app*; the login's assertion then has the app as its
//! audience, so only that app's backend can verify it (a page elsewhere cannot collect
//! assertions usable by the app). Browsers enforce the origin check through CORS: the
//! answers carry `Access-Control-Allow-Origin` only for the app's origins.

use sekimori_core::ecs::{action, field};
use sekimori_core::event::Outcome;
use sekimori_core::ErrorCode;
use sekimori_store::{AdminToken, App};

use crate::{AppKind, Gate, GateError, GateResult};

/// At most this many origins per app.
pub const MAX_ORIGINS: usize = 32;

/// Text that is not a web origin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} {why}")]
pub struct InvalidOrigin {
    /// What was given.
    pub text: String,
    /// What is wrong with it.
    pub why: &'static str,
}

/// The canonical form of a web origin (`https://shop.example` or `http://127.0.0.1:8081`),
/// or why it is not one.
pub fn normalize_origin(text: &str) -> Result<String, InvalidOrigin> {
    let invalid = |why| InvalidOrigin { text: text.to_owned(), why };
    let lower = text.trim().to_ascii_lowercase();
    let (scheme, rest) = lower.split_once("://").ok_or_else(|| invalid("has no scheme"))?;
    if scheme != "https" && scheme != "http" {
        return Err(invalid("is not an http(s) origin"));
    }
    let host_port = rest.strip_suffix('/').unwrap_or(rest);
    if host_port.is_empty()
        || host_port.contains(['/', '?', '#', '@', ' ', '\\'])
        || host_port.starts_with(':')
        || host_port.ends_with(':')
    {
        return Err(invalid("is not an origin (scheme://host[:port], no path)"));
    }
    Ok(format!("{scheme}://{host_port}"))
}

/// The origins stored with an app.
pub fn origins_of(app: &App) -> Vec<String> {
    app.origins.clone().unwrap_or_default()
}

impl Gate {
    /// Sets the web origins whose pages may start a QR login for `app_id`.
    pub async fn set_app_origins(&self, admin: &AdminToken, app_id: &str, origins: &[String]) -> GateResult<App> {
        if origins.len() > MAX_ORIGINS {
            return Err(GateError::new(ErrorCode::InvalidRequest, format!("at most {MAX_ORIGINS} origins"))
                .with("field", "origins"));
        }
        let mut clean = Vec::new();
        for o in origins {
            let n = normalize_origin(o)
                .map_err(|e| GateError::new(ErrorCode::InvalidRequest, e.to_string()).with("field", "origins"))?;
            if !clean.contains(&n) {
                clean.push(n);
            }
        }
        let app = self
            .store
            .app(app_id)
            .await?
            .filter(|a| a.tenant_id == admin.tenant_id && a.revoked_at.is_none())
            .ok_or_else(|| GateError::new(ErrorCode::NotFound, format!("no live app {app_id}")))?;
        let origins = (!clean.is_empty()).then_some(clean);
        let ev = self
            .event(&admin.tenant_id, "configuration", action::ADMIN_APP_ORIGINS_UPDATED, Outcome::Success)
            .field(field::APP_ID, app_id)
            .field(field::APP_ORIGINS, origins.as_deref().unwrap_or_default().join(" "))
            .field(field::ADMIN_TOKEN_ID, admin.id.as_str());
        self.store.set_app_origins(app_id, origins.as_deref(), &ev).await?;
        Ok(App { origins, ..app })
    }

    /// The live relying-party app `app_id` if `origin` may start a QR login for it.
    pub async fn snippet_app(&self, app_id: &str, origin: Option<&str>) -> GateResult<App> {
        let refused = || GateError::new(ErrorCode::Forbidden, "this page's origin may not start a login for this app");
        let app = self
            .store
            .app(app_id)
            .await?
            .filter(|a| a.revoked_at.is_none() && a.kind == AppKind::RelyingParty)
            .ok_or_else(|| GateError::new(ErrorCode::NotFound, format!("no live relying party {app_id}")))?;
        let origin = origin.ok_or_else(refused).and_then(|o| normalize_origin(o).map_err(|_| refused()))?;
        if !origins_of(&app).contains(&origin) {
            return Err(refused());
        }
        Ok(app)
    }

    /// The origins allowed to read QR session `id`'s status (its app's), if it has an app.
    pub async fn qr_origins(&self, id: &str) -> GateResult<Vec<String>> {
        let Some(app_id) = self.store.qr(id).await?.and_then(|s| s.app_id) else { return Ok(Vec::new()) };
        Ok(self.store.app(&app_id).await?.map(|a| origins_of(&a)).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised_or_refused() {
        assert_eq!(normalize_origin("https://Shop.Example/").as_deref(), Ok("https://shop.example"));
        assert_eq!(normalize_origin("http://127.0.0.1:8081").as_deref(), Ok("http://127.0.0.1:8081"));
        for bad in ["shop.example", "ftp://x", "https://x/path", "https://", "https://u@x", "https://x:"] {
            assert!(normalize_origin(bad).is_err(), "{bad}");
        }
    }
}
