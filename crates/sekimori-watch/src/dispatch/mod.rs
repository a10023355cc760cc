//! The dispatcher: stored alerts → labels → each tenant's routing → groups → notifications
//! to the receivers' channels (docs/respond.md).
//!
//! - **At least once.** An alert stays pending in the store until every group it joined
//!   has been notified (or deliberately not: silenced, muted, inhibited, routed to a
//!   receiver with no channel). After a crash the pending alerts are read again and
//!   re-grouped.
//! - **At most once per group and content.** Before it sends, a node claims the
//!   notification in the store's notification log ([`sekimori_store::NotificationClaim`]);
//!   a second node sharing the database, or this node after a restart, finds the same
//!   content already delivered and sends nothing. A sender that died holding a claim is
//!   taken over when its lease ends.
//! - An alert is identified by its labels, as in Alertmanager: the same rule firing again
//!   for the same entity is the same alert, notified again only after `repeat_interval`;
//!   it is resolved when it has not fired for `resolve_timeout`.

use sekimori_core::TenantId;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use sekimori_core::rng::RngExt;
use sekimori_core::Timestamp;
use sekimori_respond::delivery::{RateLimit, RetryPolicy};
use sekimori_respond::payload::{AlertView, Notification};
use sekimori_respond::{Channel, Flush, Grouper, Inhibitor, Labels, ResolvedRoute, RoutingTree, Silences};
use sekimori_store::{AlertRecord, ClaimOutcome, NotificationClaim};
use tokio::task::JoinSet;

use crate::deliver::{Sender, SenderError};
use crate::{Watch, WatchResult};

mod channel;
mod lifecycle;

pub use channel::labels_of;
pub(crate) use channel::{body_for, deliver};
use channel::{content_hash, matched_text, reserve, Body};
use lifecycle::resolve_set;

/// How the dispatcher runs.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// Sekimori's public URL, for the links in notifications.
    pub external_url: String,
    /// An alert that has not fired again for this long is resolved (Alertmanager's
    /// `resolve_timeout`).
    pub resolve_timeout: Duration,
    /// Each delivery attempt's timeout.
    pub attempt_timeout: Duration,
    /// Retries of a failed delivery.
    pub retry: RetryPolicy,
    /// How long a claim on a notification holds before another sender takes it over.
    pub lease: Duration,
    /// Pending alerts read per page (a round reads up to 20 pages).
    pub batch: i64,
}

impl DispatchSettings {
    /// The defaults, linking to `external_url`: resolve after 5 min, 10 s an attempt, the
    /// default retries, a 15 min lease, 500 alerts a tick.
    pub fn new(external_url: &str) -> Self {
        DispatchSettings {
            external_url: external_url.trim_end_matches('/').to_owned(),
            resolve_timeout: Duration::from_secs(300),
            attempt_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            lease: Duration::from_secs(900),
            batch: 500,
        }
    }
}

/// One firing alert (a label set) of a tenant.
#[derive(Debug)]
struct Active {
    view: AlertView,
    last_seen_ms: i64,
    /// The routes it ends at.
    routes: Vec<ResolvedRoute>,
    /// Routes whose group has not yet notified it.
    unflushed: BTreeSet<String>,
    /// Stored alerts waiting for those routes.
    waiting: Vec<String>,
    /// The stored alerts it stands for (the latest [`MAX_IDS`]), resolved with it.
    ids: Vec<String>,
}

/// Pending alerts are read from the first one again this often, ms (an alert another node
/// stored with an earlier time than the last one read here).
const RESCAN_MS: i64 = 60_000;

/// A round reads pending alerts from this long before the newest one read, ms.
const LOOKBACK_MS: i64 = 2_000;

/// Pages of pending alerts read in one round at most.
const MAX_PAGES: usize = 20;

/// How long compiled silences are reused when nothing changed them here, ms.
const SILENCES_FRESH_MS: i64 = 1_000;

/// Stored alert ids remembered per firing alert.
const MAX_IDS: usize = 1000;

impl Active {
    fn remember(&mut self, id: &str) {
        if self.ids.len() >= MAX_IDS {
            self.ids.remove(0);
        }
        self.ids.push(id.to_owned());
    }
}

#[derive(Default)]
struct Tenant {
    version: i64,
    tree: Option<Arc<RoutingTree>>,
    grouper: Grouper,
    inhibitor: Option<Inhibitor>,
    active: HashMap<Labels, Active>,
    /// Alerts resolved whose groups have not yet said so (their view has its end).
    resolved: HashMap<Labels, Active>,
}

/// A notification to one channel, ready to claim and send.
#[derive(Debug, Clone)]
struct Job {
    tenant_id: TenantId,
    route: String,
    channel: Channel,
    group_key: String,
    content_hash: String,
    body: Body,
    alerts: i64,
    /// The same content is not sent again before this, ms.
    repeat_ms: i64,
    /// The firing alerts it covers, for marking the route notified once it is done.
    covers: Vec<Labels>,
    /// The resolved alerts it covers.
    covers_resolved: Vec<Labels>,
}

/// What became of a job.
#[derive(Debug)]
struct Done {
    job: Job,
    /// `false`: another sender holds the claim; the job is tried again.
    settled: bool,
}

struct State {
    tenants: HashMap<TenantId, Tenant>,
    /// Stored alerts already taken in (pending in the store until notified).
    known: std::collections::HashSet<String>,
    limits: HashMap<String, RateLimit>,
    sending: JoinSet<Done>,
    /// Jobs refused because another sender held the claim, tried again next tick.
    retry: Vec<Job>,
    /// The previous tick, ms (silences that ended since are looked for).
    last_tick_ms: Option<i64>,
    /// Stored alerts seen through since the last mark, marked together.
    unmarked: Vec<String>,
    /// The newest pending alert's time read so far, ms: a round reads from a little before.
    cursor_ms: Option<i64>,
    /// When reading last started from the first pending alert, ms.
    rescan_from_ms: i64,
    /// Each tenant's compiled silences: (them, the silence generation and the time they
    /// were read at).
    silences: HashMap<TenantId, (Arc<Silences>, u64, i64)>,
}

/// Delivers stored alerts to the receivers of each tenant's routing document.
#[derive(Clone)]
pub struct Dispatcher {
    watch: Watch,
    sender: Sender,
    settings: DispatchSettings,
    node: String,
    state: Arc<tokio::sync::Mutex<State>>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher").field("node", &self.node).finish_non_exhaustive()
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn rfc3339(ms: i64) -> String {
    Timestamp(ms).to_rfc3339()
}

impl Dispatcher {
    /// A dispatcher for `watch`'s alerts.
    pub fn new(watch: Watch, settings: DispatchSettings) -> Result<Self, SenderError> {
        let sender = Sender::new(watch.clock.clone(), watch.rng.clone(), settings.retry, settings.attempt_timeout)?;
        let node = format!("node-{}", hex_id(watch.rng.bytes::<8>()));
        Ok(Dispatcher {
            watch,
            sender,
            settings,
            node,
            state: Arc::new(tokio::sync::Mutex::new(State {
                tenants: HashMap::new(),
                known: Default::default(),
                limits: HashMap::new(),
                sending: JoinSet::new(),
                retry: Vec::new(),
                last_tick_ms: None,
                unmarked: Vec::new(),
                cursor_ms: None,
                rescan_from_ms: 0,
                silences: HashMap::new(),
            })),
        })
    }

    /// Runs [`Dispatcher::tick`] every `every`, and at once when an alert is stored (so a
    /// response policy acts within milliseconds), for ever.
    pub async fn run(self, every: Duration) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut stored = self.watch.subscribe_alerts();
        let mut by_hand = self.watch.subscribe_resolved();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                resolved = by_hand.recv() => {
                    if let Ok((tenant_id, alert_id)) = resolved {
                        if let Err(e) = self.resolved_by_hand(&tenant_id, &alert_id).await {
                            tracing::warn!(error = %e, "a resolution by hand was not applied to its groups");
                        }
                    }
                }
                _ = stored.recv() => {
                    // One round takes in every alert stored so far.
                    while !matches!(stored.try_recv(), Err(tokio::sync::broadcast::error::TryRecvError::Empty
                        | tokio::sync::broadcast::error::TryRecvError::Closed)) {}
                }
            }
            if let Err(e) = self.tick().await {
                tracing::warn!(error = %e, "alert dispatch failed; trying again");
            }
        }
    }

    /// One round: settles finished deliveries, takes in the alerts stored since, resolves
    /// the alerts that stopped firing, and starts the notifications that are due.
    pub async fn tick(&self) -> WatchResult<()> {
        let now = self.watch.now_ms();
        let mut state = self.state.lock().await;
        let st = &mut *state;
        while let Some(done) = st.sending.try_join_next() {
            self.settle(st, done).await?;
        }
        for job in std::mem::take(&mut st.retry) {
            self.start(st, job, now);
        }
        // Pending alerts are read in pages from a little before the newest one read last
        // round (those waiting in groups are not all read again every round; an alert
        // stored in the same instant with a lower id is still found), and from the first
        // one again every RESCAN_MS (an alert another node stored with an earlier time).
        if st.cursor_ms.is_none() || !(st.rescan_from_ms..st.rescan_from_ms + RESCAN_MS).contains(&now) {
            st.cursor_ms = None;
            st.rescan_from_ms = now;
        }
        let mut after: Option<(i64, String)> = st.cursor_ms.map(|t| (t - LOOKBACK_MS, String::new()));
        let mut pending = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = match &after {
                None => self.watch.store.pending_alerts(self.settings.batch).await?,
                Some((t, id)) => self.watch.store.pending_alerts_after(Timestamp(*t), id, self.settings.batch).await?,
            };
            let full = i64::try_from(page.len()).unwrap_or(i64::MAX) >= self.settings.batch;
            if let Some(last) = page.last() {
                after = Some((last.created_at.millis(), last.id.clone()));
                st.cursor_ms = Some(st.cursor_ms.map_or(last.created_at.millis(), |c| c.max(last.created_at.millis())));
            }
            pending.extend(page);
            if !full {
                break;
            }
        }
        let mut quiet = Vec::new();
        // Each tenant's routing version, and each source's labels, are read once a tick.
        let mut versions: HashMap<TenantId, i64> = HashMap::new();
        let mut sources: HashMap<String, crate::SourceLabels> = HashMap::new();
        for alert in pending {
            if !st.known.insert(alert.id.clone()) {
                continue;
            }
            let version = match versions.get(&alert.tenant_id) {
                Some(v) => *v,
                None => {
                    let v = self.watch.routing_version(&alert.tenant_id).await?;
                    versions.insert(alert.tenant_id.clone(), v);
                    v
                }
            };
            let extra = match sources.get(&alert.source_id) {
                Some(labels) => labels.clone(),
                None => {
                    // Sekimori's own alerts (`sekimori`) have no source record, and no labels.
                    let labels = match self.watch.store.ingest_source(&alert.source_id).await? {
                        Some(src) if src.tenant_id == alert.tenant_id => src.labels,
                        _ => crate::SourceLabels::new(),
                    };
                    sources.insert(alert.source_id.clone(), labels.clone());
                    labels
                }
            };
            if let Some(id) = self.take_in(st, alert, version, &extra, now).await? {
                quiet.push(id);
            }
        }
        self.mark(st, quiet, now).await?;
        let mut unowed = Vec::new();
        let mut quiet_sets = Vec::new();
        let resolve_ms = ms(self.settings.resolve_timeout);
        for (tenant_id, tenant) in st.tenants.iter_mut() {
            let stale: Vec<Labels> = tenant
                .active
                .iter()
                .filter(|(_, a)| now - a.last_seen_ms >= resolve_ms)
                .map(|(l, _)| l.clone())
                .collect();
            for labels in stale {
                if let Some(ids) = resolve_set(tenant, &labels, now, &mut unowed) {
                    quiet_sets.push((tenant_id.clone(), ids));
                }
            }
        }
        for (tenant_id, ids) in quiet_sets {
            let reason = format!("not fired again for {} s", self.settings.resolve_timeout.as_secs());
            self.record_resolved(&tenant_id, &ids, now, &reason).await?;
        }
        self.mark(st, unowed, now).await?;
        let since = st.last_tick_ms.replace(now).unwrap_or(now);
        self.silences_ended(st, since, now).await?;
        let tenant_ids: Vec<TenantId> = st.tenants.keys().cloned().collect();
        for tenant_id in tenant_ids {
            let flushes = match st.tenants.get_mut(&tenant_id) {
                Some(t) => t.grouper.due(now),
                None => continue,
            };
            if flushes.is_empty() {
                continue;
            }
            let silences = self.silences(st, &tenant_id, now).await?;
            for flush in flushes {
                let jobs = self.jobs(st, &tenant_id, &flush, &silences, now);
                if jobs.is_empty() {
                    self.flushed(st, &tenant_id, &flush.key.route, &flush.alerts, &flush.resolved);
                }
                for job in jobs {
                    self.start(st, job, now);
                }
            }
        }
        let unmarked = std::mem::take(&mut st.unmarked);
        self.mark(st, unmarked, now).await
    }

    /// Waits for the deliveries under way and settles them (for tests and shutdown).
    pub async fn settle_all(&self) -> WatchResult<()> {
        let mut state = self.state.lock().await;
        let st = &mut *state;
        while let Some(done) = st.sending.join_next().await {
            self.settle(st, done).await?;
        }
        let unmarked = std::mem::take(&mut st.unmarked);
        self.mark(st, unmarked, self.watch.now_ms()).await
    }

    async fn settle(&self, st: &mut State, done: Result<Done, tokio::task::JoinError>) -> WatchResult<()> {
        let done = match done {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "a delivery task ended abnormally");
                return Ok(());
            }
        };
        if !done.settled {
            st.retry.push(done.job);
            return Ok(());
        }
        let job = done.job;
        self.flushed(st, &job.tenant_id, &job.route, &job.covers, &job.covers_resolved);
        Ok(())
    }

    /// The alerts `covered` were notified (or deliberately not) at `route`: those that have
    /// no other route left are marked dispatched; resolved ones told everywhere are
    /// forgotten.
    /// (Collected in `st.unmarked` and marked once per round: one transaction, not one a
    /// notification.)
    fn flushed(&self, st: &mut State, tenant_id: &TenantId, route: &str, covered: &[Labels], resolved: &[Labels]) {
        let Some(tenant) = st.tenants.get_mut(tenant_id) else { return };
        for labels in covered {
            if let Some(a) = tenant.active.get_mut(labels) {
                a.unflushed.remove(route);
                if a.unflushed.is_empty() {
                    st.unmarked.append(&mut a.waiting);
                }
            }
        }
        for labels in resolved {
            if let Some(a) = tenant.resolved.get_mut(labels) {
                a.unflushed.remove(route);
                if a.unflushed.is_empty() {
                    tenant.resolved.remove(labels);
                }
            }
        }
    }

    /// Marks stored alerts dispatched (they are no longer read as pending, so no longer
    /// remembered as taken in).
    async fn mark(&self, st: &mut State, ids: Vec<String>, now: i64) -> WatchResult<()> {
        if !ids.is_empty() {
            self.watch.store.mark_alerts_dispatched(&ids, Timestamp(now)).await?;
            for id in &ids {
                st.known.remove(id);
            }
        }
        Ok(())
    }

    /// Takes a stored alert into its tenant's groups; the alert's id when nothing is owed
    /// for it (no routing, or its label set was already notified at every route).
    async fn take_in(
        &self,
        st: &mut State,
        alert: AlertRecord,
        version: i64,
        source_labels: &crate::SourceLabels,
        now: i64,
    ) -> WatchResult<Option<String>> {
        let tenant_id = alert.tenant_id.clone();
        let tenant = st.tenants.entry(tenant_id.clone()).or_default();
        if tenant.tree.is_none() || tenant.version != version {
            match self.watch.routing_tree(&tenant_id).await? {
                Some((v, tree)) => {
                    let mut inhibitor = tree.inhibitor();
                    for labels in tenant.active.keys() {
                        inhibitor.fire(labels);
                    }
                    tenant.version = v;
                    tenant.tree = Some(Arc::new(tree));
                    tenant.inhibitor = Some(inhibitor);
                }
                None => {
                    tenant.version = 0;
                    tenant.tree = None;
                }
            }
        }
        let Some(tree) = tenant.tree.clone() else { return Ok(Some(alert.id)) };
        let labels = labels_of(&alert, source_labels)?;
        tenant.resolved.remove(&labels);
        if tree.has_policies() {
            self.respond(st, &tree, &labels, &alert, now).await;
        }
        let Some(tenant) = st.tenants.get_mut(&tenant_id) else { return Ok(Some(alert.id)) };
        if let Some(a) = tenant.active.get_mut(&labels) {
            a.last_seen_ms = now;
            a.remember(&alert.id);
            if a.unflushed.is_empty() {
                return Ok(Some(alert.id));
            }
            a.waiting.push(alert.id);
            return Ok(None);
        }
        let routes: Vec<ResolvedRoute> = tree.routes_for(&labels).into_iter().cloned().collect();
        for route in &routes {
            tenant.grouper.fire(route, &labels, now);
        }
        if let Some(inhibitor) = &mut tenant.inhibitor {
            inhibitor.fire(&labels);
        }
        let view = AlertView::new(
            labels.clone(),
            [("summary".to_owned(), alert.title.clone()), ("description".to_owned(), matched_text(&alert)?)]
                .into_iter()
                .collect(),
            rfc3339(alert.created_at.millis()),
            None,
            format!("{}/api/v1/admin/alerts/{}", self.settings.external_url, alert.id),
        );
        let unflushed = routes.iter().map(|r| r.path.clone()).collect();
        let ids = vec![alert.id.clone()];
        tenant
            .active
            .insert(labels, Active { view, last_seen_ms: now, routes, unflushed, waiting: vec![alert.id], ids });
        Ok(None)
    }

    /// The channel notifications for `flush`, after silences, inhibition and mute windows.
    fn jobs(&self, st: &State, tenant_id: &TenantId, flush: &Flush, silences: &Silences, now: i64) -> Vec<Job> {
        let Some(tenant) = st.tenants.get(tenant_id) else { return Vec::new() };
        let Some(tree) = &tenant.tree else { return Vec::new() };
        let known = |l: &Labels| tenant.active.get(l).or_else(|| tenant.resolved.get(l));
        let Some(route) = flush
            .alerts
            .iter()
            .chain(&flush.resolved)
            .find_map(|l| known(l).and_then(|a| a.routes.iter().find(|r| r.path == flush.key.route)))
        else {
            return Vec::new();
        };
        if tree.muted(route, now) {
            return Vec::new();
        }
        let shown = |l: &&Labels| {
            silences.silencing(l, now).is_none() && !tenant.inhibitor.as_ref().is_some_and(|i| i.inhibited(l, true))
        };
        let firing: Vec<AlertView> =
            flush.alerts.iter().filter(shown).filter_map(|l| tenant.active.get(l).map(|a| a.view.clone())).collect();
        let resolved: Vec<AlertView> =
            flush.resolved.iter().filter_map(|l| tenant.resolved.get(l).map(|a| a.view.clone())).collect();
        self.channel_jobs(tenant_id, tree, flush, route, firing, resolved)
    }

    fn channel_jobs(
        &self,
        tenant_id: &TenantId,
        tree: &RoutingTree,
        flush: &Flush,
        route: &ResolvedRoute,
        firing: Vec<AlertView>,
        resolved: Vec<AlertView>,
    ) -> Vec<Job> {
        let Some(receiver) = tree.receiver(&flush.receiver) else { return Vec::new() };
        let mut jobs = Vec::new();
        for channel in receiver.channels() {
            let resolved = if channel.send_resolved { resolved.clone() } else { Vec::new() };
            if firing.is_empty() && resolved.is_empty() {
                continue;
            }
            let mut alerts = firing.clone();
            alerts.extend(resolved.iter().cloned());
            let n = Notification {
                receiver: flush.receiver.clone(),
                group: flush.key.clone(),
                alerts,
                external_url: self.settings.external_url.clone(),
            };
            let body = body_for(&channel, &n);
            jobs.push(Job {
                tenant_id: tenant_id.to_owned(),
                route: flush.key.route.clone(),
                group_key: n.group_key(),
                content_hash: content_hash(&firing, &resolved),
                alerts: i64::try_from(n.alerts.len()).unwrap_or(i64::MAX),
                body,
                channel,
                repeat_ms: ms(route.timers.repeat_interval),
                covers: flush.alerts.clone(),
                covers_resolved: flush.resolved.clone(),
            });
        }
        jobs
    }

    /// Claims and sends `job` in the background, paced by its channel's rate.
    fn start(&self, st: &mut State, job: Job, now: i64) {
        let wait = if job.channel.per_second > 0.0 {
            let limit =
                st.limits.entry(job.channel.id()).or_insert_with(|| RateLimit::new(job.channel.per_second, 1, now));
            reserve(limit, now)
        } else {
            Duration::ZERO
        };
        let this = self.clone();
        st.sending.spawn(async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            this.send(job).await
        });
    }

    async fn send(&self, job: Job) -> Done {
        let now = self.watch.now_ms();
        let claim = NotificationClaim {
            tenant_id: job.tenant_id.clone(),
            channel: job.channel.id(),
            group_key: job.group_key.clone(),
            content_hash: job.content_hash.clone(),
            at: Timestamp(now),
            owner: self.node.clone(),
            lease_until: Timestamp(now.saturating_add(ms(self.settings.lease))),
            repeat_ms: job.repeat_ms,
        };
        match self.watch.store.claim_notification(&claim).await {
            Ok(ClaimOutcome::Claimed) => {}
            Ok(ClaimOutcome::AlreadyNotified) => return Done { job, settled: true },
            Ok(ClaimOutcome::Busy) => return Done { job, settled: false },
            Err(e) => {
                tracing::warn!(error = %e, channel = %claim.channel, "notification claim failed; trying again");
                return Done { job, settled: false };
            }
        }
        let report = deliver(&self.sender, &job.channel, &job.body, now).await;
        if let Err(e) = self.watch.record_notification(&claim, &report, job.alerts).await {
            // The claim's lease runs out and the notification is sent again: at least once.
            tracing::warn!(error = %e, channel = %claim.channel, "notification outcome not recorded");
            return Done { job, settled: false };
        }
        // A notification that could not be delivered is settled too: its attempts are
        // recorded, and the group is tried again at its next interval or repeat.
        Done { job, settled: true }
    }
}

fn hex_id(bytes: impl AsRef<[u8]>) -> String {
    bytes.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}
