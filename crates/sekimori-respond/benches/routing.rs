//! Routing throughput: alerts through the route tree, 1,000 silences, an inhibition rule
//! over 10,000 firing alerts, mute windows and grouping, on one thread, as the respond
//! service will run them before any receiver is called. `cargo bench -p sekimori-respond
//! --bench routing` (`SEKIMORI_BENCH_ALERTS`, default 200,000). Prints alerts/s.

#![allow(clippy::disallowed_methods)] // reason: a benchmark measures wall-clock time

use std::time::Instant;

use sekimori_respond::{Grouper, Labels, Matcher, RoutingConfig, RoutingTree, Silence, Silences};

const DOC: &str = r#"
route:
  receiver: soc-email
  group_by: [rule]
  routes:
    - matchers: ['severity=~"high|critical"']
      receiver: soc-slack
      continue: true
    - matchers: ['kind="baseline"', 'environment!="staging"']
      receiver: helpdesk-teams
      group_by: [user]
      routes:
        - matchers: ['rule="password_failures_unusual"']
          receiver: siem-webhook
          mute_time_intervals: [maintenance]
    - matchers: ['source=~"syslog-.*"']
      receiver: network-team
      group_by: [host, rule]
receivers: [{name: soc-email}, {name: soc-slack}, {name: helpdesk-teams}, {name: siem-webhook}, {name: network-team}]
inhibit_rules:
  - source_matchers: ['rule="host_down"']
    target_matchers: ['severity!="critical"']
    equal: [host]
time_intervals:
  - name: maintenance
    time_intervals: [{weekdays: ['saturday:sunday'], times: [{start_time: "01:00", end_time: "05:00"}], location: Asia/Tokyo}]
"#;

fn alert(i: usize) -> Labels {
    let rules = ["password_failures_unusual", "new_country", "brute_force", "disk_full", "sshd_error"];
    let severities = ["low", "medium", "high", "critical"];
    let kinds = ["detection", "baseline", "correlation"];
    [
        ("rule", rules[i % rules.len()].to_owned()),
        ("severity", severities[i % severities.len()].to_owned()),
        ("kind", kinds[i % kinds.len()].to_owned()),
        ("user", format!("user{}", i % 5_000)),
        ("host", format!("host{}", i % 299)),
        ("source", if i.is_multiple_of(4) { format!("syslog-{}", i % 7) } else { "sekimori".to_owned() }),
        ("environment", if i.is_multiple_of(10) { "staging" } else { "production" }.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn main() {
    let n: usize = std::env::var("SEKIMORI_BENCH_ALERTS").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000);
    let config: RoutingConfig = yaml_serde::from_str(DOC).expect("document");
    let tree = RoutingTree::new(config).expect("valid");
    let now = 1_796_428_800_000_i64;
    let silences = Silences::new(
        (0..1_000)
            .map(|i| Silence {
                id: format!("s{i}"),
                matchers: vec![
                    Matcher::parse(&format!("user=user{}", i * 5 + 1)).expect("m"),
                    Matcher::parse("rule=~\"new_.*\"").expect("m"),
                ],
                starts_at_ms: now - 1,
                ends_at_ms: now + 86_400_000,
                created_by: "bench".into(),
                comment: "bench".into(),
            })
            .collect(),
    );
    let mut firing: Vec<Labels> = (0..10_000).map(alert).collect();
    firing.push(
        [("rule", "host_down"), ("host", "host7"), ("severity", "critical")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    );
    let mut grouper = Grouper::new();
    let mut inhibitor = tree.inhibitor();
    for a in &firing {
        inhibitor.fire(a);
    }
    for (i, a) in firing.iter().enumerate() {
        for r in tree.routes_for(a) {
            grouper.fire(r, a, now - 60_000 + i as i64);
        }
    }
    let incoming: Vec<Labels> = (0..n).map(|i| alert(i * 7 + 3)).collect();
    let started = Instant::now();
    let (mut silenced, mut inhibited, mut muted, mut routed) = (0usize, 0usize, 0usize, 0usize);
    for (i, a) in incoming.iter().enumerate() {
        let at = now + i as i64;
        if silences.silencing(a, at).is_some() {
            silenced += 1;
            continue;
        }
        if inhibitor.inhibited(a, false) {
            inhibited += 1;
            continue;
        }
        for r in tree.routes_for(a) {
            if tree.muted(r, at) {
                muted += 1;
                continue;
            }
            grouper.fire(r, a, at);
            routed += 1;
        }
    }
    let flushes = grouper.due(now + n as i64 + 3_600_000).len();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{n} alerts in {secs:.3} s: {:.0} alerts/s on one thread ({silenced} silenced, {inhibited} inhibited, \
         {muted} muted deliveries, {routed} routed; {} groups, {flushes} notifications due)",
        n as f64 / secs,
        grouper.len()
    );
}
