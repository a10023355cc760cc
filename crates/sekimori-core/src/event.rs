//! The one event shape: Elastic Common Schema field names (DESIGN section 5), used for
//! the audit log and, later, for detection.

use serde_json::{json, Map, Value};

use crate::Timestamp;

/// `event.outcome` in ECS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The action succeeded.
    Success,
    /// The action was refused or failed.
    Failure,
    /// Not decided yet (e.g. a login started).
    Unknown,
}

impl Outcome {
    /// The ECS value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Unknown => "unknown",
        }
    }
}

/// An event before it is written; the store assigns sequence and hash.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// When it happened.
    pub timestamp: Timestamp,
    /// The tenant it belongs to.
    pub tenant: String,
    /// `event.action`, e.g. `auth.push.approved`.
    pub action: String,
    /// `event.category`: `authentication`, `iam`, `configuration`, `session`.
    pub category: &'static str,
    /// `event.outcome`.
    pub outcome: Outcome,
    /// `user.id`.
    pub user_id: Option<String>,
    /// `user.name`.
    pub user_name: Option<String>,
    /// Extra ECS or `sekimori.*` fields, merged at the top level (dotted keys become nested).
    pub fields: Map<String, Value>,
}

impl NewEvent {
    /// An event with the required fields; add the rest with the builder methods.
    pub fn new(timestamp: Timestamp, tenant: &str, category: &'static str, action: &str, outcome: Outcome) -> Self {
        NewEvent {
            timestamp,
            tenant: tenant.to_owned(),
            action: action.to_owned(),
            category,
            outcome,
            user_id: None,
            user_name: None,
            fields: Map::new(),
        }
    }

    /// Sets `user.id` and `user.name`.
    pub fn user(mut self, id: &str, name: &str) -> Self {
        self.user_id = Some(id.to_owned());
        self.user_name = Some(name.to_owned());
        self
    }

    /// Sets a dotted field, e.g. `source.ip` or `sekimori.device.id`.
    pub fn field(mut self, dotted: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(dotted.to_owned(), value.into());
        self
    }

    /// Sets a dotted field when the value is present.
    pub fn field_opt(self, dotted: &str, value: Option<impl Into<Value>>) -> Self {
        match value {
            Some(v) => self.field(dotted, v),
            None => self,
        }
    }

    /// The nested ECS JSON document.
    pub fn to_ecs(&self) -> Value {
        let mut doc = json!({
            "@timestamp": self.timestamp.to_rfc3339(),
            "event": {
                "kind": "event",
                "category": [self.category],
                "action": self.action,
                "outcome": self.outcome.as_str(),
            },
            "sekimori": { "tenant": self.tenant },
        });
        if let Some(id) = &self.user_id {
            set_dotted(&mut doc, "user.id", Value::String(id.clone()));
        }
        if let Some(name) = &self.user_name {
            set_dotted(&mut doc, "user.name", Value::String(name.clone()));
        }
        for (k, v) in &self.fields {
            set_dotted(&mut doc, k, v.clone());
        }
        doc
    }
}

/// Sets `a.b.c` in a JSON object, creating intermediate objects.
pub fn set_dotted(doc: &mut Value, dotted: &str, value: Value) {
    let mut cur = doc;
    let mut parts = dotted.split('.').peekable();
    while let Some(part) = parts.next() {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let Value::Object(map) = cur else { return };
        if parts.peek().is_none() {
            map.insert(part.to_owned(), value);
            return;
        }
        cur = map.entry(part.to_owned()).or_insert_with(|| Value::Object(Map::new()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_nested_ecs() {
        let e = NewEvent::new(Timestamp(0), "default", "authentication", "auth.push.approved", Outcome::Success)
            .user("u1", "alice")
            .field("source.ip", "192.0.2.1")
            .field("sekimori.risk.decision", "OK");
        let d = e.to_ecs();
        assert_eq!(d["event"]["action"], "auth.push.approved");
        assert_eq!(d["event"]["outcome"], "success");
        assert_eq!(d["user"]["name"], "alice");
        assert_eq!(d["source"]["ip"], "192.0.2.1");
        assert_eq!(d["sekimori"]["tenant"], "default");
        assert_eq!(d["sekimori"]["risk"]["decision"], "OK");
        assert_eq!(d["@timestamp"], "1970-01-01T00:00:00.000Z");
    }
}
