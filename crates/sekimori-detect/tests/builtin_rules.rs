//! Sekimori's built-in rules for its own audit events load cleanly and fire on the events
//! the gate writes (a "not me" report, push fatigue, a login the risk policy refused, an
//! audit chain that does not verify), and
//! not on their harmless neighbours.

use sekimori_detect::{Hunter, RuleSet};
use serde_json::json;

fn audit(action: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut e = json!({
        "@timestamp": "2026-12-06T10:00:00.000Z",
        "event": {"action": action, "category": ["authentication"], "outcome": "success"},
        "user": {"name": "bob"},
        "sekimori": {"tenant": "default"}
    });
    if let (Some(e), Some(extra)) = (e.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            if k == "sekimori" {
                e["sekimori"].as_object_mut().expect("object").extend(v.as_object().expect("object").clone());
            } else {
                e.insert(k.clone(), v.clone());
            }
        }
    }
    e
}

#[test]
fn the_builtin_rules_fire_on_the_events_the_gate_writes() {
    let (mut rules, mut report) = RuleSet::load::<&str>(&[]);
    rules.add_builtin(&mut report);
    assert!(report.is_clean(), "{:?}", report.failures);
    assert_eq!(report.detections, 5);
    let mut hunter = Hunter::new(&rules).expect("compile");
    let titles = |hunter: &mut Hunter, e: &serde_json::Value| -> Vec<String> {
        hunter.process(e).into_iter().map(|h| h.title).collect()
    };
    assert_eq!(titles(&mut hunter, &audit("auth.push.reported", json!({}))), ["Push Login Reported As Not Me"]);
    assert_eq!(
        titles(&mut hunter, &audit("auth.environment.reported", json!({}))),
        ["New Environment Warning Reported As Not Me"]
    );
    assert_eq!(
        titles(&mut hunter, &audit("auth.push.fatigue", json!({"sekimori": {"push": {"denials": 3}}}))),
        ["Push Approvals Suspended After Repeated Denials"]
    );
    let judged = |decision: &str, enforced: bool| {
        audit("auth.risk.assessed", json!({"sekimori": {"risk": {"decision": decision, "enforced": enforced}}}))
    };
    assert_eq!(titles(&mut hunter, &judged("NG", true)), ["Login Refused By The Risk Policy"]);
    assert!(titles(&mut hunter, &judged("NG", false)).is_empty(), "dry run: recorded, not refused");
    assert!(titles(&mut hunter, &judged("OK", true)).is_empty());
    assert!(titles(&mut hunter, &audit("auth.push.denied", json!({}))).is_empty());
    let mut broken = audit("audit.chain.verified", json!({"sekimori": {"audit_chain": {"first_broken": 7}}}));
    broken["event"]["outcome"] = json!("failure");
    assert_eq!(titles(&mut hunter, &broken), ["Audit Chain Does Not Verify"]);
    assert!(titles(&mut hunter, &audit("audit.chain.verified", json!({}))).is_empty(), "a chain that verifies");
}

/// Each loaded rule's file text is kept as it was loaded, found by the rule's id: a file's
/// rules share it, the built-in rules give the binary's, and a rule without an id (given a
/// local one) or an unknown id gives none.
#[test]
fn a_rules_file_text_is_kept_as_loaded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = "title: One\nid: 11111111-0000-4000-8000-000000000001\nlogsource: {product: windows}\n\
                detection:\n  s:\n    EventID: 1\n  condition: s\n---\n\
                title: Two\nid: 11111111-0000-4000-8000-000000000002\nlogsource: {product: windows}\n\
                detection:\n  s:\n    EventID: 2\n  condition: s\n---\n\
                title: No id\nlogsource: {product: windows}\ndetection:\n  s:\n    EventID: 3\n  condition: s\n";
    let file = dir.path().join("pair.yml");
    std::fs::write(&file, text).expect("write");
    let (mut rules, mut report) = RuleSet::load(&[&file]);
    rules.add_builtin(&mut report);
    assert!(report.is_clean(), "{:?}", report.failures);
    // The file changes after loading: what was loaded is what is shown.
    std::fs::write(&file, "changed").expect("write");
    for (id, title) in
        [("11111111-0000-4000-8000-000000000001", "One"), ("11111111-0000-4000-8000-000000000002", "Two")]
    {
        let (path, t, source) = rules.detection_source(id).expect("loaded");
        assert_eq!((path, t, source), (file.as_path(), title, text));
    }
    let builtin = sekimori_detect::rules::BUILTIN_RULES;
    let first = builtin.lines().find_map(|l| l.strip_prefix("id: ")).expect("the built-in rules have ids").trim();
    let (path, _, source) = rules.detection_source(first).expect("a built-in rule");
    assert_eq!((path.to_str(), source), (Some(sekimori_detect::rules::BUILTIN_PATH), builtin));
    assert!(rules.detection_source("11111111-0000-4000-8000-000000000009").is_none());
    assert!(rules.detection_source("urn:sekimori:anonymous-rule:1:2").is_none(), "local ids are not shown");
}
