//! The PostgreSQL backend, for several Sekimori nodes sharing one database.
//! Appends to the audit chain are serialised by a transaction-scoped advisory lock.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::{AuditHead, Store};

type Db = sqlx::Postgres;
type This = PostgresStore;

/// The advisory lock key that guards the audit chain's head ("SKMR").
const AUDIT_LOCK_KEY: i64 = 0x534B_4D52;

/// PostgreSQL-backed [`Store`].
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// The last audit row this node wrote (a cache; the database has the last word).
    audit_head: AuditHead,
}

impl PostgresStore {
    /// Connects with `options` (URL, credentials, `search_path`, …) and migrates.
    pub async fn connect(options: PgConnectOptions, max_connections: u32) -> StoreResult<Self> {
        // Connections are not pinged before each use (a round trip per query); a broken one
        // fails its query, is dropped, and is replaced. Lifetimes bound how stale one gets.
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .test_before_acquire(false)
            .max_lifetime(Duration::from_secs(30 * 60))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PostgresStore { pool, audit_head: AuditHead::default() })
    }

    /// Connects to a `postgres://` URL.
    pub async fn connect_url(url: &str, max_connections: u32) -> StoreResult<Self> {
        let options: PgConnectOptions = url.parse()?;
        Self::connect(options, max_connections).await
    }

    fn w(&self) -> &PgPool {
        &self.pool
    }

    fn r(&self) -> &PgPool {
        &self.pool
    }

    async fn lock_audit(tx: &mut sqlx::Transaction<'static, Db>) -> StoreResult<()> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(AUDIT_LOCK_KEY).execute(&mut **tx).await?;
        Ok(())
    }
}

impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }
}

include!("sql/common.rs");
include!("sql/identity.rs");
include!("sql/login.rs");
include!("sql/tickets_audit.rs");
