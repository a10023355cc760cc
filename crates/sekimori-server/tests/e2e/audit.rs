//! The audit log over the API: filters, NDJSON export, chain verification.

use crate::harness::*;

#[tokio::test]
async fn events_are_filtered_and_exported_and_the_chain_verifies() {
    let s = TestServer::start().await;
    let alice = s.enrolled("alice").await;
    s.enrolled("bob").await;
    let rp = s.app("shop", "relying_party").await;
    let _ = rp.start_push("alice", None).await;
    alice.standby().await.expect("standby");
    s.clock.advance_seconds(5);
    let started = rp.start_push("alice", None).await.expect("push");
    alice.approve(started["login_id"].as_str().expect("id"), started["number"].as_i64().expect("n")).await.expect("ok");

    let alice_events = s.events("user=alice").await;
    assert!(alice_events.iter().all(|e| e["user"]["name"] == "alice"));
    let actions: Vec<&str> = alice_events.iter().filter_map(|e| e["event"]["action"].as_str()).collect();
    for expected in [
        "iam.user.created",
        "iam.device.enrolled",
        "auth.push.rejected_outside_standby",
        "auth.standby.opened",
        "auth.push.started",
        "auth.push.approved",
    ] {
        assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
    }
    let since = sekimori_core::Timestamp(START.millis() + 5000).to_rfc3339();
    let later = s.events(&format!("since={since}")).await;
    assert!(later.iter().all(|e| e["@timestamp"].as_str().expect("ts") >= since.as_str()));
    assert!(later.iter().any(|e| e["event"]["action"] == "auth.push.approved"));
    assert!(!later.iter().any(|e| e["event"]["action"] == "auth.standby.opened"));

    let ndjson = s.admin.events_ndjson("action=auth.push.*").await.expect("ndjson");
    let lines: Vec<serde_json::Value> =
        ndjson.lines().map(|l| serde_json::from_str(l).expect("line is JSON")).collect();
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|e| e["event"]["action"].as_str().expect("action").starts_with("auth.push.")));
    assert!(lines.iter().all(|e| e["sekimori"]["tenant"].is_string() && e["sekimori"]["audit"]["seq"].is_i64()));

    let report = s.admin.verify_audit().await.expect("verify");
    assert!(report["first_broken"].is_null(), "{report}");
    assert!(report["rows_checked"].as_u64().expect("n") >= 10);
    // The walk is recorded in the log, with who asked.
    let recorded = s.events("action=audit.chain.verified").await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0]["event"]["outcome"], "success");
    assert_eq!(recorded[0]["sekimori"]["audit_chain"]["rows_checked"], report["rows_checked"]);
    assert!(recorded[0]["sekimori"]["audit_chain"]["by"].is_string(), "{}", recorded[0]);
}
