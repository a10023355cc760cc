//! Inhibition: a firing alert mutes others it makes redundant (a host down mutes the
//! alerts of the services on it).

use serde::Deserialize;

use crate::labels::{all_match, Labels, Matcher};

/// A target alert is inhibited while a firing source alert exists that matches
/// `source_matchers` and has the same values for the `equal` labels.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitRule {
    /// What the inhibiting alert matches.
    #[serde(default)]
    pub source_matchers: Vec<Matcher>,
    /// What the inhibited alert matches.
    #[serde(default)]
    pub target_matchers: Vec<Matcher>,
    /// Labels both must share (an absent label counts as the empty value).
    #[serde(default)]
    pub equal: Vec<String>,
}

impl InhibitRule {
    /// Whether `target` is inhibited by one of `firing` (an alert never inhibits itself).
    pub fn inhibits(&self, target: &Labels, firing: &[Labels]) -> bool {
        if !all_match(&self.target_matchers, target) {
            return false;
        }
        let value = |l: &Labels, k: &str| l.get(k).cloned().unwrap_or_default();
        firing.iter().any(|source| {
            source != target
                && all_match(&self.source_matchers, source)
                && self.equal.iter().all(|k| value(source, k) == value(target, k))
        })
    }
}
