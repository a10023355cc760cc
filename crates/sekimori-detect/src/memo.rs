//! A bounded memo of detections by the event values the rules can see.
//!
//! A Sigma detection is a pure function of the fields its rules name: two events that
//! agree on every such field get the same detections from the same rules. Production logs
//! repeat those fields a great deal (Sysmon's image loads, registry writes and network
//! connections of the same programs; service accounts running the same commands), so a
//! log-source group of rules remembers what it found for each combination it has seen.
//!
//! The memo is exact, never approximate: its key is the JSON text of every top-level field
//! any rule of the group can read (a named field, or the object a dotted path starts at),
//! so a lookup hits only for an event the rules cannot tell apart from the remembered one.
//! Groups whose rules can read values the key does not hold (keyword searches, items
//! without a field, escaped paths) are not memoised; nor are results that carry
//! the event itself (`rsigma.include_event`). Memory is bounded by two generations of at
//! most [`Memo::DEFAULT_BYTES`] each: when the current one fills, the previous one is
//! dropped and a hit there is copied forward (an approximation of least-recently-used).
//! A group whose events do not repeat (fewer than one hit in eight over 1,024 events) stops
//! remembering for the next 16,384, twice as many after each further window without
//! repetition (up to 1,048,576; a window with repetition starts again at 16,384), so a
//! stream without repetition pays almost nothing: probing a window costs about twice what
//! judging it alone does, which was ~11% of the matcher's time on unique events at a fixed
//! 16,384 and falls under 1% as the bypass grows.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use crate::event::{FieldIndex, SigmaEvent};
use rsigma_eval::EvaluationResult;
use rsigma_parser::{Detection, Detections, Modifier, SigmaValue};

/// The top-level event keys a group of rules can read, or `None` when the group can read
/// more than named fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Visible {
    names: BTreeSet<String>,
    /// The names' slots in the hunter's [`FieldIndex`], as bits ([`Visible::assign_slots`]).
    /// The memo key is built from an indexed event's fields, each tested against these
    /// bits: looking every field of every event up in a set of names, once per group,
    /// was 4% of a hunt's instructions with a `BTreeSet` and 3% with a hash set.
    slots: Vec<u64>,
}

impl Visible {
    /// What the detection sections `sections` (rules and the filters applied to them) can
    /// read, or `None` if any of them reads beyond named fields.
    pub(crate) fn of<'a>(sections: impl IntoIterator<Item = &'a Detections>) -> Option<Visible> {
        let mut names = BTreeSet::new();
        for detections in sections {
            for d in detections.named.values() {
                collect(d, &mut names)?;
            }
        }
        let mut keys = BTreeSet::new();
        for name in names {
            if name.contains('\\') {
                return None;
            }
            // A flat key of that name, or the object a path into nested data starts at.
            if let Some(root) = name.split(['.', '[']).next() {
                keys.insert(root.to_owned());
            }
            keys.insert(name);
        }
        Some(Visible { names: keys, slots: Vec::new() })
    }

    /// Gives the names slots in `index` (in the names' order), for [`Visible::key`].
    pub(crate) fn assign_slots(&mut self, index: &mut FieldIndex) {
        for name in &self.names {
            let slot = index.intern(name) as usize;
            if self.slots.len() <= slot / 64 {
                self.slots.resize(slot / 64 + 1, 0);
            }
            self.slots[slot / 64] |= 1 << (slot % 64);
        }
    }

    fn sees(&self, slot: u32) -> bool {
        let slot = slot as usize;
        self.slots.get(slot / 64).is_some_and(|bits| bits >> (slot % 64) & 1 == 1)
    }

    /// The memo key of `event` (indexed with the index the slots were given in): each
    /// readable field's name and value as JSON, in the event's order. `None` for an event
    /// that is not an object.
    fn key(&self, event: &SigmaEvent<'_>) -> Option<Vec<u8>> {
        event.value().as_object()?;
        let mut key = Vec::with_capacity(256);
        for &(slot, name, value) in event.present() {
            if self.sees(slot) {
                // JSON text is self-delimiting, so distinct field sets give distinct keys.
                serde_json::to_writer(&mut key, name).ok()?;
                key.push(b':');
                serde_json::to_writer(&mut key, value).ok()?;
                key.push(b',');
            }
        }
        Some(key)
    }
}

/// Field names a detection reads; `None` if it reads anything else.
fn collect(d: &Detection, names: &mut BTreeSet<String>) -> Option<()> {
    match d {
        Detection::AllOf(items) => {
            for item in items {
                names.insert(item.field.name.clone()?);
                if item.field.modifiers.contains(&Modifier::FieldRef) {
                    // The values name the other fields compared with.
                    for v in &item.values {
                        let SigmaValue::String(s) = v else { return None };
                        names.insert(s.original.clone());
                        names.extend(s.as_plain());
                    }
                }
            }
        }
        Detection::AnyOf(subs) | Detection::And(subs) => {
            for sub in subs {
                collect(sub, names)?;
            }
        }
        // Every member field lives inside the array field.
        Detection::ArrayMatch { field, .. } => {
            names.insert(field.clone());
        }
        Detection::Keywords(_) | Detection::Conditional { .. } => return None,
    }
    Some(())
}

struct Generations {
    current: HashMap<(usize, Vec<u8>), Vec<EvaluationResult>>,
    previous: HashMap<(usize, Vec<u8>), Vec<EvaluationResult>>,
    current_bytes: usize,
}

/// How well the memo serves one group; updated without locks (a heuristic: a lost update
/// between threads changes nothing that matters).
#[derive(Default)]
struct Yield {
    lookups: AtomicI64,
    hits: AtomicI64,
    /// Events left to judge without the memo.
    bypass: AtomicI64,
    /// How many events the next bypass lasts (0: [`Memo::BYPASS`]).
    next_bypass: AtomicI64,
}

/// Remembered detections per (rule group, memo key), shared by every thread judging
/// events.
pub(crate) struct Memo {
    limit: usize,
    generations: Mutex<Generations>,
    groups: Vec<Yield>,
}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memo").field("limit", &self.limit).finish_non_exhaustive()
    }
}

impl Memo {
    /// Bytes of keys and results one generation may hold.
    pub(crate) const DEFAULT_BYTES: usize = 16 << 20;
    /// Longer keys are not remembered (such events rarely repeat).
    const MAX_KEY: usize = 8 << 10;
    /// Lookups over which a group's hit rate is judged.
    const WINDOW: i64 = 1_024;
    /// Events a group with too few hits is judged without the memo before it tries again;
    /// doubled after each further window with too few, up to [`Memo::MAX_BYPASS`].
    const BYPASS: i64 = 16 * Self::WINDOW;
    const MAX_BYPASS: i64 = 64 * Self::BYPASS;

    /// A memo for `groups` rule groups of at most `limit` bytes per generation (0: off).
    pub(crate) fn new(limit: usize, groups: usize) -> Memo {
        Memo {
            limit,
            generations: Mutex::new(Generations {
                current: HashMap::new(),
                previous: HashMap::new(),
                current_bytes: 0,
            }),
            groups: (0..groups).map(|_| Yield::default()).collect(),
        }
    }

    /// The detections of group `group` (whose rules see `visible`) on `event`: remembered,
    /// or found by `evaluate` and remembered.
    pub(crate) fn detections(
        &self,
        group: usize,
        visible: Option<&Visible>,
        event: &SigmaEvent<'_>,
        evaluate: impl FnOnce() -> Vec<EvaluationResult>,
    ) -> Vec<EvaluationResult> {
        let (Some(stats), Some(visible)) = (self.groups.get(group).filter(|_| self.limit > 0), visible) else {
            return evaluate();
        };
        if stats.bypass.load(Ordering::Relaxed) > 0 {
            stats.bypass.fetch_sub(1, Ordering::Relaxed);
            return evaluate();
        }
        let key = match visible.key(event) {
            Some(k) if k.len() <= Self::MAX_KEY => (group, k),
            _ => return evaluate(),
        };
        let lookups = stats.lookups.fetch_add(1, Ordering::Relaxed) + 1;
        let found = self.lookup(&key);
        let hits = stats.hits.fetch_add(i64::from(found.is_some()), Ordering::Relaxed) + i64::from(found.is_some());
        if lookups >= Self::WINDOW {
            stats.lookups.store(0, Ordering::Relaxed);
            stats.hits.store(0, Ordering::Relaxed);
            if hits * 8 < lookups {
                let bypass = match stats.next_bypass.load(Ordering::Relaxed) {
                    0 => Self::BYPASS,
                    n => n,
                };
                stats.bypass.store(bypass, Ordering::Relaxed);
                stats.next_bypass.store((bypass * 2).min(Self::MAX_BYPASS), Ordering::Relaxed);
            } else {
                stats.next_bypass.store(0, Ordering::Relaxed);
            }
        }
        if let Some(found) = found {
            return found;
        }
        let results = evaluate();
        if results.iter().all(|r| r.as_detection().is_none_or(|d| d.event.is_none())) {
            self.remember(key, &results);
        }
        results
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        // A panic elsewhere while holding the lock leaves whole entries only.
        self.generations.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lookup(&self, key: &(usize, Vec<u8>)) -> Option<Vec<EvaluationResult>> {
        let mut g = self.lock();
        if let Some(found) = g.current.get(key) {
            return Some(found.clone());
        }
        let found = g.previous.remove(key)?;
        let out = found.clone();
        Self::insert(&mut g, self.limit, key.clone(), found);
        Some(out)
    }

    fn remember(&self, key: (usize, Vec<u8>), results: &[EvaluationResult]) {
        let mut g = self.lock();
        Self::insert(&mut g, self.limit, key, results.to_vec());
    }

    fn insert(g: &mut Generations, limit: usize, key: (usize, Vec<u8>), results: Vec<EvaluationResult>) {
        // The key, plus per result its rule's strings (shared headers, ~512 bytes at most
        // for SigmaHQ's titles, ids and tags) and the values it matched.
        let matched: usize = results
            .iter()
            .filter_map(EvaluationResult::as_detection)
            .flat_map(|d| &d.matched_fields)
            .map(|m| m.field.len() + m.value.as_str().map_or(16, str::len) + 32)
            .sum();
        let bytes = key.1.len() + 64 + results.len() * 512 + matched;
        if g.current_bytes + bytes > limit {
            g.previous = std::mem::take(&mut g.current);
            g.current_bytes = 0;
        }
        g.current_bytes += bytes;
        g.current.insert(key, results);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// `v` with slots in a fresh index, and that index.
    fn slotted(mut v: Visible) -> (Visible, FieldIndex) {
        let mut index = FieldIndex::default();
        v.assign_slots(&mut index);
        (v, index)
    }

    /// The memo key of `event` for `v` (slotted in `index`).
    fn key(v: &Visible, index: &FieldIndex, event: &Value) -> Option<Vec<u8>> {
        v.key(&SigmaEvent::indexed(event, index))
    }

    fn visible_a() -> (Visible, FieldIndex) {
        slotted(Visible { names: BTreeSet::from(["a".to_owned()]), slots: Vec::new() })
    }

    fn detections(yaml: &str) -> Detections {
        let collection = rsigma_parser::parse_sigma_yaml(yaml).expect("parse");
        collection.rules.into_iter().next().expect("a rule").detection
    }

    #[test]
    fn visible_fields_are_named_fields_and_the_roots_of_paths() {
        let d = detections(
            "title: t\nlogsource: {category: test}\ndetection:\n  a: {Image|endswith: x.exe, actor.id: 1}\n  b:\n    - {CommandLine|contains: y}\n    - {User: z}\n  condition: a or b\n",
        );
        let (v, index) = slotted(Visible::of([&d]).expect("only named fields"));
        let keys: Vec<&str> = v.names.iter().map(String::as_str).collect();
        assert_eq!(keys, ["CommandLine", "Image", "User", "actor", "actor.id"]);
        let k1 = key(&v, &index, &json!({"Image": "x.exe", "ProcessId": 1, "actor": {"id": 1}})).expect("object");
        let k2 = key(&v, &index, &json!({"Image": "x.exe", "ProcessId": 2, "actor": {"id": 1}})).expect("object");
        let k3 = key(&v, &index, &json!({"Image": "x.exe", "ProcessId": 2, "actor": {"id": 2}})).expect("object");
        assert_eq!(k1, k2, "a field no rule reads does not change the key");
        assert_ne!(k1, k3);
        assert_ne!(
            key(&v, &index, &json!({"Image": "a", "User": "b"})),
            key(&v, &index, &json!({"Image": "a\",\"User\":\"b"}))
        );
        assert_eq!(key(&v, &index, &json!("not an object")), None);
    }

    #[test]
    fn keywords_and_fieldless_items_are_not_memoised_and_fieldref_reads_both_fields() {
        let keywords = detections("title: t\nlogsource: {category: test}\ndetection:\n  k: [evil]\n  condition: k\n");
        assert_eq!(Visible::of([&keywords]), None);
        let fieldref = detections(
            "title: t\nlogsource: {category: test}\ndetection:\n  s: {Image|fieldref: ParentImage}\n  condition: s\n",
        );
        let v = Visible::of([&fieldref]).expect("named fields");
        assert!(v.names.contains("Image") && v.names.contains("ParentImage"));
        let plain = detections("title: t\nlogsource: {category: test}\ndetection:\n  s: {Image: a}\n  condition: s\n");
        assert!(Visible::of([&plain, &keywords]).is_none(), "one section that reads more spoils the group");
    }

    /// Judges `{"a": 0}` … `{"a": keys - 1}` `rounds` times; returns how many were evaluated
    /// (not answered by the memo), checking the bound after each.
    fn evaluations(memo: &Memo, keys: i64, rounds: usize) -> usize {
        let (v, index) = visible_a();
        let mut evaluated = 0;
        for _ in 0..rounds {
            for i in 0..keys {
                memo.detections(0, Some(&v), &SigmaEvent::indexed(&json!({"a": i}), &index), || {
                    evaluated += 1;
                    Vec::new()
                });
                assert!(memo.lock().current_bytes <= memo.limit);
            }
        }
        evaluated
    }

    #[test]
    fn generations_bound_the_memo() {
        let roomy = evaluations(&Memo::new(2_000, 1), 10, 3);
        assert_eq!(roomy, 10, "ten keys of ~75 bytes fit: only the first round evaluated");
        let tight = evaluations(&Memo::new(300, 1), 10, 3);
        assert!(tight > 10, "what does not fit is evaluated again");
        assert_eq!(evaluations(&Memo::new(0, 1), 1, 2), 2, "off");
    }

    #[test]
    fn a_group_whose_events_do_not_repeat_stops_remembering_for_a_while() {
        let (v, index) = visible_a();
        let memo = Memo::new(Memo::DEFAULT_BYTES, 1);
        let window = usize::try_from(Memo::WINDOW).expect("small");
        for i in 0..window {
            memo.detections(0, Some(&v), &SigmaEvent::indexed(&json!({"a": i}), &index), Vec::new);
        }
        let remembered = memo.lock().current.len();
        assert_eq!(remembered, window);
        // Not one hit in the window: the next events are judged without the memo.
        for i in 0..100 {
            memo.detections(0, Some(&v), &SigmaEvent::indexed(&json!({"a": i}), &index), Vec::new);
        }
        assert_eq!(memo.lock().current.len(), remembered, "nothing looked up or added while bypassed");
        assert_eq!(memo.groups[0].bypass.load(Ordering::Relaxed), Memo::BYPASS - 100);
    }

    #[test]
    fn each_window_without_repetition_doubles_the_bypass_and_one_with_repetition_resets_it() {
        let (v, index) = visible_a();
        let memo = Memo::new(Memo::DEFAULT_BYTES, 1);
        let stats = &memo.groups[0];
        let mut next = 0i64;
        // A window of fresh values, then the bypass run out.
        let mut unique_window = || {
            for _ in 0..Memo::WINDOW {
                memo.detections(0, Some(&v), &SigmaEvent::indexed(&json!({"a": next}), &index), Vec::new);
                next += 1;
            }
            let bypass = stats.bypass.load(Ordering::Relaxed);
            for _ in 0..bypass {
                memo.detections(0, Some(&v), &SigmaEvent::indexed(&json!({"a": -1}), &index), Vec::new);
            }
            bypass
        };
        let bypasses: Vec<i64> = (0..9).map(|_| unique_window()).collect();
        let b = Memo::BYPASS;
        assert_eq!(bypasses, [b, 2 * b, 4 * b, 8 * b, 16 * b, 32 * b, 64 * b, 64 * b, 64 * b]);
        // A window that repeats itself: no bypass, and the next unique window starts over.
        for i in 0..Memo::WINDOW {
            memo.detections(0, Some(&v), &SigmaEvent::indexed(&json!({"a": i % 8}), &index), Vec::new);
        }
        assert_eq!(stats.bypass.load(Ordering::Relaxed), 0);
        assert_eq!(unique_window(), b);
    }
}
