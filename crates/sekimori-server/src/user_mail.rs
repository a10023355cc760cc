//! The gate's own notices by email: a new-environment warning stored for a user's
//! authenticators is also emailed to the user's address, through the tenant's
//! `user_notices` channel and the notification log (docs/respond.md). It plugs into the
//! gate as a [`Delivery`], beside the in-process wake-up: a bounded queue that counts what
//! it drops, and one worker.

use sekimori_core::UserId;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use sekimori_gate::notify::Delivery;
use sekimori_store::{InboxMessage, MessageKind, Store};
use sekimori_watch::Watch;
use serde_json::Value;

/// Notices queued before more are dropped (and counted).
pub const QUEUE: usize = 1_000;

/// Emails new-environment warnings to users.
pub struct UserMail {
    tx: tokio::sync::mpsc::Sender<InboxMessage>,
    dropped: AtomicU64,
}

impl std::fmt::Debug for UserMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserMail").field("dropped", &self.dropped()).finish_non_exhaustive()
    }
}

impl UserMail {
    /// Starts the worker (on the current runtime). `watch` is set once the detection
    /// services exist (they are built after the gate this delivery belongs to); notices
    /// before that are skipped.
    pub fn start(store: Arc<dyn Store>, watch: Arc<OnceLock<Watch>>) -> Arc<UserMail> {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<InboxMessage>(QUEUE);
        tokio::spawn(async move {
            while let Some(m) = rx.recv().await {
                let Some(watch) = watch.get() else { continue };
                if let Err(e) = send(store.as_ref(), watch, &m).await {
                    tracing::warn!(error = %e, message = %m.id, "a notice to a user was not emailed");
                }
            }
        });
        Arc::new(UserMail { tx, dropped: AtomicU64::new(0) })
    }

    /// Notices dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl sekimori_core::metrics::MetricSource for UserMail {
    fn write_metrics(&self, out: &mut sekimori_core::metrics::Exposition) {
        out.single(
            "sekimori_user_notices_dropped_total",
            sekimori_core::metrics::Kind::Counter,
            "Notices to users (new-environment warnings by email) dropped at a full queue.",
            self.dropped() as f64,
        );
    }
}

impl Delivery for UserMail {
    fn deliver(&self, _user_id: &UserId, messages: &[InboxMessage]) {
        for m in messages.iter().filter(|m| m.kind == MessageKind::EnvironmentWarning) {
            if self.tx.try_send(m.clone()).is_err() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

async fn send(store: &dyn Store, watch: &Watch, m: &InboxMessage) -> Result<(), sekimori_core::ServiceError> {
    let Some(user) = store.user(&m.user_id).await? else { return Ok(()) };
    let Some(address) = user.email.as_deref() else { return Ok(()) };
    let body: Value = serde_json::from_str(&m.body).map_err(|e| {
        sekimori_core::ServiceError::new(sekimori_core::ErrorCode::Internal, format!("inbox message {}: {e}", m.id))
    })?;
    let relying_party = body["relying_party"].as_str().unwrap_or("an application").to_owned();
    let environment = body["environment"]["description"].as_str().unwrap_or("an unknown environment").to_owned();
    let username = user.username.clone();
    watch
        .email_user(&user.tenant_id, &user.username, address, &m.id, |language| {
            sekimori_respond::email::render_environment_warning(&username, &relying_party, &environment, language)
        })
        .await?;
    Ok(())
}
