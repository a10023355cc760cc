//! A tenant's risk policy: explicit rules evaluated first, then weights and thresholds
//! mapping a score to OK / REVIEW / NG. Stored as JSON, versioned and audited like
//! tuning (docs/risk.md); unknown fields are refused and every check names its key.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::signal::Signal;

/// What happens to an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Decision {
    /// The login completes at the level its methods earned.
    #[serde(rename = "OK")]
    Ok,
    /// The user must add a factor of a different kind; one that cannot is refused.
    #[serde(rename = "REVIEW")]
    Review,
    /// Refused, with a generic message; the reasons only in the audit event.
    #[serde(rename = "NG")]
    Ng,
}

impl Decision {
    /// `OK`, `REVIEW` or `NG`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Ok => "OK",
            Decision::Review => "REVIEW",
            Decision::Ng => "NG",
        }
    }

    /// The decision [`Decision::as_str`] names, if `text` is one.
    pub fn parse(text: &str) -> Option<Decision> {
        [Decision::Ok, Decision::Review, Decision::Ng].into_iter().find(|d| d.as_str() == text)
    }
}

/// An explicit rule: when every signal in `when` is present, `decision` decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Shown in explanations and audit events.
    pub name: String,
    /// The signals that must all be present (at least one).
    pub when: Vec<Signal>,
    /// What the rule decides.
    pub decision: Decision,
}

/// Attempts allowed within a sliding window before the velocity signals fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VelocityLimits {
    /// The window, seconds (10 to 86400).
    pub window_seconds: u32,
    /// Attempts for one user.
    pub user: u32,
    /// Attempts from one address.
    pub address: u32,
    /// Attempts from one network (/24, /48).
    pub network: u32,
}

impl Default for VelocityLimits {
    fn default() -> Self {
        VelocityLimits { window_seconds: 60, user: 10, address: 100, network: 500 }
    }
}

/// A tenant's policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Whether attempts are judged at all.
    pub enabled: bool,
    /// Decisions recorded but not enforced, to tune a policy before switching it on.
    pub dry_run: bool,
    /// A score at or above this is REVIEW.
    pub review_at: u32,
    /// A score at or above this is NG.
    pub ng_at: u32,
    /// Points per signal; a signal not named adds nothing. `listed_address` is not named
    /// here: it adds the weight of the heaviest list the address is on (`[risk]` in the
    /// configuration gives each list its weight).
    pub weights: BTreeMap<Signal, u32>,
    /// Evaluated first, in order; the first whose signals are all present decides.
    pub rules: Vec<Rule>,
    /// Velocity windows.
    pub velocity: VelocityLimits,
}

impl Default for Policy {
    /// Judged, enforced: a listed address is NG; a new environment together with a new
    /// country, impossible travel or browser automation is REVIEW; any velocity limit is
    /// NG; otherwise the score decides (REVIEW at 40, NG at 80).
    fn default() -> Self {
        let weights = [
            (Signal::NewEnvironment, 15),
            (Signal::YoungEnvironment, 5),
            (Signal::NewCountry, 25),
            (Signal::NewNetwork, 10),
            (Signal::NewUserAgent, 5),
            (Signal::ImpossibleTravel, 40),
            (Signal::FailureBurst, 25),
            (Signal::UnusualHour, 10),
            (Signal::UserVelocity, 80),
            (Signal::AddressVelocity, 80),
            (Signal::NetworkVelocity, 80),
            (Signal::Automation, 40),
            (Signal::ScriptedInput, 25),
            (Signal::UserAgentMismatch, 25),
        ]
        .into_iter()
        .collect();
        let rule = |name: &str, when: &[Signal], decision| Rule { name: name.into(), when: when.to_vec(), decision };
        Policy {
            enabled: true,
            dry_run: false,
            review_at: 40,
            ng_at: 80,
            weights,
            rules: vec![
                rule("listed address", &[Signal::ListedAddress], Decision::Ng),
                rule("too many attempts for the user", &[Signal::UserVelocity], Decision::Ng),
                rule("too many attempts from the address", &[Signal::AddressVelocity], Decision::Ng),
                rule("too many attempts from the network", &[Signal::NetworkVelocity], Decision::Ng),
                rule("impossible travel", &[Signal::ImpossibleTravel], Decision::Review),
                rule("browser automation", &[Signal::Automation], Decision::Review),
                rule(
                    "new environment in a new country",
                    &[Signal::NewEnvironment, Signal::NewCountry],
                    Decision::Review,
                ),
            ],
            velocity: VelocityLimits::default(),
        }
    }
}

/// A policy that cannot be used: the key and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct PolicyError {
    /// E.g. `rules[2].when`.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

fn bad(key: impl Into<String>, reason: impl Into<String>) -> PolicyError {
    PolicyError { key: key.into(), reason: reason.into() }
}

impl Policy {
    /// Reads a policy document (JSON); unknown fields and signals are refused.
    pub fn from_json(doc: &serde_json::Value) -> Result<Policy, PolicyError> {
        let p: Policy = serde_json::from_value(doc.clone()).map_err(|e| bad("policy", e.to_string()))?;
        p.validate()?;
        Ok(p)
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.review_at == 0 {
            return Err(bad("review_at", "must be at least 1"));
        }
        if self.ng_at < self.review_at {
            return Err(bad("ng_at", format!("must be at least review_at ({})", self.review_at)));
        }
        for (i, r) in self.rules.iter().enumerate() {
            if r.name.trim().is_empty() || r.name.len() > 100 {
                return Err(bad(format!("rules[{i}].name"), "must be 1 to 100 characters"));
            }
            if r.when.is_empty() {
                return Err(bad(format!("rules[{i}].when"), "must name at least one signal"));
            }
        }
        if self.rules.len() > 100 {
            return Err(bad("rules", "at most 100 rules"));
        }
        let v = &self.velocity;
        if !(10..=86_400).contains(&v.window_seconds) {
            return Err(bad("velocity.window_seconds", "must be between 10 and 86400"));
        }
        for (key, n) in [("velocity.user", v.user), ("velocity.address", v.address), ("velocity.network", v.network)] {
            if !(1..=100_000).contains(&n) {
                return Err(bad(key, "must be between 1 and 100000"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_parses_from_what_it_writes() {
        for d in [Decision::Ok, Decision::Review, Decision::Ng] {
            assert_eq!(Decision::parse(d.as_str()), Some(d));
        }
        assert_eq!(Decision::parse("ok"), None, "as written, upper case");
    }

    #[test]
    fn the_default_policy_is_valid_and_round_trips() {
        let p = Policy::default();
        p.validate().expect("valid");
        let doc = serde_json::to_value(&p).expect("json");
        assert_eq!(Policy::from_json(&doc).expect("read back"), p);
        assert_eq!(doc["rules"][0]["decision"], "NG");
    }

    #[test]
    fn bad_policies_name_their_key() {
        let key = |doc: serde_json::Value| Policy::from_json(&doc).expect_err("refused").key;
        assert_eq!(key(serde_json::json!({"review_at": 50, "ng_at": 10})), "ng_at");
        assert_eq!(key(serde_json::json!({"rules": [{"name": "x", "when": [], "decision": "NG"}]})), "rules[0].when");
        assert_eq!(key(serde_json::json!({"velocity": {"window_seconds": 1}})), "velocity.window_seconds");
        let e = Policy::from_json(&serde_json::json!({"weights": {"moon_phase": 3}})).expect_err("unknown signal");
        assert!(e.reason.contains("moon_phase"), "{e}");
        let e = Policy::from_json(&serde_json::json!({"threshold": 3})).expect_err("unknown field");
        assert!(e.reason.contains("threshold"), "{e}");
    }
}
