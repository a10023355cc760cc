//! Known environments: a login from a new one warns the user's devices; a known one does not.

use serde_json::Value;

use crate::harness::*;

fn warnings(msgs: &[Value]) -> Vec<&Value> {
    msgs.iter().filter(|m| m["type"] == "environment_warning").collect()
}

async fn approve_push(
    s: &TestServer,
    alice: &sekimori_client::Authenticator,
    rp: &sekimori_client::AppClient,
    ip: &str,
    ua: &str,
) -> Value {
    alice.standby().await.expect("standby");
    let started = rp.start_push("alice", client(ip, ua)).await.expect("push");
    let msgs = alice.messages(0).await.expect("messages");
    alice
        .approve(started["login_id"].as_str().expect("id"), started["number"].as_i64().expect("n"))
        .await
        .expect("approve");
    let _ = s;
    serde_json::json!({"started": started, "messages": msgs})
}

#[tokio::test]
async fn new_environment_warns_and_known_one_does_not() {
    let s = TestServer::start().await;
    let alice = s.enrolled("alice").await;
    let rp = s.app("shop", "relying_party").await;

    let first = approve_push(&s, &alice, &rp, "203.0.113.10", FIREFOX_LINUX).await;
    assert_eq!(first["started"]["environment_known"], false);
    let msgs = first["messages"].as_array().expect("array");
    let warned = warnings(msgs);
    assert_eq!(warned.len(), 1);
    assert!(warned[0]["text"].as_str().expect("text").contains("Firefox on Linux from 203.0.113.0/24"));
    let challenge = msgs.iter().find(|m| m["type"] == "push_login").expect("challenge");
    assert_eq!(challenge["environment"]["known"], false, "the challenge says so too");
    alice.dismiss(warned[0]["id"].as_str().expect("id")).await.expect("dismiss");

    // Same browser family, OS and /24 (another host, newer version): known, no warning.
    let ua = FIREFOX_LINUX.replace("128.0", "129.0");
    let second = approve_push(&s, &alice, &rp, "203.0.113.99", &ua).await;
    assert_eq!(second["started"]["environment_known"], true);
    assert!(warnings(second["messages"].as_array().expect("array")).is_empty());

    // Another network: warned again.
    let third = approve_push(&s, &alice, &rp, "198.51.100.7", FIREFOX_LINUX).await;
    assert_eq!(warnings(third["messages"].as_array().expect("array")).len(), 1);
}

#[tokio::test]
async fn refused_attempts_do_not_make_an_environment_known() {
    let s = TestServer::start().await;
    let alice = s.enrolled("alice").await;
    let rp = s.app("shop", "relying_party").await;
    // An attacker with the password but without the phone: refused, recorded, not learnt.
    assert_eq!(code(rp.start_push("alice", client("192.0.2.66", CHROME_MAC)).await), "outside_standby");
    let envs = alice.environments().await.expect("envs");
    assert_eq!(envs.len(), 1);
    assert_eq!(envs[0]["known"], false);
    alice.standby().await.expect("standby");
    let started = rp.start_push("alice", client("192.0.2.70", CHROME_MAC)).await.expect("push");
    assert_eq!(started["environment_known"], false);
    alice.deny(started["login_id"].as_str().expect("id")).await.expect("deny");
    let again = rp.start_push("alice", client("192.0.2.70", CHROME_MAC)).await.expect("push");
    assert_eq!(again["environment_known"], false, "a denied login does not make it known");
}

#[tokio::test]
async fn user_lists_trusts_and_revokes_environments() {
    let s = TestServer::start().await;
    let alice = s.enrolled("alice").await;
    let rp = s.app("shop", "relying_party").await;
    approve_push(&s, &alice, &rp, "203.0.113.10", FIREFOX_LINUX).await;
    let envs = alice.environments().await.expect("envs");
    assert_eq!(envs.len(), 1);
    assert_eq!(envs[0]["known"], true);
    let key = envs[0]["key"].as_str().expect("key").to_owned();
    alice.trust_environment(&key, true).await.expect("trust");
    assert_eq!(alice.environments().await.expect("envs")[0]["trusted"], true);
    let admin_view = s.admin.list_environments("alice").await.expect("admin view");
    assert_eq!(admin_view[0]["key"], key.as_str());

    alice.revoke_environment(&key).await.expect("revoke");
    assert!(alice.environments().await.expect("envs").is_empty());
    assert_eq!(code(alice.revoke_environment(&key).await), "not_found");
    let after = approve_push(&s, &alice, &rp, "203.0.113.10", FIREFOX_LINUX).await;
    assert_eq!(after["started"]["environment_known"], false, "a revoked environment warns again");
    assert_eq!(s.events("action=iam.environment.revoked").await.len(), 1);
}
