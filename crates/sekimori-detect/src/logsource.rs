//! Placing an event in Sigma's log-source taxonomy (product, service, category), from
//! the data in `data/logsources.yml`, so each rule runs only against events of its own
//! log source. An event the data cannot place is placed as its sender declared
//! ([`DeclaredLogSource`], the event's `sekimori.logsource`); with no declaration it stays
//! unknown and narrows nothing (fail open).

use crate::aliases::WindowsAliases;
use crate::textfields::TextLayout;
use crate::DetectError;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The built-in mapping.
const BUILTIN: &str = include_str!("../data/logsources.yml");

/// Where an event belongs; `None` on a dimension means unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventLogSource {
    pub product: Option<String>,
    pub services: Option<Vec<String>>,
    pub categories: Option<Vec<String>>,
    /// Declared by its sender ([`DeclaredLogSource`]): a product the sender does not name is
    /// none, not unknown, so a rule for some product does not run on it.
    pub declared: bool,
}

impl EventLogSource {
    /// Whether a rule with this log source may match the event.
    pub fn admits(&self, product: Option<&str>, service: Option<&str>, category: Option<&str>) -> bool {
        let fits = |rule: Option<&str>, event: Option<&[String]>| match (rule, event) {
            (Some(r), Some(values)) => values.iter().any(|v| v == r),
            _ => true,
        };
        if self.declared && self.product.is_none() && product.is_some() {
            return false;
        }
        fits(product, self.product.as_ref().map(std::slice::from_ref))
            && fits(service, self.services.as_deref())
            && fits(category, self.categories.as_deref())
    }
}

/// A log source declared by the sender of events the data cannot place (`POST
/// /api/v1/ingest?product=…&service=…&category=…`, or an event's own `sekimori.logsource`
/// object, or `logsource` of a `[[syslog.listeners]]` entry): a firewall, an antivirus, a
/// network device. It places events the data cannot place, and syslog messages (syslog
/// being only their transport). Each value is a Sigma log-source
/// name: 1 to 64 of `a-z`, `0-9`, `_`, `-`, `.`. Without a product, rules that name one do
/// not run on the events (a `{category: firewall}` source gets the firewall rules and the
/// product-less ones, not Zeek's or Windows'); an absent service or category is open.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredLogSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

impl DeclaredLogSource {
    /// `Err` names the first value that is not a Sigma log-source name.
    pub fn validate(&self) -> Result<(), DetectError> {
        for (key, value) in [("product", &self.product), ("service", &self.service), ("category", &self.category)] {
            if let Some(v) = value {
                let ok = (1..=64).contains(&v.len())
                    && v.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.".contains(&b));
                if !ok {
                    return Err(DetectError::setting(
                        key,
                        format!("must be 1 to 64 of a-z, 0-9, _, - and . (got {v:?})"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether nothing is declared.
    pub fn is_empty(&self) -> bool {
        self.product.is_none() && self.service.is_none() && self.category.is_none()
    }

    /// Writes the declaration into `event` as `sekimori.logsource`, where [`LogSourceMap`]
    /// reads it, unless the event declares its own (or is not an object, or has a
    /// `sekimori` that is not one). Stored with the event, it also places it when it is
    /// replayed (`sekimori rules backtest`).
    pub fn declare(&self, event: &mut Value) {
        if self.is_empty() {
            return;
        }
        let Some(object) = event.as_object_mut() else { return };
        let sekimori = object.entry("sekimori").or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Some(own) = sekimori.as_object_mut() {
            own.entry("logsource").or_insert_with(|| serde_json::to_value(self).unwrap_or_default());
        }
    }

    /// The declaration an event carries, if it is a valid one.
    fn of(event: &Value) -> Option<DeclaredLogSource> {
        let declared: DeclaredLogSource = serde_json::from_value(event.pointer("/sekimori/logsource")?.clone()).ok()?;
        (declared.validate().is_ok() && !declared.is_empty()).then_some(declared)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    windows: WindowsMap,
    aws: AwsMap,
    syslog: SyslogMap,
    azure: AzureMap,
    shapes: Vec<Shape>,
}

/// Another JSON log, recognised by the fields it carries.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Shape {
    /// Absent for logs any product may write (a W3C web server log).
    #[serde(default)]
    product: Option<String>,
    #[serde(default)]
    services: Option<Vec<String>>,
    #[serde(default)]
    categories: Option<Vec<String>>,
    /// All present (a name, or a path into nested objects and lists, as `aliases` reads).
    fields: Vec<String>,
    /// Fields that must also hold exactly this text.
    #[serde(default)]
    equals: BTreeMap<String, String>,
    /// Field names SigmaHQ's rules use, from where this log has them (first present wins).
    #[serde(default)]
    aliases: BTreeMap<String, Vec<String>>,
    /// Fields made by joining text: `CommandLine` from an argument list.
    #[serde(default)]
    joined: BTreeMap<String, Joined>,
}

/// A field made of the text at `from` (each path a string, a number or a list of them),
/// joined by `with`; added only when every path is present.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Joined {
    from: Vec<String>,
    with: String,
}

impl Joined {
    fn value(&self, event: &serde_json::Map<String, Value>) -> Option<Value> {
        let mut parts: Vec<String> = Vec::new();
        for path in &self.from {
            match path_value(event, path)? {
                Value::Array(items) => parts.extend(items.iter().filter_map(scalar_text)),
                other => parts.push(scalar_text(other)?),
            }
        }
        Some(Value::String(parts.join(&self.with)))
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Shape {
    fn fits(&self, event: &serde_json::Map<String, Value>) -> bool {
        self.fields.iter().all(|f| path_value(event, f).is_some())
            && self
                .equals
                .iter()
                .all(|(f, want)| path_value(event, f).and_then(Value::as_str).is_some_and(|v| v == want))
    }
}

/// The value at a dotted `path`, stepping into the first element of an array that has the
/// rest of the path (`protoPayload.metadata.event.eventName` where `event` is a list).
fn path_value<'a>(event: &'a serde_json::Map<String, Value>, path: &str) -> Option<&'a Value> {
    fn walk<'a>(v: &'a Value, rest: &str) -> Option<&'a Value> {
        if rest.is_empty() {
            return Some(v);
        }
        match v {
            Value::Array(items) => items.iter().find_map(|i| walk(i, rest)),
            Value::Object(m) => {
                if let Some(found) = m.get(rest) {
                    return Some(found);
                }
                let (head, tail) = rest.split_once('.')?;
                walk(m.get(head)?, tail)
            }
            _ => None,
        }
    }
    if let Some(v) = event.get(path) {
        return Some(v);
    }
    let (head, tail) = path.split_once('.')?;
    walk(event.get(head)?, tail)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AzureMap {
    categories: BTreeMap<String, Vec<String>>,
    graph: Vec<GraphShape>,
    aliases: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct GraphShape {
    fields: Vec<String>,
    services: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SyslogMap {
    all: Vec<String>,
    facilities: BTreeMap<String, Vec<String>>,
    programs: BTreeMap<String, Vec<String>>,
    /// Devices known by the `key=value` fields of their messages (the first that fits).
    #[serde(default)]
    devices: Vec<SyslogDevice>,
}

/// A device whose syslog messages are `key=value` pairs ([`crate::keyvalue`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SyslogDevice {
    product: String,
    /// All present as top-level fields.
    fields: Vec<String>,
    /// The field whose text is also a service (FortiOS `type`: `event`, `traffic`, `utm`).
    #[serde(default)]
    service_field: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowsMap {
    /// Channels of other products written in the same layout (Sysmon for Linux); every
    /// other channel is Windows.
    #[serde(default)]
    channel_products: BTreeMap<String, String>,
    services: BTreeMap<String, Vec<String>>,
    categories: Vec<ProviderCategories>,
    /// The fields a category's rules name, taken from a built-in event that records the
    /// same thing under other names (Security 4688 for `process_creation`: `Image` from
    /// `NewProcessName`).
    #[serde(default)]
    aliases: Vec<WindowsAliases>,
    /// Events that keep their fields as `name:value` lines in one data item (SQL Server's
    /// audit records, [`crate::textfields`]).
    #[serde(default)]
    text_fields: Vec<TextLayout>,
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
    /// What every CloudTrail `eventSource` ends with (`s3.amazonaws.com`).
    event_source_suffix: String,
}

/// A Windows event's provider and event ID.
fn windows_id(event: &serde_json::Map<String, Value>) -> Option<(&str, i64)> {
    let provider = event.get("Provider_Name")?.as_str()?;
    let id = event.get("EventID").and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))?;
    Some((provider, id))
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

    /// The built-in mapping, parsed once.
    pub fn builtin_ref() -> &'static LogSourceMap {
        static MAP: std::sync::OnceLock<LogSourceMap> = std::sync::OnceLock::new();
        MAP.get_or_init(LogSourceMap::builtin)
    }

    /// The Azure services of an Azure or Entra ID record, if it is one.
    fn azure_services(&self, event: &serde_json::Map<String, Value>) -> Option<Vec<String>> {
        let a = &self.file.azure;
        let exported = event.get("operationName").is_some() || event.get("resourceId").is_some();
        if let (true, Some(cat)) = (exported, event.get("category").and_then(Value::as_str)) {
            if let Some(services) = a.categories.get(cat) {
                return Some(services.clone());
            }
        }
        a.graph.iter().find(|g| g.fields.iter().all(|f| event.get(f).is_some())).map(|g| g.services.clone())
    }

    /// The shape an event has, if any.
    fn shape(&self, event: &serde_json::Map<String, Value>) -> Option<&Shape> {
        self.file.shapes.iter().find(|s| s.fits(event))
    }

    /// Adds the field names SigmaHQ's rules use to a record that lacks them (`aliases` in
    /// `data/logsources.yml`): the Log Analytics column names to Azure and Entra ID
    /// records, and those of each other shape; other events are untouched.
    pub fn add_aliases(&self, event: &mut serde_json::Map<String, Value>) {
        let layout = windows_id(event)
            .and_then(|(provider, id)| self.file.windows.text_fields.iter().find(|l| l.applies(provider, id)));
        if let Some(layout) = layout {
            layout.add_to(event);
        }
        if let Some(aliases) = self.windows_aliases(event) {
            aliases.add_to(event);
            return;
        }
        // In the order `classify` places events: a Windows event is placed as Windows
        // whatever else it holds, so no other source's aliases apply to it.
        if Self::windows_channel(event).is_some() {
            return;
        }
        let (aliases, joined) = if self.is_cloudtrail(event) {
            return;
        } else if self.azure_services(event).is_some() {
            (&self.file.azure.aliases, None)
        } else if let Some(shape) = self.shape(event) {
            (&shape.aliases, Some(&shape.joined))
        } else {
            return;
        };
        let mut added: Vec<(String, Value)> = aliases
            .iter()
            .filter(|(alias, _)| !event.contains_key(alias.as_str()))
            .filter_map(|(alias, sources)| {
                sources.iter().find_map(|s| path_value(event, s)).map(|v| (alias.clone(), v.clone()))
            })
            .collect();
        for (name, j) in joined.into_iter().flatten() {
            if !event.contains_key(name.as_str()) && !added.iter().any(|(a, _)| a == name) {
                added.extend(j.value(event).map(|v| (name.clone(), v)));
            }
        }
        event.extend(added);
    }

    fn is_cloudtrail(&self, event: &serde_json::Map<String, Value>) -> bool {
        event.get("eventName").is_some()
            && event
                .get("eventSource")
                .and_then(Value::as_str)
                .is_some_and(|s| s.ends_with(self.file.aws.event_source_suffix.as_str()))
    }

    /// Parses a mapping in the format of `data/logsources.yml`.
    pub fn from_yaml(text: &str) -> Result<LogSourceMap, DetectError> {
        Ok(LogSourceMap { file: yaml_serde::from_str(text).map_err(DetectError::syntax)? })
    }

    /// Whether `event` is a built-in Windows event given Sysmon's field names
    /// (`windows.aliases`), so that `hunt` can say which hits came from mapped events.
    pub fn is_mapped(&self, event: &Value) -> bool {
        event.as_object().is_some_and(|o| self.windows_aliases(o).is_some())
    }

    /// The aliases of a Windows event's provider and event ID, if the data names them.
    fn windows_aliases(&self, event: &serde_json::Map<String, Value>) -> Option<&WindowsAliases> {
        let (provider, id) = windows_id(event)?;
        self.file.windows.aliases.iter().find(|a| a.applies(provider, id))
    }

    /// The channel of a Windows event (`""` when it has none), or `None` for any other
    /// event. An event is Windows by its `Channel`, or by its structure whatever its
    /// `Channel` says (ETW conversions leave it null): a provider, an event id and a record
    /// number.
    fn windows_channel(event: &serde_json::Map<String, Value>) -> Option<&str> {
        match event.get("Channel") {
            Some(Value::String(c)) => Some(c.as_str()),
            _ if ["Provider_Name", "EventID", "EventRecordID"]
                .iter()
                .all(|f| event.get(*f).is_some_and(|v| !v.is_null())) =>
            {
                Some("")
            }
            _ => None,
        }
    }

    /// Places `event` (normalised).
    pub fn classify(&self, event: &Value) -> EventLogSource {
        if let Some(channel) = event.as_object().and_then(Self::windows_channel) {
            let w = &self.file.windows;
            // A channel the data does not name runs only rules without a service: a
            // service-scoped rule is for its own channel, not for whatever is unknown.
            let services = Some(w.services.get(channel).cloned().unwrap_or_default());
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
            let product = w.channel_products.get(channel).map_or("windows", String::as_str);
            return EventLogSource { product: Some(product.to_owned()), services, categories, declared: false };
        }
        let Some(object) = event.as_object() else { return EventLogSource::default() };
        if self.is_cloudtrail(object) {
            return EventLogSource {
                declared: false,
                product: Some("aws".into()),
                services: Some(self.file.aws.services.clone()),
                categories: None,
            };
        }
        if let Some(services) = self.azure_services(object) {
            return EventLogSource {
                product: Some("azure".into()),
                services: Some(services),
                categories: None,
                declared: false,
            };
        }
        if let Some(shape) = self.shape(object) {
            return EventLogSource {
                declared: false,
                product: shape.product.clone(),
                services: shape.services.clone(),
                categories: shape.categories.clone(),
            };
        }
        // Syslog is only the transport: a declaration (a listener's) says what is inside.
        if let Some(declared) = DeclaredLogSource::of(event) {
            return EventLogSource {
                product: declared.product,
                services: declared.service.map(|s| vec![s]),
                categories: declared.category.map(|c| vec![c]),
                declared: true,
            };
        }
        if let Some(syslog) = event.pointer("/log/syslog") {
            let m = &self.file.syslog;
            let mut services = m.all.clone();
            let facility = syslog.pointer("/facility/name").and_then(Value::as_str);
            let program = syslog.get("appname").and_then(Value::as_str);
            for extra in [facility.and_then(|f| m.facilities.get(f)), program.and_then(|p| m.programs.get(p))]
                .into_iter()
                .flatten()
            {
                services.extend(extra.iter().filter(|s| !services.contains(s)).cloned().collect::<Vec<_>>());
            }
            let device = m.devices.iter().find(|d| d.fields.iter().all(|f| event.get(f).is_some()));
            if let Some(service) = device
                .and_then(|d| d.service_field.as_ref())
                .and_then(|f| event.get(f))
                .and_then(Value::as_str)
                .filter(|s| !services.iter().any(|x| x == s))
            {
                services.push(service.to_owned());
            }
            return EventLogSource {
                product: device.map(|d| d.product.clone()),
                services: Some(services),
                categories: Some(Vec::new()),
                declared: false,
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
    fn complete_providers_have_no_other_categories_and_unknown_channels_run_no_service_rules() {
        let map = LogSourceMap::builtin();
        let logon = map.classify(
            &json!({"Channel": "Security", "Provider_Name": "Microsoft-Windows-Security-Auditing", "EventID": "4624"}),
        );
        assert!(logon.admits(Some("windows"), Some("security"), None));
        assert!(!logon.admits(Some("windows"), None, Some("process_creation")));
        // A channel the data does not name: rules without a service (any category, the
        // provider being unknown too) run; service-scoped ones do not.
        let odd = map.classify(&json!({"Channel": "Some/Other", "Provider_Name": "Vendor", "EventID": 1}));
        assert!(odd.admits(Some("windows"), None, Some("anything")));
        assert!(!odd.admits(Some("windows"), Some("capi2"), None));
        // Converted from ETW, `Channel: null`: still Windows, by its structure.
        let etw = map.classify(&json!({
            "Channel": null, "Provider_Name": "Microsoft-Windows-Sysmon", "EventID": 1, "EventRecordID": 7
        }));
        assert_eq!(etw.product.as_deref(), Some("windows"));
        assert!(etw.admits(Some("windows"), None, Some("process_creation")));
        assert!(!etw.admits(Some("zeek"), Some("rdp"), None) && !etw.admits(Some("cisco"), None, None));
        let ssh = map.classify(&json!({"Channel": "OpenSSH/Operational", "Provider_Name": "OpenSSH", "EventID": 4}));
        assert!(ssh.admits(Some("windows"), Some("openssh"), None));
        let unknown = map.classify(&json!({"message": "hello"}));
        assert_eq!(unknown, EventLogSource::default());
        assert!(unknown.admits(Some("linux"), Some("auth"), None));
        let trail = map.classify(&json!({"eventSource": "s3.amazonaws.com", "eventName": "DeleteBucket"}));
        assert!(trail.admits(Some("aws"), Some("cloudtrail"), None));
        assert!(!trail.admits(Some("windows"), None, None));
    }

    #[test]
    fn azure_records_are_placed_and_given_the_log_analytics_names() {
        let map = LogSourceMap::builtin();
        let exported = json!({"time": "2026-11-23T10:00:00Z", "operationName": "Sign-in activity", "category": "SignInLogs",
            "resultType": "50053", "resultDescription": "Account is locked", "callerIpAddress": "192.0.2.7",
            "properties": {"userPrincipalName": "a@example.com", "authenticationRequirement": "singleFactorAuthentication"}});
        let ls = map.classify(&exported);
        assert!(ls.admits(Some("azure"), Some("signinlogs"), None));
        assert!(!ls.admits(Some("azure"), Some("activitylogs"), None));
        let Value::Object(mut m) = exported else { unreachable!("an object") };
        map.add_aliases(&mut m);
        assert_eq!(m["ResultType"], "50053");
        assert_eq!(m["AuthenticationRequirement"], "singleFactorAuthentication");
        assert_eq!(m["IPAddress"], "192.0.2.7");
        let graph =
            json!({"userPrincipalName": "a@example.com", "appDisplayName": "Portal", "status": {"errorCode": 50126}});
        assert!(map.classify(&graph).admits(Some("azure"), Some("signinlogs"), None));
        let activity = json!({"operationName": "MICROSOFT.NETWORK/FIREWALLPOLICIES/RULEGROUPS/DELETE", "category": "Administrative", "resourceId": "/subscriptions/x"});
        assert!(map.classify(&activity).admits(Some("azure"), Some("activitylogs"), None));
        // Not Azure: nothing added.
        let mut other = serde_json::Map::new();
        other.insert("category".into(), json!("SignInLogs"));
        map.add_aliases(&mut other);
        assert_eq!(other.len(), 1);
    }

    #[test]
    fn what_the_data_cannot_place_is_placed_as_declared() {
        let map = LogSourceMap::builtin();
        let declared =
            DeclaredLogSource { product: Some("fortinet".into()), category: Some("firewall".into()), service: None };
        let mut event = json!({"srcip": "10.0.0.9", "dstport": 23, "action": "accept"});
        assert!(map.classify(&event).admits(Some("zeek"), Some("rdp"), None), "undeclared: open");
        declared.declare(&mut event);
        assert_eq!(event["sekimori"]["logsource"], json!({"product": "fortinet", "category": "firewall"}));
        let ls = map.classify(&event);
        assert!(ls.admits(Some("fortinet"), Some("fortigate"), None));
        assert!(ls.admits(None, None, Some("firewall")));
        assert!(!ls.admits(Some("zeek"), Some("rdp"), None));
        assert!(!ls.admits(None, None, Some("process_creation")));
        let mut traffic = json!({"dst_port": 23});
        DeclaredLogSource { category: Some("firewall".into()), ..Default::default() }.declare(&mut traffic);
        let ls = map.classify(&traffic);
        assert!(ls.admits(None, None, Some("firewall")) && ls.admits(None, None, None));
        assert!(!ls.admits(Some("zeek"), Some("rdp"), None), "no product declared: none, not any");
        // An event's own declaration stands; a placed event keeps its place; bad ones are ignored.
        let mut own = json!({"sekimori": {"logsource": {"product": "cisco"}}});
        declared.declare(&mut own);
        assert!(map.classify(&own).admits(Some("cisco"), None, Some("process_creation")));
        let mut windows =
            json!({"Channel": "Security", "Provider_Name": "Microsoft-Windows-Security-Auditing", "EventID": 4624});
        declared.declare(&mut windows);
        assert!(map.classify(&windows).admits(Some("windows"), Some("security"), None));
        let bad = json!({"sekimori": {"logsource": {"product": "Cisco ASA"}}});
        assert!(map.classify(&bad).admits(Some("zeek"), None, None));
        assert!(DeclaredLogSource { product: Some("Cisco".into()), ..Default::default() }.validate().is_err());
        assert!(DeclaredLogSource {
            product: Some("m365".into()),
            service: Some("threat_management".into()),
            ..Default::default()
        }
        .validate()
        .is_ok());
    }

    #[test]
    fn sekimori_audit_events_and_zeek_logs_are_placed() {
        let map = LogSourceMap::builtin();
        let audit = json!({"@timestamp": "2026-11-30T10:00:00.000Z",
            "event": {"kind": "event", "action": "admin.token.created", "outcome": "success"},
            "sekimori": {"tenant": "t1"}});
        let ls = map.classify(&audit);
        assert!(ls.admits(Some("sekimori"), Some("audit"), None));
        assert!(ls.admits(None, None, None));
        assert!(!ls.admits(Some("zeek"), Some("rdp"), None), "not every rule: only its own");
        let dns = json!({"uid": "CHhAvVGS1DHFjwGM9", "id.orig_h": "10.0.0.20", "trans_id": 4711,
            "query": "pool.minexmr.com", "qtype_name": "TXT", "answers": ["powershell -enc"]});
        let ls = map.classify(&dns);
        assert!(ls.admits(Some("zeek"), Some("dns"), None));
        assert!(ls.admits(None, None, Some("dns")));
        assert!(!ls.admits(Some("zeek"), Some("rdp"), None));
        let Value::Object(mut m) = dns else { unreachable!("an object") };
        map.add_aliases(&mut m);
        assert_eq!((&m["record_type"], &m["answer"]), (&json!("TXT"), &json!(["powershell -enc"])));
        let dce = json!({"uid": "C4J4Th3PJpwUYZZ6gc", "endpoint": "svcctl", "operation": "CreateServiceW"});
        assert!(map.classify(&dce).admits(Some("zeek"), Some("dce_rpc"), None));
        let x509 = json!({"fingerprint": "ab", "certificate.serial": "8BB00EE", "certificate.subject": "CN=Major Cobalt Strike"});
        assert!(map.classify(&x509).admits(Some("zeek"), Some("x509"), None));
    }

    #[test]
    fn okta_github_gcp_and_m365_logs_are_placed_by_their_shape() {
        let map = LogSourceMap::builtin();
        let okta = json!({"uuid": "e1", "published": "2026-11-30T10:00:00.000Z", "eventType": "user.mfa.factor.deactivate",
            "actor": {"alternateId": "a@example.com"}, "displayMessage": "Reset factor", "outcome": {"result": "SUCCESS"}});
        let ls = map.classify(&okta);
        assert!(ls.admits(Some("okta"), Some("okta"), None));
        assert!(!ls.admits(Some("github"), None, None) && !ls.admits(Some("windows"), None, None));
        let github = json!({"action": "org.disable_two_factor_requirement", "actor": "octocat", "org": "example",
            "@timestamp": 1_795_000_000_000_i64});
        assert!(map.classify(&github).admits(Some("github"), Some("audit"), None));
        let gcp = json!({"logName": "projects/p/logs/cloudaudit.googleapis.com%2Factivity",
            "protoPayload": {"@type": "type.googleapis.com/google.cloud.audit.AuditLog",
                "serviceName": "storage.googleapis.com", "methodName": "storage.buckets.list",
                "authenticationInfo": {"principalEmail": "a@example.com"}}});
        assert!(map.classify(&gcp).admits(Some("gcp"), Some("gcp.audit"), None));
        let Value::Object(mut m) = gcp else { unreachable!("an object") };
        map.add_aliases(&mut m);
        assert_eq!(m["gcp.audit.method_name"], "storage.buckets.list");
        assert_eq!(m["gcp.audit.authentication_info.principal_email"], "a@example.com");
        let m365 = json!({"CreationTime": "2026-11-30T10:00:00", "Workload": "SecurityComplianceCenter",
            "Operation": "AlertTriggered", "RecordType": 40, "Name": "Potential ransomware activity", "Status": "success"});
        let Value::Object(mut m) = m365 else { unreachable!("an object") };
        map.add_aliases(&mut m);
        let m365 = Value::Object(m);
        assert_eq!(m365["eventSource"], "SecurityComplianceCenter");
        assert_eq!(m365["eventName"], "Potential ransomware activity");
        // Its `eventSource` is not an AWS service: not CloudTrail.
        let ls = map.classify(&m365);
        assert!(ls.admits(Some("m365"), Some("threat_management"), None));
        assert!(!ls.admits(Some("aws"), Some("cloudtrail"), None));
    }

    #[test]
    fn workspace_kubernetes_onelogin_duo_bitbucket_canary_and_w3c_logs_are_placed() {
        let map = LogSourceMap::builtin();
        let workspace = json!({"logName": "organizations/1/logs/cloudaudit.googleapis.com%2Factivity",
            "protoPayload": {"@type": "type.googleapis.com/google.cloud.audit.AuditLog", "serviceName": "admin.googleapis.com",
                "methodName": "google.admin.AdminService.removePrivilege",
                "metadata": {"event": [{"eventName": "REMOVE_PRIVILEGE", "eventType": "DELEGATED_ADMIN_SETTINGS"}]}}});
        let ls = map.classify(&workspace);
        assert!(ls.admits(Some("gcp"), Some("google_workspace.admin"), None));
        assert!(!ls.admits(Some("gcp"), Some("gcp.audit"), None));
        assert!(!ls.admits(None, None, Some("webserver")), "no category");
        let Value::Object(mut m) = workspace else { unreachable!("an object") };
        map.add_aliases(&mut m);
        assert_eq!(m["eventService"], "admin.googleapis.com");
        assert_eq!(m["eventName"], "REMOVE_PRIVILEGE", "taken from the first event of the list");
        let login = json!({"protoPayload": {"serviceName": "login.googleapis.com", "methodName": "google.login.LoginService.loginFailure"}});
        assert!(map.classify(&login).admits(Some("gcp"), Some("google_workspace.login"), None));
        let k8s = json!({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "5d1e", "stage": "ResponseComplete",
            "verb": "delete", "requestURI": "/api/v1/namespaces/default/events/x", "objectRef": {"resource": "events"}});
        let ls = map.classify(&k8s);
        assert!(ls.admits(Some("kubernetes"), Some("audit"), Some("application")));
        assert!(ls.admits(Some("kubernetes"), Some("audit"), None));
        assert!(!ls.admits(Some("opencanary"), None, Some("application")));
        let onelogin = json!({"id": 1, "created_at": "2026-11-30T10:00:00Z", "account_id": 7, "event_type_id": 3});
        assert!(map.classify(&onelogin).admits(Some("onelogin"), Some("onelogin.events"), None));
        let duo = json!({"txid": "t1", "event_type": "authentication", "factor": "bypass_code", "result": "success", "reason": "bypass_user"});
        assert!(map.classify(&duo).admits(Some("cisco"), Some("duo"), None));
        assert!(!map.classify(&duo).admits(Some("cisco"), Some("aaa"), None));
        let bitbucket =
            json!({"auditType": {"action": "Unauthorized full data export triggered", "category": "Data pipeline"}});
        assert!(map.classify(&bitbucket).admits(Some("bitbucket"), Some("audit"), None));
        let canary = json!({"logtype": 5005, "node_id": "opencanary-1", "dst_port": 22, "src_host": "192.0.2.9"});
        assert!(map.classify(&canary).admits(Some("opencanary"), None, Some("application")));
        let proxy = json!({"c-uri": "http://example.com/a.exe", "cs-method": "GET", "c-useragent": "curl/8"});
        let ls = map.classify(&proxy);
        assert!(ls.admits(None, None, Some("proxy")) && !ls.admits(None, None, Some("webserver")));
        let web = json!({"cs-method": "GET", "cs-uri-stem": "/index.php", "cs-uri-query": "a=1", "sc-status": 200});
        let ls = map.classify(&web);
        assert!(ls.admits(None, None, Some("webserver")) && ls.admits(None, Some("nginx"), None));
        assert!(!ls.admits(None, None, Some("proxy")));
    }

    #[test]
    fn eslogger_exec_and_create_events_get_sysmon_names_and_macos_categories() {
        let map = LogSourceMap::builtin();
        let exec = json!({"schema_version": 1, "event_type": 9, "time": "2026-11-30T10:00:13Z",
            "process": {"executable": {"path": "/bin/zsh"}, "audit_token": {"pid": 500}},
            "event": {"exec": {"args": ["base64", "-d", "/tmp/p b64"], "cwd": {"path": "/Users/a"},
                "target": {"executable": {"path": "/usr/bin/base64"}, "audit_token": {"pid": 501, "euid": 501}}}}});
        let ls = map.classify(&exec);
        assert!(ls.admits(Some("macos"), None, Some("process_creation")));
        assert!(!ls.admits(Some("linux"), None, Some("process_creation")));
        let Value::Object(mut m) = exec else { unreachable!("an object") };
        map.add_aliases(&mut m);
        assert_eq!(m["Image"], "/usr/bin/base64");
        assert_eq!(m["CommandLine"], "base64 -d /tmp/p b64");
        assert_eq!(m["ParentImage"], "/bin/zsh");
        assert_eq!(m["CurrentDirectory"], "/Users/a");
        let created = json!({"schema_version": 1, "event_type": 13, "process": {"executable": {"path": "/bin/cp"}},
            "event": {"create": {"destination_type": 1, "destination": {"new_path":
                {"dir": {"path": "/Library/StartupItems"}, "filename": "evil.plist", "mode": 420}}}}});
        assert!(map.classify(&created).admits(Some("macos"), None, Some("file_event")));
        let Value::Object(mut m) = created else { unreachable!("an object") };
        map.add_aliases(&mut m);
        assert_eq!(m["TargetFilename"], "/Library/StartupItems/evil.plist");
        assert_eq!(m["Image"], "/bin/cp");
        let existing = json!({"schema_version": 1, "event": {"create": {"destination_type": 0,
            "destination": {"existing_file": {"path": "/etc/emond.d/rules/x.plist"}}}}});
        let Value::Object(mut m) = existing else { unreachable!("an object") };
        map.add_aliases(&mut m);
        assert_eq!(m["TargetFilename"], "/etc/emond.d/rules/x.plist");
    }

    #[test]
    fn sysmon_for_linux_is_linux_not_windows() {
        let map = LogSourceMap::builtin();
        let ev = json!({"Channel": "Linux-Sysmon/Operational", "Provider_Name": "Linux-Sysmon", "EventID": 1,
            "Image": "/usr/bin/curl", "CommandLine": "curl http://192.0.2.1/x"});
        let ls = map.classify(&ev);
        assert!(ls.admits(Some("linux"), None, Some("process_creation")));
        assert!(!ls.admits(Some("windows"), None, Some("process_creation")));
        assert!(!ls.admits(Some("linux"), None, Some("file_event")));
    }

    #[test]
    fn fortigate_messages_are_placed_by_their_fields() {
        let map = LogSourceMap::builtin();
        let event = crate::syslog::parse_syslog(
            br#"<189>date=2025-11-01 time=10:12:01 devname="FGT" devid="FG100F" logid="0100044547" type="event" subtype="system" vd="root" action="Add" cfgpath="system.admin""#,
            crate::syslog::Received { at_ms: 0, peer: None },
        )
        .expect("syslog");
        assert_eq!(event["cfgpath"], "system.admin");
        let placed = map.classify(&event);
        assert_eq!(placed.product.as_deref(), Some("fortigate"));
        assert!(placed.admits(Some("fortigate"), Some("event"), None), "{placed:?}");
        assert!(!placed.admits(Some("linux"), None, None), "not a Linux host's syslog");
        // Pairs without a FortiGate's fields stay generic syslog.
        let other = map.classify(&json!({"log": {"syslog": {}}, "a": "1", "type": "event"}));
        assert_eq!(other.product, None);
        assert!(!other.admits(Some("fortigate"), Some("event"), None));
    }

    #[test]
    fn syslog_services_come_from_facility_and_program() {
        let map = LogSourceMap::builtin();
        let ssh = map.classify(&json!({"log": {"syslog": {"facility": {"name": "auth"}, "appname": "sshd"}}}));
        assert!(ssh.admits(Some("linux"), Some("sshd"), None));
        assert!(ssh.admits(Some("linux"), Some("auth"), None));
        assert!(ssh.admits(Some("cisco"), Some("syslog"), None));
        assert!(!ssh.admits(Some("linux"), Some("cron"), None));
        assert!(!ssh.admits(Some("linux"), None, Some("process_creation")));
        let other = map.classify(&json!({"log": {"syslog": {"facility": {"name": "local0"}, "appname": "myapp"}}}));
        assert_eq!(other.services, Some(vec!["syslog".to_owned()]));
    }
}
