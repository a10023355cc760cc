//! The seam between detection and the gate: an alert that a response policy acts on asks a
//! [`Responder`] (the gate's required-level overrides, wired in by the server) to act on the
//! user it is about.

use sekimori_core::TenantId;
use sekimori_respond::ResponsePolicy;

use crate::WatchResult;

/// One response a policy asks for.
#[derive(Debug, Clone)]
pub struct ResponseCall {
    /// Tenant.
    pub tenant_id: TenantId,
    /// The user the alert is about (its `user` label).
    pub username: String,
    /// The policy.
    pub policy: ResponsePolicy,
    /// The alert that triggered it.
    pub alert_id: String,
    /// The alert's title, for the reason shown to the user and the admins.
    pub title: String,
}

/// What became of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseOutcome {
    /// Applied (an override set, or the sessions ended); what to tell the user by email,
    /// when they have an address.
    Applied(Option<sekimori_respond::email::UserNotice>),
    /// The same policy's override was already in force.
    AlreadyInForce,
    /// The user is exempt.
    Exempt,
    /// No such user in the tenant (e.g. an alert about an outside account).
    NoSuchUser,
}

/// Acts on users for response policies.
#[async_trait::async_trait]
pub trait Responder: Send + Sync {
    /// Applies `call`.
    async fn respond(&self, call: &ResponseCall) -> WatchResult<ResponseOutcome>;
}
