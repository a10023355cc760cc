//! The embedded default backend: one SQLite file in WAL mode, one writer connection
//! (SQLite allows one writer at a time; a single connection makes that a queue instead
//! of `SQLITE_BUSY` errors) and a pool of readers.
//!
//! Checkpoints run in the background, once a second, on a connection of their own: left
//! to SQLite, every thousandth commit would copy the WAL into the database and fsync it
//! inside the request that made it (the benchmark's p99 went from ~18 ms to under 5 ms).

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use crate::{AuditHead, Store};

type Db = sqlx::Sqlite;
type This = SqliteStore;

/// SQLite-backed [`Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// The last audit row this node wrote (a cache; the database has the last word).
    audit_head: AuditHead,
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

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path` and migrates it.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        let base = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("wal_autocheckpoint", "0");
        // No ping before each acquire: a local file does not go away, and every ping is a
        // round trip to the connection's worker thread.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.clone().read_only(true))
            .await?;
        let checkpoint_pool =
            SqlitePoolOptions::new().max_connections(1).test_before_acquire(false).connect_with(base.clone()).await?;
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
            loop {
                tick.tick().await;
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&checkpoint_pool).await {
                    tracing::warn!(error = %e, "background WAL checkpoint failed");
                }
            }
        });
        Ok(SqliteStore { writer, reader, audit_head: AuditHead::default(), _checkpointer: Arc::new(AbortOnDrop(task)) })
    }

    fn w(&self) -> &SqlitePool {
        &self.writer
    }

    fn r(&self) -> &SqlitePool {
        &self.reader
    }

    /// Appends are already serialised: there is one writer connection.
    async fn lock_audit(_tx: &mut sqlx::Transaction<'static, Db>) -> StoreResult<()> {
        Ok(())
    }
}

impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }
}

include!("sql/common.rs");
include!("sql/identity.rs");
include!("sql/login.rs");
include!("sql/tickets_audit.rs");
