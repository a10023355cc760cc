//! Conformance cases for passkeys: credentials per user, counters, and single-use
//! ceremonies under concurrency.

use super::*;
use sekimori_core::Timestamp;

fn passkey(u: &User, id: &str) -> PasskeyRecord {
    PasskeyRecord {
        id: id.into(),
        tenant_id: u.tenant_id.clone(),
        user_id: u.id.clone(),
        name: "laptop".into(),
        credential: r#"{"counter":0}"#.into(),
        created_at: Timestamp(T0),
        last_used_at: None,
    }
}

pub async fn passkeys_are_stored_used_and_deleted(s: S) {
    let u = user(&s, "alice").await;
    let b = user(&s, "bob").await;
    assert!(s.insert_passkey(&passkey(&u, "cred1"), &ev("credential.passkey.registered")).await.expect("insert"));
    assert!(!s.insert_passkey(&passkey(&b, "cred1"), &ev("x")).await.expect("insert"), "a credential id is unique");
    assert!(s.insert_passkey(&passkey(&u, "cred2"), &ev("credential.passkey.registered")).await.expect("insert"));
    let mine: Vec<String> = s.user_passkeys(&u.id).await.expect("list").into_iter().map(|p| p.id).collect();
    assert_eq!(mine, ["cred1", "cred2"]);
    assert!(s.user_passkeys(&b.id).await.expect("list").is_empty());
    s.passkey_used("cred1", r#"{"counter":7}"#, Timestamp(T0 + 5)).await.expect("used");
    let p = s.passkey("cred1").await.expect("read").expect("there");
    assert_eq!((p.credential.as_str(), p.last_used_at), (r#"{"counter":7}"#, Some(Timestamp(T0 + 5))));
    assert!(!s.delete_passkey(&b.id, "cred1", &ev("x")).await.expect("delete"), "only the owner's");
    assert!(s.delete_passkey(&u.id, "cred1", &ev("credential.passkey.deleted")).await.expect("delete"));
    assert!(s.passkey("cred1").await.expect("read").is_none());
    let filter = EventFilter { action: Some("credential.passkey.deleted".into()), limit: 10, ..Default::default() };
    assert_eq!(s.events(&filter).await.expect("events").len(), 1);
}

/// 50 concurrent answers to one ceremony: exactly one takes it.
pub async fn passkey_ceremony_is_taken_once_under_concurrency(s: S) {
    let u = user(&s, "alice").await;
    let c = PasskeyCeremony {
        id: "c1".into(),
        tenant_id: u.tenant_id.clone(),
        kind: CeremonyKind::Login,
        user_id: Some(u.id.clone()),
        state: "{}".into(),
        created_at: Timestamp(T0),
        expires_at: Timestamp(T0 + 300_000),
        consumed_at: None,
    };
    s.insert_passkey_ceremony(&c).await.expect("insert");
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move { s.consume_passkey_ceremony("c1", Timestamp(T0 + 1 + i)).await })
        })
        .collect();
    let mut done = 0;
    for t in tasks {
        match t.await.expect("join").expect("consume") {
            Consume::Done(got) => {
                assert_eq!(got.user_id.as_deref(), Some(u.id.as_str()));
                done += 1;
            }
            Consume::AlreadyUsed { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(done, 1);
    let late = PasskeyCeremony { id: "c2".into(), ..c };
    s.insert_passkey_ceremony(&late).await.expect("insert");
    assert_eq!(s.consume_passkey_ceremony("c2", Timestamp(T0 + 300_000)).await.expect("late"), Consume::Expired);
    assert_eq!(s.consume_passkey_ceremony("nope", Timestamp(T0)).await.expect("unknown"), Consume::NotFound);
}
