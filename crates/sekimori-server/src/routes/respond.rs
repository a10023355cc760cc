//! Respond: the tenant's alert routing document (docs/respond.md), versioned like tuning.

use axum::extract::State;
use axum::{Json, Router};
use sekimori_core::Timestamp;
use sekimori_gate::roles::Capability;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::authz::{cap, AdminRoutes};
use crate::extract::{AdminAuth, ApiJson};
use crate::problem::ApiResult;
use crate::AppState;

pub(super) fn router(state: &AppState) -> Router<AppState> {
    use Capability::{Detection, DetectionRead};
    AdminRoutes::new(state)
        .get("/api/v1/admin/routing", cap(DetectionRead), current)
        .put("/api/v1/admin/routing", cap(Detection), update)
        .get("/api/v1/admin/routing/versions", cap(DetectionRead), versions)
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
