//! Placing an event in Sigma's log-source taxonomy (product, service, category), from
//! the data in `data/logsources.yml`, so each rule runs only against events of its own
//! log source. What cannot be placed stays unknown and narrows nothing (fail open).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// The built-in mapping.
const BUILTIN: &str = include_str!("../data/logsources.yml");

/// Where an event belongs; `None` on a dimension means unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventLogSource {
    pub product: Option<String>,
    pub services: Option<Vec<String>>,
    pub categories: Option<Vec<String>>,
}

impl EventLogSource {
    /// Whether a rule with this log source may match the event.
    pub fn admits(&self, product: Option<&str>, service: Option<&str>, category: Option<&str>) -> bool {
        let fits = |rule: Option<&str>, event: Option<&[String]>| match (rule, event) {
            (Some(r), Some(values)) => values.iter().any(|v| v == r),
            _ => true,
        };
        fits(product, self.product.as_ref().map(std::slice::from_ref))
            && fits(service, self.services.as_deref())
            && fits(category, self.categories.as_deref())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    windows: WindowsMap,
    aws: AwsMap,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowsMap {
    services: BTreeMap<String, Vec<String>>,
    categories: Vec<ProviderCategories>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderCategories {
    provider: String,
    #[serde(default)]
    complete: bool,
    events: BTreeMap<i64, Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AwsMap {
    services: Vec<String>,
}

/// A log-source mapping.
#[derive(Debug, Clone)]
pub struct LogSourceMap {
    file: File,
}

impl LogSourceMap {
    /// The mapping shipped with Sekimori.
    pub fn builtin() -> LogSourceMap {
        Self::from_yaml(BUILTIN).unwrap_or_else(|e| unreachable!("data/logsources.yml is checked by tests: {e}"))
    }

    /// Parses a mapping in the format of `data/logsources.yml`.
    pub fn from_yaml(text: &str) -> Result<LogSourceMap, String> {
        Ok(LogSourceMap { file: yaml_serde::from_str(text).map_err(|e| e.to_string())? })
    }

    /// Places `event` (normalised).
    pub fn classify(&self, event: &Value) -> EventLogSource {
        if let Some(channel) = event.get("Channel").and_then(Value::as_str) {
            let w = &self.file.windows;
            let services = w.services.get(channel).cloned();
            let provider = event.get("Provider_Name").and_then(Value::as_str);
            let id = event.get("EventID").and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()));
            let categories =
                provider.and_then(|p| w.categories.iter().find(|c| c.provider == p)).and_then(|c| {
                    match id.and_then(|id| c.events.get(&id)) {
                        Some(cats) => Some(cats.clone()),
                        None if c.complete => Some(Vec::new()),
                        None => None,
                    }
                });
            return EventLogSource { product: Some("windows".into()), services, categories };
        }
        if event.get("eventSource").is_some() && event.get("eventName").is_some() {
            return EventLogSource {
                product: Some("aws".into()),
                services: Some(self.file.aws.services.clone()),
                categories: None,
            };
        }
        EventLogSource::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sysmon_registry_set_is_placed_and_narrows_rules() {
        let map = LogSourceMap::builtin();
        let ev = json!({"Channel": "Microsoft-Windows-Sysmon/Operational", "Provider_Name": "Microsoft-Windows-Sysmon", "EventID": 13});
        let ls = map.classify(&ev);
        assert_eq!(ls.product.as_deref(), Some("windows"));
        assert!(ls.admits(Some("windows"), None, Some("registry_set")));
        assert!(ls.admits(Some("windows"), None, Some("registry_event")));
        assert!(ls.admits(Some("windows"), Some("sysmon"), None));
        assert!(!ls.admits(Some("windows"), None, Some("process_creation")));
        assert!(!ls.admits(Some("windows"), Some("security"), None));
        assert!(!ls.admits(Some("linux"), None, None));
        assert!(ls.admits(None, None, None));
    }

    #[test]
    fn complete_providers_have_no_other_categories_and_unknowns_fail_open() {
        let map = LogSourceMap::builtin();
        let logon = map.classify(
            &json!({"Channel": "Security", "Provider_Name": "Microsoft-Windows-Security-Auditing", "EventID": "4624"}),
        );
        assert!(logon.admits(Some("windows"), Some("security"), None));
        assert!(!logon.admits(Some("windows"), None, Some("process_creation")));
        let odd = map.classify(&json!({"Channel": "Some/Other", "Provider_Name": "Vendor", "EventID": 1}));
        assert!(odd.admits(Some("windows"), Some("anything"), Some("anything")));
        let unknown = map.classify(&json!({"message": "hello"}));
        assert_eq!(unknown, EventLogSource::default());
        assert!(unknown.admits(Some("linux"), Some("auth"), None));
        let trail = map.classify(&json!({"eventSource": "s3.amazonaws.com", "eventName": "DeleteBucket"}));
        assert!(trail.admits(Some("aws"), Some("cloudtrail"), None));
        assert!(!trail.admits(Some("windows"), None, None));
    }
}
