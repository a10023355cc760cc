//! Login-time risk (admin, docs/risk.md): the tenant's policy, read and written as a new
//! version, and the explanation of a judged attempt.

use axum::extract::{Path, State};
use axum::{Json, Router};
use sekimori_gate::roles::Capability;
use sekimori_risk::Policy;
use serde::{Deserialize, Serialize};

use crate::authz::{cap, AdminRoutes};
use crate::extract::{AdminAuth, ApiJson};
use crate::problem::ApiResult;
use crate::AppState;

pub(super) fn router(state: &AppState) -> Router<AppState> {
    use Capability::{Audit, Tenant};
    AdminRoutes::new(state)
        .get("/api/v1/admin/risk/policy", cap(Tenant), current)
        .put("/api/v1/admin/risk/policy", cap(Tenant), update)
        .get("/api/v1/admin/risk/attempts/{attempt}", cap(Audit), explain)
        .into_router()
}

#[derive(Debug, Serialize)]
struct Current {
    /// 0 until a policy is written (the default policy applies).
    version: i64,
    policy: Policy,
}

async fn current(State(s): State<AppState>, AdminAuth(admin): AdminAuth) -> ApiResult<Json<Current>> {
    let (version, policy) = s.gate.risk().policy(&admin.tenant_id).await?;
    Ok(Json(Current { version, policy }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Update {
    /// The version the change was made on (0 before the first).
    base_version: i64,
    /// The policy (checked: unknown fields and signals are refused, with the key).
    policy: serde_json::Value,
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
    let version = s.gate.risk().set_policy(&admin.tenant_id, &admin.id, req.base_version, &req.policy).await?;
    Ok(Json(Written { version }))
}

async fn explain(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(attempt): Path<i64>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(s.gate.risk().explain(&admin.tenant_id, attempt).await?))
}
