//! Respond: the tenant's alert routing document (docs/respond.md), versioned like tuning,
//! and its alert silences.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Json, Router};
use sekimori_core::Timestamp;
use sekimori_gate::roles::Capability;
use sekimori_store::SilenceRecord;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::authz::{cap, AdminRoutes};
use crate::extract::{rfc3339, AdminAuth, ApiJson};
use crate::problem::ApiResult;
use crate::AppState;

pub(super) fn router(state: &AppState) -> Router<AppState> {
    use Capability::{Detection, DetectionRead};
    AdminRoutes::new(state)
        .get("/api/v1/admin/routing", cap(DetectionRead), current)
        .put("/api/v1/admin/routing", cap(Detection), update)
        .get("/api/v1/admin/routing/versions", cap(DetectionRead), versions)
        .get("/api/v1/admin/silences", cap(DetectionRead), list_silences)
        .post("/api/v1/admin/silences", cap(Detection), add_silence)
        .delete("/api/v1/admin/silences/{id}", cap(Detection), expire_silence)
        .get("/api/v1/admin/notifications", cap(DetectionRead), notifications)
        .post("/api/v1/admin/routing/receivers/{name}/test", cap(Detection), test_receiver)
        .into_router()
}

#[derive(Debug, Serialize)]
struct Current {
    version: i64,
    /// `null` before the first version.
    document: Option<Value>,
}

async fn current(State(s): State<AppState>, AdminAuth(admin): AdminAuth) -> ApiResult<Json<Current>> {
    let (version, document) = s.watch.routing(&admin.tenant_id).await?;
    Ok(Json(Current { version, document }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Update {
    /// The version the change was made on (0 before the first).
    base_version: i64,
    document: Value,
}

#[derive(Debug, Serialize)]
struct Written {
    version: i64,
}

async fn update(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    ApiJson(req): ApiJson<Update>,
) -> ApiResult<Json<Written>> {
    let version = s.watch.set_routing(&admin.tenant_id, &admin.id, req.base_version, &req.document).await?;
    Ok(Json(Written { version }))
}

#[derive(Debug, Serialize)]
struct Version {
    version: i64,
    author: String,
    created_at: String,
    document: Value,
}

async fn versions(State(s): State<AppState>, AdminAuth(admin): AdminAuth) -> ApiResult<Json<Vec<Version>>> {
    let list = s.watch.routing_versions(&admin.tenant_id).await?;
    Ok(Json(
        list.into_iter()
            .map(|v| Version {
                version: v.version,
                author: v.author,
                created_at: Timestamp(v.created_at).to_rfc3339(),
                document: v.document,
            })
            .collect(),
    ))
}

/// A silence as the API shows it.
#[derive(Debug, Serialize)]
struct SilenceView {
    id: String,
    matchers: Vec<String>,
    starts_at: String,
    ends_at: String,
    created_by: String,
    comment: String,
    created_at: String,
    /// `active` or `pending` (not started yet).
    state: &'static str,
}

fn silence_view(r: SilenceRecord, now_ms: i64) -> SilenceView {
    SilenceView {
        state: if r.starts_at <= Timestamp(now_ms) { "active" } else { "pending" },
        id: r.id,
        matchers: r.matchers,
        starts_at: r.starts_at.to_rfc3339(),
        ends_at: r.ends_at.to_rfc3339(),
        created_by: r.created_by,
        comment: r.comment,
        created_at: r.created_at.to_rfc3339(),
    }
}

async fn list_silences(State(s): State<AppState>, AdminAuth(admin): AdminAuth) -> ApiResult<Json<Vec<SilenceView>>> {
    let now = s.watch.now_ms();
    Ok(Json(s.watch.silences(&admin.tenant_id).await?.into_iter().map(|r| silence_view(r, now)).collect()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSilence {
    matchers: Vec<String>,
    /// RFC 3339; now when absent.
    starts_at: Option<String>,
    /// RFC 3339.
    ends_at: String,
    comment: String,
}

async fn add_silence(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    ApiJson(req): ApiJson<NewSilence>,
) -> ApiResult<(StatusCode, Json<SilenceView>)> {
    let starts_at = req.starts_at.as_deref().map(|t| rfc3339("starts_at", t).map(|t| t.millis())).transpose()?;
    let ends_at = rfc3339("ends_at", &req.ends_at)?.millis();
    let record =
        s.watch.add_silence(&admin.tenant_id, &admin.id, &req.matchers, starts_at, ends_at, &req.comment).await?;
    Ok((StatusCode::CREATED, Json(silence_view(record, s.watch.now_ms()))))
}

async fn expire_silence(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.watch.expire_silence(&admin.tenant_id, &admin.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NotificationQuery {
    limit: Option<i64>,
}

/// One delivery attempt as the admin API shows it.
#[derive(Debug, Serialize)]
struct AttemptView {
    channel: String,
    group_key: String,
    content_hash: String,
    alerts: i64,
    attempt: i64,
    at: String,
    outcome: String,
}

/// `GET /api/v1/admin/notifications`: every delivery attempt and its outcome, newest first.
async fn notifications(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<NotificationQuery>,
) -> ApiResult<Json<Vec<AttemptView>>> {
    let limit = match q.limit.unwrap_or(100) {
        l @ 1..=1000 => l,
        _ => {
            return Err(crate::problem::ApiError::new(
                sekimori_core::ErrorCode::InvalidRequest,
                "limit must be between 1 and 1000",
            ))
        }
    };
    let list = s.watch.notification_attempts(&admin.tenant_id, limit).await?;
    Ok(Json(
        list.into_iter()
            .map(|a| AttemptView {
                channel: a.channel,
                group_key: a.group_key,
                content_hash: a.content_hash,
                alerts: a.alerts,
                attempt: a.attempt,
                at: a.at.to_rfc3339(),
                outcome: a.outcome,
            })
            .collect(),
    ))
}

/// `POST /api/v1/admin/routing/receivers/{name}/test`: a test notification to each of the
/// receiver's channels, once, now; what each did.
async fn test_receiver(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<sekimori_watch::ChannelTest>>> {
    let url = s.gate.public_url().to_string();
    Ok(Json(s.watch.test_receiver(&admin.tenant_id, &admin.id, &name, &url).await?))
}
