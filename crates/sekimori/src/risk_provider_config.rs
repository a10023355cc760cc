//! `[[risk.providers]]`: an external risk service (protocol §18.4), checked when the
//! configuration is built; every error names its key and the file.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use sekimori_gate::risk::RiskProvider;
use sekimori_risk::{Decision, Mapping, OnFailure, ProviderSpec};

use crate::config::{err, ConfigError};
use crate::risk_provider::HttpRiskProvider;

/// One provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Shown in explanations and audit events; also part of the keyed user hash, so that
    /// two providers cannot link their users.
    pub name: String,
    /// Where the attempt is POSTed (http or https).
    pub url: String,
    /// How long the whole call may take, ms (50 to 30000; default 1500).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// What a timeout, an error status or an unreadable answer counts as: `review` (the
    /// default), `open` (ignored) or `closed` (NG).
    #[serde(default)]
    pub on_failure: OnFailure,
    /// RFC 6901 pointer to the verdict in the answer (default `/verdict`).
    #[serde(default = "default_pointer")]
    pub verdict_pointer: String,
    /// Text values and what each means (default: `OK`, `REVIEW`, `NG` as themselves).
    #[serde(default)]
    pub values: Option<BTreeMap<String, Decision>>,
    /// Or a numeric score with thresholds.
    #[serde(default)]
    pub score: Option<ScoreConfig>,
    /// A file holding a bearer token sent as `Authorization: Bearer …`.
    #[serde(default)]
    pub bearer_token_file: Option<PathBuf>,
}

/// `score = { review_at = 0.5, ng_at = 0.9 }`
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreConfig {
    /// At or above: REVIEW.
    pub review_at: f64,
    /// At or above: NG.
    pub ng_at: f64,
}

fn default_timeout_ms() -> u64 {
    1500
}

fn default_pointer() -> String {
    "/verdict".to_owned()
}

impl ProviderConfig {
    /// Checks every key and builds the provider; `at` is its key (`risk.providers[0]`).
    pub fn build(&self, source: &str, at: &str) -> Result<Arc<dyn RiskProvider>, ConfigError> {
        let key = |k: &str| format!("{at}.{k}");
        if self.name.trim().is_empty() || self.name.len() > 64 {
            return Err(err(source, &key("name"), "must be 1 to 64 characters"));
        }
        let url = reqwest::Url::parse(&self.url).map_err(|e| err(source, &key("url"), e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(err(source, &key("url"), "must be an http or https URL with a host"));
        }
        if !(50..=30_000).contains(&self.timeout_ms) {
            return Err(err(
                source,
                &key("timeout_ms"),
                format!("must be between 50 and 30000, got {}", self.timeout_ms),
            ));
        }
        if !(self.verdict_pointer.is_empty() || self.verdict_pointer.starts_with('/')) {
            return Err(err(source, &key("verdict_pointer"), "must be a JSON pointer: empty or starting with /"));
        }
        let mapping = match (&self.values, self.score) {
            (Some(_), Some(_)) => return Err(err(source, &key("score"), "give either values or score, not both")),
            (Some(values), None) if values.is_empty() => {
                return Err(err(source, &key("values"), "must name at least one value"))
            }
            (Some(values), None) => Mapping::Values(values.clone()),
            (None, Some(ScoreConfig { review_at, ng_at })) => {
                if !(review_at.is_finite() && ng_at.is_finite() && review_at <= ng_at) {
                    return Err(err(
                        source,
                        &key("score"),
                        "review_at and ng_at must be numbers with review_at <= ng_at",
                    ));
                }
                Mapping::Score { review_at, ng_at }
            }
            (None, None) => Mapping::identity(),
        };
        let bearer = match &self.bearer_token_file {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| err(source, &key("bearer_token_file"), format!("{}: {e}", path.display())))?;
                let token = text.trim().to_owned();
                if token.is_empty() {
                    return Err(err(source, &key("bearer_token_file"), format!("{} is empty", path.display())));
                }
                Some(token)
            }
        };
        let spec = ProviderSpec {
            name: self.name.clone(),
            pointer: self.verdict_pointer.clone(),
            mapping,
            on_failure: self.on_failure,
        };
        let provider = HttpRiskProvider::new(spec, url, Duration::from_millis(self.timeout_ms), bearer)
            .map_err(|e| err(source, &key("url"), e.to_string()))?;
        Ok(Arc::new(provider))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ProviderConfig {
        toml::from_str(text).expect("provider config")
    }

    #[test]
    fn each_bad_key_is_named() {
        let base = "name = \"omotion\"\nurl = \"https://risk.example/v1/assess\"\n";
        assert!(parse(base).build("s.toml", "risk.providers[0]").is_ok());
        for (extra, key) in [
            ("timeout_ms = 10\n", "risk.providers[0].timeout_ms"),
            ("verdict_pointer = \"verdict\"\n", "risk.providers[0].verdict_pointer"),
            ("score = { review_at = 0.9, ng_at = 0.5 }\n", "risk.providers[0].score"),
            ("values = {}\n", "risk.providers[0].values"),
            ("bearer_token_file = \"/nonexistent/token\"\n", "risk.providers[0].bearer_token_file"),
        ] {
            let e = parse(&format!("{base}{extra}")).build("s.toml", "risk.providers[0]").expect_err(extra);
            assert_eq!(e.key, key, "{e}");
        }
        let e = parse("name = \"x\"\nurl = \"ftp://risk.example/\"\n")
            .build("s.toml", "risk.providers[0]")
            .expect_err("ftp");
        assert_eq!(e.key, "risk.providers[0].url");
        assert!(toml::from_str::<ProviderConfig>(&format!("{base}on_failure = \"maybe\"\n")).is_err());
        assert!(toml::from_str::<ProviderConfig>(&format!("{base}values = {{ FRAUD = \"BAD\" }}\n")).is_err());
    }
}
