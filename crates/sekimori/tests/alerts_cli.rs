//! `sekimori alerts route` and `alerts routing` through the built binary: where an alert
//! with given labels goes under a routing document (a file, or the tenant's document on a
//! running server), and a document that cannot be used refused with the place.

use std::process::Command;

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_sekimori");

const DOC: &str = r#"
route:
  receiver: soc-email
  group_by: [rule]
  routes:
    - matchers: ['severity=~"high|critical"']
      receiver: soc-slack
      continue: true
      group_wait: 10s
    - matchers: ['kind="baseline"']
      receiver: helpdesk-teams
      group_by: [user]
      mute_time_intervals: [nights]
receivers: [{name: soc-email}, {name: soc-slack}, {name: helpdesk-teams}]
time_intervals:
  - name: nights
    time_intervals: [{times: [{start_time: "00:00", end_time: "06:00"}], location: Asia/Tokyo}]
"#;

fn route(doc: &str, labels: &str) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("routing.yml");
    std::fs::write(&file, doc).expect("write");
    let out = Command::new(BIN)
        .args(["alerts", "route", "--file"])
        .arg(&file)
        .args(["--labels", labels])
        .output()
        .expect("run");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn prints_every_receiver_an_alert_reaches_and_the_route() {
    let (code, out, err) = route(DOC, "severity=high,kind=baseline,rule=new_country,user=alice");
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(
        lines[0],
        "soc-slack\troute.routes[0]\tgroup_by=rule group_wait=10s group_interval=5m repeat_interval=4h"
    );
    assert_eq!(
        lines[1],
        "helpdesk-teams\troute.routes[1]\tgroup_by=user group_wait=30s group_interval=5m repeat_interval=4h muted_during=nights"
    );
    let (code, out, _) = route(DOC, "rule=x");
    assert_eq!(
        (code, out.as_str()),
        (Some(0), "soc-email\troute\tgroup_by=rule group_wait=30s group_interval=5m repeat_interval=4h\n")
    );
}

#[test]
fn a_document_that_cannot_be_used_exits_1_naming_the_place() {
    let bad = DOC.replace("receiver: soc-slack", "receiver: soc-slak");
    let (code, out, err) = route(&bad, "severity=high");
    assert_eq!(code, Some(1));
    assert!(out.is_empty());
    assert!(err.contains("route.routes[0].receiver: no receiver named \"soc-slak\""), "{err}");
    let (code, _, err) = route(DOC, "severity");
    assert_eq!(code, Some(2), "clap refuses labels that are not name=value: {err}");
}

fn remote(url: &str, token: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(BIN).args(args).env("SEKIMORI_URL", url).env("SEKIMORI_TOKEN", token).output().expect("run");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_tenants_document_is_set_on_the_server_and_routes_from_there() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = common::start_with(&dir.path().join("data"), &[], &[]).await;
    let (url, token) = (server.url.clone(), server.token.clone());
    let good = dir.path().join("routing.yml");
    std::fs::write(&good, DOC).expect("write");
    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, DOC.replace("receiver: soc-slack", "receiver: soc-slak")).expect("write");
    let labels = ["--labels", "severity=high,kind=baseline,user=alice"];

    let (code, _, err) = remote(&url, &token, &[&["alerts", "route"][..], &labels[..]].concat());
    assert_eq!(code, Some(1), "no document yet: {err}");
    let (code, _, err) = remote(&url, &token, &["alerts", "routing", "set", "--file", bad.to_str().expect("path")]);
    assert_eq!(code, Some(1));
    assert!(err.contains("route.routes[0].receiver") && err.contains("soc-slak"), "{err}");
    let (code, out, err) = remote(&url, &token, &["alerts", "routing", "set", "--file", good.to_str().expect("path")]);
    assert_eq!((code, out.trim()), (Some(0), "routing document version 1"), "{err}");
    let stale = ["alerts", "routing", "set", "--file", good.to_str().expect("path"), "--base-version", "0"];
    let (code, _, err) = remote(&url, &token, &stale);
    assert_eq!(code, Some(1));
    assert!(err.contains("version 1"), "a stale version is refused: {err}");
    let (code, out, err) = remote(&url, &token, &[&["alerts", "route"][..], &labels[..]].concat());
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        out.lines().map(|l| l.split('\t').next().unwrap_or("")).collect::<Vec<_>>(),
        ["soc-slack", "helpdesk-teams"]
    );
    let (code, out, _) = remote(&url, &token, &["alerts", "routing", "show"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("\"version\": 1") && out.contains("helpdesk-teams"), "{out}");
}

#[allow(clippy::disallowed_methods)] // reason: the server under test runs on the system clock; a silence must end after its now
fn in_an_hour() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970");
    sekimori_core::Timestamp(i64::try_from(now.as_millis()).expect("ms") + 3_600_000).to_rfc3339()
}

#[tokio::test]
async fn silences_are_added_listed_and_expired_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = common::start_with(&dir.path().join("data"), &[], &[]).await;
    let (url, token) = (server.url.clone(), server.token.clone());
    let ends = in_an_hour();
    let add = |matchers: &[&str]| {
        let mut args = vec!["alerts", "silence", "add", "--ends-at", ends.as_str(), "--comment", "alice travels"];
        for m in matchers {
            args.extend(["--matcher", m]);
        }
        remote(&url, &token, &args)
    };
    let (code, _, err) = add(&["user=alice", "rule==x"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("matchers[1]") || err.contains("not a matcher"), "{err}");
    let (code, id, err) = add(&["user=alice", "rule=~new_.*"]);
    assert_eq!(code, Some(0), "{err}");
    let id = id.trim().to_owned();
    let (code, list, _) = remote(&url, &token, &["alerts", "silence", "list"]);
    assert_eq!(code, Some(0));
    let line = list.lines().next().expect("one silence");
    assert!(line.starts_with(&format!("{id}\tactive\t")) && line.contains("user=alice,rule=~new_.*"), "{line}");
    assert!(line.ends_with("alice travels"), "{line}");
    assert_eq!(remote(&url, &token, &["alerts", "silence", "expire", &id]).0, Some(0));
    assert_eq!(remote(&url, &token, &["alerts", "silence", "expire", &id]).0, Some(1), "already ended");
    assert_eq!(remote(&url, &token, &["alerts", "silence", "list"]).1, "");
}
