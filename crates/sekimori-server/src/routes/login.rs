//! The hosted login: a server-rendered page (English or Japanese, from
//! `Accept-Language`) for password plus second factor, browser sessions in cookies, step-up
//! to a required level, logout and logout-everywhere. Every form post carries a CSRF token
//! bound to an `HttpOnly; SameSite=Strict` cookie by the server's MAC key.

use axum::extract::{RawQuery, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use sekimori_core::ErrorCode;
use sekimori_gate::password::Attempt;
use sekimori_gate::sessions::{SessionView, PENDING_SECONDS};
use sekimori_gate::{Gate, GateError};
use serde::Deserialize;

use crate::extract::{ApiJson, PageClient, PageForm};
use crate::problem::{ApiError, ApiResult};
use crate::AppState;

use super::form_target::destination_origin;
pub(super) use super::form_target::{allow_form_target, csp_origin};

/// The session cookie.
pub const SESSION_COOKIE: &str = "sekimori_session";
const CSRF_COOKIE: &str = "sekimori_csrf";
const PENDING_COOKIE: &str = "sekimori_pending";
const PUSH_COOKIE: &str = "sekimori_push";
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    En,
    Ja,
}

fn lang(headers: &HeaderMap) -> Lang {
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
    // The first language with the highest weight that we have.
    let mut best = (Lang::En, -1.0f32);
    for part in accept.split(',') {
        let mut it = part.trim().split(';');
        let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = it.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.parse().ok()).unwrap_or(1.0);
        let l = if tag.starts_with("ja") {
            Some(Lang::Ja)
        } else if tag.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        };
        if let Some(l) = l {
            if q > best.1 {
                best = (l, q);
            }
        }
    }
    best.0
}

/// The page texts.
fn t(lang: Lang, key: &str) -> &'static str {
    match (lang, key) {
        (Lang::En, "title") => "Sign in",
        (Lang::Ja, "title") => "ログイン",
        (Lang::En, "username") => "Username",
        (Lang::Ja, "username") => "ユーザー名",
        (Lang::En, "password") => "Password",
        (Lang::Ja, "password") => "パスワード",
        (Lang::En, "submit") => "Sign in",
        (Lang::Ja, "submit") => "ログイン",
        (Lang::En, "factor") => "Enter the 6-digit code from your authenticator app, or a recovery code.",
        (Lang::Ja, "factor") => "認証アプリの6桁のコード、またはリカバリーコードを入力してください。",
        (Lang::En, "code") => "Code",
        (Lang::Ja, "code") => "コード",
        (Lang::En, "verify") => "Verify",
        (Lang::Ja, "verify") => "確認",
        (Lang::En, "qr") => "Or sign in by scanning a QR code with your Sekimori authenticator",
        (Lang::Ja, "qr") => "関守認証アプリでQRコードを読み取ってログインすることもできます",
        (Lang::En, "wrong") => "The username or password is wrong.",
        (Lang::Ja, "wrong") => "ユーザー名またはパスワードが違います。",
        (Lang::En, "wrong_code") => "The code is wrong or was already used.",
        (Lang::Ja, "wrong_code") => "コードが違うか、すでに使われています。",
        (Lang::En, "locked") => "Too many failed attempts. Try again later.",
        (Lang::Ja, "locked") => "失敗が多すぎます。しばらくしてからお試しください。",
        (Lang::En, "busy") => "The service is busy. Try again in a moment.",
        (Lang::Ja, "busy") => "混み合っています。少し待ってからお試しください。",
        (Lang::En, "not_allowed") => "This account may not sign in now.",
        (Lang::Ja, "not_allowed") => "このアカウントは現在ログインできません。",
        (Lang::En, "no_factor") => {
            "This page needs a second factor, and this account has none. Ask your administrator."
        }
        (Lang::Ja, "no_factor") => {
            "このページには2要素目が必要ですが、このアカウントには登録がありません。管理者に連絡してください。"
        }
        (Lang::En, "expired") => "The sign-in took too long. Start again.",
        (Lang::Ja, "expired") => "時間切れです。最初からやり直してください。",
        (Lang::En, "push") => "Or approve on your authenticator (arm login on it first)",
        (Lang::Ja, "push") => "または認証アプリで承認（先にアプリでログインを待機状態にしてください）",
        (Lang::En, "push_send") => "Send a request",
        (Lang::Ja, "push_send") => "承認リクエストを送る",
        (Lang::En, "push_number") => "Approve on your authenticator and enter this number:",
        (Lang::Ja, "push_number") => "認証アプリで承認し、この番号を入力してください:",
        (Lang::En, "push_failed") => "No request could be sent. Arm login on your authenticator, then try again.",
        (Lang::Ja, "push_failed") => {
            "リクエストを送れませんでした。認証アプリでログインを待機状態にしてから再試行してください。"
        }
        (Lang::En, "push_denied") => "The request was denied or expired.",
        (Lang::Ja, "push_denied") => "リクエストは拒否されたか、期限切れです。",
        (Lang::En, "needs_device") => "This page needs a sign-in with your Sekimori authenticator.",
        (Lang::Ja, "needs_device") => "このページには関守認証アプリでのログインが必要です。",
        (Lang::En, "csrf") => "The form expired. Reload the page and try again.",
        (Lang::Ja, "csrf") => "フォームの有効期限が切れました。再読み込みしてください。",
        (Lang::En, "signed_in_as") => "Signed in as",
        (Lang::Ja, "signed_in_as") => "ログイン中:",
        (Lang::En, "logout") => "Sign out",
        (Lang::Ja, "logout") => "ログアウト",
        (Lang::En, "logout_all") => "Sign out everywhere",
        (Lang::Ja, "logout_all") => "すべての端末からログアウト",
        (Lang::En, "passkey_sign_in") => "Sign in with a passkey",
        (Lang::Ja, "passkey_sign_in") => "パスキーでログイン",
        (Lang::En, "passkey_add") => "Add a passkey",
        (Lang::Ja, "passkey_add") => "パスキーを追加",
        (Lang::En, "passkey_added") => "Passkey added.",
        (Lang::Ja, "passkey_added") => "パスキーを追加しました。",
        (Lang::En, "passkey_failed") => "The passkey did not work",
        (Lang::Ja, "passkey_failed") => "パスキーを使えませんでした",
        _ => "",
    }
}

/// HTML-escapes text.
pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(super) fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn secure(gate: &Gate) -> &'static str {
    if gate.public_url().starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

pub(super) fn set_cookie(
    gate: &Gate,
    name: &str,
    value: &str,
    path: &str,
    same_site: &str,
    max_age: i64,
) -> HeaderValue {
    let c = format!("{name}={value}; Path={path}; HttpOnly; SameSite={same_site}; Max-Age={max_age}{}", secure(gate));
    HeaderValue::from_str(&c).unwrap_or(HeaderValue::from_static(""))
}

fn csrf_token(gate: &Gate, cookie: &str) -> String {
    hex::encode(gate.keys().mac(format!("csrf:{cookie}").as_bytes()))
}

/// Where to go after login: a path on this server, or an absolute URL under the public
/// URL; anything else becomes `/`.
fn safe_return(gate: &Gate, to: Option<&str>) -> String {
    let Some(to) = to.filter(|t| t.len() <= 4096) else { return "/".into() };
    let base = gate.public_url().trim_end_matches('/');
    let relative = to.starts_with('/') && !to.starts_with("//") && !to.starts_with("/\\");
    let same_origin = to.strip_prefix(base).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    // An application behind forward-auth: an http(s) URL whose host a rule names.
    let protected = to
        .strip_prefix("https://")
        .or_else(|| to.strip_prefix("http://"))
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""))
        .is_some_and(|host| !host.contains('@') && !host.contains('\\') && gate.forward().is_protected_host(host));
    if (relative || same_origin || protected) && !to.chars().any(char::is_control) {
        to.to_owned()
    } else {
        "/".into()
    }
}

fn wanted_level(level: Option<u8>) -> u8 {
    level.unwrap_or(1).clamp(1, 3)
}

/// What a page's address says. A person follows links from elsewhere (a proxy's redirect
/// may carry the application's own parameters), so unknown parameters are ignored and a
/// known one that is repeated or malformed counts as absent or takes its first value:
/// a page, never a JSON error.
#[derive(Debug, Default)]
struct PageQuery {
    return_to: Option<String>,
    level: Option<u8>,
    /// Sign in again even with a session (OIDC `prompt=login`, `max_age`).
    fresh: Option<bool>,
}

impl PageQuery {
    fn parse(raw: Option<&str>) -> Self {
        // form_urlencoded never fails: undecodable bytes become U+FFFD, which no known
        // parameter accepts.
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()).into_owned().collect();
        let first = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        PageQuery {
            return_to: first("return_to").map(str::to_owned),
            level: first("level").and_then(|v| v.parse().ok()),
            fresh: first("fresh").and_then(|v| v.parse().ok()),
        }
    }
}

struct Ctx {
    lang: Lang,
    csrf: String,
    return_to: String,
    level: u8,
    /// The origin the page's forms end at after their redirects, when not this server's.
    form_origin: Option<String>,
}

impl Ctx {
    /// The page context of a form post: its CSRF token, return URL and level as sent.
    fn of_post(gate: &Gate, headers: &HeaderMap, csrf: &str, return_to: Option<&str>, level: Option<u8>) -> Self {
        Self::new(gate, headers, csrf.to_owned(), return_to, level)
    }

    fn new(gate: &Gate, headers: &HeaderMap, csrf: String, return_to: Option<&str>, level: Option<u8>) -> Self {
        let return_to = safe_return(gate, return_to);
        Ctx {
            lang: lang(headers),
            csrf,
            form_origin: destination_origin(gate, &return_to),
            return_to,
            level: wanted_level(level),
        }
    }
}

/// A page with one message (and optional HTML after it), in the browser's language.
pub(super) fn message_page(
    headers: &HeaderMap,
    status: StatusCode,
    en: &str,
    ja: &str,
    extra: &str,
    cookies: Vec<HeaderValue>,
) -> Response {
    let c = Ctx { lang: lang(headers), csrf: String::new(), return_to: String::new(), level: 1, form_origin: None };
    let text = if c.lang == Lang::Ja { ja } else { en };
    page(&c, status, &format!("<p>{}</p>{extra}", esc(text)), cookies)
}

fn page(c: &Ctx, status: StatusCode, body: &str, cookies: Vec<HeaderValue>) -> Response {
    let lang = if c.lang == Lang::Ja { "ja" } else { "en" };
    let html = format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{title} · Sekimori</title>\
         <meta name=\"viewport\" content=\"width=device-width\"></head>\
         <body style=\"font-family:sans-serif;max-width:24em;margin:3em auto\"><h1>{title}</h1>{body}</body></html>",
        title = t(c.lang, "title"),
    );
    let mut resp = (status, Html(html)).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Language, Cookie"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    for cookie in cookies {
        h.append(header::SET_COOKIE, cookie);
    }
    allow_form_target(&mut resp, c.form_origin.as_deref());
    resp
}

fn hidden(c: &Ctx) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"return_to\" value=\"{}\">\
         <input type=\"hidden\" name=\"level\" value=\"{}\">",
        esc(&c.csrf),
        esc(&c.return_to),
        c.level
    )
}

fn password_form(c: &Ctx, message: Option<&str>, username: &str) -> String {
    format!(
        "{msg}<form method=\"post\" action=\"/login\">{hidden}\
         <p><label>{u}<br><input name=\"username\" autocomplete=\"username\" value=\"{user}\" required></label></p>\
         <p><label>{p}<br><input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label></p>\
         <p><button type=\"submit\">{s}</button></p></form>\
         <form method=\"post\" action=\"/login/push\">{hidden}<p>{push}<br>\
         <input name=\"username\" autocomplete=\"username\" aria-label=\"{u}\" value=\"{user}\" required> \
         <button type=\"submit\">{push_send}</button></p></form>\
         <p><a href=\"/login/qr?return_to={rt}\">{qr}</a></p>{passkey}",
        msg = message.map(|m| format!("<p role=\"alert\">{}</p>", esc(m))).unwrap_or_default(),
        passkey = passkey_button(c, "passkey-sign-in", "passkey_sign_in"),
        hidden = hidden(c),
        u = t(c.lang, "username"),
        user = esc(username),
        p = t(c.lang, "password"),
        s = t(c.lang, "submit"),
        qr = t(c.lang, "qr"),
        push = t(c.lang, "push"),
        push_send = t(c.lang, "push_send"),
        rt = esc(&sekimori_core::names::percent_encode(&c.return_to)),
    )
}

/// A passkey button (shown by /static/passkey.js when the browser has WebAuthn).
fn passkey_button(c: &Ctx, id: &str, label: &str) -> String {
    format!(
        "<p><button type=\"button\" id=\"{id}\" hidden data-return-to=\"{rt}\" data-added=\"{added}\" \
         data-failed=\"{failed}\">{text}</button></p><p id=\"passkey-status\" role=\"status\"></p>\
         <script src=\"/static/passkey.js\" defer></script>",
        rt = esc(&c.return_to),
        added = t(c.lang, "passkey_added"),
        failed = t(c.lang, "passkey_failed"),
        text = t(c.lang, label),
    )
}

/// The second-factor form; `pending` (the sealed half-done login) lets a passkey be the
/// second factor too.
fn factor_form(c: &Ctx, message: Option<&str>, pending: Option<(&str, &str)>) -> String {
    let passkey = match pending {
        Some((token, username)) => passkey_button(c, "passkey-sign-in", "passkey_sign_in").replacen(
            " hidden ",
            &format!(" hidden data-pending=\"{}\" data-username=\"{}\" ", esc(token), esc(username)),
            1,
        ),
        None => String::new(),
    };
    format!(
        "{msg}<p>{f}</p><form method=\"post\" action=\"/login/factor\">{hidden}\
         <p><label>{code}<br><input name=\"code\" autocomplete=\"one-time-code\" inputmode=\"numeric\" required autofocus></label></p>\
         <p><button type=\"submit\">{v}</button></p></form>{passkey}",
        msg = message.map(|m| format!("<p role=\"alert\">{}</p>", esc(m))).unwrap_or_default(),
        f = t(c.lang, "factor"),
        hidden = hidden(c),
        code = t(c.lang, "code"),
        v = t(c.lang, "verify"),
    )
}

fn signed_in(c: &Ctx, s: &SessionView) -> String {
    format!(
        "<p>{who} <strong>{name}</strong> (level {level}, {amr})</p>\
         <form method=\"post\" action=\"/logout\">{hidden}<button type=\"submit\">{out}</button></form>\
         <form method=\"post\" action=\"/logout\">{hidden}<input type=\"hidden\" name=\"everywhere\" value=\"true\">\
         <button type=\"submit\">{all}</button></form>{passkey}",
        passkey = passkey_button(c, "passkey-add", "passkey_add"),
        who = t(c.lang, "signed_in_as"),
        name = esc(&s.username),
        level = s.level,
        amr = esc(&s.amr.join(" + ")),
        hidden = hidden(c),
        out = t(c.lang, "logout"),
        all = t(c.lang, "logout_all"),
    )
}

fn needs_device(c: &Ctx) -> String {
    format!(
        "<p>{}</p><p><a href=\"/login/qr?return_to={}\">{}</a></p>",
        t(c.lang, "needs_device"),
        esc(&sekimori_core::names::percent_encode(&c.return_to)),
        t(c.lang, "qr")
    )
}

pub(super) fn redirect(to: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    for c in cookies {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

/// The CSRF cookie (made when missing) and the form token bound to it.
pub(super) fn csrf(gate: &Gate, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match cookie_value(headers, CSRF_COOKIE).filter(|v| (16..=128).contains(&v.len())) {
        Some(v) => (csrf_token(gate, v), None),
        None => {
            let fresh = sekimori_core::token::new_secret(&sekimori_core::OsRng);
            let token = csrf_token(gate, &fresh);
            (token, Some(set_cookie(gate, CSRF_COOKIE, &fresh, "/", "Strict", 12 * 3600)))
        }
    }
}

pub(super) fn csrf_ok(gate: &Gate, headers: &HeaderMap, sent: &str) -> bool {
    cookie_value(headers, CSRF_COOKIE)
        .is_some_and(|c| sekimori_core::token::ct_eq(csrf_token(gate, c).as_bytes(), sent.as_bytes()))
}

/// The live session of the browser that sent `headers`.
pub(super) async fn current_session(gate: &Gate, headers: &HeaderMap) -> Result<Option<SessionView>, ApiError> {
    match cookie_value(headers, SESSION_COOKIE) {
        Some(secret) => Ok(gate.sessions().session(secret).await?),
        None => Ok(None),
    }
}

async fn login_page(State(s): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let q = PageQuery::parse(q.as_deref());
    let (token, new_cookie) = csrf(&s.gate, &headers);
    let c = Ctx::new(&s.gate, &headers, token, q.return_to.as_deref(), q.level);
    let cookies: Vec<HeaderValue> = new_cookie.into_iter().collect();
    let session = match q.fresh {
        Some(true) => None,
        _ => current_session(&s.gate, &headers).await?,
    };
    if let Some(session) = session {
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
    let attempt = Attempt { ip: client.ip, app_id: None };
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
    if s.gate.factors().has_second_factor(&user).await? {
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
    let user = s.gate.admin().find_user(&pending.tenant_id, &pending.username).await?;
    let mut amr = pending.amr.clone();
    for m in ["otp", "mfa"] {
        if !amr.iter().any(|a| a == m) {
            amr.push(m.to_owned());
        }
    }
    let old = cookie_value(&headers, SESSION_COOKIE);
    let (secret, _) = s.gate.sessions().create_session(&user, 2, &amr, old).await?;
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
    ApiJson(body): ApiJson<AssertionBody>,
) -> ApiResult<Response> {
    let origin = s.gate.public_url().trim_end_matches('/').to_owned();
    if let Some(o) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        if o != origin {
            return Err(ApiError::new(ErrorCode::Forbidden, "this request did not come from the login page"));
        }
    }
    if body.assertion.len() > 4096 {
        return Err(ApiError::new(ErrorCode::InvalidRequest, "assertion is longer than 4096 bytes"));
    }
    let old = cookie_value(&headers, SESSION_COOKIE);
    let (secret, view) = s.gate.sessions().session_from_assertion(&body.assertion, old).await?;
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
}

/// The page that shows the number while the push login waits, refreshing itself (no script).
fn push_page(c: &Ctx, number: i64, cookies: Vec<HeaderValue>) -> Response {
    let next =
        format!("/login/push/wait?return_to={}&level={}", sekimori_core::names::percent_encode(&c.return_to), c.level);
    let body = format!(
        "<meta http-equiv=\"refresh\" content=\"1;url={next}\"><p>{msg}</p>\
         <p style=\"font-size:3em;font-weight:bold\" data-number=\"{number}\">{number}</p>",
        next = esc(&next),
        msg = t(c.lang, "push_number"),
    );
    page(c, StatusCode::OK, &body, cookies)
}

/// Sends a push login to the user's authenticator on behalf of this page.
async fn login_push(
    State(s): State<AppState>,
    headers: HeaderMap,
    PageClient(client): PageClient,
    PageForm(f): PageForm<PushForm>,
) -> ApiResult<Response> {
    let c = Ctx::of_post(&s.gate, &headers, &f.csrf, f.return_to.as_deref(), f.level);
    if !csrf_ok(&s.gate, &headers, &f.csrf) {
        return Ok(page(&c, StatusCode::FORBIDDEN, &format!("<p>{}</p>", t(c.lang, "csrf")), Vec::new()));
    }
    let app = s.gate.sessions().hosted_app().await?;
    let username = sekimori_core::names::Username::parse(&f.username).map(|u| u.to_string()).unwrap_or_default();
    match s.gate.push().start_push(&app, &username, &client).await {
        Ok(started) => {
            let cookie = set_cookie(
                &s.gate,
                PUSH_COOKIE,
                &s.gate.sessions().seal_push(&started.login_id, started.number),
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
async fn push_wait(State(s): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let q = PageQuery::parse(q.as_deref());
    let (token, cookie) = csrf(&s.gate, &headers);
    let c = Ctx::new(&s.gate, &headers, token, q.return_to.as_deref(), q.level);
    let cookies: Vec<HeaderValue> = cookie.into_iter().collect();
    let Some((login_id, number)) = cookie_value(&headers, PUSH_COOKIE).and_then(|p| s.gate.sessions().open_push(p))
    else {
        let body = format!("<p>{}</p>{}", t(c.lang, "expired"), password_form(&c, None, ""));
        return Ok(page(&c, StatusCode::UNAUTHORIZED, &body, cookies));
    };
    let old = cookie_value(&headers, SESSION_COOKIE);
    let wait = std::time::Duration::from_secs(PUSH_WAIT_SECONDS);
    match s.gate.sessions().finish_hosted_push(&login_id, wait, old).await {
        Ok(Some((secret, _))) => {
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
