//! The routing document and its route tree.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use serde::Deserialize;

use crate::inhibit::InhibitRule;
use crate::labels::{all_match, Labels, Matcher};
use crate::policy::ResponsePolicy;
use crate::receiver::{Channel, Receiver};
use crate::time_interval::{CheckedInterval, TimeInterval};

/// A tenant's routing document: the route tree, the receivers it names, inhibition rules
/// and named time intervals.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingConfig {
    /// The root route (it takes every alert; it has a receiver and no matchers).
    pub route: Route,
    /// The receivers routes may name, with their channels.
    #[serde(default)]
    pub receivers: Vec<Receiver>,
    /// Inhibition rules.
    #[serde(default)]
    pub inhibit_rules: Vec<InhibitRule>,
    /// Named time intervals for `mute_time_intervals` and `active_time_intervals`.
    #[serde(default)]
    pub time_intervals: Vec<TimeInterval>,
    /// Automated responses to alerts about a user.
    #[serde(default)]
    pub response_policies: Vec<ResponsePolicy>,
    /// How users are told by email of a response to them.
    pub user_notices: Option<UserNotices>,
}

/// Emails to users about responses to them: through a receiver's email channel (its
/// server, TLS, credentials and sender), to the user's own address.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserNotices {
    /// The receiver whose first email channel sends them.
    pub email_receiver: String,
    /// The notices' language (default: the channel's).
    pub language: Option<crate::receiver::Language>,
}

/// One node of the route tree, as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Where matching alerts go; inherited from the parent when absent.
    pub receiver: Option<String>,
    /// Every matcher must match.
    #[serde(default)]
    pub matchers: Vec<Matcher>,
    /// Keep trying the following siblings after this route matched.
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
    /// Labels that split alerts into groups (`...`: every label); inherited.
    pub group_by: Option<Vec<String>>,
    /// How long a new group waits for more alerts before its first notification; inherited.
    #[serde(default, with = "crate::duration::opt")]
    pub group_wait: Option<Duration>,
    /// How long a group waits before notifying about alerts added since; inherited.
    #[serde(default, with = "crate::duration::opt")]
    pub group_interval: Option<Duration>,
    /// How long before an unchanged group is notified again; inherited.
    #[serde(default, with = "crate::duration::opt")]
    pub repeat_interval: Option<Duration>,
    /// Time intervals during which this route notifies no one (not inherited).
    #[serde(default)]
    pub mute_time_intervals: Vec<String>,
    /// Time intervals outside which this route notifies no one (not inherited).
    #[serde(default)]
    pub active_time_intervals: Vec<String>,
    /// Child routes, tried in order.
    #[serde(default)]
    pub routes: Vec<Route>,
}

/// The grouping timers of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// Before the first notification of a new group.
    pub group_wait: Duration,
    /// Between notifications about a changed group.
    pub group_interval: Duration,
    /// Before an unchanged group is notified again.
    pub repeat_interval: Duration,
}

impl Default for Timers {
    /// Alertmanager's defaults: 30 s, 5 min, 4 h.
    fn default() -> Self {
        Timers {
            group_wait: Duration::from_secs(30),
            group_interval: Duration::from_secs(300),
            repeat_interval: Duration::from_secs(4 * 3600),
        }
    }
}

/// A route with what it inherited: what an alert that ends there is sent with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRoute {
    /// Where it is in the document, e.g. `route.routes[1].routes[0]`.
    pub path: String,
    /// The receiver.
    pub receiver: String,
    /// The grouping labels; `None`: every label (`...`).
    pub group_by: Option<BTreeSet<String>>,
    /// The timers.
    pub timers: Timers,
    /// Muted during these intervals.
    pub mute_time_intervals: Vec<String>,
    /// Active only during these intervals (empty: always).
    pub active_time_intervals: Vec<String>,
}

/// A routing document that is not usable, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {reason}")]
pub struct ConfigError {
    /// Where, e.g. `route.routes[2].receiver`.
    pub place: String,
    /// Why.
    pub reason: String,
}

fn error(place: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError { place: place.into(), reason: reason.into() }
}

#[derive(Debug)]
struct Node {
    resolved: ResolvedRoute,
    matchers: Vec<Matcher>,
    continue_matching: bool,
    children: Vec<Node>,
}

/// A checked routing document, ready to route alerts.
#[derive(Debug)]
pub struct RoutingTree {
    root: Node,
    inhibit_rules: Vec<InhibitRule>,
    intervals: HashMap<String, CheckedInterval>,
    receivers: HashMap<String, Receiver>,
    policies: Vec<ResponsePolicy>,
    user_notices: Option<UserNotices>,
}

impl RoutingTree {
    /// Checks `config` (every receiver and time interval named exists, the root takes
    /// every alert, timers are positive, label names are valid) and builds the tree.
    pub fn new(config: RoutingConfig) -> Result<Self, ConfigError> {
        let mut names = BTreeSet::new();
        for (i, r) in config.receivers.iter().enumerate() {
            if r.name.trim().is_empty() {
                return Err(error(format!("receivers[{i}].name"), "must not be empty"));
            }
            if !names.insert(r.name.as_str()) {
                return Err(error(format!("receivers[{i}].name"), format!("{:?} is defined twice", r.name)));
            }
            r.check(&format!("receivers[{i}]"))?;
        }
        let mut intervals = HashMap::new();
        for (i, t) in config.time_intervals.iter().enumerate() {
            let checked = t.check().map_err(|e| error(format!("time_intervals[{i}]"), e.to_string()))?;
            if intervals.insert(t.name.clone(), checked).is_some() {
                return Err(error(format!("time_intervals[{i}].name"), format!("{:?} is defined twice", t.name)));
            }
        }
        let root = &config.route;
        if root.receiver.is_none() {
            return Err(error("route.receiver", "the root route needs a receiver (where alerts no route takes go)"));
        }
        if !root.matchers.is_empty() {
            return Err(error("route.matchers", "the root route takes every alert; it has no matchers"));
        }
        if !root.mute_time_intervals.is_empty() || !root.active_time_intervals.is_empty() {
            return Err(error("route.mute_time_intervals", "the root route cannot be muted"));
        }
        let start = ResolvedRoute {
            path: "route".into(),
            receiver: String::new(),
            group_by: Some(BTreeSet::new()),
            timers: Timers::default(),
            mute_time_intervals: Vec::new(),
            active_time_intervals: Vec::new(),
        };
        let check = Check { receivers: &names, intervals: &intervals };
        let root = check.node(root, "route".into(), &start)?;
        for (i, rule) in config.inhibit_rules.iter().enumerate() {
            if let Some(bad) = rule.equal.iter().find(|l| !crate::labels::valid_label(l)) {
                return Err(error(format!("inhibit_rules[{i}].equal"), format!("{bad:?} is not a label name")));
            }
        }
        let mut policy_names = BTreeSet::new();
        for (i, p) in config.response_policies.iter().enumerate() {
            p.check(&format!("response_policies[{i}]"))?;
            if !policy_names.insert(p.name.as_str()) {
                return Err(error(format!("response_policies[{i}].name"), format!("{:?} is defined twice", p.name)));
            }
        }
        if let Some(u) = &config.user_notices {
            let Some(r) = config.receivers.iter().find(|r| r.name == u.email_receiver) else {
                return Err(error("user_notices.email_receiver", format!("no receiver named {:?}", u.email_receiver)));
            };
            if r.email_configs.is_empty() {
                return Err(error(
                    "user_notices.email_receiver",
                    format!("{:?} has no email channel", u.email_receiver),
                ));
            }
        }
        let receivers = config.receivers.into_iter().map(|r| (r.name.clone(), r)).collect();
        Ok(RoutingTree {
            root,
            inhibit_rules: config.inhibit_rules,
            intervals,
            receivers,
            policies: config.response_policies,
            user_notices: config.user_notices,
        })
    }

    /// The routes an alert with `labels` ends at, in order: the deepest matching route of
    /// the first matching branch, and of every later branch while a matched route says
    /// `continue`; the root when no child matches.
    pub fn routes_for(&self, labels: &Labels) -> Vec<&ResolvedRoute> {
        let mut out = Vec::new();
        collect(&self.root, labels, &mut out);
        out
    }

    /// The response policies an alert with `labels` acts under, in document order.
    pub fn policies_for<'a>(&'a self, labels: &'a Labels) -> impl Iterator<Item = &'a ResponsePolicy> + 'a {
        self.policies.iter().filter(move |p| p.acts_on(labels))
    }

    /// The email channel user notices go through, and their language.
    pub fn user_notice_channel(&self) -> Option<(Channel, crate::receiver::Language)> {
        let u = self.user_notices.as_ref()?;
        let channel = self.receivers.get(&u.email_receiver)?.channels().into_iter().find(|c| c.email.is_some())?;
        // Neither the notices nor the receiver name a language: English, as documented.
        let language =
            u.language.or_else(|| channel.email.as_ref().map(|e| e.language)).unwrap_or(crate::receiver::Language::En);
        Some((channel, language))
    }

    /// Whether the document has response policies.
    pub fn has_policies(&self) -> bool {
        !self.policies.is_empty()
    }

    /// The receiver named `name`.
    pub fn receiver(&self, name: &str) -> Option<&Receiver> {
        self.receivers.get(name)
    }

    /// The inhibition rules.
    pub fn inhibit_rules(&self) -> &[InhibitRule] {
        &self.inhibit_rules
    }

    /// An [`crate::Inhibitor`] over this document's rules, with no alert firing yet.
    pub fn inhibitor(&self) -> crate::Inhibitor {
        crate::Inhibitor::new(self.inhibit_rules.clone())
    }

    /// Whether `route` notifies no one at `now_ms` because of its mute or active intervals.
    pub fn muted(&self, route: &ResolvedRoute, now_ms: i64) -> bool {
        let within = |names: &[String]| names.iter().filter_map(|n| self.intervals.get(n)).any(|t| t.contains(now_ms));
        within(&route.mute_time_intervals)
            || (!route.active_time_intervals.is_empty() && !within(&route.active_time_intervals))
    }
}

fn collect<'a>(node: &'a Node, labels: &Labels, out: &mut Vec<&'a ResolvedRoute>) -> bool {
    if !all_match(&node.matchers, labels) {
        return false;
    }
    let before = out.len();
    for child in &node.children {
        if collect(child, labels, out) && !child.continue_matching {
            break;
        }
    }
    if out.len() == before {
        out.push(&node.resolved);
    }
    true
}

struct Check<'a> {
    receivers: &'a BTreeSet<&'a str>,
    intervals: &'a HashMap<String, CheckedInterval>,
}

impl Check<'_> {
    fn node(&self, r: &Route, path: String, parent: &ResolvedRoute) -> Result<Node, ConfigError> {
        let receiver = match &r.receiver {
            Some(name) if !self.receivers.contains(name.as_str()) => {
                return Err(error(format!("{path}.receiver"), format!("no receiver named {name:?}")))
            }
            Some(name) => name.clone(),
            None => parent.receiver.clone(),
        };
        let group_by = match &r.group_by {
            None => parent.group_by.clone(),
            Some(labels) if labels.iter().any(|l| l == "...") => {
                if labels.len() > 1 {
                    return Err(error(format!("{path}.group_by"), "\"...\" (every label) stands alone"));
                }
                None
            }
            Some(labels) => {
                if let Some(bad) = labels.iter().find(|l| !crate::labels::valid_label(l)) {
                    return Err(error(format!("{path}.group_by"), format!("{bad:?} is not a label name")));
                }
                Some(labels.iter().cloned().collect())
            }
        };
        let mut timers = parent.timers;
        for (key, value, slot) in [
            ("group_wait", r.group_wait, &mut timers.group_wait),
            ("group_interval", r.group_interval, &mut timers.group_interval),
            ("repeat_interval", r.repeat_interval, &mut timers.repeat_interval),
        ] {
            if let Some(v) = value {
                if v.is_zero() && key != "group_wait" {
                    return Err(error(format!("{path}.{key}"), "must be longer than zero"));
                }
                *slot = v;
            }
        }
        for (key, names) in
            [("mute_time_intervals", &r.mute_time_intervals), ("active_time_intervals", &r.active_time_intervals)]
        {
            if let Some(bad) = names.iter().find(|n| !self.intervals.contains_key(n.as_str())) {
                return Err(error(format!("{path}.{key}"), format!("no time interval named {bad:?}")));
            }
        }
        let resolved = ResolvedRoute {
            path: path.clone(),
            receiver,
            group_by,
            timers,
            mute_time_intervals: r.mute_time_intervals.clone(),
            active_time_intervals: r.active_time_intervals.clone(),
        };
        let children = r
            .routes
            .iter()
            .enumerate()
            .map(|(i, c)| self.node(c, format!("{path}.routes[{i}]"), &resolved))
            .collect::<Result<_, _>>()?;
        Ok(Node { resolved, matchers: r.matchers.clone(), continue_matching: r.continue_matching, children })
    }
}
