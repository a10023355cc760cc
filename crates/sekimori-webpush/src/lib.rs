//! Sekimori's Web Push sender: when the gate stores messages for a user's authenticators,
//! each of the user's subscribed devices gets a push (RFC 8030) that only says "look",
//! encrypted to the browser's keys (RFC 8291, `aes128gcm`) and signed by the server's VAPID
//! key (RFC 8292). The app then fetches the signed messages over the device protocol, so a
//! push carries no secret and the message format stays the one the CLI reads.
//!
//! It plugs into the gate as a [`Delivery`]: a bounded queue that counts what it drops, a
//! worker that sends with bounded concurrency, one retry for a push service's temporary
//! failure, and subscriptions the push service reports gone (404, 410) deleted. On shutdown
//! [`WebPush::drain`] sends what is queued within a deadline.

pub mod vapid;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sekimori_core::{Clock, Timestamp, UserId};
use sekimori_gate::notify::Delivery;
use sekimori_gate::web_push::WebPushSettings;
use sekimori_store::{InboxMessage, MessageKind, PushSubscription, Store};
use serde_json::json;
use tokio::sync::{mpsc, Semaphore};

/// Why one push was not sent.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The stored subscription cannot be used (its keys or endpoint do not parse).
    #[error("subscription of device {device}: {reason}")]
    Subscription {
        /// The device.
        device: String,
        /// What is wrong.
        reason: String,
    },
    /// Encryption failed.
    #[error("encryption: {0}")]
    Encrypt(String),
    /// The request did not reach the push service, or timed out.
    #[error("request to the push service: {0}")]
    Transport(#[from] reqwest::Error),
    /// The push service refused it.
    #[error("the push service answered {status}")]
    Status {
        /// The HTTP status.
        status: u16,
    },
}

/// What a push says: which messages are waiting (ids and types only).
#[derive(Debug, Clone)]
struct Job {
    user_id: UserId,
    messages: Vec<(String, MessageKind, Timestamp)>,
}

/// Counters, for logs and metrics.
#[derive(Debug, Default)]
pub struct Stats {
    /// Pushes the push services accepted.
    pub sent: AtomicU64,
    /// Jobs dropped because the queue was full, or after shutdown began.
    pub dropped: AtomicU64,
    /// Subscriptions deleted because their push service said they are gone.
    pub gone: AtomicU64,
    /// Pushes that failed after the retry.
    pub failed: AtomicU64,
}

/// The sender's own configuration, from `[gate.web_push]` and the server keys.
#[derive(Clone)]
pub struct SenderConfig {
    /// The VAPID private key.
    pub vapid_key: p256::SecretKey,
    /// The VAPID `sub` claim.
    pub subject: Option<String>,
    /// Queue, concurrency and timeout.
    pub settings: WebPushSettings,
}

impl SenderConfig {
    /// The configuration `sekimori serve` uses: the server keys' VAPID key and `[gate.web_push]`.
    pub fn new(keys: &sekimori_gate::ServerKeys, gate: &sekimori_gate::GateSettings) -> Self {
        SenderConfig {
            vapid_key: keys.vapid_key().clone(),
            subject: gate.web_push.subject_for(&gate.public_url),
            settings: gate.web_push.clone(),
        }
    }
}

/// The Web Push [`Delivery`].
pub struct WebPush {
    tx: Mutex<Option<mpsc::Sender<Job>>>,
    worker: Mutex<Option<tokio::task::JoinHandle<()>>>,
    stats: Arc<Stats>,
}

impl std::fmt::Debug for WebPush {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebPush").field("stats", &self.stats).finish_non_exhaustive()
    }
}

struct Worker {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    config: SenderConfig,
    stats: Arc<Stats>,
}

impl WebPush {
    /// Starts the worker on the current runtime.
    pub fn start(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: SenderConfig,
    ) -> Result<Arc<WebPush>, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.settings.timeout_seconds))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("sekimori/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let (tx, rx) = mpsc::channel(config.settings.queue);
        let stats = Arc::new(Stats::default());
        let worker = Arc::new(Worker { store, clock, http, config, stats: stats.clone() });
        let handle = tokio::spawn(worker.run(rx));
        Ok(Arc::new(WebPush { tx: Mutex::new(Some(tx)), worker: Mutex::new(Some(handle)), stats }))
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Stops taking jobs and waits up to `grace` for the queued and in-flight pushes to be
    /// sent; returns whether everything was.
    pub async fn drain(&self, grace: Duration) -> bool {
        drop(self.tx.lock().unwrap_or_else(|p| p.into_inner()).take());
        let handle = self.worker.lock().unwrap_or_else(|p| p.into_inner()).take();
        match handle {
            Some(h) => tokio::time::timeout(grace, h).await.is_ok(),
            None => true,
        }
    }
}

impl sekimori_core::metrics::MetricSource for WebPush {
    fn write_metrics(&self, out: &mut sekimori_core::metrics::Exposition) {
        use sekimori_core::metrics::Kind;
        let st = &self.stats;
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed) as f64;
        out.family("sekimori_web_push_total", Kind::Counter, "Web Push wake-ups of authenticator apps, by result.");
        for (result, n) in [
            ("sent", get(&st.sent)),
            ("gone", get(&st.gone)),
            ("failed", get(&st.failed)),
            ("dropped", get(&st.dropped)),
        ] {
            out.sample("sekimori_web_push_total", &[("result", result)], n);
        }
    }
}

impl Delivery for WebPush {
    fn deliver(&self, user_id: &UserId, messages: &[InboxMessage]) {
        let job = Job {
            user_id: user_id.clone(),
            messages: messages.iter().map(|m| (m.id.clone(), m.kind, m.expires_at)).collect(),
        };
        let guard = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        let queued = guard.as_ref().is_some_and(|tx| tx.try_send(job).is_ok());
        if !queued {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(user = %user_id, "a Web Push wake-up was dropped (queue full or shutting down)");
        }
    }
}

impl Worker {
    async fn run(self: Arc<Self>, mut rx: mpsc::Receiver<Job>) {
        let permits = self.config.settings.concurrency;
        let limit = Arc::new(Semaphore::new(permits));
        while let Some(job) = rx.recv().await {
            let subs = match self.store.push_subscriptions(&job.user_id).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, user = %job.user_id, "cannot read push subscriptions");
                    self.stats.failed.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            };
            let job = Arc::new(job);
            for sub in subs {
                let Ok(permit) = limit.clone().acquire_owned().await else { return };
                let (me, job) = (self.clone(), job.clone());
                tokio::spawn(async move {
                    me.send_with_retry(&sub, &job).await;
                    drop(permit);
                });
            }
        }
        // Closed: wait for the pushes in flight.
        let _ = limit.acquire_many(u32::try_from(permits).unwrap_or(u32::MAX)).await;
    }

    async fn send_with_retry(&self, sub: &PushSubscription, job: &Job) {
        for attempt in 1..=2 {
            match self.send(sub, job).await {
                Ok(()) => {
                    self.stats.sent.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(PushError::Status { status: 404 | 410 }) => {
                    match self.store.delete_push_subscription(&sub.device_id, &sub.endpoint).await {
                        Ok(true) => {
                            self.stats.gone.fetch_add(1, Ordering::Relaxed);
                            tracing::info!(device = %sub.device_id, "push subscription gone; deleted");
                        }
                        Ok(false) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, device = %sub.device_id, "cannot delete a gone subscription")
                        }
                    }
                    return;
                }
                Err(e @ (PushError::Transport(_) | PushError::Status { status: 429 | 500..=599 })) if attempt == 1 => {
                    tracing::debug!(error = %e, device = %sub.device_id, "push failed; retrying once");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => {
                    self.stats.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, device = %sub.device_id, "push not sent");
                    return;
                }
            }
        }
    }

    async fn send(&self, sub: &PushSubscription, job: &Job) -> Result<(), PushError> {
        let bad =
            |reason: &str| PushError::Subscription { device: sub.device_id.to_string(), reason: reason.to_owned() };
        let endpoint = url::Url::parse(&sub.endpoint).map_err(|_| bad("endpoint is not a URL"))?;
        let ua_public = URL_SAFE_NO_PAD
            .decode(&sub.p256dh)
            .ok()
            .and_then(|k| p256::PublicKey::from_sec1_bytes(&k).ok())
            .ok_or_else(|| bad("p256dh is not a P-256 key"))?;
        let auth = URL_SAFE_NO_PAD
            .decode(&sub.auth)
            .ok()
            .filter(|a| a.len() == 16)
            .ok_or_else(|| bad("auth is not 16 bytes"))?;
        let auth = web_push_native::Auth::clone_from_slice(&auth);
        let payload = payload(job);
        let body = web_push_native::encrypt(payload.into_bytes(), &ua_public, &auth)
            .map_err(|e| PushError::Encrypt(e.to_string()))?;
        let now = self.clock.now();
        let (ttl, urgency) = ttl_and_urgency(job, now);
        let authorization =
            vapid::authorization(&self.config.vapid_key, &endpoint, self.config.subject.as_deref(), now.seconds());
        let resp = self
            .http
            .post(endpoint)
            .header("TTL", ttl.to_string())
            .header("Urgency", urgency)
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .header("Authorization", authorization)
            .body(body)
            .send()
            .await?;
        let status = resp.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(PushError::Status { status: status.as_u16() })
        }
    }
}

/// The plaintext: which messages wait, never their content (`{"v":1,"messages":[{"id","type"}]}`).
fn payload(job: &Job) -> String {
    let messages: Vec<_> = job.messages.iter().map(|(id, kind, _)| json!({"id": id, "type": kind.as_str()})).collect();
    json!({"v": 1, "messages": messages}).to_string()
}

/// How long the push service may hold the push (until the longest-lived message expires,
/// at most four weeks), and how urgently: a login or a warning now, a notice normally.
fn ttl_and_urgency(job: &Job, now: Timestamp) -> (i64, &'static str) {
    let ttl = job
        .messages
        .iter()
        .map(|(_, _, expires)| (expires.millis() - now.millis()).div_euclid(1000))
        .max()
        .unwrap_or(0)
        .clamp(0, 28 * 24 * 3600);
    let urgent =
        job.messages.iter().any(|(_, k, _)| matches!(k, MessageKind::PushLogin | MessageKind::EnvironmentWarning));
    (ttl, if urgent { "high" } else { "normal" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_follows_the_longest_message_and_urgency_the_most_urgent() {
        let now = Timestamp(1_000_000);
        let job = Job {
            user_id: UserId::new("u"),
            messages: vec![
                ("m1".into(), MessageKind::PushLogin, Timestamp(1_060_000)),
                ("m2".into(), MessageKind::SecurityNotice, Timestamp(1_000_000 + 86_400_000)),
            ],
        };
        assert_eq!(ttl_and_urgency(&job, now), (86_400, "high"));
        let notice = Job { user_id: UserId::new("u"), messages: vec![job.messages[1].clone()] };
        assert_eq!(ttl_and_urgency(&notice, now), (86_400, "normal"));
        let expired =
            Job { user_id: UserId::new("u"), messages: vec![("m".into(), MessageKind::PushLogin, Timestamp(0))] };
        assert_eq!(ttl_and_urgency(&expired, now).0, 0);
        assert_eq!(payload(&notice), r#"{"v":1,"messages":[{"id":"m2","type":"security_notice"}]}"#);
    }
}
