//! Translating rsigma's compiled rules into the sieve's formulas, collecting every field's
//! literals on the way.

use std::collections::HashMap;

use rsigma_eval::{CompiledDetection, CompiledDetectionItem, CompiledMatcher, CompiledRule};
use rsigma_parser::{ConditionExpr, Quantifier};

use super::formula::{combine, Anchor, Formula, Shape, Truth};

/// One field the group's rules read, as the builder collects it.
#[derive(Default)]
pub(super) struct FieldDraft {
    pub(super) name: String,
    /// The rules with an item on it.
    pub(super) rules: Vec<u32>,
    /// Its literals, lower-cased, and their numbers.
    pub(super) patterns: Vec<Vec<u8>>,
    numbers: HashMap<Vec<u8>, usize>,
    /// For each literal, by [`Anchor`]: its leaf (`u32::MAX`: none).
    pub(super) uses: Vec<[u32; 4]>,
    /// Numbers it is compared with (`EventID: 4688`), by their bits, to their leaves.
    pub(super) numbers_eq: HashMap<u64, u32>,
}

/// Collects fields and literals while rules are translated.
#[derive(Default)]
pub(super) struct Builder {
    pub(super) fields: Vec<FieldDraft>,
    index: HashMap<String, u32>,
    /// Each leaf's anchor, length and use count, for choosing triggers.
    pub(super) leaf_shape: Vec<Shape>,
}

impl Builder {
    fn field(&mut self, name: &str, rule: u32) -> u32 {
        let i = *self.index.entry(name.to_owned()).or_insert_with(|| {
            self.fields.push(FieldDraft { name: name.to_owned(), ..FieldDraft::default() });
            (self.fields.len() - 1) as u32
        });
        let rules = &mut self.fields[i as usize].rules;
        if rules.last() != Some(&rule) {
            rules.push(rule);
        }
        i
    }

    fn leaf(&mut self, field: u32, text: &str, anchor: Anchor) -> Formula {
        if !text.is_ascii() {
            return Formula::Wide;
        }
        if text.is_empty() {
            // Every text starts with, ends with and contains the empty literal.
            return Formula::Const(if anchor == Anchor::Whole { Truth::Unknown } else { Truth::True });
        }
        Formula::Leaf(self.literal(field, text.as_bytes(), anchor))
    }

    /// A regular expression on `field`: the literals one of which occurs wherever it
    /// matches, when the expression has such a finite set ([`required_literals`]).
    fn regex(&mut self, field: u32, pattern: &str) -> Formula {
        match required_literals(pattern) {
            Some(literals) => {
                let mut leaves: Vec<u32> = literals.iter().map(|l| self.literal(field, l, Anchor::Anywhere)).collect();
                leaves.sort_unstable();
                leaves.dedup();
                Formula::Maybe(leaves.into_boxed_slice())
            }
            None => Formula::Const(Truth::Unknown),
        }
    }

    /// `field` equals the number `n` (rsigma: the value, or a text parsed as a number, is
    /// within `f64::EPSILON` of `n`). For `|n| >= 2` that is equality (numbers that close
    /// are the same there), so the leaf is found by the value's bits; otherwise unknown.
    fn number(&mut self, field: u32, n: f64) -> Formula {
        if !n.is_finite() || n.abs() < 2.0 {
            return Formula::Const(Truth::Unknown);
        }
        let next = self.leaf_shape.len() as u32;
        let leaf = *self.fields[field as usize].numbers_eq.entry(n.to_bits()).or_insert(next);
        if leaf == next {
            self.leaf_shape.push(Shape { anchor: Anchor::Whole, len: 8, users: 0 });
        }
        self.leaf_shape[leaf as usize].users += 1;
        Formula::Leaf(leaf)
    }

    /// The leaf of a (non-empty) literal of `field`, lower-cased, sitting as `anchor`
    /// requires: one per field, literal and anchor, however many rules use it.
    fn literal(&mut self, field: u32, text: &[u8], anchor: Anchor) -> u32 {
        let text = text.to_ascii_lowercase();
        let len = text.len();
        let f = &mut self.fields[field as usize];
        let p = *f.numbers.entry(text.clone()).or_insert_with(|| {
            f.patterns.push(text);
            f.uses.push([u32::MAX; 4]);
            f.patterns.len() - 1
        });
        let leaf = &mut f.uses[p][anchor as usize];
        if *leaf == u32::MAX {
            *leaf = self.leaf_shape.len() as u32;
            self.leaf_shape.push(Shape { anchor, len, users: 0 });
        }
        self.leaf_shape[*leaf as usize].users += 1;
        *leaf
    }

    pub(super) fn rule(&mut self, r: u32, rule: &CompiledRule) -> Formula {
        combine(rule.conditions.iter().map(|c| self.condition(r, c, rule)).collect(), false)
    }

    fn condition(&mut self, r: u32, c: &ConditionExpr, rule: &CompiledRule) -> Formula {
        match c {
            ConditionExpr::And(parts) => combine(parts.iter().map(|p| self.condition(r, p, rule)).collect(), true),
            ConditionExpr::Or(parts) => combine(parts.iter().map(|p| self.condition(r, p, rule)).collect(), false),
            ConditionExpr::Not(inner) => Formula::Not(Box::new(self.condition(r, inner, rule))),
            ConditionExpr::Identifier(name) => match rule.detections.get(name) {
                Some(d) => self.detection(r, d),
                None => Formula::Const(Truth::False),
            },
            ConditionExpr::Selector { quantifier, pattern } => {
                // The same members, in the same (map) order, as rsigma's evaluation.
                let parts: Vec<Formula> = rule
                    .detections
                    .iter()
                    .filter(|(name, _)| pattern.matches_detection_name(name))
                    .map(|(_, d)| self.detection(r, d))
                    .collect();
                match quantifier {
                    Quantifier::Any => combine(parts, false),
                    Quantifier::All => combine(parts, true),
                    Quantifier::Count(n) => Formula::AtLeast(*n, parts),
                }
            }
        }
    }

    fn detection(&mut self, r: u32, d: &CompiledDetection) -> Formula {
        match d {
            CompiledDetection::AllOf(items) => combine(items.iter().map(|i| self.item(r, i)).collect(), true),
            CompiledDetection::AnyOf(ds) => combine(ds.iter().map(|d| self.detection(r, d)).collect(), false),
            CompiledDetection::And(ds) => combine(ds.iter().map(|d| self.detection(r, d)).collect(), true),
            // Keyword searches, array scopes: rsigma decides.
            _ => Formula::Const(Truth::Unknown),
        }
    }

    fn item(&mut self, r: u32, item: &CompiledDetectionItem) -> Formula {
        let Some(name) = &item.field else {
            return Formula::Const(Truth::Unknown);
        };
        if let Some(expect) = item.exists {
            let field = self.field(name, r);
            return Formula::Exists { field, expect };
        }
        // An absent field matches only a top-level `null`, which the sieve leaves to rsigma.
        if matches!(item.matcher, CompiledMatcher::Null) {
            return Formula::Const(Truth::Unknown);
        }
        let field = self.field(name, r);
        let body = self.matcher(field, &item.matcher);
        Formula::Item { field, body: Box::new(body) }
    }

    /// `m` over a field whose value is ASCII text.
    fn matcher(&mut self, field: u32, m: &CompiledMatcher) -> Formula {
        match m {
            CompiledMatcher::Contains { value, case_insensitive: true } => self.leaf(field, value, Anchor::Anywhere),
            CompiledMatcher::StartsWith { value, case_insensitive: true } => self.leaf(field, value, Anchor::Start),
            CompiledMatcher::EndsWith { value, case_insensitive: true } => self.leaf(field, value, Anchor::End),
            CompiledMatcher::Exact { value, case_insensitive: true } => self.leaf(field, value, Anchor::Whole),
            CompiledMatcher::AhoCorasickSet { case_insensitive: true, needles, .. } => {
                combine(needles.iter().map(|n| self.leaf(field, n, Anchor::Anywhere)).collect(), false)
            }
            CompiledMatcher::CaseInsensitiveGroup { children, mode } => {
                let parts = children.iter().map(|c| self.matcher(field, c)).collect();
                combine(parts, *mode == rsigma_eval::matcher::GroupMode::All)
            }
            CompiledMatcher::AnyOf(ms) => combine(ms.iter().map(|m| self.matcher(field, m)).collect(), false),
            CompiledMatcher::AllOf(ms) => combine(ms.iter().map(|m| self.matcher(field, m)).collect(), true),
            CompiledMatcher::Not(inner) => Formula::Not(Box::new(self.matcher(field, inner))),
            CompiledMatcher::Regex(re) => self.regex(field, re.as_str()),
            CompiledMatcher::NumericEq(n) => self.number(field, *n),
            CompiledMatcher::RegexSetMatch { set, mode } => {
                let parts = set.patterns().iter().map(|p| self.regex(field, p)).collect();
                combine(parts, *mode == rsigma_eval::matcher::GroupMode::All)
            }
            _ => Formula::Const(Truth::Unknown),
        }
    }
}

/// Literals of which one occurs in any text `pattern` matches (with ASCII letters
/// lower-cased, as the field is scanned): every match begins with one of its possible
/// prefixes, or else ends with one of its possible suffixes, when that set is finite and
/// has no empty member. `None` when neither is, or the pattern does not parse.
///
/// Lower-casing keeps this sound: whether rsigma matches the field's text or its ASCII
/// lower-casing, a match's prefix occurs in that text, so its lower-casing occurs in the
/// lower-cased field.
pub(super) fn required_literals(pattern: &str) -> Option<Vec<Vec<u8>>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = regex_syntax::ParserBuilder::new().build().parse(pattern).ok()?;
    for kind in [ExtractKind::Prefix, ExtractKind::Suffix] {
        let seq = Extractor::new().kind(kind).extract(&hir);
        if let Some(literals) = seq.literals() {
            if !literals.is_empty() && literals.iter().all(|l| !l.as_bytes().is_empty()) {
                return Some(literals.iter().map(|l| l.as_bytes().to_vec()).collect());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::required_literals;

    fn literals(pattern: &str) -> Option<Vec<String>> {
        required_literals(pattern).map(|ls| {
            let mut out: Vec<String> = ls.iter().map(|l| String::from_utf8_lossy(l).to_ascii_lowercase()).collect();
            out.sort();
            out.dedup();
            out
        })
    }

    #[test]
    fn a_regular_expression_needs_one_of_its_prefixes_or_suffixes() {
        assert_eq!(literals("mimi|katz"), Some(vec!["katz".into(), "mimi".into()]));
        assert_eq!(literals(r"\\temp\\[a-z]+\.exe"), Some(vec!["\\temp\\".into()]));
        // No literal prefix, but every match ends with `.ps1`.
        assert_eq!(literals(r"[a-z0-9]+\.ps1"), Some(vec![".ps1".into()]));
        // Case-insensitive: the case variants, lower-cased to one (and the Kelvin sign's).
        assert_eq!(literals("(?i)invoke"), Some(vec!["invoke".into(), "invo\u{212A}e".into()]));
    }

    #[test]
    fn an_expression_without_such_literals_has_none() {
        assert_eq!(literals(r"^\d{3}-\w+$"), None);
        assert_eq!(literals(r".*"), None);
        assert_eq!(literals(r"a?"), None, "may match the empty text");
        assert_eq!(literals(r"(unclosed"), None);
    }
}
