//! The hosted login's HTML: the page frame with its CSP, the forms, and what a page's
//! address and a form post say (return URL, level, CSRF token).

use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use sekimori_gate::sessions::SessionView;
use sekimori_gate::Gate;

use super::i18n::{lang, t, Lang};
use super::{allow_form_target, CSP};
use crate::routes::form_target::destination_origin;

/// HTML-escapes text.
pub(crate) fn esc(s: &str) -> String {
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

/// Where to go after login: a path on this server, or an absolute URL under the public
/// URL; anything else becomes `/`.
pub(crate) fn safe_return(gate: &Gate, to: Option<&str>) -> String {
    let Some(to) = to.filter(|t| t.len() <= 4096) else { return "/".into() };
    let base = gate.public_url().as_str();
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

pub(crate) fn wanted_level(level: Option<u8>) -> u8 {
    level.unwrap_or(1).clamp(1, 3)
}

/// What a page's address says. A person follows links from elsewhere (a proxy's redirect
/// may carry the application's own parameters), so unknown parameters are ignored and a
/// known one that is repeated or malformed counts as absent or takes its first value:
/// a page, never a JSON error.
#[derive(Debug, Default)]
pub(crate) struct PageQuery {
    pub(crate) return_to: Option<String>,
    pub(crate) level: Option<u8>,
    /// Sign in again even with a session (OIDC `prompt=login`, `max_age`).
    pub(crate) fresh: Option<bool>,
}

impl PageQuery {
    pub(crate) fn parse(raw: Option<&str>) -> Self {
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

pub(crate) struct Ctx {
    pub(crate) lang: Lang,
    pub(crate) csrf: String,
    pub(crate) return_to: String,
    pub(crate) level: u8,
    /// The origin the page's forms end at after their redirects, when not this server's.
    pub(crate) form_origin: Option<String>,
}

impl Ctx {
    /// The page context of a form post: its CSRF token, return URL and level as sent.
    pub(crate) fn of_post(
        gate: &Gate,
        headers: &HeaderMap,
        csrf: &str,
        return_to: Option<&str>,
        level: Option<u8>,
    ) -> Self {
        Self::new(gate, headers, csrf.to_owned(), return_to, level)
    }

    pub(crate) fn new(
        gate: &Gate,
        headers: &HeaderMap,
        csrf: String,
        return_to: Option<&str>,
        level: Option<u8>,
    ) -> Self {
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
pub(crate) fn message_page(
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

pub(crate) fn page(c: &Ctx, status: StatusCode, body: &str, cookies: Vec<HeaderValue>) -> Response {
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

pub(crate) fn hidden(c: &Ctx) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"return_to\" value=\"{}\">\
         <input type=\"hidden\" name=\"level\" value=\"{}\">",
        esc(&c.csrf),
        esc(&c.return_to),
        c.level
    )
}

pub(crate) fn password_form(c: &Ctx, message: Option<&str>, username: &str) -> String {
    format!(
        "{msg}<form method=\"post\" action=\"/login\" data-signals>{hidden}{signals}\
         <p><label>{u}<br><input name=\"username\" autocomplete=\"username\" value=\"{user}\" required></label></p>\
         <p><label>{p}<br><input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label></p>\
         <p><button type=\"submit\">{s}</button></p></form>\
         <form method=\"post\" action=\"/login/push\" data-signals>{hidden}{signals}<p>{push}<br>\
         <input name=\"username\" autocomplete=\"username\" aria-label=\"{u}\" value=\"{user}\" required> \
         <button type=\"submit\">{push_send}</button></p></form>\
         <p><a href=\"/login/qr?return_to={rt}\">{qr}</a></p>{passkey}\
         <script src=\"/static/signals.js\" defer></script>",
        signals = "<input type=\"hidden\" name=\"signals\" value=\"\">",
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
pub(crate) fn passkey_button(c: &Ctx, id: &str, label: &str) -> String {
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
pub(crate) fn factor_form(c: &Ctx, message: Option<&str>, pending: Option<(&str, &str)>) -> String {
    let passkey = match pending {
        Some((token, username)) => {
            let button = passkey_button(c, "passkey-sign-in", "passkey_sign_in").replacen(
                " hidden ",
                &format!(" hidden data-pending=\"{}\" data-username=\"{}\" ", esc(token), esc(username)),
                1,
            );
            // Or the authenticator's approval as the second factor.
            format!(
                "<form method=\"post\" action=\"/login/push\">{hidden}<input type=\"hidden\" name=\"username\" \
                 value=\"{user}\"><input type=\"hidden\" name=\"second\" value=\"true\"><p>{push}<br>\
                 <button type=\"submit\">{send}</button></p></form>{button}",
                hidden = hidden(c),
                user = esc(username),
                push = t(c.lang, "push_second"),
                send = t(c.lang, "push_send"),
            )
        }
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

pub(crate) fn signed_in(c: &Ctx, s: &SessionView) -> String {
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

pub(crate) fn needs_device(c: &Ctx) -> String {
    format!(
        "<p>{}</p><p><a href=\"/login/qr?return_to={}\">{}</a></p>",
        t(c.lang, "needs_device"),
        esc(&sekimori_core::names::percent_encode(&c.return_to)),
        t(c.lang, "qr")
    )
}

/// The page that shows the number while the push login waits, refreshing itself (no script).
pub(crate) fn push_page(c: &Ctx, number: i64, cookies: Vec<HeaderValue>) -> Response {
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

pub(crate) fn redirect(to: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    for c in cookies {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}
