//! Evaluating a rule the sieve lets through: what `rsigma_eval::evaluate_rule` reports,
//! in one pass instead of three.
//!
//! rsigma judges a rule with a boolean pass, then (when it fires) a second pass that records
//! the selections that held, then a third that evaluates their items again to collect the
//! matched fields. Nine in ten rules the sieve lets through fire, so most of rsigma's time
//! went to passes two and three; and each `N of selection_*` matched its pattern against
//! every detection name on every evaluation. A [`Plan`] resolves the selectors once, and
//! [`Plan::evaluate`] records the selections in the pass that decides them, collecting a
//! selection's fields without evaluating its items again.
//!
//! Exact by construction: the condition, detection and item rules below are rsigma's own
//! (`eval_condition_with_bloom`, `eval_detection_with_bloom`,
//! `eval_detection_item_with_bloom` and `collect_detection_fields` at
//! `MatchDetailLevel::Off`, rsigma-eval 0.23, with no bloom filter as `evaluate_rule` has),
//! every matcher is rsigma's compiled matcher, and selections are visited in the order of the
//! rule's own map, as rsigma visits them. Rules with array scopes (`ArrayMatch`,
//! `Conditional`) get no plan and are left to rsigma. `tests/sieve.rs` and the SigmaHQ
//! differential test compare whole results with rsigma's.

use rsigma_eval::event::Event;
use rsigma_eval::{
    CompiledDetection, CompiledDetectionItem, CompiledMatcher, CompiledRule, DetectionBody, EvaluationResult,
    FieldMatch, ResultBody, RuleHeader,
};
use rsigma_parser::{ConditionExpr, Quantifier};

/// A rule's conditions with detections by their position in the rule's map.
#[derive(Debug)]
pub(super) struct Plan {
    conditions: Vec<Cond>,
}

#[derive(Debug)]
enum Cond {
    /// The detection at this position.
    Detection(u32),
    /// A name the rule does not define: false, as in rsigma.
    Undefined,
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    /// `1 of`/`all of`/`N of` over these detections, in map order.
    Selector(Quantifier, Vec<u32>),
}

impl Plan {
    /// The plan of `rule`, or `None` when it has a detection shape left to rsigma.
    pub(super) fn of(rule: &CompiledRule) -> Option<Plan> {
        if !rule.detections.values().all(plain) {
            return None;
        }
        let names: Vec<&String> = rule.detections.keys().collect();
        let conditions = rule.conditions.iter().map(|c| cond(c, &names)).collect();
        Some(Plan { conditions })
    }

    /// What `rsigma_eval::evaluate_rule(rule, event)` returns (`rule` is the one the plan
    /// was made of).
    pub(super) fn evaluate(&self, rule: &CompiledRule, event: &impl Event) -> Option<EvaluationResult> {
        // The map's order, as the plan saw it (the rule is not changed after compiling).
        let detections: Vec<(&String, &CompiledDetection)> = rule.detections.iter().collect();
        let mut pass = Pass { detections: &detections, event, matched: Vec::new(), fields: Vec::new() };
        for condition in &self.conditions {
            pass.matched.clear();
            pass.fields.clear();
            if pass.condition(condition) {
                let Pass { matched, fields, .. } = pass;
                return Some(EvaluationResult {
                    header: RuleHeader {
                        rule_title: rule.title.clone(),
                        rule_id: rule.id.clone(),
                        level: rule.level,
                        tags: rule.tags.clone(),
                        custom_attributes: rule.custom_attributes.clone(),
                        enrichments: None,
                    },
                    body: ResultBody::Detection(DetectionBody {
                        matched_selections: matched.iter().map(|&i| detections[i as usize].0.clone()).collect(),
                        matched_fields: fields,
                        event: rule.include_event.then(|| event.to_json()),
                    }),
                });
            }
        }
        None
    }
}

/// A detection the plan evaluates itself (no array scopes anywhere in it).
fn plain(d: &CompiledDetection) -> bool {
    match d {
        CompiledDetection::AllOf(_) | CompiledDetection::Keywords(_) => true,
        CompiledDetection::AnyOf(ds) | CompiledDetection::And(ds) => ds.iter().all(plain),
        _ => false,
    }
}

fn cond(c: &ConditionExpr, names: &[&String]) -> Cond {
    match c {
        ConditionExpr::Identifier(name) => match names.iter().position(|n| *n == name) {
            Some(i) => Cond::Detection(i as u32),
            None => Cond::Undefined,
        },
        ConditionExpr::And(parts) => Cond::And(parts.iter().map(|p| cond(p, names)).collect()),
        ConditionExpr::Or(parts) => Cond::Or(parts.iter().map(|p| cond(p, names)).collect()),
        ConditionExpr::Not(inner) => Cond::Not(Box::new(cond(inner, names))),
        ConditionExpr::Selector { quantifier, pattern } => Cond::Selector(
            quantifier.clone(),
            (0..names.len() as u32).filter(|&i| pattern.matches_detection_name(names[i as usize])).collect(),
        ),
    }
}

/// One evaluation of one condition: the selections that held, in the order rsigma records
/// them, and their fields.
struct Pass<'d, 'e, E> {
    detections: &'d [(&'d String, &'d CompiledDetection)],
    event: &'e E,
    matched: Vec<u32>,
    fields: Vec<FieldMatch>,
}

impl<E: Event> Pass<'_, '_, E> {
    /// `eval_condition_with_bloom`: `and`/`or` stop at the first part that decides, a
    /// selector evaluates every member.
    fn condition(&mut self, c: &Cond) -> bool {
        match c {
            Cond::Detection(i) => self.selection(*i),
            Cond::Undefined => false,
            Cond::And(parts) => parts.iter().all(|p| self.condition(p)),
            Cond::Or(parts) => parts.iter().any(|p| self.condition(p)),
            Cond::Not(inner) => !self.condition(inner),
            Cond::Selector(quantifier, members) => {
                let mut count = 0u64;
                for &i in members {
                    if self.selection(i) {
                        count += 1;
                    }
                }
                match quantifier {
                    Quantifier::Any => count >= 1,
                    Quantifier::All => count == members.len() as u64,
                    Quantifier::Count(n) => count >= *n,
                }
            }
        }
    }

    /// A named detection: when it holds, it is recorded and its fields collected
    /// (`collect_field_matches` runs over every recorded name, repeats included).
    fn selection(&mut self, i: u32) -> bool {
        let d = self.detections[i as usize].1;
        let mark = self.fields.len();
        if !detection(d, self.event, Some(&mut self.fields)) {
            self.fields.truncate(mark);
            return false;
        }
        self.matched.push(i);
        true
    }
}

/// `eval_detection_with_bloom`; when `fields` is given and the detection holds, its fields
/// as `collect_detection_fields` collects them are appended (partial ones are left for the
/// caller to drop when it does not hold).
fn detection(d: &CompiledDetection, event: &impl Event, mut fields: Option<&mut Vec<FieldMatch>>) -> bool {
    match d {
        CompiledDetection::AllOf(items) => {
            for item in items {
                if !self::item(item, event, fields.as_deref_mut()) {
                    return false;
                }
            }
            true
        }
        // Collecting evaluates every sub-detection and collects each one that holds;
        // deciding stops at the first that holds.
        CompiledDetection::AnyOf(ds) => match fields {
            Some(out) => {
                let mut any = false;
                for d in ds {
                    let mark = out.len();
                    if detection(d, event, Some(out)) {
                        any = true;
                    } else {
                        out.truncate(mark);
                    }
                }
                any
            }
            None => ds.iter().any(|d| detection(d, event, None)),
        },
        // Every part must hold, and every part is collected: a part that fails decides.
        CompiledDetection::And(ds) => {
            for d in ds {
                if !detection(d, event, fields.as_deref_mut()) {
                    return false;
                }
            }
            true
        }
        // Keyword searches report no fields at `MatchDetailLevel::Off`.
        CompiledDetection::Keywords(matcher) => matcher.matches_keyword(event),
        // Not planned ([`plain`]).
        _ => false,
    }
}

/// `eval_detection_item_with_bloom` without a bloom filter; when it holds and `fields` is
/// given, the item's field as `collect_detection_fields` reports it.
fn item(item: &CompiledDetectionItem, event: &impl Event, fields: Option<&mut Vec<FieldMatch>>) -> bool {
    let Some(name) = &item.field else {
        return match item.exists {
            Some(expect) => !expect,
            // A keyword item: reported only above `MatchDetailLevel::Off`.
            None => item.matcher.matches_keyword(event),
        };
    };
    let value = event.get_field(name);
    if let Some(expect) = item.exists {
        let holds = value.as_ref().is_some_and(|v| !v.is_null()) == expect;
        // The collection pass asks the item's matcher, not its `exists` flag.
        if let (true, Some(out), Some(v)) = (holds, fields, &value) {
            if item.matcher.matches(v, event) {
                out.push(FieldMatch::new(name.as_str(), v.to_json()));
            }
        }
        return holds;
    }
    match value {
        Some(v) => {
            let holds = item.matcher.matches(&v, event);
            if let (true, Some(out)) = (holds, fields) {
                out.push(FieldMatch::new(name.as_str(), v.to_json()));
            }
            holds
        }
        // An absent field is reported only above `MatchDetailLevel::Off`.
        None => matches!(item.matcher, CompiledMatcher::Null),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use rsigma_eval::event::JsonEvent;
    use serde_json::Value;

    use super::*;
    use crate::{log_files, read_events, RuleSet};

    /// Every SigmaHQ rule with a plan, over every regression event and a copy with each text
    /// changed: the plan's result is rsigma's `evaluate_rule`'s, serialised in full (the
    /// selections in rsigma's order, repeats included, and the fields matched).
    #[test]
    fn plans_give_what_rsigma_gives_on_sigmahq() {
        let data = std::env::var_os("SEKIMORI_SIGMA_DATA").map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sigma"),
            std::path::PathBuf::from,
        );
        let (rules, _) = RuleSet::load(&[data.join("rules"), data.join("rules-emerging-threats")]);
        let compiled: Vec<CompiledRule> =
            rules.detections.iter().filter_map(|(_, r)| rsigma_eval::compile_rule(r).ok()).collect();
        let plans: Vec<Option<Plan>> = compiled.iter().map(Plan::of).collect();
        let mut events = Vec::new();
        for file in log_files(&[data.join("regression_data")]) {
            if file.extension().is_some_and(|e| e == "json") {
                events.extend(read_events(&file).expect("read").events);
            }
        }
        let changed: Vec<Value> = events
            .iter()
            .map(|e| {
                let mut e = e.clone();
                if let Some(m) = e.as_object_mut() {
                    for v in m.values_mut() {
                        if let Some(s) = v.as_str() {
                            *v = format!("{s} x").into();
                        }
                    }
                }
                e
            })
            .collect();
        let (mut planned, mut fired) = (0, 0);
        for e in events.iter().chain(&changed) {
            let event = JsonEvent::borrow(e);
            for (rule, plan) in compiled.iter().zip(&plans) {
                let Some(plan) = plan else { continue };
                planned += 1;
                let ours = plan.evaluate(rule, &event).map(|r| serde_json::to_value(r).expect("json"));
                let theirs = rsigma_eval::evaluate_rule(rule, &event).map(|r| serde_json::to_value(r).expect("json"));
                fired += usize::from(theirs.is_some());
                assert_eq!(ours, theirs, "{} on {e}", rule.title);
            }
        }
        assert!(plans.iter().filter(|p| p.is_some()).count() > 3000, "nearly every rule has a plan");
        assert!(fired > 500, "{fired} of {planned} evaluations fired");
    }
}
