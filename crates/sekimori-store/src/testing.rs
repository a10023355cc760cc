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
    let dir = std::env::temp_dir().join(format!("sekimori-test-{}", unique()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    SqliteStore::open(&dir.join("sekimori.db")).await.expect("open sqlite")
}

/// A PostgreSQL store in a new schema.
pub async fn fresh_postgres() -> PostgresStore {
    let url = test_database_url();
    let schema = format!("t_{}", unique());
    let admin: sqlx::postgres::PgConnectOptions = url.parse().expect("SEKIMORI_TEST_DATABASE_URL is a postgres URL");
    let mut conn = sqlx::ConnectOptions::connect(&admin).await.unwrap_or_else(|e| {
        panic!("PostgreSQL at {url} is unreachable ({e}); start it or set SEKIMORI_TEST_DATABASE_URL")
    });
    sqlx::Executor::execute(&mut conn, format!("CREATE SCHEMA {schema}").as_str()).await.expect("create schema");
    let options = admin.options([("search_path", schema.as_str())]);
    PostgresStore::connect(options, 16).await.expect("connect postgres")
}

fn unique() -> String {
    let mut b = [0u8; 10];
    sekimori_core::Rng::fill(&sekimori_core::OsRng, &mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}
