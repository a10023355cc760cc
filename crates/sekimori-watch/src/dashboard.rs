//! The detection dashboard's numbers, from the detection roll-ups (counts per hour kept as
//! each ingest batch is stored), never from a scan of the events or alerts: alerts by
//! level over time, the rules and entities that fired most, and ingest per source with its
//! dead letters.

use std::collections::BTreeMap;

use sekimori_core::{TenantId, Timestamp};
use serde::Serialize;

use crate::{Watch, WatchResult};

/// How many rules and entities the "top" lists hold.
pub const TOP: usize = 10;

/// One bucket of the series.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DetectionPoint {
    /// The bucket's start (RFC 3339).
    pub at: String,
    /// Alerts raised, by level.
    pub alerts: BTreeMap<String, i64>,
    /// Events stored.
    pub events: i64,
    /// Documents that could not be read (dead letters).
    pub dead_letters: i64,
}

/// A rule, with how often it fired.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RuleCount {
    pub title: String,
    pub level: String,
    pub n: i64,
}

/// An entity (`user`, `ip` or `host`), with how many alerts were about it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EntityCount {
    pub kind: String,
    pub value: String,
    pub n: i64,
}

/// An ingest source's counts.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SourceCount {
    pub source_id: String,
    /// Its name, when it is an ingest source of the tenant (Sekimori's own audit events
    /// are `sekimori`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub events: i64,
    pub dead_letters: i64,
}

/// The detection dashboard for a range.
#[derive(Debug, Clone, Serialize)]
pub struct DetectionDashboard {
    /// The range's start, rounded down to its hour (RFC 3339).
    pub since: String,
    /// The range's end, exclusive (RFC 3339).
    pub until: String,
    /// Alerts by level over the range.
    pub alerts: BTreeMap<String, i64>,
    /// The rules that fired most (by title and level), most first, at most [`TOP`].
    pub top_rules: Vec<RuleCount>,
    /// The entities most alerts were about, most first, at most [`TOP`].
    pub top_entities: Vec<EntityCount>,
    /// Events and dead letters per source.
    pub sources: Vec<SourceCount>,
    /// Per bucket, oldest first (empty buckets included).
    pub series: Vec<DetectionPoint>,
}

/// The `n` largest of `counts`, largest first, ties in key order.
fn top<K: Ord + Clone>(counts: BTreeMap<K, i64>, n: usize) -> Vec<(K, i64)> {
    let mut v: Vec<(K, i64)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

impl Watch {
    /// The tenant's detection numbers from `since` to before `until`, in buckets of
    /// `bucket_ms` (an hour or a day; the caller checks the range).
    pub async fn detection_dashboard(
        &self,
        tenant_id: &TenantId,
        since: Timestamp,
        until: Timestamp,
        bucket_ms: i64,
    ) -> WatchResult<DetectionDashboard> {
        let rows = self.store.detection_rollups(tenant_id, since, until).await?;
        let step = bucket_ms.max(1);
        let mut series: BTreeMap<i64, DetectionPoint> = BTreeMap::new();
        let mut at = since.floor_to(step).millis();
        while at < until.millis() {
            let point =
                DetectionPoint { at: Timestamp(at).to_rfc3339(), alerts: BTreeMap::new(), events: 0, dead_letters: 0 };
            series.insert(at, point);
            at += step;
        }
        let mut alerts: BTreeMap<String, i64> = BTreeMap::new();
        let mut rules: BTreeMap<(String, String), i64> = BTreeMap::new();
        let mut entities: BTreeMap<(String, String), i64> = BTreeMap::new();
        let mut sources: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for r in rows {
            let point = series.get_mut(&Timestamp(r.hour).floor_to(step).millis());
            match r.series.as_str() {
                "alerts" => {
                    *alerts.entry(r.label.clone()).or_default() += r.n;
                    if let Some(p) = point {
                        *p.alerts.entry(r.label.clone()).or_default() += r.n;
                    }
                    *rules.entry((r.key, r.label)).or_default() += r.n;
                }
                "entities" => *entities.entry((r.key, r.label)).or_default() += r.n,
                "events" => {
                    sources.entry(r.key).or_default().0 += r.n;
                    if let Some(p) = point {
                        p.events += r.n;
                    }
                }
                "dead_letters" => {
                    sources.entry(r.key).or_default().1 += r.n;
                    if let Some(p) = point {
                        p.dead_letters += r.n;
                    }
                }
                // A series a newer version writes: not this version's to show.
                _ => {}
            }
        }
        let names: BTreeMap<String, String> =
            self.list_sources(tenant_id).await?.into_iter().map(|s| (s.id, s.name)).collect();
        Ok(DetectionDashboard {
            since: since.floor_to(sekimori_core::clock::HOUR_MS).to_rfc3339(),
            until: until.to_rfc3339(),
            alerts,
            top_rules: top(rules, TOP).into_iter().map(|((title, level), n)| RuleCount { title, level, n }).collect(),
            top_entities: top(entities, TOP)
                .into_iter()
                .map(|((kind, value), n)| EntityCount { kind, value, n })
                .collect(),
            sources: sources
                .into_iter()
                .map(|(id, (events, dead_letters))| SourceCount {
                    name: names.get(&id).cloned().or_else(|| (id == crate::AUDIT_SOURCE).then(|| id.clone())),
                    source_id: id,
                    events,
                    dead_letters,
                })
                .collect(),
            series: series.into_values().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_takes_the_largest_first_and_breaks_ties_by_key() {
        let counts: BTreeMap<&str, i64> = [("b", 2), ("a", 2), ("c", 5), ("d", 1)].into_iter().collect();
        assert_eq!(top(counts.clone(), 3), [("c", 5), ("a", 2), ("b", 2)]);
        assert_eq!(top(counts, 10).len(), 4);
    }
}
