//! Push login through standby, number match, approval and single-use assertions.

use sekimori_core::UserId;
use serde_json::Value;

use crate::harness::*;

fn push_challenges(msgs: &[Value]) -> Vec<&Value> {
    msgs.iter().filter(|m| m["type"] == "push_login").collect()
}

#[tokio::test]
async fn enrol_standby_push_approve_and_verify_once() {
    let s = TestServer::start().await;
    let alice = s.enrolled("alice").await;
    let rp = s.app("shop", "relying_party").await;

    let armed = alice.standby().await.expect("standby");
    assert_eq!(armed["seconds"], 60);
    let started = rp.start_push("alice", client("203.0.113.9", FIREFOX_LINUX)).await.expect("push");
    let login_id = started["login_id"].as_str().expect("id").to_owned();
    let number = started["number"].as_i64().expect("number");
    assert!((10..100).contains(&number));

    let msgs = alice.messages(0).await.expect("messages");
    let challenges = push_challenges(&msgs);
    assert_eq!(challenges.len(), 1);
    let c = challenges[0];
    assert_eq!(c["login_id"], login_id.as_str());
    assert_eq!(c["relying_party"], "shop");
    assert_eq!(c["service"], "Sekimori");
    assert_eq!(c["environment"]["browser"], "Firefox");
    assert_eq!(c["environment"]["network"], "203.0.113.0/24");
    assert!(c.get("number").is_none(), "the device must not be told the number");

    assert_eq!(rp.push_status(&login_id, 0).await.expect("status")["status"], "pending");
    alice.approve(&login_id, number).await.expect("approve");
    let status = rp.push_status(&login_id, 5).await.expect("status");
    assert_eq!(status["status"], "approved");
    let assertion = status["assertion"].as_str().expect("assertion");

    let verified = rp.verify_assertion(assertion).await.expect("verify");
    assert_eq!(verified["username"], "alice");
    assert_eq!(verified["level"], 2);
    assert_eq!(verified["login_id"], login_id.as_str());
    assert_eq!(code(rp.verify_assertion(assertion).await), "already_used");

    // The challenge is gone from the device, the window closed on the successful login.
    assert!(push_challenges(&alice.messages(0).await.expect("messages")).is_empty());
    assert_eq!(code(rp.start_push("alice", None).await), "outside_standby");
    let approved = s.events("action=auth.push.approved").await;
    assert_eq!(approved.len(), 1);
    assert_eq!(approved[0]["user"]["name"], "alice");
}

#[tokio::test]
async fn assertion_cannot_be_verified_by_another_app_or_after_expiry() {
    let s = TestServer::start().await;
    let alice = s.enrolled("alice").await;
    let rp = s.app("shop", "relying_party").await;
    let other = s.app("other", "relying_party").await;
    alice.standby().await.expect("standby");
    let started = rp.start_push("alice", None).await.expect("push");
    let id = started["login_id"].as_str().expect("id");
    alice.approve(id, started["number"].as_i64().expect("n")).await.expect("approve");
    let assertion = rp.push_status(id, 0).await.expect("status")["assertion"].as_str().expect("a").to_owned();
    assert_eq!(code(other.verify_assertion(&assertion).await), "forbidden");
    assert_eq!(code(other.push_status(id, 0).await), "not_found");
    s.clock.advance_seconds(61);
    assert_eq!(code(rp.verify_assertion(&assertion).await), "expired");
    assert_eq!(code(rp.verify_assertion("not.a.jwt").await), "invalid_request");
}

#[tokio::test]
async fn push_without_standby_is_refused_and_the_device_is_not_disturbed() {
    let s = TestServer::start().await;
    let alice = s.enrolled("alice").await;
    let rp = s.app("shop", "relying_party").await;
    assert_eq!(code(rp.start_push("alice", client("198.51.100.1", CHROME_MAC)).await), "outside_standby");
    assert!(alice.messages(0).await.expect("messages").is_empty(), "nothing delivered, not even a warning");
    let refused = s.events("action=auth.push.rejected_outside_standby").await;
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["user"]["name"], "alice");
    assert_eq!(refused[0]["event"]["outcome"], "failure");
    assert_eq!(refused[0]["source"]["ip"], "198.51.100.1");
}

#[tokio::test]
async fn push_after_the_window_expired_is_refused() {
    let s = TestServer::start().await;
    let alice = s.enrolled("alice").await;
    let rp = s.app("shop", "relying_party").await;
    alice.standby().await.expect("standby");
    s.clock.advance_seconds(59);
    rp.start_push("alice", None).await.expect("inside the window");
    s.clock.advance_seconds(1);
    assert_eq!(code(rp.start_push("alice", None).await), "outside_standby");
}

#[tokio::test]
async fn window_length_is_a_tenant_setting_and_can_be_switched_off() {
    let s = TestServer::start().await;
    let alice = s.enrolled("alice").await;
    let rp = s.app("shop", "relying_party").await;
    assert_eq!(code(s.admin.update_tenant(&serde_json::json!({"standby_seconds": 5})).await), "invalid_request");
    assert_eq!(code(s.admin.update_tenant(&serde_json::json!({"standby_seconds": 301})).await), "invalid_request");
    let t = s.admin.update_tenant(&serde_json::json!({"standby_seconds": 10})).await.expect("set");
    assert_eq!(t["standby_seconds"], 10);
    alice.standby().await.expect("standby");
    s.clock.advance_seconds(10);
    assert_eq!(code(rp.start_push("alice", None).await), "outside_standby");
    s.admin.update_tenant(&serde_json::json!({"standby_required": false})).await.expect("off");
    rp.start_push("alice", None).await.expect("no window needed");
    assert_eq!(s.events("action=admin.tenant.updated").await.len(), 2);
}

#[tokio::test]
async fn deny_wrong_number_expiry_and_double_decision() {
    let s = TestServer::start().await;
    let alice = s.enrolled("alice").await;
    let rp = s.app("shop", "relying_party").await;

    alice.standby().await.expect("standby");
    let a = rp.start_push("alice", None).await.expect("push");
    let a_id = a["login_id"].as_str().expect("id");
    alice.deny(a_id).await.expect("deny");
    assert_eq!(rp.push_status(a_id, 0).await.expect("status")["status"], "denied");
    assert!(rp.push_status(a_id, 0).await.expect("status").get("assertion").is_none());
    assert_eq!(code(alice.approve(a_id, a["number"].as_i64().expect("n")).await), "already_used");

    // A denial does not close the window: the user may try again.
    let b = rp.start_push("alice", None).await.expect("push");
    let b_id = b["login_id"].as_str().expect("id");
    let wrong = if b["number"].as_i64() == Some(10) { 11 } else { 10 };
    assert_eq!(code(alice.approve(b_id, wrong).await), "number_mismatch");
    assert_eq!(rp.push_status(b_id, 0).await.expect("status")["status"], "denied", "one guess only");
    assert_eq!(s.events("action=auth.push.rejected_number_mismatch").await.len(), 1);

    let c = rp.start_push("alice", None).await.expect("push");
    let c_id = c["login_id"].as_str().expect("id");
    s.clock.advance_seconds(60);
    assert_eq!(rp.push_status(c_id, 0).await.expect("status")["status"], "expired");
    assert_eq!(code(alice.approve(c_id, c["number"].as_i64().expect("n")).await), "expired");
}

#[tokio::test]
async fn long_polls_wake_on_challenge_and_on_approval() {
    let s = TestServer::start().await;
    let alice = std::sync::Arc::new(s.enrolled("alice").await);
    let rp = s.app("shop", "relying_party").await;
    alice.standby().await.expect("standby");
    let device_wait = tokio::spawn({
        let alice = alice.clone();
        async move { alice.messages(30).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let started = rp.start_push("alice", None).await.expect("push");
    let id = started["login_id"].as_str().expect("id").to_owned();
    let msgs = device_wait.await.expect("join").expect("device long-poll returns the challenge");
    assert!(msgs.iter().any(|m| m["login_id"] == id.as_str() && m["type"] == "push_login"));
    let rp_wait = tokio::spawn({
        let rp = rp.clone();
        let id = id.clone();
        async move { rp.push_status(&id, 30).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    alice.approve(&id, started["number"].as_i64().expect("n")).await.expect("approve");
    let status = rp_wait.await.expect("join").expect("status");
    assert_eq!(status["status"], "approved");
}

#[tokio::test]
async fn several_devices_and_removal_of_one() {
    let s = TestServer::start().await;
    let phone = s.enrolled("alice").await;
    let laptop = s.enrolled("alice").await;
    let rp = s.app("shop", "relying_party").await;
    let devices = s.admin.list_devices("alice").await.expect("devices");
    assert_eq!(devices.as_array().expect("array").len(), 2);

    laptop.standby().await.expect("standby from the second device");
    let started = rp.start_push("alice", None).await.expect("push");
    assert_eq!(push_challenges(&phone.messages(0).await.expect("phone")).len(), 1, "every device sees it");

    s.admin.remove_device("alice", &phone.state().device_id).await.expect("remove");
    assert_eq!(code(phone.standby().await), "unauthorized");
    laptop
        .approve(started["login_id"].as_str().expect("id"), started["number"].as_i64().expect("n"))
        .await
        .expect("laptop still works");
    assert_eq!(code(s.admin.remove_device("alice", &phone.state().device_id).await), "not_found");
    assert_eq!(s.events("action=iam.device.removed").await.len(), 1);
}

#[tokio::test]
async fn users_without_devices_and_unknown_users() {
    let s = TestServer::start().await;
    let rp = s.app("shop", "relying_party").await;
    s.admin.add_user("bob", Some("bob@example.org"), None).await.expect("add");
    assert_eq!(code(s.admin.add_user("bob", None, None).await), "conflict");
    assert_eq!(code(rp.start_push("bob", None).await), "no_devices");
    assert_eq!(code(rp.start_push("nobody", None).await), "not_found");
    let verifier = s.app("gate", "verifier").await;
    assert_eq!(code(verifier.start_push("bob", None).await), "forbidden");
}

/// Records what the gate hands to delivery channels (where Web Push plugs in).
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<(String, Vec<String>)>>);

impl sekimori_gate::notify::Delivery for Recorder {
    fn deliver(&self, user_id: &UserId, messages: &[sekimori_store::InboxMessage]) {
        let kinds = messages.iter().map(|m| m.kind.as_str().to_owned()).collect();
        self.0.lock().expect("lock").push((user_id.to_string(), kinds));
    }
}

#[tokio::test]
async fn delivery_channels_get_challenges_but_never_refused_attempts() {
    let recorder = std::sync::Arc::new(Recorder::default());
    let s = TestServer::start_with(Backend::Sqlite, Some(recorder.clone())).await;
    let alice = s.enrolled("alice").await;
    let rp = s.app("shop", "relying_party").await;
    assert_eq!(code(rp.start_push("alice", client("192.0.2.1", CHROME_MAC)).await), "outside_standby");
    assert!(recorder.0.lock().expect("lock").is_empty(), "outside standby, no channel is disturbed");
    alice.standby().await.expect("standby");
    rp.start_push("alice", client("192.0.2.1", CHROME_MAC)).await.expect("push");
    let calls = recorder.0.lock().expect("lock").clone();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].1, vec!["push_login".to_owned(), "environment_warning".to_owned()]);
}
