//! Reading a line of the `evtx` dumper's JSON (`{"Event": {"System": …, "EventData": …}}`)
//! straight into the flat layout, in one pass.
//!
//! Parsing the line into a `serde_json::Value` first builds a map for `Event`, `System`,
//! `EventData` and every element's `#attributes` (an ordered map whose keys are hashed
//! with SipHash), only for [`crate::normalize`] to take them apart again. Here the parser
//! hands each field to the flat map as it reads it: `System` fields go in as they come,
//! `EventData` is held as a list and lifted at the end, and nothing else is built.
//!
//! The result is exactly `normalize(serde_json::from_str(line)?)`. Whatever this reader does
//! not expect (another top-level key, a repeated key, `System` missing or not an object, a
//! number or string the plain parser would handle differently) makes it give up, and the
//! line is parsed the plain way: the fast reading is an optimisation, never a second set
//! of rules.

use std::hash::{Hash, Hasher};

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The first key through which serde_json passes a `RawValue`: a map starting with it is
/// not an ordinary object to serde_json's own `Value` parser, so this reader gives up on it.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// A line in the `evtx` dumper's layout, read into the flat layout with its aliases added;
/// `None` when the line is anything else (including not JSON), for the plain parser.
pub(crate) fn windows_line(line: &str) -> Option<Value> {
    if !line.starts_with("{\"Event\":{") {
        return None;
    }
    let mut de = serde_json::Deserializer::from_str(line);
    let mut flat = Top.deserialize(&mut de).ok()?;
    de.end().ok()?;
    crate::logsource::LogSourceMap::builtin_ref().add_aliases(&mut flat);
    Some(Value::Object(flat))
}

/// Why the fast reading gave up; never shown (the plain parser reports real errors).
fn give_up<E: de::Error>() -> E {
    E::custom("not the evtx dumper's plain layout")
}

/// Keys already seen in one object, by hash: a repeated key (or two keys whose hashes
/// agree, which only costs the fast path) makes the reader give up, because a JSON object
/// with a repeated key keeps the last value at the first key's place. The first
/// [`Seen::HELD`] are held without allocating.
struct Seen {
    held: [u64; Seen::HELD],
    len: usize,
    more: Vec<u64>,
}

impl Seen {
    const HELD: usize = 32;

    fn new() -> Seen {
        Seen { held: [0; Seen::HELD], len: 0, more: Vec::new() }
    }

    fn first_time<E: de::Error>(&mut self, key: &str) -> Result<(), E> {
        if key == RAW_VALUE_TOKEN {
            return Err(give_up());
        }
        let mut h = rustc_hash::FxHasher::default();
        key.hash(&mut h);
        let h = h.finish();
        if self.held[..self.len.min(Seen::HELD)].contains(&h) || self.more.contains(&h) {
            return Err(give_up());
        }
        match self.held.get_mut(self.len) {
            Some(slot) => *slot = h,
            None => self.more.push(h),
        }
        self.len += 1;
        Ok(())
    }
}

/// The whole line: an object whose only key is `Event`.
struct Top;

impl<'de> DeserializeSeed<'de> for Top {
    type Value = Map<String, Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Top {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object with one key, Event")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        if map.next_key::<String>()?.as_deref() != Some("Event") {
            return Err(give_up());
        }
        let flat = map.next_value_seed(EventSeed)?;
        if map.next_key::<de::IgnoredAny>()?.is_some() {
            return Err(give_up());
        }
        Ok(flat)
    }
}

/// `Event`: its `System`, `EventData` and `UserData` (anything else is read and dropped).
struct EventSeed;

impl<'de> DeserializeSeed<'de> for EventSeed {
    type Value = Map<String, Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EventSeed {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an Event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // A Windows event has some 15 System fields and as many data fields, a few of them
        // with attributes; room for all, so the map is not grown and rehashed.
        let mut out = Map::with_capacity(48);
        let mut seen = Seen::new();
        let mut system = false;
        let mut data = None;
        let mut user = None;
        while let Some(key) = map.next_key::<String>()? {
            seen.first_time(&key)?;
            match key.as_str() {
                "System" => {
                    map.next_value_seed(SystemSeed(&mut out))?;
                    system = true;
                }
                "EventData" => data = Some(map.next_value_seed(DataSeed)?),
                "UserData" => user = Some(map.next_value::<Value>()?),
                _ => {
                    map.next_value::<Value>()?;
                }
            }
        }
        if !system {
            return Err(give_up());
        }
        // As `normalize` does: `EventData` when it is an object (anything else is dropped),
        // then the one element inside `UserData`.
        if let Some(Some(data)) = data {
            crate::normalize::lift(&mut out, data);
        }
        if let Some(Value::Object(user)) = user {
            for (_, inner) in user {
                if let Value::Object(inner) = inner {
                    crate::normalize::lift(&mut out, inner);
                }
            }
        }
        Ok(out)
    }
}

/// `System`: each field goes into the flat map as it is read.
struct SystemSeed<'a>(&'a mut Map<String, Value>);

impl<'de> DeserializeSeed<'de> for SystemSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SystemSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a System object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let out = self.0;
        let mut seen = Seen::new();
        while let Some(key) = map.next_key::<String>()? {
            seen.first_time(&key)?;
            match map.next_value_seed(FieldSeed)? {
                Field::Plain(v) => {
                    out.insert(key, v);
                }
                Field::Element { text, attributes } => {
                    // `EventID` with qualifiers: `{"#attributes": {...}, "#text": 4624}`.
                    if let Some(text) = text {
                        out.insert(key.clone(), text);
                    }
                    for (ak, av) in attributes.into_iter().flatten() {
                        out.insert(crate::normalize::attribute_name(&key, &ak), av);
                    }
                }
            }
        }
        Ok(())
    }
}

/// A `System` field: a value, or an element with text and attributes.
enum Field {
    Plain(Value),
    /// `attributes`: `None` when the element has none, or they are not an object.
    Element {
        text: Option<Value>,
        attributes: Option<Vec<(String, Value)>>,
    },
}

struct FieldSeed;

impl<'de> DeserializeSeed<'de> for FieldSeed {
    type Value = Field;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Field, D::Error> {
        d.deserialize_any(self)
    }
}

/// What serde_json's own `Value` parser does for each kind of value, but for an object,
/// which is read as an element.
impl<'de> Visitor<'de> for FieldSeed {
    type Value = Field;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Field, E> {
        Ok(Field::Plain(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Field, E> {
        Ok(Field::Plain(Value::Number(v.into())))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Field, E> {
        Ok(Field::Plain(Value::Number(v.into())))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Field, E> {
        Ok(Field::Plain(Number::from_f64(v).map_or(Value::Null, Value::Number)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Field, E> {
        Ok(Field::Plain(Value::String(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Field, E> {
        Ok(Field::Plain(Value::String(v)))
    }

    fn visit_unit<E>(self) -> Result<Field, E> {
        Ok(Field::Plain(Value::Null))
    }

    fn visit_none<E>(self) -> Result<Field, E> {
        Ok(Field::Plain(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Field, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Value>()? {
            items.push(item);
        }
        Ok(Field::Plain(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Field, A::Error> {
        let mut seen = Seen::new();
        let mut text = None;
        let mut attributes = None;
        while let Some(key) = map.next_key::<String>()? {
            seen.first_time(&key)?;
            match key.as_str() {
                "#text" => text = Some(map.next_value::<Value>()?),
                "#attributes" => attributes = Some(map.next_value_seed(DataSeed)?),
                _ => {
                    map.next_value::<Value>()?;
                }
            }
        }
        // Attributes that are not an object are dropped, as `normalize` drops them.
        Ok(Field::Element { text, attributes: attributes.flatten() })
    }
}

/// An object's entries in order, each key once (`None` for a value that is not an object).
struct DataSeed;

impl<'de> DeserializeSeed<'de> for DataSeed {
    type Value = Option<Vec<(String, Value)>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DataSeed {
    type Value = Option<Vec<(String, Value)>>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen = Seen::new();
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(16));
        while let Some(key) = map.next_key::<String>()? {
            seen.first_time(&key)?;
            entries.push((key, map.next_value::<Value>()?));
        }
        Ok(Some(entries))
    }

    // Anything but an object is read as serde_json reads it and dropped.
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<Value>()?.is_some() {}
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the plain path gives: parse, then normalise.
    fn plain(line: &str) -> Value {
        crate::normalize(serde_json::from_str(line).expect("JSON"))
    }

    /// Equal values with the keys in the same order.
    fn same(fast: &Value, plain: &Value) -> bool {
        fast == plain && serde_json::to_string(fast).ok() == serde_json::to_string(plain).ok()
    }

    #[test]
    fn the_dumper_layout_is_read_straight_into_the_flat_layout() {
        let line = r##"{"Event":{"#attributes":{"xmlns":"x"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Security-Auditing","Guid":"G"}},"EventID":{"#attributes":{"Qualifiers":16384},"#text":4688},"TimeCreated":{"#attributes":{"SystemTime":"2026-12-07T00:00:00Z"}},"Channel":"Security","Security":null},"EventData":{"NewProcessName":"C:\\Windows\\cmd.exe ","Threat Name":"EICAR","EventID":5,"Data":{"#text":["a","b"]}}}}"##;
        let fast = windows_line(line).expect("the dumper's layout");
        assert!(same(&fast, &plain(line)));
        assert_eq!(fast["EventID"], 4688, "System wins over data");
        assert_eq!(fast["EventID_Qualifiers"], 16384);
        assert_eq!(fast["NewProcessName"], "C:\\Windows\\cmd.exe ", "kept as recorded");
        assert_eq!(fast["ThreatName"], "EICAR");
        assert_eq!(fast["Data"], serde_json::json!(["a", "b"]));
        // Aliases are added as `normalize` adds them (4688 is given Sysmon's names).
        assert_eq!(fast["Image"], "C:\\Windows\\cmd.exe ");
    }

    #[test]
    fn anything_unexpected_is_left_to_the_plain_parser() {
        for line in [
            r#"{"Event":{"System":{"EventID":1,"EventID":2}}}"#,
            r#"{"Event":{"EventData":{"A":1}}}"#,
            r#"{"Event":{"System":{"EventID":1}},"Other":1}"#,
            r#"{"Event":{"System":1}}"#,
            r##"{"Event":{"System":{"X":{"#attributes":{"a":1,"a":2}}}}}"##,
            r#"{"Event":{"System":{"EventID":1},"EventData":{"A":1,"A":2}}}"#,
            r#"{"Event":{"System":{"EventID":1},"System":{"EventID":1}}}"#,
            r#"{"Event":{"System":{"EventID":1}}} trailing"#,
            r#"{"Event":{"System":{"EventID":1e400}}}"#,
            r#"{"Event":{"System":{"EventID":1},"EventData":{"$serde_json::private::RawValue":"1"}}}"#,
            r#"{"Event":{"System":{"EventID":1}"#,
            r#"{"EventID":4624}"#,
            r#" {"Event":{"System":{"EventID":1}}}"#,
        ] {
            assert_eq!(windows_line(line), None, "{line}");
        }
    }

    /// Every Windows regression event shipped with the SigmaHQ rules, as the dumper's one
    /// line each, is read the fast way, and as the plain path reads it.
    #[test]
    fn sigmahq_regression_events_are_read_the_fast_way() {
        let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sigma");
        let (mut fast, mut total) = (0, 0);
        for file in crate::log_files(&[data.join("regression_data/rules/windows")]) {
            if file.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let text = std::fs::read_to_string(&file).expect("read");
            for doc in serde_json::Deserializer::from_str(&text).into_iter::<Value>() {
                let doc = doc.expect("JSON");
                for event in doc.as_array().cloned().unwrap_or_else(|| vec![doc]) {
                    let line = serde_json::to_string(&event).expect("JSON");
                    total += 1;
                    if let Some(flat) = windows_line(&line) {
                        fast += 1;
                        let plain = plain(&line);
                        assert!(same(&flat, &plain), "{}: {line}", file.display());
                    }
                }
            }
        }
        assert!(total > 200, "the regression events are there ({total})");
        assert_eq!(fast, total, "every regression event is in the dumper's plain layout");
    }

    #[test]
    fn objects_with_many_keys_are_checked_for_repeats_past_those_held() {
        let data = |keys: &[String]| {
            let fields: Vec<String> = keys.iter().map(|k| format!("\"{k}\":\"v\"")).collect();
            format!("{{\"Event\":{{\"System\":{{\"EventID\":1}},\"EventData\":{{{}}}}}}}", fields.join(","))
        };
        let mut keys: Vec<String> = (0..40).map(|i| format!("F{i}")).collect();
        let line = data(&keys);
        assert!(same(&windows_line(&line).expect("40 distinct keys"), &plain(&line)));
        keys.push("F35".to_owned());
        assert_eq!(windows_line(&data(&keys)), None, "a repeat past the first 32");
        keys.pop();
        keys.push("F3".to_owned());
        assert_eq!(windows_line(&data(&keys)), None, "a repeat of one held");
    }

    fn one_of(items: &'static [&'static str]) -> impl Strategy<Value = String> {
        proptest::sample::select(items).prop_map(str::to_owned)
    }

    fn object(entries: Vec<(String, String)>) -> String {
        let inner: Vec<String> = entries.into_iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
        format!("{{{}}}", inner.join(","))
    }

    fn scalar() -> impl Strategy<Value = String> {
        one_of(&["1", "\"a\"", "\"b c \"", "null", "true", "[1,\"x\"]", "1.5", "-3", "18446744073709551616", "{}"])
    }

    fn element() -> impl Strategy<Value = String> {
        let attributes = prop_oneof![
            3 => proptest::collection::vec((one_of(&["Name", "Guid", "Qualifiers"]), scalar()), 0..3).prop_map(object),
            1 => scalar(),
        ];
        proptest::collection::vec(
            prop_oneof![
                (Just("#attributes".to_owned()), attributes),
                (Just("#text".to_owned()), scalar()),
                (Just("other".to_owned()), scalar()),
            ],
            0..4,
        )
        .prop_map(object)
    }

    fn system() -> impl Strategy<Value = String> {
        let key =
            one_of(&["Provider", "EventID", "Channel", "Computer", "Security", "Provider_Name", "EventID_Qualifiers"]);
        let value = prop_oneof![2 => scalar(), 2 => element()];
        prop_oneof![
            8 => proptest::collection::vec((key, value), 0..6).prop_map(object),
            1 => scalar(),
        ]
    }

    fn data() -> impl Strategy<Value = String> {
        let key =
            one_of(&["Image", "EventID", "Threat Name", "ThreatName", "Data", "Channel", "A B", "AB", "#attributes"]);
        let value = prop_oneof![4 => scalar(), 1 => Just("{\"#text\":[\"a\",\"b\"]}".to_owned()), 1 => Just("{\"#text\":\"a\",\"x\":1}".to_owned())];
        prop_oneof![
            8 => proptest::collection::vec((key, value), 0..6).prop_map(object),
            1 => scalar(),
        ]
    }

    fn event() -> impl Strategy<Value = String> {
        let part = prop_oneof![
            4 => system().prop_map(|s| ("System".to_owned(), s)),
            4 => data().prop_map(|d| ("EventData".to_owned(), d)),
            1 => Just(("UserData".to_owned(), "{\"Cleared\":{\"SubjectUserName\":\"bob\",\"EventID\":9}}".to_owned())),
            1 => Just(("#attributes".to_owned(), "{\"xmlns\":\"x\"}".to_owned())),
        ];
        let top = prop_oneof![9 => Just(None), 1 => Just(Some(("Other".to_owned(), "1".to_owned())))];
        (proptest::collection::vec(part, 0..5), top).prop_map(|(parts, extra)| {
            let mut entries = vec![("Event".to_owned(), object(parts))];
            entries.extend(extra);
            object(entries)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// Whenever the fast reading gives an event, it is what parsing and normalising
        /// give, with the keys in the same order.
        #[test]
        fn the_fast_reading_is_parsing_and_normalising(line in event()) {
            if let Some(fast) = windows_line(&line) {
                let plain = plain(&line);
                prop_assert!(same(&fast, &plain), "{line}\nfast:  {fast}\nplain: {plain}");
            }
        }
    }
}
