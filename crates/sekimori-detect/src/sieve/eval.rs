//! Evaluating a rule the sieve lets through: what `rsigma_eval::evaluate_rule` reports,
//! in one pass instead of three.
//!
//! rsigma judges a rule with a boolean pass, then (when it fires) a second pass that records
//! the selections that held, then a third that evaluates their items again to collect the
//! matched fields. Nine in ten rules the sieve lets through fire, so most of rsigma's time
//! went to passes two and three; and each `N of selection_*` matched its pattern against
//! every detection name on every evaluation. A [`Plan`] resolves the selectors once, and
//! [`Plan::evaluate`] records the selections in the pass that decides them, collecting a
//! selection's fields without evaluating its items again. An item the sieve's scan has
//! decided (its formula over the leaves is true or false) is not given to rsigma's matcher
//! at all: a leaf is exactly rsigma's verdict ([`super::Scan`]), so only items the scan
//! leaves unknown (regular expressions that may match, `cased`, ranges, `null`...) run
//! rsigma's matcher, which lower-cases the value again for every comparison.
//!
//! Exact by construction: the condition, detection and item rules below are rsigma's own
//! (`eval_condition_with_bloom`, `eval_detection_with_bloom`,
//! `eval_detection_item_with_bloom` and `collect_detection_fields` at
//! `MatchDetailLevel::Off`, rsigma-eval 0.23, with no bloom filter as `evaluate_rule` has),
//! every matcher is rsigma's compiled matcher, and selections are visited in the order of the
//! rule's own map, as rsigma visits them. Rules with array scopes (`ArrayMatch`,
//! `Conditional`) get no plan and are left to rsigma. The test below runs every SigmaHQ
//! rule's plan on every regression event against rsigma's `evaluate_rule` on the same
//! compiled rule; `tests/sieve.rs` and the SigmaHQ differential test compare whole results
//! of hunters with and without the sieve.

use rsigma_eval::event::Event;
use rsigma_eval::{
    CompiledDetection, CompiledDetectionItem, CompiledMatcher, CompiledRule, DetectionBody, EvaluationResult,
    FieldMatch, ResultBody, RuleHeader,
};
use rsigma_parser::{ConditionExpr, Quantifier};

use super::build::Builder;
use super::formula::{Formula, State, Truth};

/// A rule's conditions with detections by their position in the rule's map, and each
/// detection's items as formulas over the sieve's leaves.
#[derive(Debug)]
pub(super) struct Plan {
    conditions: Vec<Cond>,
    /// In the rule's map order.
    detections: Vec<Shape>,
}

/// A detection's shape, with each item's formula.
#[derive(Debug)]
enum Shape {
    AllOf(Vec<Formula>),
    AnyOf(Vec<Shape>),
    And(Vec<Shape>),
    Keywords,
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
    /// The plan of `rule` (number `r` of the sieve's, whose builder `b` makes the items'
    /// formulas), or `None` when it has a detection shape left to rsigma.
    pub(super) fn of(rule: &CompiledRule, r: u32, b: &mut Builder) -> Option<Plan> {
        if !rule.detections.values().all(plain) {
            return None;
        }
        let names: Vec<&String> = rule.detections.keys().collect();
        let conditions = rule.conditions.iter().map(|c| cond(c, &names)).collect();
        let detections = rule.detections.values().map(|d| shape(d, r, b)).collect();
        Some(Plan { conditions, detections })
    }

    /// What `rsigma_eval::evaluate_rule(rule, event)` returns (`rule` is the one the plan
    /// was made of; `states` and `hits` are the sieve's scan of `event`).
    pub(super) fn evaluate(
        &self,
        rule: &CompiledRule,
        event: &impl Event,
        states: &[State],
        hits: &[u64],
    ) -> Option<EvaluationResult> {
        // The map's order, as the plan saw it (the rule is not changed after compiling).
        let detections: Vec<(&String, &CompiledDetection)> = rule.detections.iter().collect();
        let mut pass = Pass {
            detections: &detections,
            shapes: &self.detections,
            scan: Scanned { event, states, hits },
            matched: Vec::new(),
            fields: Vec::new(),
        };
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

fn shape(d: &CompiledDetection, r: u32, b: &mut Builder) -> Shape {
    match d {
        CompiledDetection::AllOf(items) => Shape::AllOf(items.iter().map(|i| b.item(r, i)).collect()),
        CompiledDetection::AnyOf(ds) => Shape::AnyOf(ds.iter().map(|d| shape(d, r, b)).collect()),
        CompiledDetection::And(ds) => Shape::And(ds.iter().map(|d| shape(d, r, b)).collect()),
        _ => Shape::Keywords,
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

/// The event and what the sieve's scan found in it.
struct Scanned<'e, E> {
    event: &'e E,
    states: &'e [State],
    hits: &'e [u64],
}

/// One evaluation of one condition: the selections that held, in the order rsigma records
/// them, and their fields.
struct Pass<'d, 'e, E> {
    detections: &'d [(&'d String, &'d CompiledDetection)],
    shapes: &'d [Shape],
    scan: Scanned<'e, E>,
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
        let (d, s) = (self.detections[i as usize].1, &self.shapes[i as usize]);
        let mark = self.fields.len();
        if !self.scan.detection(d, s, Some(&mut self.fields)) {
            self.fields.truncate(mark);
            return false;
        }
        self.matched.push(i);
        true
    }
}

impl<E: Event> Scanned<'_, E> {
    /// `eval_detection_with_bloom` (`s` is `d`'s shape); when `fields` is given and the
    /// detection holds, its fields as `collect_detection_fields` collects them are appended
    /// (partial ones are left for the caller to drop when it does not hold).
    fn detection(&self, d: &CompiledDetection, s: &Shape, mut fields: Option<&mut Vec<FieldMatch>>) -> bool {
        match (d, s) {
            (CompiledDetection::AllOf(items), Shape::AllOf(formulas)) => {
                for (item, formula) in items.iter().zip(formulas) {
                    if !self.item(item, formula, fields.as_deref_mut()) {
                        return false;
                    }
                }
                true
            }
            // Collecting evaluates every sub-detection and collects each one that holds;
            // deciding stops at the first that holds.
            (CompiledDetection::AnyOf(ds), Shape::AnyOf(shapes)) => match fields {
                Some(out) => {
                    let mut any = false;
                    for (d, s) in ds.iter().zip(shapes) {
                        let mark = out.len();
                        if self.detection(d, s, Some(out)) {
                            any = true;
                        } else {
                            out.truncate(mark);
                        }
                    }
                    any
                }
                None => ds.iter().zip(shapes).any(|(d, s)| self.detection(d, s, None)),
            },
            // Every part must hold, and every part is collected: a part that fails decides.
            (CompiledDetection::And(ds), Shape::And(shapes)) => {
                for (d, s) in ds.iter().zip(shapes) {
                    if !self.detection(d, s, fields.as_deref_mut()) {
                        return false;
                    }
                }
                true
            }
            // Keyword searches report no fields at `MatchDetailLevel::Off`.
            (CompiledDetection::Keywords(matcher), _) => matcher.matches_keyword(self.event),
            // Not planned ([`plain`]); shapes are made from the same detections.
            _ => false,
        }
    }

    /// `eval_detection_item_with_bloom` without a bloom filter, decided by the item's
    /// formula where the scan decides it; when it holds and `fields` is given, the item's
    /// field as `collect_detection_fields` reports it.
    fn item(&self, item: &CompiledDetectionItem, formula: &Formula, fields: Option<&mut Vec<FieldMatch>>) -> bool {
        let event = self.event;
        let Some(name) = &item.field else {
            return match item.exists {
                Some(expect) => !expect,
                // A keyword item: reported only above `MatchDetailLevel::Off`.
                None => item.matcher.matches_keyword(event),
            };
        };
        let decided = formula.eval(self.states, self.hits);
        if let Some(expect) = item.exists {
            let value = event.get_field(name);
            let holds = match decided {
                Truth::True => true,
                Truth::False => false,
                Truth::Unknown => value.as_ref().is_some_and(|v| !v.is_null()) == expect,
            };
            // The collection pass asks the item's matcher, not its `exists` flag.
            if let (true, Some(out), Some(v)) = (holds, fields, &value) {
                if item.matcher.matches(v, event) {
                    out.push(FieldMatch::new(name.as_str(), v.to_json()));
                }
            }
            return holds;
        }
        if decided == Truth::False {
            return false;
        }
        match event.get_field(name) {
            Some(v) => {
                // Decided true, or unknown and rsigma's matcher says so.
                let holds = decided == Truth::True || item.matcher.matches(&v, event);
                if let (true, Some(out)) = (holds, fields) {
                    out.push(FieldMatch::new(name.as_str(), v.to_json()));
                }
                holds
            }
            // An absent field (never decided true) is reported only above
            // `MatchDetailLevel::Off`.
            None => matches!(item.matcher, CompiledMatcher::Null),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use rsigma_eval::event::JsonEvent;
    use serde_json::Value;

    use super::*;
    use crate::event::{FieldIndex, SigmaEvent};
    use crate::{log_files, read_events, RuleSet};

    /// Every SigmaHQ rule with a plan, over every regression event and a copy with each text
    /// upper-cased, whether the sieve would look at the rule or not: the plan's result (items
    /// decided by the scan where it decides them) is rsigma's `evaluate_rule`'s, serialised
    /// in full (the selections in rsigma's order, repeats included, and the fields matched).
    #[test]
    fn plans_give_what_rsigma_gives_on_sigmahq() {
        let data = std::env::var_os("SEKIMORI_SIGMA_DATA").map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sigma"),
            std::path::PathBuf::from,
        );
        let (rules, _) = RuleSet::load(&[data.join("rules"), data.join("rules-emerging-threats")]);
        let compiled: Vec<CompiledRule> =
            rules.detections.iter().filter_map(|(_, r)| rsigma_eval::compile_rule(r).ok()).collect();
        // One sieve over every rule, whatever its log source: each plan is evaluated on
        // every event, candidate or not.
        let mut index = FieldIndex::default();
        let sieve = super::super::Sieve::new(&compiled, &mut index).expect("sieve");
        let mut events = Vec::new();
        for file in log_files(&[data.join("regression_data")]) {
            if file.extension().is_some_and(|e| e == "json") {
                events.extend(read_events(&file).expect("read").events);
            }
        }
        // Every text upper-cased: the same rules should fire, with the new values.
        let shouted: Vec<Value> = events
            .iter()
            .cloned()
            .map(|mut e| {
                let texts = e.as_object_mut().into_iter().flat_map(|m| m.values_mut());
                for v in texts.filter(|v| v.is_string()) {
                    *v = v.as_str().unwrap_or_default().to_uppercase().into();
                }
                e
            })
            .collect();
        let (mut planned, mut fired, mut with_plan) = (0, 0, 0);
        for e in events.iter().chain(&shouted) {
            let event = SigmaEvent::indexed(e, &index);
            let ours = sieve.every_plan(&compiled, &event);
            with_plan = ours.iter().filter(|p| p.is_some()).count();
            for (rule, ours) in compiled.iter().zip(ours) {
                let Some(ours) = ours else { continue };
                planned += 1;
                let ours = ours.map(|r| serde_json::to_value(r).expect("json"));
                let theirs = rsigma_eval::evaluate_rule(rule, &JsonEvent::borrow(e))
                    .map(|r| serde_json::to_value(r).expect("json"));
                fired += usize::from(theirs.is_some());
                assert_eq!(ours, theirs, "{} on {e}", rule.title);
            }
        }
        assert!(with_plan > 3000, "nearly every rule has a plan ({with_plan})");
        assert!(fired > 500, "{fired} of {planned} evaluations fired");
    }
}
