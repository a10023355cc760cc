//! Per-tenant tuning: versions, the compiled form cached per tenant, and back-testing a
//! proposed tuning over the stored events.

use sekimori_core::ecs::action;
use sekimori_core::TenantId;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use sekimori_core::{ErrorCode, ServiceError, Timestamp};
use sekimori_detect::baseline::Profile;
use sekimori_detect::tuning::{compile, CompiledTuning, MAX_TUNING_BYTES};
use sekimori_detect::{DetectError, Hunter};
use sekimori_store::{write_version, DocumentKind, NewVersion};
use serde::Serialize;
use serde_json::Value;

use crate::{Tuning, Watch, WatchResult};

impl Watch {
    /// The tenant's tuning, compiled; recompiled when another version was written (by
    /// this node or another).
    pub(crate) async fn compiled_tuning(&self, tenant_id: &TenantId) -> WatchResult<(i64, Arc<CompiledTuning>)> {
        let stored = self.store.document(DocumentKind::Tuning, tenant_id).await?;
        let version = stored.as_ref().map_or(0, |r| r.version);
        if let Some((v, t)) = self.tunings.lock().unwrap_or_else(|p| p.into_inner()).get(tenant_id) {
            if *v == version {
                return Ok((version, t.clone()));
            }
        }
        let tuning = match &stored {
            None => Tuning::default(),
            Some(r) => parse_tuning(&r.doc)?,
        };
        let compiled = Arc::new(self.compile_tuning(&tuning).map_err(|e| {
            ServiceError::new(ErrorCode::Internal, format!("stored tuning version {version} does not compile: {e}"))
        })?);
        self.tunings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(tenant_id.to_owned(), (version, compiled.clone()));
        Ok((version, compiled))
    }

    fn compile_tuning(&self, tuning: &Tuning) -> Result<CompiledTuning, DetectError> {
        compile(tuning, self.baselines.config(), self.baselines.intel())
    }

    /// The tenant's current tuning and its version (0 and the empty tuning before any).
    pub async fn tuning(&self, tenant_id: &TenantId) -> WatchResult<(i64, Tuning)> {
        match self.store.document(DocumentKind::Tuning, tenant_id).await? {
            None => Ok((0, Tuning::default())),
            Some(r) => Ok((r.version, parse_tuning(&r.doc)?)),
        }
    }

    /// Every version of the tenant's tuning, newest first: (version, author, created_at, tuning).
    pub async fn tuning_versions(&self, tenant_id: &TenantId) -> WatchResult<Vec<(i64, String, Timestamp, Tuning)>> {
        let list = self.store.document_versions(DocumentKind::Tuning, tenant_id, 1000).await?;
        list.into_iter().map(|r| Ok((r.version, r.author, r.created_at, parse_tuning(&r.doc)?))).collect()
    }

    /// Writes a new version of the tenant's tuning (checked first; audited). Refused with
    /// `conflict` when the current version is no longer `base_version`.
    pub async fn set_tuning(
        &self,
        tenant_id: &TenantId,
        admin_token_id: &str,
        base_version: i64,
        tuning: &Tuning,
    ) -> WatchResult<i64> {
        self.compile_tuning(tuning)?;
        let doc = serde_json::to_string(tuning)
            .map_err(|e| ServiceError::new(ErrorCode::Internal, format!("tuning: {e}")))?;
        if doc.len() > MAX_TUNING_BYTES {
            return Err(ServiceError::new(
                ErrorCode::PayloadTooLarge,
                format!("the tuning is {} bytes; the limit is {MAX_TUNING_BYTES}", doc.len()),
            ));
        }
        let v = NewVersion {
            kind: DocumentKind::Tuning,
            tenant_id,
            base_version,
            doc,
            author: admin_token_id,
            at: self.clock.now(),
            action: action::ADMIN_TUNING_UPDATED,
        };
        write_version(self.store.as_ref(), v).await
    }

    /// Replays the tenant's stored events (oldest first, at most `limit`) through the rules
    /// and baselines under the current tuning and under `proposed`, and reports the alerts
    /// that would appear or disappear. Baselines start from empty profiles in both runs, so
    /// the comparison is like for like; correlations run in a fresh engine.
    pub async fn backtest(&self, tenant_id: &TenantId, proposed: &Tuning, limit: i64) -> WatchResult<BacktestReport> {
        let proposed = Arc::new(self.compile_tuning(proposed)?);
        let (current_version, current) = self.compiled_tuning(tenant_id).await?;
        let mut rows = Vec::new();
        let mut after = 0;
        while (rows.len() as i64) < limit {
            let page = self.store.ingested_events(tenant_id, after, (limit - rows.len() as i64).min(1000)).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            rows.extend(page);
        }
        let rules = self.rules.clone();
        let received = self.clock.now().millis();
        tokio::task::spawn_blocking(move || {
            let mut hunter = Hunter::new(&rules)?;
            let mut profiles: [BTreeMap<String, Profile>; 2] = [BTreeMap::new(), BTreeMap::new()];
            let mut alerts: [BTreeSet<BacktestAlert>; 2] = [BTreeSet::new(), BTreeSet::new()];
            for row in &rows {
                let Ok(event) = serde_json::from_str::<Value>(&row.doc) else { continue };
                let hits = hunter.process(&event);
                for (i, tuning) in [&current, &proposed].into_iter().enumerate() {
                    let mut all = hits.clone();
                    if let Some(key) = tuning.baselines().profile_key(&event) {
                        let p = profiles[i].entry(key).or_default();
                        all.extend(tuning.baselines().observe(p, &event, received));
                    }
                    for h in tuning.apply(&event, all) {
                        alerts[i].insert(BacktestAlert {
                            event_seq: row.seq,
                            rule_id: h.rule_id.unwrap_or_default(),
                            title: h.title,
                            level: h.level,
                        });
                    }
                }
            }
            let [now, then] = alerts;
            Ok(BacktestReport {
                events: rows.len(),
                current_version,
                current_alerts: now.len(),
                proposed_alerts: then.len(),
                appear: then.difference(&now).take(1000).cloned().collect(),
                disappear: now.difference(&then).take(1000).cloned().collect(),
            })
        })
        .await
        .map_err(|e| ServiceError::new(ErrorCode::Internal, format!("backtest failed: {e}")))?
    }
}

/// One alert of a backtest run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct BacktestAlert {
    pub event_seq: i64,
    pub rule_id: String,
    pub title: String,
    pub level: String,
}

/// What a proposed tuning would change over the stored events.
#[derive(Debug, Clone, Serialize)]
pub struct BacktestReport {
    /// Stored events replayed.
    pub events: usize,
    /// The version the proposal is compared with.
    pub current_version: i64,
    pub current_alerts: usize,
    pub proposed_alerts: usize,
    /// Alerts only the proposal raises (at most 1,000 listed).
    pub appear: Vec<BacktestAlert>,
    /// Alerts only the current tuning raises (at most 1,000 listed); a changed level shows
    /// as one of each.
    pub disappear: Vec<BacktestAlert>,
}

fn parse_tuning(doc: &str) -> WatchResult<Tuning> {
    serde_json::from_str(doc).map_err(|e| ServiceError::new(ErrorCode::Internal, format!("stored tuning: {e}")))
}
