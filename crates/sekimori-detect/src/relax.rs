//! Rules a mapped event cannot decide.
//!
//! On a built-in Windows event given Sysmon's names ([`crate::unknown`]) an item on a field
//! the event lacks is unknown. Read as false (the engine's answer, and the Sigma
//! specification's for a missing field) a rule whose selection needs that item does not
//! fire, which is right for an unknown verdict; but nothing says the rule could not be
//! decided. This module answers "would the rule have fired had the fields the event does
//! not record matched?": a *relaxed* copy of the rule in which every item of a detection
//! the condition uses only positively holds also when its field is absent
//! (`item or field absent`). A rule that did not fire but whose relaxed copy does is
//! *undecided* on that event. Detections also used under a `not` are left as they are (their
//! unknown filters are reported as unchecked hits instead).
//!
//! On an event that has every field the rule reads, the relaxed copy answers as the rule
//! does: `field absent` is false there.

use std::collections::{BTreeSet, HashSet};

use rsigma_eval::matcher::CompiledMatcher;
use rsigma_eval::{CompiledDetection, CompiledDetectionItem, CompiledRule, Event};
use rsigma_parser::ConditionExpr;

/// A rule's relaxed copy, and the fields whose absence it accepts.
#[derive(Debug, Clone)]
pub(crate) struct Relaxed {
    rule: CompiledRule,
    fields: Vec<String>,
}

impl Relaxed {
    /// The relaxed copy of `rule`, if any of its positively used items can be relaxed.
    pub(crate) fn of(rule: &CompiledRule) -> Option<Relaxed> {
        let positive = positive_only(rule);
        let mut fields = BTreeSet::new();
        let relaxed: Vec<(String, CompiledDetection)> = rule
            .detections
            .iter()
            .filter(|(name, _)| positive.contains(name.as_str()))
            .filter_map(|(name, d)| relax(d, &mut fields).map(|r| (name.clone(), r)))
            .collect();
        if relaxed.is_empty() {
            return None;
        }
        let mut out = rule.clone();
        out.detections.extend(relaxed);
        Some(Relaxed { rule: out, fields: fields.into_iter().collect() })
    }

    /// The fields (of those it relaxes) that `event` lacks: none means the relaxed copy
    /// would answer as the rule did.
    pub(crate) fn missing(&self, event: &impl Event) -> Vec<String> {
        self.fields.iter().filter(|f| !present(event, f)).cloned().collect()
    }

    /// Whether the relaxed copy fires on `event`.
    pub(crate) fn fires(&self, event: &impl Event) -> bool {
        rsigma_eval::evaluate_rule(&self.rule, event).is_some()
    }
}

/// As rsigma reads `exists`: a field with a value other than null.
fn present(event: &impl Event, field: &str) -> bool {
    event.get_field(field).is_some_and(|v| !v.is_null())
}

/// The detections the conditions use only under an even number of `not`s.
fn positive_only(rule: &CompiledRule) -> HashSet<&str> {
    let mut positive = HashSet::new();
    let mut negative = HashSet::new();
    let names: Vec<&str> = rule.detections.keys().map(String::as_str).collect();
    for c in &rule.conditions {
        polarity(c, false, &names, &mut positive, &mut negative);
    }
    positive.retain(|n| !negative.contains(n));
    positive
}

fn polarity<'a>(
    expr: &ConditionExpr,
    negated: bool,
    names: &[&'a str],
    positive: &mut HashSet<&'a str>,
    negative: &mut HashSet<&'a str>,
) {
    let mut mark = |name: &'a str| {
        if negated {
            negative.insert(name);
        } else {
            positive.insert(name);
        }
    };
    match expr {
        ConditionExpr::Not(inner) => polarity(inner, !negated, names, positive, negative),
        ConditionExpr::And(parts) | ConditionExpr::Or(parts) => {
            parts.iter().for_each(|p| polarity(p, negated, names, positive, negative));
        }
        ConditionExpr::Identifier(name) => {
            if let Some(n) = names.iter().find(|n| **n == name.as_str()) {
                mark(n);
            }
        }
        ConditionExpr::Selector { pattern, .. } => {
            names.iter().filter(|n| pattern.matches_detection_name(n)).for_each(|n| mark(n));
        }
    }
}

/// `d` with each field item made to hold also when its field is absent (none when `d`
/// has no such item); the fields relaxed are added to `fields`.
fn relax(d: &CompiledDetection, fields: &mut BTreeSet<String>) -> Option<CompiledDetection> {
    match d {
        CompiledDetection::AllOf(items) => {
            if !items.iter().any(relaxable) {
                return None;
            }
            let parts = items
                .iter()
                .map(|item| match &item.field {
                    Some(field) if relaxable(item) => {
                        fields.insert(field.clone());
                        CompiledDetection::AnyOf(vec![
                            CompiledDetection::AllOf(vec![item.clone()]),
                            CompiledDetection::AllOf(vec![absent(field)]),
                        ])
                    }
                    _ => CompiledDetection::AllOf(vec![item.clone()]),
                })
                .collect();
            Some(CompiledDetection::And(parts))
        }
        CompiledDetection::AnyOf(ds) => relax_all(ds, fields).map(CompiledDetection::AnyOf),
        CompiledDetection::And(ds) => relax_all(ds, fields).map(CompiledDetection::And),
        // Keywords have no field; array scopes and their bodies are left as they are.
        CompiledDetection::Keywords(_)
        | CompiledDetection::ArrayMatch { .. }
        | CompiledDetection::Conditional { .. } => None,
    }
}

fn relax_all(ds: &[CompiledDetection], fields: &mut BTreeSet<String>) -> Option<Vec<CompiledDetection>> {
    let relaxed: Vec<Option<CompiledDetection>> = ds.iter().map(|d| relax(d, fields)).collect();
    if relaxed.iter().all(Option::is_none) {
        return None;
    }
    Some(relaxed.into_iter().zip(ds).map(|(r, d)| r.unwrap_or_else(|| d.clone())).collect())
}

/// A field item on its field's value (not `exists`, not a keyword).
fn relaxable(item: &CompiledDetectionItem) -> bool {
    item.field.is_some() && item.exists.is_none()
}

/// The item "`field` is absent" (`field|exists: false`; its matcher is not read).
fn absent(field: &str) -> CompiledDetectionItem {
    CompiledDetectionItem {
        field: Some(field.to_owned()),
        matcher: CompiledMatcher::Exact { value: String::new(), case_insensitive: false },
        exists: Some(false),
        bloom_eligible: false,
    }
}

/// The relaxed copies of a group's rules, in the group's order.
pub(crate) fn of_all(rules: &[CompiledRule]) -> Vec<Option<Relaxed>> {
    rules.iter().map(Relaxed::of).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsigma_eval::JsonEvent;
    use serde_json::json;

    fn compiled(yaml: &str) -> CompiledRule {
        let c = rsigma_parser::parse_sigma_yaml(yaml).expect("parses");
        rsigma_eval::compile_rule(&c.rules[0]).expect("compiles")
    }

    const RENAMED: &str = "title: PsExec\nid: r1\nlogsource: {category: process_creation}\ndetection:\n  \
        sel_img:\n    - Image|endswith: '\\psexec.exe'\n    - OriginalFileName: psexec.c\n  \
        sel_cli:\n    CommandLine|contains: ' -accepteula'\n  filter:\n    User|contains: SYSTEM\n  \
        condition: all of sel_* and not filter\n";

    #[test]
    fn a_rule_a_missing_field_would_have_decided_is_undecided() {
        let rule = compiled(RENAMED);
        let relaxed = Relaxed::of(&rule).expect("relaxable");
        // A renamed PsExec recorded by 4688: no OriginalFileName, no User.
        let renamed = json!({"Image": "C:\\tmp\\x.exe", "CommandLine": "x.exe -accepteula \\\\host cmd"});
        let e = JsonEvent::borrow(&renamed);
        assert!(rsigma_eval::evaluate_rule(&rule, &e).is_none(), "read as false, the rule does not fire");
        assert!(relaxed.fires(&e), "had OriginalFileName been psexec.c it would have");
        assert_eq!(relaxed.missing(&e), ["OriginalFileName"], "the filter's User is not relaxed");
        // Decided by what the event does record: the command line rules it out.
        let other = json!({"Image": "C:\\tmp\\x.exe", "CommandLine": "x.exe /?"});
        assert!(!relaxed.fires(&JsonEvent::borrow(&other)));
        // With every field present the relaxed copy answers as the rule does.
        for (img, ofn, cli) in [
            ("C:\\t\\psexec.exe", "other", " -accepteula"),
            ("C:\\t\\x.exe", "psexec.c", " -accepteula"),
            ("C:\\t\\x.exe", "other", " -accepteula"),
            ("C:\\t\\psexec.exe", "psexec.c", " /?"),
        ] {
            let full = json!({"Image": img, "OriginalFileName": ofn, "CommandLine": cli, "User": "bob"});
            let e = JsonEvent::borrow(&full);
            assert_eq!(relaxed.fires(&e), rsigma_eval::evaluate_rule(&rule, &e).is_some(), "{full}");
            assert!(relaxed.missing(&e).is_empty());
        }
    }

    /// Every SigmaHQ rule over every regression event (native events of their products):
    /// where the event has every field the relaxed copy relaxes, the copy answers as the rule
    /// does; where it lacks some, the copy fires at least where the rule does.
    #[test]
    fn relaxed_copies_answer_as_their_rules_where_nothing_is_missing_on_sigmahq() {
        let data = std::env::var_os("SEKIMORI_SIGMA_DATA").map_or_else(
            || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sigma"),
            std::path::PathBuf::from,
        );
        let (rules, _) = crate::RuleSet::load(&[data.join("rules")]);
        let compiled: Vec<CompiledRule> =
            rules.detections.iter().filter_map(|(_, r)| rsigma_eval::compile_rule(r).ok()).collect();
        let relaxed = of_all(&compiled);
        assert!(relaxed.iter().filter(|r| r.is_some()).count() > 2000, "most rules have a field to relax");
        let mut events = Vec::new();
        for file in crate::log_files(&[data.join("regression_data/rules")]) {
            if file.extension().is_some_and(|e| e == "json") {
                events.extend(crate::read_events(&file).expect("read").events);
            }
        }
        assert!(events.len() > 100);
        let (mut same, mut wider) = (0, 0);
        for e in &events {
            let event = JsonEvent::borrow(e);
            for (rule, r) in compiled.iter().zip(&relaxed) {
                let Some(r) = r else { continue };
                let fires = rsigma_eval::evaluate_rule(rule, &event).is_some();
                if r.missing(&event).is_empty() {
                    assert_eq!(r.fires(&event), fires, "{} on {e}", rule.title);
                    same += 1;
                } else if fires {
                    assert!(r.fires(&event), "{} on {e}", rule.title);
                    wider += 1;
                }
            }
        }
        assert!(same > 1000 && wider > 0, "{same} {wider}");
    }

    #[test]
    fn only_detections_used_positively_are_relaxed() {
        assert_eq!(
            positive_only(&compiled(RENAMED)).into_iter().collect::<BTreeSet<_>>(),
            ["sel_cli", "sel_img"].into_iter().collect()
        );
        let both = compiled(
            "title: t\nid: r2\nlogsource: {category: process_creation}\ndetection:\n  a:\n    Image: x\n  \
             b:\n    User: y\n  condition: a and not b or b and not not a\n",
        );
        assert_eq!(positive_only(&both).into_iter().collect::<Vec<_>>(), ["a"], "b is used both ways");
        let keywords =
            compiled("title: t\nid: r3\nlogsource: {product: linux}\ndetection:\n  k:\n    - evil\n  condition: k\n");
        assert!(Relaxed::of(&keywords).is_none(), "no field to relax");
    }
}
