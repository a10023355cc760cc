//! The audit log: reading it, and verifying its hash chain. Verification walks every
//! row in order and names the first one that breaks: a changed document, a changed
//! indexed column, a removed or reordered row.

use sekimori_core::canonical::to_canonical_string;
use sekimori_core::ecs::{action, field};
use sekimori_core::event::Outcome;
use sekimori_core::TenantId;
use sekimori_store::{chain_hash, AuditStore, EventFilter, StoredEvent, GENESIS_HASH};
use serde::Serialize;

use std::path::Path;
use std::sync::Arc;

use crate::checkpoints::{write_checkpoint, Checkpoint, CheckpointError};
use crate::{Context, GateResult};

/// The result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Rows checked, including the broken one.
    pub rows_checked: u64,
    /// The first broken row, if any.
    pub first_broken: Option<BrokenRow>,
    /// The last archived row, when older rows were archived: the walk started after it,
    /// from its hash (the archives are checked with `sekimori audit verify --archives`).
    pub archived_through: Option<i64>,
}

/// A row that does not verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenRow {
    /// Its sequence number.
    pub seq: i64,
    /// What is wrong with it.
    pub reason: String,
}

const PAGE: i64 = 1000;

/// Walks rows in chain order, from the genesis or from an archive's last row.
#[derive(Debug, Clone)]
pub struct ChainWalker {
    expected_seq: i64,
    prev_hash: Vec<u8>,
    /// Rows checked so far.
    pub checked: u64,
}

impl ChainWalker {
    /// From the first row.
    pub fn from_genesis() -> Self {
        ChainWalker { expected_seq: 1, prev_hash: GENESIS_HASH.to_vec(), checked: 0 }
    }

    /// From the row after `seq`, whose hash is `hash`.
    pub fn after(seq: i64, hash: &[u8]) -> Self {
        ChainWalker { expected_seq: seq + 1, prev_hash: hash.to_vec(), checked: 0 }
    }

    /// The last row walked (or the starting point): its number and hash.
    pub fn last(&self) -> (i64, &[u8]) {
        (self.expected_seq - 1, &self.prev_hash)
    }

    /// Checks the next row.
    pub fn step(&mut self, row: &StoredEvent) -> Result<(), BrokenRow> {
        self.checked += 1;
        if let Some(reason) = check_row(row, self.expected_seq, &self.prev_hash) {
            return Err(BrokenRow { seq: row.seq, reason });
        }
        self.prev_hash.clone_from(&row.hash);
        self.expected_seq += 1;
        Ok(())
    }
}

/// Walks the live chain: from the genesis, or from the archive base when older rows were
/// archived (the base's signature is checked by the caller, who holds the key).
pub async fn verify_chain(store: &dyn AuditStore) -> Result<VerifyReport, sekimori_store::StoreError> {
    let base = store.audit_base().await?;
    let mut walker = match &base {
        Some(b) => ChainWalker::after(b.seq, &b.hash),
        None => ChainWalker::from_genesis(),
    };
    let archived_through = base.map(|b| b.seq);
    loop {
        let filter = EventFilter { after_seq: Some(walker.last().0), limit: PAGE, ..Default::default() };
        let rows = store.events(&filter).await?;
        if rows.is_empty() {
            return Ok(VerifyReport { rows_checked: walker.checked, first_broken: None, archived_through });
        }
        for row in &rows {
            if let Err(broken) = walker.step(row) {
                return Ok(VerifyReport { rows_checked: walker.checked, first_broken: Some(broken), archived_through });
            }
        }
    }
}

fn check_row(row: &StoredEvent, expected_seq: i64, prev_hash: &[u8]) -> Option<String> {
    if row.seq != expected_seq {
        return Some(format!("expected row {expected_seq} next; rows are missing"));
    }
    if row.prev_hash != prev_hash {
        return Some("prev_hash does not match the previous row's hash".into());
    }
    if row.hash != chain_hash(prev_hash, &row.doc) {
        return Some("hash does not match the row's document".into());
    }
    let doc: serde_json::Value = match serde_json::from_str(&row.doc) {
        Ok(d) => d,
        Err(_) => return Some("the document is not JSON".into()),
    };
    if to_canonical_string(&doc) != row.doc {
        return Some("the document is not in canonical form".into());
    }
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    let checks = [
        ("action", text(&doc["event"]["action"]) == Some(row.action.clone())),
        ("outcome", text(&doc["event"]["outcome"]) == Some(row.outcome.clone())),
        ("tenant_id", text(&doc["sekimori"]["tenant"]) == Some(row.tenant_id.to_string())),
        ("user_id", text(&doc["user"]["id"]) == row.user_id.as_ref().map(ToString::to_string)),
        ("ts", text(&doc["@timestamp"]) == Some(row.ts.to_rfc3339())),
    ];
    checks.iter().find(|(_, ok)| !ok).map(|(col, _)| format!("column {col} differs from the row's document"))
}

/// The audit log as the services see it: reading events, verifying the chain, writing
/// signed checkpoints.
pub struct AuditLog {
    ctx: Arc<Context>,
}

impl AuditLog {
    pub(crate) fn new(ctx: Arc<Context>) -> Self {
        AuditLog { ctx }
    }

    /// Audit events of `tenant_id` matching `filter`.
    pub async fn events(&self, tenant_id: &TenantId, mut filter: EventFilter) -> GateResult<Vec<StoredEvent>> {
        filter.tenant_id = Some(tenant_id.to_owned());
        Ok(self.ctx.store.events(&filter).await?)
    }

    /// Verifies the audit chain.
    pub async fn verify_audit(&self) -> GateResult<VerifyReport> {
        Ok(verify_chain(self.ctx.store.as_ref()).await?)
    }

    /// Verifies the audit chain and writes the result to the log of each of `tenants`
    /// (`audit.chain.verified`: success, or failure with the first broken row), so the
    /// chain's last known state is read from the log (the console's home) without walking
    /// it again, and a broken chain raises the built-in rule's alert. `by` names who asked
    /// (an admin token's id, `console:<user>`, or `schedule`).
    pub async fn verify_and_record(&self, tenants: &[TenantId], by: &str) -> GateResult<VerifyReport> {
        let report = verify_chain(self.ctx.store.as_ref()).await?;
        let outcome = if report.first_broken.is_some() { Outcome::Failure } else { Outcome::Success };
        for tenant in tenants {
            let ev = self
                .ctx
                .event(tenant, "configuration", action::AUDIT_CHAIN_VERIFIED, outcome)
                .field(field::AUDIT_CHAIN_ROWS_CHECKED, report.rows_checked)
                .field(field::AUDIT_CHAIN_BY, by)
                .field_opt(field::AUDIT_CHAIN_FIRST_BROKEN, report.first_broken.as_ref().map(|b| b.seq))
                .field_opt(field::AUDIT_CHAIN_REASON, report.first_broken.as_ref().map(|b| b.reason.clone()));
            self.ctx.store.append(&ev).await?;
        }
        Ok(report)
    }

    /// Writes a checkpoint of the audit log to `file` when the head moved past `last_seq`
    /// ([`write_checkpoint`]).
    pub async fn audit_checkpoint(
        &self,
        file: &Path,
        last_seq: Option<i64>,
    ) -> Result<Option<Checkpoint>, CheckpointError> {
        write_checkpoint(self.ctx.store.as_ref(), &self.ctx.keys, self.ctx.clock.now(), file, last_seq).await
    }
}
