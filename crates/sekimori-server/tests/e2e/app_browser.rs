//! The authenticator app (`/app/`) in headless Chromium on a phone-sized screen, with
//! Chromium's fake camera fed by a Y4M video of a QR code this test writes
//! (`tests/browser/app.mjs`): enrol by camera, the key's handling, arm, push with number
//! matching (a wrong number refused, the right one approved), the service worker's push
//! handling, deny and "not me", QR login by camera, a ticket shown and redeemed by a
//! verifier, the other screens, Japanese, and the app reopened offline.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::browser::{browser_dir, next_line, node_interactive};
use crate::harness::*;

/// Writes a Y4M video (YUV 4:2:0, 640×480, 10 frames) showing `text` as a QR code, the
/// way Chromium's `--use-file-for-fake-video-capture` reads a camera; replaced atomically
/// so a camera opening meanwhile never reads half a file.
pub(crate) fn qr_video(path: &Path, text: &str) {
    const W: usize = 640;
    const H: usize = 480;
    let code = qrcode::QrCode::new(text.as_bytes()).expect("QR code");
    let width = code.width();
    let colors = code.to_colors();
    let module = (H * 9 / 10) / (width + 8);
    let side = module * (width + 8);
    let (x0, y0) = ((W - side) / 2, (H - side) / 2);
    let mut luma = vec![200u8; W * H];
    for y in 0..side {
        for x in 0..side {
            let (mx, my) = ((x / module) as isize - 4, (y / module) as isize - 4);
            let dark = mx >= 0
                && my >= 0
                && (mx as usize) < width
                && (my as usize) < width
                && colors[my as usize * width + mx as usize] == qrcode::Color::Dark;
            luma[(y0 + y) * W + x0 + x] = if dark { 16 } else { 235 };
        }
    }
    let chroma = vec![128u8; W * H / 4];
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).expect("video file");
    writeln!(f, "YUV4MPEG2 W{W} H{H} F10:1 Ip A1:1 C420jpeg").expect("header");
    for _ in 0..10 {
        f.write_all(b"FRAME\n").expect("frame");
        f.write_all(&luma).expect("Y");
        f.write_all(&chroma).expect("U");
        f.write_all(&chroma).expect("V");
    }
    drop(f);
    std::fs::rename(&tmp, path).expect("replace the video");
}

/// `tests/browser/app.mjs` on a phone with `video` as its camera: the child, its stdin
/// (commands) and its stdout lines (answers).
fn phone(
    s: &TestServer,
    video: &Path,
    profile: &Path,
    shots: &Path,
    extra: &[&str],
) -> (tokio::process::Child, tokio::process::ChildStdin, crate::browser::Lines) {
    let path = |p: &Path| p.to_str().expect("a UTF-8 path").to_owned();
    let mut args = vec![s.url.clone(), path(video), path(profile), path(shots)];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    node_interactive("app.mjs", &args)
}

async fn send(stdin: &mut tokio::process::ChildStdin, line: &str) {
    stdin.write_all(format!("{line}\n").as_bytes()).await.expect("command");
}

async fn expect_prefix(lines: &mut crate::browser::Lines, prefix: &str) -> String {
    let line = next_line(lines).await;
    line.strip_prefix(prefix).unwrap_or_else(|| panic!("expected {prefix:?}, got {line:?}")).trim().to_owned()
}

/// The QR decoder served to the app is the pinned npm package's file, unmodified.
#[test]
fn the_vendored_qr_decoder_is_the_pinned_npm_package() {
    let npm = browser_dir().join("node_modules/jsqr/dist/jsQR.js");
    let vendored = Path::new(env!("CARGO_MANIFEST_DIR")).join("static/app/vendor/jsQR.js");
    let npm = std::fs::read(&npm).unwrap_or_else(|e| panic!("{}: {e} (run `npm ci` in tests/browser)", npm.display()));
    assert!(
        npm == std::fs::read(&vendored).expect("vendored jsQR"),
        "static/app/vendor/jsQR.js differs from jsqr@1.4.0"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_on_a_phone_enrols_by_camera_approves_scans_shows_tickets_and_opens_offline() {
    assert!(browser_dir().join("node_modules/playwright-core").exists(), "run `npm ci` in tests/browser");
    let s = TestServer::start().await;
    let rp = s.app("shop", "relying_party").await;
    let gate = s.app("canteen-gate", "verifier").await;
    s.admin.add_user("alice", None, None).await.expect("user");
    let enrolment = s.admin.create_enrollment("alice").await.expect("enrolment");
    let dir = tempfile::tempdir().expect("tempdir");
    let video = dir.path().join("camera.y4m");
    qr_video(&video, enrolment["link"].as_str().expect("link"));
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("app-screenshots");
    let profile = dir.path().join("profile");
    let (mut child, mut stdin, mut lines) = phone(&s, &video, &profile, &shots, &[]);

    // Enrolled by camera: the device is the user's, with the name the app chose.
    let device_id = expect_prefix(&mut lines, "ENROLLED ").await;
    let devices = s.admin.list_devices("alice").await.expect("devices");
    let listed = devices.as_array().expect("list");
    assert_eq!(listed.len(), 1, "{devices}");
    assert_eq!(listed[0]["id"], device_id.as_str());
    assert_eq!(
        expect_prefix(&mut lines, "KEY ").await,
        "false InvalidAccessError Ed25519 ed25519",
        "non-extractable Ed25519"
    );
    assert_eq!(
        expect_prefix(&mut lines, "SIGNED ").await,
        "201 replayed invalid_signature",
        "the app's signature verifies once; a replay and a changed body are refused"
    );
    assert_eq!(next_line(&mut lines).await, "ARMED");

    // A wrong number is refused, and with it the login (one guess).
    let first = rp.start_push("alice", client("203.0.113.9", FIREFOX_LINUX)).await.expect("push");
    let number = first["number"].as_i64().expect("number");
    let wrong = if number == 99 { 10 } else { number + 1 };
    send(&mut stdin, &format!("PUSH {wrong}")).await;
    let refused = expect_prefix(&mut lines, "REFUSED ").await;
    assert!(refused.contains("did not match"), "{refused}");
    let login = first["login_id"].as_str().expect("id");
    assert_eq!(rp.push_status(login, 0).await.expect("status")["status"], "denied");

    // The right number logs in.
    let second = rp.start_push("alice", client("203.0.113.9", FIREFOX_LINUX)).await.expect("push");
    send(&mut stdin, &format!("PUSH {}", second["number"])).await;
    assert_eq!(next_line(&mut lines).await, "APPROVED");
    let status = rp.push_status(second["login_id"].as_str().expect("id"), 5).await.expect("status");
    assert_eq!(status["status"], "approved");
    let verified = rp.verify_assertion(status["assertion"].as_str().expect("assertion")).await.expect("verify");
    assert_eq!((verified["username"].as_str(), verified["level"].as_i64()), (Some("alice"), Some(2)));

    // Woken by a push, the service worker fetches the challenge and shows it; then denied.
    send(&mut stdin, "ARM").await;
    assert_eq!(next_line(&mut lines).await, "ARMED");
    let third = rp.start_push("alice", client("198.51.100.7", FIREFOX_LINUX)).await.expect("push");
    send(&mut stdin, "SWPUSH").await;
    let notified = expect_prefix(&mut lines, "NOTIFIED ").await;
    assert!(notified.starts_with("Login request: shop |"), "the notification names the app: {notified}");
    assert!(notified.contains("Firefox on Linux"), "and the environment, from the signed challenge: {notified}");
    send(&mut stdin, "DENY").await;
    assert_eq!(next_line(&mut lines).await, "DENIED");
    assert_eq!(rp.push_status(third["login_id"].as_str().expect("id"), 0).await.expect("status")["status"], "denied");

    // QR login by camera: the page's code, shown to the camera.
    let http = reqwest::Client::new();
    let qr: Value =
        http.post(format!("{}/api/v1/qr-sessions", s.url)).send().await.expect("qr").json().await.expect("json");
    qr_video(&video, qr["payload"].as_str().expect("payload"));
    send(&mut stdin, "SCAN").await;
    let scanned = expect_prefix(&mut lines, "SCANNED ").await;
    assert!(scanned.starts_with("ok Logged in"), "{scanned}");
    let done = s.qr_status(&qr, 5).await;
    assert_eq!((done["status"].as_str(), done["username"].as_str()), (Some("completed"), Some("alice")), "{done}");

    // A ticket shown full screen and read back from the screen is redeemed by a verifier, once.
    let ticket = rp.issue_ticket("alice", "lunch", Some(3600)).await.expect("ticket");
    send(&mut stdin, "TICKET").await;
    let shown = expect_prefix(&mut lines, "TICKET ").await;
    let (payload, entitlement) = shown.split_once(' ').expect("payload and entitlement");
    assert_eq!(payload, ticket["payload"].as_str().expect("payload"), "the screen shows the ticket's code");
    assert_eq!(entitlement, "lunch");
    let redeemed = gate.redeem_ticket(payload).await.expect("redeem");
    assert_eq!(redeemed["username"], "alice");
    assert_eq!(code(gate.redeem_ticket(payload).await), "already_redeemed");

    send(&mut stdin, "SCREENS").await;
    assert_eq!(next_line(&mut lines).await, "RENAMED");
    let devices = s.admin.list_devices("alice").await.expect("devices");
    assert_eq!(devices[0]["name"], "Alice's phone", "{devices}");

    // "Not me": denied and reported, push approvals suspended.
    send(&mut stdin, "ARM").await;
    assert_eq!(next_line(&mut lines).await, "ARMED");
    rp.start_push("alice", client("192.0.2.44", FIREFOX_LINUX)).await.expect("push");
    send(&mut stdin, "NOTME").await;
    assert_eq!(next_line(&mut lines).await, "REPORTED");
    assert_eq!(s.events("action=auth.push.reported").await.len(), 1);

    send(&mut stdin, "JA").await;
    let ja = expect_prefix(&mut lines, "JA ").await;
    assert!(ja.contains("待ち受け"), "{ja}");

    send(&mut stdin, "OFFLINE").await;
    assert_eq!(expect_prefix(&mut lines, "OFFLINE ").await, "true true", "the shell opens offline and says so");
    send(&mut stdin, "END").await;
    let exit = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("exits").expect("wait");
    assert!(exit.success(), "no page error and no CSP violation in Chromium");
    for screen in ["welcome", "home", "armed", "challenge", "scanner", "tickets", "ticket", "environments", "device"] {
        for scheme in ["light", "dark"] {
            let file = shots.join(format!("{screen}-{scheme}.png"));
            assert!(std::fs::metadata(&file).map(|m| m.len() > 1000).unwrap_or(false), "{}", file.display());
        }
    }
}

/// A browser whose WebCrypto has no Ed25519 (Safari before 17): the app makes a
/// non-extractable P-256 key, enrols it as `p256`, and everything else works the same: the
/// server's checks, approval, and the service worker verifying ES256-signed challenges.
/// This phone enrols from the enrolment page's "Open the Sekimori app" link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_falls_back_to_p256_where_the_browser_has_no_ed25519() {
    assert!(browser_dir().join("node_modules/playwright-core").exists(), "run `npm ci` in tests/browser");
    let s = TestServer::start().await;
    let rp = s.app("shop", "relying_party").await;
    s.admin.add_user("alice", None, None).await.expect("user");
    let enrolment = s.admin.create_enrollment("alice").await.expect("enrolment");
    let page = enrolment["https_link"].as_str().expect("https link").to_owned();
    let dir = tempfile::tempdir().expect("tempdir");
    let video = dir.path().join("camera.y4m");
    qr_video(&video, "not used: this phone enrols by the link");
    let shots = dir.path().join("shots");
    // The hosted pages point to the app.
    let qr_page = reqwest::get(format!("{}/login/qr", s.url)).await.expect("qr page").text().await.expect("html");
    assert!(qr_page.contains(r#"href="/app/""#), "the QR login page links to the app");
    let profile = dir.path().join("profile");
    let (mut child, mut stdin, mut lines) = phone(&s, &video, &profile, &shots, &["no-ed25519", page.as_str()]);
    expect_prefix(&mut lines, "ENROLLED ").await;
    assert_eq!(expect_prefix(&mut lines, "KEY ").await, "false InvalidAccessError ECDSA p256", "non-extractable P-256");
    assert_eq!(expect_prefix(&mut lines, "SIGNED ").await, "201 replayed invalid_signature");
    assert_eq!(next_line(&mut lines).await, "ARMED");
    let started = rp.start_push("alice", client("203.0.113.9", FIREFOX_LINUX)).await.expect("push");
    send(&mut stdin, "SWPUSH").await;
    let notified = expect_prefix(&mut lines, "NOTIFIED ").await;
    assert!(notified.starts_with("Login request: shop |"), "the worker verified the ES256 challenge: {notified}");
    send(&mut stdin, &format!("PUSH {}", started["number"])).await;
    assert_eq!(next_line(&mut lines).await, "APPROVED");
    let status = rp.push_status(started["login_id"].as_str().expect("id"), 5).await.expect("status");
    assert_eq!(status["status"], "approved");
    // The user removes this phone from the account: its key is refused from then on.
    send(&mut stdin, "REMOVE").await;
    assert_eq!(next_line(&mut lines).await, "REMOVED welcome");
    assert_eq!(s.admin.list_devices("alice").await.expect("devices").as_array().map(Vec::len), Some(0));
    let removed = s.events("action=iam.device.removed").await;
    assert_eq!(removed.len(), 1);
    send(&mut stdin, "END").await;
    let exit = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("exits").expect("wait");
    assert!(exit.success(), "no page error and no CSP violation in Chromium");
}
