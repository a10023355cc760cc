//! Golden tests: one YAML rule (or rule set) per Sigma modifier and per correlation type,
//! events, and the hits expected on each. Run through the same [`Hunter`] `sekimori hunt`
//! uses.

use sekimori_detect::{Hunter, RuleSet};
use serde_json::{json, Value};

/// Loads `yaml` (which must load cleanly) and returns, per event, the titles that fired.
fn run(yaml: &str, events: &[Value]) -> Vec<Vec<String>> {
    let (rules, report) = RuleSet::from_yaml(yaml);
    assert!(report.is_clean(), "rules did not load: {:?}", report.failures);
    let mut hunter = Hunter::new(&rules).expect("compile");
    events.iter().map(|e| hunter.process(e).into_iter().map(|h| h.title).collect()).collect()
}

/// A one-selection rule titled `t` with `detection` under `sel`.
fn rule(sel: &str) -> String {
    format!("title: t\nlogsource: {{product: test}}\ndetection:\n  sel:\n{sel}\n  condition: sel\n")
}

/// Which of `events` the single rule fires on.
fn fires(sel: &str, events: &[Value]) -> Vec<bool> {
    run(&rule(sel), events).into_iter().map(|titles| !titles.is_empty()).collect()
}

#[test]
fn contains_startswith_endswith_are_case_insensitive() {
    let ev = [json!({"C": "cmd.exe /c WhoAmI /all"}), json!({"C": "powershell"})];
    assert_eq!(fires("    C|contains: whoami", &ev), [true, false]);
    assert_eq!(fires("    C|startswith: CMD.EXE", &ev), [true, false]);
    assert_eq!(fires("    C|endswith: '/ALL'", &ev), [true, false]);
    assert_eq!(fires("    C: 'cmd.exe*whoami*'", &ev), [true, false], "wildcards");
}

#[test]
fn unicode_case_folding() {
    let ev = [json!({"U": "ÄRGER Straße"}), json!({"U": "ärger strasse"})];
    assert_eq!(fires("    U|contains: 'ärger'", &ev), [true, true]);
}

#[test]
fn cased_is_case_sensitive() {
    let ev = [json!({"C": "Invoke-Mimikatz"}), json!({"C": "invoke-mimikatz"})];
    assert_eq!(fires("    C|contains|cased: Invoke-Mimikatz", &ev), [true, false]);
}

#[test]
fn lists_are_or_and_all_is_and() {
    let ev = [json!({"C": "net user /add"}), json!({"C": "net user"}), json!({"C": "whoami"})];
    assert_eq!(fires("    C|contains:\n      - '/add'\n      - whoami", &ev), [true, false, true]);
    assert_eq!(fires("    C|contains|all:\n      - net\n      - '/add'", &ev), [true, false, false]);
}

#[test]
fn regular_expressions_and_their_flags() {
    let ev = [json!({"C": "Line one\nSECOND line"}), json!({"C": "nothing"})];
    assert_eq!(fires("    C|re: 'one\\nSECOND'", &ev), [true, false]);
    assert_eq!(fires("    C|re|i: 'second LINE'", &ev), [true, false]);
    assert_eq!(fires("    C|re|m: '^SECOND'", &ev), [true, false]);
    assert_eq!(fires("    C|re|s: 'one.SECOND'", &ev), [true, false]);
    assert_eq!(fires("    C|re: '^SECOND'", &ev), [false, false], "without m, ^ is the start of the text");
}

#[test]
fn windash_matches_every_dash_form() {
    let ev = [
        json!({"C": "tool -enc AAA"}),
        json!({"C": "tool /enc AAA"}),
        json!({"C": "tool –enc AAA"}),
        json!({"C": "tool enc"}),
    ];
    assert_eq!(fires("    C|windash|contains: ' -enc '", &ev), [true, true, true, false]);
}

#[test]
fn cidr_matches_networks() {
    let ev =
        [json!({"ip": "10.1.2.3"}), json!({"ip": "192.168.0.1"}), json!({"ip": "2001:db8::1"}), json!({"ip": "x"})];
    assert_eq!(fires("    ip|cidr:\n      - 10.0.0.0/8\n      - 2001:db8::/32", &ev), [true, false, true, false]);
}

#[test]
fn base64_and_base64offset() {
    // "http://" base64-encoded as a whole, and at each of the three offsets.
    let ev = [json!({"C": "aHR0cDovLw=="}), json!({"C": "xxaHR0cDovL"}), json!({"C": "plain"})];
    assert_eq!(fires("    C|base64: 'http://'", &ev), [true, false, false]);
    let within = [json!({"C": "ZWNobyBodHRwOi8vZXZpbA=="}), json!({"C": "plain"})];
    assert_eq!(fires("    C|base64offset|contains: 'http://'", &within), [true, false]);
}

#[test]
fn utf16_encodings_with_base64offset() {
    // "ping" in UTF-16LE, base64: cABpAG4AZwA=
    let ev = [json!({"C": "powershell -enc cABpAG4AZwA="}), json!({"C": "powershell -enc cGluZw=="})];
    assert_eq!(fires("    C|utf16le|base64offset|contains: 'ping'", &ev), [true, false]);
    assert_eq!(fires("    C|wide|base64offset|contains: 'ping'", &ev), [true, false]);
    // "ping" in UTF-16BE, base64: AHAAaQBuAGc=
    let be = [json!({"C": "AHAAaQBuAGc="}), json!({"C": "cABpAG4AZwA="})];
    assert_eq!(fires("    C|utf16be|base64offset|contains: 'ping'", &be), [true, false]);
    // utf16 = little endian with a byte-order mark: //5wAGkAbgBnAA==
    let bom = [json!({"C": "//5wAGkAbgBnAA=="}), json!({"C": "AHAAaQBuAGc="})];
    assert_eq!(fires("    C|utf16|base64offset|contains: 'ping'", &bom), [true, false]);
}

#[test]
fn exists() {
    let ev = [json!({"a": 1}), json!({"b": 1})];
    assert_eq!(fires("    a|exists: true", &ev), [true, false]);
    assert_eq!(fires("    a|exists: false", &ev), [false, true]);
}

#[test]
fn numeric_comparisons_and_neq() {
    let ev = [json!({"n": 5}), json!({"n": 10}), json!({"n": "15"}), json!({"n": "x"})];
    assert_eq!(fires("    n|gt: 5", &ev), [false, true, true, false]);
    assert_eq!(fires("    n|gte: 5", &ev), [true, true, true, false]);
    assert_eq!(fires("    n|lt: 10", &ev), [true, false, false, false]);
    assert_eq!(fires("    n|lte: 10", &ev), [true, true, false, false]);
    let users = [json!({"u": "alice"}), json!({"u": "bob"})];
    assert_eq!(fires("    u|neq: alice", &users), [false, true]);
}

#[test]
fn fieldref_compares_two_fields() {
    let ev = [json!({"src": "alice", "dst": "alice"}), json!({"src": "alice", "dst": "bob"})];
    assert_eq!(fires("    dst|fieldref: src", &ev), [true, false]);
}

#[test]
fn keywords_and_conditions() {
    let yaml = "title: t\nlogsource: {product: test}\ndetection:\n  keywords:\n    - mimikatz\n    - 'sekurlsa::'\n  condition: keywords\n";
    let hits = run(
        yaml,
        &[json!({"msg": "ran MimiKatz"}), json!({"msg": "clean"}), json!({"x": {"y": "sekurlsa::logonpasswords"}})],
    );
    assert_eq!(hits.iter().map(|h| !h.is_empty()).collect::<Vec<_>>(), [true, false, true]);

    let yaml = "title: t\nlogsource: {product: test}\ndetection:\n  sel_a:\n    a: 1\n  sel_b:\n    b: 1\n  filter:\n    c: 1\n";
    let events = [json!({"a": 1}), json!({"a": 1, "b": 1}), json!({"a": 1, "b": 1, "c": 1}), json!({})];
    let cond = |c: &str| -> Vec<bool> {
        run(&format!("{yaml}  condition: {c}\n"), &events).into_iter().map(|h| !h.is_empty()).collect()
    };
    assert_eq!(cond("1 of sel_*"), [true, true, true, false]);
    assert_eq!(cond("all of sel_*"), [false, true, true, false]);
    assert_eq!(cond("all of sel_* and not filter"), [false, true, false, false]);
    assert_eq!(cond("1 of them"), [true, true, true, false]);
    assert_eq!(cond("sel_a and not (sel_b or filter)"), [true, false, false, false]);
}

#[test]
fn expand_without_a_configured_placeholder_is_reported_not_silent() {
    let (_, report) = RuleSet::from_yaml(&rule("    C|expand: '%admins%'"));
    let (_, ok) = RuleSet::from_yaml(&rule("    C: x"));
    assert!(ok.is_clean());
    // Either the rule loads (placeholder kept literally) or it is reported: never dropped silently.
    assert_eq!(report.detections + report.failures.len(), 1, "{report:?}");
}

/// A base detection rule named `failed` and `success` plus correlation YAML.
fn with_base(correlation: &str) -> String {
    format!(
        "title: failed\nname: failed_login\nlogsource: {{product: test}}\ndetection:\n  sel:\n    action: fail\n  condition: sel\n---\n\
         title: success\nname: good_login\nlogsource: {{product: test}}\ndetection:\n  sel:\n    action: ok\n  condition: sel\n---\n\
         {correlation}"
    )
}

fn at(secs: i64, fields: Value) -> Value {
    let mut v = fields;
    v["@timestamp"] = json!(format!("2026-01-01T00:{:02}:{:02}Z", secs / 60, secs % 60));
    v
}

fn correlation_hits(yaml: &str, events: &[Value], title: &str) -> Vec<usize> {
    run(yaml, events)
        .into_iter()
        .enumerate()
        .filter(|(_, titles)| titles.iter().any(|t| t == title))
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn event_count_with_group_by_and_timespan() {
    let yaml = with_base("title: brute\ncorrelation:\n  type: event_count\n  rules: [failed_login]\n  group-by: [user]\n  timespan: 1m\n  condition: {gte: 3}\n");
    let ev = [
        at(0, json!({"action": "fail", "user": "a"})),
        at(10, json!({"action": "fail", "user": "b"})),
        at(20, json!({"action": "fail", "user": "a"})),
        at(30, json!({"action": "fail", "user": "a"})),
        at(200, json!({"action": "fail", "user": "b"})),
        at(210, json!({"action": "fail", "user": "b"})),
    ];
    assert_eq!(correlation_hits(&yaml, &ev, "brute"), [3], "a's third within a minute; b's are minutes apart");
}

#[test]
fn value_count_counts_distinct_values() {
    let yaml = with_base("title: spray\ncorrelation:\n  type: value_count\n  rules: [failed_login]\n  group-by: [ip]\n  timespan: 5m\n  condition:\n    field: user\n    gte: 3\n");
    let ev = [
        at(0, json!({"action": "fail", "ip": "1.1.1.1", "user": "a"})),
        at(1, json!({"action": "fail", "ip": "1.1.1.1", "user": "a"})),
        at(2, json!({"action": "fail", "ip": "1.1.1.1", "user": "b"})),
        at(3, json!({"action": "fail", "ip": "1.1.1.1", "user": "c"})),
    ];
    assert_eq!(correlation_hits(&yaml, &ev, "spray"), [3]);
}

#[test]
fn temporal_and_temporal_ordered() {
    let unordered = with_base("title: both\ncorrelation:\n  type: temporal\n  rules: [failed_login, good_login]\n  group-by: [user]\n  timespan: 1m\n");
    let ordered = with_base("title: fail then ok\ncorrelation:\n  type: temporal_ordered\n  rules: [failed_login, good_login]\n  group-by: [user]\n  timespan: 1m\n");
    let ok_first = [at(0, json!({"action": "ok", "user": "a"})), at(5, json!({"action": "fail", "user": "a"}))];
    let fail_first = [at(0, json!({"action": "fail", "user": "a"})), at(5, json!({"action": "ok", "user": "a"}))];
    assert_eq!(correlation_hits(&unordered, &ok_first, "both"), [1]);
    assert_eq!(correlation_hits(&unordered, &fail_first, "both"), [1]);
    assert_eq!(correlation_hits(&ordered, &ok_first, "fail then ok"), Vec::<usize>::new());
    assert_eq!(correlation_hits(&ordered, &fail_first, "fail then ok"), [1]);
    let far = [at(0, json!({"action": "fail", "user": "a"})), at(300, json!({"action": "ok", "user": "a"}))];
    assert_eq!(correlation_hits(&ordered, &far, "fail then ok"), Vec::<usize>::new(), "outside the timespan");
}

#[test]
fn value_sum_avg_and_percentile() {
    let sum = with_base("title: bytes out\ncorrelation:\n  type: value_sum\n  rules: [good_login]\n  group-by: [user]\n  timespan: 10m\n  condition:\n    field: bytes\n    gt: 1000\n");
    let ev = [
        at(0, json!({"action": "ok", "user": "a", "bytes": 400})),
        at(1, json!({"action": "ok", "user": "a", "bytes": 500})),
        at(2, json!({"action": "ok", "user": "a", "bytes": 200})),
    ];
    assert_eq!(correlation_hits(&sum, &ev, "bytes out"), [2]);
    let avg = with_base("title: big avg\ncorrelation:\n  type: value_avg\n  rules: [good_login]\n  group-by: [user]\n  timespan: 10m\n  condition:\n    field: bytes\n    gte: 450\n");
    assert_eq!(correlation_hits(&avg, &ev, "big avg"), [1]);
    let pct = with_base("title: p high\ncorrelation:\n  type: value_percentile\n  rules: [good_login]\n  group-by: [user]\n  timespan: 10m\n  condition:\n    field: bytes\n    percentile: 50\n    gte: 400\n");
    let hits = correlation_hits(&pct, &ev, "p high");
    assert!(!hits.is_empty() && hits[0] <= 2, "the median of 400, 500 reaches 400: {hits:?}");
}

#[test]
fn a_filter_rule_suppresses_a_detection() {
    let yaml = "title: scan\nid: 11111111-1111-4111-8111-111111111111\nlogsource: {product: test}\ndetection:\n  sel:\n    action: probe\n  condition: sel\n---\n\
        title: our scanner\nfilter:\n  rules: [11111111-1111-4111-8111-111111111111]\n  selection:\n    ip: 10.0.0.5\n  condition: not selection\nlogsource: {product: test}\n";
    let hits = run(yaml, &[json!({"action": "probe", "ip": "10.0.0.5"}), json!({"action": "probe", "ip": "10.0.0.6"})]);
    assert_eq!(hits.iter().map(|h| !h.is_empty()).collect::<Vec<_>>(), [false, true]);
}

#[test]
fn matched_values_are_the_same_for_every_hunter() {
    // rsigma keeps a rule's selections in a HashMap whose order differs from one map to
    // the next; what a hit reports must not.
    let selections: String = (0..8).map(|i| format!("  selection_{i}:\n    F{i}|contains: v{i}\n")).collect();
    let yaml =
        format!("title: t\nlogsource: {{product: test}}\ndetection:\n{selections}  condition: 1 of selection_*\n");
    let (rules, report) = RuleSet::from_yaml(&yaml);
    assert!(report.is_clean(), "{:?}", report.failures);
    let event: Value =
        (0..8).map(|i| (format!("F{i}"), json!(format!("v{i}")))).collect::<serde_json::Map<_, _>>().into();
    let expected: Vec<String> = (0..8).map(|i| format!("F{i}=v{i}")).collect();
    for _ in 0..16 {
        let mut hunter = Hunter::new(&rules).expect("compile");
        let hits = hunter.process(&event);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].matched, expected);
    }
}

/// `|startswith` and `|endswith` with wildcards in the value keep their anchors (rsigma-eval
/// 0.23 put them on the wrong sides; ADR 0004): SigmaHQ's
/// `win_security_ad_user_enumeration.yml` has `AccessMask|endswith: '1?'`.
#[test]
fn startswith_and_endswith_with_wildcards_anchor_where_they_say() {
    let ev = [json!({"AccessMask": "0x10"}), json!({"AccessMask": "0x1"}), json!({"AccessMask": "10x"})];
    assert_eq!(fires("    AccessMask|endswith: '1?'", &ev), [true, false, false]);
    assert_eq!(fires("    AccessMask|startswith: '1?'", &ev), [false, false, true]);
    let ev = [json!({"C": "cmd.exe /c whoami"}), json!({"C": "x cmd.exe /c whoami y"})];
    assert_eq!(fires("    C|startswith: 'cmd*/c'", &ev), [true, false]);
    assert_eq!(fires("    C|endswith: '/c*whoami'", &ev), [true, false]);
    // Plain values beside a wildcard one keep their modifier.
    let ev = [json!({"C": "abc"}), json!({"C": "xabc"}), json!({"C": "zzq"})];
    assert_eq!(fires("    C|startswith:\n      - 'ab'\n      - 'z?q'", &ev), [true, false, true]);
}

/// A field whose value is a list matches when any item does (unnamed EventData `Data`).
#[test]
fn a_list_value_matches_when_any_item_does() {
    let ev = [json!({"Data": ["foo", "ntdsutil ifm"]}), json!({"Data": "x ntdsutil"})];
    assert_eq!(fires("    Data|contains: ntdsutil", &ev), [true, true]);
}
