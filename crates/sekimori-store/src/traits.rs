//! One trait per aggregate. Every method that changes state and matters to security
//! takes the audit event to write in the same transaction.

use async_trait::async_trait;
use sekimori_core::environment::Environment;
use sekimori_core::event::NewEvent;
use sekimori_core::{AppId, DeviceId, LoginId, SessionId, TenantId, Timestamp, UserId};

use crate::records::*;
use crate::StoreResult;

/// Tenants and their gate settings.
#[async_trait]
pub trait TenantStore: Send + Sync {
    /// Inserts `tenant` unless one of that name exists; returns the stored one and whether it is new.
    async fn ensure_tenant(&self, tenant: &Tenant) -> StoreResult<(Tenant, bool)>;
    /// The tenant named `name`.
    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>>;
    /// The tenant with id `id`.
    async fn tenant(&self, id: &TenantId) -> StoreResult<Option<Tenant>>;
    /// Changes the standby settings.
    async fn update_standby_settings(
        &self,
        id: &TenantId,
        required: bool,
        seconds: i64,
        event: &NewEvent,
    ) -> StoreResult<()>;
}

/// Admin tokens and relying-party / verifier apps: hashed bearer keys.
#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// Stores a new admin token.
    async fn insert_admin_token(&self, token: &AdminToken, event: &NewEvent) -> StoreResult<()>;
    /// The admin token with this id.
    async fn admin_token(&self, id: &str) -> StoreResult<Option<AdminToken>>;
    /// The tenant's admin tokens (revoked ones too), oldest first.
    async fn list_admin_tokens(&self, tenant_id: &TenantId) -> StoreResult<Vec<AdminToken>>;
    /// Revokes an admin token; `false` when there is no live one with this id.
    async fn revoke_admin_token(&self, id: &str, now: Timestamp, event: &NewEvent) -> StoreResult<bool>;
    /// Stores a new app; `false` if the name is taken in the tenant.
    async fn insert_app(&self, app: &App, event: &NewEvent) -> StoreResult<bool>;
    /// The app with this id.
    async fn app(&self, id: &AppId) -> StoreResult<Option<App>>;
    /// Sets the web origins of a live app; `false` when there is none.
    async fn set_app_origins(&self, id: &AppId, origins: Option<&[String]>, event: &NewEvent) -> StoreResult<bool>;
    /// All apps of a tenant.
    async fn list_apps(&self, tenant_id: &TenantId) -> StoreResult<Vec<App>>;
    /// Revokes an app's key; `false` if there was no such live app.
    async fn revoke_app(&self, id: &AppId, now: Timestamp, event: &NewEvent) -> StoreResult<bool>;
}

/// Users.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Inserts a user; `false` if the username is taken in the tenant.
    async fn insert_user(&self, user: &User, event: &NewEvent) -> StoreResult<bool>;
    /// The user by id.
    async fn user(&self, id: &UserId) -> StoreResult<Option<User>>;
    /// The user by tenant and username.
    async fn user_by_name(&self, tenant_id: &TenantId, username: &str) -> StoreResult<Option<User>>;
    /// All users of a tenant, by username.
    async fn list_users(&self, tenant_id: &TenantId) -> StoreResult<Vec<User>>;
}

/// Enrolments and devices, with the replay guard for signed device requests.
#[async_trait]
pub trait DeviceStore: Send + Sync {
    /// Stores a pending enrolment.
    async fn insert_enrollment(&self, enrollment: &Enrollment, event: &NewEvent) -> StoreResult<()>;
    /// Consumes the enrolment with this code hash and creates `device` for its user, atomically.
    /// `device.user_id` and `device.tenant_id`, and the event's tenant and user, are taken from the enrolment.
    async fn consume_enrollment(
        &self,
        code_hash: &[u8],
        now: Timestamp,
        device: &Device,
        event: &NewEvent,
    ) -> StoreResult<Consume<(Enrollment, Device)>>;
    /// The device by id (revoked ones included).
    async fn device(&self, id: &DeviceId) -> StoreResult<Option<Device>>;
    /// A user's live devices.
    async fn list_devices(&self, user_id: &UserId) -> StoreResult<Vec<Device>>;
    /// Removes a device; `false` if it was not live.
    async fn revoke_device(&self, id: &DeviceId, now: Timestamp, event: &NewEvent) -> StoreResult<bool>;
    /// Renames a live device; `false` if it was not live.
    async fn rename_device(&self, id: &DeviceId, name: &str, event: &NewEvent) -> StoreResult<bool>;
    /// Remembers a nonce until `expires_at`; `false` if it was already there (a replay).
    async fn remember_nonce(&self, device_id: &DeviceId, nonce: &str, expires_at: Timestamp) -> StoreResult<bool>;
    /// Forgets nonces whose timestamps can no longer be accepted anyway.
    async fn prune_nonces(&self, now: Timestamp) -> StoreResult<u64>;
}

/// How a login request is decided.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Approved: mint this assertion, close the standby window, remember the environment.
    Approve(Box<AssertionRecord>),
    /// Denied by the user.
    Deny,
}

/// Standby windows, push login requests, QR sessions, assertions and the device inbox.
#[async_trait]
pub trait LoginStore: Send + Sync {
    /// Opens a standby window.
    async fn open_standby(&self, window: &StandbyWindow, event: &NewEvent) -> StoreResult<()>;
    /// The user's open window at `now`, if any.
    async fn active_standby(&self, user_id: &UserId, now: Timestamp) -> StoreResult<Option<StandbyWindow>>;
    /// Stores a login request with its inbox messages.
    async fn insert_login(&self, login: &LoginRequest, messages: &[InboxMessage], event: &NewEvent) -> StoreResult<()>;
    /// The login request by id.
    async fn login(&self, id: &LoginId) -> StoreResult<Option<LoginRequest>>;
    /// Decides a pending, unexpired login once; concurrent deciders see `AlreadyUsed`.
    async fn decide_login(
        &self,
        id: &LoginId,
        device_id: &DeviceId,
        decision: &Decision,
        now: Timestamp,
        event: &NewEvent,
    ) -> StoreResult<Consume<LoginRequest>>;
    /// Stores inbox messages that belong to no login (notices).
    async fn insert_messages(&self, messages: &[InboxMessage]) -> StoreResult<()>;
    /// A user's undismissed, unexpired messages whose login (if any) is still pending.
    async fn pending_messages(&self, user_id: &UserId, now: Timestamp) -> StoreResult<Vec<InboxMessage>>;
    /// Dismisses a message of this user; `false` if there was none.
    async fn dismiss_message(&self, id: &str, user_id: &UserId, now: Timestamp) -> StoreResult<bool>;
    /// Stores a QR login session.
    async fn insert_qr(&self, session: &QrSession) -> StoreResult<()>;
    /// The QR session by id.
    async fn qr(&self, id: &str) -> StoreResult<Option<QrSession>>;
    /// Redeems the QR token once, binding it to the user and device and minting the assertion.
    async fn redeem_qr(
        &self,
        token_hash: &[u8],
        device: &Device,
        assertion: &AssertionRecord,
        now: Timestamp,
        event: &NewEvent,
    ) -> StoreResult<Consume<QrSession>>;
    /// The assertion by JWT id.
    async fn assertion(&self, jti: &str) -> StoreResult<Option<AssertionRecord>>;
    /// Consumes an assertion once (relying-party verification).
    async fn consume_assertion(
        &self,
        jti: &str,
        app_id: &AppId,
        now: Timestamp,
        event: &NewEvent,
    ) -> StoreResult<Consume<AssertionRecord>>;
}

/// One-time tickets.
#[async_trait]
pub trait TicketStore: Send + Sync {
    /// Stores an issued ticket.
    async fn insert_ticket(&self, ticket: &Ticket, event: &NewEvent) -> StoreResult<()>;
    /// The ticket by id.
    async fn ticket(&self, id: &str) -> StoreResult<Option<Ticket>>;
    /// The ticket by id with its holder's username, in one query.
    async fn ticket_with_holder(&self, id: &str) -> StoreResult<Option<(Ticket, String)>>;
    /// A user's unredeemed, unexpired tickets.
    async fn user_tickets(&self, user_id: &UserId, now: Timestamp) -> StoreResult<Vec<Ticket>>;
    /// Redeems once; every later call sees `AlreadyUsed` with the first redemption time.
    async fn redeem_ticket(
        &self,
        id: &str,
        app_id: &AppId,
        now: Timestamp,
        event: &NewEvent,
    ) -> StoreResult<Consume<Ticket>>;
}

/// Client environments per user.
#[async_trait]
pub trait EnvironmentStore: Send + Sync {
    /// Records an attempt from `env` (insert, or update `last_seen`); returns the stored record
    /// as it was *before* this attempt, if any.
    async fn observe_environment(&self, env: &EnvironmentRecord) -> StoreResult<Option<EnvironmentRecord>>;
    /// A user's environments, most recent first.
    async fn list_environments(&self, user_id: &UserId) -> StoreResult<Vec<EnvironmentRecord>>;
    /// Sets `trusted`; `false` if there is no such environment.
    async fn set_environment_trust(
        &self,
        user_id: &UserId,
        env_key: &str,
        trusted: bool,
        event: &NewEvent,
    ) -> StoreResult<bool>;
    /// Forgets an environment, so the next attempt from it warns again.
    async fn revoke_environment(&self, user_id: &UserId, env_key: &str, event: &NewEvent) -> StoreResult<bool>;
    /// Records a completed login from `env` (whose key is `env_key`): the environment is
    /// known from now on. Push and QR logins do this in the transaction that decides them.
    async fn environment_login(
        &self,
        tenant_id: &TenantId,
        user_id: &UserId,
        env_key: &str,
        env: &Environment,
        now: Timestamp,
    ) -> StoreResult<()>;
}

/// The append-only, hash-chained audit log.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends one event on its own.
    async fn append(&self, event: &NewEvent) -> StoreResult<i64>;
    /// Events matching `filter`, in chain order.
    async fn events(&self, filter: &EventFilter) -> StoreResult<Vec<StoredEvent>>;
    /// The tenant's audit roll-ups from the hour of `since` to before `until` (counts per
    /// hour, action and outcome), oldest first.
    async fn audit_rollups(
        &self,
        tenant_id: &TenantId,
        since: Timestamp,
        until: Timestamp,
    ) -> StoreResult<Vec<AuditRollup>>;
    /// The newest row of the audit log (the chain's head), if any.
    async fn audit_head(&self) -> StoreResult<Option<StoredEvent>>;
    /// Where the live chain starts, when older rows were archived.
    async fn audit_base(&self) -> StoreResult<Option<AuditBase>>;
    /// In one transaction: appends `event` (which says what was archived), deletes the
    /// rows up to `base.seq` and records `base` as where the live chain starts. Refused,
    /// with nothing changed, unless row `base.seq` is in the live log with `base.hash` and
    /// is not the head; returns the rows deleted.
    async fn archive_audit(&self, base: &AuditBase, event: &NewEvent) -> StoreResult<Result<u64, ArchiveRefused>>;
}

/// Housekeeping of rows whose purpose has passed.
#[async_trait]
pub trait RetentionStore: Send + Sync {
    /// Deletes single-use and short-lived rows that expired before `cutoff` (ms): QR
    /// sessions, login requests, inbox messages, enrolments, assertions, standby windows and
    /// tickets, sessions, OIDC codes and refresh tokens (nonces have
    /// [`DeviceStore::prune_nonces`]). The audit log keeps what
    /// happened; it is never pruned here.
    /// Returns how many rows went.
    async fn prune_expired(&self, cutoff: Timestamp) -> StoreResult<u64>;
    /// Writes (and commits) this node's probe row: `Ok` only when the store takes writes
    /// (not on a full disk or a read-only database).
    async fn probe_write(&self, node: &str, now: Timestamp) -> StoreResult<()>;
}

/// Everything a Sekimori node needs from its database.
/// Detection: ingest sources, ingested events, dead letters and alerts.
#[async_trait]
pub trait WatchStore: Send + Sync {
    /// Sets the labels of the tenant's live ingest source `id`, with its audit event;
    /// `false` when there is no such source.
    async fn set_ingest_source_labels(
        &self,
        tenant_id: &TenantId,
        id: &str,
        labels: &std::collections::BTreeMap<String, String>,
        event: &NewEvent,
    ) -> StoreResult<bool>;
    /// Adds a source; `false` if the tenant already has a live source of that name.
    async fn insert_ingest_source(&self, source: &IngestSource, event: &NewEvent) -> StoreResult<bool>;
    async fn ingest_source(&self, id: &str) -> StoreResult<Option<IngestSource>>;
    async fn list_ingest_sources(&self, tenant_id: &TenantId) -> StoreResult<Vec<IngestSource>>;
    /// Revokes a live source of `tenant_id`; `false` if there is none.
    async fn revoke_ingest_source(
        &self,
        tenant_id: &TenantId,
        id: &str,
        now: Timestamp,
        event: &NewEvent,
    ) -> StoreResult<bool>;
    /// Writes a batch's events, dead letters and alerts (and moves its cursor, if any) in
    /// one transaction; returns the events' sequence numbers, or `None` (and writes nothing)
    /// when the batch's cursor had moved since the batch was read.
    async fn store_ingest(&self, batch: &IngestBatch) -> StoreResult<Option<Vec<i64>>>;
    /// Where the follower `name` stopped (0 before its first batch).
    async fn watch_cursor(&self, name: &str) -> StoreResult<i64>;
    /// Ingested events of a tenant with `seq > after_seq`, oldest first.
    async fn ingested_events(
        &self,
        tenant_id: &TenantId,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<IngestedEvent>>;
    /// Alerts of a tenant created at or after `since`, newest first.
    async fn alerts(&self, tenant_id: &TenantId, since: Timestamp, limit: i64) -> StoreResult<Vec<AlertRecord>>;
    /// Dead letters of a tenant, newest first.
    async fn dead_letters(&self, tenant_id: &TenantId, limit: i64) -> StoreResult<Vec<DeadLetter>>;
    /// One ingested event of a tenant.
    async fn ingested_event(&self, tenant_id: &TenantId, seq: i64) -> StoreResult<Option<IngestedEvent>>;
    /// The stored behaviour profiles of `entities` of a tenant, as (entity, JSON); entities
    /// without one are left out. Any number of entities, read in few queries.
    async fn behaviour_profiles(&self, tenant_id: &TenantId, entities: &[String])
        -> StoreResult<Vec<(String, String)>>;
    /// Stores a silence with its audit event.
    async fn insert_silence(&self, silence: &SilenceRecord, event: &NewEvent) -> StoreResult<()>;
    /// The tenant's silences that end after `after` (ms), soonest start first.
    async fn silences(&self, tenant_id: &TenantId, after: Timestamp) -> StoreResult<Vec<SilenceRecord>>;
    /// The tenant's silences that ended in `(after, until]` (ms).
    async fn ended_silences(
        &self,
        tenant_id: &TenantId,
        after: Timestamp,
        until: Timestamp,
    ) -> StoreResult<Vec<SilenceRecord>>;
    /// Ends the tenant's silence `id` at `at` (ms) if it has not ended by then, with its
    /// audit event; `false` (nothing written) when there is no such live silence.
    async fn expire_silence(
        &self,
        tenant_id: &TenantId,
        id: &str,
        at: Timestamp,
        event: &NewEvent,
    ) -> StoreResult<bool>;
    /// The tenant's alert `id`.
    async fn alert(&self, tenant_id: &TenantId, id: &str) -> StoreResult<Option<AlertRecord>>;
    /// The tenant's alerts in `state` created since `since` (ms), newest first.
    async fn alerts_in_state(
        &self,
        tenant_id: &TenantId,
        state: AlertState,
        since: Timestamp,
        limit: i64,
    ) -> StoreResult<Vec<AlertRecord>>;
    /// The triage records of the tenant's alerts `ids` (alerts without one are firing).
    async fn alert_triage(&self, tenant_id: &TenantId, ids: &[String]) -> StoreResult<Vec<AlertTriage>>;
    /// Writes `triage` if the alert exists in the tenant and is in one of `from`, with its
    /// audit event; atomic against concurrent changes.
    async fn set_alert_triage(
        &self,
        triage: &AlertTriage,
        from: &[AlertState],
        event: &NewEvent,
    ) -> StoreResult<TriageChange>;
    /// Marks the tenant's alerts `ids` resolved at `at` by `by` where they are not yet, with
    /// one audit event; how many changed.
    async fn resolve_alerts(
        &self,
        tenant_id: &TenantId,
        ids: &[String],
        at: Timestamp,
        by: &str,
        event: &NewEvent,
    ) -> StoreResult<u64>;
    /// Adds a comment with its audit event; `false` when the alert is not the tenant's.
    async fn add_alert_comment(&self, comment: &AlertComment, event: &NewEvent) -> StoreResult<bool>;
    /// An alert's comments, oldest first.
    async fn alert_comments(&self, tenant_id: &TenantId, alert_id: &str) -> StoreResult<Vec<AlertComment>>;
    /// Alerts not yet seen through to their notifications, oldest first, every tenant.
    async fn pending_alerts(&self, limit: i64) -> StoreResult<Vec<AlertRecord>>;
    /// Pending alerts after the alert (`created_at`, `id`) in that order, oldest first: a
    /// reader's next page.
    async fn pending_alerts_after(&self, created_at: Timestamp, id: &str, limit: i64) -> StoreResult<Vec<AlertRecord>>;
    /// Marks the alerts `ids` as seen through to their notifications at `at` (ms); the
    /// number that were pending.
    async fn mark_alerts_dispatched(&self, ids: &[String], at: Timestamp) -> StoreResult<u64>;
    /// Claims the sending of a group's notification to a channel (atomic across nodes):
    /// refused when the same content was delivered within the repeat interval, or while
    /// another sender's claim on the group is live.
    async fn claim_notification(&self, claim: &NotificationClaim) -> StoreResult<ClaimOutcome>;
    /// Ends `owner`'s claim (delivered or failed, at `at`) and records its attempts.
    async fn finish_notification(
        &self,
        claim: &NotificationClaim,
        delivered: bool,
        at: Timestamp,
        attempts: &[NotificationAttempt],
    ) -> StoreResult<()>;
    /// The tenant's delivery attempts, newest first.
    async fn notification_attempts(&self, tenant_id: &TenantId, limit: i64) -> StoreResult<Vec<NotificationAttempt>>;
    /// The tenant's current document of `kind` (the highest version).
    async fn document(&self, kind: DocumentKind, tenant_id: &TenantId) -> StoreResult<Option<DocumentRecord>>;
    /// One version of the tenant's document of `kind`.
    async fn document_version(
        &self,
        kind: DocumentKind,
        tenant_id: &TenantId,
        version: i64,
    ) -> StoreResult<Option<DocumentRecord>>;
    /// The versions of the tenant's document of `kind`, newest first.
    async fn document_versions(
        &self,
        kind: DocumentKind,
        tenant_id: &TenantId,
        limit: i64,
    ) -> StoreResult<Vec<DocumentRecord>>;
    /// Writes `record` as the next version, with its audit event, if the current version
    /// is still `record.version - 1` (0: none yet); `false` (nothing written) otherwise.
    async fn insert_document(&self, kind: DocumentKind, record: &DocumentRecord, event: &NewEvent)
        -> StoreResult<bool>;
    /// The tenant's retention of ingested events and dead letters, days, if set.
    async fn ingest_retention(&self, tenant_id: &TenantId) -> StoreResult<Option<i64>>;
    /// Sets the tenant's retention, with its audit event.
    async fn set_ingest_retention(
        &self,
        tenant_id: &TenantId,
        days: i64,
        now: Timestamp,
        event: &NewEvent,
    ) -> StoreResult<()>;
    /// Deletes ingested events and dead letters older than their tenant's retention (or
    /// `default_days` where none is set), as of `now`.
    async fn prune_ingested(&self, now: Timestamp, default_days: i64) -> StoreResult<u64>;
}

/// Second factors: TOTP credentials and recovery codes. Every accept is an atomic
/// conditional update, so a code works once however many requests race.
/// Looking back over what detection stored: the alerts about an entity, the detection
/// roll-ups dashboards read, and search of the stored events (each backed by a table kept
/// as the batches are stored).
#[async_trait]
pub trait InsightStore: Send + Sync {
    /// The tenant's alerts about `entity` (its `user`, `ip` or `host` equal to the value),
    /// in `state` when one is given, created since `since` (ms), newest first.
    async fn alerts_about(
        &self,
        tenant_id: &TenantId,
        entity: &Entity,
        state: Option<AlertState>,
        since: Timestamp,
        limit: i64,
    ) -> StoreResult<Vec<AlertRecord>>;
    /// The tenant's detection roll-ups for the hours from `since`'s (rounded down) to before
    /// `until`, oldest first.
    async fn detection_rollups(
        &self,
        tenant_id: &TenantId,
        since: Timestamp,
        until: Timestamp,
    ) -> StoreResult<Vec<DetectionRollup>>;
    /// The tenant's stored events that `query` selects, newest first.
    async fn search_ingested(&self, tenant_id: &TenantId, query: &IngestedQuery) -> StoreResult<Vec<IngestedEvent>>;
    /// Makes the search fields the ones `names` lists: a new one is indexed from `now`, one
    /// no longer listed is forgotten (its index rows go with the events they index).
    /// Returns them, in name order.
    async fn sync_search_fields(&self, names: &[String], now: Timestamp) -> StoreResult<Vec<SearchField>>;
    /// The search fields, in name order.
    async fn search_fields(&self) -> StoreResult<Vec<SearchField>>;
    /// Every tenant's id (for passes over all stored events).
    async fn tenant_ids(&self) -> StoreResult<Vec<TenantId>>;
    /// The tenant's stored events received before `before`, newest first by (time
    /// received, number), at most `limit`.
    async fn ingested_before(
        &self,
        tenant_id: &TenantId,
        before: Timestamp,
        limit: i64,
    ) -> StoreResult<Vec<IngestedEvent>>;
    /// The tenant's stored events received at `at` (one millisecond).
    async fn ingested_at(&self, tenant_id: &TenantId, at: Timestamp) -> StoreResult<Vec<IngestedEvent>>;
    /// Moves up to `max_rows` of the oldest rows ingest batches appended to the staging
    /// table (one per batch) into their tables, in one transaction: the search index's
    /// entries into postings (one row per value and hour, its events packed), the entities
    /// the batch's alerts are about into `alert_entities`, its roll-up counts into
    /// `detection_rollups`. How many rows it moved. Readers read the staged rows as well,
    /// so every answer is the same before and after.
    async fn merge_recent_index(&self, max_rows: i64) -> StoreResult<usize>;
    /// Adds `values` to the search index (as postings) and moves the `since` of each of `fields` from
    /// `from` to `to`, in one transaction; `false` (nothing written) when one of them is no
    /// longer at `from` (another node moved it, or it was forgotten).
    async fn extend_search_index(
        &self,
        fields: &[String],
        from: Timestamp,
        to: Timestamp,
        values: &[FieldValue],
    ) -> StoreResult<bool>;
}

#[async_trait]
pub trait FactorStore: Send + Sync {
    /// Stores a new (unconfirmed) TOTP credential.
    async fn insert_totp(&self, cred: &TotpCredential, event: &NewEvent) -> StoreResult<()>;
    /// One credential.
    async fn totp_credential(&self, id: &str) -> StoreResult<Option<TotpCredential>>;
    /// A user's credentials, oldest first.
    async fn user_totp_credentials(&self, user_id: &UserId) -> StoreResult<Vec<TotpCredential>>;
    /// Accepts time step `step` for credential `id` when it is after the last accepted one:
    /// `confirm` accepts only an unconfirmed credential and confirms it at `now`, otherwise
    /// only a confirmed one. Clears the failure count and appends `event` in the same
    /// transaction. `false` (nothing written) when the step was already used or is older,
    /// or the credential is not in the state asked for.
    async fn accept_totp_step(
        &self,
        id: &str,
        step: i64,
        now: Timestamp,
        confirm: bool,
        event: &NewEvent,
    ) -> StoreResult<bool>;
    /// Counts a wrong code for credential `id` at `now` and appends `event`; the new count.
    async fn record_totp_failure(&self, id: &str, now: Timestamp, event: &NewEvent) -> StoreResult<i64>;
    /// Deletes credential `id` of `user_id`; `false` when there was none.
    async fn delete_totp(&self, user_id: &UserId, id: &str, event: &NewEvent) -> StoreResult<bool>;
    /// Replaces the user's recovery codes with `hashes` (one transaction, audited).
    async fn replace_recovery_codes(
        &self,
        tenant_id: &TenantId,
        user_id: &UserId,
        hashes: &[Vec<u8>],
        now: Timestamp,
        event: &NewEvent,
    ) -> StoreResult<()>;
    /// Marks the user's unused code with `hash` used at `now` and appends `event`;
    /// `false` (nothing written) when there is no such unused code.
    async fn consume_recovery_code(
        &self,
        user_id: &UserId,
        hash: &[u8],
        now: Timestamp,
        event: &NewEvent,
    ) -> StoreResult<bool>;
    /// The user's unused recovery codes.
    async fn recovery_codes_left(&self, user_id: &UserId) -> StoreResult<i64>;
}

/// Passwords and login throttling. A failure count is one atomic upsert, so racing
/// failures are all counted and a lock engages exactly once per `max_failures`.
#[async_trait]
pub trait PasswordStore: Send + Sync {
    /// Sets (or replaces) a user's password and appends `event`.
    async fn set_password(&self, record: &PasswordRecord, event: &NewEvent) -> StoreResult<()>;
    /// A user's password.
    async fn password(&self, user_id: &UserId) -> StoreResult<Option<PasswordRecord>>;
    /// Replaces the hash `old` with `new` (same password, new parameters); `false` when
    /// the password changed meanwhile. Not an audited change.
    async fn rehash_password(&self, user_id: &UserId, old: &str, new: &str, now: Timestamp) -> StoreResult<bool>;
    /// Deletes a user's password; `false` when there was none.
    async fn delete_password(&self, user_id: &UserId, event: &NewEvent) -> StoreResult<bool>;
    /// Changes the tenant's password policy level.
    async fn set_password_policy(&self, tenant_id: &TenantId, level: i64, event: &NewEvent) -> StoreResult<()>;
    /// Counts a failure against `hit.key`: a failure after the window starts a new one;
    /// the `max_failures`-th in a window locks the key until `now + lock_ms` and resets
    /// the count. Appends `event`, if any, in the same transaction. The row after the change.
    async fn record_login_failure(
        &self,
        hit: &ThrottleHit<'_>,
        event: Option<&NewEvent>,
    ) -> StoreResult<ThrottleRecord>;
    /// Reserves one attempt against `hit.key` before the password is checked, counted as
    /// [`record_login_failure`](Self::record_login_failure) counts a failure, in one
    /// statement: `None` (nothing counted) while the key is locked. So under any
    /// concurrency at most `max_failures` attempts are admitted before the lock applies;
    /// a successful attempt then clears the key.
    async fn reserve_login_attempt(&self, hit: &ThrottleHit<'_>) -> StoreResult<Option<ThrottleRecord>>;
    /// The counter of `key`.
    async fn login_throttle(&self, key: &str) -> StoreResult<Option<ThrottleRecord>>;
    /// Forgets the counter of `key` (after a successful login).
    async fn clear_login_throttle(&self, key: &str) -> StoreResult<()>;
}

/// Account administration beyond creation: changes, deletion, groups, the tenant's time
/// zone.
#[async_trait]
pub trait AccessStore: Send + Sync {
    /// Writes a user's changeable fields (email, display name, disabled, validity, login
    /// hours) and appends `event`; `false` when there is no such user.
    async fn update_user(&self, user: &User, event: &NewEvent) -> StoreResult<bool>;
    /// Deletes a user with everything that is theirs (devices, credentials, pending logins,
    /// tickets, environments, group memberships) in one transaction and appends `event`;
    /// the audit log keeps the user's id. `false` when there was no such user.
    async fn delete_user(&self, user_id: &UserId, event: &NewEvent) -> StoreResult<bool>;
    /// Sets the tenant's time zone.
    async fn set_time_zone(&self, tenant_id: &TenantId, time_zone: &str, event: &NewEvent) -> StoreResult<()>;
    /// Adds a group; `false` when the name is taken.
    async fn insert_group(&self, group: &Group, event: &NewEvent) -> StoreResult<bool>;
    /// A group by name.
    async fn group_by_name(&self, tenant_id: &TenantId, name: &str) -> StoreResult<Option<Group>>;
    /// The tenant's groups by name.
    async fn list_groups(&self, tenant_id: &TenantId) -> StoreResult<Vec<Group>>;
    /// Sets a group's login hours (`None`: no rule).
    async fn set_group_hours(
        &self,
        group_id: &str,
        login_hours: Option<&[HoursWindow]>,
        event: &NewEvent,
    ) -> StoreResult<bool>;
    /// Deletes a group (memberships go with it).
    async fn delete_group(&self, group_id: &str, event: &NewEvent) -> StoreResult<bool>;
    /// Adds a member; `false` when already one.
    async fn add_group_member(&self, group_id: &str, user_id: &UserId, event: &NewEvent) -> StoreResult<bool>;
    /// Removes a member; `false` when not one.
    async fn remove_group_member(&self, group_id: &str, user_id: &UserId, event: &NewEvent) -> StoreResult<bool>;
    /// The groups a user is in, by name.
    async fn user_groups(&self, user_id: &UserId) -> StoreResult<Vec<Group>>;
    /// A group's members' usernames, sorted.
    async fn group_member_names(&self, group_id: &str) -> StoreResult<Vec<String>>;
    /// Stores a required-level override with its audit event; `false` (nothing written)
    /// when its policy already acted for the same source (the same alert, on another node).
    async fn insert_override(&self, o: &OverrideRecord, event: &NewEvent) -> StoreResult<bool>;
    /// The user's overrides in force at `now` (ms).
    async fn user_overrides(&self, user_id: &UserId, now: Timestamp) -> StoreResult<Vec<OverrideRecord>>;
    /// The tenant's overrides that end after `after` (ms) and were not lifted, soonest end
    /// first.
    async fn tenant_overrides(&self, tenant_id: &TenantId, after: Timestamp) -> StoreResult<Vec<OverrideRecord>>;
    /// How many overrides `policy` set on the user since `since` (ms), lifted or not.
    async fn policy_override_count(&self, user_id: &UserId, policy: &str, since: Timestamp) -> StoreResult<i64>;
    /// Lifts the tenant's override `id` at `at` if it is in force, with its audit event;
    /// the record as it was, or `None` (nothing written) when there is no such override.
    async fn lift_override(
        &self,
        tenant_id: &TenantId,
        id: &str,
        at: Timestamp,
        by: &str,
        reason: &str,
        event: &NewEvent,
    ) -> StoreResult<Option<OverrideRecord>>;
}

/// Browser sessions, looked up by the hash of the cookie's secret.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session, revoking `replaces` (the session it rotates) in the same
    /// transaction, and appends `event`.
    async fn insert_session(&self, record: &SessionRecord, replaces: Option<&str>, event: &NewEvent)
        -> StoreResult<()>;
    /// A session by id.
    async fn session(&self, id: &SessionId) -> StoreResult<Option<SessionRecord>>;
    /// The newest unrevoked session of a sign-on.
    async fn sso_session(&self, sso_id: &SessionId) -> StoreResult<Option<SessionRecord>>;
    /// Records activity at `now` (idle timeout).
    async fn touch_session(&self, id: &SessionId, now: Timestamp) -> StoreResult<()>;
    /// Revokes one session; `false` when it was not live.
    async fn revoke_session(&self, id: &SessionId, now: Timestamp, event: &NewEvent) -> StoreResult<bool>;
    /// Revokes every live session of a user and appends `event`; how many.
    async fn revoke_user_sessions(&self, user_id: &UserId, now: Timestamp, event: &NewEvent) -> StoreResult<u64>;
    /// The user's live sessions at `now` (not revoked, not past their absolute end), newest
    /// first, at most 100.
    async fn user_sessions(&self, user_id: &UserId, now: Timestamp) -> StoreResult<Vec<SessionRecord>>;
}

/// The OIDC provider: clients, signing keys, authorization codes and refresh tokens.
#[async_trait]
pub trait OidcStore: Send + Sync {
    /// Stores a new app and its OIDC client settings together; `false` if the app's name is
    /// taken in the tenant.
    async fn insert_oidc_client(&self, app: &App, client: &OidcClient, event: &NewEvent) -> StoreResult<bool>;
    /// The OIDC settings of an app.
    async fn oidc_client(&self, app_id: &AppId) -> StoreResult<Option<OidcClient>>;
    /// The tenant's OIDC clients.
    async fn list_oidc_clients(&self, tenant_id: &TenantId) -> StoreResult<Vec<OidcClient>>;
    /// Replaces a live client's redirect and post-logout redirect URIs, with `event` in the
    /// same transaction; `false` (nothing written) when the app is revoked or unknown.
    async fn set_oidc_client_uris(
        &self,
        app_id: &AppId,
        redirect_uris: &[String],
        post_logout_redirect_uris: &[String],
        event: &NewEvent,
    ) -> StoreResult<bool>;
    /// Stores a new signing key and retires (at its creation time) every live key of the
    /// same algorithm, in one transaction.
    async fn insert_oidc_key(&self, key: &OidcKey, event: &NewEvent) -> StoreResult<()>;
    /// Every signing key, newest first.
    async fn oidc_keys(&self) -> StoreResult<Vec<OidcKey>>;
    /// Deletes keys retired before `cutoff` (ms); how many.
    async fn prune_oidc_keys(&self, cutoff: Timestamp) -> StoreResult<u64>;
    /// Stores an authorization code and appends `event`.
    async fn insert_oidc_code(&self, code: &OidcCode, event: &NewEvent) -> StoreResult<()>;
    /// An authorization code by id (hash).
    async fn oidc_code(&self, id: &str) -> StoreResult<Option<OidcCode>>;
    /// Consumes a code atomically; when this call consumed it, stores `refresh` (if any)
    /// and appends `event` in the same transaction.
    async fn consume_oidc_code(
        &self,
        id: &str,
        now: Timestamp,
        refresh: Option<&OidcRefreshToken>,
        event: &NewEvent,
    ) -> StoreResult<Consume<OidcCode>>;
    /// A refresh token by id (hash).
    async fn oidc_refresh_token(&self, id: &str) -> StoreResult<Option<OidcRefreshToken>>;
    /// Whether any token of refresh family `family_id` is revoked (the family was ended
    /// by a code replay, a reuse or a revocation).
    async fn oidc_family_revoked(&self, family_id: &str) -> StoreResult<bool>;
    /// Marks refresh token `id` used and stores `next` in its place, atomically, appending
    /// `event`. A token already used, or of a revoked family, is reuse: its whole family is
    /// revoked and `reuse_event` appended instead.
    async fn rotate_oidc_refresh(
        &self,
        id: &str,
        next: &OidcRefreshToken,
        now: Timestamp,
        event: &NewEvent,
        reuse_event: &NewEvent,
    ) -> StoreResult<Rotation>;
    /// Revokes every live token of a family and appends `event`; how many.
    async fn revoke_oidc_family(&self, family_id: &str, now: Timestamp, event: &NewEvent) -> StoreResult<u64>;
}

/// Passkeys and their ceremonies.
#[async_trait]
pub trait PasskeyStore: Send + Sync {
    /// Stores a passkey; `false` if a passkey with this credential id exists.
    async fn insert_passkey(&self, passkey: &PasskeyRecord, event: &NewEvent) -> StoreResult<bool>;
    /// A passkey by credential id.
    async fn passkey(&self, id: &str) -> StoreResult<Option<PasskeyRecord>>;
    /// A user's passkeys, oldest first.
    async fn user_passkeys(&self, user_id: &UserId) -> StoreResult<Vec<PasskeyRecord>>;
    /// Stores a passkey's credential after a login (the counter moved) and its use time.
    async fn passkey_used(&self, id: &str, credential: &str, now: Timestamp) -> StoreResult<()>;
    /// Deletes one of a user's passkeys; `false` when there was none.
    async fn delete_passkey(&self, user_id: &UserId, id: &str, event: &NewEvent) -> StoreResult<bool>;
    /// Stores a ceremony.
    async fn insert_passkey_ceremony(&self, ceremony: &PasskeyCeremony) -> StoreResult<()>;
    /// Takes a ceremony's state atomically: once, before its expiry.
    async fn consume_passkey_ceremony(&self, id: &str, now: Timestamp) -> StoreResult<Consume<PasskeyCeremony>>;
}

/// Web Push subscriptions of devices.
#[async_trait]
pub trait PushStore: Send + Sync {
    /// Stores a device's subscription, replacing the device's previous one.
    async fn put_push_subscription(&self, subscription: &PushSubscription, event: &NewEvent) -> StoreResult<()>;
    /// The subscriptions of a user's live devices, oldest first.
    async fn push_subscriptions(&self, user_id: &UserId) -> StoreResult<Vec<PushSubscription>>;
    /// Deletes a device's subscription if it is still the one at `endpoint` (a push
    /// service reported it gone; a newer one is kept); `false` when there was none.
    async fn delete_push_subscription(&self, device_id: &DeviceId, endpoint: &str) -> StoreResult<bool>;
}

/// Console roles of users and groups.
#[async_trait]
pub trait ConsoleStore: Send + Sync {
    /// Gives a console role, replacing the subject's previous one.
    async fn put_console_grant(&self, grant: &ConsoleGrant, event: &NewEvent) -> StoreResult<()>;
    /// Takes a subject's console role away; `false` when it had none.
    async fn delete_console_grant(
        &self,
        tenant_id: &TenantId,
        kind: ConsoleSubject,
        subject_id: &str,
        event: &NewEvent,
    ) -> StoreResult<bool>;
    /// The tenant's console roles.
    async fn console_grants(&self, tenant_id: &TenantId) -> StoreResult<Vec<ConsoleGrant>>;
    /// The console roles that apply to a user: given to the user, or to a group the user
    /// is a member of.
    async fn console_grants_of(&self, user_id: &UserId) -> StoreResult<Vec<ConsoleGrant>>;
}

pub trait Store:
    TenantStore
    + CredentialStore
    + UserStore
    + DeviceStore
    + LoginStore
    + TicketStore
    + EnvironmentStore
    + AuditStore
    + RetentionStore
    + WatchStore
    + InsightStore
    + FactorStore
    + PasswordStore
    + AccessStore
    + SessionStore
    + OidcStore
    + PasskeyStore
    + PushStore
    + ConsoleStore
{
    /// The backend's name, for logs (`sqlite`, `postgres`).
    fn backend(&self) -> &'static str;
    /// Free space where the store writes, bytes, when this node can see it (the embedded
    /// database's file system; `None` for a database server). A small write can still
    /// succeed on a full disk (SQLite reuses its write-ahead log), so readiness asks both.
    fn free_bytes(&self) -> Option<u64> {
        None
    }
    /// The size of the embedded database's write-ahead log, bytes (`None` for a database
    /// server), for metrics.
    fn wal_bytes(&self) -> Option<u64> {
        None
    }
    /// The connection pool: (open connections, idle ones), where there is one.
    fn pool_connections(&self) -> Option<(u32, u32)> {
        None
    }
    /// The waits for a connection since start (PostgreSQL: the pool's; SQLite: the one
    /// writer's): (how many, seconds in all), for metrics.
    fn connection_waits(&self) -> Option<(u64, f64)> {
        None
    }
}
