//! The hosted QR login page in real headless Chromium (Debian's `chromium`, driven by
//! `tests/browser/qr-login.mjs` with playwright-core): the page shows a code, replaces it
//! when it expires, and completes when the authenticator scans the current one.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::harness::*;

pub(crate) async fn next_line(lines: &mut Lines) -> String {
    tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the browser script answers within 60 s")
        .expect("read")
        .expect("the browser script ended early")
}

pub(crate) type Lines = tokio::io::Lines<BufReader<tokio::process::ChildStdout>>;

/// Starts `node tests/browser/<script> <args…>`; the child and its stdout lines.
pub(crate) fn node(script: &str, args: &[&std::ffi::OsStr]) -> (tokio::process::Child, Lines) {
    let (child, _, lines) = spawn_node(script, args, Stdio::null());
    (child, lines)
}

/// [`node`] for a script that also reads lines from its standard input (a code the test
/// computes once the page asks for it): the child, its stdin and its stdout lines.
pub(crate) fn node_interactive<S: AsRef<std::ffi::OsStr>>(
    script: &str,
    args: &[S],
) -> (tokio::process::Child, tokio::process::ChildStdin, Lines) {
    let (child, stdin, lines) = spawn_node(script, args, Stdio::piped());
    (child, stdin.expect("stdin"), lines)
}

fn spawn_node<S: AsRef<std::ffi::OsStr>>(
    script: &str,
    args: &[S],
    stdin: Stdio,
) -> (tokio::process::Child, Option<tokio::process::ChildStdin>, Lines) {
    let mut child = tokio::process::Command::new("node")
        .arg(browser_dir().join(script))
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node is installed");
    let input = child.stdin.take();
    let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    (child, input, lines)
}

pub(crate) fn browser_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_page_in_chromium_refreshes_and_completes() {
    let s = TestServer::start().await;
    let alice = s.enrolled("alice").await;
    let rp = s.app("shop", "relying_party").await;
    let dir = browser_dir();
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "run `npm ci` in tests/browser (scripts/test does it) to install playwright-core"
    );
    let screenshot = std::env::temp_dir().join("sekimori-qr-login.png");
    let (mut child, mut lines) = node("qr-login.mjs", &[s.url.as_ref(), screenshot.as_os_str()]);

    let first = next_line(&mut lines).await;
    let first = first.strip_prefix("PAYLOAD ").expect("first payload").to_owned();
    assert!(first.starts_with("sekimori://login?s="), "{first}");
    // The code expires; the page notices (its long-poll re-checks) and shows a new one.
    s.clock.advance_seconds(60);
    let second = next_line(&mut lines).await;
    let second = second.strip_prefix("PAYLOAD ").expect("second payload").to_owned();
    assert_ne!(first, second);
    assert_eq!(code(alice.scan(&first).await), "expired");
    let scanned = alice.scan(&second).await.expect("scan the current code");
    assert_eq!(scanned["environment"]["browser"], "Chrome", "the page's browser is recorded");

    let status = next_line(&mut lines).await;
    assert_eq!(status, "STATUS Logged in as alice.");
    let assertion = next_line(&mut lines).await;
    let assertion = assertion.strip_prefix("ASSERTION ").expect("assertion");
    let verified = rp.verify_assertion(assertion).await.expect("the page's assertion verifies");
    assert_eq!(verified["username"], "alice");
    assert_eq!(verified["level"], 3);
    let exit = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("exits").expect("wait");
    assert!(exit.success(), "the page raised no script errors");
    assert!(std::fs::metadata(&screenshot).map(|m| m.len() > 0).unwrap_or(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_sign_in_in_chromium_starts_a_session() {
    let s = TestServer::start().await;
    let alice = s.enrolled("alice").await;
    let (mut child, mut lines) = node("qr-session.mjs", &[s.url.as_ref()]);
    let payload = next_line(&mut lines).await;
    let payload = payload.strip_prefix("PAYLOAD ").expect("payload").to_owned();
    alice.scan(&payload).await.expect("scan");
    let session = next_line(&mut lines).await;
    let session: serde_json::Value =
        serde_json::from_str(session.strip_prefix("SESSION ").expect("session")).expect("the session as JSON");
    assert_eq!((session["username"].as_str(), session["level"].as_u64()), (Some("alice"), Some(3)), "{session}");
    let exit = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("exits").expect("wait");
    assert!(exit.success(), "the page raised no script errors");
}

/// The copy-paste snippet on an integrator's page (another origin, with the README's
/// `integrity`): the widget shows a QR code, the authenticator scans it, the page's callback
/// gets the assertion, and only that app's backend can verify it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_snippet_on_another_origin() {
    let s = TestServer::start().await;
    let alice = s.enrolled("alice").await;
    // The integrator's site.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let site = format!("http://{}", listener.local_addr().expect("addr"));
    let (status, created) = s
        .admin_call(
            reqwest::Method::POST,
            "/api/v1/admin/apps",
            Some(serde_json::json!({"name": "shop", "origins": [site.clone()]})),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{created}");
    let app_id = created["app"]["id"].as_str().expect("id").to_owned();
    assert_eq!(created["app"]["origins"], serde_json::json!([site.clone()]));
    let shop_key = created["key"].as_str().expect("key").to_owned();
    let server: serde_json::Value =
        s.http().get(format!("{}/api/v1/server", s.url)).send().await.expect("info").json().await.expect("json");
    let sri = server["sdk_integrity"].as_str().expect("sri").to_owned();
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Shop</title></head><body>\
         <div id=\"sekimori-login\"></div>\
         <script>function onSekimoriLogin(d) {{ document.body.setAttribute('data-user', d.username); \
         document.body.setAttribute('data-review', d.review_id); \
         document.body.setAttribute('data-signals', JSON.stringify(d.signals)); \
         document.body.setAttribute('data-assertion', d.assertion); }}</script>\
         <script src=\"{}/sdk/v1/sekimori.js\" integrity=\"{sri}\" crossorigin=\"anonymous\" \
         data-app=\"{app_id}\" data-callback=\"onSekimoriLogin\"></script></body></html>",
        s.url
    );
    tokio::spawn(async move {
        let app = axum::Router::new()
            .route("/", axum::routing::get(move || async move { axum::response::Html(html) }))
            .route("/favicon.ico", axum::routing::get(|| async { axum::http::StatusCode::NO_CONTENT }));
        axum::serve(listener, app).await
    });

    let page = format!("{site}/");
    let (mut child, mut lines) = node("snippet.mjs", &[page.as_ref()]);
    let payload = next_line(&mut lines).await;
    alice.scan(payload.strip_prefix("PAYLOAD ").expect("payload")).await.expect("scan");
    let login = next_line(&mut lines).await;
    let mut parts = login.strip_prefix("LOGIN ").expect("login").splitn(4, ' ');
    assert_eq!(parts.next(), Some("alice"));
    let assertion = parts.next().expect("assertion").to_owned();
    // What the page's backend passes on as `client` when it verifies: the review id the
    // snippet keeps in a cookie on the page's origin, and the browser's signals.
    let review = parts.next().expect("review id");
    assert!(
        review.len() == 22 && review.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{review}"
    );
    let signals: serde_json::Value = serde_json::from_str(parts.next().expect("signals")).expect("signals JSON");
    assert_eq!(
        (signals["webdriver"].as_bool(), signals["headless"].as_bool()),
        (Some(false), Some(false)),
        "{signals}"
    );
    let exit = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("exits").expect("wait");
    assert!(exit.success(), "no script or integrity errors on the page");

    // Another relying party cannot use the shop's assertion; the shop's backend can, once.
    let other = s.app("other", "relying_party").await;
    assert_eq!(code(other.verify_assertion(&assertion).await), "forbidden");
    let shop = sekimori_client::AppClient::new(&s.url, &shop_key);
    let verified = shop.verify_assertion(&assertion).await.expect("verify");
    assert_eq!((verified["username"].as_str(), verified["level"].as_u64()), (Some("alice"), Some(3)));
    assert_eq!(code(shop.verify_assertion(&assertion).await), "already_used");

    // A page on an origin the app does not list cannot start a login for it.
    let refused = s
        .http()
        .post(format!("{}/api/v1/qr-sessions?app={app_id}", s.url))
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("send");
    assert_eq!(refused.status(), reqwest::StatusCode::FORBIDDEN);
    let anonymous =
        s.http().post(format!("{}/api/v1/qr-sessions", s.url)).header("origin", site).send().await.expect("send");
    assert_eq!(anonymous.status(), reqwest::StatusCode::FORBIDDEN, "another origin must name its app");
}

/// Passkeys on the hosted login page in Chromium with a virtual authenticator: added by a
/// signed-in user, then used alone (discoverable, no username) for a level-3 session, and
/// to sign in to the console.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkey_in_chromium() {
    let mut origin = String::new();
    let s = TestServer::start_configured(Backend::Sqlite, None, |g| {
        // WebAuthn needs a domain: the browser uses localhost for the same server.
        origin = g.public_url.replace("127.0.0.1", "localhost");
        g.passkey.rp_id = Some("localhost".into());
        g.passkey.origins = vec![origin.clone()];
    })
    .await;
    crate::login::with_password(&s, "alice").await;
    let (status, _) = s
        .admin_call(
            reqwest::Method::PUT,
            "/api/v1/admin/console-roles/user/alice",
            Some(serde_json::json!({"role": "admin"})),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let (mut child, mut lines) =
        node("passkey.mjs", &[origin.as_ref(), "alice".as_ref(), "kumamoto42".as_ref(), "console".as_ref()]);
    assert_eq!(next_line(&mut lines).await, "ADDED Passkey added.");
    let session = next_line(&mut lines).await;
    let session: serde_json::Value =
        serde_json::from_str(session.strip_prefix("SESSION ").expect("session")).expect("the session as JSON");
    assert_eq!((session["username"].as_str(), session["level"].as_u64()), (Some("alice"), Some(3)), "{session}");
    assert_eq!(session["amr"], serde_json::json!(["pop", "mfa"]));
    // The console asks for level 2; the passkey gives it.
    assert_eq!(next_line(&mut lines).await, "CONSOLE Signed in as alice (admin)");
    let exit = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("exits").expect("wait");
    assert!(exit.success(), "the page raised no script errors");
    assert_eq!(s.events("action=credential.passkey.registered").await.len(), 1);
}
