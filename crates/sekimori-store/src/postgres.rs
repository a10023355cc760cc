//! The PostgreSQL backend, for several Sekimori nodes sharing one database.
//! Appends to the audit chain are serialised by a transaction-scoped advisory lock.

use std::time::Duration;

use sqlx::postgres::{PgArguments, PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgPool, Postgres};

use crate::query::{Arg, FromRow, Row};
use crate::{AuditHead, Store, StoreError};

type This = PostgresStore;

/// The advisory lock key that guards the audit chain's head ("SKMR").
const AUDIT_LOCK_KEY: i64 = 0x534B_4D52;

/// PostgreSQL-backed [`Store`].
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    waits: std::sync::Arc<crate::ConnectionWaits>,
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
        Ok(PostgresStore { pool, audit_head: AuditHead::default(), waits: Default::default() })
    }

    /// Connects to a `postgres://` URL.
    pub async fn connect_url(url: &str, max_connections: u32) -> StoreResult<Self> {
        let options: PgConnectOptions = url.parse()?;
        Self::connect(options, max_connections).await
    }

    /// A connection from the pool, the wait timed for metrics.
    async fn connection(&self) -> StoreResult<sqlx::pool::PoolConnection<Postgres>> {
        let started = crate::ConnectionWaits::start();
        let conn = self.pool.acquire().await?;
        self.waits.done(started);
        Ok(conn)
    }

    async fn begin(&self) -> StoreResult<Tx> {
        // The wait timed includes the BEGIN's round trip (the pool acquires inside it).
        let started = crate::ConnectionWaits::start();
        let tx = self.pool.begin().await?;
        self.waits.done(started);
        Ok(Tx(tx))
    }

    async fn read_optional<T: FromRow>(&self, query: Q<'_>) -> StoreResult<Option<T>> {
        let mut conn = self.connection().await?;
        statement(&query).fetch_optional(&mut *conn).await?.map(|r| T::from_row(&r)).transpose()
    }

    async fn read_all<T: FromRow>(&self, query: Q<'_>) -> StoreResult<Vec<T>> {
        let mut conn = self.connection().await?;
        statement(&query).fetch_all(&mut *conn).await?.iter().map(|r| T::from_row(r)).collect()
    }

    async fn write(&self, query: Q<'_>) -> StoreResult<u64> {
        let mut conn = self.connection().await?;
        Ok(statement(&query).execute(&mut *conn).await?.rows_affected())
    }

    async fn lock_audit(tx: &mut Tx) -> StoreResult<()> {
        tx.execute(q("SELECT pg_advisory_xact_lock($1)").bind(AUDIT_LOCK_KEY)).await?;
        Ok(())
    }
}

/// A write transaction; dropped uncommitted, it rolls back.
struct Tx(sqlx::Transaction<'static, Postgres>);

impl Tx {
    async fn execute(&mut self, query: Q<'_>) -> StoreResult<u64> {
        Ok(statement(&query).execute(&mut *self.0).await?.rows_affected())
    }

    async fn fetch_optional<T: FromRow>(&mut self, query: Q<'_>) -> StoreResult<Option<T>> {
        statement(&query).fetch_optional(&mut *self.0).await?.map(|r| T::from_row(&r)).transpose()
    }

    async fn fetch_one<T: FromRow>(&mut self, query: Q<'_>) -> StoreResult<T> {
        T::from_row(&statement(&query).fetch_one(&mut *self.0).await?)
    }

    async fn fetch_all<T: FromRow>(&mut self, query: Q<'_>) -> StoreResult<Vec<T>> {
        statement(&query).fetch_all(&mut *self.0).await?.iter().map(|r| T::from_row(r)).collect()
    }

    async fn commit(self) -> StoreResult<()> {
        Ok(self.0.commit().await?)
    }

    async fn rollback(self) -> StoreResult<()> {
        Ok(self.0.rollback().await?)
    }
}

/// The sqlx statement for `query`.
fn statement<'q>(query: &'q Q<'_>) -> sqlx::query::Query<'q, Postgres, PgArguments> {
    query.args.iter().fold(sqlx::query(&query.sql), |s, arg| match arg {
        Arg::Int(v) => s.bind(*v),
        Arg::Bool(v) => s.bind(*v),
        Arg::Text(v) => s.bind(v.as_ref()),
        Arg::Blob(v) => s.bind(*v),
        Arg::NullInt => s.bind(None::<i64>),
        Arg::NullText => s.bind(None::<&str>),
    })
}

impl Row for PgRow {
    fn int(&self, col: &str) -> StoreResult<Option<i64>> {
        get(self, col)
    }

    fn boolean(&self, col: &str) -> StoreResult<Option<bool>> {
        get(self, col)
    }

    fn text(&self, col: &str) -> StoreResult<Option<String>> {
        get(self, col)
    }

    fn blob(&self, col: &str) -> StoreResult<Option<Vec<u8>>> {
        get(self, col)
    }
}

fn get<T>(row: &PgRow, col: &str) -> StoreResult<Option<T>>
where
    T: for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    sqlx::Row::try_get::<Option<T>, _>(row, col).map_err(|e| StoreError::Corrupt(format!("column {col}: {e}")))
}

impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn pool_connections(&self) -> Option<(u32, u32)> {
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        Some((self.pool.size(), idle))
    }

    fn connection_waits(&self) -> Option<(u64, f64)> {
        Some(self.waits.snapshot())
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
