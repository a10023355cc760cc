//! Dashboard queries over 10 million stored audit events and 10 million ingested events
//! spread over 30 days, on SQLite and on PostgreSQL: the events are written in bulk with SQL
//! (audit: eight login and ticket actions, successes and failures, from 5,000 users;
//! ingested: four sources, an alert on one in a thousand, 50 rules, four levels, about 500
//! users), the roll-ups filled as an upgrade fills them (timed: the one-off cost of the
//! migration), then `GET /api/v1/admin/dashboard` and `…/dashboard/detection` for the 30
//! days are timed over HTTP, and the same for one day; then the event search
//! (`GET /api/v1/admin/ingested-events`) over the 30 days by user, by a field's value, and
//! by a search field's (`Computer`, 20,000 values, indexed). Goal (issue 21): dashboards
//! under 300 ms on SQLite, 500 ms on PostgreSQL; search with a field condition under 1 s.
//!
//! `cargo bench -p sekimori-server --bench dashboard`
//! Environment: `SEKIMORI_BENCH_EVENTS` (default 10,000,000), `SEKIMORI_BENCH_BACKENDS`
//! (`sqlite,postgres`), `SEKIMORI_TEST_DATABASE_URL` for PostgreSQL.

#![allow(clippy::disallowed_methods)] // reason: a benchmark measures wall-clock time with Instant
#![allow(clippy::unwrap_used)] // reason: a failed benchmark step should stop the run loudly

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sekimori_gate::GateSettings;
use sekimori_store::Store;

const DAY_MS: i64 = 86_400_000;
/// 2026-11-01T00:00:00Z.
const START_MS: i64 = 1_793_491_200_000;

fn env_num(name: &str, default: i64) -> i64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The bulk insert: `n` events evenly over 30 days, numbered after `after`.
fn insert_sql(n: i64, after: i64, tenant: &str, recursive: bool) -> String {
    let step = 30 * DAY_MS / n;
    let series = if recursive {
        format!("WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < {}) ", n - 1)
    } else {
        String::new()
    };
    let from =
        if recursive { "FROM c".to_owned() } else { format!("FROM generate_series(0::bigint, {}) AS c(x)", n - 1) };
    let blob = if recursive { "x'00'" } else { "'\\x00'::bytea" };
    format!(
        "{series}INSERT INTO audit_events (seq, tenant_id, ts, action, outcome, user_id, doc, prev_hash, hash) \
         SELECT {after} + 1 + x, '{tenant}', {START_MS} + x * {step}, \
         CASE x % 8 WHEN 0 THEN 'auth.password.failed' WHEN 1 THEN 'auth.password.verified' \
           WHEN 2 THEN 'auth.push.approved' WHEN 3 THEN 'auth.push.rejected_outside_standby' \
           WHEN 4 THEN 'auth.qr.redeemed' WHEN 5 THEN 'auth.session.created' \
           WHEN 6 THEN 'auth.totp.verified' ELSE 'ticket.redeemed' END, \
         CASE WHEN x % 8 IN (0, 3) THEN 'failure' ELSE 'success' END, \
         'u' || (x % 5000), '{{}}', {blob}, {blob} {from}"
    )
}

const ROLLUP_SQL: &str = "DELETE FROM audit_rollups; \
    INSERT INTO audit_rollups (tenant_id, hour, action, outcome, n) \
    SELECT tenant_id, (ts / 3600000) * 3600000, action, outcome, COUNT(*) FROM audit_events \
    GROUP BY tenant_id, (ts / 3600000) * 3600000, action, outcome";

/// The bulk insert of ingested events: `n` evenly over 30 days from four sources, with an
/// alert on one in a thousand (50 rules, four levels, about 500 users) and its entity.
fn ingest_sql(n: i64, tenant: &str, recursive: bool) -> Vec<String> {
    let step = 30 * DAY_MS / n;
    let (series, from) = if recursive {
        (
            format!("WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < {}) ", n - 1),
            "FROM c".into(),
        )
    } else {
        (String::new(), format!("FROM generate_series(0::bigint, {}) AS c(x)", n - 1))
    };
    vec![
        format!(
            "{series}INSERT INTO ingested_events (tenant_id, source_id, received_at, doc) \
             SELECT '{tenant}', 'src' || (x % 4), {START_MS} + x * {step}, \
               '{{\"EventID\":' || (4624 + x % 2) || ',\"n\":' || x || ',\"Computer\":\"host' || (x % 20000) || '\"}}' \
             {from}"
        ),
        // Each event about one of 5,000 users, in the search index (rows of the staging
        // table of one row per entry, which the store moves into postings, as it would
        // those an older version left).
        "INSERT INTO event_index_recent (tenant_id, field, value, seq, received_at) \
         SELECT tenant_id, 'user', 'u' || (seq % 5000), seq, received_at FROM ingested_events"
            .into(),
        // `Computer` a search field, every event indexed (as the background pass leaves it).
        "INSERT INTO event_index_recent (tenant_id, field, value, seq, received_at) \
         SELECT tenant_id, 'field:Computer', 'host' || ((seq - (SELECT MIN(seq) FROM ingested_events)) % 20000), \
         seq, received_at FROM ingested_events"
            .into(),
        "INSERT INTO search_fields (field, since) VALUES ('Computer', 0)".into(),
        format!(
            "{series}INSERT INTO alerts (id, tenant_id, rule_id, title, level, tags, source_id, event_seq, matched, \
             entities, excerpt, created_at) \
             SELECT 'a' || x, '{tenant}', NULL, 'Rule ' || (x % 50), \
               CASE x % 4 WHEN 0 THEN 'low' WHEN 1 THEN 'medium' WHEN 2 THEN 'high' ELSE 'critical' END, \
               '[]', 'src' || (x % 4), x, '[]', '{{\"user\":\"u' || (x % 503) || '\"}}', '{{}}', {START_MS} + x * {step} \
             {from} WHERE x % 1000 = 0"
        ),
        "INSERT INTO alert_entities (tenant_id, kind, value, created_at, alert_id) \
         SELECT tenant_id, 'user', 'u' || (CAST(SUBSTR(id, 2) AS BIGINT) % 503), created_at, id FROM alerts"
            .into(),
    ]
}

/// The detection roll-ups filled from what is stored, as the upgrade to them does
/// (migration 0030).
const DETECTION_ROLLUP_SQL: &str = "DELETE FROM detection_rollups; \
    INSERT INTO detection_rollups (tenant_id, hour, series, key, label, n) \
    SELECT tenant_id, (received_at / 3600000) * 3600000, 'events', source_id, '', COUNT(*) \
    FROM ingested_events GROUP BY tenant_id, (received_at / 3600000) * 3600000, source_id; \
    INSERT INTO detection_rollups (tenant_id, hour, series, key, label, n) \
    SELECT tenant_id, (created_at / 3600000) * 3600000, 'alerts', title, level, COUNT(*) \
    FROM alerts GROUP BY tenant_id, (created_at / 3600000) * 3600000, title, level; \
    INSERT INTO detection_rollups (tenant_id, hour, series, key, label, n) \
    SELECT tenant_id, (created_at / 3600000) * 3600000, 'entities', kind, value, COUNT(*) \
    FROM alert_entities GROUP BY tenant_id, (created_at / 3600000) * 3600000, kind, value";

/// `GET {path}?since=…&until=…{query}` over the first `days` days, 21 times: the median
/// and slowest, and what `count` reads from the last answer.
async fn time_get(
    url: &str,
    token: &str,
    path: &str,
    query: &str,
    days: i64,
    count: impl Fn(&serde_json::Value) -> i64,
) -> (Duration, Duration, i64) {
    let http = reqwest::Client::new();
    let since = sekimori_core::Timestamp(START_MS).to_rfc3339();
    let until = sekimori_core::Timestamp(START_MS + days * DAY_MS).to_rfc3339();
    let mut times = Vec::new();
    let mut total = 0;
    for _ in 0..21 {
        let t = Instant::now();
        let r = http
            .get(format!("{url}{path}?since={since}&until={until}{query}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        let d: serde_json::Value = r.json().await.unwrap();
        times.push(t.elapsed());
        total = count(&d);
    }
    times.sort();
    (times[10], times[20], total)
}

fn sum(list: &serde_json::Value, key: &str) -> i64 {
    list.as_array().unwrap().iter().map(|c| c[key].as_i64().unwrap()).sum()
}

async fn run(name: &str, store: Arc<dyn Store>, bulk: impl std::future::Future<Output = (Duration, Duration)>) {
    let (mut state, token) = common::state(store.clone(), GateSettings::default()).await;
    let (insert, rollup) = bulk.await;
    let t = Instant::now();
    while store.merge_recent_index(200_000).await.unwrap() > 0 {}
    println!("{name}: search index moved into postings in {:.1} s", t.elapsed().as_secs_f64());
    state.watch = state.watch.clone().with_search_fields(vec!["Computer".into()]);
    state.watch.sync_search_fields().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = sekimori_server::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!(
        "{name}: events written in {:.1} s; roll-ups filled from them in {:.1} s",
        insert.as_secs_f64(),
        rollup.as_secs_f64()
    );
    // Event search over the 30 days: by user (the index), by a field every second event
    // has (the first page comes quickly), by a value no event has (the whole scan budget).
    for (query, what) in [
        ("user=u42", "by user (indexed)"),
        ("field=EventID&value=4625", "by a common field value"),
        ("field=n&value=-1", "by a value no event has (reads the 100,000-event budget)"),
        ("field=Computer&value=host42", "by a search field's value 500 events have"),
        ("field=Computer&value=host-none", "by a search field's value no event has"),
    ] {
        let (p50, max, found) =
            time_get(&url, &token, "/api/v1/admin/ingested-events", &format!("&{query}"), 30, |d| {
                d["events"].as_array().unwrap().len() as i64
            })
            .await;
        println!(
            "{name}: event search {what}, 30 days, 100 to a page ({found} found): median {:.1} ms, slowest of 21 {:.1} ms",
            p50.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3
        );
    }
    for (which, what) in [("", "logins"), ("/detection", "detection")] {
        for days in [30, 1] {
            let path = format!("/api/v1/admin/dashboard{which}");
            let (p50, max, total) = time_get(&url, &token, &path, "", days, |d| {
                if which.is_empty() {
                    sum(&d["actions"], "n")
                } else {
                    sum(&d["sources"], "events")
                }
            })
            .await;
            println!(
                "{name}: {what} dashboard over {days} day(s) ({total} events): median {:.1} ms, slowest of 21 {:.1} ms",
                p50.as_secs_f64() * 1e3,
                max.as_secs_f64() * 1e3
            );
        }
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let n = env_num("SEKIMORI_BENCH_EVENTS", 10_000_000);
        let backends = std::env::var("SEKIMORI_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
        if backends.contains("sqlite") {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("bench.db");
            let store: Arc<dyn Store> = Arc::new(sekimori_store::sqlite::SqliteStore::open(&path).await.unwrap());
            let tenant_store = store.clone();
            let bulk = async move {
                let tenant = tenant_store.tenant_by_name("default").await.unwrap().unwrap().id.to_string();
                let after = tenant_store.audit_head().await.unwrap().map_or(0, |h| h.seq);
                tokio::task::spawn_blocking(move || {
                    let db = rusqlite::Connection::open(&path).unwrap();
                    db.busy_timeout(Duration::from_secs(60)).unwrap();
                    let t = Instant::now();
                    db.execute_batch(&format!("BEGIN; {}; COMMIT;", insert_sql(n, after, &tenant, true))).unwrap();
                    db.execute_batch(&format!("BEGIN; {}; COMMIT;", ingest_sql(n, &tenant, true).join("; "))).unwrap();
                    let insert = t.elapsed();
                    let t = Instant::now();
                    db.execute_batch(&format!("BEGIN; {ROLLUP_SQL}; {DETECTION_ROLLUP_SQL}; COMMIT;")).unwrap();
                    (insert, t.elapsed())
                })
                .await
                .unwrap()
            };
            run("SQLite", store, bulk).await;
        }
        if backends.contains("postgres") {
            let url = std::env::var("SEKIMORI_TEST_DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let schema = format!("bench_dashboard_{}", std::process::id());
            let admin: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
            let mut conn = sqlx::ConnectOptions::connect(&admin).await.unwrap();
            sqlx::Executor::execute(&mut conn, format!("CREATE SCHEMA {schema}").as_str()).await.unwrap();
            let options = admin.options([("search_path", schema.as_str())]);
            let pg = sekimori_store::postgres::PostgresStore::connect(options.clone(), 16).await.unwrap();
            let store: Arc<dyn Store> = Arc::new(pg);
            let tenant_store = store.clone();
            let bulk = async move {
                // The tenant exists once the state is built (bootstrap).
                let tenant = tenant_store.tenant_by_name("default").await.unwrap().unwrap().id.to_string();
                let after = tenant_store.audit_head().await.unwrap().map_or(0, |h| h.seq);
                let mut c = sqlx::ConnectOptions::connect(&options).await.unwrap();
                let t = Instant::now();
                sqlx::Executor::execute(&mut c, insert_sql(n, after, &tenant, false).as_str()).await.unwrap();
                for sql in ingest_sql(n, &tenant, false) {
                    sqlx::Executor::execute(&mut c, sql.as_str()).await.unwrap();
                }
                let insert = t.elapsed();
                let t = Instant::now();
                sqlx::Executor::execute(&mut c, ROLLUP_SQL).await.unwrap();
                sqlx::Executor::execute(&mut c, DETECTION_ROLLUP_SQL).await.unwrap();
                sqlx::Executor::execute(
                    &mut c,
                    "ANALYZE audit_rollups; ANALYZE detection_rollups; ANALYZE ingested_events",
                )
                .await
                .unwrap();
                (insert, t.elapsed())
            };
            run("PostgreSQL", store, bulk).await;
            sqlx::Executor::execute(&mut conn, format!("DROP SCHEMA {schema} CASCADE").as_str()).await.unwrap();
        }
    });
}
