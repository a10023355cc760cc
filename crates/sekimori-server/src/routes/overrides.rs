//! Required-level overrides over the admin API (docs/respond.md): every one in force and
//! why, one set by hand, one lifted early with a reason. Response policies set them
//! automatically through the same service.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Json, Router};
use sekimori_core::ErrorCode;
use sekimori_gate::overrides::{Applied, OverrideView, Response, ResponseRequest};
use sekimori_gate::roles::Capability;
use serde::Deserialize;

use crate::authz::{cap, AdminRoutes};
use crate::extract::{AdminAuth, ApiJson};
use crate::problem::{ApiError, ApiResult};
use crate::AppState;

pub(super) fn router(state: &AppState) -> Router<AppState> {
    use Capability::{Credentials, UsersRead};
    AdminRoutes::new(state)
        .get("/api/v1/admin/overrides", cap(UsersRead), list)
        .post("/api/v1/admin/users/{username}/overrides", cap(Credentials), set)
        .post("/api/v1/admin/overrides/{id}/lift", cap(Credentials), lift)
        .into_router()
}

async fn list(State(s): State<AppState>, AdminAuth(admin): AdminAuth) -> ApiResult<Json<Vec<OverrideView>>> {
    Ok(Json(s.gate.overrides().list(&admin.tenant_id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetOverride {
    /// `raise_level`, `suspend_push`, `block`, `reauthenticate`.
    action: String,
    /// For `raise_level`: 2 or 3.
    level: Option<u8>,
    /// How long, e.g. `1h` (not for `reauthenticate`).
    duration: Option<String>,
    reason: String,
}

async fn set(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(username): Path<String>,
    ApiJson(req): ApiJson<SetOverride>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let response = match (req.action.as_str(), req.level) {
        ("raise_level", Some(l @ 2..=3)) => Response::RaiseLevel(l),
        ("raise_level", _) => return Err(ApiError::invalid("level", "raise_level needs a level of 2 or 3")),
        ("suspend_push", None) => Response::SuspendPush,
        ("block", None) => Response::Block,
        ("reauthenticate", None) => Response::Reauthenticate,
        (_, Some(_)) => return Err(ApiError::invalid("level", "only raise_level takes a level")),
        (other, None) => {
            return Err(ApiError::invalid(
                "action",
                format!("{other:?}: the actions are raise_level, suspend_push, block and reauthenticate"),
            ))
        }
    };
    if req.reason.trim().is_empty() || req.reason.len() > 1000 {
        return Err(ApiError::invalid("reason", "a reason of 1 to 1000 characters is needed"));
    }
    let duration_ms = match (&req.duration, response) {
        (None, Response::Reauthenticate) => 1,
        (Some(_), Response::Reauthenticate) => {
            return Err(ApiError::invalid("duration", "reauthenticate is not lasting"))
        }
        (None, _) => return Err(ApiError::invalid("duration", "a duration is needed, e.g. \"1h\"")),
        (Some(d), _) => {
            let d = sekimori_respond::parse_duration(d).map_err(|e| ApiError::invalid("duration", e.to_string()))?;
            match i64::try_from(d.as_millis()) {
                Ok(ms) if ms > 0 && ms <= 366 * 86_400_000 => ms,
                _ => return Err(ApiError::invalid("duration", "between 1 ms and a year")),
            }
        }
    };
    let request = ResponseRequest {
        response,
        escalation_ms: vec![duration_ms],
        escalation_window_ms: 0,
        reason: req.reason,
        policy: None,
        source: format!("admin_token:{}", admin.id),
        exempt_users: Vec::new(),
        exempt_groups: Vec::new(),
    };
    match s.gate.overrides().apply(&admin.tenant_id, &username, &request).await? {
        Applied::Set(Some(o)) => Ok((StatusCode::CREATED, Json(serde_json::json!({"id": o.id})))),
        Applied::Set(None) => Ok((StatusCode::OK, Json(serde_json::json!({"sessions_ended": true})))),
        Applied::NoSuchUser => Err(ApiError::new(ErrorCode::NotFound, format!("no user {username}"))),
        Applied::AlreadyInForce(_) | Applied::Exempt => {
            Err(ApiError::new(ErrorCode::Internal, "an override by hand is neither exempt nor deduplicated"))
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Lift {
    reason: String,
}

async fn lift(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Lift>,
) -> ApiResult<StatusCode> {
    s.gate.overrides().lift(&admin.tenant_id, &id, &format!("admin_token:{}", admin.id), &req.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}
