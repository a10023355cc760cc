//! `GET /api/v1/admin/ingested-events`: search of the stored events by time range, source,
//! entity and one field's value, newest first, in pages (docs/protocol.md, Event search).

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use sekimori_gate::roles::Capability;
use sekimori_store::IngestedQuery;
use sekimori_watch::search::{EventSearch, Found};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::authz::{cap, AdminRoutes};
use crate::extract::{rfc3339, AdminAuth, ApiQuery};
use crate::problem::{ApiError, ApiResult};
use crate::AppState;

pub(super) fn router(state: &AppState) -> Router<AppState> {
    AdminRoutes::new(state).get("/api/v1/admin/ingested-events", cap(Capability::DetectionRead), search).into_router()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    /// RFC 3339 or Unix ms.
    since: String,
    until: String,
    /// An ingest source's id.
    source: Option<String>,
    user: Option<String>,
    ip: Option<String>,
    host: Option<String>,
    /// A field (a key, else a dotted path) and the value it must equal; both or neither.
    field: Option<String>,
    value: Option<String>,
    /// The previous answer's `next` (opaque).
    before: Option<String>,
    /// 1–1000, default 100.
    limit: Option<i64>,
    /// `json` (default) or `ndjson`.
    format: Option<String>,
}

impl SearchQuery {
    fn search(&self) -> Result<EventSearch, ApiError> {
        let since = rfc3339("since", &self.since)?;
        let until = rfc3339("until", &self.until)?;
        if until.millis() <= since.millis() {
            return Err(ApiError::invalid("until", "until must be after since"));
        }
        let entity = crate::extract::one_entity(&self.user, &self.ip, &self.host)?;
        let field = match (&self.field, &self.value) {
            (None, None) => None,
            (Some(f), Some(v)) if !f.is_empty() => Some((f.clone(), v.clone())),
            (Some(_), Some(_)) => return Err(ApiError::invalid("field", "the field's name must not be empty")),
            (Some(_), None) => return Err(ApiError::invalid("value", "a field needs the value it must equal")),
            (None, Some(_)) => return Err(ApiError::invalid("field", "a value needs the field it is of")),
        };
        let limit = self.limit.unwrap_or(100);
        if !(1..=sekimori_watch::search::MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid("limit", "limit is 1 to 1000"));
        }
        let scope = IngestedQuery {
            since,
            until,
            source_id: self.source.clone(),
            entity,
            field: None,
            before: self.before.as_deref().map(parse_cursor).transpose()?,
            limit,
        };
        Ok(EventSearch { scope, field })
    }
}

/// Where a page ends, as `next` gives it: `<received at, ms>_<number>`.
fn cursor((at, seq): (sekimori_core::Timestamp, i64)) -> String {
    format!("{}_{seq}", at.millis())
}

fn parse_cursor(text: &str) -> Result<(sekimori_core::Timestamp, i64), ApiError> {
    text.split_once('_')
        .and_then(|(at, seq)| Some((sekimori_core::Timestamp(at.parse().ok()?), seq.parse().ok()?)))
        .ok_or_else(|| ApiError::invalid("before", "before is a previous answer's next"))
}

/// An event as the search shows it.
fn view((e, doc): &(sekimori_store::IngestedEvent, Value)) -> Value {
    json!({"seq": e.seq, "received_at": e.received_at.to_rfc3339(), "source_id": e.source_id, "event": doc})
}

async fn search(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Response> {
    let ndjson = crate::extract::wants_ndjson(q.format.as_deref(), &headers)?;
    let Found { events, scanned, next, indexed_since } = s.watch.search_events(&admin.tenant_id, &q.search()?).await?;
    if ndjson {
        let mut out = String::new();
        for e in &events {
            out.push_str(&view(e).to_string());
            out.push('\n');
        }
        let mut resp = ([(header::CONTENT_TYPE, "application/x-ndjson")], out).into_response();
        if let Some(next) = next.map(cursor) {
            if let Ok(value) = axum::http::HeaderValue::from_str(&next) {
                resp.headers_mut().insert("sekimori-next", value);
            }
        }
        return Ok(resp);
    }
    let next = next.map(cursor);
    let indexed_since = indexed_since.map(|t| t.to_rfc3339());
    Ok(Json(json!({
        "events": events.iter().map(view).collect::<Vec<_>>(),
        "scanned": scanned,
        "next": next,
        "indexed_since": indexed_since,
    }))
    .into_response())
}
