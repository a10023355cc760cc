//! What a notification says on the wire, for each kind of receiver, built without IO so
//! the bodies can be checked exactly: the Alertmanager v4 webhook JSON (so existing
//! Alertmanager consumers work unchanged) with an HMAC-SHA256 signature header, a Slack
//! Block Kit message, and a Microsoft Teams Adaptive Card for a Workflows webhook.

use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;

use crate::group::Flush;
use crate::labels::Labels;

/// One alert of a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertView {
    /// Its labels (rule, severity, entity, …).
    pub labels: Labels,
    /// Human text: `summary`, `description`, …
    pub annotations: Labels,
    /// When it started firing (RFC 3339).
    pub starts_at: String,
    /// When it was resolved (RFC 3339), if it was.
    pub ends_at: Option<String>,
    /// The alert's page (the console, or the admin API).
    pub url: String,
    /// Computed once from the labels (an alert is notified many times).
    fingerprint: String,
}

impl AlertView {
    /// An alert with `labels`, its fingerprint computed.
    pub fn new(labels: Labels, annotations: Labels, starts_at: String, ends_at: Option<String>, url: String) -> Self {
        let fingerprint = Self::fingerprint_of(&labels);
        AlertView { labels, annotations, starts_at, ends_at, url, fingerprint }
    }

    /// A stable identity: the first 16 hex digits of SHA-256 over the sorted labels.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The fingerprint of an alert with `labels`.
    pub fn fingerprint_of(labels: &Labels) -> String {
        use sha2::Digest;
        let mut h = Sha256::new();
        for (k, v) in labels {
            h.update(k.as_bytes());
            h.update([0xff]);
            h.update(v.as_bytes());
            h.update([0xff]);
        }
        hex::encode(&h.finalize()[..8])
    }
}

/// A group's notification, ready to be rendered for a receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The receiver.
    pub receiver: String,
    /// The group (route and grouping labels).
    pub group: crate::GroupKey,
    /// Its alerts; none when the group's last alert was resolved.
    pub alerts: Vec<AlertView>,
    /// Sekimori's public URL (`externalURL`).
    pub external_url: String,
}

impl Notification {
    /// `firing` while any alert fires, else `resolved`.
    pub fn status(&self) -> &'static str {
        if self.alerts.iter().any(|a| a.ends_at.is_none()) {
            "firing"
        } else {
            "resolved"
        }
    }

    /// The labels every alert shares.
    pub fn common_labels(&self) -> Labels {
        common(self.alerts.iter().map(|a| &a.labels))
    }

    /// The annotations every alert shares.
    pub fn common_annotations(&self) -> Labels {
        common(self.alerts.iter().map(|a| &a.annotations))
    }

    /// `route:{label="value", …}`, the group's identity for deduplication downstream.
    pub fn group_key(&self) -> String {
        let labels: Vec<String> = self.group.labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        format!("{}:{{{}}}", self.group.route, labels.join(", "))
    }

    /// A notification for `flush`, with its alerts described by `view`.
    pub fn of(flush: &Flush, external_url: &str, view: impl Fn(&Labels) -> AlertView) -> Self {
        Notification {
            receiver: flush.receiver.clone(),
            group: flush.key.clone(),
            alerts: flush.alerts.iter().map(view).collect(),
            external_url: external_url.to_owned(),
        }
    }
}

fn common<'a>(mut all: impl Iterator<Item = &'a Labels>) -> Labels {
    let Some(first) = all.next() else { return Labels::new() };
    let mut out = first.clone();
    for l in all {
        out.retain(|k, v| l.get(k) == Some(v));
    }
    out
}

fn object(l: &Labels) -> Value {
    Value::Object(l.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect::<Map<_, _>>())
}

/// The Alertmanager webhook body, `version: "4"`, field for field.
pub fn alertmanager_v4(n: &Notification) -> Value {
    let alerts: Vec<Value> = n
        .alerts
        .iter()
        .map(|a| {
            json!({
                "status": if a.ends_at.is_some() { "resolved" } else { "firing" },
                "labels": object(&a.labels),
                "annotations": object(&a.annotations),
                "startsAt": a.starts_at,
                "endsAt": a.ends_at.clone().unwrap_or_else(|| "0001-01-01T00:00:00Z".to_owned()),
                "generatorURL": a.url,
                "fingerprint": a.fingerprint(),
            })
        })
        .collect();
    json!({
        "version": "4",
        "groupKey": n.group_key(),
        "truncatedAlerts": 0,
        "status": n.status(),
        "receiver": n.receiver,
        "groupLabels": object(&n.group.labels),
        "commonLabels": object(&n.common_labels()),
        "commonAnnotations": object(&n.common_annotations()),
        "externalURL": n.external_url,
        "alerts": alerts,
    })
}

/// The name of the header that signs a webhook body.
pub const SIGNATURE_HEADER: &str = "X-Sekimori-Signature";

/// The signature header's value for `body` sent at `unix_seconds`:
/// `t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>`. The receiver recomputes it
/// and refuses a body whose time is too old (replay) or whose MAC differs.
pub fn signature(key: &[u8], unix_seconds: i64, body: &[u8]) -> String {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={unix_seconds},v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn title(a: &AlertView) -> String {
    a.annotations
        .get("summary")
        .or_else(|| a.labels.get("title"))
        .or_else(|| a.labels.get("rule"))
        .cloned()
        .unwrap_or_else(|| "Sekimori alert".to_owned())
}

fn facts(a: &AlertView) -> Vec<(&'static str, String)> {
    let get = |k: &str| a.labels.get(k).cloned().unwrap_or_else(|| "-".to_owned());
    let entity = a.labels.get("user").or_else(|| a.labels.get("address")).cloned().unwrap_or_else(|| "-".to_owned());
    vec![("Severity", get("severity")), ("Rule", get("rule")), ("Entity", entity), ("Source", get("source"))]
}

/// A Slack incoming-webhook message in Block Kit: a header per alert (up to ten), its
/// severity, rule, entity and source as fields, and a button to the alert.
pub fn slack(n: &Notification) -> Value {
    let mut blocks = Vec::new();
    let status = n.status();
    for a in n.alerts.iter().take(10) {
        let state = if a.ends_at.is_some() { "Resolved" } else { "Firing" };
        blocks.push(json!({"type": "header", "text": {"type": "plain_text", "text": format!("[{state}] {}", title(a)), "emoji": false}}));
        let fields: Vec<Value> = facts(a)
            .into_iter()
            .map(|(k, v)| json!({"type": "mrkdwn", "text": format!("*{k}*\n{}", escape_mrkdwn(&v))}))
            .collect();
        blocks.push(json!({"type": "section", "fields": fields}));
        blocks.push(json!({"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open alert"}, "url": a.url}]}));
    }
    if n.alerts.len() > 10 {
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": format!("and {} more", n.alerts.len() - 10)}]}));
    }
    let text = match n.alerts.first() {
        Some(a) => {
            format!("[{status}] {} ({} alert{})", title(a), n.alerts.len(), if n.alerts.len() == 1 { "" } else { "s" })
        }
        None => format!("[{status}] {}", n.group_key()),
    };
    json!({"text": text, "blocks": blocks})
}

/// Slack's mrkdwn treats `&`, `<` and `>` as control characters.
fn escape_mrkdwn(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A Microsoft Teams message for a Workflows webhook: an Adaptive Card (schema 1.4) with a
/// title per alert, a fact set, and an action to open the alert.
pub fn teams(n: &Notification) -> Value {
    let mut body = Vec::new();
    for a in n.alerts.iter().take(10) {
        let state = if a.ends_at.is_some() { "Resolved" } else { "Firing" };
        body.push(json!({"type": "TextBlock", "text": format!("[{state}] {}", title(a)), "weight": "Bolder", "size": "Medium", "wrap": true}));
        let facts: Vec<Value> = facts(a).into_iter().map(|(k, v)| json!({"title": k, "value": v})).collect();
        body.push(json!({"type": "FactSet", "facts": facts}));
    }
    let actions: Vec<Value> = n
        .alerts
        .iter()
        .take(5)
        .map(|a| json!({"type": "Action.OpenUrl", "title": format!("Open {}", title(a)), "url": a.url}))
        .collect();
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
                "actions": actions,
            }
        }]
    })
}
