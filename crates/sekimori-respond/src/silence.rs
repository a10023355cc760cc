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
