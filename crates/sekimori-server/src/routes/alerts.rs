//! Alerts and their triage over the admin API (docs/protocol.md): list (by state and by
//! the user, IP address or host they are about), one
//! alert with its triage and comments, acknowledge, resolve, assign, comment; every change
//! audited.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Json, Router};
use sekimori_core::{ErrorCode, Timestamp};
use sekimori_gate::roles::Capability;
use sekimori_store::{AlertComment, AlertRecord, AlertState, AlertTriage};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::watch::limit;
use crate::authz::{cap, AdminRoutes};
use crate::extract::{AdminAuth, ApiJson, ApiQuery};
use crate::problem::{ApiError, ApiResult};
use crate::AppState;

pub(super) fn router(state: &AppState) -> Router<AppState> {
    use Capability::{Detection, DetectionRead};
    AdminRoutes::new(state)
        .get("/api/v1/admin/alerts", cap(DetectionRead), list)
        .get("/api/v1/admin/alerts/{id}", cap(DetectionRead), one)
        .post("/api/v1/admin/alerts/{id}/ack", cap(Detection), ack)
        .post("/api/v1/admin/alerts/{id}/resolve", cap(Detection), resolve)
        .put("/api/v1/admin/alerts/{id}/assignee", cap(Detection), assign)
        .post("/api/v1/admin/alerts/{id}/comments", cap(Detection), comment)
        .into_router()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertQuery {
    /// RFC 3339; default: all.
    since: Option<String>,
    /// Default 100, at most 1000.
    limit: Option<i64>,
    /// `firing`, `acknowledged` or `resolved`; default: all.
    state: Option<String>,
    /// Only the alerts about this user, IP address or host (at most one of the three).
    user: Option<String>,
    ip: Option<String>,
    host: Option<String>,
}

/// An alert as the admin API shows it.
#[derive(Debug, Serialize)]
struct AlertView {
    id: String,
    rule_id: Option<String>,
    title: String,
    level: String,
    tags: Value,
    source_id: String,
    event_seq: i64,
    /// Where the whole event is, until the retention prunes it.
    event: String,
    matched: Value,
    entities: Value,
    excerpt: Value,
    created_at: String,
    /// `firing`, `acknowledged`, `resolved`.
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    assignee: Option<String>,
}

fn json_of(a: &AlertRecord, column: &str, text: &str) -> Result<Value, ApiError> {
    serde_json::from_str(text)
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("stored alert {}: {column}: {e}", a.id)))
}

fn view(a: AlertRecord, triage: Option<&AlertTriage>) -> Result<AlertView, ApiError> {
    Ok(AlertView {
        tags: json_of(&a, "tags", &a.tags)?,
        matched: json_of(&a, "matched", &a.matched)?,
        entities: json_of(&a, "entities", &a.entities)?,
        excerpt: json_of(&a, "excerpt", &a.excerpt)?,
        event: format!("/api/v1/admin/ingested-events/{}", a.event_seq),
        created_at: a.created_at.to_rfc3339(),
        state: triage.map_or(AlertState::Firing, |t| t.state).as_str(),
        assignee: triage.and_then(|t| t.assignee.clone()),
        id: a.id,
        rule_id: a.rule_id,
        title: a.title,
        level: a.level,
        source_id: a.source_id,
        event_seq: a.event_seq,
    })
}

async fn list(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    ApiQuery(q): ApiQuery<AlertQuery>,
) -> ApiResult<Json<Vec<AlertView>>> {
    let since = match &q.since {
        Some(t) => {
            Timestamp::parse(t).ok_or_else(|| ApiError::invalid("since", "since must be an RFC 3339 time"))?.millis()
        }
        None => 0,
    };
    let limit = limit(q.limit)?;
    let state = match q.state.as_deref() {
        None => None,
        Some(name) => Some(
            AlertState::parse(name)
                .ok_or_else(|| ApiError::invalid("state", "state is firing, acknowledged or resolved"))?,
        ),
    };
    let list = match (crate::extract::one_entity(&q.user, &q.ip, &q.host)?, state) {
        (Some(entity), state) => s.watch.alerts_about(&admin.tenant_id, &entity, state, since, limit).await?,
        (None, None) => s.watch.alerts(&admin.tenant_id, since, limit).await?,
        (None, Some(state)) => s.watch.alerts_in_state(&admin.tenant_id, state, since, limit).await?,
    };
    let ids: Vec<String> = list.iter().map(|a| a.id.clone()).collect();
    let triage = s.watch.triage_of(&admin.tenant_id, &ids).await?;
    Ok(Json(list.into_iter().map(|a| view(a.clone(), triage.get(&a.id))).collect::<Result<_, _>>()?))
}

#[derive(Debug, Serialize)]
struct CommentView {
    id: String,
    author: String,
    body: String,
    created_at: String,
}

impl From<AlertComment> for CommentView {
    fn from(c: AlertComment) -> Self {
        CommentView { id: c.id, author: c.author, body: c.body, created_at: c.created_at.to_rfc3339() }
    }
}

#[derive(Debug, Serialize)]
struct Detail {
    #[serde(flatten)]
    alert: AlertView,
    #[serde(skip_serializing_if = "Option::is_none")]
    changed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    changed_by: Option<String>,
    comments: Vec<CommentView>,
}

/// `GET /api/v1/admin/alerts/{id}`: one alert with its triage and comments (where
/// notifications link to).
async fn one(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Detail>> {
    let d = s.watch.alert_detail(&admin.tenant_id, &id).await?;
    let changed = !d.triage.changed_by.is_empty();
    Ok(Json(Detail {
        changed_at: changed.then(|| d.triage.changed_at.to_rfc3339()),
        changed_by: changed.then(|| d.triage.changed_by.clone()),
        alert: view(d.alert, Some(&d.triage))?,
        comments: d.comments.into_iter().map(CommentView::from).collect(),
    }))
}

use super::factors::actor;

async fn ack(State(s): State<AppState>, AdminAuth(admin): AdminAuth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    s.watch.acknowledge(&admin.tenant_id, &id, &actor(&admin)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Resolve {
    comment: Option<String>,
}

async fn resolve(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Resolve>,
) -> ApiResult<StatusCode> {
    s.watch.resolve(&admin.tenant_id, &id, &actor(&admin), req.comment.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Assign {
    /// `null` unassigns.
    assignee: Option<String>,
}

async fn assign(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Assign>,
) -> ApiResult<StatusCode> {
    s.watch.assign(&admin.tenant_id, &id, req.assignee.as_deref(), &actor(&admin)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewComment {
    body: String,
}

async fn comment(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<NewComment>,
) -> ApiResult<(StatusCode, Json<CommentView>)> {
    let c = s.watch.comment(&admin.tenant_id, &id, &actor(&admin), &req.body).await?;
    Ok((StatusCode::CREATED, Json(CommentView::from(c))))
}
