//! Passwords: set and removed by admins (admin token); verified and changed by relying
//! parties (app key), which pass the end user's address for throttling.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use sekimori_core::names::Username;
use sekimori_gate::factors::FactorVerified;
use sekimori_gate::password::{Attempt, PolicyView};
use sekimori_gate::{AppKind, Gate};
use serde::Deserialize;

use super::factors::actor;
use super::relying::ClientBody;
use crate::extract::{AdminAuth, ApiJson, AppAuth};
use crate::problem::ApiResult;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/admin/users/{username}/password", put(set_password).delete(delete_password))
        .route("/api/v1/password-policy", get(policy))
        .route("/api/v1/factors/password/verify", post(verify))
        .route("/api/v1/factors/password/change", post(change))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetPassword {
    password: String,
}

async fn set_password(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(username): Path<String>,
    ApiJson(req): ApiJson<SetPassword>,
) -> ApiResult<StatusCode> {
    s.gate.set_password(&admin.tenant_id, &username, &req.password, &actor(&admin)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_password(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(username): Path<String>,
) -> ApiResult<StatusCode> {
    s.gate.delete_password(&admin.tenant_id, &username, &actor(&admin)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The tenant's policy, for a relying party's "choose a password" form.
async fn policy(State(s): State<AppState>, AppAuth(app): AppAuth) -> ApiResult<Json<PolicyView>> {
    Gate::require_app_kind(&app, AppKind::RelyingParty)?;
    Ok(Json(s.gate.password_policy(&app.tenant_id).await?.into()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Verify {
    username: Username,
    password: String,
    #[serde(default)]
    client: ClientBody,
}

async fn verify(
    State(s): State<AppState>,
    AppAuth(app): AppAuth,
    ApiJson(req): ApiJson<Verify>,
) -> ApiResult<Json<FactorVerified>> {
    Gate::require_app_kind(&app, AppKind::RelyingParty)?;
    let attempt = Attempt { ip: req.client.ip(), app_id: Some(&app.id) };
    Ok(Json(s.gate.verify_password(&app.tenant_id, req.username.as_str(), &req.password, &attempt).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Change {
    username: Username,
    current_password: String,
    new_password: String,
    #[serde(default)]
    client: ClientBody,
}

async fn change(
    State(s): State<AppState>,
    AppAuth(app): AppAuth,
    ApiJson(req): ApiJson<Change>,
) -> ApiResult<StatusCode> {
    Gate::require_app_kind(&app, AppKind::RelyingParty)?;
    let attempt = Attempt { ip: req.client.ip(), app_id: Some(&app.id) };
    s.gate
        .change_password(&app.tenant_id, req.username.as_str(), &req.current_password, &req.new_password, &attempt)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
