//! Receivers: where a route's notifications are delivered, in Alertmanager's shape
//! (`webhook_configs`, `slack_configs`, `msteamsv2_configs`). The secret fields (webhook
//! URLs, which carry their own credential, and HMAC keys) are plain strings here: the
//! service that stores the document seals them at rest and masks them on read.

use serde::Deserialize;

use crate::route::ConfigError;

/// How a secret is shown in a document read back from the server. The engine takes it in
/// place of a secret (a document read back still routes, e.g. for `sekimori alerts
/// route`); the server keeps the stored secret when a document is written back with it.
pub const MASKED: &str = "**********";

/// A receiver: a name routes refer to, and the channels it delivers to (none: the
/// notifications routed to it are dropped, as with Alertmanager's empty receiver).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receiver {
    /// The name routes refer to.
    pub name: String,
    /// Generic webhooks: the Alertmanager v4 body, signed when a key is given.
    #[serde(default)]
    pub webhook_configs: Vec<WebhookConfig>,
    /// Slack incoming webhooks: a Block Kit message.
    #[serde(default)]
    pub slack_configs: Vec<SlackConfig>,
    /// Microsoft Teams Workflows webhooks: an Adaptive Card.
    #[serde(default)]
    pub msteamsv2_configs: Vec<TeamsConfig>,
    /// Email over SMTP: HTML and text from templates, English or Japanese.
    #[serde(default)]
    pub email_configs: Vec<EmailConfig>,
}

/// How an email channel secures its SMTP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS: only to a relay on this machine (`localhost`, `127.0.0.1`, `::1`).
    None,
}

/// The language of an email's default templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum Language {
    /// English.
    #[default]
    #[serde(rename = "en")]
    En,
    /// Japanese.
    #[serde(rename = "ja")]
    Ja,
}

/// An email channel.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// Recipients.
    pub to: Vec<String>,
    /// Sender.
    pub from: String,
    /// The SMTP server, `host:port`.
    pub smarthost: String,
    /// STARTTLS (default), implicit TLS, or none (local relays only).
    #[serde(default)]
    pub tls: SmtpTls,
    /// A PEM file of CA certificates the server's certificate is checked against, in place
    /// of the public roots (a private CA).
    pub tls_ca_file: Option<String>,
    /// SMTP AUTH user.
    pub auth_username: Option<String>,
    /// SMTP AUTH password (secret).
    pub auth_password: Option<String>,
    /// The default templates' language.
    #[serde(default)]
    pub language: Language,
    /// A minijinja template for the subject, in place of the default.
    pub subject_template: Option<String>,
    /// A minijinja template for the text body, in place of the default.
    pub text_template: Option<String>,
    /// A minijinja template for the HTML body (escaped), in place of the default.
    pub html_template: Option<String>,
    /// Whether resolved groups are notified (default: no, as in Alertmanager).
    #[serde(default)]
    pub send_resolved: bool,
}

/// A generic webhook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST (secret: it may carry a credential).
    pub url: String,
    /// Key of the `X-Sekimori-Signature` HMAC-SHA256 (secret); unsigned when absent.
    pub hmac_key: Option<String>,
    /// Whether a group whose alerts were resolved is notified too (default: yes, as in
    /// Alertmanager's webhook).
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// Most alerts in one body (0: all); the rest are counted in `truncatedAlerts`.
    #[serde(default)]
    pub max_alerts: usize,
    /// Messages a second to this webhook (default 0: unpaced).
    #[serde(default)]
    pub per_second: f64,
}

/// A Slack incoming webhook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// The incoming-webhook URL (secret: it is the credential).
    pub api_url: String,
    /// Whether resolved groups are notified (default: no, as in Alertmanager's Slack).
    #[serde(default)]
    pub send_resolved: bool,
    /// Messages a second to this webhook (Slack allows about one).
    #[serde(default = "one")]
    pub per_second: f64,
}

/// A Microsoft Teams Workflows webhook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamsConfig {
    /// The workflow's URL (secret: it carries its signature).
    pub webhook_url: String,
    /// Whether resolved groups are notified (default: yes).
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// Messages a second to this workflow (default 0: unpaced; Teams workflows allow a few
    /// a second).
    #[serde(default)]
    pub per_second: f64,
}

fn yes() -> bool {
    true
}

fn one() -> f64 {
    1.0
}

/// The kinds of channel, as named in the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChannelKind {
    /// `webhook_configs`.
    Webhook,
    /// `slack_configs`.
    Slack,
    /// `msteamsv2_configs`.
    Teams,
    /// `email_configs`.
    Email,
}

impl ChannelKind {
    /// The document's key for this kind.
    pub fn key(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook_configs",
            ChannelKind::Slack => "slack_configs",
            ChannelKind::Teams => "msteamsv2_configs",
            ChannelKind::Email => "email_configs",
        }
    }

    /// The fields of this kind that are secret.
    pub fn secret_fields(self) -> &'static [&'static str] {
        match self {
            ChannelKind::Webhook => &["url", "hmac_key"],
            ChannelKind::Slack => &["api_url"],
            ChannelKind::Teams => &["webhook_url"],
            ChannelKind::Email => &["auth_password"],
        }
    }

    /// Every kind.
    pub const ALL: [ChannelKind; 4] =
        [ChannelKind::Webhook, ChannelKind::Slack, ChannelKind::Teams, ChannelKind::Email];
}

/// One channel of a receiver, flattened: what the delivery side posts to.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    /// The receiver's name.
    pub receiver: String,
    /// Which kind, and its index among the receiver's channels of that kind, e.g.
    /// `slack_configs[0]` (the notification log keeps one entry per channel).
    pub kind: ChannelKind,
    /// The index.
    pub index: usize,
    /// Where to POST.
    pub url: String,
    /// The HMAC key, for a webhook that signs.
    pub hmac_key: Option<String>,
    /// Whether resolved groups are notified.
    pub send_resolved: bool,
    /// Most alerts in one webhook body (0: all).
    pub max_alerts: usize,
    /// Messages a second (0: unpaced).
    pub per_second: f64,
    /// For an email channel: its settings (`url` is then `smtp://smarthost`).
    pub email: Option<EmailConfig>,
}

impl Channel {
    /// `receiver/slack_configs[0]`: the channel's name in the notification log.
    pub fn id(&self) -> String {
        format!("{}/{}[{}]", self.receiver, self.kind.key(), self.index)
    }
}

impl Receiver {
    /// Its channels, in document order (webhooks, Slack, Teams).
    pub fn channels(&self) -> Vec<Channel> {
        let base = |kind, index, url: &str| Channel {
            receiver: self.name.clone(),
            kind,
            index,
            url: url.to_owned(),
            hmac_key: None,
            send_resolved: true,
            max_alerts: 0,
            per_second: 0.0,
            email: None,
        };
        let mut out = Vec::new();
        for (i, c) in self.webhook_configs.iter().enumerate() {
            out.push(Channel {
                hmac_key: c.hmac_key.clone(),
                send_resolved: c.send_resolved,
                max_alerts: c.max_alerts,
                per_second: c.per_second,
                ..base(ChannelKind::Webhook, i, &c.url)
            });
        }
        for (i, c) in self.slack_configs.iter().enumerate() {
            out.push(Channel {
                send_resolved: c.send_resolved,
                per_second: c.per_second,
                ..base(ChannelKind::Slack, i, &c.api_url)
            });
        }
        for (i, c) in self.msteamsv2_configs.iter().enumerate() {
            out.push(Channel {
                send_resolved: c.send_resolved,
                per_second: c.per_second,
                ..base(ChannelKind::Teams, i, &c.webhook_url)
            });
        }
        for (i, c) in self.email_configs.iter().enumerate() {
            out.push(Channel {
                send_resolved: c.send_resolved,
                email: Some(c.clone()),
                ..base(ChannelKind::Email, i, &format!("smtp://{}", c.smarthost))
            });
        }
        out
    }

    /// Checks the channels: URLs are absolute `http`/`https`, keys not empty, rates not
    /// negative. `place` is the receiver's place, e.g. `receivers[2]`.
    pub(crate) fn check(&self, place: &str) -> Result<(), ConfigError> {
        let err = |at: String, reason: &str| ConfigError { place: at, reason: reason.to_owned() };
        for channel in self.channels() {
            let at = format!("{place}.{}[{}]", channel.kind.key(), channel.index);
            if let Some(email) = &channel.email {
                email.check(&at)?;
                continue;
            }
            let field = channel.kind.secret_fields()[0];
            if channel.url == MASKED {
                continue;
            }
            let lower = channel.url.to_ascii_lowercase();
            let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"));
            if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) {
                return Err(err(format!("{at}.{field}"), "must be an absolute http:// or https:// URL"));
            }
            if channel.url.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(err(format!("{at}.{field}"), "must not contain spaces or control characters"));
            }
            if channel.hmac_key.as_deref().is_some_and(|k| k != MASKED && k.len() < 16) {
                return Err(err(format!("{at}.hmac_key"), "must be at least 16 characters"));
            }
            if !channel.per_second.is_finite() || channel.per_second < 0.0 {
                return Err(err(format!("{at}.per_second"), "must be a number of zero or more"));
            }
        }
        Ok(())
    }
}

fn plain_address(a: &str) -> bool {
    let Some((local, domain)) = a.rsplit_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && a.len() <= 254
        && !a.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"'))
}

impl EmailConfig {
    /// The host and port of `smarthost`.
    pub fn host_port(&self) -> Option<(&str, u16)> {
        let (host, port) = self.smarthost.rsplit_once(':')?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = port.parse().ok().filter(|p| *p > 0)?;
        (!host.is_empty()).then_some((host, port))
    }

    fn check(&self, at: &str) -> Result<(), ConfigError> {
        let err = |field: &str, reason: &str| ConfigError { place: format!("{at}.{field}"), reason: reason.to_owned() };
        if self.to.is_empty() || self.to.len() > 100 {
            return Err(err("to", "1 to 100 recipients"));
        }
        if let Some(i) = self.to.iter().position(|a| !plain_address(a)) {
            return Err(err(&format!("to[{i}]"), "must be an address such as soc@example.jp"));
        }
        if !plain_address(&self.from) {
            return Err(err("from", "must be an address such as sekimori@example.jp"));
        }
        let Some((host, _)) = self.host_port() else {
            return Err(err("smarthost", "must be host:port, e.g. smtp.example.jp:587"));
        };
        if self.tls == SmtpTls::None && !matches!(host, "localhost" | "127.0.0.1" | "::1") {
            return Err(err("tls", "none is only for a relay on this machine (localhost); use starttls or tls"));
        }
        if self.auth_username.is_some() != self.auth_password.is_some() {
            return Err(err("auth_password", "auth_username and auth_password go together"));
        }
        if self.auth_password.is_some() && self.tls == SmtpTls::None {
            return Err(err("auth_password", "a password is never sent without TLS"));
        }
        for (field, template) in [
            ("subject_template", &self.subject_template),
            ("text_template", &self.text_template),
            ("html_template", &self.html_template),
        ] {
            if let Some(t) = template {
                crate::email::check_template(t).map_err(|e| err(field, &e.to_string()))?;
            }
        }
        Ok(())
    }
}
