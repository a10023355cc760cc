//! Detection: log sources (admin), `POST /api/v1/ingest` (a source's key), alerts and
//! dead letters (admin).

use axum::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use sekimori_core::names::Label;
use sekimori_core::ErrorCode;
use sekimori_gate::roles::Capability;
use sekimori_store::{DeadLetter, IngestSource};
use sekimori_watch::{IngestReport, NewSourceKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::authz::{cap, AdminRoutes};
use crate::extract::{AdminAuth, ApiJson, ApiQuery, Declared, IngestBody, IngestFormat, SourceAuth};
use crate::problem::{ApiError, ApiResult};
use crate::AppState;

pub(super) fn router(state: &AppState) -> Router<AppState> {
    use Capability::{Detection, DetectionRead};
    Router::new().route("/api/v1/ingest", post(ingest)).merge(
        AdminRoutes::new(state)
            .post("/api/v1/admin/ingest-sources", cap(Detection), add_source)
            .get("/api/v1/admin/ingest-sources", cap(DetectionRead), list_sources)
            .delete("/api/v1/admin/ingest-sources/{id}", cap(Detection), revoke_source)
            .put("/api/v1/admin/ingest-sources/{id}/labels", cap(Detection), set_source_labels)
            .get("/api/v1/admin/dead-letters", cap(DetectionRead), dead_letters)
            .get("/api/v1/admin/listeners", cap(DetectionRead), listeners)
            .get("/api/v1/admin/rules", cap(DetectionRead), rules)
            .get("/api/v1/admin/rules/{id}", cap(DetectionRead), rule_source)
            .get("/api/v1/admin/ingest-settings", cap(DetectionRead), ingest_settings)
            .put("/api/v1/admin/ingest-settings", cap(Detection), set_ingest_settings)
            .get("/api/v1/admin/ingested-events/{seq}", cap(DetectionRead), ingested_event)
            .into_router(),
    )
}

/// `POST /api/v1/ingest?product=&service=&category=`: the log source of events the
/// server's data cannot place (docs/detection.md).
async fn ingest(
    State(s): State<AppState>,
    Declared(declared): Declared,
    SourceAuth(source): SourceAuth,
    body: IngestBody,
) -> ApiResult<Json<IngestReport>> {
    Ok(Json(match body.format {
        IngestFormat::Evtx => s.watch.ingest_evtx(&source, &body.bytes, body.gzip).await?,
        IngestFormat::Json => s.watch.ingest(&source, &body.bytes, body.gzip, &declared).await?,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddSource {
    name: Label,
    /// Labels its alerts carry for routing (e.g. `{"environment": "production"}`).
    #[serde(default)]
    labels: sekimori_watch::SourceLabels,
}

async fn add_source(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    ApiJson(req): ApiJson<AddSource>,
) -> ApiResult<(StatusCode, Json<NewSourceKey>)> {
    Ok((StatusCode::CREATED, Json(s.watch.add_source(&admin.tenant_id, &admin.id, &req.name, &req.labels).await?)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetLabels {
    labels: sekimori_watch::SourceLabels,
}

/// `PUT /api/v1/admin/ingest-sources/{id}/labels`: the labels the source's alerts carry.
async fn set_source_labels(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<SetLabels>,
) -> ApiResult<StatusCode> {
    s.watch.set_source_labels(&admin.tenant_id, &format!("admin_token:{}", admin.id), &id, &req.labels).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A source as the admin API shows it (never its key).
#[derive(Debug, Serialize)]
struct SourceView {
    id: String,
    name: String,
    created_at: String,
    revoked: bool,
    labels: sekimori_watch::SourceLabels,
}

impl From<IngestSource> for SourceView {
    fn from(s: IngestSource) -> Self {
        SourceView {
            id: s.id,
            name: s.name,
            created_at: s.created_at.to_rfc3339(),
            revoked: s.revoked_at.is_some(),
            labels: s.labels,
        }
    }
}

async fn revoke_source(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.watch.revoke_source(&admin.tenant_id, &admin.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IngestSettings {
    /// Days ingested events and dead letters are kept (alerts stay).
    retention_days: i64,
}

async fn ingest_settings(State(s): State<AppState>, AdminAuth(admin): AdminAuth) -> ApiResult<Json<IngestSettings>> {
    Ok(Json(IngestSettings { retention_days: s.watch.retention_days(&admin.tenant_id).await? }))
}

async fn set_ingest_settings(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    ApiJson(req): ApiJson<IngestSettings>,
) -> ApiResult<Json<IngestSettings>> {
    s.watch.set_retention_days(&admin.tenant_id, &admin.id, req.retention_days).await?;
    Ok(Json(req))
}

/// One stored event of the admin's tenant (an alert's `event` link).
async fn ingested_event(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(seq): Path<String>,
) -> ApiResult<Json<Value>> {
    let seq = seq
        .parse::<i64>()
        .map_err(|_| ApiError::new(ErrorCode::InvalidRequest, "the event number must be an integer"))?;
    Ok(Json(s.watch.event(&admin.tenant_id, seq).await?))
}

/// What loading this server's Sigma rules found: how many of each kind loaded, and every
/// rule or file that did not, with its reason (the same report `sekimori rules check` prints).
async fn rules(State(s): State<AppState>, AdminAuth(_): AdminAuth) -> Json<Value> {
    let r = s.watch.load_report();
    let failures: Vec<Value> = r
        .failures
        .iter()
        .map(|f| serde_json::json!({"path": f.path.display().to_string(), "rule": f.rule, "reason": f.reason}))
        .collect();
    Json(serde_json::json!({
        "files": r.files,
        "detections": r.detections,
        "correlations": r.correlations,
        "filters": r.filters,
        "failures": failures,
    }))
}

/// A loaded detection rule's file, for the alert page (`{"id","title","path","yaml","truncated"}`).
async fn rule_source(
    State(s): State<AppState>,
    AdminAuth(_): AdminAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<sekimori_watch::triage::RuleSource>> {
    Ok(Json(s.watch.rule_source(&id)?))
}

/// The counters of this process's syslog listeners whose source is in the admin's tenant.
async fn listeners(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
) -> ApiResult<Json<Vec<sekimori_watch::syslog::ListenerReport>>> {
    let own: Vec<String> = s.watch.list_sources(&admin.tenant_id).await?.into_iter().map(|x| x.id).collect();
    Ok(Json(s.watch.listener_stats().into_iter().filter(|l| own.contains(&l.source_id)).collect()))
}

async fn list_sources(State(s): State<AppState>, AdminAuth(admin): AdminAuth) -> ApiResult<Json<Vec<SourceView>>> {
    Ok(Json(s.watch.list_sources(&admin.tenant_id).await?.into_iter().map(SourceView::from).collect()))
}

pub(super) fn limit(l: Option<i64>) -> Result<i64, ApiError> {
    match l.unwrap_or(100) {
        l @ 1..=1000 => Ok(l),
        _ => Err(ApiError::new(ErrorCode::InvalidRequest, "limit must be between 1 and 1000")),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeadLetterQuery {
    limit: Option<i64>,
}

/// A dead letter as the admin API shows it.
#[derive(Debug, Serialize)]
struct DeadLetterView {
    id: String,
    source_id: String,
    received_at: String,
    reason: String,
    sample: String,
}

async fn dead_letters(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    ApiQuery(q): ApiQuery<DeadLetterQuery>,
) -> ApiResult<Json<Vec<DeadLetterView>>> {
    let list = s.watch.dead_letters(&admin.tenant_id, limit(q.limit)?).await?;
    Ok(Json(
        list.into_iter()
            .map(|d: DeadLetter| DeadLetterView {
                id: d.id,
                source_id: d.source_id,
                received_at: d.received_at.to_rfc3339(),
                reason: d.reason,
                sample: d.sample,
            })
            .collect(),
    ))
}
