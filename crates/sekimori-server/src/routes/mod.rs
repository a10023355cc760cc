//! Route table. Each module is one audience: admins, relying parties and verifiers,
//! devices, and the hosted pages.

mod accounts;
mod admin;
mod alerts;
mod app;
mod console_pages;
mod console_roles;
mod device;
mod factors;
mod form_target;
mod forward;
mod hosted;
mod limited;
pub(crate) mod login;
mod oidc;
mod overrides;
mod passkeys;
mod passwords;
mod relying;
mod respond;
mod risk;
mod search;
mod tuning;
mod watch;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

pub(crate) use hosted::SDK_SCRIPT;
pub(crate) use limited::rate_limit;
pub(crate) use login::cookie_value;

use crate::problem::ApiResult;
use crate::AppState;

pub(crate) fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::metrics::metrics))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/api/v1/server", get(server_info))
        .merge(admin::router(state))
        .merge(accounts::router(state))
        .merge(console_roles::router(state))
        .merge(tuning::router(state))
        .merge(risk::router(state))
        .merge(alerts::router(state))
        .merge(search::router(state))
        .merge(overrides::router(state))
        .merge(respond::router(state))
        .merge(factors::router(state))
        .merge(passwords::router(state))
        .merge(relying::router())
        .merge(device::router())
        .merge(hosted::router())
        .merge(app::router())
        .merge(console_pages::router())
        .merge(login::router())
        .merge(forward::router())
        .merge(oidc::router())
        .merge(passkeys::router(state))
        .merge(watch::router(state))
}

async fn healthz(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    s.gate.admin().default_tenant().await?;
    Ok(Json(json!({"status": "ok"})))
}

/// Readiness, for load balancers and orchestrators: `200` while the store takes writes,
/// `503 service_unavailable` otherwise (e.g. a full disk); `/healthz` is liveness.
async fn readyz(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    s.gate.admin().ready(s.min_free_bytes).await?;
    Ok(Json(json!({"status": "ready"})))
}

async fn jwks(State(s): State<AppState>) -> Json<Value> {
    Json(s.gate.assertions().jwks())
}

async fn server_info(State(s): State<AppState>) -> Json<Value> {
    Json(json!({
        "name": "sekimori",
        "version": env!("CARGO_PKG_VERSION"),
        "public_url": s.gate.public_url().as_str(),
        "server_public_key": s.gate.keys().public_key_b64(),
        "server_key_id": s.gate.keys().key_id(),
        "sdk_integrity": crate::sdk_integrity(),
    }))
}
