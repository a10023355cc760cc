//! Archiving sealed audit segments, so the live `audit_events` table can be bounded
//! without breaking verification.
//!
//! A segment runs from the row after the live log's base (or the first row) to a row a
//! signed checkpoint names. The archiver (in the `sekimori` binary) writes the segment's
//! rows and checkpoints to the backup destinations and checks what it wrote; then
//! [`seal`] deletes the rows and records the segment's last row as the live log's
//! **base**, signed with the server key, with an `audit.archived` event appended in the
//! same transaction. Verification starts from the base; the archives, read in order from
//! the genesis, must end exactly at it (`sekimori audit verify --archives`).

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use sekimori_core::canonical::to_canonical_string;
use sekimori_core::ecs::{action, field};
use sekimori_core::event::{NewEvent, Outcome};
use sekimori_core::Timestamp;
use sekimori_store::{ArchiveRefused, AuditBase, AuditStore, EventFilter, StoreError, StoredEvent};
use serde_json::json;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::checkpoints::Checkpoint;
use crate::keys::ServerKeys;

const CONTEXT: &str = "sekimori-audit-base:v1:";

/// `event.action` of the event that records an archive.
pub const ARCHIVED_ACTION: &str = action::AUDIT_ARCHIVED;

fn base_message(seq: i64, hash: &[u8], archived_at: i64) -> Vec<u8> {
    let doc = json!({"seq": seq, "hash": hex::encode(hash), "archived_at": archived_at});
    format!("{CONTEXT}{}", to_canonical_string(&doc)).into_bytes()
}

/// Whether `base` was signed by `key`.
pub fn base_is_signed(base: &AuditBase, key: &VerifyingKey) -> bool {
    let Ok(sig) = URL_SAFE_NO_PAD.decode(&base.sig) else { return false };
    let Ok(sig) = Signature::from_slice(&sig) else { return false };
    key.verify(&base_message(base.seq, &base.hash, base.archived_at.millis()), &sig).is_ok()
}

/// The segment the next archive would hold: rows `from..=to`, sealed by `checkpoint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The first row.
    pub from: i64,
    /// The last row; a checkpoint names it.
    pub to: i64,
    /// The hash before `from` (the genesis or the base), hex.
    pub prev_hash: String,
    /// The checkpoint that seals it.
    pub checkpoint: Checkpoint,
}

/// Picks the segment to archive: up to the newest checkpoint whose row is older than
/// `before` (ms), is not the head, and is at most `limit` (e.g. how far the detection
/// follower has read). `checkpoints` must already be verified; `None`: nothing to archive.
pub async fn plan(
    store: &dyn AuditStore,
    checkpoints: &[Checkpoint],
    before: i64,
    limit: i64,
) -> Result<Option<Segment>, StoreError> {
    let base = store.audit_base().await?;
    let (from, prev_hash) = match &base {
        Some(b) => (b.seq + 1, hex::encode(&b.hash)),
        None => (1, hex::encode(sekimori_store::GENESIS_HASH)),
    };
    let Some(head) = store.audit_head().await? else { return Ok(None) };
    let mut candidates: Vec<&Checkpoint> =
        checkpoints.iter().filter(|c| c.seq >= from && c.seq < head.seq && c.seq <= limit).collect();
    candidates.sort_by_key(|c| std::cmp::Reverse(c.seq));
    for cp in candidates {
        let row = store.events(&EventFilter { after_seq: Some(cp.seq - 1), limit: 1, ..Default::default() }).await?;
        match row.first() {
            Some(r) if r.seq == cp.seq && hex::encode(&r.hash) == cp.hash => {
                if r.ts < Timestamp(before) {
                    return Ok(Some(Segment { from, to: cp.seq, prev_hash, checkpoint: cp.clone() }));
                }
            }
            // The caller verified the checkpoints against the log; a mismatch now means the
            // log changed underneath: archive nothing.
            _ => return Ok(None),
        }
    }
    Ok(None)
}

/// Reads rows `after+1..=to`, at most `limit` of them, in chain order.
pub async fn rows(store: &dyn AuditStore, after: i64, to: i64, limit: i64) -> Result<Vec<StoredEvent>, StoreError> {
    let mut rows = store.events(&EventFilter { after_seq: Some(after), limit, ..Default::default() }).await?;
    rows.retain(|r| r.seq <= to);
    Ok(rows)
}

/// Deletes the archived rows of `segment` (whose last row is `last`) and records the new
/// base, signed with `keys`, with an [`ARCHIVED_ACTION`] event naming the archive files.
pub async fn seal(
    store: &dyn AuditStore,
    keys: &ServerKeys,
    now: Timestamp,
    segment: &Segment,
    last: &StoredEvent,
    files: &[String],
) -> Result<Result<u64, ArchiveRefused>, StoreError> {
    let base = AuditBase {
        seq: last.seq,
        hash: last.hash.clone(),
        sig: keys.sign_b64(&base_message(last.seq, &last.hash, now.millis())),
        archived_at: now,
    };
    let event = NewEvent::new(now, &last.tenant_id, "configuration", ARCHIVED_ACTION, Outcome::Success)
        .field(field::AUDIT_ARCHIVE_FROM_SEQ, segment.from)
        .field(field::AUDIT_ARCHIVE_TO_SEQ, segment.to)
        .field(field::AUDIT_ARCHIVE_LAST_HASH, hex::encode(&last.hash))
        .field(field::AUDIT_ARCHIVE_FILES, files.to_vec());
    store.archive_audit(&base, &event).await
}

#[cfg(test)]
mod tests {
    use sekimori_core::OsRng;

    use super::*;

    #[test]
    fn the_base_signature_binds_every_field() {
        let keys = ServerKeys::generate(&OsRng);
        let hash = vec![5u8; 32];
        let base = AuditBase {
            seq: 40,
            sig: keys.sign_b64(&base_message(40, &hash, 1_800_000_000_000)),
            hash: hash.clone(),
            archived_at: Timestamp(1_800_000_000_000),
        };
        assert!(base_is_signed(&base, &keys.verifying_key()));
        assert!(!base_is_signed(&AuditBase { seq: 41, ..base.clone() }, &keys.verifying_key()));
        assert!(!base_is_signed(&AuditBase { hash: vec![6; 32], ..base.clone() }, &keys.verifying_key()));
        assert!(!base_is_signed(&AuditBase { archived_at: Timestamp(1), ..base.clone() }, &keys.verifying_key()));
        assert!(!base_is_signed(&base, &ServerKeys::generate(&OsRng).verifying_key()));
    }
}
