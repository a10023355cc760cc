//! Verdicts a mapped event cannot settle.
//!
//! A built-in Windows event given Sysmon's field names (Security 4688 as
//! `process_creation`, 5156 as `network_connection`, …; `windows.aliases` in
//! `data/logsources.yml`) lacks fields Sysmon always records (`OriginalFileName`, `Hashes`,
//! `IntegrityLevel`, `User`…). On such an event an item on a missing field is neither true
//! nor false but *unknown*: the event does not say.
//!
//! The engine reads a missing field as false, which is right in a selection (the rule then
//! does not fire, and an unknown selection is no hit either) but not under a `not`: a
//! filter that cannot be read does not exclude, so `selection and not filter` fires
//! whatever the filter would have said. Such a hit is *unchecked*: it carries the fields
//! its filters could not read ([`crate::Hit::unchecked`]), so it is reported as what it is
//! rather than dropped (the selection did match) or passed off as firm.
//!
//! The decision is exact for the engine's two-valued answer: with the missing items read
//! as false the rule fired. If none of them sits under a `not` (counting nested `not`s),
//! the condition can only stay true as they turn true, so it fires whatever they hold: a
//! firm hit. If one does, a value could have excluded the event: unchecked. Global filter
//! rules (tuning) are left out: they are the operator's own exclusions.

use std::collections::{BTreeSet, HashMap};

use rsigma_parser::{ConditionExpr, Detection, Modifier, SigmaRule, SigmaValue};
use serde_json::Value;

/// For each rule id, the fields its condition reads under a `not`.
#[derive(Debug, Default)]
pub(crate) struct NegatedFields(HashMap<String, BTreeSet<String>>);

impl NegatedFields {
    /// The negated fields of each rule in `rules` (rules without any are left out).
    pub(crate) fn of<'a>(rules: impl IntoIterator<Item = &'a SigmaRule>) -> NegatedFields {
        let mut map: HashMap<String, BTreeSet<String>> = HashMap::new();
        for rule in rules {
            let mut fields = BTreeSet::new();
            for c in &rule.detection.conditions {
                negated(c, false, &rule.detection.named, &mut fields);
            }
            if let (Some(id), false) = (&rule.id, fields.is_empty()) {
                // Rules sharing an id (a copy under another folder) share the answer.
                map.entry(id.clone()).or_default().extend(fields);
            }
        }
        NegatedFields(map)
    }

    /// The fields the rule `id` reads under a `not` that `event` lacks: on a mapped event,
    /// the filters that could not be checked (empty: the verdict is firm).
    pub(crate) fn missing(&self, id: &str, event: &Value) -> Vec<String> {
        let Some(fields) = self.0.get(id) else { return Vec::new() };
        fields.iter().filter(|f| event.get(f.as_str()).is_none()).cloned().collect()
    }
}

/// Adds to `out` the fields `expr` reads where it is under an odd number of `not`s
/// (`negative` says whether it is there already).
fn negated(expr: &ConditionExpr, negative: bool, named: &HashMap<String, Detection>, out: &mut BTreeSet<String>) {
    match expr {
        ConditionExpr::Not(inner) => negated(inner, !negative, named, out),
        ConditionExpr::And(parts) | ConditionExpr::Or(parts) => {
            parts.iter().for_each(|p| negated(p, negative, named, out));
        }
        ConditionExpr::Identifier(name) if negative => {
            if let Some(d) = named.get(name) {
                fields(d, out);
            }
        }
        ConditionExpr::Selector { pattern, .. } if negative => {
            // `1 of filter_*`, `all of them`: every detection the pattern names.
            named.iter().filter(|(n, _)| pattern.matches_detection_name(n)).for_each(|(_, d)| fields(d, out));
        }
        ConditionExpr::Identifier(_) | ConditionExpr::Selector { .. } => {}
    }
}

/// The top-level fields a detection reads (a nested path by its first part, which is what
/// an event lacks when it lacks the path).
fn fields(d: &Detection, out: &mut BTreeSet<String>) {
    let mut add = |name: &str| {
        out.insert(name.split('.').next().unwrap_or(name).to_owned());
    };
    match d {
        Detection::AllOf(items) => {
            for item in items {
                if let Some(name) = &item.field.name {
                    add(name);
                }
                if item.field.modifiers.contains(&Modifier::FieldRef) {
                    for v in &item.values {
                        if let SigmaValue::String(s) = v {
                            add(&s.original);
                        }
                    }
                }
            }
        }
        Detection::AnyOf(subs) | Detection::And(subs) => subs.iter().for_each(|s| fields(s, out)),
        Detection::ArrayMatch { field, .. } => add(field),
        Detection::Keywords(_) | Detection::Conditional { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(yaml: &str) -> SigmaRule {
        let mut c = rsigma_parser::parse_sigma_yaml(yaml).expect("parses");
        c.rules.remove(0)
    }

    #[test]
    fn fields_under_an_odd_number_of_nots_are_negated() {
        let r = rule(
            "title: t\nid: r1\nlogsource: {category: process_creation}\ndetection:\n  sel:\n    Image|endswith: '\\net.exe'\n  \
             sel_ofn:\n    OriginalFileName: net.exe\n  filter_a:\n    Hashes|contains: 'IMPHASH=1'\n  filter_b:\n    \
             IntegrityLevel: System\n  twice:\n    User: x\n  condition: (sel or sel_ofn) and not 1 of filter_* and not not twice\n",
        );
        let n = NegatedFields::of([&r]);
        assert_eq!(
            n.0["r1"].iter().map(String::as_str).collect::<Vec<_>>(),
            ["Hashes", "IntegrityLevel"],
            "positive items and a double negation are not negated"
        );
        let mapped = json!({"Image": "C:\\Windows\\System32\\net.exe", "CommandLine": "net user"});
        assert_eq!(n.missing("r1", &mapped), ["Hashes", "IntegrityLevel"], "the filters cannot be read");
        let partly = json!({"Image": "x", "Hashes": "SHA1=…"});
        assert_eq!(n.missing("r1", &partly), ["IntegrityLevel"]);
        let sysmon = json!({"Image": "x", "Hashes": "SHA1=…", "IntegrityLevel": "High"});
        assert!(n.missing("r1", &sysmon).is_empty());
        assert!(n.missing("other", &mapped).is_empty());
    }
}
