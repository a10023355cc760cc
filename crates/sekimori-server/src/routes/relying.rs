//! Relying-party and verifier API (bearer app key): push logins, assertion
//! verification, tickets.

use sekimori_core::LoginId;
use std::net::IpAddr;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use sekimori_core::names::{Entitlement, Username};
use sekimori_core::ErrorCode;
use sekimori_gate::apps::Apps;
use sekimori_gate::assertion::Verified;
use sekimori_gate::push::ClientInfo;
use sekimori_gate::{AppKind, IssuedTicket, PushStarted, PushStatus, Redeemed};
use serde::Deserialize;

use crate::extract::{ApiJson, ApiQuery, AppAuth};
use crate::problem::{ApiError, ApiResult};
use crate::{wait_duration, AppState};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/logins/push", post(start_push))
        .route("/api/v1/logins/push/{login_id}", get(push_status))
        .route("/api/v1/assertions/verify", post(verify_assertion))
        .route("/api/v1/tickets", post(issue_ticket))
        .route("/api/v1/tickets/redeem", post(redeem_ticket))
}

/// The end user's client, as the relying party saw it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientBody {
    ip: Option<IpAddr>,
    user_agent: Option<String>,
    /// What the JS snippet (or the relying party's own page) observed in the browser.
    #[serde(default)]
    signals: Option<sekimori_risk::BrowserSignals>,
    /// The review id the page kept in its cookie, sent with the signals.
    #[serde(default)]
    review_id: Option<String>,
}

impl ClientBody {
    /// The end user's address, if given.
    pub fn ip(&self) -> Option<IpAddr> {
        self.ip
    }

    /// The end user's user agent, if given (at most 1024 bytes).
    pub fn user_agent(&self) -> ApiResult<Option<&str>> {
        match self.user_agent.as_deref() {
            Some(u) if u.len() > 1024 => {
                Err(ApiError::new(ErrorCode::InvalidRequest, "client.user_agent is longer than 1024 bytes"))
            }
            other => Ok(other),
        }
    }

    /// The browser's signals, if sent (checked by [`ClientBody::checked`]).
    pub fn signals(&self) -> Option<&sekimori_risk::BrowserSignals> {
        self.signals.as_ref()
    }

    /// The review id, if sent (checked by [`ClientBody::checked`]).
    pub fn review_id(&self) -> Option<&str> {
        self.review_id.as_deref()
    }

    /// Refuses a user agent over 1024 bytes and a review id that is not 16 to 64
    /// base64url characters, naming the field.
    pub fn checked(self) -> ApiResult<Self> {
        if self.user_agent.as_ref().is_some_and(|u| u.len() > 1024) {
            return Err(ApiError::new(ErrorCode::InvalidRequest, "client.user_agent is longer than 1024 bytes"));
        }
        if let Some(s) = &self.signals {
            crate::extract::check_signals(s)
                .map_err(|m| ApiError::new(ErrorCode::InvalidRequest, format!("client.signals: {m}")))?;
        }
        if self.review_id.as_deref().is_some_and(|r| !crate::extract::is_review_id(r)) {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "client.review_id must be 16 to 64 base64url characters",
            ));
        }
        Ok(self)
    }

    fn into_info(self) -> ApiResult<ClientInfo> {
        let c = self.checked()?;
        Ok(ClientInfo { ip: c.ip, user_agent: c.user_agent, browser: c.signals, review_id: c.review_id })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartPush {
    username: Username,
    #[serde(default)]
    client: ClientBody,
}

async fn start_push(
    State(s): State<AppState>,
    AppAuth(app): AppAuth,
    ApiJson(req): ApiJson<StartPush>,
) -> ApiResult<(StatusCode, Json<PushStarted>)> {
    Apps::require_app_kind(&app, AppKind::RelyingParty)?;
    let started = s.gate.push().start_push(&app, req.username.as_str(), &req.client.into_info()?).await?;
    Ok((StatusCode::CREATED, Json(started)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WaitQuery {
    wait: Option<u64>,
}

async fn push_status(
    State(s): State<AppState>,
    AppAuth(app): AppAuth,
    Path(login_id): Path<LoginId>,
    ApiQuery(q): ApiQuery<WaitQuery>,
) -> ApiResult<Json<PushStatus>> {
    Apps::require_app_kind(&app, AppKind::RelyingParty)?;
    Ok(Json(s.gate.push().push_status(&app, &login_id, wait_duration(q.wait)).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyAssertion {
    assertion: String,
    /// The end user's browser as the relying party saw it: judged for QR logins.
    #[serde(default)]
    client: ClientBody,
}

async fn verify_assertion(
    State(s): State<AppState>,
    AppAuth(app): AppAuth,
    ApiJson(req): ApiJson<VerifyAssertion>,
) -> ApiResult<Json<Verified>> {
    Apps::require_app_kind(&app, AppKind::RelyingParty)?;
    let client = req.client.into_info()?;
    Ok(Json(s.gate.assertions().verify_assertion(&app, &req.assertion, &client).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueTicket {
    username: Username,
    entitlement: Entitlement,
    ttl_seconds: Option<i64>,
}

async fn issue_ticket(
    State(s): State<AppState>,
    AppAuth(app): AppAuth,
    ApiJson(req): ApiJson<IssueTicket>,
) -> ApiResult<(StatusCode, Json<IssuedTicket>)> {
    Apps::require_app_kind(&app, AppKind::RelyingParty)?;
    let t = s.gate.tickets().issue_ticket(&app, req.username.as_str(), &req.entitlement, req.ttl_seconds).await?;
    Ok((StatusCode::CREATED, Json(t)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RedeemTicket {
    payload: String,
}

async fn redeem_ticket(
    State(s): State<AppState>,
    AppAuth(app): AppAuth,
    ApiJson(req): ApiJson<RedeemTicket>,
) -> ApiResult<Json<Redeemed>> {
    Apps::require_app_kind(&app, AppKind::Verifier)?;
    Ok(Json(s.gate.tickets().redeem_ticket(&app, &req.payload).await?))
}
