//! The literal sieve: which of a log-source group's rules can fire on an event, decided
//! from one scan of each field the rules read, before any rule is evaluated.
//!
//! rsigma's candidate index lets a rule through as soon as one of its literals occurs
//! anywhere in the event; SigmaHQ's process-creation rules then leave ~20–30 candidates
//! per event, each evaluated in full (lower-casing the command line again) though ~1.5 of
//! them fire (ADR 0004). The sieve decides more from one scan: every case-insensitive
//! `contains`/`startswith`/`endswith`/equals value of every rule, and the literals its
//! regular expressions require ([`build::required_literals`]), is a pattern of one
//! automaton per field; a match is checked against its position (a `startswith` value must
//! be found at 0, and so on); numbers compared with `EventID: 4688` are looked up by value;
//! and each candidate's condition is evaluated over those results in three-valued logic
//! ([`formula`]), where whatever the sieve does not decide (the regular expressions
//! themselves, keywords, `cased`, field references, ranges, values that are neither text
//! nor numbers) is *unknown*. Only a rule whose condition comes out *false* is skipped; the
//! rest are evaluated in one pass that gives exactly what rsigma's `evaluate_rule` gives,
//! `matched` values included, taking the items the scan decided from it and running
//! rsigma's matchers for the rest ([`eval`]).
//!
//! Why skipping is exact: every decided leaf is exactly rsigma's verdict (see
//! [`Scan::field`] for lower-casing), and three-valued logic is monotone, so a condition
//! that is false with some leaves unknown is false whatever they are. A rule is not even
//! looked at unless one of its triggers (literals one of which it needs, or a field's
//! text being non-ASCII when a non-ASCII literal is what it needs) was found, it reads a
//! field the sieve cannot decide for this event, or it has no triggers (then it is
//! evaluated on every event, as rsigma does). ADR 0004's fourth and fifth addenda have the
//! design and the measurements.

mod build;
mod eval;
mod formula;

use crate::DetectError;
use std::collections::HashMap;

use daachorse::DoubleArrayAhoCorasick;
use rsigma_eval::event::Event;
use rsigma_eval::{CompiledRule, EvaluationResult};
use serde_json::Value;

use crate::event::{FieldIndex, SigmaEvent};
use build::Builder;
use eval::Plan;
use formula::{Anchor, Formula, Shape, State, Truth};

/// One field the group's rules read.
struct Field {
    name: String,
    /// Read by path (dots, brackets, backslashes) rather than as a top-level key.
    path: bool,
    /// Its slot in the event's [`FieldIndex`] (top-level fields).
    slot: u32,
    /// Its literals of three bytes or more (absent when there are none).
    automaton: Option<Heads>,
    /// Literals of one byte: byte to literal number plus one (0: none).
    bytes: Option<Box<[u32; 256]>>,
    /// The same, as a list of (byte, literal number).
    singles: Vec<(u8, u32)>,
    /// Literals of two bytes.
    pairs: Option<Pairs>,
    /// For literal `p`, by [`Anchor`]: the leaf it decides where it sits so (`u32::MAX`:
    /// none).
    leaf_of: Vec<[u32; 4]>,
    /// Numbers it is compared with, by their bits, to their leaves (absent when none is).
    numbers: Option<HashMap<u64, u32>>,
    /// The rules with an item on this field (candidates when it is undecided).
    rules: Vec<u32>,
}

/// A field's literals of three bytes or more, found by an automaton of their first
/// [`Heads::LEN`] bytes at most and checked past those.
///
/// SigmaHQ's long literals (hashes in `Hashes`, registry paths in `TargetObject`) made
/// most of the automata's states, and building them was a quarter of loading the rules;
/// cut to their heads, they make about half as many states. A head found is as many
/// matches as literals begin with it: each is checked for the rest of its bytes where the
/// head ends, so the matches are exactly those of the whole literals.
struct Heads {
    /// Each distinct head, its number as value.
    automaton: DoubleArrayAhoCorasick<u32>,
    /// Head `h`'s literals: `members[spans[h]..spans[h + 1]]`.
    spans: Vec<u32>,
    /// A literal's number among the field's, and its bytes past its head.
    members: Vec<(u32, Box<[u8]>)>,
}

impl Heads {
    /// The most bytes of a literal the automaton holds.
    const LEN: usize = 16;

    /// The automaton over `long`, numbers of literals in `patterns` (each at least three bytes).
    fn build(field: &str, patterns: &[Vec<u8>], long: &[u32]) -> Result<Heads, DetectError> {
        let mut by_head: Vec<(&[u8], u32)> = long
            .iter()
            .map(|&p| {
                let text = &patterns[p as usize];
                (&text[..text.len().min(Heads::LEN)], p)
            })
            .collect();
        by_head.sort_unstable();
        let (mut heads, mut spans) = (Vec::new(), Vec::new());
        let mut members: Vec<(u32, Box<[u8]>)> = Vec::with_capacity(by_head.len());
        for (head, p) in by_head {
            if heads.last() != Some(&head) {
                heads.push(head);
                spans.push(members.len() as u32);
            }
            members.push((p, Box::from(&patterns[p as usize][head.len()..])));
        }
        spans.push(members.len() as u32);
        // A double-array automaton: half the time per byte of aho-corasick's NFA on
        // SigmaHQ's command-line literals, and smaller (ADR 0004). Its prefilter (a 64 KiB
        // table per automaton) is not built: SigmaHQ's shortest literals keep it from
        // paying off, and building it was a tenth of loading the rules.
        let automaton = daachorse::DoubleArrayAhoCorasickBuilder::new()
            .use_prefilter(false)
            .build_with_values(heads.iter().enumerate().map(|(h, head)| (head, h as u32)))
            .map_err(|e| DetectError::Compile(format!("literal automaton for field {field}: {e}")))?;
        Ok(Heads { automaton, spans, members })
    }
}

/// A field's two-byte literals: which pairs are literals (a bit each, 8 KiB), and their
/// numbers.
struct Pairs {
    present: Box<[u64; 1024]>,
    numbers: Vec<(u16, u32)>,
}

impl Default for Pairs {
    fn default() -> Pairs {
        Pairs { present: Box::new([0; 1024]), numbers: Vec::new() }
    }
}

impl Pairs {
    fn insert(&mut self, a: u8, b: u8, number: u32) {
        let key = u16::from_be_bytes([a, b]);
        self.present[usize::from(key) / 64] |= 1 << (key % 64);
        let at = self.numbers.partition_point(|(k, _)| *k < key);
        self.numbers.insert(at, (key, number));
    }

    fn get(&self, a: u8, b: u8) -> Option<u32> {
        let key = u16::from_be_bytes([a, b]);
        if self.present[usize::from(key) / 64] & (1 << (key % 64)) == 0 {
            return None;
        }
        self.numbers.binary_search_by_key(&key, |(k, _)| *k).ok().map(|i| self.numbers[i].1)
    }
}

/// The sieve in front of a group's rules (rsigma's engine keeps the rules; the sieve's
/// numbers are their positions there).
pub(crate) struct Sieve {
    /// Each rule's condition over the leaves.
    formulas: Vec<Formula>,
    /// How each rule is evaluated when the sieve lets it through (`None`: by rsigma).
    plans: Vec<Option<Plan>>,
    fields: Vec<Field>,
    /// How many leaves there are (field `f`'s wide leaf is `wide_base + f`).
    leaf_count: usize,
    wide_base: u32,
    /// The rules leaf `l` is a trigger of: `trigger_rules[trigger_spans[l]..trigger_spans[l + 1]]`.
    trigger_spans: Vec<u32>,
    trigger_rules: Vec<u32>,
    /// Rules whose condition may hold with none of their literals matching.
    always: Vec<u32>,
}

impl std::fmt::Debug for Sieve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sieve")
            .field("rules", &self.formulas.len())
            .field("fields", &self.fields.len())
            .field("literals", &self.leaf_count)
            .field("always", &self.always.len())
            .finish()
    }
}

impl Sieve {
    /// Puts the sieve in front of `rules` (rsigma's engine's, filters applied); the fields
    /// they read get slots in `index`.
    #[cfg(test)]
    pub(crate) fn new(rules: &[CompiledRule], index: &mut FieldIndex) -> Result<Sieve, DetectError> {
        let mut sieve = Sieve::unslotted(rules)?;
        sieve.assign_slots(index);
        Ok(sieve)
    }

    /// Gives the fields the sieve reads their slots in `index` (in the sieve's own order, so
    /// sieves slotted one after another in a fixed order get the same slots every time).
    pub(crate) fn assign_slots(&mut self, index: &mut FieldIndex) {
        for f in &mut self.fields {
            f.slot = index.intern(&f.name);
        }
    }

    /// [`Sieve::new`] without slots yet ([`Sieve::assign_slots`]), so that groups' sieves
    /// can be built on several threads.
    pub(crate) fn unslotted(rules: &[CompiledRule]) -> Result<Sieve, DetectError> {
        let mut b = Builder::default();
        let formulas: Vec<Formula> = rules.iter().enumerate().map(|(i, r)| b.rule(i as u32, r)).collect();
        // Plans decide items by the same leaves; building them must not change how often a
        // leaf is used, which only the choice of triggers reads.
        let users: Vec<u32> = b.leaf_shape.iter().map(|s| s.users).collect();
        let plans = rules.iter().enumerate().map(|(i, r)| Plan::of(r, i as u32, &mut b)).collect();
        for (shape, users) in b.leaf_shape.iter_mut().zip(users) {
            shape.users = users;
        }
        // Each field's wide leaf: its text is not ASCII (rare in the logs SigmaHQ reads).
        let wide_base = b.leaf_shape.len() as u32;
        b.leaf_shape.extend((0..b.fields.len()).map(|_| Shape { anchor: Anchor::Anywhere, len: 9, users: 1 }));
        let mut always = Vec::new();
        let mut triggered: Vec<Vec<u32>> = vec![Vec::new(); b.leaf_shape.len()];
        for (i, f) in formulas.iter().enumerate() {
            match f.triggers(&b.leaf_shape, wide_base) {
                Some(triggers) => {
                    for l in triggers {
                        let rules = &mut triggered[l as usize];
                        if rules.last() != Some(&(i as u32)) {
                            rules.push(i as u32);
                        }
                    }
                }
                None => always.push(i as u32),
            }
        }
        let mut trigger_spans = vec![0u32];
        let mut trigger_rules = Vec::new();
        for rules in triggered {
            trigger_rules.extend(rules);
            trigger_spans.push(trigger_rules.len() as u32);
        }
        let mut fields = Vec::with_capacity(b.fields.len());
        for draft in b.fields {
            // Short literals (SigmaHQ compares command lines with " ", "&", "/c", and
            // regular expressions yield short prefixes) would make the automaton report a
            // match at most bytes; they are looked up by byte and by pair instead.
            let mut long = Vec::new();
            let mut bytes: Option<Box<[u32; 256]>> = None;
            let mut pairs: Option<Pairs> = None;
            for (p, text) in draft.patterns.iter().enumerate() {
                match text.as_slice() {
                    [b] => bytes.get_or_insert_with(|| Box::new([0; 256]))[usize::from(*b)] = p as u32 + 1,
                    [a, b] => pairs.get_or_insert_with(Pairs::default).insert(*a, *b, p as u32),
                    _ => long.push(p as u32),
                }
            }
            let automaton =
                if long.is_empty() { None } else { Some(Heads::build(&draft.name, &draft.patterns, &long)?) };
            fields.push(Field {
                path: draft.name.contains(['.', '[', '\\']),
                slot: u32::MAX,
                name: draft.name,
                automaton,
                singles: bytes.as_ref().map_or_else(Vec::new, |t| {
                    (0..=255u8).filter_map(|c| Some((c, t[usize::from(c)].checked_sub(1)?))).collect()
                }),
                bytes,
                pairs,
                leaf_of: draft.uses,
                numbers: (!draft.numbers_eq.is_empty()).then_some(draft.numbers_eq),
                rules: draft.rules,
            });
        }
        Ok(Sieve {
            formulas,
            plans,
            fields,
            leaf_count: b.leaf_shape.len(),
            wide_base,
            trigger_spans,
            trigger_rules,
            always,
        })
    }

    /// The rules of `rules` (the same the sieve was made for) that fire on `event` (indexed
    /// with the index the sieve was made with), as rsigma's engine would report them, in
    /// rule order.
    pub(crate) fn evaluate(&self, rules: &[CompiledRule], event: &SigmaEvent<'_>) -> Vec<EvaluationResult> {
        debug_assert_eq!(rules.len(), self.formulas.len(), "the sieve's own rules");
        let Scan { states, hits, mut candidates, lowered, .. } = self.scan(event);
        candidates.sort_unstable();
        candidates.dedup();
        let fired = candidates
            .iter()
            .filter(|&&r| self.formulas[r as usize].eval(&states, &hits) != Truth::False)
            .filter_map(|&r| match &self.plans[r as usize] {
                Some(plan) => plan.evaluate(&rules[r as usize], event, &states, &hits),
                None => rsigma_eval::evaluate_rule(&rules[r as usize], event),
            })
            .collect();
        SCRATCH.set(Scratch { states, hits, candidates, lowered });
        fired
    }

    /// Every field of `event` scanned, in the last scan's buffers on this thread (the caller
    /// puts them back).
    fn scan(&self, event: &SigmaEvent<'_>) -> Scan<'_> {
        let Scratch { mut states, mut hits, mut candidates, lowered } = SCRATCH.take();
        states.clear();
        states.resize(self.fields.len(), State::Absent);
        hits.clear();
        hits.resize(self.leaf_count.div_ceil(64), 0);
        candidates.clear();
        candidates.extend_from_slice(&self.always);
        let mut scan = Scan { sieve: self, states, hits, candidates, lowered };
        for (i, f) in self.fields.iter().enumerate() {
            if !f.path {
                // A top-level key is a path's first choice too (`JsonEvent`).
                if let Some(v) = event.slot(f.slot) {
                    scan.field(f, i, Some(v));
                }
                continue;
            }
            match event.get_field(&f.name) {
                None => scan.field(f, i, None),
                // A path's value is whatever rsigma collects: undecided unless one string.
                Some(rsigma_eval::EventValue::Str(s)) => scan.field(f, i, Some(&Value::String(s.into_owned()))),
                Some(_) => scan.field(f, i, Some(&Value::Null)),
            }
        }
        scan
    }

    /// Each rule's plan evaluated on `event` whether the sieve would look at the rule or
    /// not (`None`: the rule has no plan), for comparing with rsigma.
    #[cfg(test)]
    pub(crate) fn every_plan(
        &self,
        rules: &[CompiledRule],
        event: &SigmaEvent<'_>,
    ) -> Vec<Option<Option<EvaluationResult>>> {
        let Scan { states, hits, candidates, lowered, .. } = self.scan(event);
        let out = self
            .plans
            .iter()
            .zip(rules)
            .map(|(plan, rule)| plan.as_ref().map(|p| p.evaluate(rule, event, &states, &hits)))
            .collect();
        SCRATCH.set(Scratch { states, hits, candidates, lowered });
        out
    }
}

/// A scan's buffers, kept between events on a thread.
#[derive(Default)]
struct Scratch {
    states: Vec<State>,
    hits: Vec<u64>,
    candidates: Vec<u32>,
    lowered: Vec<u8>,
}

thread_local! {
    static SCRATCH: std::cell::Cell<Scratch> = std::cell::Cell::new(Scratch::default());
}

/// One event's scan: what each field is, which leaves hold, the rules to look at.
struct Scan<'a> {
    sieve: &'a Sieve,
    states: Vec<State>,
    hits: Vec<u64>,
    candidates: Vec<u32>,
    /// The field value being scanned, lower-cased.
    lowered: Vec<u8>,
}

impl Scan<'_> {
    fn field(&mut self, f: &Field, i: usize, v: Option<&Value>) {
        self.states[i] = match v {
            None => State::Absent,
            // Lower-casing ASCII letters is what rsigma's ASCII and Unicode lower-casing
            // agree on: other characters lower-case to non-ASCII ones, except the Kelvin
            // sign (to `k`) and the dotted capital I (to `i` and a combining dot).
            Some(Value::String(s)) if s.is_ascii() || !s.contains(['\u{212A}', '\u{0130}']) => {
                self.scan(f, s);
                if let Some(numbers) = &f.numbers {
                    if let Ok(n) = s.parse::<f64>() {
                        self.number(numbers, n);
                    }
                }
                if s.is_ascii() {
                    State::Text
                } else {
                    self.mark(self.sieve.wide_base + i as u32);
                    State::Wide
                }
            }
            // rsigma compares a number with text as its decimal form, and with numbers as
            // itself (as an `i64` when it is one, else as an `f64`).
            Some(Value::Number(n)) => {
                let (text, n) = match n.as_i64() {
                    Some(i) => (i.to_string(), i as f64),
                    None => {
                        let n = n.as_f64().unwrap_or(f64::NAN);
                        (n.to_string(), n)
                    }
                };
                self.scan(f, &text);
                if let Some(numbers) = &f.numbers {
                    self.number(numbers, n);
                }
                State::Text
            }
            Some(_) => {
                self.candidates.extend_from_slice(&f.rules);
                State::Undecided
            }
        };
    }

    fn scan(&mut self, f: &Field, s: &str) {
        if f.leaf_of.is_empty() {
            return;
        }
        let mut lowered = std::mem::take(&mut self.lowered);
        lowered.clear();
        lowered.extend_from_slice(s.as_bytes());
        crate::event::lower_ascii(&mut lowered);
        let b = lowered.as_slice();
        let len = b.len();
        if let (Some(table), Some((&first, &last))) = (&f.bytes, b.first().zip(b.last())) {
            // Which bytes occur (one branch-free pass), then each one-byte literal once:
            // SigmaHQ's command-line literals include every digit and the space, which
            // occur many times in most values.
            let mut seen = [0u64; 4];
            for &c in b {
                seen[usize::from(c >> 6)] |= 1 << (c & 63);
            }
            for &(c, p) in &f.singles {
                if seen[usize::from(c >> 6)] & (1 << (c & 63)) != 0 {
                    self.found(f, p as usize, false, false);
                }
            }
            if let Some(p) = table[usize::from(first)].checked_sub(1) {
                self.found(f, p as usize, true, len == 1);
            }
            if let Some(p) = table[usize::from(last)].checked_sub(1) {
                self.found(f, p as usize, len == 1, true);
            }
        }
        if let Some(pairs) = &f.pairs {
            for (i, w) in b.windows(2).enumerate() {
                if let Some(p) = pairs.get(w[0], w[1]) {
                    self.found(f, p as usize, i == 0, i + 2 == len);
                }
            }
        }
        if let Some(heads) = &f.automaton {
            for m in heads.automaton.find_overlapping_iter(b) {
                let h = m.value() as usize;
                let (from, to) = (heads.spans[h] as usize, heads.spans[h + 1] as usize);
                for (p, rest) in &heads.members[from..to] {
                    let end = m.end() + rest.len();
                    if rest.is_empty() || b.get(m.end()..end) == Some(rest) {
                        self.found(f, *p as usize, m.start() == 0, end == len);
                    }
                }
            }
        }
        self.lowered = lowered;
    }

    /// The field's value is the number `n`.
    fn number(&mut self, numbers: &HashMap<u64, u32>, n: f64) {
        if let Some(&leaf) = numbers.get(&n.to_bits()) {
            self.mark(leaf);
        }
    }

    /// Literal `p` of `f` occurs, at the start and/or the end of the value or neither.
    fn found(&mut self, f: &Field, p: usize, start: bool, end: bool) {
        let leaves = f.leaf_of[p];
        self.mark(leaves[Anchor::Anywhere as usize]);
        if start {
            self.mark(leaves[Anchor::Start as usize]);
        }
        if end {
            self.mark(leaves[Anchor::End as usize]);
        }
        if start && end {
            self.mark(leaves[Anchor::Whole as usize]);
        }
    }

    /// Leaf `l` (if any) holds: the rules it triggers are candidates.
    fn mark(&mut self, l: u32) {
        let l = l as usize;
        if l == u32::MAX as usize || self.hits[l / 64] & (1 << (l % 64)) != 0 {
            return;
        }
        self.hits[l / 64] |= 1 << (l % 64);
        let (from, to) = (self.sieve.trigger_spans[l] as usize, self.sieve.trigger_spans[l + 1] as usize);
        self.candidates.extend_from_slice(&self.sieve.trigger_rules[from..to]);
    }
}
