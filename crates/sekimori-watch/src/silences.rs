//! Alert silences per tenant (docs/respond.md): matchers checked by the respond engine, a
//! window that ends on time, who and why; made and ended early over the admin API, audited.

use sekimori_core::ecs::{action, field};
use sekimori_core::event::{NewEvent, Outcome};
use sekimori_core::TenantId;
use sekimori_core::{ErrorCode, ServiceError, Timestamp};
use sekimori_respond::{Matcher, Silence};
use sekimori_store::SilenceRecord;

use crate::{Watch, WatchResult};

/// At most this many matchers per silence.
pub const MAX_SILENCE_MATCHERS: usize = 32;
/// A silence lasts at most this long, ms (a year).
pub const MAX_SILENCE_MS: i64 = 366 * 86_400_000;

fn invalid(field: &str, detail: String) -> ServiceError {
    ServiceError::new(ErrorCode::InvalidRequest, detail).with("field", field)
}

/// The engine's silence for a stored one (its matchers were checked when it was made; one
/// that no longer parses is a corrupt row).
pub fn silence_of(r: &SilenceRecord) -> WatchResult<Silence> {
    let matchers = r
        .matchers
        .iter()
        .map(|m| {
            Matcher::parse(m).map_err(|e| {
                ServiceError::new(ErrorCode::Internal, format!("stored silence {}: matcher {m:?}: {e}", r.id))
            })
        })
        .collect::<WatchResult<Vec<_>>>()?;
    Ok(Silence {
        id: r.id.clone(),
        matchers,
        starts_at_ms: r.starts_at.millis(),
        ends_at_ms: r.ends_at.millis(),
        created_by: r.created_by.clone(),
        comment: r.comment.clone(),
    })
}

impl Watch {
    /// Makes a silence from `starts_at` (now when `None`) to `ends_at`, ms. Refused, naming
    /// the field, when a matcher is not one, there are none or too many, the window is
    /// empty, already over or longer than a year, or the comment is empty.
    pub async fn add_silence(
        &self,
        tenant_id: &TenantId,
        admin_token_id: &str,
        matchers: &[String],
        starts_at: Option<i64>,
        ends_at: i64,
        comment: &str,
    ) -> WatchResult<SilenceRecord> {
        if matchers.is_empty() || matchers.len() > MAX_SILENCE_MATCHERS {
            return Err(invalid("matchers", format!("a silence needs 1 to {MAX_SILENCE_MATCHERS} matchers")));
        }
        for (i, m) in matchers.iter().enumerate() {
            Matcher::parse(m).map_err(|e| invalid(&format!("matchers[{i}]"), e.to_string()))?;
        }
        let now = self.clock.now().millis();
        let starts_at = starts_at.unwrap_or(now);
        if ends_at <= starts_at || ends_at <= now {
            return Err(invalid("ends_at", "ends_at must be after starts_at and in the future".into()));
        }
        if ends_at - starts_at > MAX_SILENCE_MS {
            return Err(invalid("ends_at", "a silence lasts at most a year".into()));
        }
        let comment = comment.trim();
        if comment.is_empty() || comment.len() > 1024 {
            return Err(invalid("comment", "say why, in 1 to 1024 bytes".into()));
        }
        let record = SilenceRecord {
            id: self.new_id(),
            tenant_id: tenant_id.to_owned(),
            matchers: matchers.iter().map(|m| m.trim().to_owned()).collect(),
            starts_at: Timestamp(starts_at),
            ends_at: Timestamp(ends_at),
            created_by: format!("admin_token:{admin_token_id}"),
            comment: comment.to_owned(),
            created_at: Timestamp(now),
        };
        let ev = NewEvent::new(
            self.clock.now(),
            tenant_id,
            "configuration",
            action::ADMIN_SILENCE_CREATED,
            Outcome::Success,
        )
        .field(field::SILENCE_ID, record.id.as_str())
        .field(field::ADMIN_TOKEN_ID, admin_token_id);
        self.store.insert_silence(&record, &ev).await?;
        self.silence_generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(record)
    }

    /// The tenant's silences that have not ended, soonest start first.
    pub async fn silences(&self, tenant_id: &TenantId) -> WatchResult<Vec<SilenceRecord>> {
        Ok(self.store.silences(tenant_id, self.clock.now()).await?)
    }

    /// Ends the tenant's silence `id` now; `not_found` when there is no such live silence.
    pub async fn expire_silence(&self, tenant_id: &TenantId, admin_token_id: &str, id: &str) -> WatchResult<()> {
        let ev = NewEvent::new(
            self.clock.now(),
            tenant_id,
            "configuration",
            action::ADMIN_SILENCE_EXPIRED,
            Outcome::Success,
        )
        .field(field::SILENCE_ID, id)
        .field(field::ADMIN_TOKEN_ID, admin_token_id);
        self.silence_generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if !self.store.expire_silence(tenant_id, id, self.clock.now(), &ev).await? {
            return Err(ServiceError::new(ErrorCode::NotFound, format!("no live silence {id}")));
        }
        Ok(())
    }
}
