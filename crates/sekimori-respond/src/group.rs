//! Grouping: alerts that end at the same route with the same values of its `group_by`
//! labels are one group, notified together. A new group waits `group_wait` for company;
//! after that it is looked at every `group_interval` and notified when alerts joined or
//! left it, or when `repeat_interval` passed since it was last notified.

use std::collections::{BTreeMap, BTreeSet};

use crate::labels::Labels;
use crate::route::ResolvedRoute;

/// A group: the route's path and the grouping labels' values.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKey {
    /// The route, e.g. `route.routes[0]`.
    pub route: String,
    /// The grouping labels and their values (absent labels left out).
    pub labels: Labels,
}

impl GroupKey {
    /// The key of `labels` at `route`.
    pub fn of(route: &ResolvedRoute, labels: &Labels) -> Self {
        let labels = match &route.group_by {
            None => labels.clone(),
            Some(by) => labels.iter().filter(|(k, _)| by.contains(*k)).map(|(k, v)| (k.clone(), v.clone())).collect(),
        };
        GroupKey { route: route.path.clone(), labels }
    }
}

/// A notification due: the group, its receiver, and the alerts firing in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flush {
    /// The group.
    pub key: GroupKey,
    /// Where it goes.
    pub receiver: String,
    /// The firing alerts, in label order.
    pub alerts: Vec<Labels>,
    /// The alerts notified last time that have been resolved since, in label order.
    pub resolved: Vec<Labels>,
}

#[derive(Debug)]
struct Group {
    route: ResolvedRoute,
    alerts: BTreeSet<Labels>,
    next_check_ms: i64,
    /// What was last notified, and when.
    notified: Option<(BTreeSet<Labels>, i64)>,
}

fn ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The aggregation groups of one tenant, driven by the caller's clock.
#[derive(Debug, Default)]
pub struct Grouper {
    groups: BTreeMap<GroupKey, Group>,
}

impl Grouper {
    /// An empty set of groups.
    pub fn new() -> Self {
        Grouper::default()
    }

    /// An alert with `labels` fires at `now_ms` and ends at `route`.
    pub fn fire(&mut self, route: &ResolvedRoute, labels: &Labels, now_ms: i64) {
        let key = GroupKey::of(route, labels);
        let group = self.groups.entry(key).or_insert_with(|| Group {
            route: route.clone(),
            alerts: BTreeSet::new(),
            next_check_ms: now_ms.saturating_add(ms(route.timers.group_wait)),
            notified: None,
        });
        group.alerts.insert(labels.clone());
    }

    /// An alert with `labels` at `route` is resolved (its group is notified at
    /// its next check that it changed).
    pub fn resolve(&mut self, route: &ResolvedRoute, labels: &Labels) {
        if let Some(group) = self.groups.get_mut(&GroupKey::of(route, labels)) {
            group.alerts.remove(labels);
        }
    }

    /// The alert `labels` at `route` is to be notified again at its group's next check (e.g.
    /// a silence over it ended while it still fires), as if it had just joined.
    pub fn renotify(&mut self, route: &ResolvedRoute, labels: &Labels) {
        if let Some((last, _)) = self.groups.get_mut(&GroupKey::of(route, labels)).and_then(|g| g.notified.as_mut()) {
            last.remove(labels);
        }
    }

    /// The notifications due at `now_ms`; groups that are empty and were told so are
    /// forgotten.
    pub fn due(&mut self, now_ms: i64) -> Vec<Flush> {
        let mut out = Vec::new();
        for (key, group) in &mut self.groups {
            if group.next_check_ms > now_ms {
                continue;
            }
            group.next_check_ms = now_ms.saturating_add(ms(group.route.timers.group_interval));
            let send = match &group.notified {
                None => !group.alerts.is_empty(),
                Some((last, at)) => {
                    *last != group.alerts
                        || (!group.alerts.is_empty()
                            && now_ms >= at.saturating_add(ms(group.route.timers.repeat_interval)))
                }
            };
            if send {
                let resolved = match &group.notified {
                    Some((last, _)) => last.difference(&group.alerts).cloned().collect(),
                    None => Vec::new(),
                };
                out.push(Flush {
                    key: key.clone(),
                    receiver: group.route.receiver.clone(),
                    alerts: group.alerts.iter().cloned().collect(),
                    resolved,
                });
                group.notified = Some((group.alerts.clone(), now_ms));
            }
        }
        self.groups.retain(|_, g| !g.alerts.is_empty() || g.notified.as_ref().is_some_and(|(l, _)| !l.is_empty()));
        out
    }

    /// When the next group is due, if any.
    pub fn next_due_ms(&self) -> Option<i64> {
        self.groups.values().map(|g| g.next_check_ms).min()
    }

    /// How many groups there are.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}
