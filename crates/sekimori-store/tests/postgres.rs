//! The conformance suite on PostgreSQL. Needs a reachable server: the URL comes from
//! `SEKIMORI_TEST_DATABASE_URL` (default: the local server). It fails, never skips,
//! when the server cannot be reached. Each test gets its own schema.

use sekimori_store::postgres::PostgresStore;

async fn fresh() -> PostgresStore {
    let url = std::env::var("SEKIMORI_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!(
        "t_{}",
        sekimori_core::token::new_secret(&sekimori_core::OsRng).to_lowercase().replace(['-', '_'], "")[..20].to_owned()
    );
    let admin: sqlx::postgres::PgConnectOptions = url.parse().expect("SEKIMORI_TEST_DATABASE_URL is a postgres URL");
    let mut conn = sqlx::ConnectOptions::connect(&admin).await.unwrap_or_else(|e| {
        panic!("PostgreSQL at {url} is unreachable ({e}); start it or set SEKIMORI_TEST_DATABASE_URL")
    });
    sqlx::Executor::execute(&mut conn, format!("CREATE SCHEMA {schema}").as_str()).await.expect("create schema");
    let options = admin.options([("search_path", schema.as_str())]);
    PostgresStore::connect(options, 8).await.expect("connect postgres")
}

sekimori_store::conformance_suite!(fresh);
