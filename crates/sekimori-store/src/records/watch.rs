//! Detection: ingest sources, dead letters, alerts, tuning versions, ingested events and
//! the batch stored in one transaction (SQL: `sql/watch.rs`).

use sekimori_core::Timestamp;

use sekimori_core::TenantId;

/// A log source allowed to send events (`POST /api/v1/ingest`), with its hashed key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestSource {
    pub id: String,
    pub tenant_id: TenantId,
    pub name: String,
    pub secret_hash: Vec<u8>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    /// Labels its alerts carry for routing (e.g. `environment=production`).
    pub labels: std::collections::BTreeMap<String, String>,
}

/// A document that could not be read, kept as a sample with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub id: String,
    pub tenant_id: TenantId,
    pub source_id: String,
    pub received_at: Timestamp,
    pub reason: String,
    pub sample: String,
}

/// A rule that fired on an ingested event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRecord {
    pub id: String,
    pub tenant_id: TenantId,
    pub rule_id: Option<String>,
    pub title: String,
    pub level: String,
    /// JSON array of the rule's tags.
    pub tags: String,
    pub source_id: String,
    /// The ingested event it fired on (`ingested_events.seq`).
    pub event_seq: i64,
    /// JSON array of `field=value` pairs that matched.
    pub matched: String,
    /// JSON object: the user, IP address and host the event is about.
    pub entities: String,
    /// JSON: the event, or a cut-down view of a large one (kept after the event is pruned).
    pub excerpt: String,
    pub created_at: Timestamp,
}

/// One detection roll-up row: a count per tenant and hour, kept as each ingest batch is
/// stored (`series`: `events` and `dead_letters` keyed by source; `alerts` keyed by the
/// rule's title, labelled with its level; `entities` keyed by `user`, `ip` or `host`,
/// labelled with the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectionRollup {
    /// The hour's start, ms.
    pub hour: i64,
    pub series: String,
    pub key: String,
    pub label: String,
    pub n: i64,
}

/// A user, IP address or host an event or alert is about: `kind` is `user`, `ip` or `host`
/// (the keys of [`AlertRecord::entities`]), `value` as the event names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    pub kind: String,
    pub value: String,
}

/// A per-tenant document kept in versions: what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// Detection tuning (suppressions, overrides, baseline settings).
    Tuning,
    /// Alert routing (docs/respond.md).
    Routing,
    /// The login risk policy (docs/risk.md).
    RiskPolicy,
}

impl DocumentKind {
    /// Its table.
    pub(crate) fn table(self) -> &'static str {
        match self {
            DocumentKind::Tuning => "tenant_tuning",
            DocumentKind::Routing => "tenant_routing",
            DocumentKind::RiskPolicy => "tenant_risk_policy",
        }
    }

    /// What people call it, in messages.
    pub fn noun(self) -> &'static str {
        match self {
            DocumentKind::Tuning => "tuning",
            DocumentKind::Routing => "routing document",
            DocumentKind::RiskPolicy => "risk policy",
        }
    }

    /// Its name in messages and audit events.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Tuning => "tuning",
            DocumentKind::Routing => "routing",
            DocumentKind::RiskPolicy => "risk_policy",
        }
    }
}

/// One version of a tenant's document (tuning, routing or risk policy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRecord {
    pub tenant_id: TenantId,
    /// 1, 2, 3… per tenant.
    pub version: i64,
    /// The document (JSON).
    pub doc: String,
    /// The admin token id that wrote it.
    pub author: String,
    pub created_at: Timestamp,
}

/// An ingested event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestedEvent {
    pub seq: i64,
    pub tenant_id: TenantId,
    pub source_id: String,
    pub received_at: Timestamp,
    pub doc: String,
}

/// One accepted request's worth of ingest, written in one transaction.
#[derive(Debug, Clone)]
pub struct IngestBatch {
    pub tenant_id: TenantId,
    pub source_id: String,
    pub received_at: Timestamp,
    /// The events, as JSON text.
    pub events: Vec<String>,
    pub dead_letters: Vec<DeadLetter>,
    /// Alerts, each with the index into `events` it fired on (`event_seq` is filled in).
    pub alerts: Vec<(usize, AlertRecord)>,
    /// A follower's cursor to move in the same transaction: (name, where it was when the
    /// batch was read, the last sequence read). If it is no longer where it was (another
    /// node moved it), nothing of the batch is written.
    pub cursor: Option<(String, i64, i64)>,
    /// Behaviour profiles to write (entity, JSON document), replacing the stored ones.
    pub profiles: Vec<(String, String)>,
    /// The entities each event is about, each with the index into `events` of its event:
    /// indexed for search ([`IngestedQuery::entity`]), and what an alert on that event is
    /// about (the store does not read the alerts' `entities` text).
    pub event_entities: Vec<(usize, Entity)>,
    /// The search fields' values in each event (index into `events`, field, value),
    /// indexed for search ([`IngestedQuery::field`]).
    pub event_fields: Vec<(usize, String, String)>,
}

/// What to find among a tenant's stored events, newest first (by time received, then
/// number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestedQuery {
    /// Received at or after (ms).
    pub since: Timestamp,
    /// Received before (ms).
    pub until: Timestamp,
    /// Only from this source.
    pub source_id: Option<String>,
    /// Only the events about this entity (by index).
    pub entity: Option<Entity>,
    /// Only the events whose search field (the name) has the value, by the field's index
    /// (complete only from the field's `since`: the caller keeps to that range). Unused when
    /// `entity` is given.
    pub field: Option<(String, String)>,
    /// Only events before this one (received at, number) in the search's order: the last
    /// of the page before, if any.
    pub before: Option<(Timestamp, i64)>,
    pub limit: i64,
}

/// A search field: a field of ingested events whose values are indexed as events are
/// stored (`[detect] search_fields`); the index is complete for events received at or after
/// `since` (0: every stored event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchField {
    pub name: String,
    pub since: Timestamp,
}

/// A search field's value in one stored event, as a pass over older events indexes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldValue {
    pub tenant_id: TenantId,
    pub field: String,
    pub value: String,
    /// The event's number and time received.
    pub seq: i64,
    pub received_at: Timestamp,
}

/// An alert silence: matchers (as written, e.g. `user="alice"`) muting matching alerts
/// from `starts_at` until `ends_at` (exclusive). Expiring one early moves its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SilenceRecord {
    /// Id.
    pub id: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// The matchers, each as written.
    pub matchers: Vec<String>,
    /// Start, ms.
    pub starts_at: Timestamp,
    /// End, ms (exclusive).
    pub ends_at: Timestamp,
    /// Who made it (`admin_token:<id>`).
    pub created_by: String,
    /// Why.
    pub comment: String,
    /// Creation, ms.
    pub created_at: Timestamp,
}

/// A node's claim on sending one group's notification to one channel: the notification
/// log's entry for (tenant, channel, group), so that two nodes, or a node restarted after a
/// crash, never send the same notification twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationClaim {
    /// Tenant.
    pub tenant_id: TenantId,
    /// The channel, e.g. `soc/slack_configs[0]`.
    pub channel: String,
    /// The group (route and grouping labels).
    pub group_key: String,
    /// What is notified: a hash over the firing and resolved alerts' fingerprints.
    pub content_hash: String,
    /// Now, ms.
    pub at: Timestamp,
    /// The claiming node.
    pub owner: String,
    /// Until when the claim holds without being finished (a crashed sender's claim is taken
    /// over after it), ms.
    pub lease_until: Timestamp,
    /// The same content is notified again only this long after it was delivered, ms.
    pub repeat_ms: i64,
}

/// What became of a [`NotificationClaim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The caller sends it.
    Claimed,
    /// The same content was delivered within the repeat interval: nothing to send.
    AlreadyNotified,
    /// Another sender holds a live claim on the group.
    Busy,
}

/// One delivery attempt of a notification, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationAttempt {
    /// Id.
    pub id: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// The channel, e.g. `soc/slack_configs[0]`.
    pub channel: String,
    /// The group.
    pub group_key: String,
    /// The content hash of the notification.
    pub content_hash: String,
    /// Alerts in the notification.
    pub alerts: i64,
    /// 1, 2, 3… within the notification.
    pub attempt: i64,
    /// When, ms.
    pub at: Timestamp,
    /// `delivered`, `status 503`, `timeout`, `connection`.
    pub outcome: String,
}

/// Where an alert is in its triage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertState {
    /// New (no one has looked at it yet).
    Firing,
    /// Someone is on it.
    Acknowledged,
    /// Done: by hand, or because its rule's condition did not recur.
    Resolved,
}

impl AlertState {
    /// Every state.
    pub const ALL: [AlertState; 3] = [AlertState::Firing, AlertState::Acknowledged, AlertState::Resolved];

    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Firing => "firing",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Resolved => "resolved",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// An alert's triage (no record: firing, unassigned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertTriage {
    /// The alert.
    pub alert_id: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Its state.
    pub state: AlertState,
    /// Who is on it.
    pub assignee: Option<String>,
    /// Last change, ms.
    pub changed_at: Timestamp,
    /// Who changed it (`admin_token:<id>`, or `sekimori` for an automatic resolution).
    pub changed_by: String,
}

/// What became of a triage change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriageChange {
    /// Written; the state before.
    Changed(AlertState),
    /// Not written: the alert is in this state, which the change does not start from.
    Refused(AlertState),
    /// No such alert in the tenant.
    NoAlert,
}

/// A comment on an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertComment {
    /// Id.
    pub id: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// The alert.
    pub alert_id: String,
    /// Who wrote it.
    pub author: String,
    /// What.
    pub body: String,
    /// When, ms.
    pub created_at: Timestamp,
}
