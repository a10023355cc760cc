//! Web Push subscriptions (RFC 8030): a device's browser tells the server where its push
//! service accepts messages for it, with the RFC 8291 keys to encrypt them to. The sender
//! (`sekimori-webpush`) reads them when messages are stored; this module only admits and
//! keeps them.
//!
//! The endpoint is a URL the server will POST to, chosen by a device: only origins in
//! `gate.web_push.endpoint_origins` (the browsers' push services by default) are accepted,
//! so a device cannot make the server call into its own network.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sekimori_core::ecs::{action, field};
use sekimori_core::event::Outcome;
use sekimori_core::{ErrorCode, SettingsError};
use sekimori_store::{Device, PushSubscription, User};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use crate::{Context, GateError, GateResult};

/// The push services of the browsers in scope: Chrome and Edge (FCM), Firefox (Mozilla
/// autopush), Safari (Apple), and Windows (WNS, for Edge's legacy subscriptions).
pub const DEFAULT_ENDPOINT_ORIGINS: &[&str] = &[
    "https://fcm.googleapis.com",
    "https://updates.push.services.mozilla.com",
    "https://web.push.apple.com",
    "https://*.push.apple.com",
    "https://*.notify.windows.com",
];

/// `[gate.web_push]`: waking authenticator apps by Web Push.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebPushSettings {
    /// Send Web Push messages at all (subscriptions are refused when off).
    pub enabled: bool,
    /// The VAPID `sub` claim (RFC 8292 section 2.1): a `mailto:` or `https:` contact the
    /// push services can reach about this server's traffic. Default: the public URL when it
    /// is https, else none (some push services then refuse the request).
    pub subject: Option<String>,
    /// Origins (scheme, host, port) a subscription's endpoint may have; a host may start
    /// with `*.` for any subdomain. Default: [`DEFAULT_ENDPOINT_ORIGINS`].
    pub endpoint_origins: Vec<String>,
    /// Messages waiting to be sent before more are dropped (and counted).
    pub queue: usize,
    /// How many push requests are in flight at once.
    pub concurrency: usize,
    /// Timeout of one request to a push service, seconds.
    pub timeout_seconds: u64,
}

impl Default for WebPushSettings {
    fn default() -> Self {
        WebPushSettings {
            enabled: true,
            subject: None,
            endpoint_origins: DEFAULT_ENDPOINT_ORIGINS.iter().map(|s| (*s).to_owned()).collect(),
            queue: 10_000,
            concurrency: 32,
            timeout_seconds: 10,
        }
    }
}

impl WebPushSettings {
    /// Checks every value; the error names the key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        self.checked_origins().map(|_| ())
    }

    fn checked_origins(&self) -> Result<Vec<AllowedOrigin>, (&'static str, String)> {
        let origins = self
            .endpoint_origins
            .iter()
            .map(|o| AllowedOrigin::parse(o))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|why| ("gate.web_push.endpoint_origins", why.to_string()))?;
        if let Some(sub) = &self.subject {
            if !(sub.starts_with("mailto:") || sub.starts_with("https://")) {
                return Err(("gate.web_push.subject", format!("{sub:?} is not a mailto: or https: URL")));
            }
        }
        if self.queue == 0 {
            return Err(("gate.web_push.queue", "must be at least 1".into()));
        }
        if self.concurrency == 0 {
            return Err(("gate.web_push.concurrency", "must be at least 1".into()));
        }
        if !(1..=120).contains(&self.timeout_seconds) {
            return Err((
                "gate.web_push.timeout_seconds",
                format!("must be between 1 and 120, got {}", self.timeout_seconds),
            ));
        }
        Ok(origins)
    }

    /// The VAPID `sub` claim to send: the configured one, else the public URL when https.
    pub fn subject_for(&self, public_url: &sekimori_core::PublicUrl) -> Option<String> {
        self.subject.clone().or_else(|| {
            let url = public_url.as_str();
            url.starts_with("https://").then(|| url.to_owned())
        })
    }
}

/// Why a configured endpoint origin is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin:?}: {reason}")]
pub struct BadOrigin {
    /// The origin as configured.
    pub origin: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// One allowed origin: scheme, host (or `*.suffix`), port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AllowedOrigin {
    scheme: String,
    host: HostPattern,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Exact(String),
    /// `*.example.com`: any host ending in `.example.com`.
    Subdomain(String),
}

impl AllowedOrigin {
    fn parse(text: &str) -> Result<Self, BadOrigin> {
        let bad = |reason| BadOrigin { origin: text.to_owned(), reason };
        let (scheme, rest) = text.split_once("://").ok_or_else(|| bad("an origin is scheme://host[:port]"))?;
        if scheme != "https" && scheme != "http" {
            return Err(bad("the scheme must be https (or http on a test host)"));
        }
        if rest.is_empty() || rest.contains('/') || rest.contains('@') {
            return Err(bad("an origin has no path or user"));
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || rest.starts_with('[') => {
                (h, Some(p.parse::<u16>().map_err(|_| bad("bad port"))?))
            }
            _ => (rest, None),
        };
        let host = host.to_ascii_lowercase();
        let host = match host.strip_prefix("*.") {
            Some(suffix) if !suffix.is_empty() && !suffix.contains('*') => HostPattern::Subdomain(format!(".{suffix}")),
            _ if host.contains('*') => return Err(bad("a wildcard is only allowed as a leading *.")),
            _ => HostPattern::Exact(host),
        };
        Ok(AllowedOrigin { scheme: scheme.to_owned(), host, port })
    }

    fn admits(&self, url: &url::Url) -> bool {
        let Some(host) = url.host_str().map(str::to_ascii_lowercase) else { return false };
        let host_ok = match &self.host {
            HostPattern::Exact(h) => *h == host,
            HostPattern::Subdomain(suffix) => host.ends_with(suffix.as_str()) && host.len() > suffix.len(),
        };
        // Without a port, only the scheme's default one (`Url::port` is `None` for it).
        let port_ok = match self.port {
            Some(p) => url.port_or_known_default() == Some(p),
            None => url.port().is_none(),
        };
        url.scheme() == self.scheme && host_ok && port_ok
    }
}

/// A subscription as the browser's `PushSubscription.toJSON()` gives it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionJson {
    /// The push service's URL.
    pub endpoint: String,
    /// `getKey("p256dh")` and `getKey("auth")`, base64url.
    pub keys: SubscriptionKeys,
    /// When the browser will drop it (ms since the epoch), if it says; not used.
    #[serde(default, rename = "expirationTime")]
    pub expiration_time: Option<serde_json::Value>,
}

/// The subscription's RFC 8291 keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionKeys {
    /// P-256 public key, base64url of the 65-byte uncompressed point.
    pub p256dh: String,
    /// 16-byte authentication secret, base64url.
    pub auth: String,
}

/// What a device learns before subscribing.
#[derive(Debug, Clone, Serialize)]
pub struct PushConfig {
    /// Whether the server sends Web Push at all.
    pub enabled: bool,
    /// The VAPID public key (`applicationServerKey`), base64url of the uncompressed point.
    pub vapid_public_key: String,
}

/// Devices' Web Push subscriptions.
pub struct WebPushSubscriptions {
    ctx: Arc<Context>,
    settings: WebPushSettings,
    origins: Vec<AllowedOrigin>,
}

impl WebPushSubscriptions {
    /// Checks the settings; the error names the key.
    pub(crate) fn new(ctx: Arc<Context>, settings: WebPushSettings) -> Result<Self, SettingsError> {
        let origins = settings.checked_origins().map_err(|(key, why)| SettingsError::new(key, why))?;
        Ok(WebPushSubscriptions { ctx, settings, origins })
    }

    /// The settings (the sender reads them).
    pub fn settings(&self) -> &WebPushSettings {
        &self.settings
    }

    /// What a device needs to subscribe.
    pub fn config(&self) -> PushConfig {
        PushConfig { enabled: self.settings.enabled, vapid_public_key: self.ctx.keys.vapid_public_key_b64() }
    }

    /// Stores `device`'s subscription (replacing its previous one), audited.
    pub async fn subscribe(&self, device: &Device, user: &User, sub: &SubscriptionJson) -> GateResult<()> {
        if !self.settings.enabled {
            return Err(GateError::new(ErrorCode::InvalidRequest, "Web Push is switched off on this server"));
        }
        let bad =
            |field: &str, why: &str| GateError::new(ErrorCode::InvalidRequest, why.to_owned()).with("field", field);
        if sub.endpoint.len() > 2048 {
            return Err(bad("endpoint", "endpoint is longer than 2048 characters"));
        }
        let url = url::Url::parse(&sub.endpoint).map_err(|_| bad("endpoint", "endpoint is not a URL"))?;
        if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
            return Err(bad("endpoint", "endpoint may not carry credentials or a fragment"));
        }
        // Every admitted URL has a host (`admits` refuses those without).
        let host = match url.host_str() {
            Some(h) if self.origins.iter().any(|o| o.admits(&url)) => h.to_owned(),
            _ => {
                return Err(bad(
                    "endpoint",
                    "endpoint is not at a push service this server sends to (gate.web_push.endpoint_origins)",
                ))
            }
        };
        let p256dh = URL_SAFE_NO_PAD.decode(sub.keys.p256dh.trim_end_matches('=')).ok();
        if p256dh.as_deref().is_none_or(|k| p256::PublicKey::from_sec1_bytes(k).is_err() || k.len() != 65) {
            return Err(bad("keys.p256dh", "keys.p256dh is not an uncompressed P-256 public key in base64url"));
        }
        if URL_SAFE_NO_PAD.decode(sub.keys.auth.trim_end_matches('=')).ok().is_none_or(|a| a.len() != 16) {
            return Err(bad("keys.auth", "keys.auth is not 16 bytes of base64url"));
        }
        let record = PushSubscription {
            device_id: device.id.clone(),
            tenant_id: device.tenant_id.clone(),
            user_id: device.user_id.clone(),
            endpoint: url.to_string(),
            p256dh: sub.keys.p256dh.trim_end_matches('=').to_owned(),
            auth: sub.keys.auth.trim_end_matches('=').to_owned(),
            created_at: self.ctx.clock.now(),
        };
        let ev = self
            .ctx
            .event(&user.tenant_id, "iam", action::IAM_DEVICE_PUSH_SUBSCRIBED, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::DEVICE_ID, device.id.as_str())
            .field("url.domain", host);
        self.ctx.store.put_push_subscription(&record, &ev).await?;
        Ok(())
    }

    /// Whether `device` has a subscription.
    pub async fn subscribed(&self, device: &Device) -> GateResult<bool> {
        Ok(self.ctx.store.push_subscriptions(&device.user_id).await?.iter().any(|s| s.device_id == device.id))
    }

    /// Removes `device`'s subscription; `false` when it had none.
    pub async fn unsubscribe(&self, device: &Device) -> GateResult<bool> {
        let subs = self.ctx.store.push_subscriptions(&device.user_id).await?;
        let Some(mine) = subs.iter().find(|s| s.device_id == device.id) else { return Ok(false) };
        Ok(self.ctx.store.delete_push_subscription(&device.id, &mine.endpoint).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admits(origin: &str, url: &str) -> bool {
        AllowedOrigin::parse(origin).expect("origin").admits(&url::Url::parse(url).expect("url"))
    }

    #[test]
    fn endpoints_must_be_at_an_allowed_origin() {
        assert!(admits("https://fcm.googleapis.com", "https://fcm.googleapis.com/fcm/send/abc"));
        assert!(admits("https://*.push.apple.com", "https://api.push.apple.com/3/device/x"));
        assert!(!admits("https://*.push.apple.com", "https://push.apple.com/x"), "a subdomain is required");
        assert!(!admits("https://*.push.apple.com", "https://evilpush.apple.com.example/x"));
        assert!(!admits("https://fcm.googleapis.com", "http://fcm.googleapis.com/x"), "scheme");
        assert!(!admits("https://fcm.googleapis.com", "https://fcm.googleapis.com:8443/x"), "port");
        assert!(!admits("https://fcm.googleapis.com", "https://fcm.googleapis.com.evil.example/x"));
        assert!(admits("http://127.0.0.1:9000", "http://127.0.0.1:9000/push/1"));
        assert!(!admits("http://127.0.0.1:9000", "http://127.0.0.1:9001/push/1"));
        assert!(!admits("http://127.0.0.1:9000", "http://127.0.0.1/push/1"));
        for bad in ["fcm.googleapis.com", "ftp://x", "https://x/path", "https://a.*.b", "https://u@x"] {
            assert!(AllowedOrigin::parse(bad).is_err(), "{bad}");
        }
    }
}
