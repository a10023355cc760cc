//! Sekimori's built-in rules for its own audit events load cleanly and fire on the events
//! the gate writes (a "not me" report, push fatigue, a login the risk policy refused), and
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
    assert_eq!(report.detections, 4);
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
}
