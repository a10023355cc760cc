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
use crate::raw;

/// The upstream application `name`: echoes the path and the identity headers nginx passes it.
async fn upstream_named(name: &'static str) -> u16 {
    let echo = move |headers: HeaderMap, uri: axum::http::Uri| async move {
        let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
        axum::Json(json!({
            "app": name, "path": uri.path(), "query": uri.query(),
            "user": h("remote-user"), "email": h("remote-email"), "name": h("remote-name"),
            "level": h("remote-level"), "groups": h("remote-groups"),
        }))
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(echo)).await });
    port
}

async fn upstream() -> u16 {
    upstream_named("app").await
}

fn nginx_binary() -> String {
    for p in ["/usr/sbin/nginx", "/usr/bin/nginx"] {
        if std::path::Path::new(p).exists() {
            return p.to_owned();
        }
    }
    panic!("nginx is not installed: apt-get install nginx-light (scripts/test does it)");
}

pub(crate) struct Nginx {
    child: tokio::process::Child,
    /// `127.0.0.1:<port>`.
    pub(crate) addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// The nginx block of docs/protocol.md section 14, exactly as documented: what an
/// operator copies is what this test runs.
fn documented_block() -> String {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/protocol.md")).expect("docs");
    let section = doc.split("## 14. Forward-auth").nth(1).expect("section 14");
    let block = section.split("```nginx\n").nth(1).expect("an nginx block").split("```").next().expect("end");
    block.to_owned()
}

/// A real nginx running the documented configuration for `app.example.com` (to `upstream`)
/// and, when given, the same block for `status.example.com` (to `status`).
pub(crate) async fn nginx(sekimori: &str, upstream: u16, status: Option<u16>) -> Nginx {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let sk = sekimori.trim_start_matches("http://");
    let block = documented_block()
        .replace("listen 80 default_server;", &format!("listen 127.0.0.1:{port} default_server;"))
        .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
        .replace("127.0.0.1:8080", sk);
    // The block is the default server and then one server for app.example.com.
    let app_at = block
        .find("server {\n  listen 127.0.0.1")
        .and_then(|first| block[first + 1..].find("server {").map(|second| first + 1 + second));
    let app = &block[app_at.expect("a second server block")..];
    let mut servers = block.replace("127.0.0.1:3000", &format!("127.0.0.1:{upstream}"));
    if let Some(status) = status {
        servers.push_str(
            &app.replace("app.example.com", "status.example.com")
                .replace("127.0.0.1:3000", &format!("127.0.0.1:{status}")),
        );
    }
    let d = dir.path().display();
    let conf = format!(
        "worker_processes 1;\nerror_log {d}/error.log warn;\npid {d}/nginx.pid;\n\
         events {{ worker_connections 512; }}\nhttp {{\n  access_log off;\n  absolute_redirect off;\n  \
         client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;\n  \
         uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n{servers}\n}}\n"
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
    let addr = format!("127.0.0.1:{port}");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Nginx { child, addr, _dir: dir };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "nginx did not listen within 5 s: {}",
        std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
    );
}

/// A browser that reaches `host` (e.g. `app.example.com`) through `proxy`.
fn browser_at(proxy: &Nginx, host: &str, local: Option<std::net::IpAddr>) -> Browser {
    let port = proxy.addr.rsplit(':').next().expect("port");
    let addr: std::net::SocketAddr = proxy.addr.parse().expect("addr");
    let mut builder = reqwest::Client::builder().resolve(host, addr);
    if let Some(ip) = local {
        builder = builder.local_address(ip);
    }
    Browser::through(&format!("http://{host}:{port}"), builder)
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
    let proxy = nginx(&s.url, upstream().await, None).await;
    let mut b = browser_at(&proxy, "app.example.com", None);

    // Not logged in: public passes, everything else goes to the login page.
    let public = b.get("/public/timetable").await;
    assert_eq!(public.status, StatusCode::OK);
    assert_eq!(upstream_saw(&public)["user"], Value::Null);
    let app = b.get("/app/home").await;
    assert_eq!((app.status, app.location()), (StatusCode::FOUND, "/login?return_to=%2Fapp%2Fhome&level=1"));

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
    assert_eq!((admin.status, admin.location()), (StatusCode::FOUND, "/login?return_to=%2Fadmin%2Fsettings&level=2"));
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
    assert_eq!((vault.status, vault.location()), (StatusCode::FOUND, "/login?return_to=%2Fvault%2Fkeys&level=3"));
    let page = b.get("/login?return_to=/vault/keys&level=3").await;
    assert!(page.body.contains("needs a sign-in with your Sekimori authenticator"), "{}", page.body);

    // Group rules: 403 until alice is in the group.
    assert_eq!(b.get("/staff/rota").await.status, StatusCode::FORBIDDEN);
    s.admin_call(Method::POST, "/api/v1/admin/groups", Some(json!({"name": "staff"}))).await;
    s.admin_call(Method::PUT, "/api/v1/admin/groups/staff/members/alice", None).await;
    let rota = b.get("/staff/rota").await;
    assert_eq!(rota.status, StatusCode::OK);
    assert_eq!(upstream_saw(&rota)["groups"], "staff");

    // A required-level override (a response to a detection) raises every protected path
    // for alice behind nginx, public ones stay open, and the hosted login asks for the
    // authenticator; lifted, level 2 is enough again.
    let (status, set) = s
        .admin_call(
            Method::POST,
            "/api/v1/admin/users/alice/overrides",
            Some(json!({"action": "raise_level", "level": 3, "duration": "1h", "reason": "unusual failures"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{set}");
    let app = b.get("/app/home").await;
    assert_eq!((app.status, app.location()), (StatusCode::FOUND, "/login?return_to=%2Fapp%2Fhome&level=3"));
    assert_eq!(b.get("/public/timetable").await.status, StatusCode::OK);
    let page = b.get("/login?return_to=/app/home&level=1").await;
    assert!(page.body.contains("needs a sign-in with your Sekimori authenticator"), "{}", page.body);
    let lift = format!("/api/v1/admin/overrides/{}/lift", set["id"].as_str().expect("id"));
    let (status, _) = s.admin_call(Method::POST, &lift, Some(json!({"reason": "confirmed by phone"}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(b.get("/app/home").await.status, StatusCode::OK);

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

    // Path tricks in X-Forwarded-Uri (Traefik and Caddy pass the raw target): judged in
    // normal form, or refused with 400; never a 200 without a session.
    let trick = |uri: &'static str| {
        let (http, url) = (http.clone(), s.url.clone());
        async move {
            http.get(format!("{url}/api/v1/forward-auth/redirect"))
                .header("x-forwarded-proto", "https")
                .header("x-forwarded-host", "app.example.com")
                .header("x-forwarded-uri", uri)
                .send()
                .await
                .expect("send")
                .status()
        }
    };
    for uri in ["/public/../secret.txt", "/public/%2e%2e/secret.txt", "//admin/", "/./admin/x"] {
        assert_eq!(trick(uri).await, StatusCode::FOUND, "{uri}");
    }
    for uri in ["/public/..%2fsecret.txt", "/public/..;/secret.txt", "/public/%252e%252e/secret.txt"] {
        assert_eq!(trick(uri).await, StatusCode::BAD_REQUEST, "{uri}");
    }
    assert_eq!(trick("/public/timetable").await, StatusCode::OK);
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

/// The rules of the example in docs/configuration.md, and a public status host.
fn example_rules() -> Vec<ForwardRule> {
    let r = |host: &str, path: &str, level: u8, groups: &[&str]| ForwardRule {
        host: host.into(),
        path: path.into(),
        level,
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
    };
    vec![r("status.example.com", "/*", 0, &[]), r("*", "/public/*", 0, &[]), r("*", "/admin/*", 2, &["it-staff"])]
}

/// Whether the application behind `app.example.com` answered.
fn app_served(a: &raw::RawAnswer) -> bool {
    a.status == 200 && a.body.contains("\"app\":\"app\"")
}

/// Tried as an attacker through the documented nginx block: path tricks, encoded and
/// raw bytes, forged identity headers, a forged Host, a forged original URL. Each of these
/// reached the application before the fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_tricks_forged_headers_and_forged_hosts_do_not_get_past_nginx() {
    let s = TestServer::start_behind(Backend::Sqlite, None, |g| g.forward_auth = example_rules(), &["127.0.0.1"]).await;
    with_password(&s, "alice").await;
    let proxy = nginx(&s.url, upstream().await, Some(upstream_named("status").await)).await;
    let host = "app.example.com";

    // No session: every spelling of a path outside /public/ is sent to the login page.
    for target in [
        "/public/../secret.txt",
        "/public/%2e%2e/secret.txt",
        "/public/%2E%2E/admin/index.html",
        "/public/../admin/index.html",
        "/public/./../secret.txt",
        "/public//../secret.txt",
    ] {
        let a = raw::get(&proxy.addr, host, target.as_bytes(), &[]).await;
        assert_eq!(a.status, 302, "{target}: {a:?}");
        assert!(a.header("location").is_some_and(|l| l.starts_with("/login?return_to=")), "{target}: {a:?}");
    }
    // Paths with no single reading are refused, never served.
    for target in [
        &b"/public/..%2fsecret.txt"[..],
        b"/public/..%2Fadmin/index.html",
        b"/public/..%5csecret.txt",
        b"/public/..;/secret.txt",
        b"/public/%252e%252e/secret.txt",
        b"/public/\xff/../../secret.txt",
    ] {
        let a = raw::get(&proxy.addr, host, target, &[]).await;
        assert!(!app_served(&a) && a.status != 302, "{}: {a:?}", String::from_utf8_lossy(target));
        assert!(matches!(a.status, 400 | 403), "{}: {a:?}", String::from_utf8_lossy(target));
    }
    // The public route still passes, in any spelling of it.
    for target in ["/public/timetable", "/public/./timetable", "//public/timetable", "/%70ublic/timetable"] {
        let a = raw::get(&proxy.addr, host, target.as_bytes(), &[]).await;
        assert!(app_served(&a), "{target}: {a:?}");
    }

    // A level-1 user outside it-staff: every spelling of /admin/ needs more, none is served.
    let mut b = browser_at(&proxy, host, None);
    let ok = b.login("alice", "kumamoto42", "/public/x").await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let cookie = format!("sekimori_session={}", b.jar["sekimori_session"]);
    let with_cookie = [("Cookie", cookie.as_str())];
    for target in ["/admin/", "/admin", "/%61dmin/index.html", "/./admin/", "//admin/", "/public/../admin/"] {
        let a = raw::get(&proxy.addr, host, target.as_bytes(), &with_cookie).await;
        assert_eq!(a.status, 302, "{target}: {a:?}");
        assert!(a.header("location").is_some_and(|l| l.ends_with("&level=2")), "{target}: {a:?}");
    }
    let a = raw::get(&proxy.addr, host, b"/admin%2Findex.html", &with_cookie).await;
    assert!(!app_served(&a) && a.status == 403, "{a:?}");

    // Forged identity headers never reach the application: with a session it sees only
    // Sekimori's values, without one none at all.
    let forged = [
        ("Remote-User", "mallory"),
        ("Remote-Email", "mallory@evil.example"),
        ("Remote-Name", "Mallory"),
        ("Remote-Groups", "it-staff"),
        ("Remote-Level", "3"),
        ("remote-user", "mallory2"),
    ];
    let seen = upstream_saw(&b.get_with("/public/x", &forged).await);
    assert_eq!(
        (&seen["user"], &seen["email"], &seen["name"], &seen["groups"], &seen["level"]),
        (&json!("alice"), &Value::Null, &Value::Null, &Value::Null, &json!("1")),
        "{seen}"
    );
    let mut stranger = browser_at(&proxy, host, None);
    let seen = upstream_saw(&stranger.get_with("/public/x", &forged).await);
    for k in ["user", "email", "name", "groups", "level"] {
        assert_eq!(seen[k], Value::Null, "{k}: {seen}");
    }
    // The client's own X-Original-URL is replaced by the proxy's.
    let a = raw::get(&proxy.addr, host, b"/secret.txt", &[("X-Original-URL", "http://status.example.com/")]).await;
    assert_eq!(a.status, 302, "{a:?}");

    // A forged Host is routed by nginx, not judged by another host's rules: the status host
    // answers for itself, an unknown host gets nothing.
    let a = raw::get(&proxy.addr, "status.example.com", b"/secret.txt", &[]).await;
    assert!(a.status == 200 && a.body.contains("\"app\":\"status\""), "{a:?}");
    let a = raw::get(&proxy.addr, "evil.example", b"/secret.txt", &[]).await;
    assert!(!app_served(&a) && a.status == 0, "{a:?}");

    // The login redirect keeps the application's query string intact, and the login page
    // ignores parameters it does not know.
    let mut c = browser_at(&proxy, host, None);
    let x = c.get("/x?a=1&b=2&level=3").await;
    assert_eq!(x.location(), "/login?return_to=%2Fx%3Fa%3D1%26b%3D2%26level%3D3&level=1");
    let page = c.get(x.location()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("name=\"password\""), "{}", page.body);
    let back = c.login("alice", "kumamoto42", "/x?a=1&b=2&level=3").await;
    assert_eq!(back.location(), "/x?a=1&b=2&level=3");
    let seen = upstream_saw(&c.get("/x?a=1&b=2&level=3").await);
    assert_eq!((&seen["path"], &seen["query"]), (&json!("/x"), &json!("a=1&b=2&level=3")));
    for odd in ["/login?foo=bar", "/login?level=2&level=3", "/login?level=x&return_to=/public/y"] {
        let page = stranger.get(odd).await;
        assert_eq!(page.status, StatusCode::OK, "{odd}: {}", page.body);
        assert!(page.headers["content-type"].to_str().expect("ct").starts_with("text/html"), "{odd}");
    }
}

/// Behind a proxy the hosted page counts each client's address, not the proxy's: a flood
/// of wrong passwords from one network throttles that network only, and a forged
/// X-Forwarded-For does not move the blame. (Before `trusted_proxies`, everyone shared the
/// proxy's address and one attacker locked every user out.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_nginx_a_password_flood_throttles_the_attacker_not_everyone() {
    let s = TestServer::start_behind(
        Backend::Sqlite,
        None,
        |g| {
            g.forward_auth = example_rules();
            g.password.network_max_failures = 10;
        },
        &["127.0.0.1"],
    )
    .await;
    with_password(&s, "alice").await;
    let proxy = nginx(&s.url, upstream().await, None).await;
    let host = "app.example.com";
    let attacker_ip: std::net::IpAddr = "127.0.2.1".parse().expect("ip");
    let mut attacker = browser_at(&proxy, host, Some(attacker_ip));
    let mut refused = 0;
    for i in 0..15 {
        let form = attacker.get_with("/login", &[("X-Forwarded-For", "127.0.3.1")]).await;
        let csrf = form.csrf();
        let name = format!("nobody{i}");
        let page = attacker
            .post("/login", &[("csrf", &csrf), ("username", &name), ("password", "wrong-guess-1"), ("level", "1")])
            .await;
        if page.status == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    assert!(refused >= 4, "the attacker's network is throttled after 10 failures ({refused} refused)");
    // Alice, from another network and another browser, signs in.
    let mut alice = browser_at(&proxy, host, Some("127.0.3.1".parse().expect("ip")));
    let ok = alice.login("alice", "kumamoto42", "/public/x").await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    // The throttle names the attacker's network, from nginx's X-Forwarded-For.
    let (_, events) = s.admin_call(Method::GET, "/api/v1/events?action=auth.password.throttled", None).await;
    let text = events.to_string();
    assert!(text.contains("127.0.2.0/24") && !text.contains("127.0.3.0/24"), "{text}");
}
