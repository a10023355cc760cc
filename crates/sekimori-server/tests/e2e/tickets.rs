//! One-time tickets: issue, show on the authenticator, redeem exactly once, also under
//! 100 concurrent verifiers on SQLite and on PostgreSQL.

use crate::harness::*;

#[tokio::test]
async fn ticket_is_shown_on_the_authenticator_and_redeemed_once() {
    let s = TestServer::start().await;
    let alice = s.enrolled("alice").await;
    let rp = s.app("canteen", "relying_party").await;
    let verifier = s.app("till 1", "verifier").await;
    let issued = rp.issue_ticket("alice", "lunch", None).await.expect("issue");
    assert_eq!(issued["entitlement"], "lunch");

    let shown = alice.tickets().await.expect("tickets");
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0]["payload"], issued["payload"]);
    let payload = shown[0]["payload"].as_str().expect("payload");

    assert_eq!(code(rp.redeem_ticket(payload).await), "forbidden", "a relying-party key cannot redeem");
    let first = verifier.redeem_ticket(payload).await.expect("redeem");
    assert_eq!(first["username"], "alice");
    assert_eq!(first["entitlement"], "lunch");
    let again = verifier.redeem_ticket(payload).await.expect_err("second");
    let sekimori_client::ClientError::Problem(p) = again else { panic!("{again:?}") };
    assert_eq!(p.code, "already_redeemed");
    assert_eq!(p.body["first_redeemed_at"], first["redeemed_at"]);
    assert!(alice.tickets().await.expect("tickets").is_empty());

    // A forged MAC or a made-up ticket is not a ticket.
    let forged = format!("{}x", &payload[..payload.len() - 1]);
    assert_eq!(code(verifier.redeem_ticket(&forged).await), "invalid_request");
    assert_eq!(code(verifier.redeem_ticket("sekimori://ticket?t=nope").await), "invalid_request");
}

#[tokio::test]
async fn ticket_expiry_and_ttl_limits() {
    let s = TestServer::start().await;
    s.admin.add_user("alice", None, None).await.expect("add");
    let rp = s.app("canteen", "relying_party").await;
    let verifier = s.app("till", "verifier").await;
    let t = rp.issue_ticket("alice", "coffee", Some(30)).await.expect("issue");
    s.clock.advance_seconds(30);
    assert_eq!(code(verifier.redeem_ticket(t["payload"].as_str().expect("payload")).await), "expired");
    assert_eq!(code(rp.issue_ticket("alice", "coffee", Some(0)).await), "invalid_request");
    assert_eq!(code(rp.issue_ticket("alice", "coffee", Some(31 * 86_400)).await), "invalid_request");
    assert_eq!(code(rp.issue_ticket("alice", "two words", None).await), "invalid_request");
}

async fn hundred_verifiers(backend: Backend) {
    let s = TestServer::start_on(backend).await;
    s.admin.add_user("alice", None, None).await.expect("add");
    let rp = s.app("canteen", "relying_party").await;
    let issued = rp.issue_ticket("alice", "lunch", None).await.expect("issue");
    let payload = issued["payload"].as_str().expect("payload").to_owned();
    let mut verifiers = Vec::new();
    for i in 0..100 {
        verifiers.push(s.app(&format!("till {i}"), "verifier").await);
    }
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(100));
    let tasks: Vec<_> = verifiers
        .into_iter()
        .map(|v| {
            let payload = payload.clone();
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                v.redeem_ticket(&payload).await
            })
        })
        .collect();
    let (mut ok, mut already, mut first_at) = (0, 0, Vec::new());
    for t in tasks {
        match t.await.expect("join") {
            Ok(r) => {
                ok += 1;
                first_at.push(r["redeemed_at"].clone());
            }
            Err(sekimori_client::ClientError::Problem(p)) if p.code == "already_redeemed" => {
                already += 1;
                first_at.push(p.body["first_redeemed_at"].clone());
            }
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!((ok, already), (1, 99));
    assert!(first_at.windows(2).all(|w| w[0] == w[1]), "everyone is told the same first redemption time");
    assert_eq!(s.events("action=ticket.redeemed").await.len(), 1);
    assert_eq!(s.events("action=ticket.rejected_already_redeemed").await.len(), 99);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_concurrent_verifiers_sqlite() {
    hundred_verifiers(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_concurrent_verifiers_postgres() {
    hundred_verifiers(Backend::Postgres).await;
}
