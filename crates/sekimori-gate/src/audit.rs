//! The audit log: reading it, and verifying its hash chain. Verification walks every
//! row in order and names the first one that breaks: a changed document, a changed
//! indexed column, a removed or reordered row.

use sekimori_core::canonical::to_canonical_string;
use sekimori_store::{chain_hash, AuditStore, EventFilter, StoredEvent, GENESIS_HASH};
use serde::Serialize;

use crate::{Gate, GateResult};

/// The result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Rows checked, including the broken one.
    pub rows_checked: u64,
    /// The first broken row, if any.
    pub first_broken: Option<BrokenRow>,
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

/// Walks the whole chain.
pub async fn verify_chain(store: &dyn AuditStore) -> Result<VerifyReport, sekimori_store::StoreError> {
    let mut prev_hash = GENESIS_HASH.to_vec();
    let mut expected_seq = 1;
    let mut checked = 0u64;
    loop {
        let filter = EventFilter { after_seq: Some(expected_seq - 1), limit: PAGE, ..Default::default() };
        let rows = store.events(&filter).await?;
        if rows.is_empty() {
            return Ok(VerifyReport { rows_checked: checked, first_broken: None });
        }
        for row in &rows {
            checked += 1;
            if let Some(reason) = check_row(row, expected_seq, &prev_hash) {
                return Ok(VerifyReport {
                    rows_checked: checked,
                    first_broken: Some(BrokenRow { seq: row.seq, reason }),
                });
            }
            prev_hash = row.hash.clone();
            expected_seq += 1;
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
        ("tenant_id", text(&doc["sekimori"]["tenant"]) == Some(row.tenant_id.clone())),
        ("user_id", text(&doc["user"]["id"]) == row.user_id),
        ("ts", text(&doc["@timestamp"]) == Some(sekimori_core::Timestamp(row.ts).to_rfc3339())),
    ];
    checks.iter().find(|(_, ok)| !ok).map(|(col, _)| format!("column {col} differs from the row's document"))
}

impl Gate {
    /// Audit events of `tenant_id` matching `filter`.
    pub async fn events(&self, tenant_id: &str, mut filter: EventFilter) -> GateResult<Vec<StoredEvent>> {
        filter.tenant_id = Some(tenant_id.to_owned());
        Ok(self.store.events(&filter).await?)
    }

    /// Verifies the audit chain.
    pub async fn verify_audit(&self) -> GateResult<VerifyReport> {
        Ok(verify_chain(self.store.as_ref()).await?)
    }
}
