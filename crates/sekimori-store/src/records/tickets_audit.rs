//! Tickets and the audit log: stored events, the archive base, event filters (SQL:
//! `sql/tickets_audit.rs`).

use sekimori_core::{AppId, TenantId, Timestamp, UserId};

/// A one-time ticket for an entitlement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// Id (UUIDv7 text).
    pub id: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Holder.
    pub user_id: UserId,
    /// What it entitles to, e.g. `lunch`.
    pub entitlement: String,
    /// App that issued it.
    pub issued_by: AppId,
    /// Issue time, ms.
    pub created_at: Timestamp,
    /// Expiry, ms.
    pub expires_at: Timestamp,
    /// First (only) redemption, ms.
    pub redeemed_at: Option<Timestamp>,
    /// App that redeemed it.
    pub redeemed_by: Option<AppId>,
}

/// A ticket joined with its holder's username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketWithHolder {
    /// The ticket.
    pub ticket: Ticket,
    /// The holder's username.
    pub holder: String,
}

/// One row of the hash-chained audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Event time, ms.
    pub ts: Timestamp,
    /// `event.action`.
    pub action: String,
    /// `event.outcome`.
    pub outcome: String,
    /// `user.id`.
    pub user_id: Option<UserId>,
    /// The ECS document, canonical JSON.
    pub doc: String,
    /// Hash of the previous row.
    pub prev_hash: Vec<u8>,
    /// `sha256(prev_hash || doc)`.
    pub hash: Vec<u8>,
}

/// Where the live audit chain starts once older rows were archived: the last archived
/// row's number and hash, signed with the server key by whoever archived them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditBase {
    /// The last archived row.
    pub seq: i64,
    /// Its hash (the next live row's `prev_hash`).
    pub hash: Vec<u8>,
    /// The server key's signature over the base (see `sekimori_gate::archive`), base64url.
    pub sig: String,
    /// When it was archived, ms.
    pub archived_at: Timestamp,
}

/// Why rows could not be archived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveRefused {
    /// The row to archive up to is not in the live log with the hash the archive holds.
    NotInLog,
    /// It is the chain's head, or rows before it are already archived past it.
    NotArchivable,
}

/// Filters for reading the audit log.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only this tenant.
    pub tenant_id: Option<TenantId>,
    /// Only this user id.
    pub user_id: Option<UserId>,
    /// Only this action (exact) or prefix when it ends with `*`.
    pub action: Option<String>,
    /// At or after this time.
    pub since: Option<Timestamp>,
    /// Before this time.
    pub until: Option<Timestamp>,
    /// Rows after this sequence number (paging).
    pub after_seq: Option<i64>,
    /// At most this many rows.
    pub limit: i64,
    /// The latest rows, newest first (`after_seq` still bounds them from below); otherwise
    /// oldest first, for paging with `after_seq`.
    pub newest_first: bool,
}

/// Audit events counted in one hour for one action and outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRollup {
    /// The hour's start, ms.
    pub hour: i64,
    /// `event.action`.
    pub action: String,
    /// `event.outcome`.
    pub outcome: String,
    /// What divides the count further (`ecs::rollup_label`: the risk decision of an
    /// assessment), else `""`.
    pub label: String,
    /// How many.
    pub n: i64,
}
