//! The dispatcher's work around an alert's life: response policies as it is taken in,
//! silences (compiled once, and the notice when one ends), and resolutions (by hand, and
//! the stored alerts a resolved label set stood for).

use sekimori_core::TenantId;
use std::sync::Arc;

use sekimori_core::token::sha256_hex;
use sekimori_core::Timestamp;
use sekimori_respond::{Labels, RoutingTree, Silences};
use sekimori_store::AlertRecord;

use super::{channel::Body, rfc3339, Dispatcher, Job, State, Tenant, SILENCES_FRESH_MS};
use crate::responder::{ResponseCall, ResponseOutcome};
use crate::silences::silence_of;
use crate::WatchResult;

impl Dispatcher {
    /// Applies the response policies `labels` act under. A failure is logged and the alert
    /// goes on to its notifications (the responder records what it did).
    pub(super) async fn respond(
        &self,
        st: &mut State,
        tree: &RoutingTree,
        labels: &Labels,
        alert: &AlertRecord,
        now: i64,
    ) {
        let Some(responder) = &self.watch.responder else { return };
        let Some(username) = labels.get("user") else { return };
        for policy in tree.policies_for(labels) {
            let call = ResponseCall {
                tenant_id: alert.tenant_id.clone(),
                username: username.clone(),
                policy: policy.clone(),
                alert_id: alert.id.clone(),
                title: alert.title.clone(),
            };
            match responder.respond(&call).await {
                Ok(outcome) => {
                    tracing::info!(policy = %policy.name, alert = %alert.id, ?outcome, "response policy applied");
                    if let (ResponseOutcome::Applied(Some(notice)), Some((mut channel, language))) =
                        (outcome, tree.user_notice_channel())
                    {
                        // The channel's server and sender, to the user's own address.
                        if let Some(email) = channel.email.as_mut() {
                            email.to = vec![notice.email.clone()];
                        }
                        let job = Job {
                            tenant_id: alert.tenant_id.clone(),
                            route: "user-notice".into(),
                            group_key: format!("user-notice:{}", notice.username),
                            content_hash: sha256_hex(format!("{}:{}", alert.id, policy.name).as_bytes()),
                            body: Body::Email(Box::new(sekimori_respond::email::render_user_notice(&notice, language))),
                            alerts: 1,
                            repeat_ms: 0,
                            covers: Vec::new(),
                            covers_resolved: Vec::new(),
                            channel,
                        };
                        self.start(st, job, now);
                    }
                }
                Err(e) => {
                    tracing::warn!(policy = %policy.name, alert = %alert.id, error = %e, "response policy failed")
                }
            }
        }
    }

    /// Alerts still firing under a silence that ended in `(since, now]` are notified again
    /// at their groups' next check, with the silence named in the `silence_ended`
    /// annotation (as Alertmanager does once a silence expires).
    pub(super) async fn silences_ended(&self, st: &mut State, since: i64, now: i64) -> WatchResult<()> {
        if since >= now {
            return Ok(());
        }
        for (tenant_id, tenant) in st.tenants.iter_mut() {
            if tenant.active.is_empty() {
                continue;
            }
            let ended: Vec<_> = self
                .watch
                .store
                .ended_silences(tenant_id, Timestamp(since), Timestamp(now))
                .await?
                .iter()
                .map(silence_of)
                .collect::<WatchResult<_>>()?;
            for silence in &ended {
                let at = silence.ends_at_ms - 1;
                let Tenant { active, grouper, .. } = tenant;
                for (labels, a) in active.iter_mut().filter(|(l, _)| silence.silences(l, at)) {
                    for route in &a.routes {
                        grouper.renotify(route, labels);
                    }
                    let note = if silence.comment.is_empty() {
                        silence.id.clone()
                    } else {
                        format!("{} ({})", silence.id, silence.comment)
                    };
                    a.view.annotations.insert("silence_ended".into(), note);
                }
            }
        }
        Ok(())
    }

    /// The tenant's silences in force, compiled (regular expressions included) once and
    /// reused while no silence changed through this process and for at most
    /// [`SILENCES_FRESH_MS`] (a change made on another node).
    pub(super) async fn silences(&self, st: &mut State, tenant_id: &TenantId, now: i64) -> WatchResult<Arc<Silences>> {
        let generation = self.watch.silence_generation.load(std::sync::atomic::Ordering::Relaxed);
        if let Some((cached, g, at)) = st.silences.get(tenant_id) {
            if *g == generation && (0..SILENCES_FRESH_MS).contains(&(now - at)) {
                return Ok(cached.clone());
            }
        }
        let stored = self.watch.store.silences(tenant_id, Timestamp(now)).await?;
        let compiled = Arc::new(Silences::new(stored.iter().map(silence_of).collect::<WatchResult<Vec<_>>>()?));
        st.silences.insert(tenant_id.to_owned(), (compiled.clone(), generation, now));
        Ok(compiled)
    }

    /// Marks the stored alerts `ids` resolved (those not yet), audited once.
    pub(super) async fn record_resolved(
        &self,
        tenant_id: &TenantId,
        ids: &[String],
        now: i64,
        reason: &str,
    ) -> WatchResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let ev = sekimori_core::event::NewEvent::new(
            Timestamp(now),
            tenant_id,
            "configuration",
            sekimori_core::ecs::action::ALERT_RESOLVED,
            sekimori_core::event::Outcome::Success,
        )
        .field(sekimori_core::ecs::field::ALERT_ID, ids[ids.len() - 1].as_str())
        .field(sekimori_core::ecs::field::ALERT_COUNT, i64::try_from(ids.len()).unwrap_or(i64::MAX))
        .field(sekimori_core::ecs::field::REASON, reason)
        .field(sekimori_core::ecs::field::ACTOR, "sekimori");
        self.watch.store.resolve_alerts(tenant_id, ids, Timestamp(now), "sekimori", &ev).await?;
        Ok(())
    }

    /// An alert was resolved by hand: the firing alert it belongs to is resolved (its
    /// groups are told), with the other stored alerts it stood for.
    pub async fn resolved_by_hand(&self, tenant_id: &TenantId, alert_id: &str) -> WatchResult<()> {
        let now = self.watch.now_ms();
        let mut state = self.state.lock().await;
        let st = &mut *state;
        let Some(tenant) = st.tenants.get_mut(tenant_id) else { return Ok(()) };
        let Some(labels) =
            tenant.active.iter().find(|(_, a)| a.ids.iter().any(|i| i == alert_id)).map(|(l, _)| l.clone())
        else {
            return Ok(());
        };
        let mut unowed = Vec::new();
        // The label set was found among the firing ones just above.
        let Some(ids) = resolve_set(tenant, &labels, now, &mut unowed) else { return Ok(()) };
        self.mark(st, unowed, now).await?;
        self.record_resolved(tenant_id, &ids, now, &format!("resolved with alert {alert_id}")).await
    }
}

/// Resolves the alert `labels` of `tenant` at `now`: its groups are told at their next look,
/// the stored alerts still waiting for a first notification are owed nothing more (added
/// to `unowed`). The ids of the stored alerts it stood for, if it was firing.
pub(super) fn resolve_set(
    tenant: &mut Tenant,
    labels: &Labels,
    now: i64,
    unowed: &mut Vec<String>,
) -> Option<Vec<String>> {
    let mut a = tenant.active.remove(labels)?;
    for route in &a.routes {
        tenant.grouper.resolve(route, labels);
    }
    if let Some(inhibitor) = &mut tenant.inhibitor {
        inhibitor.resolve(labels);
    }
    unowed.append(&mut a.waiting);
    a.view.ends_at = Some(rfc3339(now));
    a.unflushed = a.routes.iter().map(|r| r.path.clone()).collect();
    let ids = std::mem::take(&mut a.ids);
    tenant.resolved.insert(labels.clone(), a);
    Some(ids)
}
