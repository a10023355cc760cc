//! Delivery of notifications to HTTP receivers (a webhook, Slack, Teams): one POST per
//! notification, paced and retried by [`sekimori_respond::delivery::RetryPolicy`] (no
//! retry on a 4xx refusal), signed with HMAC-SHA256 when the receiver has a key, and every
//! attempt recorded with its outcome.

use std::sync::Arc;
use std::time::Duration;

use sekimori_core::rng::RngExt;
use sekimori_core::{Clock, Rng};
use sekimori_respond::delivery::{Next, Outcome, RetryPolicy};
use sekimori_respond::payload::{signature, SIGNATURE_HEADER};
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

/// Posts notifications.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
    policy: RetryPolicy,
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
        Ok(Sender { client, clock, rng, policy })
    }

    fn uniform(&self) -> f64 {
        // 53 random bits as a fraction in [0, 1).
        (u64::from_le_bytes(self.rng.bytes::<8>()) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// POSTs `body` to `receiver` until it is taken, refused, or the attempts run out.
    pub async fn post(&self, receiver: &HttpReceiver, body: &Value) -> Report {
        let bytes = body.to_string().into_bytes();
        let mut attempts = Vec::new();
        loop {
            let attempt = u32::try_from(attempts.len()).unwrap_or(u32::MAX).saturating_add(1);
            let now = self.clock.now();
            let mut req = self
                .client
                .post(&receiver.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes.clone());
            if let Some(key) = &receiver.hmac_key {
                req = req.header(SIGNATURE_HEADER, signature(key, now.seconds(), &bytes));
            }
            let (outcome, retry_after) = match req.send().await {
                Ok(resp) if resp.status().is_success() => (Outcome::Delivered, None),
                Ok(resp) => {
                    let after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    (Outcome::Status(resp.status().as_u16()), after)
                }
                Err(e) if e.is_timeout() => (Outcome::Timeout, None),
                Err(_) => (Outcome::Connection, None),
            };
            attempts.push(Attempt {
                at_ms: now.millis(),
                outcome: match outcome {
                    Outcome::Delivered => "delivered".to_owned(),
                    Outcome::Status(s) => format!("status {s}"),
                    Outcome::Timeout => "timeout".to_owned(),
                    Outcome::Connection => "connection".to_owned(),
                },
            });
            match self.policy.next(attempt, outcome, retry_after, self.uniform()) {
                Next::Done => return Report { delivered: true, attempts },
                Next::GiveUp => {
                    tracing::warn!(receiver = %receiver.name, attempts = attempt, last = ?outcome, "notification not delivered");
                    return Report { delivered: false, attempts };
                }
                Next::RetryAfter(wait) => tokio::time::sleep(wait).await,
            }
        }
    }
}
