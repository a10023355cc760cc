//! One flat event shape from the layouts logs arrive in.
//!
//! Sigma rules name flat fields (`EventID`, `Provider_Name`, `Image`, `CommandLine`, …).
//! Windows events converted by the `evtx` crate's dumper arrive nested
//! (`Event.System.Provider.#attributes.Name`, `Event.EventData.Image`), and some providers
//! (Microsoft Defender) name their data with spaces (`Threat Name`). Other converters emit
//! the flat layout already, and other sources (CloudTrail, Entra ID, Okta, GitHub, Google
//! Cloud, Microsoft 365, macOS `eslogger`, Sekimori's own ECS events, …) are used as they
//! are, with the field names SigmaHQ's rules use added where they differ (`aliases` and
//! `joined` in `data/logsources.yml`).

use serde_json::{Map, Value};

/// Returns the event in the flat layout: an `evtx`-style nested Windows event is
/// flattened; anything else is returned unchanged.
pub fn normalize(event: Value) -> Value {
    match event {
        Value::Object(mut top) => match top.remove("Event") {
            Some(Value::Object(ev)) if ev.contains_key("System") => {
                let mut flat = flatten_windows(ev);
                crate::logsource::LogSourceMap::builtin_ref().add_aliases(&mut flat);
                Value::Object(flat)
            }
            Some(other) => {
                top.insert("Event".to_owned(), other);
                Value::Object(top)
            }
            None => {
                crate::logsource::LogSourceMap::builtin_ref().add_aliases(&mut top);
                Value::Object(top)
            }
        },
        other => other,
    }
}

/// `System` fields keep their names (`EventID`, `Channel`, `Computer`, …); an element's
/// XML attributes become `<Element>_<Attribute>` (`Provider_Name`, `TimeCreated_SystemTime`,
/// `Security_UserID`); `EventData` and the one element inside `UserData` are lifted to the
/// top, and a data name with spaces is also given without them (`ThreatName`).
fn flatten_windows(mut ev: Map<String, Value>) -> Map<String, Value> {
    // Sized once (the attributes and aliases add a few more), not grown and rehashed.
    let len = |part: &str| ev.get(part).and_then(Value::as_object).map_or(0, Map::len);
    let mut out = Map::with_capacity(len("System") + len("EventData") + 8);
    if let Some(Value::Object(system)) = ev.remove("System") {
        for (k, v) in system {
            match v {
                Value::Object(mut o) => {
                    // `EventID` with qualifiers: `{"#attributes": {...}, "#text": 4624}`.
                    let attrs = o.remove("#attributes");
                    if let Some(text) = o.remove("#text") {
                        out.insert(k.clone(), text);
                    }
                    if let Some(Value::Object(attrs)) = attrs {
                        for (ak, av) in attrs {
                            out.insert(attribute_name(&k, &ak), av);
                        }
                    }
                }
                other => {
                    out.insert(k, other);
                }
            }
        }
    }
    if let Some(Value::Object(data)) = ev.remove("EventData") {
        lift(&mut out, data);
    }
    if let Some(Value::Object(user)) = ev.remove("UserData") {
        for (_, inner) in user {
            if let Value::Object(inner) = inner {
                lift(&mut out, inner);
            }
        }
    }
    out
}

/// The flat name of an element's attribute: `Provider` and `Name` give `Provider_Name`.
pub(crate) fn attribute_name(element: &str, attribute: &str) -> String {
    let mut name = String::with_capacity(element.len() + 1 + attribute.len());
    name.push_str(element);
    name.push('_');
    name.push_str(attribute);
    name
}

/// Unnamed `<Data>` items (Application, Exchange and SQL Server events) come from the EVTX
/// reader as `{"Data": {"#text": [...]}}` (or one string); SigmaHQ rules name them `Data`
/// and mean any item (`Data|contains: 'ntds.dit'`), so `Data` becomes the item or the list
/// of items, which a rule matches when any item matches.
fn unnamed_data(v: Value) -> Value {
    match v {
        Value::Object(mut o) if o.keys().all(|k| k == "#text" || k == "#attributes") && o.contains_key("#text") => {
            o.remove("#text").unwrap_or(Value::Null)
        }
        other => other,
    }
}

/// Lifts data fields (each name once, in order) to the top of `out`, where a field already
/// there (from `System`, or an earlier name) is kept.
pub(crate) fn lift(out: &mut Map<String, Value>, data: impl IntoIterator<Item = (String, Value)>) {
    for (k, v) in data {
        if k == "#attributes" {
            continue;
        }
        let v = if k == "Data" { unnamed_data(v) } else { v };
        if k.contains(' ') {
            let compact: String = k.chars().filter(|c| *c != ' ').collect();
            out.entry(compact).or_insert_with(|| v.clone());
        }
        // System fields win over data of the same name (both carry `EventID` sometimes).
        out.entry(k).or_insert(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unnamed_data_items_become_data() {
        let app = |data: Value| {
            normalize(json!({"Event": {
                "System": {"Provider": {"#attributes": {"Name": "ESENT"}}, "EventID": 325, "Channel": "Application"},
                "EventData": {"Data": data}
            }}))
        };
        assert_eq!(app(json!({"#text": ["NTDS", "C:\\x\\ntds.dit"]}))["Data"], json!(["NTDS", "C:\\x\\ntds.dit"]));
        assert_eq!(app(json!({"#text": "one"}))["Data"], json!("one"));
        // Named items and other layouts are left as they are.
        assert_eq!(app(json!({"#text": "x", "Other": 1}))["Data"], json!({"#text": "x", "Other": 1}));
    }

    #[test]
    fn nested_windows_events_are_flattened() {
        let nested = json!({"Event": {
            "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
            "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon", "Guid": "G"}},
                "EventID": 1,
                "Channel": "Microsoft-Windows-Sysmon/Operational",
                "TimeCreated": {"#attributes": {"SystemTime": "2025-11-27T07:40:10.165324Z"}},
                "Security": {"#attributes": {"UserID": "S-1-5-18"}}
            },
            "EventData": {"Image": "C:\\Windows\\System32\\cmd.exe", "Threat Name": "EICAR"}
        }});
        let flat = normalize(nested);
        assert_eq!(flat["Provider_Name"], "Microsoft-Windows-Sysmon");
        assert_eq!(flat["EventID"], 1);
        assert_eq!(flat["Channel"], "Microsoft-Windows-Sysmon/Operational");
        assert_eq!(flat["TimeCreated_SystemTime"], "2025-11-27T07:40:10.165324Z");
        assert_eq!(flat["Security_UserID"], "S-1-5-18");
        assert_eq!(flat["Image"], "C:\\Windows\\System32\\cmd.exe");
        assert_eq!(flat["ThreatName"], "EICAR");
        assert_eq!(flat["Threat Name"], "EICAR");
    }

    #[test]
    fn event_id_with_qualifiers_and_user_data() {
        let nested = json!({"Event": {
            "System": {"EventID": {"#attributes": {"Qualifiers": 16384}, "#text": 7036}},
            "UserData": {"LogFileCleared": {"#attributes": {"xmlns": "x"}, "SubjectUserName": "bob"}}
        }});
        let flat = normalize(nested);
        assert_eq!(flat["EventID"], 7036);
        assert_eq!(flat["EventID_Qualifiers"], 16384);
        assert_eq!(flat["SubjectUserName"], "bob");
    }

    #[test]
    fn flat_and_other_events_are_unchanged() {
        let flat = json!({"EventID": 4624, "Provider_Name": "Microsoft-Windows-Security-Auditing"});
        assert_eq!(normalize(flat.clone()), flat);
        let trail = json!({"eventSource": "s3.amazonaws.com", "eventName": "DeleteBucket"});
        assert_eq!(normalize(trail.clone()), trail);
        let odd = json!({"Event": "login"});
        assert_eq!(normalize(odd.clone()), odd);
        assert_eq!(normalize(json!([1, 2])), json!([1, 2]));
    }
}
