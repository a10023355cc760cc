// The SQL both backends share. The files in `sql/` are `include!`d into `sqlite.rs` and
// `postgres.rs`, which each provide, over their own driver:
//
// - `This`, the store, with `begin()` (a write transaction), `read_optional()` and
//   `read_all()` (reads outside a transaction), `write()` (one statement in a transaction
//   of its own) and `lock_audit()` (what serialises appends to the audit chain);
// - `Tx`, the transaction, with `execute()`, `fetch_optional()`, `fetch_one()`, `commit()`
//   and `rollback()` (dropping it uncommitted rolls back).
//
// Queries are the neutral [`Q`](crate::query::Q); parameters are numbered (`$1`) and every
// query is written so that the same text means the same on both.

use async_trait::async_trait;
use sekimori_core::canonical::to_canonical_string;
use sekimori_core::clock::HOUR_MS;
use sekimori_core::event::NewEvent;

use sekimori_core::environment::Environment;
use sekimori_core::{AppId, DeviceId, LoginId, SessionId, TenantId, Timestamp, UserId};

use crate::postings::Posting;
use crate::query::{
    q, AuditHeadRow, CountRow, EntityProfileRow, IndexRowOwned, MinIdRow, PostingRow, PostingsRow, RetentionRow,
    RollupPart, SeqRow, StagedAboutRow, StagedBatchRow, StagedRow, StateRow, TenantIdRow, UsernameRow, Q,
};
use crate::records::*;
use crate::traits::*;
use crate::{chain_hash, StoreResult, GENESIS_HASH};

/// When a change writes its audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Audit {
    /// Always (an insert that cannot be a no-op).
    Always,
    /// Only when the statement changed exactly one row (a revoke of something already gone
    /// is not an event).
    IfChanged,
}

impl This {
    /// Appends `event` to the audit chain inside `tx`.
    ///
    /// Fast path: one conditional insert that chains onto the cached head and only
    /// succeeds if the database agrees that the head is still the last row. A stale cache
    /// (a rolled-back transaction, another process) costs one retry, never a broken chain.
    /// Rows are only ever appended consecutively, so "no row `seq`" means the head is last;
    /// the guard is an equality on the primary key (a range would plan as a scan).
    async fn append_in(&self, tx: &mut Tx, event: &NewEvent) -> StoreResult<i64> {
        Self::lock_audit(tx).await?;
        let doc = to_canonical_string(&event.to_ecs());
        let cached = self.audit_head.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some((head_seq, head_hash)) = cached {
            let seq = head_seq + 1;
            let hash = chain_hash(&head_hash, &doc);
            let n = audit_row(
                "INSERT INTO audit_events (seq, tenant_id, ts, action, outcome, user_id, doc, prev_hash, hash) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 \
                 WHERE EXISTS (SELECT 1 FROM audit_events WHERE seq = $10 AND hash = $8) \
                 AND NOT EXISTS (SELECT 1 FROM audit_events WHERE seq = $1)",
                seq,
                event,
                &doc,
                &head_hash,
                &hash,
            )
            .bind(head_seq);
            if tx.execute(n).await? == 1 {
                roll_up(tx, event).await?;
                *self.audit_head.lock().unwrap_or_else(|p| p.into_inner()) = Some((seq, hash));
                return Ok(seq);
            }
        }
        let head: Option<AuditHeadRow> =
            tx.fetch_optional(q("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")).await?;
        let (seq, prev) = match head {
            Some(AuditHeadRow { seq, hash }) => (seq + 1, hash),
            None => (1, GENESIS_HASH.to_vec()),
        };
        let hash = chain_hash(&prev, &doc);
        tx.execute(audit_row(
            "INSERT INTO audit_events (seq, tenant_id, ts, action, outcome, user_id, doc, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            seq,
            event,
            &doc,
            &prev,
            &hash,
        ))
        .await?;
        roll_up(tx, event).await?;
        *self.audit_head.lock().unwrap_or_else(|p| p.into_inner()) = Some((seq, hash));
        Ok(seq)
    }

    /// Runs `query` and appends `event` in the same transaction, as `when` says. Returns
    /// whether the statement changed exactly one row.
    async fn audited(&self, query: Q<'_>, event: &NewEvent, when: Audit) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let changed = tx.execute(query).await? == 1;
        if changed || when == Audit::Always {
            self.append_in(&mut tx, event).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Runs `event` alone in its own transaction.
    async fn audit_only(&self, event: &NewEvent) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        let seq = self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(seq)
    }
}

/// Counts `event` in its hour's roll-up (with its label, `ecs::rollup_label`), in the
/// transaction of its audit row.
async fn roll_up(tx: &mut Tx, event: &NewEvent) -> StoreResult<()> {
    let hour = event.timestamp.floor_to(HOUR_MS);
    tx.execute(
        q("INSERT INTO audit_rollups (tenant_id, hour, action, outcome, label, n) VALUES ($1, $2, $3, $4, $5, 1) \
           ON CONFLICT (tenant_id, hour, action, outcome, label) DO UPDATE SET n = audit_rollups.n + 1")
        .bind(event.tenant.as_str())
        .bind(hour)
        .bind(event.action.as_str())
        .bind(event.outcome.as_str())
        .bind(sekimori_core::ecs::rollup_label(event).as_str()),
    )
    .await?;
    Ok(())
}

/// `sql` with an audit row's nine values bound as `$1` to `$9`, in column order.
fn audit_row<'q>(
    sql: &'q str,
    seq: i64,
    event: &'q NewEvent,
    doc: &'q str,
    prev_hash: &'q [u8],
    hash: &'q [u8],
) -> Q<'q> {
    q(sql)
        .bind(seq)
        .bind(event.tenant.as_str())
        .bind(event.timestamp.millis())
        .bind(event.action.as_str())
        .bind(event.outcome.as_str())
        .bind(event.user_id.as_deref())
        .bind(doc)
        .bind(prev_hash)
        .bind(hash)
}

async fn insert_assertion(tx: &mut Tx, a: &AssertionRecord) -> StoreResult<()> {
    tx.execute(
        q("INSERT INTO assertions (jti, tenant_id, user_id, username, login_id, level, amr, issued_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(&a.jti)
        .bind(&a.tenant_id)
        .bind(&a.user_id)
        .bind(&a.username)
        .bind(&a.login_id)
        .bind(a.level)
        .bind(&a.amr)
        .bind(a.issued_at)
        .bind(a.expires_at),
    )
    .await?;
    Ok(())
}

async fn close_standby(tx: &mut Tx, user_id: &UserId, now: Timestamp) -> StoreResult<()> {
    tx.execute(
        q("UPDATE standby_windows SET closed_at = $1 WHERE user_id = $2 AND closed_at IS NULL AND expires_at > $1")
            .bind(now)
            .bind(user_id),
    )
    .await?;
    Ok(())
}

async fn mark_environment_login(
    tx: &mut Tx,
    tenant_id: &TenantId,
    user_id: &UserId,
    env_key: &str,
    env: &Environment,
    now: Timestamp,
) -> StoreResult<()> {
    tx.execute(q(
        "INSERT INTO environments (user_id, env_key, tenant_id, browser, os, network, country, first_seen, last_seen, last_login_at, trusted) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8, FALSE) \
         ON CONFLICT (user_id, env_key) DO UPDATE SET last_seen = excluded.last_seen, last_login_at = excluded.last_login_at",
    )
    .bind(user_id)
    .bind(env_key)
    .bind(tenant_id)
    .bind(&env.browser)
    .bind(&env.os)
    .bind(&env.network)
    .bind(&env.country)
    .bind(now))
    .await?;
    Ok(())
}
