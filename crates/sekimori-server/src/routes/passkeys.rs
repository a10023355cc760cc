//! Passkeys over JSON for the hosted pages (docs/protocol.md section 17): a signed-in user
//! registers, lists and deletes passkeys; anyone logs in with one and gets a level-3
//! browser session. Every call must come from this server's own pages (`Origin`).

use axum::extract::{Path, State};
use axum::http::header::{self, HeaderMap};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use sekimori_core::names::Label;
use sekimori_core::ErrorCode;
use sekimori_gate::passkeys::{PasskeyChallenge, PasskeyView, PASSKEY_AMR};
use sekimori_gate::roles::Capability;
use sekimori_gate::sessions::SessionView;
use serde::Deserialize;
use serde_json::Value;

use super::login::{cookie_value, current_session, session_started, SESSION_COOKIE};
use crate::authz::{cap, AdminRoutes};
use crate::extract::{AdminAuth, ApiJson, PageClient};
use crate::problem::{ApiError, ApiResult};
use crate::AppState;

pub(super) fn router(state: &AppState) -> Router<AppState> {
    use Capability::{Credentials, UsersRead};
    Router::new()
        .route("/api/v1/session/passkeys", get(list_mine))
        .route("/api/v1/session/passkeys/register/start", post(register_start))
        .route("/api/v1/session/passkeys/register/finish", post(register_finish))
        .route("/api/v1/session/passkeys/{id}", delete(delete_mine))
        .route("/api/v1/session/passkey/start", post(login_start))
        .route("/api/v1/session/passkey/finish", post(login_finish))
        .merge(
            AdminRoutes::new(state)
                .get("/api/v1/admin/users/{username}/passkeys", cap(UsersRead), admin_list)
                .delete("/api/v1/admin/users/{username}/passkeys/{id}", cap(Credentials), admin_delete)
                .into_router(),
        )
}

/// Browsers send `Origin` with every POST; one from elsewhere is refused.
fn same_origin(s: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let ours = s.gate.public_url().as_str();
    let allowed =
        |o: &str| o == ours || s.gate.passkeys().settings().origins.iter().any(|x| x.trim_end_matches('/') == o);
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(o) if !allowed(o) => {
            Err(ApiError::new(ErrorCode::Forbidden, "this request did not come from Sekimori's pages"))
        }
        _ => Ok(()),
    }
}

async fn signed_in(s: &AppState, headers: &HeaderMap) -> Result<SessionView, ApiError> {
    current_session(&s.gate, headers).await?.ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "sign in first"))
}

async fn list_mine(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<Json<Vec<PasskeyView>>> {
    let me = signed_in(&s, &headers).await?;
    Ok(Json(s.gate.passkeys().passkeys_of(&me.user_id).await?))
}

async fn register_start(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<Json<PasskeyChallenge>> {
    same_origin(&s, &headers)?;
    let me = signed_in(&s, &headers).await?;
    Ok(Json(s.gate.passkeys().passkey_register_start(&me).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterFinish {
    ceremony: String,
    credential: Value,
    name: Option<Label>,
}

async fn register_finish(
    State(s): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RegisterFinish>,
) -> ApiResult<(StatusCode, Json<PasskeyView>)> {
    same_origin(&s, &headers)?;
    let me = signed_in(&s, &headers).await?;
    let name = match body.name {
        Some(n) => n,
        None => Label::parse("passkey").map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?,
    };
    let view = s.gate.passkeys().passkey_register_finish(&me, &body.ceremony, body.credential, &name).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

async fn delete_mine(State(s): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> ApiResult<StatusCode> {
    same_origin(&s, &headers)?;
    let me = signed_in(&s, &headers).await?;
    let user = s.gate.admin().find_user(&me.tenant_id, &me.username).await?;
    s.gate.passkeys().delete_passkey(&user, &id, "self").await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginStart {
    username: Option<String>,
}

async fn login_start(
    State(s): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginStart>,
) -> ApiResult<Json<PasskeyChallenge>> {
    same_origin(&s, &headers)?;
    let tenant = s.gate.admin().default_tenant().await?;
    Ok(Json(s.gate.passkeys().passkey_login_start(&tenant.id, body.username.as_deref()).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginFinish {
    ceremony: String,
    credential: Value,
    return_to: Option<String>,
    /// The sealed half-done login when the passkey is the second factor after a password.
    pending: Option<String>,
}

async fn login_finish(
    State(s): State<AppState>,
    headers: HeaderMap,
    PageClient(client): PageClient,
    ApiJson(body): ApiJson<LoginFinish>,
) -> ApiResult<Response> {
    same_origin(&s, &headers)?;
    let tenant = s.gate.admin().default_tenant().await?;
    let pending = match body.pending.as_deref() {
        Some(p) => Some(
            s.gate
                .sessions()
                .open_pending(p)
                .ok_or_else(|| ApiError::new(ErrorCode::Expired, "the sign-in took too long; start again"))?,
        ),
        None => None,
    };
    let (user, level) = s.gate.passkeys().passkey_login_finish(&tenant.id, &body.ceremony, body.credential).await?;
    if pending.is_none() {
        // A passkey alone is judged like any login; it is itself the factor a REVIEW asks
        // for, so only an NG is refused (a passkey after a password: the password was judged).
        s.gate.risk().judge_passkey(&user, client.ip, client.user_agent.as_deref()).await?;
    }
    let methods: Vec<String> = PASSKEY_AMR.iter().map(|m| (*m).to_owned()).collect();
    let old = cookie_value(&headers, SESSION_COOKIE);
    let (secret, view) = match &pending {
        // As a second factor the passkey adds to what the password proved, for the same user.
        Some(first) => s.gate.sessions().complete_pending_of(&user, first, &methods, level, &client, old).await?,
        None => s.gate.sessions().create_session(&user, level, &methods, old).await?,
    };
    Ok(session_started(&s.gate, &secret, &view, body.return_to.as_deref()))
}

async fn admin_list(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(username): Path<String>,
) -> ApiResult<Json<Vec<PasskeyView>>> {
    let user = s.gate.admin().find_user(&admin.tenant_id, &username).await?;
    Ok(Json(s.gate.passkeys().passkeys_of(&user.id).await?))
}

async fn admin_delete(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path((username, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let user = s.gate.admin().find_user(&admin.tenant_id, &username).await?;
    s.gate.passkeys().delete_passkey(&user, &id, &admin.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
