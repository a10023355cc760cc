//! Detection services: the log sources a tenant lets send events, `POST /api/v1/ingest`
//! through the Sigma engine, and the alerts and dead letters that come out. The server's
//! handlers are thin wrappers over [`Watch`]; the engine is `sekimori-detect`.

use sekimori_core::ecs::{action, field};
use sekimori_core::{TenantId, Timestamp};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::sync::{Arc, Mutex, RwLock};

use sekimori_core::event::{NewEvent, Outcome};
use sekimori_core::token::new_id;
use sekimori_core::{Clock, ErrorCode, Rng, ServiceError};
use sekimori_detect::baseline::{excerpt, Baselines, Entities, Profile};
use sekimori_detect::input::{parse_events, parse_evtx};
use sekimori_detect::tuning::CompiledTuning;
use sekimori_detect::{DetectError, EventSource, Hit, Hunter, RuleSet};
use sekimori_store::{AlertRecord, DeadLetter, Entity, EventFilter, IngestBatch, IngestSource, Store};
use serde::Serialize;
use serde_json::Value;

pub mod dashboard;
pub mod deliver;
pub mod dispatch;
pub mod metrics;
mod profiles;
pub mod responder;
pub mod search;
pub use routing::ChannelTest;
mod routing;
pub mod secrets;
mod silences;
mod sources;
pub mod syslog;
pub mod triage;
mod tuning;

pub use routing::{check_routing, RoutingVersion, MAX_ROUTING_BYTES};
pub use silences::{silence_of, MAX_SILENCE_MATCHERS, MAX_SILENCE_MS};
pub use sources::{check_source_labels, NewSourceKey, SourceLabels, RESERVED_LABELS, SOURCE_PREFIX};
pub use tuning::{BacktestAlert, BacktestReport};

pub use sekimori_detect::tuning::Tuning;
pub use sekimori_detect::DeclaredLogSource;

/// Result alias.
pub type WatchResult<T> = Result<T, ServiceError>;

/// The source id of alerts raised by Sekimori's own audit events.
pub const AUDIT_SOURCE: &str = "sekimori";
/// Largest event kept whole as an alert's excerpt, bytes.
const EXCERPT_BYTES: usize = 4096;
/// The cursor of the audit follower.
pub const AUDIT_CURSOR: &str = "audit";

/// Bounds on one ingest request.
#[derive(Debug, Clone, Copy)]
pub struct IngestLimits {
    /// Largest body after gzip decompression, bytes.
    pub max_decompressed: usize,
    /// Most documents (events and malformed ones) in one request.
    pub max_events: usize,
    /// How long ingested events and dead letters are kept (alerts stay), days, where a
    /// tenant set nothing else.
    pub retention_days: u32,
    /// Ingest requests judged at once; more wait (their bodies unread) for a slot.
    pub max_concurrent: usize,
    /// How long a request waits for a slot before it is refused with 503 and `Retry-After`.
    pub queue_wait: std::time::Duration,
}

impl Default for IngestLimits {
    fn default() -> Self {
        IngestLimits {
            max_decompressed: 16 << 20,
            max_events: 10_000,
            retention_days: 30,
            max_concurrent: 4,
            queue_wait: std::time::Duration::from_secs(10),
        }
    }
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
    /// Rules: detection under a shared lock (requests judge in parallel), correlation under
    /// the exclusive one, in order.
    hunter: Arc<RwLock<Hunter>>,
    rules: Arc<RuleSet>,
    baselines: Arc<Baselines>,
    /// Each tenant's compiled tuning and its version (0: none written).
    tunings: Arc<Mutex<TuningCache>>,
    /// Behaviour profiles: judged one batch at a time, stored in that order (see `profiles`).
    profile_stages: Arc<profiles::ProfileStages>,
    alert_tx: tokio::sync::broadcast::Sender<AlertRecord>,
    /// Alerts resolved by hand: (tenant, alert id).
    resolved_tx: tokio::sync::broadcast::Sender<(TenantId, String)>,
    limits: IngestLimits,
    listeners: Arc<Mutex<Vec<Arc<syslog::ListenerStats>>>>,
    ingest_slots: Arc<tokio::sync::Semaphore>,
    /// Seals the routing document's secrets (the server's key); none: documents with
    /// secrets are refused.
    sealer: Option<Arc<dyn sekimori_core::Sealer>>,
    /// Acts on users for response policies (the gate); none: policies are not applied.
    responder: Option<Arc<dyn responder::Responder>>,
    /// Counts silence changes made through this process (the dispatcher's cache of
    /// compiled silences is read again when it moves).
    silence_generation: Arc<std::sync::atomic::AtomicU64>,
    /// Counters for `/metrics`.
    metrics: Arc<metrics::WatchMetrics>,
    /// What loading the rules found (every rule that did not load, and why).
    load_report: Arc<sekimori_detect::LoadReport>,
    /// The search fields (`[detect] search_fields`), indexed as events are stored.
    search_fields: Arc<search::SearchFields>,
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
        baselines: Baselines,
        limits: IngestLimits,
    ) -> Result<Watch, DetectError> {
        let hunter = Hunter::new(rules)?;
        Ok(Watch {
            store,
            clock,
            rng,
            hunter: Arc::new(RwLock::new(hunter)),
            rules: Arc::new(rules.clone()),
            baselines: Arc::new(baselines),
            tunings: Arc::default(),
            profile_stages: Arc::default(),
            alert_tx: tokio::sync::broadcast::channel(1024).0,
            resolved_tx: tokio::sync::broadcast::channel(1024).0,
            ingest_slots: Arc::new(tokio::sync::Semaphore::new(limits.max_concurrent.max(1))),
            limits,
            listeners: Arc::default(),
            sealer: None,
            responder: None,
            silence_generation: Arc::default(),
            metrics: Arc::default(),
            load_report: Arc::default(),
            search_fields: Arc::default(),
        })
    }

    /// These services, indexing the values of `fields` (names as the event search takes
    /// them) as events are stored, so a search on one reads an index
    /// ([`Watch::sync_search_fields`] must run before events are stored).
    pub fn with_search_fields(mut self, fields: Vec<String>) -> Self {
        self.search_fields = Arc::new(search::SearchFields::new(fields));
        self
    }

    /// These services, reporting `report` (what loading their rules found) to the admin API.
    pub fn with_load_report(mut self, report: sekimori_detect::LoadReport) -> Self {
        self.load_report = Arc::new(report);
        self
    }

    /// What loading the rules found.
    pub fn load_report(&self) -> &sekimori_detect::LoadReport {
        &self.load_report
    }

    /// These services, acting on users for response policies through `responder` (the
    /// gate's required-level overrides).
    pub fn with_responder(mut self, responder: Arc<dyn responder::Responder>) -> Self {
        self.responder = Some(responder);
        self
    }

    /// These services, sealing the routing document's secrets with `sealer` (the server's
    /// key, [`sekimori_core::Sealer`]).
    pub fn with_sealer(mut self, sealer: Arc<dyn sekimori_core::Sealer>) -> Self {
        self.sealer = Some(sealer);
        self
    }

    /// Now, ms since the epoch, by the injected clock.
    pub fn now_ms(&self) -> i64 {
        self.clock.now().millis()
    }

    fn new_id(&self) -> String {
        new_id(self.clock.now(), self.rng.as_ref()).to_string()
    }

    /// A slot to judge one ingest request in: at most `max_concurrent` requests are judged at
    /// once and the rest wait, their bodies unread (so TCP holds the senders back); one that
    /// waits longer than `queue_wait` is refused with `service_unavailable` (503,
    /// `Retry-After`) and nothing of it is stored.
    pub async fn admit(&self) -> WatchResult<tokio::sync::OwnedSemaphorePermit> {
        match tokio::time::timeout(self.limits.queue_wait, self.ingest_slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ServiceError::new(
                ErrorCode::ServiceUnavailable,
                format!("ingest is at capacity ({} requests in progress); retry", self.limits.max_concurrent),
            )),
        }
    }

    /// Reads a request body (NDJSON, a JSON array or documents one after another;
    /// gzip-compressed when `gzip`), runs every event through the rules, and stores the
    /// events, the alerts and a sample of each malformed document in one transaction.
    /// Nothing is dropped silently: a malformed document is counted and kept as a dead
    /// letter, and a body with no readable event at all is refused.
    /// Events the log-source data cannot place are placed as `declared` says (unless an
    /// event declares its own; docs/detection.md).
    pub async fn ingest(
        &self,
        source: &IngestSource,
        body: &[u8],
        gzip: bool,
        declared: &DeclaredLogSource,
    ) -> WatchResult<IngestReport> {
        let text = self.decode(body, gzip)?;
        let mut parsed = parse_events(&text);
        parsed.events.iter_mut().for_each(|e| declared.declare(e));
        self.ingest_source(source, parsed).await
    }

    /// Ingests a Windows event log file (EVTX) sent whole, gzip-compressed or not: its
    /// records are read off the async workers, normalised like the `evtx` files `sekimori
    /// hunt` reads, and judged and stored like any other events; a record that cannot be
    /// read is a dead letter, and a body that is not EVTX is refused.
    pub async fn ingest_evtx(&self, source: &IngestSource, body: &[u8], gzip: bool) -> WatchResult<IngestReport> {
        let bytes = self.decompress(body, gzip)?.into_owned();
        let parsed = tokio::task::spawn_blocking(move || parse_evtx(bytes))
            .await
            .map_err(|e| ServiceError::new(ErrorCode::Internal, format!("EVTX reader failed: {e}")))?
            .map_err(|reason| ServiceError::new(ErrorCode::InvalidRequest, format!("not an EVTX file: {reason}")))?;
        self.ingest_source(source, parsed).await
    }

    async fn ingest_source(&self, source: &IngestSource, parsed: EventSource) -> WatchResult<IngestReport> {
        let documents = parsed.events.len() + parsed.malformed.len();
        if documents > self.limits.max_events {
            return Err(ServiceError::new(
                ErrorCode::PayloadTooLarge,
                format!("{documents} documents in one request; the limit is {}", self.limits.max_events),
            )
            .with("max_events", self.limits.max_events));
        }
        let first = parsed.malformed.first().map(ToString::to_string).unwrap_or_default();
        let malformed = parsed.malformed.iter().map(|m| (m.to_string(), m.sample.clone())).collect();
        let report = self.ingest_parsed(source, parsed.events, malformed).await?;
        if report.accepted == 0 && report.malformed > 0 {
            return Err(ServiceError::new(ErrorCode::InvalidRequest, format!("no event could be read ({first})"))
                .with("malformed", report.malformed));
        }
        Ok(report)
    }

    /// Runs already-parsed events through the rules and stores them, their alerts and a
    /// dead letter for each malformed document (`reason`, `sample`) in one transaction.
    pub async fn ingest_parsed(
        &self,
        source: &IngestSource,
        events: Vec<Value>,
        malformed: Vec<(String, String)>,
    ) -> WatchResult<IngestReport> {
        let now = self.clock.now().millis();
        let dead_letters: Vec<DeadLetter> = malformed
            .into_iter()
            .map(|(reason, sample)| DeadLetter {
                id: self.new_id(),
                tenant_id: source.tenant_id.clone(),
                source_id: source.id.clone(),
                received_at: Timestamp(now),
                reason,
                sample,
            })
            .collect();
        let report = self.judge_and_store(&source.tenant_id, &source.id, now, events, dead_letters, None).await?;
        let report =
            report.ok_or_else(|| ServiceError::new(ErrorCode::Internal, "a batch without a cursor was refused"))?;
        self.metrics.ingested(&source.name, report.accepted, report.malformed, report.alerts);
        Ok(report)
    }

    /// Runs `events` through the rules and the behaviour baselines, and stores them with
    /// their alerts, the dead letters and the updated profiles in one transaction (moving
    /// `cursor`, if any). `None` when the cursor had moved (nothing written). Batches judge
    /// one at a time and store in that order, a batch judging while the one before stores
    /// (`profiles`), so two batches never update a profile from the same old state on this
    /// node.
    async fn judge_and_store(
        &self,
        tenant_id: &TenantId,
        source_id: &str,
        now: i64,
        events: Vec<Value>,
        dead_letters: Vec<DeadLetter>,
        cursor: Option<(String, i64, i64)>,
    ) -> WatchResult<Option<IngestReport>> {
        let batch = events.len();
        #[allow(clippy::disallowed_methods)] // reason: a metric of elapsed time; nothing decides on it
        let started = std::time::Instant::now();
        let (events, docs, mut hits) = self.run_rules(events).await?;
        self.metrics.evaluated(batch, started.elapsed().as_secs_f64());
        let (_, tuning) = self.compiled_tuning(tenant_id).await?;
        // Each event's entities, once: for its profile and for its alerts.
        let entities: Vec<Entities> = events.iter().map(|e| self.baselines.entities(e)).collect();
        let keys: Vec<Option<String>> = entities.iter().map(Entities::profile_key).collect();
        let mut wanted: Vec<String> = keys.iter().flatten().cloned().collect();
        wanted.sort_unstable();
        wanted.dedup();
        let judging = self.profile_stages.judge().await;
        // The batch's profiles: those the batch before is still storing from memory, the
        // rest in few queries; one that no longer parses (written by another version) or is
        // missing starts afresh.
        let (unstored, to_read) = judging.unstored(tenant_id, &wanted);
        let mut profiles: BTreeMap<String, Profile> = wanted.iter().map(|k| (k.clone(), Profile::default())).collect();
        for (key, doc) in self.store.behaviour_profiles(tenant_id, &to_read).await? {
            if let (Some(slot), Ok(p)) = (profiles.get_mut(&key), serde_json::from_str(&doc)) {
                *slot = p;
            }
        }
        profiles.extend(unstored);
        for ((event, event_hits), key) in events.iter().zip(hits.iter_mut()).zip(keys) {
            if let Some(profile) = key.and_then(|k| profiles.get_mut(&k)) {
                event_hits.extend(tuning.baselines().observe(profile, event, now));
            }
            *event_hits = tuning.apply(event, std::mem::take(event_hits));
        }
        let malformed = dead_letters.len();
        let mut batch = self.batch(tenant_id, source_id, now, &events, &entities, docs, hits, dead_letters, cursor);
        batch.profiles = profiles
            .iter()
            .map(|(k, p)| serde_json::to_string(p).map(|d| (k.clone(), d)))
            .collect::<Result<_, _>>()
            .map_err(|e| ServiceError::new(ErrorCode::Internal, format!("profile: {e}")))?;
        let report = IngestReport { accepted: events.len(), malformed, alerts: batch.alerts.len() };
        let storing = judging.into_storing(tenant_id, profiles).await;
        let stored = self.store.store_ingest(&batch).await;
        drop(storing);
        let Some(seqs) = stored? else { return Ok(None) };
        for (index, mut alert) in batch.alerts {
            // As stored: pointing at its event. No receiver is fine: the alerts are stored.
            alert.event_seq = seqs.get(index).copied().unwrap_or_default();
            let _ = self.alert_tx.send(alert);
        }
        Ok(Some(report))
    }

    /// Every alert stored from now on, as it is stored (for the alert pipeline). A receiver
    /// that falls more than 1,024 alerts behind skips ahead (the alerts stay in the store).
    pub fn subscribe_alerts(&self) -> tokio::sync::broadcast::Receiver<AlertRecord> {
        self.alert_tx.subscribe()
    }

    /// Registers a listener's counters so the admin API can report them.
    pub fn register_listener(&self, stats: Arc<syslog::ListenerStats>) {
        self.listeners.lock().unwrap_or_else(|p| p.into_inner()).push(stats);
    }

    /// The counters of every listener of this process.
    pub fn listener_stats(&self) -> Vec<syslog::ListenerReport> {
        self.listeners.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|s| s.report()).collect()
    }

    fn decode<'b>(&self, body: &'b [u8], gzip: bool) -> WatchResult<Cow<'b, str>> {
        let not_utf8 = |e: std::str::Utf8Error| {
            ServiceError::new(ErrorCode::InvalidRequest, format!("the body is not UTF-8: {e}"))
        };
        match self.decompress(body, gzip)? {
            Cow::Borrowed(b) => std::str::from_utf8(b).map(Cow::Borrowed).map_err(not_utf8),
            Cow::Owned(v) => String::from_utf8(v).map(Cow::Owned).map_err(|e| not_utf8(e.utf8_error())),
        }
    }

    /// The body, gunzipped if `gzip`, within `max_decompressed`.
    fn decompress<'b>(&self, body: &'b [u8], gzip: bool) -> WatchResult<Cow<'b, [u8]>> {
        let too_large = || {
            ServiceError::new(
                ErrorCode::PayloadTooLarge,
                format!("the body is larger than {} bytes decompressed", self.limits.max_decompressed),
            )
        };
        if !gzip {
            if body.len() > self.limits.max_decompressed {
                return Err(too_large());
            }
            return Ok(Cow::Borrowed(body));
        }
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(body)
            .take(self.limits.max_decompressed as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| ServiceError::new(ErrorCode::InvalidRequest, format!("not valid gzip: {e}")))?;
        if out.len() > self.limits.max_decompressed {
            return Err(too_large());
        }
        Ok(Cow::Owned(out))
    }

    /// Runs the rules over `events` off the async workers, and serialises the events for
    /// storage there too (both before the profiles lock is taken).
    async fn run_rules(&self, events: Vec<Value>) -> WatchResult<(Vec<Value>, Vec<String>, Vec<Vec<Hit>>)> {
        let hunter = Arc::clone(&self.hunter);
        tokio::task::spawn_blocking(move || {
            let (detections, correlate) = {
                let h = hunter.read().unwrap_or_else(|p| p.into_inner());
                (events.iter().map(|e| h.detect(e)).collect::<Vec<_>>(), h.has_correlations())
            };
            let hits: Vec<Vec<Hit>> = if correlate {
                let mut h = hunter.write().unwrap_or_else(|p| p.into_inner());
                events.iter().zip(detections).map(|(e, d)| h.correlate(e, d)).collect()
            } else {
                detections.into_iter().map(Hunter::hits).collect()
            };
            let docs = events.iter().map(Value::to_string).collect();
            (events, docs, hits)
        })
        .await
        .map_err(|e| ServiceError::new(ErrorCode::Internal, format!("detection failed: {e}")))
    }

    /// The batch that stores `events` with the alerts their `hits` raise.
    #[allow(clippy::too_many_arguments)] // reason: one call site each; a struct would only rename them
    fn batch(
        &self,
        tenant_id: &TenantId,
        source_id: &str,
        now: i64,
        events: &[Value],
        entities: &[Entities],
        docs: Vec<String>,
        hits: Vec<Vec<Hit>>,
        dead_letters: Vec<DeadLetter>,
        cursor: Option<(String, i64, i64)>,
    ) -> IngestBatch {
        let mut alerts = Vec::new();
        for (index, event_hits) in hits.into_iter().enumerate() {
            for hit in event_hits {
                alerts.push((index, self.alert(tenant_id, source_id, hit, &events[index], &entities[index], now)));
            }
        }
        // Each event's entities, indexed for search.
        let event_entities = entities
            .iter()
            .enumerate()
            .flat_map(|(index, e)| {
                [("user", &e.user), ("ip", &e.ip), ("host", &e.host)].into_iter().filter_map(move |(kind, v)| {
                    v.as_ref().map(|value| (index, Entity { kind: kind.into(), value: value.clone() }))
                })
            })
            .collect();
        IngestBatch {
            tenant_id: tenant_id.to_owned(),
            source_id: source_id.to_owned(),
            received_at: Timestamp(now),
            events: docs,
            dead_letters,
            alerts,
            cursor,
            profiles: Vec::new(),
            event_entities,
            event_fields: self.search_fields.values_of(events),
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
            let last = run[run.len() - 1].seq;
            let cursor = Some((AUDIT_CURSOR.to_owned(), after, last));
            let Some(report) = self.judge_and_store(tenant, AUDIT_SOURCE, now, events, Vec::new(), cursor).await?
            else {
                // Another follower judged these events first.
                return Ok(start);
            };
            self.metrics.audited(run.iter().map(|r| (r.action.as_str(), r.outcome.as_str())));
            self.metrics.ingested(AUDIT_SOURCE, run.len(), 0, report.alerts);
            after = last;
            start = end;
        }
        Ok(rows.len())
    }

    /// Runs [`Watch::follow_audit`] every `every` (in batches of `batch`, at once again
    /// while a batch comes back full) until the task is dropped; a failure is logged and
    /// retried at the next tick. `serve` starts it.
    pub async fn run_audit_follower(self, every: std::time::Duration, batch: i64) {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            loop {
                match self.follow_audit(batch).await {
                    Ok(n) if n as i64 == batch => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "running the audit log through the rules failed");
                        break;
                    }
                }
            }
        }
    }

    /// Moves what ingest batches staged (one row per batch, cheap to write: the search
    /// index entries, the entities their alerts are about and their roll-up counts) into
    /// postings, `alert_entities` and `detection_rollups` every `every`, at most 100 batches
    /// a run (at once again while a run comes back full), until the task is dropped; a
    /// failure is logged and retried at the next tick. Readers read both, so nothing is
    /// missed meanwhile. `serve` starts it.
    pub async fn run_index_merger(self, every: std::time::Duration) {
        const RUN: i64 = 100;
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            loop {
                match self.store.merge_recent_index(RUN).await {
                    Ok(n) if i64::try_from(n).unwrap_or(i64::MAX) >= RUN => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "moving staged batches (search index, alert entities, roll-ups) failed");
                        break;
                    }
                }
            }
        }
    }

    /// Runs [`Watch::index_older_events`] step after step (pausing `pause` between steps, so
    /// ingest keeps the database most of the time) until nothing is left, then looks again
    /// every `idle`, until the task is dropped; a failure is logged and retried after
    /// `idle`. `serve` starts it.
    pub async fn run_search_indexer(self, pause: std::time::Duration, idle: std::time::Duration) {
        loop {
            match self.index_older_events().await {
                Ok(0) => tokio::time::sleep(idle).await,
                Ok(n) => {
                    tracing::debug!(events = n, "indexed older events for the search fields");
                    tokio::time::sleep(pause).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "indexing older events for the search fields failed");
                    tokio::time::sleep(idle).await;
                }
            }
        }
    }

    /// Runs [`Watch::housekeeping`] every `every` until the task is dropped; a failure is
    /// logged and retried at the next tick. `serve` starts it.
    pub async fn run_housekeeping(self, every: std::time::Duration) {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match self.housekeeping().await {
                Ok(n) if n > 0 => tracing::debug!(rows = n, "housekeeping deleted ingested events past retention"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "ingest housekeeping failed"),
            }
        }
    }

    fn alert(
        &self,
        tenant_id: &TenantId,
        source_id: &str,
        hit: Hit,
        event: &Value,
        entities: &Entities,
        now: i64,
    ) -> AlertRecord {
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
            excerpt: excerpt(event, entities, EXCERPT_BYTES).to_string(),
            entities: serde_json::to_string(entities).unwrap_or_else(|_| "{}".into()),
            created_at: Timestamp(now),
        }
    }

    /// Deletes ingested events and dead letters older than their tenant's retention (the
    /// default where a tenant set none); run periodically.
    pub async fn housekeeping(&self) -> WatchResult<u64> {
        Ok(self.store.prune_ingested(self.clock.now(), i64::from(self.limits.retention_days)).await?)
    }

    /// The tenant's retention of ingested events and dead letters, days.
    pub async fn retention_days(&self, tenant_id: &TenantId) -> WatchResult<i64> {
        Ok(self.store.ingest_retention(tenant_id).await?.unwrap_or(i64::from(self.limits.retention_days)))
    }

    /// Sets the tenant's retention (1 to 3,650 days; audited). Alerts are kept regardless.
    pub async fn set_retention_days(&self, tenant_id: &TenantId, admin_token_id: &str, days: i64) -> WatchResult<()> {
        if !(1..=3650).contains(&days) {
            return Err(ServiceError::new(ErrorCode::InvalidRequest, "retention_days must be between 1 and 3650")
                .with("field", "retention_days"));
        }
        let ev = NewEvent::new(
            self.clock.now(),
            tenant_id,
            "configuration",
            action::ADMIN_INGEST_SETTINGS_UPDATED,
            Outcome::Success,
        )
        .field(field::INGEST_RETENTION_DAYS, days)
        .field(field::ADMIN_TOKEN_ID, admin_token_id);
        Ok(self.store.set_ingest_retention(tenant_id, days, self.clock.now(), &ev).await?)
    }

    /// The tenant's alert `id` (`not_found` when there is none).
    pub async fn alert_by_id(&self, tenant_id: &TenantId, id: &str) -> WatchResult<AlertRecord> {
        self.store
            .alert(tenant_id, id)
            .await?
            .ok_or_else(|| ServiceError::new(ErrorCode::NotFound, format!("no alert {id}")))
    }

    /// The tenant's delivery attempts, newest first.
    pub async fn notification_attempts(
        &self,
        tenant_id: &TenantId,
        limit: i64,
    ) -> WatchResult<Vec<sekimori_store::NotificationAttempt>> {
        Ok(self.store.notification_attempts(tenant_id, limit).await?)
    }

    /// The tenant's alerts since `since` (ms), newest first.
    pub async fn alerts(&self, tenant_id: &TenantId, since: i64, limit: i64) -> WatchResult<Vec<AlertRecord>> {
        Ok(self.store.alerts(tenant_id, Timestamp(since), limit).await?)
    }

    /// One stored event of the tenant (until the retention prunes it).
    pub async fn event(&self, tenant_id: &TenantId, seq: i64) -> WatchResult<Value> {
        let row = self.store.ingested_event(tenant_id, seq).await?.ok_or_else(|| {
            ServiceError::new(ErrorCode::NotFound, format!("no stored event {seq} (pruned after the retention?)"))
        })?;
        serde_json::from_str(&row.doc).map_err(|e| ServiceError::new(ErrorCode::Internal, format!("event {seq}: {e}")))
    }

    /// The tenant's dead letters, newest first.
    pub async fn dead_letters(&self, tenant_id: &TenantId, limit: i64) -> WatchResult<Vec<DeadLetter>> {
        Ok(self.store.dead_letters(tenant_id, limit).await?)
    }
}

/// Tenant id → (tuning version, compiled tuning).
type TuningCache = HashMap<TenantId, (i64, Arc<CompiledTuning>)>;

#[cfg(test)]
mod tests {
    use super::*;
    use sekimori_core::{OsRng, TestClock, Timestamp};

    async fn hold_slots(watch: &Watch, n: usize) -> Vec<tokio::sync::OwnedSemaphorePermit> {
        let mut held = Vec::new();
        for _ in 0..n {
            held.push(watch.admit().await.expect("slot"));
        }
        held
    }

    #[tokio::test]
    async fn events_go_after_the_retention_and_alerts_stay() {
        let store: Arc<dyn Store> = Arc::new(sekimori_store::testing::fresh_sqlite().await);
        let tenant = sekimori_store::Tenant::with_defaults(TenantId::new("t1"), "default", Timestamp(0));
        store.ensure_tenant(&tenant).await.expect("tenant");
        let clock = TestClock::new(Timestamp(1_795_000_000_000));
        let (rules, _) = RuleSet::from_yaml(
            "title: any\nlogsource: {product: test}\ndetection:\n  sel:\n    a: 1\n  condition: sel\n",
        );
        let limits = IngestLimits {
            retention_days: 30,
            queue_wait: std::time::Duration::from_millis(50),
            ..IngestLimits::default()
        };
        let watch =
            Watch::new(store.clone(), Arc::new(clock.clone()), Arc::new(OsRng), &rules, Baselines::builtin(), limits)
                .expect("watch");
        let key = watch
            .add_source(
                &TenantId::new("t1"),
                "admin",
                &sekimori_core::names::Label::parse("web").expect("label"),
                &SourceLabels::new(),
            )
            .await
            .expect("source");
        let source = watch.authenticate_source(&key.key).await.expect("auth");
        let mut subscribed = watch.subscribe_alerts();
        let report =
            watch.ingest(&source, b"{\"a\":1}\nnope\n", false, &DeclaredLogSource::default()).await.expect("ingest");
        assert_eq!(report, IngestReport { accepted: 1, malformed: 1, alerts: 1 });
        let handed = subscribed.try_recv().expect("the stored alert is handed to subscribers");
        let stored = watch.alerts(&TenantId::new("t1"), 0, 10).await.expect("alerts");
        assert_eq!((handed.id.as_str(), handed.event_seq), (stored[0].id.as_str(), stored[0].event_seq));
        assert!(handed.event_seq > 0, "it points at its stored event");
        assert!(subscribed.try_recv().is_err(), "once");

        // Admission: the fifth concurrent request waits, then is refused.
        let slots: Vec<_> = hold_slots(&watch, 4).await;
        let refused = watch.admit().await.expect_err("no slot");
        assert_eq!(refused.code, ErrorCode::ServiceUnavailable);
        drop(slots);
        drop(watch.admit().await.expect("a slot again"));

        clock.advance_seconds(29 * 86_400);
        assert_eq!(watch.housekeeping().await.expect("prune"), 0, "still within 30 days");
        clock.advance_seconds(2 * 86_400);
        assert_eq!(watch.housekeeping().await.expect("prune"), 2, "the event and the dead letter");
        assert_eq!(watch.alerts(&TenantId::new("t1"), 0, 10).await.expect("alerts").len(), 1);

        // The tenant keeps its events 3 days instead.
        assert_eq!(watch.retention_days(&TenantId::new("t1")).await.expect("read"), 30);
        assert!(watch.set_retention_days(&TenantId::new("t1"), "admin", 0).await.is_err(), "at least a day");
        watch.set_retention_days(&TenantId::new("t1"), "admin", 3).await.expect("set");
        assert_eq!(watch.retention_days(&TenantId::new("t1")).await.expect("read"), 3);
        watch.ingest(&source, b"{\"a\":2}\n", false, &DeclaredLogSource::default()).await.expect("ingest");
        clock.advance_seconds(2 * 86_400);
        assert_eq!(watch.housekeeping().await.expect("prune"), 0);
        clock.advance_seconds(2 * 86_400);
        assert_eq!(watch.housekeeping().await.expect("prune"), 1, "gone after 3 days, not 30");
    }
}
