//! Conformance cases for Web Push subscriptions: one per device, listed for live devices
//! only, and dropped only while still the one a push service reported gone.

use super::*;

fn subscription(d: &Device, endpoint: &str, at: i64) -> PushSubscription {
    PushSubscription {
        device_id: d.id.clone(),
        tenant_id: d.tenant_id.clone(),
        user_id: d.user_id.clone(),
        endpoint: endpoint.into(),
        p256dh: "BPub".into(),
        auth: "auth".into(),
        created_at: Timestamp(at),
    }
}

/// Also: a device renamed while live.
pub async fn push_subscriptions_are_replaced_listed_and_dropped(s: S) {
    let u = user(&s, "alice").await;
    let b = user(&s, "bob").await;
    let phone = device(&s, &u, "d-phone").await;
    let tablet = device(&s, &u, "d-tablet").await;
    let bobs = device(&s, &b, "d-bob").await;
    let put = |sub: PushSubscription| {
        let s = s.clone();
        async move { s.put_push_subscription(&sub, &ev("iam.device.push_subscribed")).await.expect("put") }
    };
    put(subscription(&phone, "https://push.example/old", T0)).await;
    put(subscription(&phone, "https://push.example/new", T0 + 2)).await;
    put(subscription(&tablet, "https://push.example/tablet", T0 + 1)).await;
    put(subscription(&bobs, "https://push.example/bob", T0)).await;
    let mine: Vec<String> = s.push_subscriptions(&u.id).await.expect("list").into_iter().map(|p| p.endpoint).collect();
    assert_eq!(mine, ["https://push.example/tablet", "https://push.example/new"], "one per device, replaced");
    let filter = EventFilter { action: Some("iam.device.push_subscribed".into()), limit: 10, ..Default::default() };
    assert_eq!(s.events(&filter).await.expect("events").len(), 4, "each subscription audited");

    // A stale report of the replaced endpoint keeps the new subscription.
    assert!(!s.delete_push_subscription(&phone.id, "https://push.example/old").await.expect("delete"));
    assert!(s.delete_push_subscription(&phone.id, "https://push.example/new").await.expect("delete"));
    assert!(!s.delete_push_subscription(&phone.id, "https://push.example/new").await.expect("delete"), "once");

    // A device is renamed while live.
    assert!(s.rename_device(&tablet.id, "kitchen tablet", &ev("iam.device.renamed")).await.expect("rename"));
    assert_eq!(s.device(&tablet.id).await.expect("read").expect("there").name, "kitchen tablet");

    // A removed device is not woken, nor renamed.
    assert!(s.revoke_device(&tablet.id, Timestamp(T0 + 5), &ev("iam.device.revoked")).await.expect("revoke"));
    assert!(s.push_subscriptions(&u.id).await.expect("list").is_empty());
    assert!(!s.rename_device(&tablet.id, "gone", &ev("iam.device.renamed")).await.expect("rename"));
    assert_eq!(s.push_subscriptions(&b.id).await.expect("list").len(), 1);
}
