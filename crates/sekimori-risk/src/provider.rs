//! External risk providers (docs/risk.md, protocol §18.4): an HTTP JSON service asked after
//! primary authentication, as O-MOTION is asked by IceWall MFA. This module holds what is
//! not IO: how a provider's answer is read (a JSON pointer and a value mapping, or a score
//! with thresholds), what a failure becomes (the provider's failure policy), and how the
//! answers combine with the internal verdict (the most severe wins). The call itself is the
//! gate's seam, made over HTTP by the server.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::Verdict;
use crate::policy::Decision;

/// What a provider that fails (times out, answers an error, answers what cannot be read)
/// counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// REVIEW: the user is asked for another factor (the default).
    #[default]
    Review,
    /// Fail open: the provider is ignored.
    Open,
    /// Fail closed: NG.
    Closed,
}

impl OnFailure {
    /// `review`, `open` or `closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            OnFailure::Review => "review",
            OnFailure::Open => "open",
            OnFailure::Closed => "closed",
        }
    }

    /// The decision a failure counts as.
    pub fn decision(self) -> Decision {
        match self {
            OnFailure::Review => Decision::Review,
            OnFailure::Open => Decision::Ok,
            OnFailure::Closed => Decision::Ng,
        }
    }
}

/// How the value at the pointer becomes a decision.
#[derive(Debug, Clone, PartialEq)]
pub enum Mapping {
    /// A text value, mapped by name (`{"OK": OK, "SUSPICIOUS": REVIEW, "FRAUD": NG}`).
    Values(BTreeMap<String, Decision>),
    /// A number: at or above `ng_at` is NG, at or above `review_at` REVIEW, else OK.
    Score {
        /// REVIEW threshold.
        review_at: f64,
        /// NG threshold.
        ng_at: f64,
    },
}

impl Mapping {
    /// The values `OK`, `REVIEW` and `NG`, each to itself.
    pub fn identity() -> Mapping {
        Mapping::Values([Decision::Ok, Decision::Review, Decision::Ng].map(|d| (d.as_str().to_owned(), d)).into())
    }
}

/// How one provider's answer is read.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderSpec {
    /// Shown in explanations and audit events.
    pub name: String,
    /// RFC 6901 pointer to the verdict in the answer (`/verdict`, `/result/score`).
    pub pointer: String,
    /// The value mapping.
    pub mapping: Mapping,
    /// What a failure counts as.
    pub on_failure: OnFailure,
}

/// Why a provider gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderFailure {
    /// No answer within the provider's timeout.
    #[error("no answer within {0} ms")]
    Timeout(u64),
    /// The connection failed.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// An HTTP status other than 200.
    #[error("answered HTTP {0}")]
    Status(u16),
    /// A body that is not JSON, too large, or without a mapped value at the pointer.
    #[error("unreadable answer: {0}")]
    Malformed(String),
}

/// One provider's part in a verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProviderOutcome {
    /// The provider.
    pub provider: String,
    /// What it counts as.
    pub decision: Decision,
    /// The value read (`verdict=REVIEW`, `score=0.72`), or the failure and its policy.
    pub detail: String,
    /// Whether the provider failed (the decision is then its failure policy's).
    pub failed: bool,
}

impl ProviderSpec {
    /// Reads an answer's body.
    pub fn read(&self, body: &[u8]) -> Result<(Decision, String), ProviderFailure> {
        let doc: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| ProviderFailure::Malformed(format!("not JSON: {e}")))?;
        let value = doc
            .pointer(&self.pointer)
            .ok_or_else(|| ProviderFailure::Malformed(format!("nothing at {}", self.pointer)))?;
        match &self.mapping {
            Mapping::Values(values) => {
                let text = value
                    .as_str()
                    .ok_or_else(|| ProviderFailure::Malformed(format!("{} is not text: {value}", self.pointer)))?;
                let decision = values.get(text).copied().ok_or_else(|| {
                    ProviderFailure::Malformed(format!("{} is {text:?}, which the mapping does not name", self.pointer))
                })?;
                Ok((decision, format!("value={text}")))
            }
            Mapping::Score { review_at, ng_at } => {
                let score = value
                    .as_f64()
                    .filter(|s| s.is_finite())
                    .ok_or_else(|| ProviderFailure::Malformed(format!("{} is not a number: {value}", self.pointer)))?;
                let decision = if score >= *ng_at {
                    Decision::Ng
                } else if score >= *review_at {
                    Decision::Review
                } else {
                    Decision::Ok
                };
                Ok((decision, format!("score={score}")))
            }
        }
    }

    /// What a call's result counts as: the mapped answer, or the failure policy.
    pub fn outcome(&self, answer: Result<Vec<u8>, ProviderFailure>) -> ProviderOutcome {
        match answer.and_then(|body| self.read(&body)) {
            Ok((decision, detail)) => ProviderOutcome { provider: self.name.clone(), decision, detail, failed: false },
            Err(e) => ProviderOutcome {
                provider: self.name.clone(),
                decision: self.on_failure.decision(),
                detail: format!("{e}; on_failure={}", self.on_failure.as_str()),
                failed: true,
            },
        }
    }
}

/// Combines the providers' outcomes with the internal verdict: the most severe decision
/// wins; a provider that raises it is named as the deciding rule (`provider <name>`). In
/// dry-run mode the combined decision is recorded and not enforced, like the internal one.
pub fn combine(verdict: &mut Verdict, outcomes: Vec<ProviderOutcome>) {
    for o in &outcomes {
        if o.decision > verdict.decision {
            verdict.decision = o.decision;
            verdict.rule = Some(format!("provider {}", o.provider));
        }
    }
    verdict.providers = outcomes;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(mapping: Mapping, on_failure: OnFailure) -> ProviderSpec {
        ProviderSpec { name: "omotion".into(), pointer: "/result/verdict".into(), mapping, on_failure }
    }

    #[test]
    fn values_and_scores_map_and_what_cannot_be_read_is_malformed() {
        let s = spec(Mapping::identity(), OnFailure::Review);
        assert_eq!(s.read(br#"{"result":{"verdict":"NG"}}"#).map(|r| r.0), Ok(Decision::Ng));
        for bad in
            [&b"{"[..], br#"{"result":{}}"#, br#"{"result":{"verdict":"MAYBE"}}"#, br#"{"result":{"verdict":3}}"#]
        {
            assert!(matches!(s.read(bad), Err(ProviderFailure::Malformed(_))), "{}", String::from_utf8_lossy(bad));
        }
        let score = ProviderSpec {
            pointer: "/score".into(),
            ..spec(Mapping::Score { review_at: 0.5, ng_at: 0.9 }, OnFailure::Open)
        };
        let read = |b: &[u8]| score.read(b).map(|r| r.0);
        assert_eq!(read(br#"{"score":0.1}"#), Ok(Decision::Ok));
        assert_eq!(read(br#"{"score":0.5}"#), Ok(Decision::Review));
        assert_eq!(read(br#"{"score":0.95}"#), Ok(Decision::Ng));
        assert!(read(br#"{"score":"high"}"#).is_err());
    }

    #[test]
    fn failures_follow_the_policy_and_the_most_severe_wins() {
        for (policy, decision) in
            [(OnFailure::Review, Decision::Review), (OnFailure::Open, Decision::Ok), (OnFailure::Closed, Decision::Ng)]
        {
            let o = spec(Mapping::identity(), policy).outcome(Err(ProviderFailure::Status(500)));
            assert_eq!((o.decision, o.failed), (decision, true), "{o:?}");
            assert!(o.detail.contains("HTTP 500"), "{}", o.detail);
        }
        let mut v = Verdict::off();
        v.enforced = true;
        let ok = spec(Mapping::identity(), OnFailure::Open).outcome(Ok(br#"{"result":{"verdict":"OK"}}"#.to_vec()));
        let review = ProviderSpec { name: "second".into(), ..spec(Mapping::identity(), OnFailure::Open) }
            .outcome(Ok(br#"{"result":{"verdict":"REVIEW"}}"#.to_vec()));
        combine(&mut v, vec![ok, review]);
        assert_eq!((v.decision, v.rule.as_deref()), (Decision::Review, Some("provider second")));
        assert_eq!(v.providers.len(), 2);
    }
}
