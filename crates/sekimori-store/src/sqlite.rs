//! The embedded default backend: one SQLite file in WAL mode, one writer connection
//! (SQLite allows one writer at a time; a single connection makes that a queue instead
//! of `SQLITE_BUSY` errors) and a pool of read-only connections.
//!
//! Statements run on the calling thread, synchronously, through rusqlite: a point
//! lookup or a whole write transaction on a local file takes tens of microseconds, far
//! less than handing each statement to a worker thread and back (what sqlx's SQLite
//! driver does, and what bounded this backend at ~2,300 ticket redemptions/s; ADR 0003).
//! The writer connection sits behind an async mutex: a transaction holds it from
//! `begin()` to `commit()` and never waits on anything else in between, so other tasks
//! queue without blocking a thread. Reads take an idle connection from the pool, or open
//! one, and never wait for the writer (WAL).
//!
//! Checkpoints run in the background, once a second, on a connection of their own: left
//! to SQLite, every thousandth commit would copy the WAL into the database and fsync it
//! inside the request that made it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use crate::query::{numbered_parameters, Arg, FromRow, Row};
use crate::{AuditHead, Store, StoreError};

type This = SqliteStore;

/// SQLite-backed [`Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: Arc<AsyncMutex<Connection>>,
    readers: Arc<Readers>,
    /// The last audit row this node wrote (a cache; the database has the last word).
    audit_head: AuditHead,
    /// Waits for the writer, for metrics.
    waits: Arc<crate::ConnectionWaits>,
    /// Stops the checkpoint task when the last handle goes.
    _checkpointer: Arc<AbortOnDrop>,
}

#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How often the background checkpoint runs.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// How long a connection waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle read connections kept open.
const MAX_IDLE_READERS: usize = 8;
/// Prepared statements cached per connection (the store has about sixty distinct ones).
const STATEMENT_CACHE: usize = 128;
/// The writer connection's page cache, in KiB (SQLite's default is 2 MiB). Ingest writes
/// into B-trees ordered by something other than time (the event index by entity, alert
/// entities, roll-ups), whose pages are scattered over a file of many gigabytes: with 2 MiB
/// each batch read most of them back from the operating system again.
const WRITER_CACHE_KIB: i64 = 64 * 1024;

/// The migrations, in order; `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/sqlite/0001_gate.sql"),
    include_str!("../migrations/sqlite/0002_watch.sql"),
    include_str!("../migrations/sqlite/0003_watch_cursor.sql"),
    include_str!("../migrations/sqlite/0004_behaviour.sql"),
    include_str!("../migrations/sqlite/0005_tuning.sql"),
    include_str!("../migrations/sqlite/0006_watch_settings.sql"),
    include_str!("../migrations/sqlite/0007_factors.sql"),
    include_str!("../migrations/sqlite/0008_passwords.sql"),
    include_str!("../migrations/sqlite/0009_access.sql"),
    include_str!("../migrations/sqlite/0010_admin_roles.sql"),
    include_str!("../migrations/sqlite/0011_sessions.sql"),
    include_str!("../migrations/sqlite/0012_app_origins.sql"),
    include_str!("../migrations/sqlite/0013_oidc.sql"),
    include_str!("../migrations/sqlite/0014_session_sso.sql"),
    include_str!("../migrations/sqlite/0015_passkeys.sql"),
    include_str!("../migrations/sqlite/0016_health_probe.sql"),
    include_str!("../migrations/sqlite/0017_audit_base.sql"),
    include_str!("../migrations/sqlite/0018_routing.sql"),
    include_str!("../migrations/sqlite/0019_silences.sql"),
    include_str!("../migrations/sqlite/0020_notifications.sql"),
    include_str!("../migrations/sqlite/0021_user_overrides.sql"),
    include_str!("../migrations/sqlite/0022_alert_triage.sql"),
    include_str!("../migrations/sqlite/0023_source_labels.sql"),
    include_str!("../migrations/sqlite/0024_override_once.sql"),
    include_str!("../migrations/sqlite/0025_risk_policy.sql"),
    include_str!("../migrations/sqlite/0026_push_subscriptions.sql"),
    include_str!("../migrations/sqlite/0027_console_roles.sql"),
    include_str!("../migrations/sqlite/0028_audit_rollups.sql"),
    include_str!("../migrations/sqlite/0029_alert_entities.sql"),
    include_str!("../migrations/sqlite/0030_rollup_labels_and_detection.sql"),
    include_str!("../migrations/sqlite/0031_event_index.sql"),
    include_str!("../migrations/sqlite/0032_search_fields.sql"),
    include_str!("../migrations/sqlite/0033_event_index_recent.sql"),
    include_str!("../migrations/sqlite/0034_event_postings.sql"),
    include_str!("../migrations/sqlite/0035_staged_detection.sql"),
];

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path` and migrates it.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        let writer = open_connection(path, false)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        // A negative size is in KiB.
        writer.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
        migrate(&writer)?;
        let readers = Arc::new(Readers { path: path.to_owned(), idle: Mutex::new(Vec::new()) });
        let writer = Arc::new(AsyncMutex::new(writer));
        let checkpointer = Arc::new(Mutex::new(open_connection(path, false)?));
        let task = tokio::spawn(checkpoints(Arc::clone(&writer), checkpointer));
        Ok(SqliteStore {
            writer,
            readers,
            audit_head: AuditHead::default(),
            waits: Arc::default(),
            _checkpointer: Arc::new(AbortOnDrop(task)),
        })
    }

    /// Begins a write transaction (`BEGIN IMMEDIATE`: the write lock is taken now, so a
    /// second process on the same file waits here rather than failing at its first write).
    async fn begin(&self) -> StoreResult<Tx> {
        let started = crate::ConnectionWaits::start();
        let conn = Arc::clone(&self.writer).lock_owned().await;
        self.waits.done(started);
        control(&conn, "BEGIN IMMEDIATE")?;
        Ok(Tx { conn, open: true })
    }

    async fn read_optional<T: FromRow>(&self, query: Q<'_>) -> StoreResult<Option<T>> {
        self.readers.with(|c| fetch(c, &query, Some(1))).map(|mut rows| rows.pop())
    }

    async fn read_all<T: FromRow>(&self, query: Q<'_>) -> StoreResult<Vec<T>> {
        self.readers.with(|c| fetch(c, &query, None))
    }

    async fn write(&self, query: Q<'_>) -> StoreResult<u64> {
        let started = crate::ConnectionWaits::start();
        let conn = self.writer.lock().await;
        self.waits.done(started);
        execute(&conn, &query)
    }

    /// Appends are already serialised: there is one writer connection, and the
    /// transaction holds SQLite's write lock.
    async fn lock_audit(_tx: &mut Tx) -> StoreResult<()> {
        Ok(())
    }
}

impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn free_bytes(&self) -> Option<u64> {
        let dir = self.readers.path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let st = rustix::fs::statvfs(dir).ok()?;
        Some(st.f_bavail.saturating_mul(st.f_frsize))
    }

    fn wal_bytes(&self) -> Option<u64> {
        let wal = std::path::PathBuf::from(format!("{}-wal", self.readers.path.display()));
        match std::fs::metadata(wal) {
            Ok(m) => Some(m.len()),
            // No log file yet (or checkpointed away at close): an empty log.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(0),
            Err(_) => None,
        }
    }

    fn connection_waits(&self) -> Option<(u64, f64)> {
        Some(self.waits.snapshot())
    }
}

/// Keeps the WAL short, once a second: a PASSIVE checkpoint on a connection of its own
/// copies what it can into the database file without holding anything up; then a second
/// one on the writer connection, between transactions, copies the few frames committed
/// meanwhile. After that the WAL is fully checkpointed, so the writer's next transaction
/// starts the WAL file over from its beginning instead of appending to it. (Without the
/// second step a WAL under steady load is never fully checkpointed at the moment a write
/// begins, and grows without bound.) Only the second step, with its fsync, makes writers
/// wait.
async fn checkpoints(writer: Arc<AsyncMutex<Connection>>, own: Arc<Mutex<Connection>>) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    loop {
        tick.tick().await;
        let own = Arc::clone(&own);
        let background =
            tokio::task::spawn_blocking(move || checkpoint(&own.lock().unwrap_or_else(|p| p.into_inner())));
        if !log_checkpoint(background.await) {
            continue;
        }
        let conn = Arc::clone(&writer).lock_owned().await;
        log_checkpoint(tokio::task::spawn_blocking(move || checkpoint(&conn)).await);
    }
}

/// Runs a PASSIVE checkpoint; returns whether the WAL had frames left to copy.
fn checkpoint(conn: &Connection) -> rusqlite::Result<bool> {
    // (busy, frames in the WAL, frames checkpointed)
    let (busy, log, done): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(busy == 0 && log > 0 && done >= 0)
}

fn log_checkpoint(result: Result<rusqlite::Result<bool>, tokio::task::JoinError>) -> bool {
    match result {
        Ok(Ok(more)) => more,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "background WAL checkpoint failed");
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, "background WAL checkpoint task failed");
            false
        }
    }
}

/// A write transaction on the writer connection; dropped uncommitted, it rolls back.
struct Tx {
    conn: OwnedMutexGuard<Connection>,
    open: bool,
}

impl Tx {
    async fn execute(&mut self, query: Q<'_>) -> StoreResult<u64> {
        execute(&self.conn, &query)
    }

    async fn fetch_optional<T: FromRow>(&mut self, query: Q<'_>) -> StoreResult<Option<T>> {
        Ok(fetch(&self.conn, &query, None)?.into_iter().next())
    }

    async fn fetch_all<T: FromRow>(&mut self, query: Q<'_>) -> StoreResult<Vec<T>> {
        fetch(&self.conn, &query, None)
    }

    async fn fetch_one<T: FromRow>(&mut self, query: Q<'_>) -> StoreResult<T> {
        fetch(&self.conn, &query, None)?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Sqlite(rusqlite::Error::QueryReturnedNoRows))
    }

    async fn commit(mut self) -> StoreResult<()> {
        self.open = false;
        control(&self.conn, "COMMIT")
    }

    async fn rollback(mut self) -> StoreResult<()> {
        self.open = false;
        control(&self.conn, "ROLLBACK")
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if self.open {
            if let Err(e) = control(&self.conn, "ROLLBACK") {
                tracing::error!(error = %e, "rolling back an abandoned SQLite transaction failed");
            }
        }
    }
}

/// Idle read-only connections, taken and returned around each read.
#[derive(Debug)]
struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    fn with<R>(&self, f: impl FnOnce(&Connection) -> StoreResult<R>) -> StoreResult<R> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some(c) => c,
            None => open_connection(&self.path, true)?,
        };
        let result = f(&conn);
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        result
    }
}

fn open_connection(path: &Path, read_only: bool) -> StoreResult<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.pragma_update(None, "foreign_keys", true)?;
    // Statement journals stay in memory.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    if !read_only {
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    }
    Ok(conn)
}

/// Runs the migrations the file has not seen, each in its own transaction.
fn migrate(conn: &Connection) -> StoreResult<()> {
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let version = i64::try_from(i + 1).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let done = applied_migrations(conn)?;
        let result = if done >= version {
            conn.execute_batch("COMMIT")
        } else {
            conn.execute_batch(sql)
                .and_then(|()| conn.pragma_update(None, "user_version", version))
                .and_then(|()| conn.execute_batch("COMMIT"))
        };
        if let Err(e) = result {
            // Best effort: the transaction may already be gone with the error.
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e.into());
        }
    }
    Ok(())
}

/// How many migrations the file has seen: `PRAGMA user_version`, or for a file written
/// by releases that migrated through sqlx, the versions in its `_sqlx_migrations` table.
fn applied_migrations(conn: &Connection) -> rusqlite::Result<i64> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let sqlx_table: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
        [],
        |r| r.get(0),
    )?;
    if version > 0 || !sqlx_table {
        return Ok(version);
    }
    conn.query_row("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success", [], |r| r.get(0))
}

/// Prepares (from the connection's cache) and binds `query`.
fn prepare<'c>(conn: &'c Connection, query: &Q<'_>) -> StoreResult<rusqlite::CachedStatement<'c>> {
    // `$N` becomes `?N`, so SQLite's parameter N is the query's N-th value.
    let mut stmt = conn.prepare_cached(&numbered_parameters(&query.sql))?;
    for index in 1..=stmt.parameter_count() {
        let arg = query
            .args
            .get(index - 1)
            .ok_or_else(|| StoreError::Corrupt(format!("no value bound for ${index} in `{}`", query.sql)))?;
        stmt.raw_bind_parameter(index, arg)?;
    }
    Ok(stmt)
}

/// Runs a transaction-control statement (prepared once per connection).
fn control(conn: &Connection, sql: &str) -> StoreResult<()> {
    conn.prepare_cached(sql)?.raw_execute()?;
    Ok(())
}

fn execute(conn: &Connection, query: &Q<'_>) -> StoreResult<u64> {
    let mut stmt = prepare(conn, query)?;
    Ok(stmt.raw_execute()? as u64)
}

/// Maps the rows of `query`, stopping after `limit` (reads only: a write such as
/// `UPDATE … RETURNING` is passed `None` and stepped to its end).
fn fetch<T: FromRow>(conn: &Connection, query: &Q<'_>, limit: Option<usize>) -> StoreResult<Vec<T>> {
    let mut stmt = prepare(conn, query)?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(T::from_row(row)?);
        if limit.is_some_and(|l| out.len() >= l) {
            break;
        }
    }
    Ok(out)
}

impl ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Arg::Int(v) => ValueRef::Integer(*v),
            Arg::Bool(v) => ValueRef::Integer(i64::from(*v)),
            Arg::Text(v) => ValueRef::Text(v.as_bytes()),
            Arg::Blob(v) => ValueRef::Blob(v),
            Arg::NullInt | Arg::NullText => ValueRef::Null,
        }))
    }
}

impl Row for rusqlite::Row<'_> {
    fn int(&self, col: &str) -> StoreResult<Option<i64>> {
        Ok(self.get(col)?)
    }

    fn boolean(&self, col: &str) -> StoreResult<Option<bool>> {
        Ok(self.get(col)?)
    }

    fn text(&self, col: &str) -> StoreResult<Option<String>> {
        Ok(self.get(col)?)
    }

    fn blob(&self, col: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.get(col)?)
    }
}

include!("sql/common.rs");
include!("sql/identity.rs");
include!("sql/login.rs");
include!("sql/tickets_audit.rs");
include!("sql/watch.rs");
include!("sql/insight.rs");
include!("sql/factors.rs");
include!("sql/passwords.rs");
include!("sql/access.rs");
include!("sql/sessions.rs");
include!("sql/oidc.rs");
include!("sql/passkeys.rs");
include!("sql/push.rs");
include!("sql/console.rs");

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_writer_keeps_a_larger_page_cache_than_sqlites_default() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("cache.db")).await.expect("open");
        let size: i64 = store.writer.lock().await.query_row("PRAGMA cache_size", [], |r| r.get(0)).expect("pragma");
        assert_eq!(size, -WRITER_CACHE_KIB);
        // Readers keep SQLite's default (-2000: 2 MiB each).
        let reader = open_connection(&dir.path().join("cache.db"), true).expect("reader");
        let size: i64 = reader.query_row("PRAGMA cache_size", [], |r| r.get(0)).expect("pragma");
        assert_eq!(size, -2000);
    }
}
