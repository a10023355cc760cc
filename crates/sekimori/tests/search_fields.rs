//! Search fields through the front door: the built binary stores events, is restarted with
//! `[detect] search_fields`, and from then on a search on one of those fields reads the
//! index: at once for the events stored since, and, once the background pass has indexed
//! the older ones, for all of them; every answer the same as reading every event. On SQLite
//! and PostgreSQL.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

mod common;
use common::{start_with, terminate, Server};

fn config(dir: &Path, name: &str, fields: &[&str], database_url: Option<&str>) -> String {
    let list = fields.iter().map(|f| format!("\"{f}\"")).collect::<Vec<_>>().join(", ");
    let mut text = format!(
        "[detect]\nsearch_fields = [{list}]\n\n[storage]\nkeys_file = \"{}\"\n",
        dir.join("keys.json").display()
    );
    if let Some(url) = database_url {
        text.push_str(&format!("database_url = \"{url}\"\n"));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).expect("config");
    path.display().to_string()
}

/// Logons: every third a failure (4625), users `u0`..`u49`, numbered from `first`.
fn logons(first: usize, n: usize) -> Vec<Value> {
    (first..first + n)
        .map(|i| {
            json!({"Channel": "Security", "EventID": if i % 3 == 0 { 4625 } else { 4624 },
                   "TargetUserName": format!("u{}", i % 50), "RecordNumber": i})
        })
        .collect()
}

/// Every page of a search for `field` = `value`: the events' record numbers, the events
/// read in all, and the last answer's `indexed_since`.
async fn search(server: &Server, token: &str, field: &str, value: &str) -> (Vec<i64>, i64, Value) {
    let (mut found, mut scanned, mut before) = (Vec::new(), 0, String::new());
    loop {
        let url = format!(
            "{}/api/v1/admin/ingested-events?since=0&until=4102444800000&field={field}&value={value}&limit=1000{before}",
            server.url
        );
        let resp = reqwest::Client::new().get(url).bearer_auth(token).send().await.expect("search");
        assert_eq!(resp.status(), 200);
        let page: Value = resp.json().await.expect("json");
        found.extend(
            page["events"].as_array().expect("events").iter().map(|e| e["event"]["RecordNumber"].as_i64().expect("n")),
        );
        scanned += page["scanned"].as_i64().expect("scanned");
        match page["next"].as_str() {
            Some(next) => before = format!("&before={next}"),
            None => return (found, scanned, page["indexed_since"].clone()),
        }
    }
}

fn expected(all: &[Value], field: &str, value: &Value) -> Vec<i64> {
    let mut n: Vec<i64> =
        all.iter().filter(|e| &e[field] == value).map(|e| e["RecordNumber"].as_i64().expect("n")).collect();
    n.reverse(); // newest first
    n
}

async fn search_fields_index_new_events_then_older_ones(database_url: Option<&str>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let plain = config(dir.path(), "plain.toml", &[], database_url);
    let mut server = start_with(&data, &["--config", &plain], &[]).await;
    let token = server.token.clone();
    let admin = sekimori_client::AdminClient::new(&server.url, &token);
    let source = admin
        .call(reqwest::Method::POST, "/api/v1/admin/ingest-sources", Some(&json!({"name": "dc"})))
        .await
        .expect("ingest source");
    let key = source["key"].as_str().expect("key").to_owned();
    // 12,000 events before any search field: one request larger than a step of the
    // background pass (5,000, all of one millisecond), then two smaller ones.
    let mut all = Vec::new();
    for (first, n) in [(0, 6_000), (6_000, 3_000), (9_000, 3_000)] {
        let events = logons(first, n);
        common::ingest_ndjson(&server, &key, &events).await;
        all.extend(events);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (found, scanned, indexed) = search(&server, &token, "EventID", "4625").await;
    assert_eq!(found, expected(&all, "EventID", &json!(4625)));
    assert_eq!(indexed, Value::Null, "not a search field");
    assert!(scanned >= 12_000, "every event read: {scanned}");
    terminate(&mut server).await;

    // Restarted with two search fields; new events are indexed as they are stored.
    let indexed_config = config(dir.path(), "fields.toml", &["EventID", "TargetUserName"], database_url);
    let server = start_with(&data, &["--config", &indexed_config], &[]).await;
    let events = logons(12_000, 1_000);
    common::ingest_ndjson(&server, &key, &events).await;
    all.extend(events);
    let want = expected(&all, "EventID", &json!(4625));
    let (found, _, indexed) = search(&server, &token, "EventID", "4625").await;
    assert_eq!(found, want, "the same answer while older events are still being indexed");
    assert!(indexed.is_string(), "a search field: {indexed}");

    // The background pass reaches the oldest event.
    let mut done = false;
    for _ in 0..600 {
        let (_, _, indexed) = search(&server, &token, "TargetUserName", "u7").await;
        if indexed.as_str().is_some_and(|t| t.starts_with("1970-01-01T00:00:00")) {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(done, "every stored event indexed within 60 s");
    let (found, scanned, _) = search(&server, &token, "EventID", "4625").await;
    assert_eq!(found, want);
    assert_eq!(scanned, i64::try_from(want.len()).expect("n"), "only the matching events were read");
    let (found, scanned, _) = search(&server, &token, "TargetUserName", "u7").await;
    assert_eq!(found, expected(&all, "TargetUserName", &json!("u7")));
    assert_eq!(scanned, i64::try_from(found.len()).expect("n"));
    // A value longer than the index keeps is searched by reading, and found nowhere.
    let long = "x".repeat(300);
    let (found, _, indexed) = search(&server, &token, "TargetUserName", &long).await;
    assert!(found.is_empty());
    assert_eq!(indexed, Value::Null);
    // Another field is read event by event, as before.
    let (found, scanned, indexed) = search(&server, &token, "RecordNumber", "42").await;
    assert_eq!((found, indexed), (vec![42], Value::Null));
    assert!(scanned >= 13_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_fields_index_new_events_then_older_ones_on_sqlite() {
    search_fields_index_new_events_then_older_ones(None).await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_fields_index_new_events_then_older_ones_on_postgresql() {
    let (schema, url) = common::fresh_schema("t_search");
    search_fields_index_new_events_then_older_ones(Some(&url)).await;
    common::psql(&format!("DROP SCHEMA {schema} CASCADE"));
}
