//! The event as the rules see it: rsigma's [`JsonEvent`], except that keyword searches do
//! not see the log-source declaration Sekimori writes into an event
//! (`sekimori.logsource`, [`crate::DeclaredLogSource`]). Without this, a declared
//! `service: aaa` would itself match SigmaHQ's Cisco keyword `aaa`. Field lookups are
//! `JsonEvent`'s own (a rule may still name `sekimori.logsource.product`).

use std::borrow::Cow;

use rsigma_eval::event::{Event, EventValue, JsonEvent};
use serde_json::Value;

/// How deep rsigma looks for strings (`rsigma_eval::event::json`, `MAX_NESTING_DEPTH`).
const MAX_DEPTH: usize = 64;

/// [`JsonEvent`] whose string visits skip `sekimori.logsource`.
pub(crate) struct SigmaEvent<'a> {
    value: &'a Value,
    json: JsonEvent<'a>,
}

impl<'a> SigmaEvent<'a> {
    pub(crate) fn new(value: &'a Value) -> SigmaEvent<'a> {
        SigmaEvent { value, json: JsonEvent::borrow(value) }
    }
}

/// Calls `visit` on every string of `event` a keyword search sees, in order, until it
/// returns `true`; whether one did. The same walk as rsigma's (objects and arrays, down to
/// [`MAX_DEPTH`] levels), without the top-level `sekimori` object's `logsource`.
pub(crate) fn any_keyword_string(event: &Value, visit: &mut dyn FnMut(&str) -> bool) -> bool {
    fn walk(v: &Value, depth: usize, skip_logsource: bool, visit: &mut dyn FnMut(&str) -> bool) -> bool {
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
        self.json.get_field(path)
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
}
