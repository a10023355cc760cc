//! Search of the stored (ingested) events: by time range, source, the entity an event is
//! about (user, IP address or host: read from an index kept as events are stored), and one
//! field's value. A search field (`[detect] search_fields`) is read from an index too, from
//! when that index is complete; any other field (and a search field before then) is checked
//! on each event read, within a bounded number of events per request, so a search never
//! holds the database for long (the answer says where to go on). A pass in the background
//! indexes the events stored before a search field was added, moving its start back.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::RwLock;

use sekimori_core::{ErrorCode, ServiceError, TenantId, Timestamp};
use sekimori_store::{FieldValue, IngestedEvent, IngestedQuery, SearchField};
use serde_json::Value;

use crate::{Watch, WatchResult};

/// Most events one request reads to check a field condition.
pub const MAX_SCAN: i64 = 100_000;
/// Events read per query while scanning.
const SCAN_PAGE: i64 = 2_000;
/// Most events one answer holds.
pub const MAX_LIMIT: i64 = 1_000;
/// Longest value (bytes) a search field's index keeps; a search for a longer one reads the
/// events.
pub const MAX_INDEXED_VALUE: usize = 256;
/// Most search fields.
pub const MAX_SEARCH_FIELDS: usize = 32;
/// Most older events of each tenant one step of the background pass indexes.
pub const INDEX_STEP: i64 = 5_000;
/// About the most events one step holds in memory: with more than ten tenants each gives
/// fewer (at least [`INDEX_STEP_LEAST`]).
const INDEX_STEP_ALL: i64 = 50_000;
const INDEX_STEP_LEAST: i64 = 100;

/// One search: the stored events `scope` selects (time range, source, entity by index,
/// where to go on, how many to answer), of those the ones whose `field` equals a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSearch {
    /// (`scope.field` is set by the search itself, from `field`.)
    pub scope: IngestedQuery,
    /// `(field, value)`: the event's field (a key, else a dotted path) equal to the value
    /// (numbers and booleans as written in JSON).
    pub field: Option<(String, String)>,
}

/// What a search found.
#[derive(Debug, Clone)]
pub struct Found {
    /// Newest first, each with its parsed document.
    pub events: Vec<(IngestedEvent, Value)>,
    /// Events read to find them.
    pub scanned: i64,
    /// Where the next page starts (`before`), when there may be more.
    pub next: Option<(Timestamp, i64)>,
    /// When the field condition is on a search field: from when its index is complete
    /// (events before then were read one by one).
    pub indexed_since: Option<Timestamp>,
}

/// A field's value as a search compares it: text as it is, numbers and booleans as written
/// in JSON; none for objects, arrays, null and a missing field.
pub fn field_text<'a>(event: &'a Value, field: &str) -> Option<Cow<'a, str>> {
    match sekimori_detect::baseline::field(event, field)? {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

/// A field's value as a search field's index keeps it: none when it is longer than
/// [`MAX_INDEXED_VALUE`] (a search for such a value reads the events).
fn indexed_value<'a>(event: &'a Value, field: &str) -> Option<Cow<'a, str>> {
    field_text(event, field).filter(|v| v.len() <= MAX_INDEXED_VALUE)
}

/// Whether `event`'s `field` equals `want`.
pub fn field_equals(event: &Value, field: &str, want: &str) -> bool {
    field_text(event, field).is_some_and(|v| v == want)
}

/// The search fields, and from when each one's index is complete (as last read from the
/// store).
#[derive(Debug, Default)]
pub struct SearchFields {
    names: Vec<String>,
    since: RwLock<BTreeMap<String, Timestamp>>,
}

impl SearchFields {
    pub fn new(names: Vec<String>) -> Self {
        SearchFields { names, since: RwLock::default() }
    }

    /// Each event's values of the search fields (index into `events`, field, value).
    pub fn values_of(&self, events: &[Value]) -> Vec<(usize, String, String)> {
        if self.names.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (index, event) in events.iter().enumerate() {
            for name in &self.names {
                if let Some(v) = indexed_value(event, name) {
                    out.push((index, name.clone(), v.into_owned()));
                }
            }
        }
        out
    }

    /// From when `name`'s index is complete, if it is a search field.
    fn since(&self, name: &str) -> Option<Timestamp> {
        self.since.read().unwrap_or_else(|p| p.into_inner()).get(name).copied()
    }

    /// Keeps what the store says of the fields this node indexes.
    fn remember(&self, stored: &[SearchField]) {
        let known = stored.iter().filter(|f| self.names.contains(&f.name)).map(|f| (f.name.clone(), f.since));
        *self.since.write().unwrap_or_else(|p| p.into_inner()) = known.collect();
    }
}

/// The reads one search makes, newest first: each a query and whether its events must be
/// checked against the field condition one by one.
fn phases(search: &EventSearch, indexed_since: Option<Timestamp>) -> Vec<(IngestedQuery, bool)> {
    let scope = IngestedQuery { field: None, ..search.scope.clone() };
    match (indexed_since, &search.field) {
        (Some(since), Some(field)) => {
            let mut out = Vec::new();
            // Received from `since`: by the index. Before it: read and checked.
            if scope.until > since {
                out.push((
                    IngestedQuery { since: scope.since.max(since), field: Some(field.clone()), ..scope.clone() },
                    false,
                ));
            }
            if scope.since < since {
                out.push((IngestedQuery { until: scope.until.min(since), ..scope }, true));
            }
            out
        }
        _ => vec![(scope, search.field.is_some())],
    }
}

impl Watch {
    /// Finds the tenant's stored events, newest first.
    pub async fn search_events(&self, tenant_id: &TenantId, search: &EventSearch) -> WatchResult<Found> {
        let limit = search.scope.limit.clamp(1, MAX_LIMIT);
        let indexed_since = match (&search.field, &search.scope.entity) {
            (Some((field, value)), None) if value.len() <= MAX_INDEXED_VALUE => self.search_fields.since(field),
            _ => None,
        };
        let mut found = Vec::new();
        let mut scanned = 0;
        let mut before = search.scope.before;
        for (query, check) in phases(search, indexed_since) {
            // A condition checked here reads pages of the scope and keeps what matches.
            let mut query = IngestedQuery { limit: if check { SCAN_PAGE } else { limit }, before, ..query };
            loop {
                let page = self.store.search_ingested(tenant_id, &query).await?;
                let full = i64::try_from(page.len()).unwrap_or(i64::MAX) == query.limit;
                for event in page {
                    scanned += 1;
                    before = Some((event.received_at, event.seq));
                    query.before = before;
                    let doc: Value = serde_json::from_str(&event.doc).map_err(|e| {
                        ServiceError::new(ErrorCode::Internal, format!("stored event {}: {e}", event.seq))
                    })?;
                    if search.field.as_ref().is_none_or(|(f, v)| field_equals(&doc, f, v)) {
                        found.push((event, doc));
                        if i64::try_from(found.len()).unwrap_or(i64::MAX) == limit {
                            return Ok(Found { events: found, scanned, next: before, indexed_since });
                        }
                    }
                }
                if !full {
                    break;
                }
                if check && scanned >= MAX_SCAN {
                    return Ok(Found { events: found, scanned, next: before, indexed_since });
                }
            }
        }
        Ok(Found { events: found, scanned, next: None, indexed_since })
    }

    /// Makes the store's search fields this node's (a new one is indexed from now) and
    /// reads from when each is complete. Runs at start, before events are stored.
    pub async fn sync_search_fields(&self) -> WatchResult<Vec<SearchField>> {
        let fields = self.store.sync_search_fields(&self.search_fields.names, self.clock.now()).await?;
        self.search_fields.remember(&fields);
        Ok(fields)
    }

    /// One step of the pass that indexes the events stored before a search field was: for
    /// the fields whose index starts latest, up to [`INDEX_STEP`] of each tenant's events
    /// before that start (fewer each with more than ten tenants), which then moves back (to 0 when none are left). Returns how many
    /// events it indexed: 0 when there was nothing to do (or another node did it).
    pub async fn index_older_events(&self) -> WatchResult<usize> {
        let stored = self.store.search_fields().await?;
        self.search_fields.remember(&stored);
        let ours = || stored.iter().filter(|f| self.search_fields.names.contains(&f.name) && f.since.millis() > 0);
        let Some(from) = ours().map(|f| f.since).max() else {
            return Ok(0);
        };
        let names: Vec<String> = ours().filter(|f| f.since == from).map(|f| f.name.clone()).collect();
        // Each tenant's events just before `from`: complete after its oldest (at it too when
        // all are of one millisecond, read whole), or all of them when fewer came back.
        let mut events = Vec::new();
        let mut to = Timestamp(0);
        let tenants = self.store.tenant_ids().await?;
        let step = (INDEX_STEP_ALL / i64::try_from(tenants.len().max(1)).unwrap_or(i64::MAX))
            .clamp(INDEX_STEP_LEAST, INDEX_STEP);
        for tenant in tenants {
            let mut chunk = self.store.ingested_before(&tenant, from, step).await?;
            let (Some(newest), Some(oldest)) = (chunk.first(), chunk.last()) else {
                continue;
            };
            let (newest, oldest) = (newest.received_at, oldest.received_at);
            let complete_from = if i64::try_from(chunk.len()).unwrap_or(i64::MAX) < step {
                Timestamp(0)
            } else if newest == oldest {
                chunk = self.store.ingested_at(&tenant, oldest).await?;
                oldest
            } else {
                Timestamp(oldest.millis() + 1)
            };
            to = to.max(complete_from);
            events.extend(chunk);
        }
        events.retain(|e| e.received_at >= to);
        let indexed = events.len();
        let fields = names.clone();
        let values = tokio::task::spawn_blocking(move || values_of_stored(&events, &fields))
            .await
            .map_err(|e| ServiceError::new(ErrorCode::Internal, format!("indexing failed: {e}")))?;
        let moved = self.store.extend_search_index(&names, from, to, &values).await?;
        self.search_fields.remember(&self.store.search_fields().await?);
        Ok(if moved { indexed.max(1) } else { 0 })
    }
}

/// The values of `fields` in stored events, for the index. A stored event that is not
/// JSON (the store wrote it from a parsed one, so it never should be) is left out and
/// logged: a search reading it fails with its number.
fn values_of_stored(events: &[IngestedEvent], fields: &[String]) -> Vec<FieldValue> {
    let mut out = Vec::new();
    for e in events {
        let doc: Value = match serde_json::from_str(&e.doc) {
            Ok(doc) => doc,
            Err(err) => {
                tracing::warn!(seq = e.seq, error = %err, "a stored event is not JSON; not indexed");
                continue;
            }
        };
        for field in fields {
            if let Some(v) = indexed_value(&doc, field) {
                out.push(FieldValue {
                    tenant_id: e.tenant_id.clone(),
                    field: field.clone(),
                    value: v.into_owned(),
                    seq: e.seq,
                    received_at: e.received_at,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_matches_by_key_then_path_and_numbers_as_written() {
        let e = serde_json::json!({"EventID": 4625, "user.name": "dave", "source": {"ip": "192.0.2.7"}, "ok": true});
        assert!(field_equals(&e, "EventID", "4625"));
        assert!(!field_equals(&e, "EventID", "4624"));
        assert!(field_equals(&e, "user.name", "dave"));
        assert!(field_equals(&e, "source.ip", "192.0.2.7"));
        assert!(field_equals(&e, "ok", "true"));
        assert!(!field_equals(&e, "missing", ""));
        assert!(!field_equals(&e, "source", "{}"), "objects never equal a value");
    }

    fn search(since: i64, until: i64, field: Option<(&str, &str)>) -> EventSearch {
        EventSearch {
            scope: IngestedQuery {
                since: Timestamp(since),
                until: Timestamp(until),
                source_id: None,
                entity: None,
                field: None,
                before: None,
                limit: 10,
            },
            field: field.map(|(f, v)| (f.to_owned(), v.to_owned())),
        }
    }

    #[test]
    fn a_search_field_reads_its_index_from_its_start_and_the_events_before_it() {
        let key = Some(("EventID".to_owned(), "4625".to_owned()));
        let ranges = |p: Vec<(IngestedQuery, bool)>| {
            p.into_iter().map(|(q, check)| (q.since.0, q.until.0, q.field.is_some(), check)).collect::<Vec<_>>()
        };
        let s = search(100, 200, Some(("EventID", "4625")));
        assert_eq!(ranges(phases(&s, Some(Timestamp(150)))), [(150, 200, true, false), (100, 150, false, true)]);
        assert_eq!(ranges(phases(&s, Some(Timestamp(0)))), [(100, 200, true, false)], "all indexed");
        assert_eq!(ranges(phases(&s, Some(Timestamp(500)))), [(100, 200, false, true)], "none indexed yet");
        assert_eq!(ranges(phases(&s, None)), [(100, 200, false, true)], "not a search field");
        assert_eq!(ranges(phases(&search(100, 200, None), Some(Timestamp(150)))), [(100, 200, false, false)]);
        assert_eq!(phases(&s, Some(Timestamp(150)))[0].0.field, key);
    }

    #[test]
    fn search_fields_index_scalars_up_to_the_longest_value() {
        let fields = SearchFields::new(vec!["EventID".into(), "user.name".into(), "Data".into()]);
        let events = [
            serde_json::json!({"EventID": 4625, "user": {"name": "dave"}, "Data": ["a", "b"]}),
            serde_json::json!({"EventID": "x".repeat(MAX_INDEXED_VALUE + 1), "user.name": true}),
        ];
        assert_eq!(
            fields.values_of(&events),
            [
                (0, "EventID".into(), "4625".into()),
                (0, "user.name".into(), "dave".into()),
                (1, "user.name".into(), "true".into())
            ]
        );
        assert!(SearchFields::default().values_of(&events).is_empty());
    }
}
