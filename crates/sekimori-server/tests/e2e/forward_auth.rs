//! Forward-auth with a real nginx (Debian's `nginx-light`; `scripts/test` installs it) in
//! front of a test upstream, using `auth_request` to Sekimori: unauthenticated requests are
//! sent to the login page, a logged-in browser reaches the upstream with identity headers,
//! a route needing level 2 steps the session up, a route needing level 3 refuses a level-2
//! session, group rules answer 403, public routes pass. The redirect mode (Traefik, Caddy)
//! is checked with their headers.

use std::process::Stdio;
use std::time::Duration;

use axum::http::HeaderMap;
use reqwest::{Method, StatusCode};
use sekimori_gate::forward::ForwardRule;
use serde_json::{json, Value};
use totp_rs::TOTP;

use crate::harness::{Backend, TestServer};
use crate::login::{with_password, Browser};

/// The upstream application: echoes the identity headers nginx passes it.
async fn upstream() -> u16 {
    async fn echo(headers: HeaderMap, uri: axum::http::Uri) -> axum::Json<Value> {
        let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
        axum::Json(json!({
            "path": uri.path(),
            "user": h("remote-user"), "email": h("remote-email"), "level": h("remote-level"), "groups": h("remote-groups"),
        }))
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(echo)).await });
    port
}

fn nginx_binary() -> String {
    for p in ["/usr/sbin/nginx", "/usr/bin/nginx"] {
        if std::path::Path::new(p).exists() {
            return p.to_owned();
        }
    }
    panic!("nginx is not installed: apt-get install nginx-light (scripts/test does it)");
}

struct Nginx {
    child: tokio::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

async fn nginx(sekimori: &str, upstream: u16) -> Nginx {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let sk = sekimori.trim_start_matches("http://");
    let d = dir.path().display();
    let conf = format!(
        r#"worker_processes 1;
error_log {d}/error.log warn;
pid {d}/nginx.pid;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  server {{
    listen 127.0.0.1:{port};
    absolute_redirect off;
    location = /_sekimori_auth {{
      internal;
      proxy_pass http://{sk}/api/v1/forward-auth/nginx;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
    }}
    location /login {{ proxy_pass http://{sk}; }}
    location = /logout {{ proxy_pass http://{sk}; }}
    location = /api/v1/session {{ proxy_pass http://{sk}; }}
    location / {{
      auth_request /_sekimori_auth;
      auth_request_set $sk_user $upstream_http_remote_user;
      auth_request_set $sk_email $upstream_http_remote_email;
      auth_request_set $sk_level $upstream_http_remote_level;
      auth_request_set $sk_groups $upstream_http_remote_groups;
      auth_request_set $sk_need $upstream_http_x_sekimori_required_level;
      proxy_set_header Remote-User $sk_user;
      proxy_set_header Remote-Email $sk_email;
      proxy_set_header Remote-Level $sk_level;
      proxy_set_header Remote-Groups $sk_groups;
      error_page 401 = @login;
      proxy_pass http://127.0.0.1:{upstream};
    }}
    location @login {{ return 302 /login?return_to=$request_uri&level=$sk_need; }}
  }}
}}
"#
    );
    let path = dir.path().join("nginx.conf");
    std::fs::write(&path, conf).expect("write conf");
    let child = tokio::process::Command::new(nginx_binary())
        .arg("-c")
        .arg(&path)
        .arg("-p")
        .arg(dir.path())
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start nginx");
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Nginx { child, url, _dir: dir };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "nginx did not listen within 5 s: {}",
        std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
    );
}

fn rules() -> Vec<ForwardRule> {
    let r = |path: &str, level: u8, groups: &[&str]| ForwardRule {
        host: "*".into(),
        path: path.into(),
        level,
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
    };
    vec![r("/public/*", 0, &[]), r("/admin/*", 2, &[]), r("/vault/*", 3, &[]), r("/staff/*", 1, &["staff"])]
}

fn upstream_saw(page: &crate::login::Page) -> Value {
    serde_json::from_str(&page.body).unwrap_or_else(|_| panic!("not the upstream: {} {}", page.status, page.body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_auth_request_in_front_of_an_application() {
    let s = TestServer::start_configured(Backend::Sqlite, None, |g| g.forward_auth = rules()).await;
    with_password(&s, "alice").await;
    s.admin_call(Method::PATCH, "/api/v1/admin/users/alice", Some(json!({"email": "alice@example.jp"}))).await;
    let proxy = nginx(&s.url, upstream().await).await;
    let mut b = Browser::new(&s);
    b.url = proxy.url.clone();

    // Not logged in: public passes, everything else goes to the login page.
    let public = b.get("/public/timetable").await;
    assert_eq!(public.status, StatusCode::OK);
    assert_eq!(upstream_saw(&public)["user"], Value::Null);
    let app = b.get("/app/home").await;
    assert_eq!((app.status, app.location()), (StatusCode::FOUND, "/login?return_to=/app/home&level=1"));

    // Log in through the proxy; the application now sees who it is.
    let ok = b.login("alice", "kumamoto42", "/app/home").await;
    assert_eq!((ok.status, ok.location()), (StatusCode::SEE_OTHER, "/app/home"), "{}", ok.body);
    let app = b.get("/app/home").await;
    assert_eq!(app.status, StatusCode::OK, "{}", app.body);
    let seen = upstream_saw(&app);
    assert_eq!(
        (seen["user"].as_str(), seen["email"].as_str(), seen["level"].as_str()),
        (Some("alice"), Some("alice@example.jp"), Some("1"))
    );

    // A level-2 route sends the level-1 session to step up.
    let admin = b.get("/admin/settings").await;
    assert_eq!((admin.status, admin.location()), (StatusCode::FOUND, "/login?return_to=/admin/settings&level=2"));
    let (_, e) = s.admin_call(Method::POST, "/api/v1/admin/users/alice/totp", None).await;
    let totp = TOTP::from_url(e["otpauth_uri"].as_str().expect("uri")).expect("uri");
    let code = totp.generate(u64::try_from(s.now_seconds()).expect("t"));
    let id = e["id"].as_str().expect("id");
    s.admin_call(Method::POST, &format!("/api/v1/admin/users/alice/totp/{id}/confirm"), Some(json!({"code": code})))
        .await;
    s.clock.advance_seconds(30);
    let step = b.get("/login?return_to=/admin/settings&level=2").await;
    let csrf = step.csrf();
    let code = totp.generate(u64::try_from(s.now_seconds()).expect("t"));
    let done = b
        .post("/login/factor", &[("csrf", &csrf), ("code", &code), ("return_to", "/admin/settings"), ("level", "2")])
        .await;
    assert_eq!(done.location(), "/admin/settings", "{}", done.body);
    let admin = b.get("/admin/settings").await;
    assert_eq!(admin.status, StatusCode::OK, "{}", admin.body);
    assert_eq!(upstream_saw(&admin)["level"], "2");

    // Level 3 (a device-bound login) is refused to this level-2 session.
    let vault = b.get("/vault/keys").await;
    assert_eq!((vault.status, vault.location()), (StatusCode::FOUND, "/login?return_to=/vault/keys&level=3"));
    let page = b.get("/login?return_to=/vault/keys&level=3").await;
    assert!(page.body.contains("needs a sign-in with your Sekimori authenticator"), "{}", page.body);

    // Group rules: 403 until alice is in the group.
    assert_eq!(b.get("/staff/rota").await.status, StatusCode::FORBIDDEN);
    s.admin_call(Method::POST, "/api/v1/admin/groups", Some(json!({"name": "staff"}))).await;
    s.admin_call(Method::PUT, "/api/v1/admin/groups/staff/members/alice", None).await;
    let rota = b.get("/staff/rota").await;
    assert_eq!(rota.status, StatusCode::OK);
    assert_eq!(upstream_saw(&rota)["groups"], "staff");

    // After logout the application is closed again.
    let csrf = b.get("/login").await.csrf();
    b.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(b.get("/app/home").await.status, StatusCode::FOUND);
}

#[tokio::test]
async fn the_redirect_mode_sends_traefik_and_caddy_to_the_login_page() {
    let mut rules = rules();
    rules.push(ForwardRule { host: "app.example.com".into(), path: "/*".into(), level: 1, groups: Vec::new() });
    let s = TestServer::start_configured(Backend::Sqlite, None, |g| g.forward_auth = rules).await;
    with_password(&s, "alice").await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let ask = |cookie: Option<String>| {
        let (http, url) = (http.clone(), s.url.clone());
        async move {
            let mut req = http
                .get(format!("{url}/api/v1/forward-auth/redirect"))
                .header("x-forwarded-proto", "https")
                .header("x-forwarded-host", "app.example.com")
                .header("x-forwarded-uri", "/orders?id=7")
                .header("x-forwarded-method", "GET");
            if let Some(c) = cookie {
                req = req.header("cookie", c);
            }
            req.send().await.expect("send")
        }
    };
    let resp = ask(None).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    let location = resp.headers()["location"].to_str().expect("ascii").to_owned();
    assert_eq!(location, format!("{}/login?return_to=https%3A%2F%2Fapp.example.com%2Forders%3Fid%3D7&level=1", s.url));
    // The login page may send the browser back there (its host is protected), and the
    // session then passes with identity headers.
    let mut b = Browser::new(&s);
    let back = b.login("alice", "kumamoto42", "https://app.example.com/orders?id=7").await;
    assert_eq!(back.location(), "https://app.example.com/orders?id=7");
    let cookie = format!("sekimori_session={}", b.jar["sekimori_session"]);
    let resp = ask(Some(cookie)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["remote-user"], "alice");
    assert_eq!(resp.headers()["remote-level"], "1");
    // Without any original-URL header the proxy is misconfigured: a clear 400.
    let resp =
        http.get(format!("{}/api/v1/forward-auth/redirect", s.url)).header("host", "").send().await.expect("send");
    assert!(resp.status().is_client_error() || resp.status() == StatusCode::FOUND);
    let resp = http.get(format!("{}/api/v1/forward-auth/bogus", s.url)).send().await.expect("send");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

/// A QR login on the hosted page becomes a level-3 session, which opens a level-3 route.
#[tokio::test]
async fn a_qr_login_becomes_a_level_3_session_for_a_level_3_route() {
    let s = TestServer::start_configured(Backend::Sqlite, None, |g| g.forward_auth = rules()).await;
    let alice = s.enrolled("alice").await;
    let http = s.http();
    let qr_login = || s.qr_login(&alice);
    let exchange = |assertion: String, origin: String| {
        let (http, url) = (http.clone(), s.url.clone());
        async move {
            http.post(format!("{url}/api/v1/session/assertion"))
                .header("origin", origin)
                .json(&json!({"assertion": assertion, "return_to": "/vault/keys"}))
                .send()
                .await
                .expect("send")
        }
    };
    let assertion = qr_login().await;
    let resp = exchange(assertion.clone(), s.url.clone()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = resp.headers()["set-cookie"].to_str().expect("ascii").split(';').next().expect("pair").to_owned();
    let body: Value = resp.json().await.expect("json");
    assert_eq!((body["level"].as_u64(), body["return_to"].as_str()), (Some(3), Some("/vault/keys")), "{body}");
    assert!(body["amr"].as_array().expect("amr").contains(&json!("qr")), "{body}");
    // The level-3 route lets this session through.
    let decision = http
        .get(format!("{}/api/v1/forward-auth/nginx", s.url))
        .header("cookie", &cookie)
        .header("x-original-url", "http://app.example/vault/keys")
        .send()
        .await
        .expect("send");
    assert_eq!(decision.status(), StatusCode::OK);
    assert_eq!(decision.headers()["remote-level"], "3");
    // The assertion works once; another site cannot post one.
    let again = exchange(assertion, s.url.clone()).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let cross = exchange(qr_login().await, "https://evil.example".into()).await;
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
}
