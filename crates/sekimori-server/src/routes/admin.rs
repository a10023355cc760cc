//! Admin API (bearer admin token): users, enrolments, devices, apps, tenant settings,
//! the audit log.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use sekimori_core::names::{Label, Username};
use sekimori_core::{AppId, DeviceId, ErrorCode, Timestamp, UserId};
use sekimori_gate::roles::Capability;
use sekimori_gate::AppKind;
use sekimori_store::{App, Device, EventFilter, StoredEvent, User};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::authz::{admin_only, any_role, cap, AdminRoutes};
use crate::extract::{AdminAuth, ApiJson, ApiQuery};
use crate::problem::{ApiError, ApiResult};
use crate::AppState;

pub(super) fn router(state: &AppState) -> Router<AppState> {
    use Capability::{Apps, Audit, Credentials, UsersRead, UsersWrite};
    AdminRoutes::new(state)
        .post("/api/v1/admin/users", cap(UsersWrite), add_user)
        .get("/api/v1/admin/users", cap(UsersRead), list_users)
        .get("/api/v1/admin/users/{username}", cap(UsersRead), get_user)
        .patch("/api/v1/admin/users/{username}", cap(UsersWrite), super::accounts::patch_user)
        .delete("/api/v1/admin/users/{username}", cap(UsersWrite), super::accounts::delete_user)
        .post("/api/v1/admin/users/{username}/enrollments", cap(Credentials), create_enrollment)
        .get("/api/v1/admin/users/{username}/devices", cap(UsersRead), list_devices)
        .delete("/api/v1/admin/users/{username}/devices/{device_id}", cap(Credentials), remove_device)
        .get("/api/v1/admin/users/{username}/environments", cap(UsersRead), list_environments)
        .post("/api/v1/admin/apps", cap(Apps), add_app)
        .get("/api/v1/admin/apps", cap(Apps), list_apps)
        .delete("/api/v1/admin/apps/{app_id}", cap(Apps), revoke_app)
        .patch("/api/v1/admin/apps/{app_id}", cap(Apps), patch_app)
        // OIDC clients are apps; replacing the signing keys is for admins.
        .get("/api/v1/admin/oidc/clients", cap(Apps), list_oidc_clients)
        .patch("/api/v1/admin/oidc/clients/{client_id}", cap(Apps), patch_oidc_client)
        .get("/api/v1/admin/oidc/keys", cap(Apps), list_oidc_keys)
        .post("/api/v1/admin/oidc/keys/rotate", admin_only(), rotate_oidc_keys)
        .get("/api/v1/admin/tenant", any_role(), get_tenant)
        .patch("/api/v1/admin/tenant", cap(Capability::Tenant), patch_tenant)
        .get("/api/v1/admin/audit/verify", cap(Audit), verify_audit)
        .get("/api/v1/events", cap(Audit), events)
        .into_router()
}

/// A user as the admin API shows it.
#[derive(Debug, Serialize)]
pub struct UserView {
    id: UserId,
    username: String,
    email: Option<String>,
    display_name: Option<String>,
    disabled: bool,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_until: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    login_hours: Option<Vec<sekimori_core::access::HoursWindow>>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            id: u.id,
            username: u.username,
            email: u.email,
            display_name: u.display_name,
            disabled: u.disabled,
            created_at: u.created_at.to_rfc3339(),
            valid_from: u.valid_from.map(|t| t.to_rfc3339()),
            valid_until: u.valid_until.map(|t| t.to_rfc3339()),
            login_hours: u.login_hours,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddUser {
    username: Username,
    email: Option<String>,
    display_name: Option<Label>,
}

async fn add_user(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    ApiJson(req): ApiJson<AddUser>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    if let Some(e) = &req.email {
        if e.len() > 254 || !e.contains('@') || e.chars().any(char::is_control) {
            return Err(ApiError::new(ErrorCode::InvalidRequest, "email is not an address"));
        }
    }
    let user =
        s.gate.admin().add_user(&admin, &req.username, req.email, req.display_name.map(|d| d.to_string())).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

async fn list_users(State(s): State<AppState>, AdminAuth(admin): AdminAuth) -> ApiResult<Json<Vec<UserView>>> {
    Ok(Json(s.gate.admin().list_users(&admin).await?.into_iter().map(UserView::from).collect()))
}

async fn get_user(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(username): Path<String>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(s.gate.admin().find_user(&admin.tenant_id, &username).await?.into()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FormatQuery {
    format: Option<String>,
}

async fn create_enrollment(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(username): Path<String>,
    ApiQuery(q): ApiQuery<FormatQuery>,
) -> ApiResult<Response> {
    let format = q.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "svg" | "png") {
        return Err(ApiError::new(ErrorCode::InvalidRequest, "format must be json, svg or png"));
    }
    let e = s.gate.enrolment().create_enrollment(&admin, &username).await?;
    let link_header = [("sekimori-enrollment-link", e.link.clone())];
    Ok(match format {
        "svg" => {
            (StatusCode::CREATED, link_header, [(header::CONTENT_TYPE, "image/svg+xml")], crate::qr::svg(&e.link)?)
                .into_response()
        }
        "png" => (StatusCode::CREATED, link_header, [(header::CONTENT_TYPE, "image/png")], crate::qr::png(&e.link)?)
            .into_response(),
        _ => (StatusCode::CREATED, Json(e)).into_response(),
    })
}

#[derive(Debug, Serialize)]
struct DeviceView {
    id: DeviceId,
    name: String,
    created_at: String,
}

impl From<Device> for DeviceView {
    fn from(d: Device) -> Self {
        DeviceView { id: d.id, name: d.name, created_at: d.created_at.to_rfc3339() }
    }
}

async fn list_devices(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(username): Path<String>,
) -> ApiResult<Json<Vec<DeviceView>>> {
    Ok(Json(
        s.gate.admin().user_devices(&admin.tenant_id, &username).await?.into_iter().map(DeviceView::from).collect(),
    ))
}

async fn remove_device(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path((username, device_id)): Path<(String, DeviceId)>,
) -> ApiResult<StatusCode> {
    s.gate.admin().remove_device(&admin, &username, &device_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_environments(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(username): Path<String>,
) -> ApiResult<Json<Value>> {
    let user = s.gate.admin().find_user(&admin.tenant_id, &username).await?;
    Ok(Json(json!(s.gate.environments().environments(&user).await?)))
}

#[derive(Debug, Serialize)]
struct AppView {
    id: AppId,
    name: String,
    kind: String,
    created_at: String,
    revoked_at: Option<String>,
    origins: Vec<String>,
}

impl From<App> for AppView {
    fn from(a: App) -> Self {
        AppView {
            origins: sekimori_gate::snippet::origins_of(&a),
            id: a.id,
            name: a.name,
            kind: a.kind.as_str().to_owned(),
            created_at: a.created_at.to_rfc3339(),
            revoked_at: a.revoked_at.map(|t| t.to_rfc3339()),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddApp {
    name: Label,
    kind: Option<String>,
    origins: Option<Vec<String>>,
    /// Registers the app as an OIDC client.
    oidc: Option<sekimori_gate::oidc::ClientRegistration>,
}

async fn add_app(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    ApiJson(req): ApiJson<AddApp>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let kind_text = req.kind.as_deref().unwrap_or("relying_party");
    let kind = AppKind::parse(kind_text).ok_or_else(|| {
        ApiError::new(ErrorCode::InvalidRequest, format!("kind must be relying_party or verifier, not {kind_text:?}"))
    })?;
    // Origins are checked before the app exists, so a bad one loses nothing (the key is shown once).
    for o in req.origins.iter().flatten() {
        sekimori_gate::snippet::normalize_origin(o).map_err(|e| {
            ApiError(sekimori_gate::GateError::new(ErrorCode::InvalidRequest, e.to_string()).with("field", "origins"))
        })?;
    }
    let (mut created, client) = match &req.oidc {
        Some(_) if kind != AppKind::RelyingParty => {
            return Err(ApiError::new(ErrorCode::InvalidRequest, "an OIDC client must be a relying_party app"))
        }
        Some(reg) => {
            let c = s.gate.oidc().add_oidc_client(&admin, &req.name, reg).await?;
            (c.app, Some(c.client))
        }
        None => (s.gate.apps().add_app(&admin, &req.name, kind).await?, None),
    };
    if let Some(origins) = req.origins.filter(|o| !o.is_empty()) {
        created.app = s.gate.apps().set_app_origins(&admin, &created.app.id, &origins).await?;
    }
    let mut body = json!({"app": AppView::from(created.app), "key": created.key});
    if let Some(c) = client {
        if !c.public {
            body["client_secret"] = json!(created.key);
        }
        body["client_id"] = json!(c.app_id);
        body["issuer"] = json!(s.gate.oidc().issuer());
        body["oidc"] = oidc_view(&c);
    }
    Ok((StatusCode::CREATED, Json(body)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchApp {
    origins: Vec<String>,
}

async fn patch_app(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(app_id): Path<AppId>,
    ApiJson(req): ApiJson<PatchApp>,
) -> ApiResult<Json<AppView>> {
    Ok(Json(s.gate.apps().set_app_origins(&admin, &app_id, &req.origins).await?.into()))
}

async fn list_apps(State(s): State<AppState>, AdminAuth(admin): AdminAuth) -> ApiResult<Json<Vec<AppView>>> {
    Ok(Json(s.gate.apps().list_apps(&admin).await?.into_iter().map(AppView::from).collect()))
}

async fn revoke_app(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(app_id): Path<AppId>,
) -> ApiResult<StatusCode> {
    s.gate.apps().revoke_app(&admin, &app_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_tenant(State(s): State<AppState>, AdminAuth(admin): AdminAuth) -> ApiResult<Json<Value>> {
    Ok(Json(json!(s.gate.admin().tenant_settings(&admin.tenant_id).await?)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchTenant {
    standby_required: Option<bool>,
    standby_seconds: Option<i64>,
    password_policy: Option<u8>,
    time_zone: Option<String>,
}

async fn patch_tenant(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    ApiJson(req): ApiJson<PatchTenant>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.gate
            .admin()
            .update_tenant_settings(
                &admin,
                req.standby_required,
                req.standby_seconds,
                req.password_policy,
                req.time_zone
            )
            .await?
    )))
}

/// Walks the chain and records the result in the caller's tenant's log (who asked).
async fn verify_audit(State(s): State<AppState>, AdminAuth(admin): AdminAuth) -> ApiResult<Json<Value>> {
    let tenants = [admin.tenant_id.clone()];
    Ok(Json(json!(s.gate.audit().verify_and_record(&tenants, admin.id.as_str()).await?)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    user: Option<String>,
    action: Option<String>,
    since: Option<String>,
    until: Option<String>,
    after: Option<i64>,
    limit: Option<i64>,
    format: Option<String>,
    /// `asc` (default: oldest first, paged with `after`) or `desc` (the latest first).
    order: Option<String>,
}

async fn events(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> ApiResult<Response> {
    let time = |name: &str, v: &Option<String>| -> ApiResult<Option<Timestamp>> {
        v.as_deref()
            .map(|t| {
                Timestamp::parse(t).ok_or_else(|| {
                    ApiError::new(ErrorCode::InvalidRequest, format!("{name} must be RFC 3339 or Unix milliseconds"))
                })
            })
            .transpose()
    };
    let user_id = match &q.user {
        Some(name) => Some(s.gate.admin().find_user(&admin.tenant_id, name).await?.id),
        None => None,
    };
    let filter = EventFilter {
        tenant_id: None,
        user_id,
        action: q.action.clone(),
        since: time("since", &q.since)?,
        until: time("until", &q.until)?,
        after_seq: q.after,
        limit: q.limit.unwrap_or(1000).clamp(1, 10_000),
        newest_first: match q.order.as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!("order must be asc or desc, not {other:?}"),
                ))
            }
        },
    };
    let rows = s.gate.audit().events(&admin.tenant_id, filter).await?;
    let ndjson = crate::extract::wants_ndjson(q.format.as_deref(), &headers)?;
    if ndjson {
        let mut out = String::new();
        for r in &rows {
            out.push_str(&event_json(r).to_string());
            out.push('\n');
        }
        Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], out).into_response())
    } else {
        Ok(Json(json!({"events": rows.iter().map(event_json).collect::<Vec<_>>()})).into_response())
    }
}

/// An audit row as the API shows it: the ECS document plus its chain position.
fn event_json(r: &StoredEvent) -> Value {
    let mut doc: Value = serde_json::from_str(&r.doc).unwrap_or(Value::Null);
    sekimori_core::event::set_dotted(&mut doc, "sekimori.audit.seq", json!(r.seq));
    doc
}

fn oidc_view(c: &sekimori_store::OidcClient) -> Value {
    json!({
        "client_id": c.app_id,
        "public": c.public,
        "token_endpoint_auth_method": if c.public { "none" } else { "client_secret_basic" },
        "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "id_token_alg": c.id_token_alg,
        "created_at": c.created_at.to_rfc3339(),
    })
}

async fn list_oidc_clients(State(s): State<AppState>, AdminAuth(admin): AdminAuth) -> ApiResult<Json<Vec<Value>>> {
    Ok(Json(s.gate.oidc().list_oidc_clients(&admin).await?.iter().map(oidc_view).collect()))
}

async fn patch_oidc_client(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(client_id): Path<AppId>,
    ApiJson(req): ApiJson<sekimori_gate::oidc::ClientUris>,
) -> ApiResult<Json<Value>> {
    if req.redirect_uris.is_none() && req.post_logout_redirect_uris.is_none() {
        return Err(ApiError::invalid("redirect_uris", "give redirect_uris, post_logout_redirect_uris or both"));
    }
    Ok(Json(oidc_view(&s.gate.oidc().set_oidc_client_uris(&admin, &client_id, &req).await?)))
}

fn oidc_problem(e: sekimori_gate::oidc::OidcError) -> ApiError {
    let code = if e.status >= 500 { ErrorCode::Internal } else { ErrorCode::InvalidRequest };
    ApiError::new(code, e.description)
}

/// The provider's signing keys (no private parts).
async fn list_oidc_keys(State(s): State<AppState>, AdminAuth(_admin): AdminAuth) -> ApiResult<Json<Vec<Value>>> {
    s.gate.oidc().key_ring().await.map_err(oidc_problem)?;
    let keys = s.gate.oidc().oidc_key_list().await.map_err(oidc_problem)?;
    Ok(Json(
        keys.into_iter()
            .map(|k| {
                json!({
                    "kid": k.kid,
                    "alg": k.alg,
                    "created_at": k.created_at.to_rfc3339(),
                    "retired_at": k.retired_at.map(|t| t.to_rfc3339()),
                })
            })
            .collect(),
    ))
}

/// Replaces the signing keys now; the old ones stay published until their tokens expire.
async fn rotate_oidc_keys(State(s): State<AppState>, AdminAuth(admin): AdminAuth) -> ApiResult<Json<Value>> {
    let kids = s.gate.oidc().rotate_oidc_keys(&admin.id).await.map_err(oidc_problem)?;
    Ok(Json(json!({ "active": kids })))
}
