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

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use sekimori_core::rng::RngExt;
use sekimori_core::token::sha256_hex;
use sekimori_core::Timestamp;
use sekimori_respond::delivery::{RateLimit, RetryPolicy};
use sekimori_respond::payload::{self, AlertView, Notification};
use sekimori_respond::{Channel, ChannelKind, Flush, Grouper, Inhibitor, Labels, ResolvedRoute, RoutingTree, Silences};
use sekimori_store::{AlertRecord, ClaimOutcome, NotificationAttempt, NotificationClaim};
use serde_json::Value;
use tokio::task::JoinSet;

use crate::deliver::{HttpReceiver, Report, Sender, SenderError};
use crate::responder::{ResponseCall, ResponseOutcome};
use crate::silences::silence_of;
use crate::{Watch, WatchResult};

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
    tenant_id: String,
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

/// What `channel` is sent for `n`.
pub(crate) fn body_for(channel: &Channel, n: &Notification) -> Body {
    match (channel.kind, &channel.email) {
        (ChannelKind::Webhook, _) => Body::Http(webhook_body(n, channel.max_alerts)),
        (ChannelKind::Slack, _) => Body::Http(payload::slack(n)),
        (ChannelKind::Teams, _) => Body::Http(payload::teams(n)),
        (ChannelKind::Email, Some(cfg)) => match sekimori_respond::email::render(n, cfg) {
            Ok(email) => Body::Email(Box::new(email)),
            Err(e) => Body::Unrenderable(format!("template: {e}")),
        },
        (ChannelKind::Email, None) => Body::Unrenderable("an email channel without its settings".to_owned()),
    }
}

/// Sends `body` to `channel` with `sender`'s retries; what became of it.
pub(crate) async fn deliver(sender: &Sender, channel: &Channel, body: &Body, now: i64) -> Report {
    match (body, &channel.email) {
        (Body::Http(body), _) => {
            let receiver = HttpReceiver {
                name: channel.id(),
                url: channel.url.clone(),
                hmac_key: channel.hmac_key.as_ref().map(|k| k.as_bytes().to_vec()),
            };
            sender.post(&receiver, body).await
        }
        (Body::Email(email), Some(cfg)) => sender.mail(cfg, email).await,
        (Body::Email(_), None) => Report::refused(now, "an email without its channel settings"),
        (Body::Unrenderable(why), _) => Report::refused(now, why),
    }
}

/// What a job sends.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// A JSON body to POST.
    Http(Value),
    /// An email.
    Email(Box<sekimori_respond::email::Email>),
    /// The channel's templates did not render: recorded as a refused attempt.
    Unrenderable(String),
}

/// What became of a job.
#[derive(Debug)]
struct Done {
    job: Job,
    /// `false`: another sender holds the claim; the job is tried again.
    settled: bool,
}

struct State {
    tenants: HashMap<String, Tenant>,
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
    silences: HashMap<String, (Arc<Silences>, u64, i64)>,
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

/// An alert's labels: those its ingest source gives (e.g. `environment`), then tenant, rule
/// (a baseline's short name), title, severity, kind, ATT&CK and other tags
/// (comma-separated), source, and the entities (user, address, host).
pub fn labels_of(a: &AlertRecord, source_labels: &crate::SourceLabels) -> WatchResult<Labels> {
    let corrupt = |what: &str, e: serde_json::Error| {
        sekimori_core::ServiceError::new(
            sekimori_core::ErrorCode::Internal,
            format!("stored alert {}: {what}: {e}", a.id),
        )
    };
    let tags: Vec<String> = serde_json::from_str(&a.tags).map_err(|e| corrupt("tags", e))?;
    let entities: sekimori_detect::baseline::Entities =
        serde_json::from_str(&a.entities).map_err(|e| corrupt("entities", e))?;
    let rule = a.rule_id.clone().unwrap_or_default();
    let (kind, rule) = match rule.strip_prefix(sekimori_detect::baseline::RULE_PREFIX) {
        Some(short) => ("baseline", short.to_owned()),
        None => ("detection", rule),
    };
    let mut l: Labels = source_labels.clone();
    l.insert("tenant".into(), a.tenant_id.clone());
    l.insert("rule".into(), rule);
    l.insert("title".into(), a.title.clone());
    l.insert("severity".into(), a.level.clone());
    l.insert("kind".into(), kind.into());
    l.insert("source".into(), a.source_id.clone());
    if !tags.is_empty() {
        l.insert("tags".into(), tags.join(","));
    }
    for (name, value) in [("user", &entities.user), ("address", &entities.ip), ("host", &entities.host)] {
        if let Some(v) = value {
            l.insert(name.into(), v.clone());
        }
    }
    Ok(l)
}

fn content_hash(firing: &[AlertView], resolved: &[AlertView]) -> String {
    let mut text = String::new();
    for a in firing {
        text.push_str(a.fingerprint());
        text.push(',');
    }
    text.push('|');
    for a in resolved {
        text.push_str(a.fingerprint());
        text.push(',');
    }
    sha256_hex(text.as_bytes())
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
                Some((t, id)) => self.watch.store.pending_alerts_after(*t, id, self.settings.batch).await?,
            };
            let full = i64::try_from(page.len()).unwrap_or(i64::MAX) >= self.settings.batch;
            if let Some(last) = page.last() {
                after = Some((last.created_at, last.id.clone()));
                st.cursor_ms = Some(st.cursor_ms.map_or(last.created_at, |c| c.max(last.created_at)));
            }
            pending.extend(page);
            if !full {
                break;
            }
        }
        let mut quiet = Vec::new();
        // Each tenant's routing version, and each source's labels, are read once a tick.
        let mut versions: HashMap<String, i64> = HashMap::new();
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
            if !sources.contains_key(&alert.source_id) {
                let labels = match self.watch.store.ingest_source(&alert.source_id).await? {
                    Some(src) if src.tenant_id == alert.tenant_id => src.labels,
                    _ => crate::SourceLabels::new(),
                };
                sources.insert(alert.source_id.clone(), labels);
            }
            let extra = sources.get(&alert.source_id).cloned().unwrap_or_default();
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
        let tenant_ids: Vec<String> = st.tenants.keys().cloned().collect();
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

    /// Marks the stored alerts `ids` resolved (those not yet), audited once.
    async fn record_resolved(&self, tenant_id: &str, ids: &[String], now: i64, reason: &str) -> WatchResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let ev = sekimori_core::event::NewEvent::new(
            Timestamp(now),
            tenant_id,
            "configuration",
            sekimori_core::ecs::action::ALERT_RESOLVED,
            sekimori_core::event::Outcome::Success,
        )
        .field(sekimori_core::ecs::field::ALERT_ID, ids[ids.len() - 1].as_str())
        .field(sekimori_core::ecs::field::ALERT_COUNT, i64::try_from(ids.len()).unwrap_or(i64::MAX))
        .field(sekimori_core::ecs::field::REASON, reason)
        .field(sekimori_core::ecs::field::ACTOR, "sekimori");
        self.watch.store.resolve_alerts(tenant_id, ids, now, "sekimori", &ev).await?;
        Ok(())
    }

    /// An alert was resolved by hand: the firing alert it belongs to is resolved (its
    /// groups are told), with the other stored alerts it stood for.
    pub async fn resolved_by_hand(&self, tenant_id: &str, alert_id: &str) -> WatchResult<()> {
        let now = self.watch.now_ms();
        let mut state = self.state.lock().await;
        let st = &mut *state;
        let Some(tenant) = st.tenants.get_mut(tenant_id) else { return Ok(()) };
        let Some(labels) =
            tenant.active.iter().find(|(_, a)| a.ids.iter().any(|i| i == alert_id)).map(|(l, _)| l.clone())
        else {
            return Ok(());
        };
        let mut unowed = Vec::new();
        let ids = resolve_set(tenant, &labels, now, &mut unowed).unwrap_or_default();
        self.mark(st, unowed, now).await?;
        self.record_resolved(tenant_id, &ids, now, &format!("resolved with alert {alert_id}")).await
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
    fn flushed(&self, st: &mut State, tenant_id: &str, route: &str, covered: &[Labels], resolved: &[Labels]) {
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
            self.watch.store.mark_alerts_dispatched(&ids, now).await?;
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
            [("summary".to_owned(), alert.title.clone()), ("description".to_owned(), matched_text(&alert.matched))]
                .into_iter()
                .collect(),
            rfc3339(alert.created_at),
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

    /// Applies the response policies `labels` act under. A failure is logged and the alert
    /// goes on to its notifications (the responder records what it did).
    async fn respond(&self, st: &mut State, tree: &RoutingTree, labels: &Labels, alert: &AlertRecord, now: i64) {
        let Some(responder) = &self.watch.responder else { return };
        let Some(username) = labels.get("user") else { return };
        for policy in tree.policies_for(labels) {
            let call = ResponseCall {
                tenant_id: alert.tenant_id.clone(),
                username: username.clone(),
                policy: policy.clone(),
                alert_id: alert.id.clone(),
                title: alert.title.clone(),
            };
            match responder.respond(&call).await {
                Ok(outcome) => {
                    tracing::info!(policy = %policy.name, alert = %alert.id, ?outcome, "response policy applied");
                    if let (ResponseOutcome::Applied(Some(notice)), Some((mut channel, language))) =
                        (outcome, tree.user_notice_channel())
                    {
                        // The channel's server and sender, to the user's own address.
                        if let Some(email) = channel.email.as_mut() {
                            email.to = vec![notice.email.clone()];
                        }
                        let job = Job {
                            tenant_id: alert.tenant_id.clone(),
                            route: "user-notice".into(),
                            group_key: format!("user-notice:{}", notice.username),
                            content_hash: sha256_hex(format!("{}:{}", alert.id, policy.name).as_bytes()),
                            body: Body::Email(Box::new(sekimori_respond::email::render_user_notice(&notice, language))),
                            alerts: 1,
                            repeat_ms: 0,
                            covers: Vec::new(),
                            covers_resolved: Vec::new(),
                            channel,
                        };
                        self.start(st, job, now);
                    }
                }
                Err(e) => {
                    tracing::warn!(policy = %policy.name, alert = %alert.id, error = %e, "response policy failed")
                }
            }
        }
    }

    /// Alerts still firing under a silence that ended in `(since, now]` are notified again
    /// at their groups' next check, with the silence named in the `silence_ended`
    /// annotation (as Alertmanager does once a silence expires).
    async fn silences_ended(&self, st: &mut State, since: i64, now: i64) -> WatchResult<()> {
        if since >= now {
            return Ok(());
        }
        for (tenant_id, tenant) in st.tenants.iter_mut() {
            if tenant.active.is_empty() {
                continue;
            }
            let ended: Vec<_> = self
                .watch
                .store
                .ended_silences(tenant_id, since, now)
                .await?
                .iter()
                .map(silence_of)
                .collect::<WatchResult<_>>()?;
            for silence in &ended {
                let at = silence.ends_at_ms - 1;
                let Tenant { active, grouper, .. } = tenant;
                for (labels, a) in active.iter_mut().filter(|(l, _)| silence.silences(l, at)) {
                    for route in &a.routes {
                        grouper.renotify(route, labels);
                    }
                    let note = if silence.comment.is_empty() {
                        silence.id.clone()
                    } else {
                        format!("{} ({})", silence.id, silence.comment)
                    };
                    a.view.annotations.insert("silence_ended".into(), note);
                }
            }
        }
        Ok(())
    }

    /// The tenant's silences in force, compiled (regular expressions included) once and
    /// reused while no silence changed through this process and for at most
    /// [`SILENCES_FRESH_MS`] (a change made on another node).
    async fn silences(&self, st: &mut State, tenant_id: &str, now: i64) -> WatchResult<Arc<Silences>> {
        let generation = self.watch.silence_generation.load(std::sync::atomic::Ordering::Relaxed);
        if let Some((cached, g, at)) = st.silences.get(tenant_id) {
            if *g == generation && (0..SILENCES_FRESH_MS).contains(&(now - at)) {
                return Ok(cached.clone());
            }
        }
        let stored = self.watch.store.silences(tenant_id, now).await?;
        let compiled = Arc::new(Silences::new(stored.iter().map(silence_of).collect::<WatchResult<Vec<_>>>()?));
        st.silences.insert(tenant_id.to_owned(), (compiled.clone(), generation, now));
        Ok(compiled)
    }

    /// The channel notifications for `flush`, after silences, inhibition and mute windows.
    fn jobs(&self, st: &State, tenant_id: &str, flush: &Flush, silences: &Silences, now: i64) -> Vec<Job> {
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
        tenant_id: &str,
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
            at: now,
            owner: self.node.clone(),
            lease_until: now.saturating_add(ms(self.settings.lease)),
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
        let attempts: Vec<NotificationAttempt> = report
            .attempts
            .iter()
            .enumerate()
            .map(|(i, a)| NotificationAttempt {
                id: hex_id(self.watch.rng.bytes::<16>()),
                tenant_id: job.tenant_id.clone(),
                channel: claim.channel.clone(),
                group_key: job.group_key.clone(),
                content_hash: job.content_hash.clone(),
                alerts: job.alerts,
                attempt: i64::try_from(i + 1).unwrap_or(i64::MAX),
                at: a.at_ms,
                outcome: a.outcome.clone(),
            })
            .collect();
        let finished = self.watch.now_ms();
        if let Err(e) = self.watch.store.finish_notification(&claim, report.delivered, finished, &attempts).await {
            // The claim's lease runs out and the notification is sent again: at least once.
            tracing::warn!(error = %e, channel = %claim.channel, "notification outcome not recorded");
            return Done { job, settled: false };
        }
        // A notification that could not be delivered is settled too: its attempts are
        // recorded, and the group is tried again at its next interval or repeat.
        Done { job, settled: true }
    }
}

/// Resolves the alert `labels` of `tenant` at `now`: its groups are told at their next look,
/// the stored alerts still waiting for a first notification are owed nothing more (added
/// to `unowed`). The ids of the stored alerts it stood for, if it was firing.
fn resolve_set(tenant: &mut Tenant, labels: &Labels, now: i64, unowed: &mut Vec<String>) -> Option<Vec<String>> {
    let mut a = tenant.active.remove(labels)?;
    for route in &a.routes {
        tenant.grouper.resolve(route, labels);
    }
    if let Some(inhibitor) = &mut tenant.inhibitor {
        inhibitor.resolve(labels);
    }
    unowed.append(&mut a.waiting);
    a.view.ends_at = Some(rfc3339(now));
    a.unflushed = a.routes.iter().map(|r| r.path.clone()).collect();
    let ids = std::mem::take(&mut a.ids);
    tenant.resolved.insert(labels.clone(), a);
    Some(ids)
}

/// Reserves the next slot of `limit` for a send wanted at `now`: how long it waits. The
/// bucket is asked as of the time the send will go, so sends started together are spaced.
fn reserve(limit: &mut RateLimit, now: i64) -> Duration {
    let mut wait = Duration::ZERO;
    while let Err(more) = limit.take(now + ms(wait)) {
        wait += more;
    }
    wait
}

fn hex_id(bytes: impl AsRef<[u8]>) -> String {
    bytes.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn matched_text(matched: &str) -> String {
    serde_json::from_str::<Vec<String>>(matched).map(|m| m.join(", ")).unwrap_or_default()
}

/// The Alertmanager v4 body, cut to `max_alerts` (0: all) with the rest counted.
fn webhook_body(n: &Notification, max_alerts: usize) -> Value {
    if max_alerts == 0 || n.alerts.len() <= max_alerts {
        return payload::alertmanager_v4(n);
    }
    let cut = Notification { alerts: n.alerts[..max_alerts].to_vec(), ..n.clone() };
    let mut body = payload::alertmanager_v4(&cut);
    body["truncatedAlerts"] = Value::from(n.alerts.len() - max_alerts);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_started_together_to_one_slack_webhook_are_spaced_a_second_apart() {
        let mut slack = RateLimit::new(1.0, 1, 0);
        let waits: Vec<Duration> = (0..4).map(|_| reserve(&mut slack, 0)).collect();
        assert_eq!(waits, [0, 1, 2, 3].map(Duration::from_secs));
        // Later, once the reserved slots are past, a send goes at once again.
        assert_eq!(reserve(&mut slack, 10_000), Duration::ZERO);
        let mut unpaced_burst = RateLimit::new(5.0, 1, 0);
        assert_eq!(reserve(&mut unpaced_burst, 0), Duration::ZERO);
        assert_eq!(reserve(&mut unpaced_burst, 0), Duration::from_millis(200));
    }
}
