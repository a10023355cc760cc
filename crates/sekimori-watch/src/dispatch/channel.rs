//! What the dispatcher derives from an alert and sends to a channel: an alert's labels, a
//! notification's content hash and body for each kind of channel, delivery with the
//! sender's retries, and a paced channel's next slot.

use sekimori_core::Timestamp;
use std::time::Duration;

use sekimori_core::token::sha256_hex;
use sekimori_respond::delivery::RateLimit;
use sekimori_respond::payload::{self, AlertView, Notification};
use sekimori_respond::{Channel, ChannelKind, Labels};
use sekimori_store::{AlertRecord, NotificationAttempt, NotificationClaim};
use serde_json::Value;

use super::ms;
use crate::deliver::{HttpReceiver, Report, Sender};
use crate::WatchResult;

/// What `channel` is sent for `n`.
pub(crate) fn body_for(channel: &Channel, n: &Notification) -> Body {
    match (channel.kind, &channel.email) {
        (ChannelKind::Webhook, _) => Body::Http(webhook_body(n, channel.max_alerts)),
        (ChannelKind::Slack, _) => Body::Http(payload::slack(n)),
        (ChannelKind::Teams, _) => Body::Http(payload::teams(n)),
        (ChannelKind::Email, Some(cfg)) => match sekimori_respond::email::render(n, cfg) {
            Ok(email) => Body::Email(Box::new(email)),
            Err(e) => Body::Unrenderable(format!("template: {e}")),
        },
        (ChannelKind::Email, None) => Body::Unrenderable("an email channel without its settings".to_owned()),
    }
}

/// Sends `body` to `channel` with `sender`'s retries; what became of it.
pub(crate) async fn deliver(sender: &Sender, channel: &Channel, body: &Body, now: i64) -> Report {
    match (body, &channel.email) {
        (Body::Http(body), _) => {
            let receiver = HttpReceiver {
                name: channel.id(),
                url: channel.url.clone(),
                hmac_key: channel.hmac_key.as_ref().map(|k| k.as_bytes().to_vec()),
            };
            sender.post(&receiver, body).await
        }
        (Body::Email(email), Some(cfg)) => sender.mail(cfg, email).await,
        (Body::Email(_), None) => Report::refused(now, "an email without its channel settings"),
        (Body::Unrenderable(why), _) => Report::refused(now, why),
    }
}

/// What a job sends.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// A JSON body to POST.
    Http(Value),
    /// An email.
    Email(Box<sekimori_respond::email::Email>),
    /// The channel's templates did not render: recorded as a refused attempt.
    Unrenderable(String),
}

/// An alert's labels: those its ingest source gives (e.g. `environment`), then tenant, rule
/// (a baseline's short name), title, severity, kind, ATT&CK and other tags
/// (comma-separated), source, and the entities (user, address, host).
pub fn labels_of(a: &AlertRecord, source_labels: &crate::SourceLabels) -> WatchResult<Labels> {
    let corrupt = |what: &str, e: serde_json::Error| {
        sekimori_core::ServiceError::new(
            sekimori_core::ErrorCode::Internal,
            format!("stored alert {}: {what}: {e}", a.id),
        )
    };
    let tags: Vec<String> = serde_json::from_str(&a.tags).map_err(|e| corrupt("tags", e))?;
    let entities: sekimori_detect::baseline::Entities =
        serde_json::from_str(&a.entities).map_err(|e| corrupt("entities", e))?;
    let (kind, rule) = match a.rule_id.as_deref() {
        Some(id) => match id.strip_prefix(sekimori_detect::baseline::RULE_PREFIX) {
            Some(short) => ("baseline", Some(short.to_owned())),
            None => ("detection", Some(id.to_owned())),
        },
        None => ("detection", None),
    };
    let mut l: Labels = source_labels.clone();
    l.insert("tenant".into(), a.tenant_id.to_string());
    if let Some(rule) = rule {
        l.insert("rule".into(), rule);
    }
    l.insert("title".into(), a.title.clone());
    l.insert("severity".into(), a.level.clone());
    l.insert("kind".into(), kind.into());
    l.insert("source".into(), a.source_id.clone());
    if !tags.is_empty() {
        l.insert("tags".into(), tags.join(","));
    }
    for (name, value) in [("user", &entities.user), ("address", &entities.ip), ("host", &entities.host)] {
        if let Some(v) = value {
            l.insert(name.into(), v.clone());
        }
    }
    Ok(l)
}

pub(super) fn content_hash(firing: &[AlertView], resolved: &[AlertView]) -> String {
    let mut text = String::new();
    for a in firing {
        text.push_str(a.fingerprint());
        text.push(',');
    }
    text.push('|');
    for a in resolved {
        text.push_str(a.fingerprint());
        text.push(',');
    }
    sha256_hex(text.as_bytes())
}

/// Reserves the next slot of `limit` for a send wanted at `now`: how long it waits. The
/// bucket is asked as of the time the send will go, so sends started together are spaced.
pub(super) fn reserve(limit: &mut RateLimit, now: i64) -> Duration {
    let mut wait = Duration::ZERO;
    while let Err(more) = limit.take(now + ms(wait)) {
        wait += more;
    }
    wait
}

pub(super) fn matched_text(a: &AlertRecord) -> WatchResult<String> {
    let matched: Vec<String> = serde_json::from_str(&a.matched).map_err(|e| {
        sekimori_core::ServiceError::new(
            sekimori_core::ErrorCode::Internal,
            format!("stored alert {}: matched: {e}", a.id),
        )
    })?;
    Ok(matched.join(", "))
}

/// The Alertmanager v4 body, cut to `max_alerts` (0: all) with the rest counted.
pub(super) fn webhook_body(n: &Notification, max_alerts: usize) -> Value {
    if max_alerts == 0 || n.alerts.len() <= max_alerts {
        return payload::alertmanager_v4(n);
    }
    let cut = Notification { alerts: n.alerts[..max_alerts].to_vec(), ..n.clone() };
    let mut body = payload::alertmanager_v4(&cut);
    body["truncatedAlerts"] = Value::from(n.alerts.len() - max_alerts);
    body
}

impl crate::Watch {
    /// Records what became of a claimed notification of `alerts` alerts: each attempt, and
    /// the claim ended (delivered or failed).
    pub(crate) async fn record_notification(
        &self,
        claim: &NotificationClaim,
        report: &Report,
        alerts: i64,
    ) -> WatchResult<()> {
        let attempts: Vec<NotificationAttempt> = report
            .attempts
            .iter()
            .enumerate()
            .map(|(i, a)| NotificationAttempt {
                id: self.new_id(),
                tenant_id: claim.tenant_id.clone(),
                channel: claim.channel.clone(),
                group_key: claim.group_key.clone(),
                content_hash: claim.content_hash.clone(),
                alerts,
                attempt: i64::try_from(i + 1).unwrap_or(i64::MAX),
                at: Timestamp(a.at_ms),
                outcome: a.outcome.clone(),
            })
            .collect();
        self.store.finish_notification(claim, report.delivered, Timestamp(self.now_ms()), &attempts).await?;
        self.metrics.notified(&claim.channel, report.delivered);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_started_together_to_one_slack_webhook_are_spaced_a_second_apart() {
        let mut slack = RateLimit::new(1.0, 1, 0);
        let waits: Vec<Duration> = (0..4).map(|_| reserve(&mut slack, 0)).collect();
        assert_eq!(waits, [0, 1, 2, 3].map(Duration::from_secs));
        // Later, once the reserved slots are past, a send goes at once again.
        assert_eq!(reserve(&mut slack, 10_000), Duration::ZERO);
        let mut unpaced_burst = RateLimit::new(5.0, 1, 0);
        assert_eq!(reserve(&mut unpaced_burst, 0), Duration::ZERO);
        assert_eq!(reserve(&mut unpaced_burst, 0), Duration::from_millis(200));
    }
}
