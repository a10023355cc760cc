//! The event as the rules see it: rsigma's [`JsonEvent`], except that keyword searches do
//! not see the log-source declaration Sekimori writes into an event
//! (`sekimori.logsource`, [`crate::DeclaredLogSource`]). Without this, a declared
//! `service: aaa` would itself match SigmaHQ's Cisco keyword `aaa`. Field lookups give
//! what `JsonEvent`'s would (a rule may still name `sekimori.logsource.product`).
//!
//! They are faster: `JsonEvent` looks a field up in the event's object, hashing its name
//! with SipHash (serde_json's map) on every call, and rsigma looks a field up for every
//! item it evaluates, a fifth of the matcher's time on SigmaHQ's Windows rules. An event
//! judged by a [`Hunter`] is indexed once instead ([`FieldIndex`]): one pass over its
//! top-level keys puts each field a rule reads into a slot, and lookups read the slot.
//!
//! [`Hunter`]: crate::Hunter

use std::borrow::Cow;

use rsigma_eval::event::{Event, EventValue, JsonEvent};
use rustc_hash::FxHashMap;
use serde_json::Value;

/// How deep rsigma looks for strings (`rsigma_eval::event::json`, `MAX_NESTING_DEPTH`).
const MAX_DEPTH: usize = 64;

/// Lower-cases the ASCII letters of `bytes`, as `make_ascii_lowercase` does, in a form the
/// compiler turns into vector instructions (`make_ascii_lowercase` goes byte by byte; the
/// matcher lower-cases every string it scans).
pub(crate) fn lower_ascii(bytes: &mut [u8]) {
    for b in bytes {
        *b |= u8::from(b.wrapping_sub(b'A') < 26) << 5;
    }
}

/// The field names the rules read, each with its slot number.
///
/// The table is fixed once the rules are compiled and events only look keys up in it, so an
/// event cannot make it slow with keys chosen to collide (FxHash is not seeded).
#[derive(Debug, Default)]
pub(crate) struct FieldIndex {
    slots: FxHashMap<Box<str>, u32>,
}

impl FieldIndex {
    /// The slot of `name`, given one if it has none.
    pub(crate) fn intern(&mut self, name: &str) -> u32 {
        let next = self.slots.len() as u32;
        *self.slots.entry(name.into()).or_insert(next)
    }

    fn slot(&self, name: &str) -> Option<u32> {
        self.slots.get(name).copied()
    }

    fn len(&self) -> usize {
        self.slots.len()
    }
}

/// [`JsonEvent`] whose string visits skip `sekimori.logsource`, with its top-level fields
/// in the slots of a [`FieldIndex`] when it has one.
pub(crate) struct SigmaEvent<'a> {
    value: &'a Value,
    json: JsonEvent<'a>,
    index: Option<&'a FieldIndex>,
    /// The value of each indexed field that is a top-level key of the event.
    slots: Vec<Option<&'a Value>>,
    /// The indexed top-level fields, in the event's order: slot, name and value.
    present: Vec<(u32, &'a str, &'a Value)>,
}

impl<'a> SigmaEvent<'a> {
    /// The event, unindexed: every lookup is `JsonEvent`'s.
    #[cfg(test)]
    pub(crate) fn new(value: &'a Value) -> SigmaEvent<'a> {
        SigmaEvent { value, json: JsonEvent::borrow(value), index: None, slots: Vec::new(), present: Vec::new() }
    }

    /// The event with the fields of `index` in their slots (one pass over its keys).
    pub(crate) fn indexed(value: &'a Value, index: &'a FieldIndex) -> SigmaEvent<'a> {
        let mut slots = vec![None; index.len()];
        let mut present = Vec::new();
        if let Some(object) = value.as_object() {
            present.reserve(object.len());
            for (key, v) in object {
                if let Some(i) = index.slot(key) {
                    slots[i as usize] = Some(v);
                    present.push((i, key.as_str(), v));
                }
            }
        }
        SigmaEvent { value, json: JsonEvent::borrow(value), index: Some(index), slots, present }
    }

    /// The event as it arrived.
    pub(crate) fn value(&self) -> &'a Value {
        self.value
    }

    /// The event's top-level fields that have a slot in its index, in the event's order,
    /// each with its slot (none for an unindexed event).
    pub(crate) fn present(&self) -> &[(u32, &'a str, &'a Value)] {
        &self.present
    }

    /// The top-level field in slot `slot` of the index the event was made with.
    pub(crate) fn slot(&self, slot: u32) -> Option<&'a Value> {
        self.slots.get(slot as usize).copied().flatten()
    }
}

/// Calls `visit` on every string of `event` a keyword search sees, in order, until it
/// returns `true`; whether one did. The same walk as rsigma's (objects and arrays, down to
/// [`MAX_DEPTH`] levels), without the top-level `sekimori` object's `logsource`.
pub(crate) fn any_keyword_string<F: FnMut(&str) -> bool>(event: &Value, visit: &mut F) -> bool {
    fn walk<F: FnMut(&str) -> bool>(v: &Value, depth: usize, skip_logsource: bool, visit: &mut F) -> bool {
        if depth == 0 {
            return false;
        }
        match v {
            Value::String(s) => visit(s),
            Value::Object(m) => {
                m.iter().any(|(k, x)| !(skip_logsource && k == "logsource") && walk(x, depth - 1, false, visit))
            }
            Value::Array(a) => a.iter().any(|x| walk(x, depth - 1, false, visit)),
            _ => false,
        }
    }
    match event {
        Value::Object(m) => m.iter().any(|(k, x)| walk(x, MAX_DEPTH - 1, k == "sekimori", visit)),
        other => walk(other, MAX_DEPTH, false, visit),
    }
}

impl Event for SigmaEvent<'_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        // `JsonEvent` looks `path` up as a top-level key first, then (if it is absent and
        // `path` has a dot, bracket or backslash) as a path.
        match self.index.and_then(|ix| ix.slot(path)) {
            Some(slot) => match self.slots[slot as usize] {
                Some(v) => Some(EventValue::from(v)),
                None if path.contains(['.', '[', '\\']) => self.json.get_field(path),
                None => None,
            },
            None => self.json.get_field(path),
        }
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        any_keyword_string(self.value, &mut |s| pred(s))
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        let mut out = Vec::new();
        any_keyword_string(self.value, &mut |s| {
            out.push(Cow::Owned(s.to_owned()));
            false
        });
        out
    }

    fn visit_string_values(&self, visit: &mut dyn FnMut(&str)) {
        any_keyword_string(self.value, &mut |s| {
            visit(s);
            false
        });
    }

    fn to_json(&self) -> Value {
        self.json.to_json()
    }

    fn field_keys(&self) -> Vec<Cow<'_, str>> {
        self.json.field_keys()
    }

    fn top_level_keys(&self) -> Option<Vec<Cow<'_, str>>> {
        self.json.top_level_keys()
    }

    fn visit_top_level_keys(&self, visit: &mut dyn FnMut(&str)) -> bool {
        self.json.visit_top_level_keys(visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strings(e: &Value) -> Vec<String> {
        SigmaEvent::new(e).all_string_values().into_iter().map(Cow::into_owned).collect()
    }

    #[test]
    fn keyword_searches_see_every_string_but_the_declaration() {
        let e = json!({"message": "clear logging", "sekimori": {"tenant": "t1", "logsource": {"service": "aaa"}},
            "a": {"logsource": "kept", "b": [1, "x"]}});
        assert_eq!(strings(&e), ["clear logging", "t1", "kept", "x"]);
        let plain = json!({"m": ["a", {"b": "c"}], "n": 3});
        let theirs: Vec<String> =
            JsonEvent::borrow(&plain).all_string_values().into_iter().map(Cow::into_owned).collect();
        assert_eq!(strings(&plain), theirs);
        // As deep as rsigma looks, no deeper.
        let nested = |levels: usize| {
            let mut v = json!("bottom");
            for _ in 0..levels {
                v = json!([v]);
            }
            json!({"d": v})
        };
        let deep = nested(70);
        let theirs: Vec<String> =
            JsonEvent::borrow(&deep).all_string_values().into_iter().map(Cow::into_owned).collect();
        assert_eq!(strings(&deep), theirs);
        let shallow = nested(60);
        assert_eq!(strings(&shallow), ["bottom"]);
    }

    #[test]
    fn lower_ascii_is_make_ascii_lowercase() {
        let all: Vec<u8> = (0..=255).collect();
        let mut ours = all.clone();
        lower_ascii(&mut ours);
        assert_eq!(ours, all.to_ascii_lowercase());
    }

    #[test]
    fn indexed_lookups_give_what_json_event_gives() {
        let mut index = FieldIndex::default();
        let names = ["Image", "a.b", "a.c", "arr[0]", "missing", "x\\y", "n", "nul", "deep.x.y", "CommandLine"];
        for n in names {
            index.intern(n);
        }
        let events = [
            json!({"Image": "C:\\a.exe", "a.b": "top", "a": {"b": "nested", "c": 3}, "arr": [1, "s"], "n": 1.5,
                   "nul": null, "deep": {"x": {"y": [true]}}, "x": {"y": "z"}}),
            json!({"a": {"b": ["p", "q"], "c": {"d": 1}}, "arr": []}),
            json!(["not", "an", "object"]),
            json!("text"),
        ];
        for e in &events {
            let fast = SigmaEvent::indexed(e, &index);
            let plain = JsonEvent::borrow(e);
            for path in names.iter().chain(&["unindexed", "a", "a.b.c", "x.y"]) {
                let got = fast.get_field(path).map(|v| v.to_json());
                let want = plain.get_field(path).map(|v| v.to_json());
                assert_eq!(got, want, "{path} in {e}");
            }
        }
    }
}
