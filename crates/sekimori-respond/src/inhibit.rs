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

/// The inhibition rules over the alerts firing now, indexed so that asking whether an
/// alert is inhibited costs one lookup per rule, not a walk over every firing alert.
/// Fed as alerts fire and resolve.
#[derive(Debug, Clone)]
pub struct Inhibitor {
    rules: Vec<InhibitRule>,
    /// (rule, values of its `equal` labels) → how many firing alerts are sources for it.
    sources: std::collections::HashMap<(usize, Vec<String>), usize>,
}

impl Inhibitor {
    /// No alert firing yet.
    pub fn new(rules: Vec<InhibitRule>) -> Self {
        Inhibitor { rules, sources: std::collections::HashMap::new() }
    }

    fn key(rule: &InhibitRule, i: usize, labels: &Labels) -> (usize, Vec<String>) {
        (i, rule.equal.iter().map(|k| labels.get(k).cloned().unwrap_or_default()).collect())
    }

    /// An alert with `labels` fires (call once per alert, not per repetition).
    pub fn fire(&mut self, labels: &Labels) {
        for (i, rule) in self.rules.iter().enumerate() {
            if all_match(&rule.source_matchers, labels) {
                *self.sources.entry(Self::key(rule, i, labels)).or_insert(0) += 1;
            }
        }
    }

    /// A firing alert with `labels` is resolved.
    pub fn resolve(&mut self, labels: &Labels) {
        for (i, rule) in self.rules.iter().enumerate() {
            if all_match(&rule.source_matchers, labels) {
                let key = Self::key(rule, i, labels);
                if let Some(n) = self.sources.get_mut(&key) {
                    *n -= 1;
                    if *n == 0 {
                        self.sources.remove(&key);
                    }
                }
            }
        }
    }

    /// Whether `target` is inhibited; `target_firing` says whether it is itself among the
    /// firing alerts fed in (an alert never inhibits itself).
    pub fn inhibited(&self, target: &Labels, target_firing: bool) -> bool {
        self.rules.iter().enumerate().any(|(i, rule)| {
            if !all_match(&rule.target_matchers, target) {
                return false;
            }
            let n = self.sources.get(&Self::key(rule, i, target)).copied().unwrap_or(0);
            let itself = usize::from(target_firing && all_match(&rule.source_matchers, target));
            n > itself
        })
    }
}
