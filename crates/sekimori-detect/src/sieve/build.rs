//! Translating rsigma's compiled rules into the sieve's formulas, collecting every field's
//! literals on the way.

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use rsigma_eval::{CompiledDetection, CompiledDetectionItem, CompiledMatcher, CompiledRule};
use rsigma_parser::{ConditionExpr, Quantifier};

use super::formula::{combine, literal_rarity, Anchor, Formula, Shape, Truth};

/// One field the group's rules read, as the builder collects it.
#[derive(Default)]
pub(super) struct FieldDraft {
    pub(super) name: String,
    /// The rules with an item on it.
    pub(super) rules: Vec<u32>,
    /// Its literals, lower-cased, and their numbers.
    pub(super) patterns: Vec<Vec<u8>>,
    numbers: FxHashMap<Vec<u8>, usize>,
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
        let sets = required_literals(pattern);
        if sets.is_empty() {
            return Formula::Const(Truth::Unknown);
        }
        let parts = sets
            .iter()
            .map(|set| {
                let mut leaves: Vec<u32> = set.iter().map(|l| self.literal(field, l, Anchor::Anywhere)).collect();
                leaves.sort_unstable();
                leaves.dedup();
                Formula::Maybe(leaves.into_boxed_slice())
            })
            .collect();
        combine(parts, true)
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
        // Most literals are lower-case already (rsigma lowers case-insensitive values).
        let text: std::borrow::Cow<'_, [u8]> = if text.iter().any(u8::is_ascii_uppercase) {
            std::borrow::Cow::Owned(text.to_ascii_lowercase())
        } else {
            std::borrow::Cow::Borrowed(text)
        };
        let len = text.len();
        let f = &mut self.fields[field as usize];
        let p = match f.numbers.get(text.as_ref()) {
            Some(&p) => p,
            None => {
                let text = text.into_owned();
                f.numbers.insert(text.clone(), f.patterns.len());
                f.patterns.push(text);
                f.uses.push([u32::MAX; 4]);
                f.patterns.len() - 1
            }
        };
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

    /// Detection item `item` of rule `r` as a formula over the leaves.
    pub(super) fn item(&mut self, r: u32, item: &CompiledDetectionItem) -> Formula {
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

/// What any text `pattern` matches contains (with ASCII letters lower-cased, as the field
/// is scanned): sets of literals, each of which has a member in every match. Empty when
/// nothing is known (or the pattern does not parse). At most [`MAX_SETS`], the rarest.
///
/// A set comes from [`Extractor`]'s possible prefixes of a sequence's tail: every match
/// of `a b c` holds a match of `b c`, which begins with one of `b c`'s prefixes. Inside a
/// group the same holds for the group's own sequence (if it must occur at least once), and
/// an alternative's set is the union of one set from each branch.
///
/// Lower-casing keeps this sound: whether rsigma matches the field's text or its ASCII
/// lower-casing, the literal occurs in that text, so its lower-casing occurs in the
/// lower-cased field.
///
/// [`Extractor`]: regex_syntax::hir::literal::Extractor
pub(super) fn required_literals(pattern: &str) -> Vec<Vec<Vec<u8>>> {
    let Ok(hir) = regex_syntax::ParserBuilder::new().build().parse(pattern) else {
        return Vec::new();
    };
    let mut sets = required(&hir);
    for set in &mut sets {
        for l in set.iter_mut() {
            l.make_ascii_lowercase();
        }
        set.sort();
        set.dedup();
    }
    sets.sort_by(|a, b| set_rarity(a).total_cmp(&set_rarity(b)));
    sets.dedup();
    sets.truncate(MAX_SETS);
    sets
}

/// How many literal sets one regular expression contributes.
const MAX_SETS: usize = 3;

fn set_rarity(set: &[Vec<u8>]) -> f64 {
    set.iter().map(|l| literal_rarity(l.len())).sum()
}

/// The possible prefixes of any match of `hir`, if a finite set without the empty text.
fn prefixes(hir: &regex_syntax::hir::Hir) -> Option<Vec<Vec<u8>>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let seq = Extractor::new().kind(ExtractKind::Prefix).extract(hir);
    let literals = seq.literals()?;
    (!literals.is_empty() && literals.iter().all(|l| !l.as_bytes().is_empty()))
        .then(|| literals.iter().map(|l| l.as_bytes().to_vec()).collect())
}

fn required(hir: &regex_syntax::hir::Hir) -> Vec<Vec<Vec<u8>>> {
    use regex_syntax::hir::{Hir, HirKind};
    match hir.kind() {
        HirKind::Concat(parts) => {
            // Tails starting where a run of plain characters starts (a tail starting
            // inside one would give a set overlapping the run's own).
            let plain = |h: &Hir| matches!(h.kind(), HirKind::Literal(_) | HirKind::Class(_));
            let mut sets: Vec<Vec<Vec<u8>>> = (0..parts.len())
                .filter(|&i| i == 0 || !plain(&parts[i - 1]) || !plain(&parts[i]))
                .filter_map(|i| prefixes(&Hir::concat(parts[i..].to_vec())))
                .collect();
            for p in parts {
                if matches!(p.kind(), HirKind::Capture(_) | HirKind::Repetition(_) | HirKind::Alternation(_)) {
                    sets.extend(required(p));
                }
            }
            sets
        }
        HirKind::Capture(c) => required(&c.sub),
        HirKind::Repetition(r) if r.min >= 1 => required(&r.sub),
        HirKind::Alternation(branches) => {
            let mut union = Vec::new();
            for b in branches {
                let best = required(b).into_iter().min_by(|x, y| set_rarity(x).total_cmp(&set_rarity(y)));
                match best {
                    Some(set) => union.extend(set),
                    None => return Vec::new(),
                }
            }
            vec![union]
        }
        _ => prefixes(hir).into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::required_literals;

    fn literals(pattern: &str) -> Vec<Vec<String>> {
        required_literals(pattern)
            .iter()
            .map(|set| set.iter().map(|l| String::from_utf8_lossy(l).into_owned()).collect())
            .collect()
    }

    #[test]
    fn a_regular_expression_needs_one_literal_of_each_set() {
        assert_eq!(literals("mimi|katz"), [["katz", "mimi"]]);
        assert!(literals(r"\\temp\\[a-z]+\.exe").contains(&vec!["\\temp\\".to_owned()]));
        // Inside: no literal prefix, but every match holds `.ps1`.
        assert_eq!(literals(r"[a-z0-9]+\.ps1"), [[".ps1"]]);
        // Case-insensitive: the case variants, lower-cased to one (and the Kelvin sign's).
        assert!(literals("(?i)invoke").contains(&vec!["invoke".to_owned(), "invo\u{212A}e".to_owned()]));
        // SigmaHQ's WSASS rule: the rarest sets, not the common `.exe` prefix.
        let wsass = literals(r#"(?i)\.exe[\"\']?\s+[^\"]{0,64}werfaultsecure\.exe[\"\']?\s+\d{2,10}"#);
        // (case variants multiply, so the extractor keeps them shorter)
        assert!(wsass[0].iter().all(|l| l.len() >= 6 && "werfaultsecure.exe".contains(l.as_str())), "{wsass:?}");
        // Every literal of a sequence is required.
        let recon = literals(r"(?i)ipconfig.*\|.*find");
        assert!(
            recon.iter().any(|s| s.iter().any(|l| "ipconfig".starts_with(l.as_str()) && l.len() >= 6)),
            "{recon:?}"
        );
        assert!(recon.iter().any(|s| s.iter().any(|l| l == "find")), "{recon:?}");
    }

    #[test]
    fn an_expression_without_such_literals_has_none() {
        assert!(literals(r"^\d{3}-\w+$").iter().all(|s| s == &["-"]), "only the dash is required");
        assert!(literals(r".*").is_empty());
        assert!(literals(r"a?").is_empty(), "may match the empty text");
        assert!(literals(r"x|\d+").is_empty(), "one branch has no literal");
        assert!(literals(r"(unclosed").is_empty());
    }
}
