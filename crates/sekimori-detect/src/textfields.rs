//! Windows events that keep their fields as `name:value` lines in one unnamed `<Data>`
//! item, as SQL Server writes its audit records to the Application log (event 33205):
//!
//! ```text
//! audit_schema_version:1
//! event_time:2021-09-12 10:02:31.0071137
//! action_id:EX
//! succeeded:true
//! server_principal_name:CORP\svc-sql
//! object_name:xp_cmdshell
//! statement:EXEC xp_cmdshell 'whoami'
//! additional_information:
//! ```
//!
//! The lines become fields of the event (`statement`, `object_name`,
//! `server_principal_name`, …), so rules and searches can name them; `Data` keeps the whole
//! text, which SigmaHQ's rules search (`Data|contains: 'statement:ALTER SERVER AUDIT'`).
//! Which events have such a layout, and its names, are data (`windows.text_fields` in
//! `data/logsources.yml`). A line starts a field only with one of the layout's names not
//! seen before; any other line continues the field before it, so a statement spanning
//! lines stays whole and cannot replace a field recorded before it. (A statement line that
//! begins with a *later* field's name ends the statement there; `Data` still holds all.)

use serde::Deserialize;
use serde_json::{Map, Value};

/// Fewest fields for a text to count as the layout.
const MIN_FIELDS: usize = 2;

/// One layout: the events that carry it and the names of its fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TextLayout {
    /// Text the provider's name contains (SQL Server's is `MSSQLSERVER`, `MSSQL$INSTANCE` or
    /// `MSSQLSERVER$AUDIT`).
    provider_contains: String,
    events: Vec<i64>,
    names: Vec<String>,
}

impl TextLayout {
    /// Whether this layout is the one of an event from `provider` with `id`.
    pub(crate) fn applies(&self, provider: &str, id: i64) -> bool {
        provider.contains(self.provider_contains.as_str()) && self.events.contains(&id)
    }

    /// The fields of `text` in this layout, in its order; `None` if it has fewer than
    /// [`MIN_FIELDS`].
    pub(crate) fn fields(&self, text: &str) -> Option<Vec<(String, String)>> {
        // The record ends with a line break; values keep any other, and `\r`, as recorded.
        let text = text.strip_suffix('\n').unwrap_or(text);
        let mut fields: Vec<(String, String)> = Vec::new();
        for line in text.split('\n') {
            let starts = line.split_once(':').filter(|(name, _)| {
                self.names.iter().any(|n| n == name) && !fields.iter().any(|(seen, _)| seen == name)
            });
            match (starts, fields.last_mut()) {
                (Some((name, value)), _) => fields.push((name.to_owned(), value.to_owned())),
                (None, Some((_, value))) => {
                    value.push('\n');
                    value.push_str(line);
                }
                // Text before the first field is not part of the layout.
                (None, None) => {}
            }
        }
        (fields.len() >= MIN_FIELDS).then_some(fields)
    }

    /// Adds the fields of the first `Data` item in this layout to `event`, never over a
    /// field the event has.
    pub(crate) fn add_to(&self, event: &mut Map<String, Value>) {
        let found = match event.get("Data") {
            Some(Value::String(text)) => self.fields(text),
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).find_map(|t| self.fields(t)),
            _ => None,
        };
        for (name, value) in found.into_iter().flatten() {
            event.entry(name).or_insert(Value::String(value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn layout() -> TextLayout {
        TextLayout {
            provider_contains: "MSSQL".into(),
            events: vec![33205],
            names: ["audit_schema_version", "action_id", "object_name", "statement", "additional_information"]
                .map(String::from)
                .to_vec(),
        }
    }

    #[test]
    fn lines_become_fields_and_a_statement_keeps_its_lines() {
        let text = "audit_schema_version:1\naction_id:EX  \nobject_name:xp_cmdshell\n\
                    statement:EXEC xp_cmdshell 'whoami'\r\n-- object_name:forged\nSELECT 1\nadditional_information:\n";
        let fields = layout().fields(text).expect("the layout");
        assert_eq!(
            fields,
            [
                ("audit_schema_version", "1"),
                ("action_id", "EX  "),
                ("object_name", "xp_cmdshell"),
                ("statement", "EXEC xp_cmdshell 'whoami'\r\n-- object_name:forged\nSELECT 1"),
                ("additional_information", ""),
            ]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
        // A line naming a field already seen continues the statement instead.
        let text = "object_name:a\nstatement:x\nobject_name:b";
        let fields = layout().fields(text).expect("the layout");
        assert_eq!(fields[1].1, "x\nobject_name:b");
        assert!(layout().fields("Login failed for user 'sa'.").is_none());
        assert!(layout().fields("statement:only one").is_none());
    }

    #[test]
    fn fields_are_added_from_the_first_item_in_the_layout_never_over_others() {
        let mut event = json!({"EventID": 33205, "statement": "kept",
                               "Data": ["noise", "object_name:sysadmin\nstatement:ALTER SERVER ROLE"]});
        let event = event.as_object_mut().expect("object");
        layout().add_to(event);
        assert_eq!((event["object_name"].as_str(), event["statement"].as_str()), (Some("sysadmin"), Some("kept")));
        assert!(layout().applies("MSSQLSERVER$AUDIT", 33205) && !layout().applies("MSSQLSERVER", 18456));
    }
}
