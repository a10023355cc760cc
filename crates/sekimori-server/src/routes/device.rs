//! Device API: enrolment (authorised by the single-use code), then signed requests only.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use sekimori_core::device::KeyType;
use sekimori_core::names::Label;
use sekimori_core::{ErrorCode, LoginId};
use sekimori_gate::push::SignedMessage;
use sekimori_gate::qr::QrRedeemed;
use sekimori_gate::standby::StandbyOpened;
use sekimori_gate::web_push::SubscriptionJson;
use sekimori_gate::{Enrolled, TicketView};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::extract::{ApiJson, ApiQuery, Empty, SignedDevice};
use crate::problem::ApiResult;
use crate::{wait_duration, AppState};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/device/enroll", post(enroll))
        .route("/api/v1/device/standby", post(standby))
        .route("/api/v1/device/messages", get(messages))
        .route("/api/v1/device/messages/{id}/dismiss", post(dismiss))
        .route("/api/v1/device/logins/{login_id}/approve", post(approve))
        .route("/api/v1/device/logins/{login_id}/deny", post(deny))
        .route("/api/v1/device/qr/redeem", post(redeem_qr))
        .route("/api/v1/device/tickets", get(tickets))
        .route("/api/v1/device/environments", get(environments))
        .route("/api/v1/device/environments/{key}/trust", post(trust_environment))
        .route("/api/v1/device/environments/{key}", delete(revoke_environment))
        .route("/api/v1/device/web-push", get(web_push_config).put(web_push_subscribe).delete(web_push_unsubscribe))
        .route("/api/v1/device/self", patch(rename_self).delete(remove_self))
        .layer(axum::middleware::from_fn(cors))
}

/// Device requests are authorised by their signature alone, never by cookies, so any page
/// may send them: an authenticator app served by one Sekimori server can hold accounts on
/// others. Preflights are answered here; answers allow any origin, without credentials.
async fn cors(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::http::{header, HeaderValue, Method};
    use axum::response::IntoResponse;
    let from_page = req.headers().contains_key(header::ORIGIN);
    if req.method() == Method::OPTIONS && from_page {
        let mut resp = StatusCode::NO_CONTENT.into_response();
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE"));
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(
                "content-type, sekimori-device, sekimori-timestamp, sekimori-nonce, sekimori-signature",
            ),
        );
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        return resp;
    }
    let mut resp = next.run(req).await;
    if from_page {
        resp.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    }
    resp
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Enroll {
    code: String,
    public_key: String,
    /// `ed25519` (the default) or `p256`.
    key_type: Option<String>,
    name: Label,
}

async fn enroll(State(s): State<AppState>, ApiJson(req): ApiJson<Enroll>) -> ApiResult<(StatusCode, Json<Enrolled>)> {
    let key_type = match req.key_type.as_deref() {
        None => KeyType::Ed25519,
        Some(t) => KeyType::parse(t).ok_or_else(|| {
            crate::problem::ApiError(
                sekimori_gate::GateError::new(ErrorCode::InvalidRequest, "key_type is ed25519 or p256")
                    .with("field", "key_type"),
            )
        })?,
    };
    let enrolled = s.gate.enrolment().enroll_device(&req.code, &req.public_key, key_type, &req.name).await?;
    Ok((StatusCode::CREATED, Json(enrolled)))
}

async fn standby(State(s): State<AppState>, d: SignedDevice<Empty>) -> ApiResult<(StatusCode, Json<StandbyOpened>)> {
    Ok((StatusCode::CREATED, Json(s.gate.standby().open_standby(&d.device, &d.user).await?)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WaitQuery {
    wait: Option<u64>,
}

async fn messages(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<WaitQuery>,
    d: SignedDevice<Empty>,
) -> ApiResult<Json<Value>> {
    let msgs: Vec<SignedMessage> = s.gate.push().device_messages(&d.device, &d.user, wait_duration(q.wait)).await?;
    Ok(Json(json!({"messages": msgs})))
}

/// A dismissal; `not_me`: a new-environment warning reported as not the user's.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Dismiss {
    #[serde(default)]
    not_me: bool,
}

async fn dismiss(State(s): State<AppState>, Path(id): Path<String>, d: SignedDevice<Dismiss>) -> ApiResult<StatusCode> {
    if d.body.not_me {
        s.gate.push().report_warning(&d.user, &id).await?;
    } else {
        s.gate.push().dismiss_message(&d.user, &id).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Approve {
    number: i64,
}

async fn approve(
    State(s): State<AppState>,
    Path(login_id): Path<LoginId>,
    d: SignedDevice<Approve>,
) -> ApiResult<Json<Value>> {
    s.gate.push().approve_push(&d.device, &d.user, &login_id, d.body.number).await?;
    Ok(Json(json!({"login_id": login_id, "status": "approved"})))
}

/// A denial; `not_me`: the user did not start this login and reports it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Deny {
    #[serde(default)]
    not_me: bool,
}

async fn deny(
    State(s): State<AppState>,
    Path(login_id): Path<LoginId>,
    d: SignedDevice<Deny>,
) -> ApiResult<Json<Value>> {
    s.gate.push().deny_push(&d.device, &d.user, &login_id, d.body.not_me).await?;
    Ok(Json(json!({"login_id": login_id, "status": "denied"})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RedeemQr {
    payload: String,
}

async fn redeem_qr(State(s): State<AppState>, d: SignedDevice<RedeemQr>) -> ApiResult<Json<QrRedeemed>> {
    Ok(Json(s.gate.qr().redeem_qr(&d.device, &d.user, &d.body.payload).await?))
}

/// The user's tickets, each with its payload as an SVG QR code for the app to show.
async fn tickets(State(s): State<AppState>, d: SignedDevice<Empty>) -> ApiResult<Json<Vec<Value>>> {
    let tickets: Vec<TicketView> = s.gate.tickets().device_tickets(&d.user).await?;
    let mut out = Vec::with_capacity(tickets.len());
    for t in tickets {
        let svg = crate::qr::svg(&t.payload)?;
        let mut v = json!(t);
        v["svg"] = Value::String(svg);
        out.push(v);
    }
    Ok(Json(out))
}

async fn environments(State(s): State<AppState>, d: SignedDevice<Empty>) -> ApiResult<Json<Value>> {
    Ok(Json(json!(s.gate.environments().environments(&d.user).await?)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Trust {
    trusted: bool,
}

async fn trust_environment(
    State(s): State<AppState>,
    Path(key): Path<String>,
    d: SignedDevice<Trust>,
) -> ApiResult<StatusCode> {
    s.gate.environments().trust_environment(&d.user, &key, d.body.trusted).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn revoke_environment(
    State(s): State<AppState>,
    Path(key): Path<String>,
    d: SignedDevice<Empty>,
) -> ApiResult<StatusCode> {
    s.gate.environments().revoke_environment(&d.user, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn web_push_config(State(s): State<AppState>, d: SignedDevice<Empty>) -> ApiResult<Json<Value>> {
    let config = s.gate.web_push().config();
    let subscribed = s.gate.web_push().subscribed(&d.device).await?;
    Ok(Json(json!({"enabled": config.enabled, "vapid_public_key": config.vapid_public_key, "subscribed": subscribed})))
}

async fn web_push_subscribe(State(s): State<AppState>, d: SignedDevice<SubscriptionJson>) -> ApiResult<StatusCode> {
    s.gate.web_push().subscribe(&d.device, &d.user, &d.body).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn web_push_unsubscribe(State(s): State<AppState>, d: SignedDevice<Empty>) -> ApiResult<StatusCode> {
    s.gate.web_push().unsubscribe(&d.device).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rename {
    name: Label,
}

async fn rename_self(State(s): State<AppState>, d: SignedDevice<Rename>) -> ApiResult<StatusCode> {
    s.gate.devices().rename_self(&d.device, &d.user, &d.body.name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_self(State(s): State<AppState>, d: SignedDevice<Empty>) -> ApiResult<StatusCode> {
    s.gate.devices().remove_self(&d.device, &d.user).await?;
    Ok(StatusCode::NO_CONTENT)
}
