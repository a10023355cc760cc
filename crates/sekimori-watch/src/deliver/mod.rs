//! Delivery of notifications: one POST per notification to an HTTP receiver (a webhook,
//! Slack, Teams), signed with HMAC-SHA256 when the receiver has a key, or one email over
//! SMTP ([`mail`]); paced and retried by [`sekimori_respond::delivery::RetryPolicy`] (no
//! retry on a refusal: an HTTP 4xx, a permanent SMTP reply), every attempt recorded with
//! its outcome.

mod mail;

use std::sync::Arc;
use std::time::Duration;

use sekimori_core::rng::RngExt;
use sekimori_core::{Clock, Rng, Timestamp};
use sekimori_respond::delivery::{Next, Outcome, RetryPolicy};
use sekimori_respond::email::Email;
use sekimori_respond::payload::{signature, SIGNATURE_HEADER};
use sekimori_respond::EmailConfig;
use serde::Serialize;
use serde_json::Value;

/// An HTTP receiver.
#[derive(Debug, Clone)]
pub struct HttpReceiver {
    /// Its name in the routing document.
    pub name: String,
    /// Where to POST.
    pub url: String,
    /// The HMAC key signing each body ([`SIGNATURE_HEADER`]), if any.
    pub hmac_key: Option<Vec<u8>>,
}

/// One attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// When it was made, ms.
    pub at_ms: i64,
    /// `delivered`, `status 503`, `timeout`, `connection`.
    pub outcome: String,
}

/// What became of one notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Whether the receiver took it.
    pub delivered: bool,
    /// Every attempt, in order.
    pub attempts: Vec<Attempt>,
}

impl Report {
    /// A notification refused before any attempt (its settings or templates cannot be
    /// used), at `at_ms`, and why.
    pub fn refused(at_ms: i64, why: &str) -> Report {
        tracing::warn!(reason = why, "notification not delivered");
        Report { delivered: false, attempts: vec![Attempt { at_ms, outcome: why.to_owned() }] }
    }
}

/// Posts notifications.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
    policy: RetryPolicy,
    timeout: Duration,
}

/// A client that cannot be built (the TLS stack could not start).
#[derive(Debug, thiserror::Error)]
#[error("the HTTP client cannot be built: {0}")]
pub struct SenderError(String);

impl Sender {
    /// A sender with `timeout` per attempt and `policy` between attempts.
    pub fn new(
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
        policy: RetryPolicy,
        timeout: Duration,
    ) -> Result<Self, SenderError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("sekimori/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SenderError(e.to_string()))?;
        Ok(Sender { client, clock, rng, policy, timeout })
    }

    fn uniform(&self) -> f64 {
        // 53 random bits as a fraction in [0, 1).
        (u64::from_le_bytes(self.rng.bytes::<8>()) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// POSTs `body` to `receiver` until it is taken, refused, or the attempts run out.
    pub async fn post(&self, receiver: &HttpReceiver, body: &Value) -> Report {
        let bytes = body.to_string().into_bytes();
        self.with_retries(&receiver.name, |now| {
            let mut req = self
                .client
                .post(&receiver.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes.clone());
            if let Some(key) = &receiver.hmac_key {
                req = req.header(SIGNATURE_HEADER, signature(key, now.seconds(), &bytes));
            }
            async move {
                match req.send().await {
                    Ok(resp) if resp.status().is_success() => (Outcome::Delivered, None, "delivered".to_owned()),
                    Ok(resp) => {
                        let after = resp
                            .headers()
                            .get(reqwest::header::RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.trim().parse::<u64>().ok())
                            .map(Duration::from_secs);
                        let status = resp.status().as_u16();
                        (Outcome::Status(status), after, format!("status {status}"))
                    }
                    Err(e) if e.is_timeout() => (Outcome::Timeout, None, "timeout".to_owned()),
                    Err(_) => (Outcome::Connection, None, "connection".to_owned()),
                }
            }
        })
        .await
    }

    /// Sends `email` over SMTP per `cfg` until it is accepted, refused (a permanent SMTP
    /// reply, or a message that cannot be built), or the attempts run out.
    pub async fn mail(&self, cfg: &EmailConfig, email: &Email) -> Report {
        let message = match mail::message(cfg, email) {
            Ok(m) => m,
            Err(e) => return Report::refused(self.clock.now().millis(), &format!("message: {e}")),
        };
        let transport = match mail::transport(cfg, self.timeout) {
            Ok(t) => t,
            Err(e) => return Report::refused(self.clock.now().millis(), &e.to_string()),
        };
        self.with_retries(&cfg.smarthost, |_| {
            let (transport, message) = (transport.clone(), message.clone());
            async move { mail::send(&transport, message).await }
        })
        .await
    }

    /// Makes attempts until one is delivered, one is refused, or the policy gives up.
    async fn with_retries<F, Fut>(&self, name: &str, mut attempt: F) -> Report
    where
        F: FnMut(Timestamp) -> Fut,
        Fut: std::future::Future<Output = (Outcome, Option<Duration>, String)>,
    {
        let mut attempts = Vec::new();
        loop {
            let n = u32::try_from(attempts.len()).unwrap_or(u32::MAX).saturating_add(1);
            let now = self.clock.now();
            let (outcome, retry_after, text) = attempt(now).await;
            attempts.push(Attempt { at_ms: now.millis(), outcome: text });
            match self.policy.next(n, outcome, retry_after, self.uniform()) {
                Next::Done => return Report { delivered: true, attempts },
                Next::GiveUp => {
                    tracing::warn!(receiver = %name, attempts = n, last = ?outcome, "notification not delivered");
                    return Report { delivered: false, attempts };
                }
                Next::RetryAfter(wait) => tokio::time::sleep(wait).await,
            }
        }
    }
}
