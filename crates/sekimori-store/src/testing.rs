//! Fresh, isolated stores for tests: a SQLite file in a temporary directory, or a new
//! schema on the PostgreSQL server named by `SEKIMORI_TEST_DATABASE_URL` (default: the
//! local server). PostgreSQL tests fail, never skip, when the server is unreachable.

use crate::postgres::PostgresStore;
use crate::sqlite::SqliteStore;

/// The PostgreSQL URL tests use.
pub fn test_database_url() -> String {
    std::env::var("SEKIMORI_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A SQLite store in a new temporary directory (kept for the life of the process).
pub async fn fresh_sqlite() -> SqliteStore {
    fresh_sqlite_pair().await.0
}

/// Two SQLite stores on one new database file, as two processes would open it.
pub async fn fresh_sqlite_pair() -> (SqliteStore, SqliteStore) {
    let dir = std::env::temp_dir().join(format!("sekimori-test-{}", unique()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let path = dir.join("sekimori.db");
    let a = SqliteStore::open(&path).await.expect("open sqlite");
    let b = SqliteStore::open(&path).await.expect("open sqlite again");
    (a, b)
}

/// A PostgreSQL store in a new schema.
pub async fn fresh_postgres() -> PostgresStore {
    fresh_postgres_pair().await.0
}

/// Two PostgreSQL stores (two nodes) on one new schema.
pub async fn fresh_postgres_pair() -> (PostgresStore, PostgresStore) {
    let url = test_database_url();
    let schema = format!("t_{}", unique());
    let admin: sqlx::postgres::PgConnectOptions = url.parse().expect("SEKIMORI_TEST_DATABASE_URL is a postgres URL");
    let mut conn = sqlx::ConnectOptions::connect(&admin).await.unwrap_or_else(|e| {
        panic!("PostgreSQL at {url} is unreachable ({e}); start it or set SEKIMORI_TEST_DATABASE_URL")
    });
    sqlx::Executor::execute(&mut conn, format!("CREATE SCHEMA {schema}").as_str()).await.expect("create schema");
    let options = admin.options([("search_path", schema.as_str())]);
    let a = PostgresStore::connect(options.clone(), 16).await.expect("connect postgres");
    let b = PostgresStore::connect(options, 16).await.expect("connect postgres again");
    (a, b)
}

fn unique() -> String {
    let mut b = [0u8; 10];
    sekimori_core::Rng::fill(&sekimori_core::OsRng, &mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}
