//! Per-tenant documents kept in versions (tuning, routing, the risk policy): a new version
//! is written only on top of the version its author read, in one conditional insert with
//! its audit event, so two admins editing at once cannot overwrite each other unseen.

use sekimori_core::ecs::field;
use sekimori_core::event::{NewEvent, Outcome};
use sekimori_core::token::sha256_hex;
use sekimori_core::{ErrorCode, ServiceError, TenantId, Timestamp};

use crate::records::{DocumentKind, DocumentRecord};
use crate::traits::WatchStore;

/// A new version of a tenant's document.
#[derive(Debug, Clone)]
pub struct NewVersion<'a> {
    /// Which document.
    pub kind: DocumentKind,
    /// Whose.
    pub tenant_id: &'a TenantId,
    /// The version the change was made on (0 before the first).
    pub base_version: i64,
    /// The document, checked by the caller.
    pub doc: String,
    /// The admin token id that writes it.
    pub author: &'a str,
    /// When.
    pub at: Timestamp,
    /// The audit event's action, e.g. `admin.tuning.updated`.
    pub action: &'static str,
}

/// Writes `v` as version `base_version + 1` with its audit event (the version, the
/// document's SHA-256 and the author); `conflict` with `current_version` when the current
/// version is no longer `base_version`.
pub async fn write_version<S: WatchStore + ?Sized>(store: &S, v: NewVersion<'_>) -> Result<i64, ServiceError> {
    let version = v.base_version + 1;
    let name = v.kind.as_str();
    let ev = NewEvent::new(v.at, v.tenant_id, "configuration", v.action, Outcome::Success)
        .field(&format!("sekimori.{name}.version"), version)
        .field(&format!("sekimori.{name}.sha256"), sha256_hex(v.doc.as_bytes()))
        .field(field::ADMIN_TOKEN_ID, v.author);
    let record = DocumentRecord {
        tenant_id: v.tenant_id.clone(),
        version,
        doc: v.doc,
        author: v.author.to_owned(),
        created_at: v.at,
    };
    if store.insert_document(v.kind, &record, &ev).await? {
        return Ok(version);
    }
    let current = store.document(v.kind, v.tenant_id).await?.map_or(0, |r| r.version);
    Err(ServiceError::new(
        ErrorCode::Conflict,
        format!(
            "the {} is at version {current}, not {}; read it again and re-apply the change",
            v.kind.noun(),
            v.base_version
        ),
    )
    .with("current_version", current))
}
