//! The hosted QR login page in real headless Chromium (Debian's `chromium`, driven by
//! `tests/browser/qr-login.mjs` with playwright-core): the page shows a code, replaces it
//! when it expires, and completes when the authenticator scans the current one.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::harness::*;

async fn next_line(lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>) -> String {
    tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the browser script answers within 60 s")
        .expect("read")
        .expect("the browser script ended early")
}

fn browser_dir() -> std::path::PathBuf {
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
    let mut child = tokio::process::Command::new("node")
        .arg(dir.join("qr-login.mjs"))
        .arg(&s.url)
        .arg(&screenshot)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node is installed");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();

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
    let mut child = tokio::process::Command::new("node")
        .arg(browser_dir().join("qr-session.mjs"))
        .arg(&s.url)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node is installed");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
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
