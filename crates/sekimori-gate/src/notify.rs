//! In-process wake-ups for long-polls: a device waiting for challenges, a relying party
//! waiting for a decision, a login page waiting for its QR to be scanned.
//!
//! This is the seam for delivery: a node learns of new messages here; a Web Push sender
//! or a PostgreSQL `LISTEN/NOTIFY` bridge (several nodes) plugs in beside it. State never
//! lives here: waiters always re-read the store, so a missed wake-up costs only latency.

use sekimori_core::{LoginId, UserId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::Notify;

/// A way of telling a user's devices that new messages are waiting: Web Push (RFC 8030,
/// RFC 8291, RFC 8292), UnifiedPush, or a bridge to other nodes. The gate calls every
/// registered delivery after the messages are stored; the in-process long-poll wake-up is
/// always there besides. Implementations must not block: queue and return, and own their
/// retries and error logging. A delivery only says "look"; devices fetch the signed
/// messages over the device API.
pub trait Delivery: Send + Sync + 'static {
    /// `messages` were stored for `user_id`.
    fn deliver(&self, user_id: &UserId, messages: &[sekimori_store::InboxMessage]);
}

/// Keys waiters subscribe to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    /// New messages for a user's devices.
    UserInbox(UserId),
    /// A login request changed state.
    Login(LoginId),
    /// A QR session changed state.
    Qr(String),
}

/// The in-process wake-up hub.
#[derive(Debug, Clone, Default)]
pub struct Hub {
    inner: Arc<Mutex<HashMap<Topic, Weak<Notify>>>>,
}

impl Hub {
    fn handle(&self, topic: &Topic) -> Arc<Notify> {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get(topic).and_then(Weak::upgrade) {
            return n;
        }
        if map.len() > 1024 {
            map.retain(|_, w| w.strong_count() > 0);
        }
        let n = Arc::new(Notify::new());
        map.insert(topic.clone(), Arc::downgrade(&n));
        n
    }

    /// Wakes everyone waiting on `topic`.
    pub fn wake(&self, topic: &Topic) {
        let n = self.inner.lock().unwrap_or_else(|p| p.into_inner()).get(topic).and_then(Weak::upgrade);
        if let Some(n) = n {
            n.notify_waiters();
        }
    }

    /// Calls `check` until it yields a value, waking on `topic`, for at most `wait`;
    /// after that returns `check`'s last answer of `None`.
    pub async fn wait_for<T, F, Fut>(
        &self,
        topic: &Topic,
        wait: Duration,
        mut check: F,
    ) -> Result<Option<T>, crate::GateError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, crate::GateError>>,
    {
        let notify = self.handle(topic);
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(v) = check().await? {
                return Ok(Some(v));
            }
            // Re-check at least once a second: another node may have changed the state.
            let step = deadline.min(tokio::time::Instant::now() + Duration::from_secs(1));
            if tokio::time::Instant::now() >= deadline {
                return Ok(None);
            }
            let _ = tokio::time::timeout_at(step, notified).await;
        }
    }
}
