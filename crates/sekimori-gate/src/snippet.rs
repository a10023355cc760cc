//! The JS snippet: an application's own page shows a QR login widget served by Sekimori.
//!
//! An app lists the web origins its pages are served from. A page on one of them may
//! start a QR login *for that app*; the login's assertion then has the app as its
//! audience, so only that app's backend can verify it (a page elsewhere cannot collect
//! assertions usable by the app). Browsers enforce the origin check through CORS: the
//! answers carry `Access-Control-Allow-Origin` only for the app's origins.

use sekimori_store::App;

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
