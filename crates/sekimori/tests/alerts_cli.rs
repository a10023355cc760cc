//! `sekimori alerts route` through the built binary: where an alert with given labels
//! goes under a routing document, and a document that cannot be used refused with the place.

use std::process::Command;

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
