//! Loading a folder of rules on every core gives the set one thread would: rules in the
//! order of their files' sorted paths, failures likewise, whichever thread read which file.

use sekimori_detect::{Hunter, RuleSet};
use serde_json::json;

/// A rule with id `id` that fires on `{"Marker": "x…"}`; `heavy` gives it many wildcard
/// values (regular expressions to compile), so files cost very different amounts to load.
fn rule(id: &str, heavy: bool) -> String {
    let mut values = vec!["'x*'".to_owned()];
    if heavy {
        values.extend((0..200).map(|i| format!("'*never{i}*seen{i}?'")));
    }
    format!(
        "title: rule {id}\nid: {id}\nlogsource:\n  product: test\ndetection:\n  sel:\n    Marker:\n{}\n  condition: sel\n",
        values.iter().map(|v| format!("      - {v}\n")).collect::<String>()
    )
}

#[test]
fn rules_and_failures_come_in_file_order_whatever_thread_read_them() {
    let dir = tempfile::tempdir().expect("ok");
    let mut expected_ids = Vec::new();
    let mut expected_failures = Vec::new();
    for n in 0..60 {
        let name = format!("{n:03}.yml");
        if n % 7 == 3 {
            std::fs::write(dir.path().join(&name), "title: [unclosed\n").expect("ok");
            expected_failures.push(dir.path().join(&name));
        } else {
            let id = format!("00000000-0000-4000-8000-{n:012}");
            std::fs::write(dir.path().join(&name), rule(&id, n % 5 == 0)).expect("ok");
            expected_ids.push(id);
        }
    }
    let (rules, report) = RuleSet::load(&[dir.path()]);
    assert_eq!(report.files, 60);
    assert_eq!(report.detections, expected_ids.len());
    let failed: Vec<_> = report.failures.iter().map(|f| f.path.clone()).collect();
    assert_eq!(failed, expected_failures);
    for id in &expected_ids {
        let (path, _, text) = rules.detection_source(id).expect("ok");
        assert!(text.contains(id.as_str()), "{} holds the text of another file", path.display());
    }
    // One event fires every rule of the one log-source group, in the rules' order.
    let mut hunter = Hunter::new(&rules).expect("ok");
    let hits = hunter.process(&json!({"Marker": "xyz"}));
    let fired: Vec<String> = hits.iter().map(|h| h.rule_id.clone().expect("ok")).collect();
    assert_eq!(fired, expected_ids);
}
