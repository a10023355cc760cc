//! Console roles (admin token, capability `tokens`): which users and groups may sign in
//! to the console, and as what (docs/protocol.md 9.4).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Json, Router};
use sekimori_core::{ErrorCode, Timestamp};
use sekimori_gate::console::GrantView;
use sekimori_gate::dashboard::Bucket;
use sekimori_gate::roles::{scope_from, Capability, Role};
use sekimori_store::ConsoleSubject;
use serde::Deserialize;

use crate::authz::{any_role, cap, AdminRoutes};
use crate::extract::{AdminAuth, ApiJson};
use crate::problem::{ApiError, ApiResult};
use crate::AppState;

pub(super) fn router(state: &AppState) -> Router<AppState> {
    AdminRoutes::new(state)
        .get("/api/v1/admin/console-roles", cap(Capability::Tokens), list)
        .put("/api/v1/admin/console-roles/{kind}/{name}", cap(Capability::Tokens), grant)
        .delete("/api/v1/admin/console-roles/{kind}/{name}", cap(Capability::Tokens), revoke)
        .get("/api/v1/admin/whoami", any_role(), whoami)
        .get("/api/v1/admin/dashboard", cap(Capability::Audit), dashboard)
        .get("/api/v1/admin/dashboard/detection", cap(Capability::DetectionRead), detection_dashboard)
        .into_router()
}

/// Who the credential is: a token's or a console user's name, role and scope (the console
/// shows only what the role may do).
async fn whoami(State(s): State<AppState>, AdminAuth(admin): AdminAuth) -> Json<serde_json::Value> {
    let console = admin.id.starts_with(sekimori_gate::console::PRINCIPAL_PREFIX);
    Json(serde_json::json!({
        "name": admin.name,
        "role": admin.role.as_str(),
        "scope": admin.scope,
        "console": console,
        // As the audit log and alert triage name this credential.
        "actor": super::factors::actor(&admin),
        "now": s.gate.now().to_rfc3339(),
    }))
}

fn kind(text: &str) -> Result<ConsoleSubject, ApiError> {
    ConsoleSubject::parse(text)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "console roles are given to a user or a group"))
}

async fn list(State(s): State<AppState>, AdminAuth(admin): AdminAuth) -> ApiResult<Json<Vec<GrantView>>> {
    Ok(Json(s.gate.console().list(&admin).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Grant {
    role: Role,
    capabilities: Option<Vec<String>>,
    groups: Option<Vec<String>>,
}

/// `200` with the role as stored; replaces the subject's previous one.
async fn grant(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path((k, name)): Path<(String, String)>,
    ApiJson(req): ApiJson<Grant>,
) -> ApiResult<Json<GrantView>> {
    let scope = scope_from(req.capabilities, req.groups);
    Ok(Json(s.gate.console().grant(&admin, kind(&k)?, &name, req.role, scope).await?))
}

async fn revoke(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path((k, name)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    s.gate.console().revoke(&admin, kind(&k)?, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Range {
    since: String,
    until: String,
    bucket: Option<String>,
}

impl Range {
    /// The range and its bucket: `since`, `until` RFC 3339 or Unix ms; `bucket` `hour` or
    /// `day`, by default `hour` up to two days and `day` beyond.
    fn parse(&self) -> Result<(Timestamp, Timestamp, Bucket), ApiError> {
        let since = crate::extract::rfc3339("since", &self.since)?;
        let until = crate::extract::rfc3339("until", &self.until)?;
        sekimori_gate::dashboard::check_range(since, until)?;
        let bucket = match self.bucket.as_deref() {
            None if until.millis() - since.millis() <= 2 * sekimori_core::clock::DAY_MS => Bucket::Hour,
            None => Bucket::Day,
            Some(b) => Bucket::parse(b).ok_or_else(|| ApiError::invalid("bucket", "bucket is hour or day"))?,
        };
        Ok((since, until, bucket))
    }
}

/// The dashboard's numbers for a range (logins, actions, risk verdicts; audit roll-ups).
async fn dashboard(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<Range>,
) -> ApiResult<Json<sekimori_gate::dashboard::Dashboard>> {
    let (since, until, bucket) = q.parse()?;
    Ok(Json(s.gate.dashboards().dashboard(&admin.tenant_id, since, until, bucket).await?))
}

/// The detection dashboard's numbers for a range (alerts, rules, entities, ingest;
/// detection roll-ups).
async fn detection_dashboard(
    State(s): State<AppState>,
    AdminAuth(admin): AdminAuth,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<Range>,
) -> ApiResult<Json<sekimori_watch::dashboard::DetectionDashboard>> {
    let (since, until, bucket) = q.parse()?;
    Ok(Json(s.watch.detection_dashboard(&admin.tenant_id, since, until, bucket.millis()).await?))
}
