//! The hosted login as a browser drives it, cookies and all: CSRF on every form post,
//! password then TOTP, the session's level and `amr`, rotation of the session id on
//! step-up, idle and absolute timeouts with a moved clock, logout and logout-everywhere,
//! admin revocation, English and Japanese pages, and no open redirects.

use std::collections::HashMap;

use reqwest::header::{HeaderMap, ACCEPT_LANGUAGE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use totp_rs::TOTP;

use crate::harness::{Backend, TestServer};

pub(crate) struct Browser {
    http: reqwest::Client,
    pub(crate) url: String,
    pub(crate) jar: HashMap<String, String>,
    /// The attributes of the last Set-Cookie for each name.
    attributes: HashMap<String, String>,
    lang: &'static str,
}

pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Page {
    pub(crate) fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
        self.body[at..].split('"').next().expect("value").to_owned()
    }
    pub(crate) fn location(&self) -> &str {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

impl Browser {
    pub(crate) fn new(s: &TestServer) -> Self {
        Self::through(&s.url, reqwest::Client::builder())
    }

    /// A browser that reaches `url` with a client built from `builder` (a proxy's address,
    /// a name resolved to it, a local address of its own); redirects are not followed.
    pub(crate) fn through(url: &str, builder: reqwest::ClientBuilder) -> Self {
        Browser {
            http: builder.redirect(reqwest::redirect::Policy::none()).build().expect("client"),
            url: url.to_owned(),
            jar: HashMap::new(),
            attributes: HashMap::new(),
            lang: "en",
        }
    }

    /// A GET with extra request headers (forged ones, in the attacker's tests).
    pub(crate) async fn get_with(&mut self, path: &str, headers: &[(&str, &str)]) -> Page {
        let mut req = self.http.get(format!("{}{path}", self.url));
        if !self.jar.is_empty() {
            req = req.header(COOKIE, self.cookie_header());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("send");
        Page { status: resp.status(), headers: resp.headers().clone(), body: resp.text().await.expect("body") }
    }

    fn cookie_header(&self) -> String {
        self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn send(&mut self, method: Method, path: &str, form: Option<&[(&str, &str)]>) -> Page {
        let mut req = self.http.request(method, format!("{}{path}", self.url)).header(ACCEPT_LANGUAGE, self.lang);
        if !self.jar.is_empty() {
            req = req.header(COOKIE, self.cookie_header());
        }
        if let Some(f) = form {
            req = req.form(f);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status();
        let headers = resp.headers().clone();
        for c in headers.get_all(SET_COOKIE) {
            let c = c.to_str().expect("ascii");
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').expect("name=value");
            self.attributes.insert(k.to_owned(), attrs.to_owned());
            if attrs.contains("Max-Age=0") {
                self.jar.remove(k);
            } else {
                self.jar.insert(k.to_owned(), v.to_owned());
            }
        }
        Page { status, headers, body: resp.text().await.expect("body") }
    }

    pub(crate) async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None).await
    }

    pub(crate) async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(Method::POST, path, Some(form)).await
    }

    pub(crate) async fn login(&mut self, user: &str, password: &str, return_to: &str) -> Page {
        let query = sekimori_core::names::percent_encode(return_to);
        let form = self.get(&format!("/login?return_to={query}")).await;
        let csrf = form.csrf();
        self.post(
            "/login",
            &[("csrf", &csrf), ("username", user), ("password", password), ("return_to", return_to), ("level", "1")],
        )
        .await
    }

    pub(crate) async fn whoami(&mut self) -> (StatusCode, Value) {
        let p = self.get("/api/v1/session").await;
        (p.status, serde_json::from_str(&p.body).unwrap_or(Value::Null))
    }
}

pub(crate) async fn with_password(s: &TestServer, user: &str) {
    s.admin.add_user(user, None, None).await.expect("user");
    let (status, _) = s
        .admin_call(
            Method::PUT,
            &format!("/api/v1/admin/users/{user}/password"),
            Some(json!({"password": "kumamoto42"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

async fn password_then_totp(backend: Backend) {
    let s = TestServer::start_on(backend).await;
    with_password(&s, "alice").await;
    let mut b = Browser::new(&s);

    let form = b.get("/login").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("<form method=\"post\" action=\"/login\" data-signals>"));
    assert!(form.headers.get("content-security-policy").is_some());
    let csrf_attrs = &b.attributes["sekimori_csrf"];
    assert!(csrf_attrs.contains("HttpOnly") && csrf_attrs.contains("SameSite=Strict"), "{csrf_attrs}");

    // A post without the right CSRF token is refused and logs nobody in.
    let forged = b.post("/login", &[("csrf", "forged"), ("username", "alice"), ("password", "kumamoto42")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(!b.jar.contains_key("sekimori_session"));
    // Without the field at all: the same 403 page, not a 400 about the form.
    let missing = b.post("/login", &[("username", "alice"), ("password", "kumamoto42")]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN, "{}", missing.body);
    assert!(missing.headers["content-type"].to_str().expect("ct").starts_with("text/html"));
    assert!(!b.jar.contains_key("sekimori_session"));
    assert_eq!(form.headers["referrer-policy"], "no-referrer");
    // A wrong password re-shows the form with the reason.
    let wrong = b.login("alice", "kumamoto43", "/app").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("The username or password is wrong."));

    let ok = b.login("alice", "kumamoto42", "/app/home").await;
    assert_eq!((ok.status, ok.location()), (StatusCode::SEE_OTHER, "/app/home"));
    let attrs = &b.attributes["sekimori_session"];
    assert!(attrs.contains("HttpOnly") && attrs.contains("SameSite=Lax") && attrs.contains("Path=/"), "{attrs}");
    assert!(!attrs.contains("Secure"), "plain http in this test: no Secure flag");
    let (status, me) = b.whoami().await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!((me["username"].as_str(), me["level"].as_u64()), (Some("alice"), Some(1)));
    assert_eq!(me["amr"], json!(["pwd"]));
    let level_one = b.jar["sekimori_session"].clone();

    // Alice enrols TOTP; a page that needs level 2 steps her up.
    let (_, e) = s.admin_call(Method::POST, "/api/v1/admin/users/alice/totp", None).await;
    let app = TOTP::from_url(e["otpauth_uri"].as_str().expect("uri")).expect("uri");
    let id = e["id"].as_str().expect("id");
    let code = app.generate(u64::try_from(s.now_seconds()).expect("time"));
    let (status, _) = s
        .admin_call(Method::POST, &format!("/api/v1/admin/users/alice/totp/{id}/confirm"), Some(json!({"code": code})))
        .await;
    assert_eq!(status, StatusCode::OK);
    s.clock.advance_seconds(30);
    let step_up = b.get("/login?level=2&return_to=/admin").await;
    assert_eq!(step_up.status, StatusCode::OK);
    assert!(step_up.body.contains("action=\"/login/factor\""), "{}", step_up.body);
    let csrf = step_up.csrf();
    let bad =
        b.post("/login/factor", &[("csrf", &csrf), ("code", "000000"), ("return_to", "/admin"), ("level", "2")]).await;
    assert_eq!(bad.status, StatusCode::FORBIDDEN);
    assert!(bad.body.contains("The code is wrong"));
    let code = app.generate(u64::try_from(s.now_seconds()).expect("time"));
    let done =
        b.post("/login/factor", &[("csrf", &csrf), ("code", &code), ("return_to", "/admin"), ("level", "2")]).await;
    assert_eq!((done.status, done.location()), (StatusCode::SEE_OTHER, "/admin"), "{}", done.body);
    let (_, me) = b.whoami().await;
    assert_eq!(me["level"], 2);
    assert_eq!(me["amr"], json!(["pwd", "otp", "mfa"]));
    // The session id rotated: the level-1 cookie is dead.
    assert_ne!(b.jar["sekimori_session"], level_one);
    let mut old = Browser::new(&s);
    old.jar.insert("sekimori_session".into(), level_one);
    assert_eq!(old.whoami().await.0, StatusCode::UNAUTHORIZED);

    // A fresh login of a user with TOTP asks for the code before any session exists.
    let mut fresh = Browser::new(&s);
    let asked = fresh.login("alice", "kumamoto42", "/").await;
    assert!(asked.body.contains("action=\"/login/factor\""));
    assert!(!fresh.jar.contains_key("sekimori_session"));
    assert_eq!(s.events("action=auth.session.created").await.len(), 2);
}

#[tokio::test]
async fn password_then_totp_in_a_browser_on_sqlite() {
    password_then_totp(Backend::Sqlite).await;
}

#[tokio::test]
async fn password_then_totp_in_a_browser_on_postgres() {
    password_then_totp(Backend::Postgres).await;
}

#[tokio::test]
async fn sessions_end_when_idle_at_their_absolute_end_and_at_logout() {
    let s = TestServer::start().await;
    with_password(&s, "bob").await;
    let mut b = Browser::new(&s);
    b.login("bob", "kumamoto42", "/").await;
    // Idle: 30 minutes without use ends it; use keeps it alive.
    s.clock.advance_seconds(29 * 60);
    assert_eq!(b.whoami().await.0, StatusCode::OK);
    s.clock.advance_seconds(29 * 60);
    assert_eq!(b.whoami().await.0, StatusCode::OK);
    s.clock.advance_seconds(31 * 60);
    assert_eq!(b.whoami().await.0, StatusCode::UNAUTHORIZED, "idle for 31 minutes");
    // Absolute: 12 hours after login, even in use.
    b.login("bob", "kumamoto42", "/").await;
    for _ in 0..35 {
        s.clock.advance_seconds(20 * 60);
        assert_eq!(b.whoami().await.0, StatusCode::OK);
    }
    s.clock.advance_seconds(20 * 60 + 1);
    assert_eq!(b.whoami().await.0, StatusCode::UNAUTHORIZED, "12 hours after login");

    // Logout ends this session; logout-everywhere ends the others too.
    b.login("bob", "kumamoto42", "/").await;
    let mut phone = Browser::new(&s);
    phone.login("bob", "kumamoto42", "/").await;
    let mut tablet = Browser::new(&s);
    tablet.login("bob", "kumamoto42", "/").await;
    let page = b.get("/login").await;
    assert!(page.body.contains("Sign out everywhere"));
    let csrf = page.csrf();
    let out = b.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(b.whoami().await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(phone.whoami().await.0, StatusCode::OK);
    let csrf = phone.get("/login").await.csrf();
    phone.post("/logout", &[("csrf", &csrf), ("everywhere", "true")]).await;
    assert_eq!(phone.whoami().await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(tablet.whoami().await.0, StatusCode::UNAUTHORIZED);
    // A logout without the CSRF token does nothing.
    tablet.login("bob", "kumamoto42", "/").await;
    let refused = tablet.post("/logout", &[("csrf", "x")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(tablet.whoami().await.0, StatusCode::OK);
    // An admin can end every session of a user.
    let (status, body) = s.admin_call(Method::DELETE, "/api/v1/admin/users/bob/sessions", None).await;
    assert_eq!((status, body["revoked"].as_u64()), (StatusCode::OK, Some(1)));
    assert_eq!(tablet.whoami().await.0, StatusCode::UNAUTHORIZED);
    // Disabling the account ends its sessions' use at once.
    tablet.login("bob", "kumamoto42", "/").await;
    s.admin_call(Method::PATCH, "/api/v1/admin/users/bob", Some(json!({"disabled": true}))).await;
    assert_eq!(tablet.whoami().await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.events("action=auth.session.logout_everywhere").await.len(), 1);
}

#[tokio::test]
async fn the_page_speaks_japanese_and_never_redirects_off_site() {
    let s = TestServer::start().await;
    with_password(&s, "carol").await;
    let mut b = Browser::new(&s);
    b.lang = "ja,en;q=0.8";
    let page = b.get("/login").await;
    assert!(page.body.contains("<html lang=\"ja\">") && page.body.contains("パスワード"), "{}", page.body);
    let wrong = b.login("carol", "nope-nope-1", "/").await;
    assert!(wrong.body.contains("ユーザー名またはパスワードが違います。"));
    b.lang = "en-GB,ja;q=0.5";
    assert!(b.get("/login").await.body.contains("<html lang=\"en\">"));
    // Off-site or scheme-relative return URLs become "/".
    for evil in ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"] {
        let mut b = Browser::new(&s);
        let p = b.login("carol", "kumamoto42", evil).await;
        assert_eq!(p.location(), "/", "{evil}");
    }
    // Markup in a username is escaped, never rendered.
    let long = "a".repeat(5_000);
    assert_eq!(b.login(&long, "kumamoto42", "/").await.status, StatusCode::UNAUTHORIZED, "an impossible name");
    let p = b.login("<script>x</script>", "kumamoto42", "/").await;
    assert!(!p.body.contains("<script>x") && p.body.contains("&lt;script&gt;"), "{}", p.body);
}

async fn send_push(b: &mut Browser, user: &str) -> Page {
    let csrf = b.get("/login").await.csrf();
    b.post("/login/push", &[("csrf", &csrf), ("username", user), ("return_to", "/app"), ("level", "1")]).await
}

/// The login page sends a push to the user's armed authenticator and shows the number to
/// enter; approved with it, the browser gets a level-2 session. Unarmed, unknown and
/// device-less users get one and the same answer.
#[tokio::test]
async fn push_from_the_login_page_shows_the_number_and_starts_a_session() {
    let s = TestServer::start().await;
    let alice = s.enrolled("alice").await;
    let mut b = Browser::new(&s);
    // Not armed: refused, and the phone is not disturbed.
    let unarmed = send_push(&mut b, "alice").await;
    assert_eq!(unarmed.status, StatusCode::FORBIDDEN);
    let nobody = send_push(&mut b, "nobody").await;
    assert_eq!(nobody.status, StatusCode::FORBIDDEN);
    let text =
        |p: &Page| p.body.split("role=\"alert\">").nth(1).unwrap_or("").split('<').next().unwrap_or("").to_owned();
    assert_eq!(text(&unarmed), text(&nobody), "the page does not tell which");

    alice.standby().await.expect("arm");
    let waiting = send_push(&mut b, "alice").await;
    assert_eq!(waiting.status, StatusCode::OK, "{}", waiting.body);
    let at = waiting.body.find("data-number=\"").expect("the number is shown") + 13;
    let number: i64 = waiting.body[at..].split('"').next().expect("number").parse().expect("digits");
    assert!(waiting.body.contains("http-equiv=\"refresh\""));
    let msgs = alice.messages(0).await.expect("messages");
    let challenge =
        msgs.iter().find(|m| m["type"] == "push_login").unwrap_or_else(|| panic!("a challenge: {msgs:?}")).clone();
    assert_eq!(challenge["relying_party"], "default sign-in");
    let login_id = challenge["login_id"].as_str().expect("id");
    alice.approve(login_id, number).await.expect("approve");
    let done = b.get("/login/push/wait?return_to=/app&level=1").await;
    assert_eq!((done.status, done.location()), (StatusCode::SEE_OTHER, "/app"), "{}", done.body);
    let (_, me) = b.whoami().await;
    assert_eq!((me["username"].as_str(), me["level"].as_u64()), (Some("alice"), Some(2)), "{me}");
    assert_eq!(me["amr"], json!(["push", "mfa"]));
    // The page's push cookie is gone; waiting again without it starts over.
    let again = b.get("/login/push/wait?return_to=/app").await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
}
