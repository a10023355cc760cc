//! Passwords: set and removed by admins (admin token); verified and changed by relying
//! parties (app key), which pass the end user's address for throttling.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use sekimori_core::names::Username;
use sekimori_gate::apps::Apps;
use sekimori_gate::factors::FactorVerified;
use sekimori_gate::password::{Attempt, PolicyView};
use sekimori_gate::roles::Capability;
use sekimori_gate::AppKind;
use serde::Deserialize;

use super::factors::actor;
use super::relying::ClientBody;
use crate::authz::{cap, AdminRoutes};
use crate::extract::{AdminAuth, ApiJson, AppAuth};
use crate::problem::ApiResult;
use crate::AppState;

pub(super) fn router(state: &AppState) -> Router<AppState> {
    use Capability::Credentials;
    Router::new()
        .route("/api/v1/password-policy", get(policy))
        .route("/api/v1/factors/password/verify", post(verify))
        .route("/api/v1/factors/password/change", post(change))
        .merge(
            AdminRoutes::new(state)
                .put("/api/v1/admin/users/{username}/password", cap(Credentials), set_password)
                .delete("/api/v1/admin/users/{username}/password", cap(Credentials), delete_password)
                .into_router(),
        )
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
    s.gate.passwords().set_password(&admin.tenant_id, &username, &req.password, &actor(&admin)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_password(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(username): Path<String>,
) -> ApiResult<StatusCode> {
    s.gate.passwords().delete_password(&admin.tenant_id, &username, &actor(&admin)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The tenant's policy, for a relying party's "choose a password" form.
async fn policy(State(s): State<AppState>, AppAuth(app): AppAuth) -> ApiResult<Json<PolicyView>> {
    Apps::require_app_kind(&app, AppKind::RelyingParty)?;
    Ok(Json(s.gate.passwords().password_policy(&app.tenant_id).await?.into()))
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
    Apps::require_app_kind(&app, AppKind::RelyingParty)?;
    let client = req.client.checked()?;
    let attempt = Attempt {
        ip: client.ip(),
        app_id: Some(&app.id),
        user_agent: client.user_agent()?,
        browser: client.signals(),
        review_id: client.review_id(),
    };
    Ok(Json(s.gate.passwords().verify_password(&app.tenant_id, req.username.as_str(), &req.password, &attempt).await?))
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
    Apps::require_app_kind(&app, AppKind::RelyingParty)?;
    let attempt = Attempt {
        ip: req.client.ip(),
        app_id: Some(&app.id),
        user_agent: req.client.user_agent()?,
        browser: None,
        review_id: None,
    };
    s.gate
        .passwords()
        .change_password(&app.tenant_id, req.username.as_str(), &req.current_password, &req.new_password, &attempt)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
