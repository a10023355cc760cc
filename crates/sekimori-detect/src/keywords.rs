//! A keyword gate in front of a log-source group whose every rule needs a keyword.
//!
//! A Sigma keyword search (`keywords: [...]`, no field) looks for its values in every
//! string of the event. rsigma's candidate index finds such rules by scanning every string
//! with an overlapping automaton, which for SigmaHQ's one Windows rule of that kind
//! (`win_alert_mimikatz_keywords`, product `windows` only, so judged on every Windows event)
//! cost a sixth of the matcher's time. When every condition of every rule in a group
//! requires one of a set of plain keywords (`keywords and not filter`, `1 of keywords*`),
//! no rule of the group can fire on an event none of whose strings holds one of them, so
//! one non-overlapping case-insensitive search (with the automaton's SIMD prefilter) decides
//! whether the group runs at all.
//!
//! Exact, not approximate: keywords are compared as rsigma compiles them (a plain value is
//! "contains", case-insensitive by Unicode lower-casing), over the strings the rules' keyword
//! searches visit ([`crate::event`]). Values with wildcards, numbers, empty strings, negations and
//! field selections give no gate. A differential test (`tests/sigma_regression.rs`) judges
//! every regression event and altered copies with and without the gates.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, MatchKind};
use rsigma_parser::{ConditionExpr, Detection, Detections, Quantifier, SigmaValue};
use serde_json::Value;

use crate::event::{any_keyword_string, lower_ascii};

/// The lower-cased keywords one of which a group's every rule needs.
pub(crate) struct KeywordGate {
    automaton: AhoCorasick,
    /// The shortest keyword's length: an ASCII string shorter holds none.
    shortest: usize,
}

impl std::fmt::Debug for KeywordGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeywordGate").field("keywords", &self.automaton.patterns_len()).finish()
    }
}

impl KeywordGate {
    /// The gate of a group of rules (their detection sections), or `None` if some rule can
    /// fire without one of a set of plain keywords.
    pub(crate) fn of<'a>(rules: impl IntoIterator<Item = &'a Detections>) -> Option<KeywordGate> {
        let mut keywords = Vec::new();
        for rule in rules {
            if rule.conditions.is_empty() {
                return None;
            }
            // A rule fires when any one of its conditions holds.
            for condition in &rule.conditions {
                keywords.extend(required(condition, &rule.named)?);
            }
        }
        // No rule at all leaves no keyword either.
        if keywords.is_empty() || keywords.iter().any(String::is_empty) {
            return None;
        }
        keywords.sort_unstable();
        keywords.dedup();
        let automaton = AhoCorasick::builder().match_kind(MatchKind::LeftmostFirst).build(&keywords).ok()?;
        let shortest = keywords.iter().map(String::len).min().unwrap_or(0);
        Some(KeywordGate { automaton, shortest })
    }

    /// Whether one of the keywords occurs in a string of `event`; when not, no rule of the
    /// group fires on it.
    pub(crate) fn admits(&self, event: &Value) -> bool {
        // Every string lower-cased into one text, NUL between them (no keyword holds a NUL,
        // so none is found across two strings): one search with the automaton's SIMD
        // prefilter instead of one per string (most are short; the call cost dominated).
        TEXT.with_borrow_mut(|text| {
            text.clear();
            lowered_strings(event, self.shortest, text);
            self.automaton.is_match(text.as_slice())
        })
    }
}

/// Appends the strings a keyword search sees in `event` ([`crate::event`]), lower-cased as
/// rsigma lower-cases, each followed by a NUL; ASCII strings shorter than `shortest` (which
/// hold no keyword) are left out.
fn lowered_strings(event: &Value, shortest: usize, text: &mut Vec<u8>) {
    any_keyword_string(event, &mut |s| {
        if s.is_ascii() {
            if s.len() < shortest {
                return false;
            }
            let start = text.len();
            text.extend_from_slice(s.as_bytes());
            lower_ascii(&mut text[start..]);
        } else {
            text.extend_from_slice(s.to_lowercase().as_bytes());
        }
        text.push(0);
        false
    });
}

thread_local! {
    /// The lower-cased text of the event being judged on this thread.
    static TEXT: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Lower-cased plain keywords one of which must occur in the event for `expr` to hold, or
/// `None` if it can hold without.
fn required(expr: &ConditionExpr, named: &HashMap<String, Detection>) -> Option<Vec<String>> {
    match expr {
        ConditionExpr::Identifier(name) => keywords_of(named.get(name)?),
        // One conjunct's requirement is the whole's.
        ConditionExpr::And(parts) => parts.iter().find_map(|p| required(p, named)),
        // Every branch must require one.
        ConditionExpr::Or(parts) => union(parts.iter().map(|p| required(p, named))),
        ConditionExpr::Not(_) => None,
        ConditionExpr::Selector { quantifier, pattern } => {
            let names: Vec<&String> = named.keys().filter(|n| pattern.matches_detection_name(n)).collect();
            match quantifier {
                // At least one of them holds: each must require a keyword.
                Quantifier::Any | Quantifier::Count(1..) if !names.is_empty() => {
                    union(names.iter().map(|n| keywords_of(&named[n.as_str()])))
                }
                // All hold: one requirement is enough.
                Quantifier::All => names.iter().find_map(|n| keywords_of(&named[n.as_str()])),
                _ => None,
            }
        }
    }
}

/// The keywords of a keyword search, if all are plain strings.
fn keywords_of(d: &Detection) -> Option<Vec<String>> {
    match d {
        Detection::Keywords(values) if !values.is_empty() => values
            .iter()
            .map(|v| match v {
                SigmaValue::String(s) => s.as_plain().map(|p| p.to_lowercase()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

fn union(parts: impl Iterator<Item = Option<Vec<String>>>) -> Option<Vec<String>> {
    let mut all = Vec::new();
    for p in parts {
        all.extend(p?);
    }
    Some(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gate(yaml: &str) -> Option<KeywordGate> {
        let collection = rsigma_parser::parse_sigma_yaml(yaml).expect("yaml");
        KeywordGate::of(collection.rules.iter().map(|r| &r.detection))
    }

    /// A rule for Windows with `detection` as its detection section.
    fn rule(detection: &str) -> String {
        format!("title: r\nlogsource: {{product: windows}}\ndetection:\n{detection}")
    }

    const MIMIKATZ: &str = "title: m\nlogsource: {product: windows}\ndetection:\n  keywords:\n    - 'sekurlsa::'\n    - 'Kiwi Legit Printer'\n    - 'ärger'\n  filter:\n    EventID: 15\n  condition: keywords and not filter\n";

    #[test]
    fn a_group_of_keyword_rules_is_gated_case_insensitively() {
        let g = gate(MIMIKATZ).expect("gated");
        let admits = |v: serde_json::Value| g.admits(&v);
        assert!(admits(json!({"CommandLine": "mimikatz SEKURLSA::logonpasswords"})));
        assert!(admits(json!({"a": {"b": ["x", "kiwi legit printer"]}})), "nested strings are searched");
        assert!(admits(json!({"m": "ÄRGER"})), "non-ASCII text is lower-cased as rsigma does");
        assert!(!admits(json!({"CommandLine": "whoami /all", "EventID": 1})));
        assert!(!admits(json!({"n": 12345})), "numbers are not strings to a keyword search");
    }

    #[test]
    fn rules_that_can_fire_without_a_keyword_are_not_gated() {
        for d in [
            "  sel:\n    Image|endswith: cmd.exe\n  condition: sel\n",
            "  keywords: [a]\n  sel:\n    Image: x\n  condition: keywords or sel\n",
            "  keywords: [a]\n  condition: not keywords\n",
            "  keywords: ['mimi*katz']\n  condition: keywords\n",
            "  keywords: [42]\n  condition: keywords\n",
            "  keywords: ['']\n  condition: keywords\n",
            "  keywords_a: [a]\n  sel_b:\n    Image: x\n  condition: 1 of keywords_a or 1 of sel_*\n",
        ] {
            assert!(gate(&rule(d)).is_none(), "{d}");
        }
        // One ungated rule ungates its group.
        assert!(gate(&format!("{MIMIKATZ}---\n{}", rule("  sel:\n    Image: x\n  condition: sel\n"))).is_none());
    }

    #[test]
    fn conjunctions_and_selectors_carry_the_requirement() {
        for d in [
            "  keywords: [a]\n  sel:\n    Image: x\n  condition: sel and keywords\n",
            "  kw_1: [a]\n  kw_2: [b]\n  condition: 1 of kw_*\n",
            "  kw_1: [a]\n  sel:\n    Image: x\n  condition: all of them\n",
            "  k1: [a]\n  k2: [b]\n  condition: k1 or k2\n",
        ] {
            assert!(gate(&rule(d)).is_some(), "{d}");
        }
    }
}
