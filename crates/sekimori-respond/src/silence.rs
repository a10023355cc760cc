//! Silences: matchers that mute alerts between a start and an end, with who and why.

use serde::Deserialize;

use crate::labels::{all_match, Labels, Matcher};

/// A silence.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Silence {
    /// Id.
    pub id: String,
    /// Every matcher must match (at least one).
    pub matchers: Vec<Matcher>,
    /// Start, ms since the epoch.
    pub starts_at_ms: i64,
    /// End, ms since the epoch (exclusive): it expires on time.
    pub ends_at_ms: i64,
    /// Who made it.
    pub created_by: String,
    /// Why.
    pub comment: String,
}

impl Silence {
    /// Whether it is in force at `now_ms`.
    pub fn active(&self, now_ms: i64) -> bool {
        self.starts_at_ms <= now_ms && now_ms < self.ends_at_ms
    }

    /// Whether it silences `labels` at `now_ms`. A silence without matchers silences nothing.
    pub fn silences(&self, labels: &Labels, now_ms: i64) -> bool {
        self.active(now_ms) && !self.matchers.is_empty() && all_match(&self.matchers, labels)
    }
}

/// A tenant's silences, indexed by one of each silence's `=` matchers, so that finding
/// the silence of an alert looks at the silences that could match it, not at all of them.
#[derive(Debug, Clone, Default)]
pub struct Silences {
    all: Vec<Silence>,
    /// label → value of an `=` matcher → silences having it (looked up by `&str`, with no
    /// allocation per alert).
    by_equal: std::collections::HashMap<String, std::collections::HashMap<String, Vec<usize>>>,
    /// Silences without an `=` matcher on a non-empty value.
    rest: Vec<usize>,
}

impl Silences {
    /// Indexes `silences`.
    pub fn new(silences: Vec<Silence>) -> Self {
        let mut index = Silences { all: Vec::new(), by_equal: Default::default(), rest: Vec::new() };
        for s in silences {
            let i = index.all.len();
            // An `=` matcher on a non-empty value can only match an alert carrying that label.
            match s.matchers.iter().find(|m| m.op == crate::MatchOp::Eq && !m.value.is_empty()) {
                Some(m) => {
                    index.by_equal.entry(m.name.clone()).or_default().entry(m.value.clone()).or_default().push(i)
                }
                None => index.rest.push(i),
            }
            index.all.push(s);
        }
        index
    }

    /// The first silence that silences `labels` at `now_ms`, if any.
    pub fn silencing(&self, labels: &Labels, now_ms: i64) -> Option<&Silence> {
        let candidates = labels
            .iter()
            .filter_map(|(k, v)| self.by_equal.get(k.as_str())?.get(v.as_str()))
            .flatten()
            .chain(self.rest.iter());
        candidates.map(|&i| &self.all[i]).find(|s| s.silences(labels, now_ms))
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.all.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }
}
