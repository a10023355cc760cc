//! The hosted login: a server-rendered page (English or Japanese, from
//! `Accept-Language`) for password plus second factor, browser sessions in cookies, step-up
//! to a required level, logout and logout-everywhere. Every form post carries a CSRF token
//! bound to an `HttpOnly; SameSite=Strict` cookie by the server's MAC key.

use axum::extract::{RawQuery, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use sekimori_core::ErrorCode;
use sekimori_gate::password::Attempt;
use sekimori_gate::sessions::{HostedPushDone, PushStep, SessionView, PENDING_SECONDS};
use sekimori_gate::{Gate, GateError};
use serde::Deserialize;

use crate::extract::{form_signals, ApiJson, PageClient, PageForm, REVIEW_COOKIE};
use crate::problem::{ApiError, ApiResult};
use crate::AppState;

mod cookies;
mod i18n;
mod page;

pub(super) use super::form_target::{allow_form_target, csp_origin};
pub(crate) use cookies::cookie_value;
pub(crate) use cookies::current_session;
pub use cookies::SESSION_COOKIE;
pub(super) use cookies::{csrf, csrf_ok, set_cookie};
use cookies::{PENDING_COOKIE, PUSH_COOKIE};
use i18n::{t, Lang};
pub(super) use page::{esc, message_page, redirect};
use page::{factor_form, needs_device, page, password_form, push_page, safe_return, signed_in, Ctx, PageQuery};

/// How long a review id (the login page's risk cookie) lives, seconds.
const REVIEW_SECONDS: i64 = 1800;
/// How long one poll of the push page waits for the decision, seconds.
const PUSH_WAIT_SECONDS: u64 = 10;
pub(super) const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; \
                   frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_password))
        .route("/login/factor", post(login_factor))
        .route("/login/push", post(login_push))
        .route("/login/push/wait", get(push_wait))
        .route("/logout", post(logout))
        .route("/api/v1/session", get(whoami))
        .route("/api/v1/session/assertion", post(session_from_assertion))
}

async fn login_page(State(s): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let q = PageQuery::parse(q.as_deref());
    let (token, new_cookie) = csrf(&s.gate, &headers);
    let mut c = Ctx::new(&s.gate, &headers, token, q.return_to.as_deref(), q.level);
    let mut cookies: Vec<HeaderValue> = new_cookie.into_iter().collect();
    // Each showing of the page is one review: its id goes with the browser's signals, into
    // the attempt's audit event and to external risk providers.
    let review = s.gate.risk().new_review_id();
    cookies.push(set_cookie(&s.gate, REVIEW_COOKIE, &review, "/", "Lax", REVIEW_SECONDS));
    let session = match q.fresh {
        Some(true) => None,
        _ => current_session(&s.gate, &headers).await?,
    };
    if let Some(session) = session {
        // A required-level override on the user raises what this login must reach.
        c.level = c.level.max(session.required_level);
        if session.level >= c.level {
            if q.return_to.is_some() {
                return Ok(redirect(&c.return_to, cookies));
            }
            return Ok(page(&c, StatusCode::OK, &signed_in(&c, &session), cookies));
        }
        if c.level >= 3 {
            return Ok(page(&c, StatusCode::OK, &needs_device(&c), cookies));
        }
        // Step-up: the session's user proves a second factor.
        let user = s.gate.admin().find_user(&session.tenant_id, &session.username).await?;
        if !s.gate.factors().has_second_factor(&user).await? {
            return Ok(page(&c, StatusCode::FORBIDDEN, &format!("<p>{}</p>", t(c.lang, "no_factor")), cookies));
        }
        let pending = s.gate.sessions().seal_pending(&session.tenant_id, &session.username, &session.amr);
        let mut cookies = cookies;
        cookies.push(set_cookie(&s.gate, PENDING_COOKIE, &pending, "/login", "Lax", PENDING_SECONDS));
        let form = factor_form(&c, None, Some((&pending, &session.username)));
        return Ok(page(&c, StatusCode::OK, &form, cookies));
    }
    if c.level >= 3 {
        return Ok(page(&c, StatusCode::OK, &needs_device(&c), cookies));
    }
    Ok(page(&c, StatusCode::OK, &password_form(&c, None, ""), cookies))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordForm {
    /// Missing counts as wrong (403, a page), not as a malformed form.
    #[serde(default)]
    csrf: String,
    username: String,
    password: String,
    return_to: Option<String>,
    level: Option<u8>,
    /// What `/static/signals.js` observed (JSON); empty or absent without script.
    signals: Option<String>,
}

/// A refusal as the page shows it.
fn message_for(lang: Lang, e: &GateError) -> (StatusCode, &'static str) {
    let status = StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let key = match e.code {
        ErrorCode::Locked => "locked",
        ErrorCode::ServiceUnavailable => "busy",
        ErrorCode::LoginNotAllowed | ErrorCode::Forbidden => "not_allowed",
        ErrorCode::InvalidCode | ErrorCode::AlreadyUsed | ErrorCode::NotEnrolled => "wrong_code",
        _ => "wrong",
    };
    (status, t(lang, key))
}

fn retry_after(resp: &mut Response, e: &GateError) {
    if let Some(secs) = e.extensions.get("retry_after_seconds").and_then(serde_json::Value::as_i64) {
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
}

async fn login_password(
    State(s): State<AppState>,
    headers: HeaderMap,
    PageClient(client): PageClient,
    PageForm(f): PageForm<PasswordForm>,
) -> ApiResult<Response> {
    let browser = form_signals(f.signals.as_deref())?;
    let c = Ctx::of_post(&s.gate, &headers, &f.csrf, f.return_to.as_deref(), f.level);
    if !csrf_ok(&s.gate, &headers, &f.csrf) {
        let (token, cookie) = csrf(&s.gate, &headers);
        let c = Ctx { csrf: token, ..c };
        let body = password_form(&c, Some(t(c.lang, "csrf")), &f.username);
        return Ok(page(&c, StatusCode::FORBIDDEN, &body, cookie.into_iter().collect()));
    }
    // A name no user can have (wrong characters, too long) is simply wrong: nothing to
    // check, and nothing stored under an arbitrary key.
    if sekimori_core::names::Username::parse(&f.username).is_err() {
        let body = password_form(&c, Some(t(c.lang, "wrong")), &f.username);
        return Ok(page(&c, StatusCode::UNAUTHORIZED, &body, Vec::new()));
    }
    let tenant = s.gate.admin().default_tenant().await?;
    let attempt = Attempt {
        ip: client.ip,
        app_id: None,
        user_agent: client.user_agent.as_deref(),
        browser: browser.as_ref(),
        review_id: client.review_id.as_deref(),
    };
    let verified = match s.gate.passwords().verify_password(&tenant.id, &f.username, &f.password, &attempt).await {
        Ok(v) => v,
        Err(e) if e.code == ErrorCode::InvalidRequest => return Err(e.into()),
        Err(e) => {
            let (status, message) = message_for(c.lang, &e);
            let mut resp = page(&c, status, &password_form(&c, Some(message), &f.username), Vec::new());
            retry_after(&mut resp, &e);
            return Ok(resp);
        }
    };
    let user = s.gate.admin().find_user(&tenant.id, &verified.username).await?;
    let amr: Vec<String> = verified.amr.iter().map(|a| (*a).to_owned()).collect();
    let step_up = verified.risk.as_ref().is_some_and(|r| r.step_up);
    let second_factor = s.gate.factors().has_second_factor(&user).await?;
    // A REVIEW can also be satisfied by an approval on the user's authenticator.
    let can_step_up = second_factor || (step_up && s.gate.factors().has_authenticator(&user).await?);
    if step_up && !can_step_up {
        // A REVIEW the user cannot satisfy is refused, with the same words as an NG.
        let message = message_for(c.lang, &sekimori_gate::risk::refused()).1;
        return Ok(page(&c, StatusCode::FORBIDDEN, &password_form(&c, Some(message), &f.username), Vec::new()));
    }
    if second_factor || step_up {
        let pending = s.gate.sessions().seal_pending(&tenant.id, &user.username, &amr);
        let cookie = set_cookie(&s.gate, PENDING_COOKIE, &pending, "/login", "Lax", PENDING_SECONDS);
        return Ok(page(&c, StatusCode::OK, &factor_form(&c, None, Some((&pending, &user.username))), vec![cookie]));
    }
    if c.level > 1 {
        return Ok(page(&c, StatusCode::FORBIDDEN, &format!("<p>{}</p>", t(c.lang, "no_factor")), Vec::new()));
    }
    let old = cookie_value(&headers, SESSION_COOKIE);
    let (secret, _) = s.gate.sessions().create_session(&user, 1, &amr, old).await?;
    let cookie =
        set_cookie(&s.gate, SESSION_COOKIE, &secret, "/", "Lax", s.gate.sessions().settings().absolute_seconds);
    Ok(redirect(&c.return_to, vec![cookie]))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FactorForm {
    /// Missing counts as wrong (403, a page), not as a malformed form.
    #[serde(default)]
    csrf: String,
    code: String,
    return_to: Option<String>,
    level: Option<u8>,
}

async fn login_factor(
    State(s): State<AppState>,
    headers: HeaderMap,
    PageClient(client): PageClient,
    PageForm(f): PageForm<FactorForm>,
) -> ApiResult<Response> {
    let c = Ctx::of_post(&s.gate, &headers, &f.csrf, f.return_to.as_deref(), f.level);
    if !csrf_ok(&s.gate, &headers, &f.csrf) {
        return Ok(page(&c, StatusCode::FORBIDDEN, &format!("<p>{}</p>", t(c.lang, "csrf")), Vec::new()));
    }
    let Some(pending) = cookie_value(&headers, PENDING_COOKIE).and_then(|p| s.gate.sessions().open_pending(p)) else {
        let body = format!("<p>{}</p>{}", t(c.lang, "expired"), password_form(&c, None, ""));
        return Ok(page(&c, StatusCode::UNAUTHORIZED, &body, Vec::new()));
    };
    let code = f.code.trim();
    let result = if code.len() <= 8 && code.chars().all(|ch| ch.is_ascii_digit()) {
        s.gate.factors().verify_totp_in(&pending.tenant_id, &pending.username, code).await
    } else {
        s.gate.factors().use_recovery_code_in(&pending.tenant_id, &pending.username, code, None).await
    };
    if let Err(e) = result {
        let (status, message) = message_for(c.lang, &e);
        let token = cookie_value(&headers, PENDING_COOKIE).unwrap_or_default();
        let form = factor_form(&c, Some(message), Some((token, &pending.username)));
        let mut resp = page(&c, status, &form, Vec::new());
        retry_after(&mut resp, &e);
        return Ok(resp);
    }
    let old = cookie_value(&headers, SESSION_COOKIE);
    let methods = ["otp".to_owned(), "mfa".to_owned()];
    let (secret, _) = s.gate.sessions().complete_pending(&pending, &methods, 2, &client, old).await?;
    let cookies = vec![
        set_cookie(&s.gate, SESSION_COOKIE, &secret, "/", "Lax", s.gate.sessions().settings().absolute_seconds),
        set_cookie(&s.gate, PENDING_COOKIE, "", "/login", "Lax", 0),
    ];
    Ok(redirect(&c.return_to, cookies))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogoutForm {
    /// Missing counts as wrong (403, a page), not as a malformed form.
    #[serde(default)]
    csrf: String,
    everywhere: Option<bool>,
    return_to: Option<String>,
    level: Option<u8>,
}

async fn logout(
    State(s): State<AppState>,
    headers: HeaderMap,
    PageForm(f): PageForm<LogoutForm>,
) -> ApiResult<Response> {
    if !csrf_ok(&s.gate, &headers, &f.csrf) {
        return Err(ApiError::new(ErrorCode::Forbidden, "the form's CSRF token does not match"));
    }
    let _ = f.level;
    if let Some(secret) = cookie_value(&headers, SESSION_COOKIE) {
        if f.everywhere == Some(true) {
            s.gate.sessions().logout_everywhere(secret).await?;
        } else {
            s.gate.sessions().logout(secret).await?;
        }
    }
    let to = format!(
        "/login?return_to={}",
        sekimori_core::names::percent_encode(&safe_return(&s.gate, f.return_to.as_deref()))
    );
    Ok(redirect(&to, vec![set_cookie(&s.gate, SESSION_COOKIE, "", "/", "Lax", 0)]))
}

/// The browser's session, for pages and scripts on this origin.
async fn whoami(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<Json<SessionView>> {
    match current_session(&s.gate, &headers).await? {
        Some(session) => Ok(Json(session)),
        None => Err(ApiError::new(ErrorCode::Unauthorized, "no session")),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssertionBody {
    assertion: String,
    return_to: Option<String>,
}

/// The QR login page trades its completed login's assertion for a browser session. JSON
/// only (a cross-site form cannot send it) and, when the browser says where the request
/// comes from, only from this origin.
async fn session_from_assertion(
    State(s): State<AppState>,
    headers: HeaderMap,
    PageClient(client): PageClient,
    ApiJson(body): ApiJson<AssertionBody>,
) -> ApiResult<Response> {
    let origin = s.gate.public_url().as_str().to_owned();
    if let Some(o) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        if o != origin {
            return Err(ApiError::new(ErrorCode::Forbidden, "this request did not come from the login page"));
        }
    }
    if body.assertion.len() > 4096 {
        return Err(ApiError::new(ErrorCode::InvalidRequest, "assertion is longer than 4096 bytes"));
    }
    let old = cookie_value(&headers, SESSION_COOKIE);
    let (secret, view) = s.gate.sessions().session_from_assertion(&body.assertion, old, &client).await?;
    Ok(session_started(&s.gate, &secret, &view, body.return_to.as_deref()))
}

/// The answer of a script-driven login (QR page, passkey): the session as JSON with where
/// to go next, and its cookie.
pub(super) fn session_started(gate: &Gate, secret: &str, view: &SessionView, return_to: Option<&str>) -> Response {
    let mut json = serde_json::to_value(view).unwrap_or_default();
    json["return_to"] = serde_json::Value::String(safe_return(gate, return_to));
    let mut resp = Json(json).into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(gate, SESSION_COOKIE, secret, "/", "Lax", gate.sessions().settings().absolute_seconds),
    );
    resp
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PushForm {
    /// Missing counts as wrong (403, a page), not as a malformed form.
    #[serde(default)]
    csrf: String,
    username: String,
    return_to: Option<String>,
    level: Option<u8>,
    /// What `/static/signals.js` observed (JSON); empty or absent without script.
    signals: Option<String>,
    /// The push is the second factor of the login the page holds (the factor form).
    second: Option<bool>,
}

/// Sends a push login to the user's authenticator on behalf of this page.
async fn login_push(
    State(s): State<AppState>,
    headers: HeaderMap,
    PageClient(mut client): PageClient,
    PageForm(f): PageForm<PushForm>,
) -> ApiResult<Response> {
    client.browser = form_signals(f.signals.as_deref())?;
    let c = Ctx::of_post(&s.gate, &headers, &f.csrf, f.return_to.as_deref(), f.level);
    if !csrf_ok(&s.gate, &headers, &f.csrf) {
        return Ok(page(&c, StatusCode::FORBIDDEN, &format!("<p>{}</p>", t(c.lang, "csrf")), Vec::new()));
    }
    let username = sekimori_core::names::Username::parse(&f.username).map(|u| u.to_string()).unwrap_or_default();
    let second = f.second == Some(true);
    if second {
        // Only for the login the page holds, and only for its user.
        let pending = cookie_value(&headers, PENDING_COOKIE).and_then(|p| s.gate.sessions().open_pending(p));
        if pending.is_none_or(|p| p.username != username) {
            let body = format!("<p>{}</p>{}", t(c.lang, "expired"), password_form(&c, None, ""));
            return Ok(page(&c, StatusCode::UNAUTHORIZED, &body, Vec::new()));
        }
    }
    match s.gate.sessions().start_hosted_push(&username, &client, second).await {
        Ok(started) => {
            let step = match (second, started.risk.step_up) {
                (true, _) => PushStep::AfterFirstFactor,
                (false, true) => PushStep::ThenCode,
                (false, false) => PushStep::Alone,
            };
            let cookie = set_cookie(
                &s.gate,
                PUSH_COOKIE,
                &s.gate.sessions().seal_push(&started.login_id, started.number, step),
                "/login",
                "Lax",
                PENDING_SECONDS,
            );
            Ok(push_page(&c, started.number, vec![cookie]))
        }
        // Unknown user, no device, not armed: one answer, so the page does not tell which.
        Err(e) if matches!(e.code, ErrorCode::NotFound | ErrorCode::NoDevices | ErrorCode::OutsideStandby) => {
            let body = password_form(&c, Some(t(c.lang, "push_failed")), &f.username);
            Ok(page(&c, StatusCode::FORBIDDEN, &body, Vec::new()))
        }
        Err(e) => {
            let (status, message) = message_for(c.lang, &e);
            Ok(page(&c, status, &password_form(&c, Some(message), &f.username), Vec::new()))
        }
    }
}

/// Waits a little for the decision; approved: the session and the return URL.
async fn push_wait(
    State(s): State<AppState>,
    headers: HeaderMap,
    PageClient(client): PageClient,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = PageQuery::parse(q.as_deref());
    let (token, cookie) = csrf(&s.gate, &headers);
    let c = Ctx::new(&s.gate, &headers, token, q.return_to.as_deref(), q.level);
    let cookies: Vec<HeaderValue> = cookie.into_iter().collect();
    let Some((login_id, number, step)) =
        cookie_value(&headers, PUSH_COOKIE).and_then(|p| s.gate.sessions().open_push(p))
    else {
        let body = format!("<p>{}</p>{}", t(c.lang, "expired"), password_form(&c, None, ""));
        return Ok(page(&c, StatusCode::UNAUTHORIZED, &body, cookies));
    };
    let old = cookie_value(&headers, SESSION_COOKIE);
    let wait = std::time::Duration::from_secs(PUSH_WAIT_SECONDS);
    match s.gate.sessions().finish_hosted_push(&login_id, wait, old, step).await {
        Ok(Some(HostedPushDone::SecondFactor(p))) if step == PushStep::AfterFirstFactor => {
            // The approval is the second factor of the login the page holds.
            let first = cookie_value(&headers, PENDING_COOKIE).and_then(|t| s.gate.sessions().open_pending(t));
            let Some(first) = first.filter(|f| f.tenant_id == p.tenant_id && f.username == p.username) else {
                let body = format!("<p>{}</p>{}", t(c.lang, "expired"), password_form(&c, None, ""));
                return Ok(page(&c, StatusCode::UNAUTHORIZED, &body, cookies));
            };
            let (secret, _) = s.gate.sessions().complete_pending(&first, &p.amr, 2, &client, old).await?;
            let cookies = vec![
                set_cookie(&s.gate, SESSION_COOKIE, &secret, "/", "Lax", s.gate.sessions().settings().absolute_seconds),
                set_cookie(&s.gate, PUSH_COOKIE, "", "/login", "Lax", 0),
                set_cookie(&s.gate, PENDING_COOKIE, "", "/login", "Lax", 0),
            ];
            Ok(redirect(&c.return_to, cookies))
        }
        Ok(Some(HostedPushDone::SecondFactor(p))) => {
            // Judged REVIEW when it started: the approval is the first factor, a code the
            // second, on the same form as after a password.
            let pending = s.gate.sessions().seal_pending(&p.tenant_id, &p.username, &p.amr);
            let cookies = vec![
                set_cookie(&s.gate, PENDING_COOKIE, &pending, "/login", "Lax", PENDING_SECONDS),
                set_cookie(&s.gate, PUSH_COOKIE, "", "/login", "Lax", 0),
            ];
            Ok(page(&c, StatusCode::OK, &factor_form(&c, None, Some((&pending, &p.username))), cookies))
        }
        Ok(Some(HostedPushDone::Session(secret, _))) => {
            let cookies = vec![
                set_cookie(&s.gate, SESSION_COOKIE, &secret, "/", "Lax", s.gate.sessions().settings().absolute_seconds),
                set_cookie(&s.gate, PUSH_COOKIE, "", "/login", "Lax", 0),
            ];
            Ok(redirect(&c.return_to, cookies))
        }
        Ok(None) => Ok(push_page(&c, number, cookies)),
        Err(_) => {
            let mut cookies = cookies;
            cookies.push(set_cookie(&s.gate, PUSH_COOKIE, "", "/login", "Lax", 0));
            let body = password_form(&c, Some(t(c.lang, "push_denied")), "");
            Ok(page(&c, StatusCode::FORBIDDEN, &body, cookies))
        }
    }
}
