//! `[metrics]`: who may read `GET /metrics` (docs/configuration.md).

use std::net::SocketAddr;

use serde::Deserialize;

/// `[metrics]`: on the main listener with a bearer token, and/or on a separate address
/// (the monitoring network) without one. Neither set: `/metrics` answers 404.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// A separate listen address serving only `/metrics`, without a token.
    pub listen: Option<SocketAddr>,
    /// Lowercase hex SHA-256 of the bearer token that may read `/metrics` on the main
    /// listener (`printf %s "$TOKEN" | sha256sum`); the token itself is never in the file.
    pub token_sha256: Option<String>,
}

impl MetricsConfig {
    /// The token's hash; the error names the key.
    pub fn token_hash(&self) -> Result<Option<[u8; 32]>, (&'static str, String)> {
        let Some(text) = &self.token_sha256 else { return Ok(None) };
        let bad = || ("metrics.token_sha256", "must be 64 hex digits: the SHA-256 of the token".to_owned());
        let bytes = hex::decode(text.trim()).map_err(|_| bad())?;
        bytes.try_into().map(Some).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_hash_is_64_hex_digits() {
        let c = MetricsConfig { token_sha256: Some("ab".repeat(32)), ..Default::default() };
        assert_eq!(c.token_hash().expect("valid"), Some([0xab; 32]));
        let c = MetricsConfig { token_sha256: Some("abc".into()), ..Default::default() };
        assert_eq!(c.token_hash().expect_err("short").0, "metrics.token_sha256");
        assert_eq!(MetricsConfig::default().token_hash().expect("none"), None);
    }
}
