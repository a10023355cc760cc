//! Second factors: TOTP enrolment, confirmation and removal and recovery codes (admin
//! token), and their verification by relying parties (app key).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use sekimori_core::names::Username;
use sekimori_gate::factors::{FactorVerified, FactorsView, TotpView};
use sekimori_gate::{AppKind, Gate};
use sekimori_store::AdminToken;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::extract::{AdminAuth, ApiJson, AppAuth};
use crate::problem::ApiResult;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/admin/users/{username}/factors", get(list_factors))
        .route("/api/v1/admin/users/{username}/totp", post(enrol_totp))
        .route("/api/v1/admin/users/{username}/totp/{id}", delete(delete_totp))
        .route("/api/v1/admin/users/{username}/totp/{id}/confirm", post(confirm_totp))
        .route("/api/v1/admin/users/{username}/recovery-codes", post(generate_recovery_codes))
        .route("/api/v1/factors/totp/verify", post(verify_totp))
        .route("/api/v1/factors/recovery-codes/verify", post(verify_recovery_code))
}

/// Who made an admin change, as the audit log names it.
pub(super) fn actor(admin: &AdminToken) -> String {
    format!("admin_token:{}", admin.id)
}

async fn list_factors(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(username): Path<String>,
) -> ApiResult<Json<FactorsView>> {
    Ok(Json(s.gate.factors(&admin.tenant_id, &username).await?))
}

/// The enrolment, with the `otpauth://` URI also as an SVG QR code.
async fn enrol_totp(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(username): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let e = s.gate.enrol_totp(&admin.tenant_id, &username, &actor(&admin)).await?;
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
    Ok(Json(s.gate.confirm_totp(&admin.tenant_id, &username, &id, &req.code).await?))
}

async fn delete_totp(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path((username, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    s.gate.delete_totp(&admin.tenant_id, &username, &id, &actor(&admin)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn generate_recovery_codes(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(username): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let codes = s.gate.generate_recovery_codes(&admin.tenant_id, &username, &actor(&admin)).await?;
    Ok((StatusCode::CREATED, Json(json!({ "codes": codes }))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyCode {
    username: Username,
    code: String,
}

async fn verify_totp(
    State(s): State<AppState>,
    AppAuth(app): AppAuth,
    ApiJson(req): ApiJson<VerifyCode>,
) -> ApiResult<Json<FactorVerified>> {
    Gate::require_app_kind(&app, AppKind::RelyingParty)?;
    Ok(Json(s.gate.verify_totp(&app, req.username.as_str(), &req.code).await?))
}

async fn verify_recovery_code(
    State(s): State<AppState>,
    AppAuth(app): AppAuth,
    ApiJson(req): ApiJson<VerifyCode>,
) -> ApiResult<Json<FactorVerified>> {
    Gate::require_app_kind(&app, AppKind::RelyingParty)?;
    Ok(Json(s.gate.use_recovery_code(&app, req.username.as_str(), &req.code).await?))
}
