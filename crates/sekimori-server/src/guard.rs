//! The admin guard: every request to `/api/v1/admin/…` and `/api/v1/events` is
//! authenticated once, before routing, and its answer shaped for the role: masked for an
//! auditor, limited to its groups for an operator that has groups. What each route needs
//! is checked by the route's own layer ([`crate::authz`]).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sekimori_core::ErrorCode;
use sekimori_gate::roles::{self, Role};
use sekimori_store::AdminToken;
use serde_json::Value;

use crate::extract::bearer;
use crate::problem::ApiError;
use crate::AppState;

/// Largest answer the guard rewrites (masking, filtering); larger ones are refused to an
/// auditor rather than passed unmasked.
const MAX_REWRITE_BYTES: usize = 64 * 1024 * 1024;

fn guarded(path: &str) -> bool {
    path == "/api/v1/events" || path == "/api/v1/admin" || path.starts_with("/api/v1/admin/")
}

/// The middleware.
pub(crate) async fn admin_guard(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if !guarded(&path) {
        return next.run(req).await;
    }
    let console = req.headers().contains_key(CONSOLE_HEADER) && !req.headers().contains_key(AUTHORIZATION);
    let authenticated = if console {
        console_principal(&s, req.headers()).await
    } else {
        match bearer(req.headers()) {
            Ok(b) => s.gate.admin().authenticate_admin(b).await.map_err(ApiError),
            Err(e) => Err(e),
        }
    };
    let token = match authenticated {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let role = token.role;
    let listing = req.method() == axum::http::Method::GET
        && matches!(path.as_str(), "/api/v1/admin/users" | "/api/v1/admin/groups");
    let visible = if listing && role == Role::Operator {
        match s.gate.roles().visible_usernames(&token).await {
            Ok(None) => None,
            Ok(Some(names)) => match roles::scope_of(&token) {
                Ok(scope) => Some((names, scope.groups.clone())),
                Err(e) => return ApiError(e).into_response(),
            },
            Err(e) => return ApiError(e).into_response(),
        }
    } else {
        None
    };
    req.extensions_mut().insert(token.clone());
    let resp = next.run(req).await;
    match (role, visible) {
        (Role::Auditor, _) => rewrite(resp, |body, ndjson| Some(crate::mask::mask_body(body, ndjson))).await,
        (_, Some((names, groups))) => {
            let key = if path.ends_with("/users") { "username" } else { "name" };
            let allowed = if key == "username" { names } else { groups };
            rewrite(resp, move |body, _| {
                let mut v: Value = serde_json::from_slice(body).ok()?;
                if let Some(items) = v.as_array_mut() {
                    items.retain(|i| i[key].as_str().is_some_and(|n| allowed.iter().any(|a| a == n)));
                }
                serde_json::to_vec(&v).ok()
            })
            .await
        }
        _ => resp,
    }
}

/// The header the console's pages send with their session cookie. A page on another site
/// cannot send it without a CORS preflight, which Sekimori does not grant, so a request
/// with it and the cookie comes from Sekimori's own pages.
pub const CONSOLE_HEADER: &str = "sekimori-console";

/// The principal of a console request: the browser session's user, with the console role
/// they hold (`sekimori_gate::console`), checked like a token of that role.
async fn console_principal(s: &AppState, headers: &axum::http::HeaderMap) -> Result<AdminToken, ApiError> {
    let public = s.gate.public_url().as_str();
    if let Some(origin) = headers.get(axum::http::header::ORIGIN) {
        if origin.to_str().ok() != Some(public) {
            return Err(ApiError::new(ErrorCode::Forbidden, "console requests come from Sekimori's own pages"));
        }
    }
    let session = crate::routes::login::current_session(&s.gate, headers)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "sign in to use the console (no live session)"))?;
    Ok(s.gate.console().principal(&session).await?)
}

/// Rewrites a successful JSON or NDJSON answer's body with `f`; other answers (errors,
/// images) go through `f` too when they are text, and are refused when `f` cannot read them.
async fn rewrite(resp: Response, f: impl FnOnce(&[u8], bool) -> Option<Vec<u8>>) -> Response {
    let (mut parts, body) = resp.into_parts();
    let ndjson = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-ndjson"));
    let Ok(bytes) = axum::body::to_bytes(body, MAX_REWRITE_BYTES).await else {
        return ApiError::new(ErrorCode::PayloadTooLarge, "the answer is too large to be masked").into_response();
    };
    let Some(new) = f(&bytes, ndjson) else {
        return ApiError::new(ErrorCode::Internal, "the answer could not be prepared for this role").into_response();
    };
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(new))
}

/// The token the guard authenticated, if it ran.
pub(crate) fn authenticated(req: &axum::http::request::Parts) -> Option<AdminToken> {
    req.extensions.get::<AdminToken>().cloned()
}

/// [`authenticated`] on a whole request.
pub(crate) fn authenticated_request(req: &Request) -> Option<AdminToken> {
    req.extensions().get::<AdminToken>().cloned()
}
