//! HTTP ingest through the Sigma engine: a log source sends NDJSON, JSON arrays and
//! gzip; rules fire into alerts an admin reads; malformed documents are counted, kept as
//! dead letters and reported; nothing is dropped silently. On SQLite and PostgreSQL.

use std::io::Write;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{Backend, TestServer};

async fn admin(srv: &TestServer, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new().request(method, format!("{}{path}", srv.url)).bearer_auth(&srv.admin_token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn source_key(srv: &TestServer, name: &str) -> String {
    let (status, body) =
        admin(srv, reqwest::Method::POST, "/api/v1/admin/ingest-sources", Some(json!({"name": name}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["key"].as_str().expect("key").to_owned()
}

async fn ingest(
    srv: &TestServer,
    key: &str,
    ctype: &str,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value, String) {
    let mut req = reqwest::Client::new()
        .post(format!("{}/api/v1/ingest", srv.url))
        .bearer_auth(key)
        .header("content-type", ctype)
        .body(body);
    if let Some(e) = encoding {
        req = req.header("content-encoding", e);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status();
    let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (status, resp.json().await.unwrap_or(Value::Null), ct)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).expect("gzip");
    enc.finish().expect("gzip")
}

async fn ingest_detects_and_keeps_dead_letters(backend: Backend) {
    let srv = TestServer::start_on(backend).await;
    let key = source_key(&srv, "edr").await;

    // NDJSON: a Sysmon process creation in the nested evtx layout, a bad line, a flat one.
    let sysmon = json!({"Event": {"System": {
        "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
        "EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
        "TimeCreated": {"#attributes": {"SystemTime": "2026-11-23T10:00:00Z"}}},
        "EventData": {"Image": "C:\\Windows\\System32\\whoami.exe", "User": "CORP\\alice"}}});
    let registry = json!({"Channel": "Microsoft-Windows-Sysmon/Operational", "Provider_Name": "Microsoft-Windows-Sysmon",
        "EventID": 13, "Image": "C:\\Windows\\System32\\whoami.exe"});
    let body = format!("{sysmon}\nthis is not json\n{registry}\n");
    let (status, report, _) = ingest(&srv, &key, "application/x-ndjson", None, body.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        report,
        json!({"accepted": 2, "malformed": 1, "alerts": 1}),
        "the registry event is not a process creation"
    );

    // A gzip-compressed CloudTrail file as sent by a forwarder.
    let trail = json!({"Records": [
        {"eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging", "eventTime": "2026-11-23T10:01:00Z"},
        {"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "eventTime": "2026-11-23T10:01:01Z"}]});
    let (status, report, _) =
        ingest(&srv, &key, "application/json", Some("gzip"), gzip(trail.to_string().as_bytes())).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report, json!({"accepted": 2, "malformed": 0, "alerts": 1}));

    let (status, alerts) = admin(&srv, reqwest::Method::GET, "/api/v1/admin/alerts", None).await;
    assert_eq!(status, StatusCode::OK);
    let alerts = alerts.as_array().expect("a list").clone();
    assert_eq!(alerts.len(), 2);
    let whoami = alerts.iter().find(|a| a["title"] == "Whoami Execution").expect("whoami alert");
    assert_eq!(whoami["rule_id"], "0b1c2d3e-0000-4000-8000-000000000001");
    assert_eq!(whoami["level"], "medium");
    assert_eq!(whoami["tags"], json!(["attack.discovery", "attack.t1033"]));
    assert!(whoami["matched"]
        .as_array()
        .is_some_and(|m| m.iter().any(|v| v.as_str().is_some_and(|s| s.starts_with("Image=")))));
    assert!(whoami["event_seq"].as_i64().is_some_and(|s| s > 0));
    assert!(alerts.iter().any(|a| a["title"] == "CloudTrail Logging Stopped" && a["level"] == "high"));

    let (_, dead) = admin(&srv, reqwest::Method::GET, "/api/v1/admin/dead-letters", None).await;
    assert_eq!(dead.as_array().map(Vec::len), Some(1));
    assert_eq!(dead[0]["sample"], "this is not json");
    assert!(dead[0]["reason"].as_str().is_some_and(|r| r.starts_with("line 2:")), "{dead}");
}

#[tokio::test]
async fn ingest_detects_and_keeps_dead_letters_on_sqlite() {
    ingest_detects_and_keeps_dead_letters(Backend::Sqlite).await;
}

#[tokio::test]
async fn ingest_detects_and_keeps_dead_letters_on_postgres() {
    ingest_detects_and_keeps_dead_letters(Backend::Postgres).await;
}

#[tokio::test]
async fn ingest_refuses_bad_requests_with_problem_documents() {
    let srv = TestServer::start().await;
    let key = source_key(&srv, "web").await;
    let problem = |status: StatusCode, body: &Value, ct: &str, code: &str| {
        assert_eq!(ct, "application/problem+json", "{body}");
        assert_eq!(body["code"], code, "{status}: {body}");
        assert_eq!(body["type"], format!("urn:sekimori:problem:{code}"));
    };

    let (s, b, ct) = ingest(&srv, "sking_nope_nope", "application/x-ndjson", None, b"{}".to_vec()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    problem(s, &b, &ct, "unauthorized");
    let (s, b, ct) = ingest(&srv, &srv.admin_token, "application/x-ndjson", None, b"{}".to_vec()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "an admin token is not a source key");
    problem(s, &b, &ct, "unauthorized");

    let (s, b, ct) = ingest(&srv, &key, "text/plain", None, b"{}".to_vec()).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    problem(s, &b, &ct, "unsupported_media_type");
    let (s, b, ct) = ingest(&srv, &key, "application/json", Some("br"), b"{}".to_vec()).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    problem(s, &b, &ct, "unsupported_media_type");

    let (s, b, ct) = ingest(&srv, &key, "application/json", None, b"[{\"a\":1},".to_vec()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    problem(s, &b, &ct, "invalid_request");
    assert_eq!(b["malformed"], 1);
    let (s, b, ct) = ingest(&srv, &key, "application/json", Some("gzip"), b"not gzip".to_vec()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    problem(s, &b, &ct, "invalid_request");
    let (s, b, ct) = ingest(&srv, &key, "application/json", None, vec![0xff, 0xfe, b'{']).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    problem(s, &b, &ct, "invalid_request");

    // A gzip bomb: 64 MiB of spaces compress to ~64 KiB; decompression stops at the cap.
    let bomb = gzip(&vec![b' '; 64 << 20]);
    assert!(bomb.len() < 4 << 20);
    let (s, b, ct) = ingest(&srv, &key, "application/json", Some("gzip"), bomb).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    problem(s, &b, &ct, "payload_too_large");
    // Too many events in one request.
    let many = "{}\n".repeat(10_001);
    let (s, b, ct) = ingest(&srv, &key, "application/x-ndjson", None, many.into_bytes()).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    problem(s, &b, &ct, "payload_too_large");
    // Malformed documents count too: a body of bad lines cannot fill the dead-letter store.
    let (s, b, ct) = ingest(&srv, &key, "application/x-ndjson", None, "x\n".repeat(10_001).into_bytes()).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    problem(s, &b, &ct, "payload_too_large");
    let (_, dead) = admin(&srv, reqwest::Method::GET, "/api/v1/admin/dead-letters?limit=1000", None).await;
    assert!(dead.as_array().is_some_and(|d| d.len() < 10), "refused bodies keep no dead letters: {dead}");
    // Over the wire limit.
    let (s, b, ct) = ingest(&srv, &key, "application/x-ndjson", None, vec![b' '; (4 << 20) + 1]).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    problem(s, &b, &ct, "payload_too_large");

    // Source names are unique; listing never shows a key.
    let (s, b) = admin(&srv, reqwest::Method::POST, "/api/v1/admin/ingest-sources", Some(json!({"name": "web"}))).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    let (s, b) =
        admin(&srv, reqwest::Method::POST, "/api/v1/admin/ingest-sources", Some(json!({"name": "x", "extra": 1})))
            .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "unknown fields are refused: {b}");
    let (_, list) = admin(&srv, reqwest::Method::GET, "/api/v1/admin/ingest-sources", None).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert!(list[0].get("key").is_none() && list[0].get("secret_hash").is_none());
    // A revoked source's key stops working at once; revoking twice is not found.
    let id = list[0]["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/admin/ingest-sources/{id}");
    let (s, _) = admin(&srv, reqwest::Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b, ct) = ingest(&srv, &key, "application/x-ndjson", None, b"{}".to_vec()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    problem(s, &b, &ct, "unauthorized");
    let (s, b) = admin(&srv, reqwest::Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    let (_, list) = admin(&srv, reqwest::Method::GET, "/api/v1/admin/ingest-sources", None).await;
    assert_eq!(list[0]["revoked"], true);

    let (s, _) = admin(&srv, reqwest::Method::GET, "/api/v1/admin/alerts?limit=0", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = admin(&srv, reqwest::Method::GET, "/api/v1/admin/alerts?since=yesterday", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn sekimori_audit_events_run_through_the_rules_exactly_once() {
    let srv = TestServer::start().await;
    let _alice = srv.enrolled("alice").await;
    let rp = srv.app("shop", "relying_party").await;
    for _ in 0..2 {
        let refused = rp.start_push("alice", None).await.expect_err("no standby window is armed");
        assert!(refused.to_string().contains("outside_standby"), "{refused}");
    }
    // The server's own follower runs every second too; whichever gets there first judges
    // a batch, the other writes nothing and stops (it may have lost to a smaller batch read
    // earlier). Drain until the cursor is at the last audit event; exactly-once shows in the
    // alert count below.
    let filter = sekimori_store::EventFilter { limit: 10_000, ..Default::default() };
    let head = srv.store.events(&filter).await.expect("events").last().expect("audit events").seq;
    for _ in 0..20 {
        srv.watch.follow_audit(1000).await.expect("follow");
        if srv.store.watch_cursor("audit").await.expect("cursor") == head {
            break;
        }
    }
    assert_eq!(srv.store.watch_cursor("audit").await.expect("cursor"), head, "every audit event judged");
    assert_eq!(srv.watch.follow_audit(1000).await.expect("follow again"), 0, "nothing is judged twice");

    let (status, alerts) = admin(&srv, reqwest::Method::GET, "/api/v1/admin/alerts", None).await;
    assert_eq!(status, StatusCode::OK);
    let bombing: Vec<&Value> =
        alerts.as_array().expect("list").iter().filter(|a| a["title"] == "Push Bombing Attempt").collect();
    assert_eq!(bombing.len(), 2, "one alert per refused push: {alerts}");
    assert!(bombing.iter().all(|a| a["source_id"] == "sekimori" && a["level"] == "high"));
    assert!(
        bombing[0]["matched"]
            .as_array()
            .is_some_and(|m| m.iter().any(|v| v == "event.action=auth.push.rejected_outside_standby")),
        "{alerts}"
    );

    // New audit events are picked up from where the follower stopped, once even when two
    // followers (two nodes) race for them.
    rp.start_push("alice", None).await.expect_err("still no window");
    let (a, b) = tokio::join!(srv.watch.follow_audit(1000), srv.watch.follow_audit(1000));
    assert!(a.expect("follow") + b.expect("follow") <= 1, "the new refusal is judged at most once here");
    let (_, alerts) = admin(&srv, reqwest::Method::GET, "/api/v1/admin/alerts", None).await;
    assert_eq!(alerts.as_array().expect("list").iter().filter(|a| a["title"] == "Push Bombing Attempt").count(), 3);
}

#[tokio::test]
async fn retention_is_set_per_tenant_and_prunes_events_not_alerts() {
    let srv = TestServer::start_on(Backend::Sqlite).await;
    let key = source_key(&srv, "trail").await;
    let (status, settings) = admin(&srv, reqwest::Method::GET, "/api/v1/admin/ingest-settings", None).await;
    assert_eq!((status, settings), (StatusCode::OK, json!({"retention_days": 30})));
    for bad in [json!({"retention_days": 0}), json!({"retention_days": 5000}), json!({"days": 3})] {
        let (status, problem) = admin(&srv, reqwest::Method::PUT, "/api/v1/admin/ingest-settings", Some(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
        assert_eq!(problem["type"], "urn:sekimori:problem:invalid_request");
    }
    let (status, _) =
        admin(&srv, reqwest::Method::PUT, "/api/v1/admin/ingest-settings", Some(json!({"retention_days": 2}))).await;
    assert_eq!(status, StatusCode::OK);
    let trail = json!({"eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging"});
    let (status, report, _) = ingest(&srv, &key, "application/json", None, trail.to_string().into_bytes()).await;
    assert_eq!((status, report["alerts"].as_i64()), (StatusCode::OK, Some(1)));
    let (_, alerts) = admin(&srv, reqwest::Method::GET, "/api/v1/admin/alerts", None).await;
    let link = alerts[0]["event"].as_str().expect("link").to_owned();
    assert_eq!(admin(&srv, reqwest::Method::GET, &link, None).await.0, StatusCode::OK);

    srv.clock.advance_seconds(3 * 86_400);
    assert!(srv.watch.housekeeping().await.expect("housekeeping") >= 1);
    assert_eq!(admin(&srv, reqwest::Method::GET, &link, None).await.0, StatusCode::NOT_FOUND, "the event is pruned");
    let (_, alerts) = admin(&srv, reqwest::Method::GET, "/api/v1/admin/alerts", None).await;
    assert_eq!(alerts[0]["excerpt"]["eventName"], "StopLogging", "the alert and its excerpt stay");
}

/// The real Security log `sekimori-detect` reads in its tests (see its README).
fn security_evtx() -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../sekimori-detect/tests/data/evtx/Security_short_selected.evtx");
    std::fs::read(path).expect("the EVTX sample")
}

#[tokio::test]
async fn a_windows_event_log_file_is_ingested_over_http() {
    let srv = TestServer::start().await;
    let key = source_key(&srv, "wef").await;
    let evtx = security_evtx();

    // Seven records; the failed RDP logon from a public address fires.
    let (status, report, _) = ingest(&srv, &key, "application/x-evtx", None, evtx.clone()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report, json!({"accepted": 7, "malformed": 0, "alerts": 1}));
    let (_, alerts) = admin(&srv, reqwest::Method::GET, "/api/v1/admin/alerts", None).await;
    let alert = &alerts[0];
    assert_eq!(alert["title"], "Failed Logon From Public IP");
    assert_eq!(alert["rule_id"], "f88e112a-21aa-44bd-9b01-6ee2a2bbbed1");
    // The stored event is in the flat layout rules and analysts read.
    let seq = alert["event_seq"].as_i64().expect("event link");
    let (status, event) =
        admin(&srv, reqwest::Method::GET, &format!("/api/v1/admin/ingested-events/{seq}"), None).await;
    assert_eq!(status, StatusCode::OK, "{event}");
    assert_eq!(event["EventID"], 4625);
    assert_eq!(event["TargetUserName"], "Administrator");

    // Gzip-compressed, as a collector would send a rotated log.
    let (status, report, _) = ingest(&srv, &key, "application/x-evtx", Some("gzip"), gzip(&evtx)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["accepted"], 7);

    // A second chunk cut off in transfer: the whole chunk is read, the loss is a dead letter.
    let mut cut = evtx.clone();
    cut.extend_from_slice(&[0; 1000]);
    let (status, report, _) = ingest(&srv, &key, "application/x-evtx", None, cut).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report, json!({"accepted": 7, "malformed": 1, "alerts": 1}));
    let (_, dead) = admin(&srv, reqwest::Method::GET, "/api/v1/admin/dead-letters", None).await;
    assert!(
        dead.as_array()
            .is_some_and(|d| d.iter().any(|l| l["reason"].as_str().is_some_and(|r| r.contains("ends inside a chunk")))),
        "{dead}"
    );

    // Not EVTX at all: refused with the reason, nothing stored.
    let (status, problem, ctype) =
        ingest(&srv, &key, "application/x-evtx", None, b"{\"EventID\": 4625}".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(ctype, "application/problem+json");
    assert!(problem["detail"].as_str().is_some_and(|d| d.starts_with("not an EVTX file")), "{problem}");
}
