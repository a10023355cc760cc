//! The backend-neutral vocabulary the shared SQL is written in: a query ([`Q`]: SQL text
//! with `$1`-numbered parameters and their values), the values ([`Arg`]), and reading
//! records back from a row ([`FromRow`] over the [`Row`] each backend implements).
//!
//! Each backend turns a [`Q`] into its driver's statement (sqlx for PostgreSQL, rusqlite
//! for SQLite) and implements [`Row`] for its driver's row type; the record types map
//! themselves once, here, for both.

use std::borrow::Cow;

use crate::records::*;
use crate::{StoreError, StoreResult};

/// One bound value. NULLs carry their type (PostgreSQL needs it to plan the statement).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Arg<'a> {
    Int(i64),
    Bool(bool),
    Text(Cow<'a, str>),
    Blob(&'a [u8]),
    NullInt,
    NullText,
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}

impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(Cow::Borrowed(v))
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(Cow::Borrowed(v))
    }
}

impl From<String> for Arg<'_> {
    fn from(v: String) -> Self {
        Arg::Text(Cow::Owned(v))
    }
}

impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(v: &'a [u8]) -> Self {
        Arg::Blob(v)
    }
}

impl<'a> From<&'a Vec<u8>> for Arg<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Arg::Blob(v)
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        v.map_or(Arg::NullText, Arg::from)
    }
}

impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(v: &'a Option<String>) -> Self {
        v.as_deref().into()
    }
}

impl From<Option<String>> for Arg<'_> {
    fn from(v: Option<String>) -> Self {
        v.map_or(Arg::NullText, Arg::from)
    }
}

impl From<&Vec<String>> for Arg<'_> {
    fn from(v: &Vec<String>) -> Self {
        Arg::Text(Cow::Owned(serde_json::Value::from(v.clone()).to_string()))
    }
}

impl From<&std::collections::BTreeMap<String, String>> for Arg<'_> {
    fn from(v: &std::collections::BTreeMap<String, String>) -> Self {
        Arg::Text(Cow::Owned(
            serde_json::Value::from(serde_json::Map::from_iter(
                v.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))),
            ))
            .to_string(),
        ))
    }
}

impl From<Option<&[String]>> for Arg<'_> {
    fn from(v: Option<&[String]>) -> Self {
        v.map_or(Arg::NullText, |v| Arg::Text(Cow::Owned(serde_json::Value::from(v.to_vec()).to_string())))
    }
}

impl From<&Option<Vec<String>>> for Arg<'_> {
    fn from(v: &Option<Vec<String>>) -> Self {
        v.as_ref().map_or(Arg::NullText, Arg::from)
    }
}

impl From<&Option<Vec<HoursWindow>>> for Arg<'_> {
    fn from(v: &Option<Vec<HoursWindow>>) -> Self {
        v.as_deref().into()
    }
}

impl From<Option<&[HoursWindow]>> for Arg<'_> {
    fn from(v: Option<&[HoursWindow]>) -> Self {
        match v {
            Some(w) => Arg::Text(Cow::Owned(
                serde_json::to_value(w)
                    .map(|j| j.to_string())
                    .unwrap_or_else(|e| unreachable!("login hours are strings and always serialise: {e}")),
            )),
            None => Arg::NullText,
        }
    }
}

impl From<AppKind> for Arg<'_> {
    fn from(v: AppKind) -> Self {
        Arg::Text(Cow::Borrowed(v.as_str()))
    }
}

impl From<LoginStatus> for Arg<'_> {
    fn from(v: LoginStatus) -> Self {
        Arg::Text(Cow::Borrowed(v.as_str()))
    }
}

impl From<CeremonyKind> for Arg<'_> {
    fn from(v: CeremonyKind) -> Self {
        Arg::Text(Cow::Borrowed(v.as_str()))
    }
}

impl From<AlertState> for Arg<'_> {
    fn from(v: AlertState) -> Self {
        Arg::Text(Cow::Borrowed(v.as_str()))
    }
}

impl From<OverrideAction> for Arg<'_> {
    fn from(v: OverrideAction) -> Self {
        Arg::Text(Cow::Borrowed(v.as_str()))
    }
}

impl From<MessageKind> for Arg<'_> {
    fn from(v: MessageKind) -> Self {
        Arg::Text(Cow::Borrowed(v.as_str()))
    }
}

impl From<ConsoleSubject> for Arg<'_> {
    fn from(v: ConsoleSubject) -> Self {
        Arg::Text(Cow::Borrowed(v.as_str()))
    }
}

impl From<AdminRole> for Arg<'_> {
    fn from(v: AdminRole) -> Self {
        Arg::Text(Cow::Borrowed(v.as_str()))
    }
}

impl From<&Option<OperatorScope>> for Arg<'_> {
    fn from(v: &Option<OperatorScope>) -> Self {
        match v {
            Some(s) => Arg::Text(Cow::Owned(
                serde_json::json!({"capabilities": s.capabilities, "groups": s.groups}).to_string(),
            )),
            None => Arg::NullText,
        }
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Arg::NullInt, Arg::Int)
    }
}

/// SQL text with `$1`-numbered parameters, and the values for them in order.
#[derive(Debug, Clone)]
pub(crate) struct Q<'a> {
    pub(crate) sql: Cow<'a, str>,
    pub(crate) args: Vec<Arg<'a>>,
}

/// A query from fixed SQL text.
pub(crate) fn q(sql: &str) -> Q<'_> {
    Q { sql: Cow::Borrowed(sql), args: Vec::new() }
}

impl<'a> Q<'a> {
    /// Binds the next parameter (`$1`, then `$2`, …).
    pub(crate) fn bind(mut self, v: impl Into<Arg<'a>>) -> Self {
        self.args.push(v.into());
        self
    }

    /// Appends `sql` and then a new parameter holding `v` (for queries built from filters).
    pub(crate) fn push_bind(&mut self, sql: &str, v: impl Into<Arg<'a>>) {
        self.args.push(v.into());
        let n = self.args.len();
        let text = self.sql.to_mut();
        text.push_str(sql);
        text.push('$');
        text.push_str(&n.to_string());
    }

    /// Appends plain SQL text.
    pub(crate) fn push(&mut self, sql: &str) {
        self.sql.to_mut().push_str(sql);
    }
}

/// `sql` with each `$N` parameter written `?N`, for SQLite: there `?N` is parameter number N
/// itself, so binding needs no name lookups (SQLite finds a `$N` name's number by a
/// linear search, which made a statement of many parameters quadratic to bind). Text in
/// single quotes (string literals, JSON paths such as `'$.a'`), double quotes
/// (identifiers) and comments is left as it is.
pub(crate) fn numbered_parameters(sql: &str) -> Cow<'_, str> {
    if !sql.contains('$') {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(c) = rest.chars().next() {
        // Quoted text and comments are copied as they are.
        let verbatim = match c {
            '\'' | '"' => rest[1..].find(c).map_or(rest.len(), |end| end + 2),
            '-' if rest.starts_with("--") => rest.find('\n').unwrap_or(rest.len()),
            '/' if rest.starts_with("/*") => rest[2..].find("*/").map_or(rest.len(), |end| end + 4),
            '$' if rest[1..].starts_with(|d: char| d.is_ascii_digit()) => {
                out.push('?');
                rest = &rest[1..];
                continue;
            }
            _ => c.len_utf8(),
        };
        out.push_str(&rest[..verbatim]);
        rest = &rest[verbatim..];
    }
    Cow::Owned(out)
}

/// A result row, read by column name. Each backend implements it for its driver's row.
pub(crate) trait Row {
    fn int(&self, col: &str) -> StoreResult<Option<i64>>;
    fn boolean(&self, col: &str) -> StoreResult<Option<bool>>;
    fn text(&self, col: &str) -> StoreResult<Option<String>>;
    fn blob(&self, col: &str) -> StoreResult<Option<Vec<u8>>>;
}

/// A value that can be read from one column.
pub(crate) trait Column: Sized {
    fn get(row: &dyn Row, col: &str) -> StoreResult<Self>;
}

pub(crate) fn required<T>(v: Option<T>, col: &str) -> StoreResult<T> {
    v.ok_or_else(|| StoreError::Corrupt(format!("column {col} is NULL")))
}

impl Column for i64 {
    fn get(row: &dyn Row, col: &str) -> StoreResult<Self> {
        required(row.int(col)?, col)
    }
}

impl Column for Option<i64> {
    fn get(row: &dyn Row, col: &str) -> StoreResult<Self> {
        row.int(col)
    }
}

impl Column for bool {
    fn get(row: &dyn Row, col: &str) -> StoreResult<Self> {
        required(row.boolean(col)?, col)
    }
}

impl Column for String {
    fn get(row: &dyn Row, col: &str) -> StoreResult<Self> {
        required(row.text(col)?, col)
    }
}

impl Column for Option<String> {
    fn get(row: &dyn Row, col: &str) -> StoreResult<Self> {
        row.text(col)
    }
}

/// A JSON column decoded into `T`; text that is not a `T` is corrupt, never a default.
pub(crate) fn json<T: serde::de::DeserializeOwned>(text: &str, col: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("column {col} is not valid JSON here: {e}")))
}

impl Column for Vec<String> {
    fn get(row: &dyn Row, col: &str) -> StoreResult<Self> {
        json(&required(row.text(col)?, col)?, col)
    }
}

impl Column for std::collections::BTreeMap<String, String> {
    fn get(row: &dyn Row, col: &str) -> StoreResult<Self> {
        json(&required(row.text(col)?, col)?, col)
    }
}

impl Column for Option<Vec<String>> {
    fn get(row: &dyn Row, col: &str) -> StoreResult<Self> {
        row.text(col)?.map(|t| json(&t, col)).transpose()
    }
}

impl Column for AppKind {
    fn get(row: &dyn Row, col: &str) -> StoreResult<Self> {
        let text = required(row.text(col)?, col)?;
        AppKind::parse(&text).ok_or_else(|| StoreError::Corrupt(format!("column {col}: {text:?} is not an app kind")))
    }
}

impl Column for LoginStatus {
    fn get(row: &dyn Row, col: &str) -> StoreResult<Self> {
        let text = required(row.text(col)?, col)?;
        LoginStatus::parse(&text)
            .ok_or_else(|| StoreError::Corrupt(format!("column {col}: {text:?} is not a login status")))
    }
}

impl Column for CeremonyKind {
    fn get(row: &dyn Row, col: &str) -> StoreResult<Self> {
        let text = required(row.text(col)?, col)?;
        CeremonyKind::parse(&text)
            .ok_or_else(|| StoreError::Corrupt(format!("column {col}: {text:?} is not a ceremony kind")))
    }
}

impl Column for AlertState {
    fn get(row: &dyn Row, col: &str) -> StoreResult<Self> {
        let text = required(row.text(col)?, col)?;
        AlertState::parse(&text)
            .ok_or_else(|| StoreError::Corrupt(format!("column {col}: {text:?} is not an alert state")))
    }
}

impl Column for OverrideAction {
    fn get(row: &dyn Row, col: &str) -> StoreResult<Self> {
        let text = required(row.text(col)?, col)?;
        OverrideAction::parse(&text)
            .ok_or_else(|| StoreError::Corrupt(format!("column {col}: {text:?} is not an override action")))
    }
}

impl Column for MessageKind {
    fn get(row: &dyn Row, col: &str) -> StoreResult<Self> {
        let text = required(row.text(col)?, col)?;
        MessageKind::parse(&text)
            .ok_or_else(|| StoreError::Corrupt(format!("column {col}: {text:?} is not a message kind")))
    }
}

impl Column for ConsoleSubject {
    fn get(row: &dyn Row, col: &str) -> StoreResult<Self> {
        let text = required(row.text(col)?, col)?;
        ConsoleSubject::parse(&text)
            .ok_or_else(|| StoreError::Corrupt(format!("column {col}: {text:?} is not a console subject")))
    }
}

impl Column for AdminRole {
    fn get(row: &dyn Row, col: &str) -> StoreResult<Self> {
        let text = required(row.text(col)?, col)?;
        AdminRole::parse(&text).ok_or_else(|| StoreError::Corrupt(format!("column {col}: {text:?} is not a role")))
    }
}

impl Column for Option<Vec<HoursWindow>> {
    fn get(row: &dyn Row, col: &str) -> StoreResult<Self> {
        row.text(col)?.map(|t| json(&t, col)).transpose()
    }
}

impl Column for Option<OperatorScope> {
    fn get(row: &dyn Row, col: &str) -> StoreResult<Self> {
        row.text(col)?.map(|t| json(&t, col)).transpose()
    }
}

impl Column for Vec<u8> {
    fn get(row: &dyn Row, col: &str) -> StoreResult<Self> {
        required(row.blob(col)?, col)
    }
}

impl Column for Option<Vec<u8>> {
    fn get(row: &dyn Row, col: &str) -> StoreResult<Self> {
        row.blob(col)
    }
}

/// A record read from a row.
pub(crate) trait FromRow: Sized {
    fn from_row(row: &dyn Row) -> StoreResult<Self>;
}

/// Implements [`FromRow`] for a struct whose fields are named as its columns.
/// A value that cannot be read names the record and its row (by the record's first
/// column, its key), never becomes a default.
macro_rules! from_row {
    ($($t:ident { $first:ident $(, $f:ident)* $(,)? })*) => {
        $(
            impl FromRow for $t {
                fn from_row(row: &dyn Row) -> StoreResult<Self> {
                    let read = || -> StoreResult<Self> {
                        Ok($t { $first: Column::get(row, stringify!($first))?, $($f: Column::get(row, stringify!($f))?),* })
                    };
                    read().map_err(|e| match e {
                        StoreError::Corrupt(why) => {
                            let key = row.text(stringify!($first)).ok().flatten()
                                .or_else(|| row.int(stringify!($first)).ok().flatten().map(|n| n.to_string()))
                                .unwrap_or_else(|| "?".to_owned());
                            StoreError::Corrupt(format!("{} {}={key}: {why}", stringify!($t), stringify!($first)))
                        }
                        other => other,
                    })
                }
            }
        )*
    };
}

from_row! {
    Tenant { id, name, standby_required, standby_seconds, password_policy, time_zone, created_at }
    AdminToken { id, tenant_id, name, secret_hash, created_at, revoked_at, role, scope }
    App { id, tenant_id, name, kind, secret_hash, created_at, revoked_at, origins }
    User { id, tenant_id, username, email, display_name, disabled, created_at, valid_from, valid_until, login_hours }
    Group { id, tenant_id, name, login_hours, created_at }
    Enrollment { id, tenant_id, user_id, code_hash, created_at, expires_at, used_at, device_id }
    Device { id, tenant_id, user_id, name, public_key, created_at, revoked_at }
    StandbyWindow { id, tenant_id, user_id, device_id, opened_at, expires_at, closed_at }
    LoginRequest {
        id, tenant_id, user_id, app_id, number, environment, env_key, env_known, created_at, expires_at, status,
        decided_at, device_id, assertion_jti,
    }
    InboxMessage { id, tenant_id, user_id, kind, login_id, body, created_at, expires_at, dismissed_at }
    QrSession {
        id, tenant_id, token_hash, poll_hash, environment, env_key, created_at, expires_at, used_at, user_id,
        device_id, assertion_jti, app_id,
    }
    AssertionRecord {
        jti, tenant_id, user_id, username, login_id, level, amr, issued_at, expires_at, consumed_at, consumed_by,
    }
    Ticket { id, tenant_id, user_id, entitlement, issued_by, created_at, expires_at, redeemed_at, redeemed_by }
    EnvironmentRecord {
        user_id, env_key, tenant_id, browser, os, network, country, first_seen, last_seen, last_login_at, trusted,
    }
    StoredEvent { seq, tenant_id, ts, action, outcome, user_id, doc, prev_hash, hash }
    IngestSource { id, tenant_id, name, secret_hash, created_at, revoked_at, labels }
    DeadLetter { id, tenant_id, source_id, received_at, reason, sample }
    AlertRecord { id, tenant_id, rule_id, title, level, tags, source_id, event_seq, matched, entities, excerpt, created_at }
    EntityProfileRow { entity, doc }
    RetentionRow { retention_days }
    DocumentRecord { tenant_id, version, doc, author, created_at }
    SilenceRecord { id, tenant_id, matchers, starts_at, ends_at, created_by, comment, created_at }
    NotificationAttempt { id, tenant_id, channel, group_key, content_hash, alerts, attempt, at, outcome }
    AlertTriage { alert_id, tenant_id, state, assignee, changed_at, changed_by }
    AlertComment { id, tenant_id, alert_id, author, body, created_at }
    StateRow { state }
    IngestedEvent { seq, tenant_id, source_id, received_at, doc }
    TotpCredential {
        id, tenant_id, user_id, secret_sealed, algorithm, digits, period, created_at, confirmed_at, last_step, failures,
        last_failure_at,
    }
    PasswordRecord { user_id, tenant_id, hash, created_at, updated_at }
    ThrottleRecord { key, tenant_id, failures, window_start, locked_until }
    SessionRecord {
        id, tenant_id, user_id, level, amr, auth_time, created_at, last_seen_at, expires_at, revoked_at, sso_id,
    }
    OidcClient { app_id, tenant_id, public, redirect_uris, post_logout_redirect_uris, id_token_alg, created_at }
    OidcKey { kid, alg, private_sealed, public_jwk, created_at, retired_at }
    OidcCode {
        id, tenant_id, client_id, user_id, session_id, redirect_uri, scope, nonce, code_challenge, auth_time, level,
        amr, family_id, created_at, expires_at, consumed_at,
    }
    OidcRefreshToken {
        id, tenant_id, family_id, client_id, user_id, session_id, scope, auth_time, level, amr, created_at, expires_at,
        used_at, revoked_at,
    }
    PasskeyRecord { id, tenant_id, user_id, name, credential, created_at, last_used_at }
    PushSubscription { device_id, tenant_id, user_id, endpoint, p256dh, auth, created_at }
    ConsoleGrant { tenant_id, subject_kind, subject_id, role, scope, created_at, created_by }
    AuditRollup { hour, action, outcome, label, n }
    DetectionRollup { hour, series, key, label, n }
    OverrideRecord {
        id, tenant_id, user_id, action, level, reason, policy, source, created_at, expires_at, lifted_at, lifted_by,
        lift_reason,
    }
    PasskeyCeremony { id, tenant_id, kind, user_id, state, created_at, expires_at, consumed_at }
    CountRow { n }
    SeqRow { seq }
    AuditHeadRow { seq, hash }
    AuditBase { seq, hash, sig, archived_at }
    UsernameRow { username }
    TenantIdRow { id }
    SearchField { name, since }
    IndexRowOwned { tenant_id, field, value, seq, received_at }
    MinIdRow { id }
    PostingRow { received_at, seq }
    PostingsRow { id, newest_at, oldest_at, entries }
    StagedRow { id, received_at, entries }
    StagedBatchRow { id, tenant_id, received_at, entries, alert_entities, rollups }
    StagedAboutRow { id, alert_entities }
}

impl FromRow for TicketWithHolder {
    fn from_row(row: &dyn Row) -> StoreResult<Self> {
        Ok(TicketWithHolder { ticket: Ticket::from_row(row)?, holder: Column::get(row, "holder")? })
    }
}

/// The last row of the audit chain.
#[derive(Debug)]
pub(crate) struct AuditHeadRow {
    pub(crate) seq: i64,
    pub(crate) hash: Vec<u8>,
}

/// A row of one `seq` column.
#[derive(Debug)]
pub(crate) struct SeqRow {
    pub(crate) seq: i64,
}

/// A row of one `n` column (a count).
#[derive(Debug)]
pub(crate) struct CountRow {
    pub(crate) n: i64,
}

/// A row of one `state` column.
#[derive(Debug)]
pub(crate) struct StateRow {
    pub(crate) state: String,
}

/// A row of one `retention_days` column.
#[derive(Debug)]
pub(crate) struct RetentionRow {
    pub(crate) retention_days: i64,
}

/// A behaviour profile and its entity.
#[derive(Debug)]
pub(crate) struct EntityProfileRow {
    pub(crate) entity: String,
    pub(crate) doc: String,
}

/// A row of the search index as stored (`field` is the key: an entity's kind or
/// `field:<name>`).
#[derive(Debug)]
pub(crate) struct IndexRowOwned {
    pub(crate) tenant_id: sekimori_core::TenantId,
    pub(crate) field: String,
    pub(crate) value: String,
    pub(crate) seq: i64,
    pub(crate) received_at: sekimori_core::Timestamp,
}

/// An event in the search index: when it was received and its number.
#[derive(Debug)]
pub(crate) struct PostingRow {
    pub(crate) received_at: sekimori_core::Timestamp,
    pub(crate) seq: i64,
}

/// A row of `event_postings` as a search reads it: its number, the newest and oldest of its
/// events' times, and the events packed by [`crate::postings`].
#[derive(Debug)]
pub(crate) struct PostingsRow {
    pub(crate) id: i64,
    pub(crate) newest_at: sekimori_core::Timestamp,
    pub(crate) oldest_at: sekimori_core::Timestamp,
    pub(crate) entries: Vec<u8>,
}

/// A row of `event_index_staged`: one ingest batch's index entries, packed by
/// [`crate::postings::encode_staged`].
#[derive(Debug)]
pub(crate) struct StagedRow {
    pub(crate) id: i64,
    pub(crate) received_at: sekimori_core::Timestamp,
    pub(crate) entries: Vec<u8>,
}

/// A row of `event_index_staged` as the background move takes it: the batch's index
/// entries, and the entities its alerts are about and its roll-up counts (NULL in a row
/// staged before migration 0035, whose batch wrote those itself), packed by
/// [`crate::postings`].
#[derive(Debug)]
pub(crate) struct StagedBatchRow {
    pub(crate) id: i64,
    pub(crate) tenant_id: sekimori_core::TenantId,
    pub(crate) received_at: sekimori_core::Timestamp,
    pub(crate) entries: Vec<u8>,
    pub(crate) alert_entities: Option<Vec<u8>>,
    pub(crate) rollups: Option<Vec<u8>>,
}

/// A staged batch's alert entities, packed by [`crate::postings::encode_about`].
#[derive(Debug)]
pub(crate) struct StagedAboutRow {
    pub(crate) id: i64,
    pub(crate) alert_entities: Vec<u8>,
}

/// A row of the detection roll-ups as read with the staged batches' counts: a stored row,
/// or a staged batch's packed counts (`staged_id` and `staged` set, the rest NULL).
#[derive(Debug)]
pub(crate) enum RollupPart {
    Stored(crate::records::DetectionRollup),
    Staged { id: i64, rollups: Vec<u8> },
}

impl FromRow for RollupPart {
    fn from_row(row: &dyn Row) -> StoreResult<Self> {
        match row.blob("staged")? {
            Some(rollups) => Ok(RollupPart::Staged { id: Column::get(row, "staged_id")?, rollups }),
            None => Ok(RollupPart::Stored(crate::records::DetectionRollup::from_row(row)?)),
        }
    }
}

/// A row of one nullable `id` column (`MIN(id)` of an empty table is NULL).
#[derive(Debug)]
pub(crate) struct MinIdRow {
    pub(crate) id: Option<i64>,
}

/// A row of one `id` column: a tenant's.
#[derive(Debug)]
pub(crate) struct TenantIdRow {
    pub(crate) id: sekimori_core::TenantId,
}

/// A row of one `username` column.
#[derive(Debug)]
pub(crate) struct UsernameRow {
    pub(crate) username: String,
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// A row of text columns (and `public` as a boolean).
    struct Fake(HashMap<&'static str, &'static str>);

    impl Row for Fake {
        fn int(&self, col: &str) -> StoreResult<Option<i64>> {
            Ok(self.0.get(col).and_then(|v| v.parse().ok()))
        }
        fn boolean(&self, col: &str) -> StoreResult<Option<bool>> {
            Ok(self.0.get(col).map(|v| *v == "true"))
        }
        fn text(&self, col: &str) -> StoreResult<Option<String>> {
            Ok(self.0.get(col).map(|v| (*v).to_owned()))
        }
        fn blob(&self, col: &str) -> StoreResult<Option<Vec<u8>>> {
            Ok(self.0.get(col).map(|v| v.as_bytes().to_vec()))
        }
    }

    fn client(redirect_uris: &'static str) -> Fake {
        Fake(HashMap::from([
            ("app_id", "c1"),
            ("tenant_id", "t1"),
            ("public", "false"),
            ("redirect_uris", redirect_uris),
            ("post_logout_redirect_uris", "[]"),
            ("id_token_alg", "RS256"),
            ("created_at", "5"),
        ]))
    }

    #[test]
    fn json_columns_are_decoded_and_corrupt_ones_name_the_record_and_key() {
        let ok = OidcClient::from_row(&client(r#"["https://rp.example/cb"]"#)).expect("decoded");
        assert_eq!(ok.redirect_uris, vec!["https://rp.example/cb".to_owned()]);
        for bad in ["not json", r#"{"a":1}"#, "[1]"] {
            match OidcClient::from_row(&client(bad)) {
                Err(StoreError::Corrupt(why)) => {
                    assert!(why.starts_with("OidcClient app_id=c1: column redirect_uris"), "{why}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        // An operator scope that cannot be read is an error, never an empty (unrestricted) scope.
        let scope: StoreResult<Option<OperatorScope>> =
            Column::get(&Fake(HashMap::from([("scope", r#"{"groups":"ops"}"#)])), "scope");
        assert!(matches!(scope, Err(StoreError::Corrupt(_))));
        let scope: Option<OperatorScope> = Column::get(
            &Fake(HashMap::from([("scope", r#"{"capabilities":["users.read"],"groups":["ops"]}"#)])),
            "scope",
        )
        .expect("scope");
        assert_eq!(scope.map(|s| s.groups), Some(vec!["ops".to_owned()]));
        // A role that is none of the three is corrupt, never a default role.
        let role: StoreResult<AdminRole> = Column::get(&Fake(HashMap::from([("role", "superuser")])), "role");
        assert!(matches!(role, Err(StoreError::Corrupt(_))));
        let role: AdminRole = Column::get(&Fake(HashMap::from([("role", "auditor")])), "role").expect("role");
        assert_eq!(role, AdminRole::Auditor);
        // Statuses and kinds: every stored name reads back; anything else is corrupt.
        for v in [LoginStatus::Pending, LoginStatus::Approved, LoginStatus::Denied] {
            let Arg::Text(name) = Arg::from(v) else { panic!("text") };
            let row = Fake(HashMap::from([("status", v.as_str())]));
            assert_eq!((Column::get(&row, "status").ok(), name.as_ref()), (Some(v), v.as_str()));
        }
        for v in [MessageKind::PushLogin, MessageKind::EnvironmentWarning, MessageKind::SecurityNotice] {
            let row = Fake(HashMap::from([("kind", v.as_str())]));
            assert_eq!(Column::get(&row, "kind").ok(), Some(v));
        }
        let status: StoreResult<LoginStatus> = Column::get(&Fake(HashMap::from([("status", "approve")])), "status");
        assert!(matches!(status, Err(StoreError::Corrupt(_))));
        let kind: StoreResult<MessageKind> = Column::get(&Fake(HashMap::from([("kind", "Push_Login")])), "kind");
        assert!(matches!(kind, Err(StoreError::Corrupt(_))));
        for v in [CeremonyKind::Register, CeremonyKind::Login, CeremonyKind::Discoverable] {
            let row = Fake(HashMap::from([("kind", v.as_str())]));
            assert_eq!(Column::get(&row, "kind").ok(), Some(v));
        }
        let kind: StoreResult<CeremonyKind> = Column::get(&Fake(HashMap::from([("kind", "signup")])), "kind");
        assert!(matches!(kind, Err(StoreError::Corrupt(_))));
        // And what is written reads back.
        let Arg::Text(written) = Arg::from(&Some(OperatorScope { capabilities: vec!["x".into()], groups: vec![] }))
        else {
            panic!("text")
        };
        assert_eq!(written, r#"{"capabilities":["x"],"groups":[]}"#);
    }

    #[test]
    fn dollar_parameters_become_numbered_question_marks_outside_quotes() {
        assert_eq!(
            numbered_parameters(
                "SELECT json_extract(a, '$.b$1') AS \"x$2\" FROM t WHERE c = $1 AND d IN ($2, $10) OR e = $1"
            ),
            "SELECT json_extract(a, '$.b$1') AS \"x$2\" FROM t WHERE c = ?1 AND d IN (?2, ?10) OR e = ?1"
        );
        assert!(matches!(numbered_parameters("SELECT 1"), Cow::Borrowed(_)));
        assert_eq!(
            numbered_parameters("SELECT '$1', $ FROM t WHERE a = 'it''s $3' AND b = $3"),
            "SELECT '$1', $ FROM t WHERE a = 'it''s $3' AND b = ?3"
        );
    }

    #[test]
    fn push_bind_numbers_parameters_in_order() {
        let mut query = q("SELECT * FROM t WHERE 1 = 1").bind(7_i64);
        query.push_bind(" AND a = ", "x");
        query.push_bind(" AND b = ", Some(3_i64));
        query.push(" ORDER BY a");
        assert_eq!(query.sql, "SELECT * FROM t WHERE 1 = 1 AND a = $2 AND b = $3 ORDER BY a");
        assert_eq!(query.args, vec![Arg::Int(7), Arg::Text("x".into()), Arg::Int(3)]);
    }

    #[test]
    fn nulls_keep_their_type() {
        assert_eq!(Arg::from(None::<&str>), Arg::NullText);
        assert_eq!(Arg::from(None::<i64>), Arg::NullInt);
        assert_eq!(Arg::from(&Some("a".to_owned())), Arg::Text("a".into()));
    }
}
