//! Response policies: which alerts act on the user they are about, and how (raise the
//! user's required level, suspend push, block, or end the sessions), for how long, with
//! escalation for repeat offenders, and which sources may trigger them. Only alerts from a
//! trusted source act: by default Sekimori's own audit events, which no log sender can
//! write (docs/respond.md).

use std::time::Duration;

use serde::Deserialize;

use crate::labels::{all_match, Labels, Matcher};
use crate::route::ConfigError;

/// The source label of alerts raised on Sekimori's own audit events.
pub const SEKIMORI_SOURCE: &str = "sekimori";

/// What a policy does to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyAction {
    /// Require `level` (2 or 3) of every login and session.
    RaiseLevel,
    /// Refuse push approvals.
    SuspendPush,
    /// Refuse logins and end the sessions.
    Block,
    /// End the sessions and OIDC grants now (not lasting).
    Reauthenticate,
}

impl PolicyAction {
    /// As written.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyAction::RaiseLevel => "raise_level",
            PolicyAction::SuspendPush => "suspend_push",
            PolicyAction::Block => "block",
            PolicyAction::Reauthenticate => "reauthenticate",
        }
    }
}

/// A response policy as written in the routing document's `response_policies`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponsePolicy {
    /// Its name (escalation counts per policy).
    pub name: String,
    /// Every matcher must match the alert's labels.
    pub matchers: Vec<Matcher>,
    /// What it does.
    pub action: PolicyAction,
    /// For `raise_level`: 2 or 3.
    pub level: Option<u8>,
    /// How long (not with `escalation`, not for `reauthenticate`).
    #[serde(default, with = "crate::duration::opt")]
    pub duration: Option<Duration>,
    /// How long the first, second, … time within `escalation_window` (the last step
    /// repeats).
    #[serde(default, with = "crate::duration::list")]
    pub escalation: Vec<Duration>,
    /// Earlier applications within this window count as repeats (default a week).
    #[serde(default, with = "crate::duration::opt")]
    pub escalation_window: Option<Duration>,
    /// Sources whose alerts may act (the alert's `source` label); default Sekimori's own.
    #[serde(default = "default_sources")]
    pub trusted_sources: Vec<String>,
    /// Users never acted on.
    #[serde(default)]
    pub exempt_users: Vec<String>,
    /// Members of these groups are never acted on.
    #[serde(default)]
    pub exempt_groups: Vec<String>,
}

fn default_sources() -> Vec<String> {
    vec![SEKIMORI_SOURCE.to_owned()]
}

impl ResponsePolicy {
    /// The durations, first offence first.
    pub fn steps(&self) -> Vec<Duration> {
        match self.duration {
            Some(d) => vec![d],
            None => self.escalation.clone(),
        }
    }

    /// The escalation window (default a week).
    pub fn window(&self) -> Duration {
        self.escalation_window.unwrap_or(Duration::from_secs(7 * 86_400))
    }

    /// Whether an alert with `labels` acts under this policy: its matchers match, its
    /// source is trusted, and it names a user.
    pub fn acts_on(&self, labels: &Labels) -> bool {
        all_match(&self.matchers, labels)
            && labels.get("source").is_some_and(|s| self.trusted_sources.iter().any(|t| t == s))
            && labels.get("user").is_some_and(|u| !u.is_empty())
    }

    pub(crate) fn check(&self, place: &str) -> Result<(), ConfigError> {
        let err = |at: &str, reason: &str| ConfigError { place: format!("{place}.{at}"), reason: reason.to_owned() };
        if self.name.trim().is_empty() {
            return Err(err("name", "must not be empty"));
        }
        if self.matchers.is_empty() {
            return Err(err("matchers", "a policy needs at least one matcher"));
        }
        match (self.action, self.level) {
            (PolicyAction::RaiseLevel, Some(2..=3)) => {}
            (PolicyAction::RaiseLevel, _) => return Err(err("level", "raise_level needs a level of 2 or 3")),
            (_, Some(_)) => return Err(err("level", "only raise_level takes a level")),
            _ => {}
        }
        let lasting = self.action != PolicyAction::Reauthenticate;
        match (self.duration.is_some(), self.escalation.is_empty(), lasting) {
            (false, true, true) => return Err(err("duration", "a duration or an escalation is needed")),
            (true, false, _) => return Err(err("escalation", "give a duration or an escalation, not both")),
            (true, _, false) | (_, false, false) => {
                return Err(err("duration", "reauthenticate is not lasting: it takes no duration"))
            }
            _ => {}
        }
        if self.steps().iter().any(|d| d.is_zero() || d.as_secs() > 366 * 86_400) {
            return Err(err("duration", "each duration is longer than zero and at most a year"));
        }
        if self.window().is_zero() {
            return Err(err("escalation_window", "must be longer than zero"));
        }
        if self.trusted_sources.is_empty() {
            return Err(err("trusted_sources", "at least one source (the default is [sekimori])"));
        }
        Ok(())
    }
}
