//! Detection services: the log sources a tenant lets send events, `POST /api/v1/ingest`
//! through the Sigma engine, and the alerts and dead letters that come out. The server's
//! handlers are thin wrappers over [`Watch`]; the engine is `sekimori-detect`.

use std::borrow::Cow;
use std::io::Read;
use std::sync::{Arc, Mutex};

use sekimori_core::event::{NewEvent, Outcome};
use sekimori_core::names::Label;
use sekimori_core::token::{hash_secret, new_id, new_secret, PrefixedKey};
use sekimori_core::{Clock, ErrorCode, Rng, ServiceError};
use sekimori_detect::input::parse_events;
use sekimori_detect::{Hit, Hunter, RuleSet};
use sekimori_store::{AlertRecord, DeadLetter, EventFilter, IngestBatch, IngestSource, Store};
use serde::Serialize;
use serde_json::Value;

/// Result alias.
pub type WatchResult<T> = Result<T, ServiceError>;

/// Prefix of ingest source keys.
pub const SOURCE_PREFIX: &str = "sking";

/// The source id of alerts raised by Sekimori's own audit events.
pub const AUDIT_SOURCE: &str = "sekimori";
/// The cursor of the audit follower.
const AUDIT_CURSOR: &str = "audit";

/// Bounds on one ingest request.
#[derive(Debug, Clone, Copy)]
pub struct IngestLimits {
    /// Largest body after gzip decompression, bytes.
    pub max_decompressed: usize,
    /// Most documents (events and malformed ones) in one request.
    pub max_events: usize,
    /// How long ingested events and dead letters are kept (alerts stay), days.
    pub retention_days: u32,
}

impl Default for IngestLimits {
    fn default() -> Self {
        IngestLimits { max_decompressed: 16 << 20, max_events: 10_000, retention_days: 30 }
    }
}

/// A new source and its key (shown once).
#[derive(Debug, Clone, Serialize)]
pub struct NewSourceKey {
    pub id: String,
    pub name: String,
    pub key: String,
}

/// What one ingest request did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IngestReport {
    pub accepted: usize,
    pub malformed: usize,
    pub alerts: usize,
}

/// The detection services.
#[derive(Clone)]
pub struct Watch {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
    hunter: Arc<Mutex<Hunter>>,
    limits: IngestLimits,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch").field("limits", &self.limits).finish_non_exhaustive()
    }
}

impl Watch {
    /// The services over `store`, running `rules` on every ingested event.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
        rules: &RuleSet,
        limits: IngestLimits,
    ) -> Result<Watch, String> {
        let hunter = Hunter::new(rules)?;
        Ok(Watch { store, clock, rng, hunter: Arc::new(Mutex::new(hunter)), limits })
    }

    fn new_id(&self) -> String {
        new_id(self.clock.now(), self.rng.as_ref()).to_string()
    }

    /// Adds a log source to the admin's tenant and returns its key (shown once).
    pub async fn add_source(&self, tenant_id: &str, admin_token_id: &str, name: &Label) -> WatchResult<NewSourceKey> {
        let id = self.new_id().replace('-', "");
        let secret = new_secret(self.rng.as_ref());
        let source = IngestSource {
            id: id.clone(),
            tenant_id: tenant_id.to_owned(),
            name: name.to_string(),
            secret_hash: hash_secret(&secret),
            created_at: self.clock.now().millis(),
            revoked_at: None,
        };
        let ev = NewEvent::new(
            self.clock.now(),
            tenant_id,
            "configuration",
            "admin.ingest_source.created",
            Outcome::Success,
        )
        .field("sekimori.ingest_source.id", id.as_str())
        .field("sekimori.ingest_source.name", name.as_str())
        .field("sekimori.admin_token.id", admin_token_id);
        if !self.store.insert_ingest_source(&source, &ev).await? {
            return Err(ServiceError::new(ErrorCode::Conflict, format!("a source named {name} already exists")));
        }
        Ok(NewSourceKey {
            id: id.clone(),
            name: name.to_string(),
            key: PrefixedKey::format(SOURCE_PREFIX, &id, &secret),
        })
    }

    /// The tenant's sources.
    pub async fn list_sources(&self, tenant_id: &str) -> WatchResult<Vec<IngestSource>> {
        Ok(self.store.list_ingest_sources(tenant_id).await?)
    }

    /// Revokes a source of the admin's tenant: its key stops working at once.
    pub async fn revoke_source(&self, tenant_id: &str, admin_token_id: &str, id: &str) -> WatchResult<()> {
        let ev = NewEvent::new(
            self.clock.now(),
            tenant_id,
            "configuration",
            "admin.ingest_source.revoked",
            Outcome::Success,
        )
        .field("sekimori.ingest_source.id", id)
        .field("sekimori.admin_token.id", admin_token_id);
        if !self.store.revoke_ingest_source(tenant_id, id, self.clock.now().millis(), &ev).await? {
            return Err(ServiceError::new(ErrorCode::NotFound, format!("no live ingest source {id}")));
        }
        Ok(())
    }

    /// The source presented as a bearer credential.
    pub async fn authenticate_source(&self, bearer: &str) -> WatchResult<IngestSource> {
        let denied = || ServiceError::new(ErrorCode::Unauthorized, "invalid ingest source key");
        let key = PrefixedKey::parse(SOURCE_PREFIX, bearer).ok_or_else(denied)?;
        let source = self.store.ingest_source(&key.id).await?.ok_or_else(denied)?;
        if !key.unlocks(&source.secret_hash, source.revoked_at) {
            return Err(denied());
        }
        Ok(source)
    }

    /// Reads a request body (NDJSON, a JSON array or documents one after another;
    /// gzip-compressed when `gzip`), runs every event through the rules, and stores the
    /// events, the alerts and a sample of each malformed document in one transaction.
    /// Nothing is dropped silently: a malformed document is counted and kept as a dead
    /// letter, and a body with no readable event at all is refused.
    pub async fn ingest(&self, source: &IngestSource, body: &[u8], gzip: bool) -> WatchResult<IngestReport> {
        let text = self.decode(body, gzip)?;
        let parsed = parse_events(&text);
        let documents = parsed.events.len() + parsed.malformed.len();
        if documents > self.limits.max_events {
            return Err(ServiceError::new(
                ErrorCode::PayloadTooLarge,
                format!("{documents} documents in one request; the limit is {}", self.limits.max_events),
            )
            .with("max_events", self.limits.max_events));
        }
        let now = self.clock.now().millis();
        let dead_letters: Vec<DeadLetter> = parsed
            .malformed
            .iter()
            .map(|m| DeadLetter {
                id: self.new_id(),
                tenant_id: source.tenant_id.clone(),
                source_id: source.id.clone(),
                received_at: now,
                reason: m.to_string(),
                sample: m.sample.clone(),
            })
            .collect();
        let (events, hits) = self.run_rules(parsed.events).await?;
        let malformed = dead_letters.len();
        let batch = self.batch(&source.tenant_id, &source.id, now, &events, hits, dead_letters, None);
        let report = IngestReport { accepted: events.len(), malformed, alerts: batch.alerts.len() };
        self.store.store_ingest(&batch).await?;
        if report.accepted == 0 && report.malformed > 0 {
            let first = parsed.malformed.first().map(ToString::to_string).unwrap_or_default();
            return Err(ServiceError::new(ErrorCode::InvalidRequest, format!("no event could be read ({first})"))
                .with("malformed", report.malformed));
        }
        Ok(report)
    }

    fn decode<'b>(&self, body: &'b [u8], gzip: bool) -> WatchResult<Cow<'b, str>> {
        let too_large = || {
            ServiceError::new(
                ErrorCode::PayloadTooLarge,
                format!("the body is larger than {} bytes decompressed", self.limits.max_decompressed),
            )
        };
        let not_utf8 = |e: std::str::Utf8Error| {
            ServiceError::new(ErrorCode::InvalidRequest, format!("the body is not UTF-8: {e}"))
        };
        if !gzip {
            if body.len() > self.limits.max_decompressed {
                return Err(too_large());
            }
            return std::str::from_utf8(body).map(Cow::Borrowed).map_err(not_utf8);
        }
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(body)
            .take(self.limits.max_decompressed as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| ServiceError::new(ErrorCode::InvalidRequest, format!("not valid gzip: {e}")))?;
        if out.len() > self.limits.max_decompressed {
            return Err(too_large());
        }
        String::from_utf8(out).map(Cow::Owned).map_err(|e| not_utf8(e.utf8_error()))
    }

    /// Runs the rules over `events` off the async workers.
    async fn run_rules(&self, events: Vec<Value>) -> WatchResult<(Vec<Value>, Vec<Vec<Hit>>)> {
        let hunter = Arc::clone(&self.hunter);
        tokio::task::spawn_blocking(move || {
            let mut h = hunter.lock().unwrap_or_else(|p| p.into_inner());
            let hits: Vec<Vec<Hit>> = events.iter().map(|e| h.process(e)).collect();
            (events, hits)
        })
        .await
        .map_err(|e| ServiceError::new(ErrorCode::Internal, format!("detection failed: {e}")))
    }

    /// The batch that stores `events` with the alerts their `hits` raise.
    #[allow(clippy::too_many_arguments)] // reason: one call site each; a struct would only rename them
    fn batch(
        &self,
        tenant_id: &str,
        source_id: &str,
        now: i64,
        events: &[Value],
        hits: Vec<Vec<Hit>>,
        dead_letters: Vec<DeadLetter>,
        cursor: Option<(String, i64, i64)>,
    ) -> IngestBatch {
        let mut alerts = Vec::new();
        for (index, event_hits) in hits.into_iter().enumerate() {
            for hit in event_hits {
                alerts.push((index, self.alert(tenant_id, source_id, hit, now)));
            }
        }
        IngestBatch {
            tenant_id: tenant_id.to_owned(),
            source_id: source_id.to_owned(),
            received_at: now,
            events: events.iter().map(Value::to_string).collect(),
            dead_letters,
            alerts,
            cursor,
        }
    }

    /// Runs Sekimori's own audit events (logins, refusals, admin actions; ECS documents)
    /// through the rules, in order, as source [`AUDIT_SOURCE`] of each event's tenant. The
    /// position is kept in the database and moves in the same transaction as the alerts,
    /// only if no other follower (another node) moved it meanwhile, so every audit event is
    /// judged exactly once, whatever restarts or runs alongside. Returns how many events this
    /// call judged (at most `max`); the server calls it every second.
    pub async fn follow_audit(&self, max: i64) -> WatchResult<usize> {
        let mut after = self.store.watch_cursor(AUDIT_CURSOR).await?;
        let filter = EventFilter { after_seq: Some(after), limit: max, ..EventFilter::default() };
        let rows = self.store.events(&filter).await?;
        let now = self.clock.now().millis();
        let mut start = 0;
        while start < rows.len() {
            let tenant = &rows[start].tenant_id;
            let end = rows[start..].iter().position(|r| &r.tenant_id != tenant).map_or(rows.len(), |n| start + n);
            let run = &rows[start..end];
            // Audit documents are canonical JSON written by Sekimori; one that does not parse
            // is a corrupt row, and the follower stops there rather than skip it.
            let events = run
                .iter()
                .map(|r| {
                    serde_json::from_str::<Value>(&r.doc).map_err(|e| {
                        ServiceError::new(ErrorCode::Internal, format!("audit row {} is not JSON: {e}", r.seq))
                    })
                })
                .collect::<WatchResult<Vec<Value>>>()?;
            let (events, hits) = self.run_rules(events).await?;
            let last = run[run.len() - 1].seq;
            let cursor = Some((AUDIT_CURSOR.to_owned(), after, last));
            let batch = self.batch(tenant, AUDIT_SOURCE, now, &events, hits, Vec::new(), cursor);
            if self.store.store_ingest(&batch).await?.is_none() {
                // Another follower judged these events first.
                return Ok(start);
            }
            after = last;
            start = end;
        }
        Ok(rows.len())
    }

    fn alert(&self, tenant_id: &str, source_id: &str, hit: Hit, now: i64) -> AlertRecord {
        AlertRecord {
            id: self.new_id(),
            tenant_id: tenant_id.to_owned(),
            rule_id: hit.rule_id,
            title: hit.title,
            level: hit.level,
            tags: Value::from(hit.tags).to_string(),
            source_id: source_id.to_owned(),
            event_seq: 0,
            matched: Value::from(hit.matched).to_string(),
            created_at: now,
        }
    }

    /// Deletes ingested events and dead letters older than the retention; run periodically.
    pub async fn housekeeping(&self) -> WatchResult<u64> {
        let cutoff = self.clock.now().millis() - i64::from(self.limits.retention_days) * 86_400_000;
        Ok(self.store.prune_ingested(cutoff).await?)
    }

    /// The tenant's alerts since `since` (ms), newest first.
    pub async fn alerts(&self, tenant_id: &str, since: i64, limit: i64) -> WatchResult<Vec<AlertRecord>> {
        Ok(self.store.alerts(tenant_id, since, limit).await?)
    }

    /// The tenant's dead letters, newest first.
    pub async fn dead_letters(&self, tenant_id: &str, limit: i64) -> WatchResult<Vec<DeadLetter>> {
        Ok(self.store.dead_letters(tenant_id, limit).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sekimori_core::{OsRng, TestClock, Timestamp};

    #[tokio::test]
    async fn events_go_after_the_retention_and_alerts_stay() {
        let store: Arc<dyn Store> = Arc::new(sekimori_store::testing::fresh_sqlite().await);
        let tenant = sekimori_store::Tenant {
            id: "t1".into(),
            name: "default".into(),
            standby_required: true,
            standby_seconds: 60,
            created_at: 0,
        };
        store.ensure_tenant(&tenant).await.expect("tenant");
        let clock = TestClock::new(Timestamp(1_795_000_000_000));
        let (rules, _) = RuleSet::from_yaml(
            "title: any\nlogsource: {product: test}\ndetection:\n  sel:\n    a: 1\n  condition: sel\n",
        );
        let limits = IngestLimits { retention_days: 30, ..IngestLimits::default() };
        let watch = Watch::new(store.clone(), Arc::new(clock.clone()), Arc::new(OsRng), &rules, limits).expect("watch");
        let key = watch.add_source("t1", "admin", &Label::parse("web").expect("label")).await.expect("source");
        let source = watch.authenticate_source(&key.key).await.expect("auth");
        let report = watch.ingest(&source, b"{\"a\":1}\nnope\n", false).await.expect("ingest");
        assert_eq!(report, IngestReport { accepted: 1, malformed: 1, alerts: 1 });

        clock.advance_seconds(29 * 86_400);
        assert_eq!(watch.housekeeping().await.expect("prune"), 0, "still within 30 days");
        clock.advance_seconds(2 * 86_400);
        assert_eq!(watch.housekeeping().await.expect("prune"), 2, "the event and the dead letter");
        assert_eq!(watch.alerts("t1", 0, 10).await.expect("alerts").len(), 1);
    }
}
