//! Alert triage (docs/respond.md): an alert is firing, then acknowledged, then resolved (by
//! hand, or by the dispatcher when its rule's condition has not recurred), with an assignee
//! and comments; every change audited. A resolution by hand tells the alert's groups, so
//! receivers that want resolved notifications get one.

use sekimori_core::TenantId;
use std::collections::HashMap;

use sekimori_core::ecs::{action, field};
use sekimori_core::event::{NewEvent, Outcome};
use sekimori_core::{ErrorCode, ServiceError, Timestamp};
use sekimori_store::{AlertComment, AlertRecord, AlertState, AlertTriage, Entity, TriageChange};

use crate::{Watch, WatchResult};

/// Longest comment, characters.
pub const MAX_COMMENT_CHARS: usize = 4000;

/// An alert with its triage and comments.
#[derive(Debug, Clone)]
pub struct AlertDetail {
    /// The alert.
    pub alert: AlertRecord,
    /// Its triage (a firing, unassigned one when never changed).
    pub triage: AlertTriage,
    /// Its comments, oldest first.
    pub comments: Vec<AlertComment>,
}

fn firing(alert: &AlertRecord) -> AlertTriage {
    AlertTriage {
        alert_id: alert.id.clone(),
        tenant_id: alert.tenant_id.clone(),
        state: AlertState::Firing,
        assignee: None,
        changed_at: alert.created_at,
        changed_by: String::new(),
    }
}

/// A triage change: to which state, the assignee (`None`: as it is, taken on
/// acknowledgement), from which states, audited as which action.
struct Change<'a> {
    to: AlertState,
    assignee: Option<Option<String>>,
    from: &'a [AlertState],
    action: &'a str,
}

impl Watch {
    /// The triage of the tenant's alerts `ids`, by id (firing and unassigned when absent).
    pub async fn triage_of(&self, tenant_id: &TenantId, ids: &[String]) -> WatchResult<HashMap<String, AlertTriage>> {
        Ok(self.store.alert_triage(tenant_id, ids).await?.into_iter().map(|t| (t.alert_id.clone(), t)).collect())
    }

    /// The tenant's alerts in `state` since `since` (ms), newest first.
    pub async fn alerts_in_state(
        &self,
        tenant_id: &TenantId,
        state: AlertState,
        since: i64,
        limit: i64,
    ) -> WatchResult<Vec<AlertRecord>> {
        Ok(self.store.alerts_in_state(tenant_id, state, Timestamp(since), limit).await?)
    }

    /// The tenant's alerts about `entity`, in `state` when given, since `since` (ms),
    /// newest first.
    pub async fn alerts_about(
        &self,
        tenant_id: &TenantId,
        entity: &Entity,
        state: Option<AlertState>,
        since: i64,
        limit: i64,
    ) -> WatchResult<Vec<AlertRecord>> {
        Ok(self.store.alerts_about(tenant_id, entity, state, Timestamp(since), limit).await?)
    }

    /// The tenant's alert `id` with its triage and comments.
    pub async fn alert_detail(&self, tenant_id: &TenantId, id: &str) -> WatchResult<AlertDetail> {
        let alert = self.alert_by_id(tenant_id, id).await?;
        let triage =
            self.store.alert_triage(tenant_id, &[id.to_owned()]).await?.pop().unwrap_or_else(|| firing(&alert));
        let comments = self.store.alert_comments(tenant_id, id).await?;
        Ok(AlertDetail { alert, triage, comments })
    }

    async fn change(&self, tenant_id: &TenantId, id: &str, actor: &str, c: Change<'_>) -> WatchResult<()> {
        let Change { to, assignee, from, action: act } = c;
        let current = self.alert_detail(tenant_id, id).await?.triage;
        let assignee = match assignee {
            Some(a) => a,
            // Acknowledging an unassigned alert takes it.
            None if to == AlertState::Acknowledged => current.assignee.clone().or_else(|| Some(actor.to_owned())),
            None => current.assignee.clone(),
        };
        let now = self.clock.now();
        let triage = AlertTriage {
            alert_id: id.to_owned(),
            tenant_id: tenant_id.to_owned(),
            state: to,
            assignee: assignee.clone(),
            changed_at: now,
            changed_by: actor.to_owned(),
        };
        let ev = NewEvent::new(now, tenant_id, "configuration", act, Outcome::Success)
            .field(field::ALERT_ID, id)
            .field(field::ACTOR, actor)
            .field_opt(field::ALERT_ASSIGNEE, assignee);
        match self.store.set_alert_triage(&triage, from, &ev).await? {
            TriageChange::Changed(_) => Ok(()),
            TriageChange::NoAlert => Err(ServiceError::new(ErrorCode::NotFound, format!("no alert {id}"))),
            TriageChange::Refused(state) => Err(ServiceError::new(
                ErrorCode::Conflict,
                format!("the alert is {}; it cannot be {}", state.as_str(), to.as_str()),
            )
            .with("state", state.as_str())),
        }
    }

    /// Acknowledges a firing alert (taking it, if nobody has).
    pub async fn acknowledge(&self, tenant_id: &TenantId, id: &str, actor: &str) -> WatchResult<()> {
        let c = Change {
            to: AlertState::Acknowledged,
            assignee: None,
            from: &[AlertState::Firing],
            action: action::ALERT_ACKNOWLEDGED,
        };
        self.change(tenant_id, id, actor, c).await
    }

    /// Resolves an alert by hand (with an optional comment); its groups are told.
    pub async fn resolve(&self, tenant_id: &TenantId, id: &str, actor: &str, comment: Option<&str>) -> WatchResult<()> {
        if let Some(body) = comment {
            self.comment(tenant_id, id, actor, body).await?;
        }
        let c = Change {
            to: AlertState::Resolved,
            assignee: None,
            from: &[AlertState::Firing, AlertState::Acknowledged],
            action: action::ALERT_RESOLVED,
        };
        self.change(tenant_id, id, actor, c).await?;
        // No dispatcher listening (tests, the CLI) is fine: the state is stored.
        let _ = self.resolved_tx.send((tenant_id.to_owned(), id.to_owned()));
        Ok(())
    }

    /// Assigns an alert that is not resolved (`None`: unassigns).
    pub async fn assign(&self, tenant_id: &TenantId, id: &str, assignee: Option<&str>, actor: &str) -> WatchResult<()> {
        if assignee.is_some_and(|a| a.trim().is_empty() || a.chars().count() > 200) {
            return Err(ServiceError::new(ErrorCode::InvalidRequest, "an assignee of 1 to 200 characters")
                .with("field", "assignee"));
        }
        let state = self.alert_detail(tenant_id, id).await?.triage.state;
        if state == AlertState::Resolved {
            return Err(ServiceError::new(ErrorCode::Conflict, "the alert is resolved").with("state", state.as_str()));
        }
        let c = Change {
            to: state,
            assignee: Some(assignee.map(str::to_owned)),
            from: &[state],
            action: action::ALERT_ASSIGNED,
        };
        self.change(tenant_id, id, actor, c).await
    }

    /// Adds a comment to an alert (audited, without its text).
    pub async fn comment(&self, tenant_id: &TenantId, id: &str, author: &str, body: &str) -> WatchResult<AlertComment> {
        let chars = body.trim().chars().count();
        if chars == 0 || chars > MAX_COMMENT_CHARS {
            return Err(ServiceError::new(
                ErrorCode::InvalidRequest,
                format!("a comment of 1 to {MAX_COMMENT_CHARS} characters"),
            )
            .with("field", "comment"));
        }
        let now = self.clock.now();
        let c = AlertComment {
            id: self.new_id(),
            tenant_id: tenant_id.to_owned(),
            alert_id: id.to_owned(),
            author: author.to_owned(),
            body: body.trim().to_owned(),
            created_at: now,
        };
        let ev = NewEvent::new(now, tenant_id, "configuration", action::ALERT_COMMENTED, Outcome::Success)
            .field(field::ALERT_ID, id)
            .field(field::ACTOR, author);
        if !self.store.add_alert_comment(&c, &ev).await? {
            return Err(ServiceError::new(ErrorCode::NotFound, format!("no alert {id}")));
        }
        Ok(c)
    }

    /// Every alert resolved by hand from now on: (tenant, alert id), for the dispatcher.
    pub fn subscribe_resolved(&self) -> tokio::sync::broadcast::Receiver<(TenantId, String)> {
        self.resolved_tx.subscribe()
    }
}

/// Rule files are shown up to this many bytes (SigmaHQ's largest is ~30 KB).
pub const MAX_RULE_SOURCE: usize = 256 * 1024;

/// A loaded detection rule's file, for an alert's page.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RuleSource {
    pub id: String,
    pub title: String,
    /// The file it was loaded from (`<builtin>/sekimori.yml` for the built-in rules).
    pub path: String,
    /// The file's text as it was loaded, up to [`MAX_RULE_SOURCE`] bytes.
    pub yaml: String,
    pub truncated: bool,
}

impl Watch {
    /// The loaded detection rule `id` and its file's text as it was loaded (`not_found` for
    /// an id no loaded rule has).
    pub fn rule_source(&self, id: &str) -> WatchResult<RuleSource> {
        let (path, title, text) = self
            .rules
            .detection_source(id)
            .ok_or_else(|| ServiceError::new(ErrorCode::NotFound, format!("no loaded rule {id}")))?;
        let shown = sekimori_detect::input::cut(text, MAX_RULE_SOURCE);
        Ok(RuleSource {
            id: id.to_owned(),
            title: title.to_owned(),
            path: path.display().to_string(),
            yaml: shown.to_owned(),
            truncated: shown.len() < text.len(),
        })
    }
}
