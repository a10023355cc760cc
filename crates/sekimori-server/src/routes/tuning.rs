//! Per-tenant detection tuning (admin): read, write a new version, list versions, and
//! back-test a proposal against the stored events.

use axum::extract::State;
use axum::{Json, Router};
use sekimori_core::ErrorCode;
use sekimori_gate::roles::Capability;
use sekimori_watch::BacktestReport;
use sekimori_watch::Tuning;
use serde::{Deserialize, Serialize};

use crate::authz::{cap, AdminRoutes};
use crate::extract::{AdminAuth, ApiJson};
use crate::problem::{ApiError, ApiResult};
use crate::AppState;

pub(super) fn router(state: &AppState) -> Router<AppState> {
    use Capability::{Detection, DetectionRead};
    AdminRoutes::new(state)
        .get("/api/v1/admin/tuning", cap(DetectionRead), current)
        .put("/api/v1/admin/tuning", cap(Detection), update)
        .get("/api/v1/admin/tuning/versions", cap(DetectionRead), versions)
        .post("/api/v1/admin/tuning/backtest", cap(Detection), backtest)
        .into_router()
}

#[derive(Debug, Serialize)]
struct Current {
    version: i64,
    tuning: Tuning,
}

async fn current(State(s): State<AppState>, AdminAuth(admin): AdminAuth) -> ApiResult<Json<Current>> {
    let (version, tuning) = s.watch.tuning(&admin.tenant_id).await?;
    Ok(Json(Current { version, tuning }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Update {
    /// The version the change was made on (0 before the first).
    base_version: i64,
    tuning: Tuning,
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
    let version = s.watch.set_tuning(&admin.tenant_id, &admin.id, req.base_version, &req.tuning).await?;
    Ok(Json(Written { version }))
}

#[derive(Debug, Serialize)]
struct Version {
    version: i64,
    author: String,
    created_at: String,
    tuning: Tuning,
}

async fn versions(State(s): State<AppState>, AdminAuth(admin): AdminAuth) -> ApiResult<Json<Vec<Version>>> {
    let list = s.watch.tuning_versions(&admin.tenant_id).await?;
    Ok(Json(
        list.into_iter()
            .map(|(version, author, at, tuning)| Version { version, author, created_at: at.to_rfc3339(), tuning })
            .collect(),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Backtest {
    tuning: Tuning,
    /// Stored events to replay, oldest first; default 10,000, at most 100,000.
    limit: Option<i64>,
}

async fn backtest(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    ApiJson(req): ApiJson<Backtest>,
) -> ApiResult<Json<BacktestReport>> {
    let limit = match req.limit.unwrap_or(10_000) {
        l @ 1..=100_000 => l,
        _ => return Err(ApiError::new(ErrorCode::InvalidRequest, "limit must be between 1 and 100000")),
    };
    Ok(Json(s.watch.backtest(&admin.tenant_id, &req.tuning, limit).await?))
}
