//! Field mappings as data: a YAML file that names, for fields a log source writes, the
//! Sigma field each one is. `sekimori hunt --mapping FILE` applies one to every event.
//!
//! ```yaml
//! # sources that log `process.command_line` (ECS) for Sigma's `CommandLine`
//! fields:
//!   process.command_line: CommandLine
//!   process.executable: Image
//! ```
//!
//! A source field is looked up as a top-level key first, then as a dotted path into
//! nested objects. The Sigma field is added when the event does not already have it.

use crate::DetectError;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// A parsed mapping file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMapping {
    /// Source field → Sigma field.
    pub fields: BTreeMap<String, String>,
}

impl FieldMapping {
    /// Parses a mapping file's text; the error says what is wrong and where.
    pub fn from_yaml(text: &str) -> Result<FieldMapping, DetectError> {
        yaml_serde::from_str(text).map_err(DetectError::syntax)
    }

    /// Adds the Sigma-named copies of the mapped fields to `event`.
    pub fn apply(&self, event: &mut Value) {
        let mut added = Vec::new();
        for (from, to) in &self.fields {
            if event.get(to).is_some() {
                continue;
            }
            let found = event.get(from).or_else(|| from.split('.').try_fold(&*event, |v, k| v.get(k)));
            if let Some(v) = found {
                added.push((to.clone(), v.clone()));
            }
        }
        if let Value::Object(o) = event {
            o.extend(added);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_flat_and_dotted_fields_without_overwriting() {
        let m = FieldMapping::from_yaml(
            "fields:\n  process.command_line: CommandLine\n  user: User\n  host.name: Computer\n",
        )
        .expect("parse");
        let mut e =
            json!({"process": {"command_line": "whoami"}, "user": "bob", "Computer": "kept", "host": {"name": "x"}});
        m.apply(&mut e);
        assert_eq!(e["CommandLine"], "whoami");
        assert_eq!(e["User"], "bob");
        assert_eq!(e["Computer"], "kept");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = FieldMapping::from_yaml("field:\n  a: b\n").expect_err("typo");
        assert!(matches!(&err, DetectError::Syntax(m) if m.contains("field")), "{err}");
    }
}
