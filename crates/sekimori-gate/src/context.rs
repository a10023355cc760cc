//! What every gate service shares: the store, the clock, randomness, the server's keys,
//! the wake-up hub with the delivery channels, and the few lookups and builders every
//! service needs (ids, secrets, audit events, a user by name, sealed tokens). Nothing
//! here holds a service's settings or caches; those live with the service.

use sekimori_core::{TenantId, UserId};
use std::sync::Arc;

use sekimori_core::event::{NewEvent, Outcome};
use sekimori_core::{Clock, ErrorCode, PublicUrl, Rng};
use sekimori_store::{InboxMessage, Store, Tenant, User};
use serde::Serialize;

use crate::notify::{Delivery, Hub, Topic};
use crate::{GateError, GateResult, ServerKeys};

/// The name of the tenant created at first start.
pub const DEFAULT_TENANT: &str = "default";

/// The shared context of the gate's services.
pub struct Context {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) rng: Arc<dyn Rng>,
    pub(crate) keys: ServerKeys,
    /// The public base URL (enrolment links, the assertion issuer, readiness's node name).
    pub(crate) public_url: PublicUrl,
    pub(crate) hub: Hub,
    deliveries: Vec<Arc<dyn Delivery>>,
}

impl Context {
    /// A context over `store`, with `deliveries` told of every new device message.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
        keys: ServerKeys,
        public_url: PublicUrl,
        deliveries: Vec<Arc<dyn Delivery>>,
    ) -> Self {
        Context { store, clock, rng, keys, public_url, hub: Hub::default(), deliveries }
    }

    /// A new time-ordered id, as the id type the caller wants (a `UserId`, a `LoginId`,
    /// or plain text).
    pub(crate) fn new_id<T: From<String>>(&self) -> T {
        T::from(sekimori_core::token::new_id(self.clock.now(), self.rng.as_ref()).to_string())
    }

    /// A new 256-bit secret, base64url.
    pub(crate) fn new_secret(&self) -> String {
        sekimori_core::token::new_secret(self.rng.as_ref())
    }

    /// An audit event stamped now.
    pub(crate) fn event(&self, tenant: &str, category: &'static str, action: &str, outcome: Outcome) -> NewEvent {
        NewEvent::new(self.clock.now(), tenant, category, action, outcome)
    }

    /// Wakes this node's long-polls and hands stored messages to every delivery channel.
    pub(crate) fn deliver(&self, user_id: &UserId, messages: &[InboxMessage]) {
        self.hub.wake(&Topic::UserInbox(user_id.to_owned()));
        for d in &self.deliveries {
            d.deliver(user_id, messages);
        }
    }

    /// The user `username` of `tenant_id`.
    pub(crate) async fn find_user(&self, tenant_id: &TenantId, username: &str) -> GateResult<User> {
        self.store
            .user_by_name(tenant_id, username)
            .await?
            .ok_or_else(|| GateError::new(ErrorCode::NotFound, format!("no user {username}")))
    }

    /// The user a stored record (an assertion, a device, an enrolment) names, which may have
    /// been removed since: then `code` with "<what>'s user no longer exists".
    pub(crate) async fn user_of(&self, id: &UserId, what: &str, code: ErrorCode) -> GateResult<User> {
        self.store.user(id).await?.ok_or_else(|| GateError::new(code, format!("the {what}'s user no longer exists")))
    }

    /// The tenant `tenant_id`.
    pub(crate) async fn tenant(&self, tenant_id: &TenantId) -> GateResult<Tenant> {
        self.store.tenant(tenant_id).await?.ok_or_else(|| GateError::new(ErrorCode::NotFound, "no such tenant"))
    }

    /// The default tenant.
    pub(crate) async fn default_tenant(&self) -> GateResult<Tenant> {
        self.store
            .tenant_by_name(DEFAULT_TENANT)
            .await?
            .ok_or_else(|| GateError::new(ErrorCode::ServiceUnavailable, "the server has not been initialised"))
    }

    /// `value` and an expiry `seconds` from now, sealed under the server's secret key for
    /// `context`, base64url.
    pub(crate) fn seal_token_for<T: Serialize>(&self, context: &[u8], value: T, seconds: i64) -> String {
        let expires_at = self.clock.now().plus_seconds(seconds).millis();
        let json = serde_json::to_vec(&(value, expires_at)).unwrap_or_default();
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            self.keys.seal(self.rng.as_ref(), context, &json),
        )
    }

    /// The value of a token made by [`Context::seal_token_for`] for `context`, if it opens
    /// and has not expired.
    pub(crate) fn open_token<T: serde::de::DeserializeOwned>(&self, context: &[u8], token: &str) -> Option<T> {
        if token.len() > 8192 {
            return None;
        }
        let sealed = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, token).ok()?;
        let (value, expires_at): (T, i64) = serde_json::from_slice(&self.keys.open(context, &sealed)?).ok()?;
        (self.clock.now().millis() < expires_at).then_some(value)
    }
}
