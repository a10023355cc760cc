//! Account administration (admin token): change, disable, enable and delete users; groups
//! and their members; login hours and validity (docs/protocol.md 9.3).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Json, Router};
use sekimori_core::access::HoursWindow;
use sekimori_core::names::Label;
use sekimori_core::{ErrorCode, Timestamp};
use sekimori_gate::access::{GroupView, UserPatch};
use sekimori_gate::roles::{Capability, Role, TokenView};

use crate::authz::{cap, AdminRoutes};
use serde::{Deserialize, Deserializer};

use super::admin::UserView;
use super::factors::actor;
use crate::extract::{AdminAuth, ApiJson};
use crate::problem::{ApiError, ApiResult};
use crate::AppState;

pub(super) fn router(state: &AppState) -> Router<AppState> {
    use Capability::{Credentials, Groups, Tokens, UsersRead};
    AdminRoutes::new(state)
        .get("/api/v1/admin/groups", cap(UsersRead), list_groups)
        .post("/api/v1/admin/groups", cap(Groups).group_structure(), create_group)
        .get("/api/v1/admin/groups/{group}", cap(UsersRead), get_group)
        .patch("/api/v1/admin/groups/{group}", cap(Groups), patch_group)
        .delete("/api/v1/admin/groups/{group}", cap(Groups).group_structure(), delete_group)
        .put("/api/v1/admin/groups/{group}/members/{username}", cap(Groups), add_member)
        .delete("/api/v1/admin/groups/{group}/members/{username}", cap(Groups), remove_member)
        .get("/api/v1/admin/users/{username}/sessions", cap(UsersRead), user_sessions)
        .delete("/api/v1/admin/users/{username}/sessions", cap(Credentials), revoke_sessions)
        .get("/api/v1/admin/tokens", cap(Tokens), list_tokens)
        .post("/api/v1/admin/tokens", cap(Tokens), create_token)
        .delete("/api/v1/admin/tokens/{id}", cap(Tokens), revoke_token)
        .into_router()
}

/// The user's live sessions, newest first.
async fn user_sessions(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(username): Path<String>,
) -> ApiResult<Json<Vec<sekimori_gate::sessions::UserSession>>> {
    Ok(Json(s.gate.sessions().user_sessions(&admin.tenant_id, &username).await?))
}

/// `{"revoked": n}`: every live session of the user ends.
async fn revoke_sessions(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(username): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let n = s.gate.sessions().revoke_sessions(&admin.tenant_id, &username, &actor(&admin)).await?;
    Ok(Json(serde_json::json!({"revoked": n})))
}

async fn list_tokens(State(s): State<AppState>, AdminAuth(admin): AdminAuth) -> ApiResult<Json<Vec<TokenView>>> {
    Ok(Json(s.gate.roles().admin_tokens(&admin.tenant_id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateToken {
    name: Label,
    role: Role,
    capabilities: Option<Vec<String>>,
    groups: Option<Vec<String>>,
}

/// `201 {"token": {…}, "key": "skadm_…"}`: the key is shown once.
async fn create_token(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    ApiJson(req): ApiJson<CreateToken>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let scope = sekimori_gate::roles::scope_from(req.capabilities, req.groups);
    let (view, key) =
        s.gate.roles().mint_token(&admin.tenant_id, req.name.as_str(), req.role, scope, &actor(&admin)).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({"token": view, "key": key}))))
}

async fn revoke_token(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.gate.roles().revoke_admin_token(&admin.tenant_id, &id, &actor(&admin)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A member that may be absent (leave as is), `null` (clear) or a value.
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PatchUser {
    #[serde(default, deserialize_with = "present")]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    display_name: Option<Option<String>>,
    disabled: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    valid_from: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    valid_until: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    login_hours: Option<Option<Vec<HoursWindow>>>,
}

fn time(field: &'static str, v: Option<Option<String>>) -> ApiResult<Option<Option<Timestamp>>> {
    v.map(|t| t.map(|text| crate::extract::rfc3339(field, &text)).transpose()).transpose()
}

fn short(field: &'static str, v: &Option<Option<String>>) -> ApiResult<()> {
    if v.as_ref().and_then(|v| v.as_ref()).is_some_and(|t| t.chars().count() > 256) {
        return Err(ApiError(
            sekimori_gate::GateError::new(ErrorCode::InvalidRequest, format!("{field} is longer than 256 characters"))
                .with("field", field),
        ));
    }
    Ok(())
}

pub(super) async fn patch_user(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(username): Path<String>,
    ApiJson(req): ApiJson<PatchUser>,
) -> ApiResult<Json<UserView>> {
    short("email", &req.email)?;
    short("display_name", &req.display_name)?;
    let patch = UserPatch {
        email: req.email,
        display_name: req.display_name,
        disabled: req.disabled,
        valid_from: time("valid_from", req.valid_from)?,
        valid_until: time("valid_until", req.valid_until)?,
        login_hours: req.login_hours,
    };
    Ok(Json(s.gate.access().update_user(&admin.tenant_id, &username, patch, &actor(&admin)).await?.into()))
}

pub(super) async fn delete_user(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(username): Path<String>,
) -> ApiResult<StatusCode> {
    s.gate.access().delete_user(&admin.tenant_id, &username, &actor(&admin)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_groups(State(s): State<AppState>, AdminAuth(admin): AdminAuth) -> ApiResult<Json<Vec<GroupView>>> {
    Ok(Json(s.gate.access().groups(&admin.tenant_id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateGroup {
    name: Label,
    login_hours: Option<Vec<HoursWindow>>,
}

async fn create_group(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    ApiJson(req): ApiJson<CreateGroup>,
) -> ApiResult<(StatusCode, Json<GroupView>)> {
    let g =
        s.gate.access().create_group(&admin.tenant_id, &req.name, req.login_hours.as_deref(), &actor(&admin)).await?;
    Ok((StatusCode::CREATED, Json(g)))
}

async fn get_group(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(name): Path<String>,
) -> ApiResult<Json<GroupView>> {
    Ok(Json(s.gate.access().group(&admin.tenant_id, &name).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchGroup {
    #[serde(default, deserialize_with = "present")]
    login_hours: Option<Option<Vec<HoursWindow>>>,
}

async fn patch_group(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<PatchGroup>,
) -> ApiResult<Json<GroupView>> {
    let Some(hours) = req.login_hours else {
        return Ok(Json(s.gate.access().group(&admin.tenant_id, &name).await?));
    };
    Ok(Json(s.gate.access().set_group_hours(&admin.tenant_id, &name, hours.as_deref(), &actor(&admin)).await?))
}

async fn delete_group(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    s.gate.access().delete_group(&admin.tenant_id, &name, &actor(&admin)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn add_member(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path((name, username)): Path<(String, String)>,
) -> ApiResult<Json<GroupView>> {
    Ok(Json(s.gate.access().set_group_member(&admin.tenant_id, &name, &username, true, &actor(&admin)).await?))
}

async fn remove_member(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path((name, username)): Path<(String, String)>,
) -> ApiResult<Json<GroupView>> {
    Ok(Json(s.gate.access().set_group_member(&admin.tenant_id, &name, &username, false, &actor(&admin)).await?))
}
