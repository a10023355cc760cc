//! The server's public base URL (`server.public_url`): where browsers, authenticators and
//! relying parties reach it, the issuer of its tokens and the base of its links.
//!
//! Checked once, when the configuration is read, instead of being carried as text and
//! checked (or trimmed) again by each user: an absolute `http` or `https` URL with a host,
//! no user info, query or fragment. It is kept without a trailing slash, so
//! `https://id.example.org/` and `https://id.example.org` are the same issuer.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

/// Why a text is not a public URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublicUrlError {
    /// Not a URL at all.
    #[error("not a URL: {0}")]
    Invalid(String),
    /// Another scheme than http or https.
    #[error("must start with http:// or https://")]
    Scheme,
    /// No host.
    #[error("must name a host")]
    NoHost,
    /// User name, password, query or fragment.
    #[error("must not carry a user, password, query or fragment")]
    Extra,
}

/// The public base URL, normalised (no trailing slash).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PublicUrl(String);

impl PublicUrl {
    /// `http://<addr>`: the default when none is configured (the address the server bound).
    pub fn from_listen(addr: SocketAddr) -> Self {
        PublicUrl(format!("http://{addr}"))
    }

    /// The URL text, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL parsed (it always parses).
    pub fn url(&self) -> url::Url {
        url::Url::parse(&self.0).unwrap_or_else(|e| unreachable!("a PublicUrl was checked when made: {e}"))
    }

    /// Whether browsers reach it over TLS.
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }
}

impl FromStr for PublicUrl {
    type Err = PublicUrlError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let u = url::Url::parse(text.trim()).map_err(|e| PublicUrlError::Invalid(e.to_string()))?;
        if !matches!(u.scheme(), "http" | "https") {
            return Err(PublicUrlError::Scheme);
        }
        if u.host_str().is_none_or(str::is_empty) {
            return Err(PublicUrlError::NoHost);
        }
        if !u.username().is_empty() || u.password().is_some() || u.query().is_some() || u.fragment().is_some() {
            return Err(PublicUrlError::Extra);
        }
        Ok(PublicUrl(u.as_str().trim_end_matches('/').to_owned()))
    }
}

impl std::ops::Deref for PublicUrl {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for PublicUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for PublicUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_are_normalised_and_checked() {
        let ok = |t: &str| t.parse::<PublicUrl>().map(|u| u.to_string());
        assert_eq!(ok("https://id.example.org/"), Ok("https://id.example.org".to_owned()));
        assert_eq!(ok("https://id.example.org"), Ok("https://id.example.org".to_owned()));
        assert_eq!(ok("http://127.0.0.1:8080"), Ok("http://127.0.0.1:8080".to_owned()));
        assert_eq!(ok("https://example.org/sekimori/"), Ok("https://example.org/sekimori".to_owned()));
        assert_eq!(ok("HTTPS://ID.Example.org"), Ok("https://id.example.org".to_owned()));
        assert_eq!(ok("ftp://example.org"), Err(PublicUrlError::Scheme));
        assert_eq!(ok("example.org"), Err(PublicUrlError::Invalid("relative URL without a base".into())));
        assert_eq!(ok("https://user:pw@example.org"), Err(PublicUrlError::Extra));
        assert_eq!(ok("https://example.org/?a=1"), Err(PublicUrlError::Extra));
        assert_eq!(ok("https://example.org/#top"), Err(PublicUrlError::Extra));
        assert!(PublicUrl::from_listen(SocketAddr::from(([127, 0, 0, 1], 9))).as_str() == "http://127.0.0.1:9");
        assert!("https://x.example"
            .parse::<PublicUrl>()
            .is_ok_and(|u| u.is_https() && u.url().host_str() == Some("x.example")));
    }
}
