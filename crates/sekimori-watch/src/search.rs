//! Search of the stored (ingested) events: by time range, source, the entity an event is
//! about (user, IP address or host: read from an index kept as events are stored) and one
//! field's value (checked on each event read, within a bounded number of events per
//! request, so a search never holds the database for long; the answer says where to go on).

use sekimori_core::{ErrorCode, ServiceError, TenantId, Timestamp};
use sekimori_store::{IngestedEvent, IngestedQuery};
use serde_json::Value;

use crate::{Watch, WatchResult};

/// Most events one request reads to check a field condition.
pub const MAX_SCAN: i64 = 100_000;
/// Events read per query while scanning.
const SCAN_PAGE: i64 = 2_000;
/// Most events one answer holds.
pub const MAX_LIMIT: i64 = 1_000;

/// One search: the stored events `scope` selects (time range, source, entity by index,
/// where to go on, how many to answer), of those the ones whose `field` equals a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSearch {
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
}

/// Whether `event`'s `field` equals `want`.
pub fn field_equals(event: &Value, field: &str, want: &str) -> bool {
    match sekimori_detect::baseline::field(event, field) {
        Some(Value::String(s)) => s == want,
        Some(Value::Number(n)) => n.to_string() == want,
        Some(Value::Bool(b)) => want == if *b { "true" } else { "false" },
        _ => false,
    }
}

impl Watch {
    /// Finds the tenant's stored events, newest first.
    pub async fn search_events(&self, tenant_id: &TenantId, search: &EventSearch) -> WatchResult<Found> {
        let limit = search.scope.limit.clamp(1, MAX_LIMIT);
        // A field condition reads pages of the scope and keeps what matches.
        let page_size = if search.field.is_some() { SCAN_PAGE } else { limit };
        let mut query = IngestedQuery { limit: page_size, ..search.scope.clone() };
        let mut found = Vec::new();
        let mut scanned = 0;
        loop {
            let page = self.store.search_ingested(tenant_id, &query).await?;
            let full = i64::try_from(page.len()).unwrap_or(i64::MAX) == query.limit;
            for event in page {
                scanned += 1;
                query.before = Some((event.received_at, event.seq));
                let doc: Value = serde_json::from_str(&event.doc)
                    .map_err(|e| ServiceError::new(ErrorCode::Internal, format!("stored event {}: {e}", event.seq)))?;
                if search.field.as_ref().is_none_or(|(f, v)| field_equals(&doc, f, v)) {
                    found.push((event, doc));
                    if i64::try_from(found.len()).unwrap_or(i64::MAX) == limit {
                        return Ok(Found { events: found, scanned, next: query.before });
                    }
                }
            }
            if !full {
                return Ok(Found { events: found, scanned, next: None });
            }
            if scanned >= MAX_SCAN {
                return Ok(Found { events: found, scanned, next: query.before });
            }
        }
    }
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
}
