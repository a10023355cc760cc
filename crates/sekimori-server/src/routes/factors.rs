//! Second factors: TOTP enrolment, confirmation and removal and recovery codes (admin
//! token), and their verification by relying parties (app key).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use sekimori_core::names::Username;
use sekimori_gate::apps::Apps;
use sekimori_gate::factors::{FactorVerified, FactorsView, TotpView};
use sekimori_gate::roles::Capability;
use sekimori_gate::AppKind;
use sekimori_store::AdminToken;
use serde::Deserialize;
use serde_json::{json, Value};

use super::relying::ClientBody;
use crate::authz::{cap, AdminRoutes};
use crate::extract::{AdminAuth, ApiJson, AppAuth};
use crate::problem::ApiResult;
use crate::AppState;

pub(super) fn router(state: &AppState) -> Router<AppState> {
    use Capability::{Credentials, UsersRead};
    Router::new()
        .route("/api/v1/factors/totp/verify", post(verify_totp))
        .route("/api/v1/factors/recovery-codes/verify", post(verify_recovery_code))
        .merge(
            AdminRoutes::new(state)
                .get("/api/v1/admin/users/{username}/factors", cap(UsersRead), list_factors)
                .post("/api/v1/admin/users/{username}/totp", cap(Credentials), enrol_totp)
                .delete("/api/v1/admin/users/{username}/totp/{id}", cap(Credentials), delete_totp)
                .post("/api/v1/admin/users/{username}/totp/{id}/confirm", cap(Credentials), confirm_totp)
                .post("/api/v1/admin/users/{username}/recovery-codes", cap(Credentials), generate_recovery_codes)
                .into_router(),
        )
}

/// Who made an admin change, as the audit log names it.
pub(super) fn actor(admin: &AdminToken) -> String {
    if admin.id.starts_with(sekimori_gate::console::PRINCIPAL_PREFIX) {
        // A console user (`console:<username>`).
        admin.id.clone()
    } else {
        format!("admin_token:{}", admin.id)
    }
}

async fn list_factors(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(username): Path<String>,
) -> ApiResult<Json<FactorsView>> {
    Ok(Json(s.gate.factors().factors(&admin.tenant_id, &username).await?))
}

/// The enrolment, with the `otpauth://` URI also as an SVG QR code.
async fn enrol_totp(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(username): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let e = s.gate.factors().enrol_totp(&admin.tenant_id, &username, &actor(&admin)).await?;
    let qr = crate::qr::svg(&e.otpauth_uri)?;
    let mut body = serde_json::to_value(&e).unwrap_or_default();
    if let Some(map) = body.as_object_mut() {
        map.insert("qr_svg".into(), json!(qr));
    }
    Ok((StatusCode::CREATED, Json(body)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Code {
    code: String,
}

async fn confirm_totp(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path((username, id)): Path<(String, String)>,
    ApiJson(req): ApiJson<Code>,
) -> ApiResult<Json<TotpView>> {
    Ok(Json(s.gate.factors().confirm_totp(&admin.tenant_id, &username, &id, &req.code).await?))
}

async fn delete_totp(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path((username, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    s.gate.factors().delete_totp(&admin.tenant_id, &username, &id, &actor(&admin)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn generate_recovery_codes(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(username): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let codes = s.gate.factors().generate_recovery_codes(&admin.tenant_id, &username, &actor(&admin)).await?;
    Ok((StatusCode::CREATED, Json(json!({ "codes": codes }))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyCode {
    username: Username,
    code: String,
    /// The end user's client, as with the password: a step-up after a REVIEW completes the
    /// login from it (its environment known from now on).
    #[serde(default)]
    client: Option<ClientBody>,
}

/// After a second factor succeeded: the login from `client` is complete.
async fn completed(s: &AppState, app: &sekimori_store::App, req: &VerifyCode) -> ApiResult<()> {
    if let Some(client) = &req.client {
        let user = s.gate.admin().find_user(&app.tenant_id, req.username.as_str()).await?;
        s.gate.risk().completed_from(&user, client.ip(), client.user_agent()?).await?;
    }
    Ok(())
}

async fn verify_totp(
    State(s): State<AppState>,
    AppAuth(app): AppAuth,
    ApiJson(req): ApiJson<VerifyCode>,
) -> ApiResult<Json<FactorVerified>> {
    Apps::require_app_kind(&app, AppKind::RelyingParty)?;
    let verified = s.gate.factors().verify_totp(&app, req.username.as_str(), &req.code).await?;
    completed(&s, &app, &req).await?;
    Ok(Json(verified))
}

async fn verify_recovery_code(
    State(s): State<AppState>,
    AppAuth(app): AppAuth,
    ApiJson(req): ApiJson<VerifyCode>,
) -> ApiResult<Json<FactorVerified>> {
    Apps::require_app_kind(&app, AppKind::RelyingParty)?;
    let verified = s.gate.factors().use_recovery_code(&app, req.username.as_str(), &req.code).await?;
    completed(&s, &app, &req).await?;
    Ok(Json(verified))
}
