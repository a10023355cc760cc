//! Search of the stored events through the admin API: by the user, address or host they
//! are about (indexed as they are stored), by a field's value, by source and time, newest
//! first, in pages that go on where the last stopped; as JSON and NDJSON; bad questions
//! refused naming the parameter. On SQLite and PostgreSQL.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{Backend, TestServer, START};

fn logon(user: &str, ip: &str, id: u32) -> Value {
    json!({"Channel": "Security", "Provider_Name": "Microsoft-Windows-Security-Auditing", "EventID": id,
           "TargetUserName": user, "IpAddress": ip})
}

async fn events_are_searched_by_entity_field_source_and_page(backend: Backend) {
    let s = TestServer::start_on(backend).await;
    let (dc, web) = (s.ingest_key("dc").await, s.ingest_key("web").await);
    // Five logons for dave (three failed), two for erin, from the domain controller; then,
    // an hour later, a web log line about dave.
    let mut events = Vec::new();
    for i in 0..5 {
        events.push(logon("dave", "198.51.100.7", if i < 3 { 4625 } else { 4624 }));
    }
    events.push(logon("erin", "192.0.2.9", 4624));
    events.push(logon("erin", "192.0.2.9", 4625));
    s.ingest_ndjson(&dc, &events).await;
    s.clock.advance_seconds(3600);
    s.ingest_ndjson(&web, &[json!({"user.name": "dave", "url.path": "/login", "http.response.status_code": 401})])
        .await;

    let since = START.plus_seconds(-60).to_rfc3339();
    let until = sekimori_core::Clock::now(&s.clock).plus_seconds(1).to_rfc3339();
    let find = |query: String| {
        let s = &s;
        let (since, until) = (since.clone(), until.clone());
        async move {
            let path = format!("/api/v1/admin/ingested-events?since={since}&until={until}{query}");
            s.admin_call(Method::GET, &path, None).await
        }
    };
    let (status, all) = find(String::new()).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    // The two sources' eight, besides Sekimori's own audit events (source `sekimori`).
    let ours = all["events"].as_array().expect("events").iter().filter(|e| e["source_id"] != "sekimori").count();
    assert_eq!(ours, 8, "{all}");
    assert_eq!(all["events"][0]["event"]["url.path"], "/login", "newest first");
    assert_eq!(all["next"], Value::Null, "nothing more");

    let (_, dave) = find("&user=dave".into()).await;
    let dave = dave["events"].as_array().expect("events").clone();
    assert_eq!(dave.len(), 6, "five logons and the web line: {dave:?}");
    let (_, failed) = find("&user=dave&field=EventID&value=4625".into()).await;
    assert_eq!(failed["events"].as_array().map(Vec::len), Some(3), "{failed}");
    let (_, by_ip) = find("&ip=192.0.2.9".into()).await;
    assert_eq!(by_ip["events"].as_array().map(Vec::len), Some(2));
    let (_, sources) = s.admin_call(Method::GET, "/api/v1/admin/ingest-sources", None).await;
    let web_id = sources.as_array().expect("sources").iter().find(|x| x["name"] == "web").expect("web")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (_, from_web) = find(format!("&source={web_id}&user=dave")).await;
    assert_eq!(from_web["events"].as_array().map(Vec::len), Some(1));
    let (_, nested) = find("&field=http.response.status_code&value=401".into()).await;
    assert_eq!(nested["events"].as_array().map(Vec::len), Some(1), "a dotted name: {nested}");
    assert_eq!(nested["indexed_since"], Value::Null, "not a search field");
    // EventID is a search field of the test server, indexed since it started: only the
    // matching events are read.
    let (_, failed) = find("&field=EventID&value=4625".into()).await;
    assert_eq!(failed["events"].as_array().map(Vec::len), Some(4), "{failed}");
    assert_eq!((failed["scanned"].as_i64(), failed["indexed_since"].is_string()), (Some(4), true), "{failed}");

    // Pages of two, each from the last one's `next`, together the whole answer.
    let mut seen = Vec::new();
    let mut before = String::new();
    loop {
        let (_, page) = find(format!("&user=dave&limit=2{before}")).await;
        seen.extend(page["events"].as_array().expect("events").iter().map(|e| e["seq"].clone()));
        match page["next"].as_str() {
            Some(next) => before = format!("&before={next}"),
            None => break,
        }
        assert!(seen.len() <= 6, "pages end");
    }
    assert_eq!(seen, dave.iter().map(|e| e["seq"].clone()).collect::<Vec<_>>());

    // NDJSON: one event a line, the same events.
    let resp = reqwest::Client::new()
        .get(format!("{}/api/v1/admin/ingested-events?since={since}&until={until}&user=erin&format=ndjson", s.url))
        .bearer_auth(&s.admin_token)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.headers()["content-type"], "application/x-ndjson");
    let text = resp.text().await.expect("body");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l["event"]["TargetUserName"] == "erin"));

    for (query, field) in [
        ("&user=dave&ip=192.0.2.9", "ip"),
        ("&field=EventID", "value"),
        ("&value=4625", "field"),
        ("&limit=0", "limit"),
        ("&format=xml", "format"),
        ("&user=", "user"),
        ("&before=12", "before"),
    ] {
        let (status, p) = find(query.into()).await;
        assert_eq!((status, p["field"].as_str()), (StatusCode::BAD_REQUEST, Some(field)), "{query}: {p}");
        assert_eq!(p["code"], "invalid_request");
    }
    let (status, p) =
        s.admin_call(Method::GET, &format!("/api/v1/admin/ingested-events?since={until}&until={since}"), None).await;
    assert_eq!((status, p["field"].as_str()), (StatusCode::BAD_REQUEST, Some("until")), "{p}");
    let (status, p) = s.admin_call(Method::GET, "/api/v1/admin/ingested-events?since=x&until=y", None).await;
    assert_eq!((status, p["field"].as_str()), (StatusCode::BAD_REQUEST, Some("since")), "{p}");
    let (status, _) = find("&colour=red".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "unknown parameters are refused");
}

#[tokio::test]
async fn events_are_searched_by_entity_field_source_and_page_on_sqlite() {
    events_are_searched_by_entity_field_source_and_page(Backend::Sqlite).await;
}

#[tokio::test]
async fn events_are_searched_by_entity_field_source_and_page_on_postgres() {
    events_are_searched_by_entity_field_source_and_page(Backend::Postgres).await;
}
