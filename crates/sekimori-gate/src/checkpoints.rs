//! Audit checkpoints: the chain's head (row number and hash), signed with the server key
//! and written outside the database, so that `audit verify` notices rows cut from the end
//! of the log or rewritten together with every later hash, which the chain alone cannot
//! show (docs/operations.md, "What the audit chain proves").

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use sekimori_core::canonical::to_canonical_string;
use sekimori_core::Timestamp;
use sekimori_store::{AuditStore, EventFilter};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::keys::ServerKeys;

const CONTEXT: &str = "sekimori-audit-checkpoint:v1:";

/// One signed checkpoint: a line of the checkpoint file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// The row number of the chain's head.
    pub seq: i64,
    /// Its hash, hex.
    pub hash: String,
    /// When the checkpoint was made, RFC 3339.
    pub at: String,
    /// Ed25519 signature by the server key over the context and the canonical JSON of
    /// `{at, hash, seq}`, base64url.
    pub sig: String,
}

fn message(seq: i64, hash: &str, at: &str) -> Vec<u8> {
    format!("{CONTEXT}{}", to_canonical_string(&json!({"seq": seq, "hash": hash, "at": at}))).into_bytes()
}

impl Checkpoint {
    /// Whether the signature is the server key's.
    pub fn verify(&self, key: &VerifyingKey) -> bool {
        let Ok(sig) = URL_SAFE_NO_PAD.decode(&self.sig) else { return false };
        let Ok(sig) = Signature::from_slice(&sig) else { return false };
        key.verify(&message(self.seq, &self.hash, &self.at), &sig).is_ok()
    }
}

/// Appends a checkpoint of the chain's head to `file` (fsynced) when the head has moved
/// past `last_seq`; returns it.
pub async fn write_checkpoint(
    store: &dyn AuditStore,
    keys: &ServerKeys,
    now: Timestamp,
    file: &Path,
    last_seq: Option<i64>,
) -> Result<Option<Checkpoint>, CheckpointError> {
    let Some(head) = store.audit_head().await? else { return Ok(None) };
    if last_seq == Some(head.seq) {
        return Ok(None);
    }
    let hash = hex::encode(&head.hash);
    let at = now.to_rfc3339();
    let cp = Checkpoint { seq: head.seq, sig: keys.sign_b64(&message(head.seq, &hash, &at)), hash, at };
    let line = serde_json::to_string(&cp).map_err(|e| CheckpointError::File(e.to_string()))? + "\n";
    let io = |e: std::io::Error| CheckpointError::File(format!("{}: {e}", file.display()));
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(file).map_err(io)?;
    f.write_all(line.as_bytes()).and_then(|()| f.sync_data()).map_err(io)?;
    tracing::info!(seq = cp.seq, hash = %cp.hash, "audit checkpoint");
    Ok(Some(cp))
}

/// Why checkpoints could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] sekimori_store::StoreError),
    /// The checkpoint file could not be written or read.
    #[error("{0}")]
    File(String),
}

/// What the checkpoints say about the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// There are no checkpoints: rows cut from the end cannot be noticed.
    NoCheckpoints,
    /// Every checkpoint that could be checked matches the log.
    Matches {
        /// The newest checkpoint.
        newest: Checkpoint,
        /// Checkpoints of archived rows not checked (no archives were given).
        archived_unchecked: usize,
    },
    /// A checkpoint's row is gone: the log was cut short.
    Truncated {
        /// The checkpoint.
        checkpoint: Checkpoint,
        /// The last row the log has now (0: none).
        last_seq: i64,
    },
    /// A checkpoint's row has another hash: the log was rewritten.
    Rewritten(Checkpoint),
    /// A line that is not a checkpoint signed by this server's key.
    BadLine {
        /// Its line number.
        line: usize,
        /// What is wrong.
        why: String,
    },
}

/// The checkpoints in `text` (a checkpoint file), each signed by `key`; or the verdict on
/// the first line that is not.
pub fn parse_checkpoints(text: &str, key: &VerifyingKey) -> Result<Vec<Checkpoint>, Verdict> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let bad = |why: &str| Verdict::BadLine { line: i + 1, why: why.to_owned() };
        let Ok(cp) = serde_json::from_str::<Checkpoint>(line) else { return Err(bad("not a checkpoint")) };
        if !cp.verify(key) {
            return Err(bad("the signature is not this server's (forged, or another server's)"));
        }
        out.push(cp);
    }
    Ok(out)
}

/// Checks the log in `store` against `checkpoints` (from [`parse_checkpoints`], so signed).
/// Checkpoints of rows archived before the live log's base are checked against `archived`
/// (row number to hash, hex, from verified archives) when it has them, and counted as
/// unchecked when it does not.
pub async fn verify_checkpoints(
    store: &dyn AuditStore,
    checkpoints: &[Checkpoint],
    archived: &BTreeMap<i64, String>,
) -> Result<Verdict, CheckpointError> {
    let base = store.audit_base().await?;
    let mut newest: Option<&Checkpoint> = None;
    let mut archived_unchecked = 0;
    for cp in checkpoints {
        let stored_hash = match &base {
            Some(b) if cp.seq <= b.seq => match archived.get(&cp.seq) {
                Some(h) => Some(h.clone()),
                None if cp.seq == b.seq => Some(hex::encode(&b.hash)),
                None => {
                    archived_unchecked += 1;
                    continue;
                }
            },
            _ => {
                let row =
                    store.events(&EventFilter { after_seq: Some(cp.seq - 1), limit: 1, ..Default::default() }).await?;
                row.first().filter(|r| r.seq == cp.seq).map(|r| hex::encode(&r.hash))
            }
        };
        match stored_hash {
            Some(h) if h != cp.hash => return Ok(Verdict::Rewritten(cp.clone())),
            Some(_) => {}
            None => {
                let last_seq = store.audit_head().await?.map_or(0, |h| h.seq);
                return Ok(Verdict::Truncated { checkpoint: cp.clone(), last_seq });
            }
        }
        if newest.is_none_or(|n| cp.seq >= n.seq) {
            newest = Some(cp);
        }
    }
    Ok(newest.map_or(Verdict::NoCheckpoints, |newest| Verdict::Matches { newest: newest.clone(), archived_unchecked }))
}

#[cfg(test)]
mod tests {
    use sekimori_core::OsRng;

    use super::*;

    #[test]
    fn signatures_bind_every_field() {
        let keys = ServerKeys::generate(&OsRng);
        let at = Timestamp(1_800_000_000_000).to_rfc3339();
        let hash = "ab".repeat(32);
        let cp = Checkpoint { seq: 7, sig: keys.sign_b64(&message(7, &hash, &at)), hash: hash.clone(), at: at.clone() };
        assert!(cp.verify(&keys.verifying_key()));
        assert!(!Checkpoint { seq: 8, ..cp.clone() }.verify(&keys.verifying_key()));
        assert!(!Checkpoint { hash: "cd".repeat(32), ..cp.clone() }.verify(&keys.verifying_key()));
        assert!(!Checkpoint { at: Timestamp(0).to_rfc3339(), ..cp.clone() }.verify(&keys.verifying_key()));
        assert!(!cp.verify(&ServerKeys::generate(&OsRng).verifying_key()), "another server's key");
    }
}
