//! The routing engine against a routing document written as an operator would: which
//! receivers each alert reaches and through which route (`continue`, inheritance), when
//! groups are notified (group_wait, group_interval, repeat_interval on a test clock),
//! inhibition, mute windows and silences; and documents that are refused, with the place.

use std::time::Duration;

use sekimori_respond::{Grouper, Labels, Matcher, RoutingConfig, RoutingTree, Silence, Silences};

const DOC: &str = r#"
route:
  receiver: soc-email
  group_by: [rule]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - matchers: ['severity=~"high|critical"']
      receiver: soc-slack
      continue: true
      group_wait: 10s
    - matchers: ['kind="baseline"', 'environment!="staging"']
      receiver: helpdesk-teams
      group_by: [user]
      routes:
        - matchers: ['rule="password_failures_unusual"']
          receiver: siem-webhook
          mute_time_intervals: [maintenance]
    - matchers: ['source="sekimori"']
      routes:
        - matchers: ['severity="low"']
          repeat_interval: 24h
receivers:
  - name: soc-email
  - name: soc-slack
  - name: helpdesk-teams
  - name: siem-webhook
inhibit_rules:
  - source_matchers: ['rule="host_down"']
    target_matchers: ['severity!="critical"']
    equal: [host]
time_intervals:
  - name: maintenance
    time_intervals:
      - weekdays: ['saturday:sunday']
        times: [{start_time: "01:00", end_time: "05:00"}]
        location: Asia/Tokyo
"#;

fn tree() -> RoutingTree {
    let config: RoutingConfig = yaml_serde::from_str(DOC).expect("document");
    RoutingTree::new(config).expect("valid")
}

fn labels(text: &str) -> Labels {
    text.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').expect("k=v");
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// 2026-12-05 (a Saturday) at `hh:mm` in Tokyo, ms.
fn saturday_tokyo(hh: i64, mm: i64) -> i64 {
    let midnight_utc_dec5 = 1_796_428_800_000; // 2026-12-05T00:00:00Z
    midnight_utc_dec5 + ((hh - 9) * 60 + mm) * 60_000
}

#[test]
fn each_alert_reaches_the_receivers_its_labels_call_for() {
    let t = tree();
    let table: &[(&str, &[(&str, &str)])] = &[
        // No child matches: the root.
        ("rule=x,severity=medium", &[("route", "soc-email")]),
        // High severity goes to Slack and, `continue`, on to the next match (none): Slack only.
        ("rule=x,severity=high", &[("route.routes[0]", "soc-slack")]),
        // High and a baseline: Slack, then the baseline branch's deepest match.
        (
            "rule=password_failures_unusual,severity=high,kind=baseline,environment=production",
            &[("route.routes[0]", "soc-slack"), ("route.routes[1].routes[0]", "siem-webhook")],
        ),
        // A baseline alert of another rule stays at the branch (its own receiver).
        ("rule=new_country,kind=baseline", &[("route.routes[1]", "helpdesk-teams")]),
        // Staging is excluded by `!=`.
        ("rule=new_country,kind=baseline,environment=staging", &[("route", "soc-email")]),
        // A branch without a receiver inherits the root's, and so does its child.
        ("rule=y,source=sekimori,severity=low", &[("route.routes[2].routes[0]", "soc-email")]),
        ("rule=y,source=sekimori", &[("route.routes[2]", "soc-email")]),
    ];
    for (l, want) in table {
        let got: Vec<(&str, &str)> =
            t.routes_for(&labels(l)).iter().map(|r| (r.path.as_str(), r.receiver.as_str())).collect();
        assert_eq!(&got, want, "{l}");
    }
    // Inherited settings: grouping and timers from the parent unless set.
    let low = t.routes_for(&labels("source=sekimori,severity=low"))[0];
    assert_eq!(low.timers.repeat_interval, Duration::from_secs(24 * 3600));
    assert_eq!(low.timers.group_wait, Duration::from_secs(30));
    assert_eq!(low.group_by.as_ref().map(|g| g.iter().cloned().collect::<Vec<_>>()), Some(vec!["rule".to_owned()]));
    let slack = t.routes_for(&labels("severity=high"))[0];
    assert_eq!(slack.timers.group_wait, Duration::from_secs(10));
    let webhook = t.routes_for(&labels("rule=password_failures_unusual,kind=baseline"))[0];
    assert_eq!(webhook.group_by.as_ref().map(|g| g.iter().cloned().collect::<Vec<_>>()), Some(vec!["user".to_owned()]));
}

#[test]
fn groups_are_notified_after_group_wait_then_on_change_and_on_repeat() {
    let t = tree();
    let mut g = Grouper::new();
    let route = t.routes_for(&labels("rule=r1,severity=medium,user=alice"))[0].clone();
    let (a, b) = (labels("rule=r1,severity=medium,user=alice"), labels("rule=r1,severity=medium,user=bob"));
    let other = labels("rule=r2,severity=medium,user=alice");
    let s = 1_000;
    g.fire(&route, &a, 0);
    assert!(g.due(29 * s).is_empty(), "group_wait is 30 s");
    g.fire(&route, &b, 29 * s);
    let first = g.due(30 * s);
    assert_eq!(first.len(), 1, "alice and bob are one group (group_by rule)");
    assert_eq!((first[0].receiver.as_str(), first[0].alerts.len()), ("soc-email", 2));
    // Another rule is another group, with its own wait.
    g.fire(&route, &other, 40 * s);
    assert!(g.due(60 * s).is_empty());
    assert_eq!(g.due(70 * s).len(), 1);
    // Unchanged: nothing at the next interval; at repeat_interval, again.
    assert!(g.due(30 * s + 300 * s).is_empty());
    let repeat_at = 30 * s + 4 * 3600 * s;
    let repeated = g.due(repeat_at);
    assert_eq!(repeated.iter().filter(|f| f.key.labels == labels("rule=r1")).count(), 1, "{repeated:?}");
    // A resolved alert changes the group: notified at the next check; all resolved, one last time.
    g.resolve(&route, &a);
    let after = g.due(repeat_at + 300 * s);
    let r1: Vec<_> = after.iter().filter(|f| f.key.labels == labels("rule=r1")).collect();
    assert_eq!(r1.len(), 1);
    assert_eq!(r1[0].alerts, vec![b.clone()]);
    g.resolve(&route, &b);
    let last = g.due(repeat_at + 600 * s);
    assert!(last.iter().any(|f| f.key.labels == labels("rule=r1") && f.alerts.is_empty()), "{last:?}");
    assert!(g.due(repeat_at + 900 * s).iter().all(|f| f.key.labels != labels("rule=r1")), "forgotten once told");
}

#[test]
fn inhibition_mute_windows_and_silences() {
    let t = tree();
    // A host down inhibits that host's non-critical alerts, not other hosts', not critical ones.
    let down = labels("rule=host_down,host=db1,severity=critical");
    let firing = vec![down.clone()];
    let inhibited = |l: &str| t.inhibit_rules().iter().any(|r| r.inhibits(&labels(l), &firing));
    assert!(inhibited("rule=disk_full,host=db1,severity=high"));
    assert!(!inhibited("rule=disk_full,host=db2,severity=high"));
    assert!(!inhibited("rule=disk_full,host=db1,severity=critical"));
    assert!(!t.inhibit_rules()[0].inhibits(&down, &firing), "an alert does not inhibit itself");
    // The indexed inhibitor answers the same.
    let mut index = t.inhibitor();
    index.fire(&down);
    for (l, want) in [
        ("rule=disk_full,host=db1,severity=high", true),
        ("rule=disk_full,host=db2,severity=high", false),
        ("rule=disk_full,host=db1,severity=critical", false),
    ] {
        assert_eq!(index.inhibited(&labels(l), false), want, "{l}");
    }
    assert!(!index.inhibited(&down, true), "not by itself");
    let second_down = labels("rule=host_down,host=db1,severity=high");
    assert!(index.inhibited(&second_down, false), "a high host_down alert is itself inhibited by the critical one");
    index.fire(&second_down);
    assert!(index.inhibited(&second_down, true), "another firing source with the same host inhibits it");
    index.resolve(&down);
    assert!(!index.inhibited(&second_down, true), "resolved sources inhibit nothing");
    assert!(index.inhibited(&labels("rule=disk_full,host=db1,severity=high"), false), "db1 still has a source");
    index.resolve(&second_down);
    assert!(!index.inhibited(&labels("rule=disk_full,host=db1,severity=high"), false));

    // The webhook route is muted on weekend nights in Tokyo.
    let webhook = t.routes_for(&labels("rule=password_failures_unusual,kind=baseline"))[0];
    assert!(t.muted(webhook, saturday_tokyo(2, 0)));
    assert!(!t.muted(webhook, saturday_tokyo(5, 0)), "the end is exclusive");
    assert!(!t.muted(webhook, saturday_tokyo(2, 0) - 24 * 3_600_000), "Friday night is not a maintenance night");
    let root = t.routes_for(&labels("rule=x"))[0];
    assert!(!t.muted(root, saturday_tokyo(2, 0)), "mute windows are not inherited by other routes");

    // A silence matches by its matchers between its start and its end.
    let silence = Silence {
        id: "s1".into(),
        matchers: vec![Matcher::parse("rule=new_country").expect("m"), Matcher::parse("user=~a.*").expect("m")],
        starts_at_ms: 1_000,
        ends_at_ms: 2_000,
        created_by: "admin_token:1".into(),
        comment: "alice travels this week".into(),
    };
    let alice = labels("rule=new_country,user=alice");
    assert!(!silence.silences(&alice, 999));
    assert!(silence.silences(&alice, 1_000));
    assert!(!silence.silences(&labels("rule=new_country,user=bob"), 1_500));
    assert!(!silence.silences(&alice, 2_000), "it expires on time");
    // The index finds the same silences as looking at every one.
    let regex_only =
        Silence { id: "s2".into(), matchers: vec![Matcher::parse("user=~b.*").expect("m")], ..silence.clone() };
    let index = Silences::new(vec![silence.clone(), regex_only]);
    assert_eq!(index.silencing(&alice, 1_500).map(|s| s.id.as_str()), Some("s1"));
    assert_eq!(index.silencing(&labels("rule=other,user=bob"), 1_500).map(|s| s.id.as_str()), Some("s2"));
    assert_eq!(index.silencing(&labels("rule=new_country,user=carol"), 1_500), None);
    assert_eq!(index.silencing(&alice, 2_000), None);
}

#[test]
fn a_document_that_cannot_be_used_is_refused_with_the_place() {
    let refused = |doc: &str| -> String {
        let config: RoutingConfig = match yaml_serde::from_str(doc) {
            Ok(c) => c,
            Err(e) => return e.to_string(),
        };
        RoutingTree::new(config).expect_err("refused").to_string()
    };
    let cases = [
        ("route: {receiver: nobody}\nreceivers: [{name: a}]", "route.receiver: no receiver named \"nobody\""),
        ("route: {group_by: [rule]}\nreceivers: [{name: a}]", "route.receiver: the root route needs a receiver"),
        (
            "route: {receiver: a, routes: [{matchers: ['x=1'], routes: [{receiver: b}]}]}\nreceivers: [{name: a}]",
            "route.routes[0].routes[0].receiver: no receiver named \"b\"",
        ),
        (
            "route: {receiver: a, routes: [{mute_time_intervals: [nights]}]}\nreceivers: [{name: a}]",
            "route.routes[0].mute_time_intervals: no time interval named \"nights\"",
        ),
        ("route: {receiver: a, routes: [{group_interval: 0s}]}\nreceivers: [{name: a}]", "route.routes[0].group_interval"),
        ("route: {receiver: a, group_by: ['...', rule]}\nreceivers: [{name: a}]", "route.group_by"),
        ("route: {receiver: a}\nreceivers: [{name: a}, {name: a}]", "receivers[1].name"),
        ("route: {receiver: a, routes: [{matchers: ['x==1']}]}\nreceivers: [{name: a}]", "not a matcher"),
        ("route: {receiver: a, group_wait: soon}\nreceivers: [{name: a}]", "not a duration"),
        ("route: {receiver: a, colour: red}\nreceivers: [{name: a}]", "unknown field"),
        ("route: {receiver: a}\nreceivers: [{name: a}]\nuser_notices: {email_receiver: b}", "user_notices.email_receiver: no receiver named \"b\""),
        ("route: {receiver: a}\nreceivers: [{name: a}]\nuser_notices: {email_receiver: a}", "\"a\" has no email channel"),
        (
            "route: {receiver: a}\nreceivers: [{name: a}]\ntime_intervals: [{name: n, time_intervals: [{times: [{start_time: '22:00', end_time: '06:00'}]}]}]",
            "time_intervals[0]: time_intervals[0]: 22:00-06:00",
        ),
    ];
    for (doc, want) in cases {
        let got = refused(doc);
        assert!(got.contains(want), "{doc}\n  got: {got}\n want: {want}");
    }
}

#[test]
fn response_policies_act_only_on_trusted_alerts_about_a_user_and_are_checked() {
    let doc = r#"
route: {receiver: a}
receivers: [{name: a}]
response_policies:
  - name: unusual-failures
    matchers: ['rule="failure_burst"']
    action: raise_level
    level: 3
    escalation: [30m, 2h, 24h]
  - name: edr-block
    matchers: ['severity="critical"']
    action: block
    duration: 1h
    trusted_sources: [src-edr]
    exempt_groups: [sre]
"#;
    let tree = RoutingTree::new(yaml_serde::from_str(doc).expect("yaml")).expect("usable");
    let names = |labels: &[(&str, &str)]| -> Vec<String> {
        let l: Labels = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        tree.policies_for(&l).map(|p| p.name.clone()).collect()
    };
    let own = [("rule", "failure_burst"), ("source", "sekimori"), ("user", "alice")];
    assert_eq!(names(&own), ["unusual-failures"]);
    // The same labels from a log source (which could be forged) do not act by default.
    assert!(names(&[("rule", "failure_burst"), ("source", "src-syslog"), ("user", "alice")]).is_empty());
    assert!(names(&[("rule", "failure_burst"), ("source", "sekimori")]).is_empty(), "no user, nothing to act on");
    assert_eq!(names(&[("severity", "critical"), ("source", "src-edr"), ("user", "bob")]), ["edr-block"]);
    let p = tree.policies_for(&own.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()).next().cloned();
    let p = p.expect("policy");
    assert_eq!(p.steps(), [Duration::from_secs(1800), Duration::from_secs(7200), Duration::from_secs(86_400)]);
    assert_eq!(p.window(), Duration::from_secs(7 * 86_400), "a week by default");

    let refused = |policy: &str| -> String {
        let doc = format!("route: {{receiver: a}}\nreceivers: [{{name: a}}]\nresponse_policies: [{policy}]");
        match yaml_serde::from_str::<RoutingConfig>(&doc) {
            Ok(c) => RoutingTree::new(c).expect_err("refused").to_string(),
            Err(e) => e.to_string(),
        }
    };
    for (policy, want) in [
        ("{name: p, matchers: ['a=1'], action: raise_level, duration: 1h}", "response_policies[0].level"),
        ("{name: p, matchers: ['a=1'], action: raise_level, level: 4, duration: 1h}", "response_policies[0].level"),
        ("{name: p, matchers: ['a=1'], action: block, level: 3, duration: 1h}", "only raise_level takes a level"),
        ("{name: p, matchers: ['a=1'], action: block}", "a duration or an escalation is needed"),
        ("{name: p, matchers: ['a=1'], action: block, duration: 1h, escalation: [2h]}", "not both"),
        ("{name: p, matchers: ['a=1'], action: reauthenticate, duration: 1h}", "not lasting"),
        ("{name: p, matchers: [], action: block, duration: 1h}", "at least one matcher"),
        ("{name: p, matchers: ['a=1'], action: block, duration: 0s}", "longer than zero"),
        ("{name: p, matchers: ['a=1'], action: block, duration: 1h, trusted_sources: []}", "trusted_sources"),
        ("{name: p, matchers: ['a=1'], action: jail, duration: 1h}", "unknown variant"),
        (
            "{name: p, matchers: ['a=1'], action: block, duration: 1h}, {name: p, matchers: ['b=1'], action: block, duration: 1h}",
            "response_policies[1].name",
        ),
    ] {
        let got = refused(policy);
        assert!(got.contains(want), "{policy}\n  got: {got}\n want: {want}");
    }
    // Reauthentication takes no duration.
    let ok = "route: {receiver: a}\nreceivers: [{name: a}]\nresponse_policies: [{name: p, matchers: ['a=1'], action: reauthenticate}]";
    assert!(RoutingTree::new(yaml_serde::from_str(ok).expect("yaml")).is_ok());
}
