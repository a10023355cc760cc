//! Conformance cases for the versioned tenant documents (tuning and alert routing) and
//! alert silences.

use super::*;
use sekimori_core::TenantId;
use sekimori_core::Timestamp;

pub async fn tenant_documents_are_versioned_sequentially_under_concurrency(s: S) {
    let t = tenant(&s).await;
    for kind in [DocumentKind::Tuning, DocumentKind::Routing] {
        let action = format!("admin.{}.updated", kind.as_str());
        assert!(s.document(kind, &t.id).await.expect("read").is_none());
        let rec = |version: i64, doc: &str| DocumentRecord {
            tenant_id: t.id.clone(),
            version,
            doc: doc.into(),
            author: "adm1".into(),
            created_at: Timestamp(T0 + version),
        };
        assert!(!s.insert_document(kind, &rec(2, "{}"), &ev(&action)).await.expect("insert"), "v1 first");
        assert!(s.insert_document(kind, &rec(1, r#"{"a":1}"#), &ev(&action)).await.expect("insert"));
        // Eight admins propose version 2 at once: exactly one wins.
        let mut tasks = Vec::new();
        for i in 0..8 {
            let (s, r, action) = (s.clone(), rec(2, &format!(r#"{{"b":{i}}}"#)), action.clone());
            tasks.push(tokio::spawn(async move { s.insert_document(kind, &r, &ev(&action)).await.expect("insert") }));
        }
        let mut won = 0;
        for task in tasks {
            won += usize::from(task.await.expect("join"));
        }
        assert_eq!(won, 1, "{kind:?}");
        let current = s.document(kind, &t.id).await.expect("read").expect("some");
        assert_eq!(current.version, 2);
        assert_eq!(
            s.document_version(kind, &t.id, 1).await.expect("read").map(|r| r.doc),
            Some(r#"{"a":1}"#.to_owned())
        );
        let versions = s.document_versions(kind, &t.id, 10).await.expect("list");
        assert_eq!(versions.iter().map(|r| r.version).collect::<Vec<_>>(), [2, 1]);
        assert!(s.document(kind, &TenantId::new("other-tenant")).await.expect("read").is_none());
        let audited = s.events(&EventFilter { limit: 1000, ..Default::default() }).await.expect("events");
        assert_eq!(audited.iter().filter(|e| e.doc.contains(&action)).count(), 2, "one per version");
    }
    // The two kinds are kept apart.
    let tuning = s.document(DocumentKind::Tuning, &t.id).await.expect("read").expect("some");
    let routing = s.document(DocumentKind::Routing, &t.id).await.expect("read").expect("some");
    assert_eq!((tuning.version, routing.version), (2, 2));
    assert_eq!(s.document_versions(DocumentKind::Routing, &t.id, 10).await.expect("list").len(), 2);
}

pub async fn silences_are_listed_until_they_end_and_expired_once(s: S) {
    let t = tenant(&s).await;
    let silence = |id: &str, starts_at: i64, ends_at: i64| SilenceRecord {
        id: id.into(),
        tenant_id: t.id.clone(),
        matchers: vec![r#"user="alice""#.into(), "rule=~new_.*".into()],
        starts_at: Timestamp(starts_at),
        ends_at: Timestamp(ends_at),
        created_by: "admin_token:a1".into(),
        comment: "travelling".into(),
        created_at: Timestamp(T0),
    };
    s.insert_silence(&silence("s1", T0, T0 + 1_000), &ev("admin.silence.created")).await.expect("insert");
    s.insert_silence(&silence("s2", T0 + 500, T0 + 5_000), &ev("admin.silence.created")).await.expect("insert");
    let listed = s.silences(&t.id, Timestamp(T0)).await.expect("list");
    assert_eq!(listed.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(), ["s1", "s2"]);
    assert_eq!(listed[0], silence("s1", T0, T0 + 1_000), "read back as written, matchers decoded");
    assert_eq!(s.silences(&t.id, Timestamp(T0 + 1_000)).await.expect("list").len(), 1, "s1 has ended by then");
    assert!(s.silences(&TenantId::new("other-tenant"), Timestamp(T0)).await.expect("list").is_empty());
    // Expired early, once; an ended or foreign silence is not expired again.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (s, tenant) = (s.clone(), t.id.clone());
        tasks.push(tokio::spawn(async move {
            s.expire_silence(&tenant, "s2", Timestamp(T0 + 2_000), &ev("admin.silence.expired")).await.expect("expire")
        }));
    }
    let mut won = 0;
    for task in tasks {
        won += usize::from(task.await.expect("join"));
    }
    assert_eq!(won, 1);
    assert!(!s.expire_silence(&t.id, "s1", Timestamp(T0 + 2_000), &ev("admin.silence.expired")).await.expect("ended"));
    assert!(!s
        .expire_silence(&TenantId::new("other-tenant"), "s2", Timestamp(T0 + 1), &ev("admin.silence.expired"))
        .await
        .expect("foreign"));
    assert!(s.silences(&t.id, Timestamp(T0 + 2_000)).await.expect("list").is_empty());
    // Those that ended in a window, for the notice that a silence ended.
    let ended = |after: i64, until: i64| {
        let (s, t) = (s.clone(), t.id.clone());
        async move { s.ended_silences(&t, Timestamp(after), Timestamp(until)).await.expect("ended").len() }
    };
    assert_eq!(ended(0, T0 + 2_000).await, 2);
    assert_eq!(ended(T0 + 2_000, T0 + 10_000_000).await, 0);
    assert_eq!(
        s.ended_silences(&TenantId::new("other-tenant"), Timestamp(0), Timestamp::MAX).await.expect("ended").len(),
        0
    );
    let audited = s.events(&EventFilter { limit: 1000, ..Default::default() }).await.expect("events");
    assert_eq!(audited.iter().filter(|e| e.doc.contains("admin.silence.expired")).count(), 1);
}

/// An alert of tenant `t` stored at `at`.
fn alert_at(t: &Tenant, id: &str, at: i64) -> AlertRecord {
    AlertRecord {
        id: id.into(),
        tenant_id: t.id.clone(),
        rule_id: Some("r1".into()),
        title: "t".into(),
        level: "high".into(),
        tags: "[]".into(),
        source_id: "src1".into(),
        event_seq: 0,
        matched: "[]".into(),
        entities: "{}".into(),
        excerpt: "{}".into(),
        created_at: Timestamp(at),
    }
}

pub async fn alerts_are_pending_until_dispatched_and_each_notification_is_claimed_once(s: S) {
    let t = tenant(&s).await;
    let alert = |id: &str, at: i64| alert_at(&t, id, at);
    let batch = IngestBatch {
        tenant_id: t.id.clone(),
        source_id: "src1".into(),
        received_at: Timestamp(T0),
        events: vec!["{}".into(), "{}".into()],
        dead_letters: vec![],
        alerts: vec![(0, alert("b", T0 + 2)), (1, alert("a", T0 + 1)), (1, alert("c", T0 + 2))],
        cursor: None,
        profiles: vec![],
        event_entities: vec![],
        event_fields: vec![],
    };
    s.store_ingest(&batch).await.expect("store").expect("no cursor");
    let pending = |s: S| async move {
        s.pending_alerts(10).await.expect("pending").into_iter().map(|a| a.id).collect::<Vec<_>>()
    };
    assert_eq!(pending(s.clone()).await, ["a", "b", "c"], "oldest first");
    let after = |created_at: i64, id: &'static str| {
        let s = s.clone();
        async move {
            s.pending_alerts_after(Timestamp(created_at), id, 10)
                .await
                .expect("page")
                .into_iter()
                .map(|a| a.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(after(T0 + 1, "a").await, ["b", "c"], "the next page");
    assert_eq!(after(T0 + 2, "b").await, ["c"], "same time: by id");
    assert!(after(T0 + 2, "c").await.is_empty());
    assert_eq!(s.alert(&t.id, "b").await.expect("alert").map(|a| a.created_at), Some(Timestamp(T0 + 2)));
    assert!(s.alert(&TenantId::new("other-tenant"), "b").await.expect("alert").is_none());
    assert_eq!(
        s.mark_alerts_dispatched(&["a".into(), "c".into(), "zz".into()], Timestamp(T0 + 5)).await.expect("mark"),
        2
    );
    assert_eq!(s.mark_alerts_dispatched(&["a".into()], Timestamp(T0 + 6)).await.expect("mark"), 0, "once");
    assert_eq!(pending(s.clone()).await, ["b"]);

    let claim = |hash: &str, at: i64, owner: &str| NotificationClaim {
        tenant_id: t.id.clone(),
        channel: "soc/webhook_configs[0]".into(),
        group_key: "route:{rule=\"r1\"}".into(),
        content_hash: hash.into(),
        at: Timestamp(at),
        owner: owner.into(),
        lease_until: Timestamp(at + 60_000),
        repeat_ms: 3_600_000,
    };
    // Eight nodes claim the same new notification at once: one sends.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (s, c) = (s.clone(), claim("h1", T0, &format!("node{i}")));
        tasks.push(tokio::spawn(async move { s.claim_notification(&c).await.expect("claim") }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("join"));
    }
    assert_eq!(outcomes.iter().filter(|o| **o == ClaimOutcome::Claimed).count(), 1, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| matches!(o, ClaimOutcome::Claimed | ClaimOutcome::Busy)), "{outcomes:?}");
    let winner = outcomes.iter().position(|o| *o == ClaimOutcome::Claimed).expect("a winner");
    let held = claim("h1", T0, &format!("node{winner}"));
    // Another node's finish does not end the claim.
    s.finish_notification(&claim("h1", T0, "intruder"), true, Timestamp(T0 + 1), &[]).await.expect("finish");
    assert_eq!(s.claim_notification(&claim("h1", T0 + 2, "n9")).await.expect("claim"), ClaimOutcome::Busy);
    let attempt = |n: i64, outcome: &str| NotificationAttempt {
        id: format!("at{n}"),
        tenant_id: t.id.clone(),
        channel: held.channel.clone(),
        group_key: held.group_key.clone(),
        content_hash: "h1".into(),
        alerts: 2,
        attempt: n,
        at: Timestamp(T0 + n),
        outcome: outcome.into(),
    };
    s.finish_notification(&held, true, Timestamp(T0 + 3), &[attempt(1, "status 503"), attempt(2, "delivered")])
        .await
        .expect("finish");
    let attempts = s.notification_attempts(&t.id, 10).await.expect("attempts");
    assert_eq!(attempts.iter().map(|a| a.outcome.as_str()).collect::<Vec<_>>(), ["delivered", "status 503"]);
    assert_eq!(attempts[0], attempt(2, "delivered"));
    assert!(s.notification_attempts(&TenantId::new("other-tenant"), 10).await.expect("attempts").is_empty());
    // The same content within the repeat interval: nothing to send; changed content or a
    // due repeat: send.
    assert_eq!(s.claim_notification(&claim("h1", T0 + 10, "n2")).await.expect("c"), ClaimOutcome::AlreadyNotified);
    let changed = claim("h2", T0 + 11, "n2");
    assert_eq!(s.claim_notification(&changed).await.expect("c"), ClaimOutcome::Claimed);
    s.finish_notification(&changed, true, Timestamp(T0 + 12), &[]).await.expect("finish");
    assert_eq!(s.claim_notification(&claim("h2", T0 + 13, "n3")).await.expect("c"), ClaimOutcome::AlreadyNotified);
    let repeat = claim("h2", T0 + 12 + 3_600_000, "n3");
    assert_eq!(s.claim_notification(&repeat).await.expect("c"), ClaimOutcome::Claimed);
    // A failed delivery is tried again at the next chance.
    s.finish_notification(&repeat, false, Timestamp(T0 + 3_600_100), &[]).await.expect("finish");
    let again = claim("h2", T0 + 3_600_200, "n4");
    assert_eq!(s.claim_notification(&again).await.expect("c"), ClaimOutcome::Claimed);
    // A sender that crashed holding its claim is taken over once its lease ends.
    assert_eq!(s.claim_notification(&claim("h2", T0 + 3_600_300, "n5")).await.expect("c"), ClaimOutcome::Busy);
    let late = claim("h2", again.lease_until.millis(), "n5");
    assert_eq!(s.claim_notification(&late).await.expect("c"), ClaimOutcome::Claimed);
    // Groups and channels are apart.
    let other_group = NotificationClaim { group_key: "route:{}".into(), ..claim("h1", T0 + 20, "n6") };
    assert_eq!(s.claim_notification(&other_group).await.expect("c"), ClaimOutcome::Claimed);
}

pub async fn overrides_are_in_force_until_they_end_or_are_lifted_once(s: S) {
    let u = user(&s, "alice").await;
    let bob = user(&s, "bob").await;
    let o = |id: &str, user: &User, action: OverrideAction, policy: Option<&str>, created_at: i64, expires_at: i64| {
        OverrideRecord {
            id: id.into(),
            tenant_id: user.tenant_id.clone(),
            user_id: user.id.clone(),
            action,
            level: if action == OverrideAction::RaiseLevel { 3 } else { 0 },
            reason: "unusual password failures".into(),
            policy: policy.map(str::to_owned),
            source: "alert:al1".into(),
            created_at: Timestamp(created_at),
            expires_at: Timestamp(expires_at),
            lifted_at: None,
            lifted_by: None,
            lift_reason: None,
        }
    };
    let raise = o("o1", &u, OverrideAction::RaiseLevel, Some("p"), T0, T0 + 3_600_000);
    assert!(s.insert_override(&raise, &ev("response.override.set")).await.expect("insert"));
    // The same policy for the same alert again (a second node): nothing written.
    let twice = OverrideRecord { id: "o1b".into(), ..raise.clone() };
    assert!(!s.insert_override(&twice, &ev("response.override.set")).await.expect("insert"));
    let push = o("o2", &u, OverrideAction::SuspendPush, None, T0, T0 + 60_000);
    assert!(s.insert_override(&push, &ev("response.override.set")).await.expect("insert"));
    let o3 =
        OverrideRecord { source: "alert:al2".into(), ..o("o3", &bob, OverrideAction::Block, Some("p"), T0, T0 + 10) };
    assert!(s.insert_override(&o3, &ev("response.override.set")).await.expect("insert"));
    let ids = |v: Vec<OverrideRecord>| v.into_iter().map(|o| o.id).collect::<Vec<_>>();
    assert_eq!(ids(s.user_overrides(&u.id, Timestamp(T0)).await.expect("read")), ["o2", "o1"], "soonest end first");
    assert_eq!(s.user_overrides(&u.id, Timestamp(T0)).await.expect("read")[1], raise, "read back as written");
    assert_eq!(
        ids(s.user_overrides(&u.id, Timestamp(T0 + 60_000)).await.expect("read")),
        ["o1"],
        "the end is exclusive"
    );
    assert_eq!(ids(s.tenant_overrides(&u.tenant_id, Timestamp(T0 + 5)).await.expect("read")), ["o3", "o2", "o1"]);
    assert_eq!(s.policy_override_count(&u.id, "p", Timestamp(T0)).await.expect("count"), 1);
    assert_eq!(s.policy_override_count(&u.id, "p", Timestamp(T0 + 1)).await.expect("count"), 0);
    assert_eq!(s.policy_override_count(&u.id, "other", Timestamp(0)).await.expect("count"), 0);
    // Lifted once, by one of many admins at once; the others find nothing to lift.
    let mut tasks = Vec::new();
    for i in 0..6 {
        let (s, t) = (s.clone(), u.tenant_id.clone());
        tasks.push(tokio::spawn(async move {
            s.lift_override(
                &t,
                "o1",
                Timestamp(T0 + 100),
                &format!("admin{i}"),
                "false positive",
                &ev("response.override.lifted"),
            )
            .await
            .expect("lift")
        }));
    }
    let mut lifted = Vec::new();
    for task in tasks {
        lifted.extend(task.await.expect("join"));
    }
    assert_eq!(lifted.len(), 1, "one lift");
    assert_eq!(lifted[0].id, "o1");
    assert_eq!(ids(s.user_overrides(&u.id, Timestamp(T0 + 200)).await.expect("read")), ["o2"]);
    assert!(s
        .lift_override(&TenantId::new("other-tenant"), "o2", Timestamp(T0), "a", "r", &ev("x"))
        .await
        .expect("lift")
        .is_none());
    assert!(
        s.lift_override(&u.tenant_id, "o3", Timestamp(T0 + 10), "a", "r", &ev("x")).await.expect("lift").is_none(),
        "ended"
    );
    assert_eq!(
        s.policy_override_count(&u.id, "p", Timestamp(T0)).await.expect("count"),
        1,
        "a lifted one still counts"
    );
    let audited = s.events(&EventFilter { limit: 1000, ..Default::default() }).await.expect("events");
    assert_eq!(audited.iter().filter(|e| e.doc.contains("response.override.lifted")).count(), 1);
    assert_eq!(audited.iter().filter(|e| e.doc.contains("response.override.set")).count(), 3, "the refused one is not");
}

pub async fn alerts_are_triaged_once_under_concurrency_and_commented(s: S) {
    let t = tenant(&s).await;
    let alert = |id: &str, at: i64| alert_at(&t, id, at);
    let batch = IngestBatch {
        tenant_id: t.id.clone(),
        source_id: "src1".into(),
        received_at: Timestamp(T0),
        events: vec!["{}".into()],
        dead_letters: vec![],
        alerts: vec![(0, alert("a1", T0 + 1)), (0, alert("a2", T0 + 2)), (0, alert("a3", T0 + 3))],
        cursor: None,
        profiles: vec![],
        event_entities: vec![],
        event_fields: vec![],
    };
    s.store_ingest(&batch).await.expect("store").expect("no cursor");
    let ids = |v: Vec<AlertRecord>| v.into_iter().map(|a| a.id).collect::<Vec<_>>();
    let in_state = |s: S, state: AlertState| {
        let t = t.id.clone();
        async move { ids(s.alerts_in_state(&t, state, Timestamp(0), 10).await.expect("list")) }
    };
    assert_eq!(in_state(s.clone(), AlertState::Firing).await, ["a3", "a2", "a1"], "no triage: firing");
    let triage = |state: AlertState, by: &str, at: i64| AlertTriage {
        alert_id: "a1".into(),
        tenant_id: t.id.clone(),
        state,
        assignee: Some(by.into()),
        changed_at: Timestamp(at),
        changed_by: by.into(),
    };
    // Eight analysts acknowledge a1 at once: one does.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (s, tr) = (s.clone(), triage(AlertState::Acknowledged, &format!("analyst{i}"), T0 + 10));
        tasks.push(tokio::spawn(async move {
            s.set_alert_triage(&tr, &[AlertState::Firing], &ev("alert.acknowledged")).await.expect("triage")
        }));
    }
    let mut changed = 0;
    for task in tasks {
        match task.await.expect("join") {
            TriageChange::Changed(AlertState::Firing) => changed += 1,
            TriageChange::Refused(AlertState::Acknowledged) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(changed, 1);
    assert_eq!(in_state(s.clone(), AlertState::Acknowledged).await, ["a1"]);
    assert_eq!(in_state(s.clone(), AlertState::Firing).await, ["a3", "a2"]);
    let resolve = triage(AlertState::Resolved, "lead", T0 + 20);
    let from = [AlertState::Firing, AlertState::Acknowledged];
    assert_eq!(
        s.set_alert_triage(&resolve, &from, &ev("alert.resolved")).await.expect("t"),
        TriageChange::Changed(AlertState::Acknowledged)
    );
    assert_eq!(
        s.set_alert_triage(&resolve, &from, &ev("alert.resolved")).await.expect("t"),
        TriageChange::Refused(AlertState::Resolved)
    );
    let other = AlertTriage { tenant_id: "other-tenant".into(), ..resolve.clone() };
    assert_eq!(s.set_alert_triage(&other, &from, &ev("x")).await.expect("t"), TriageChange::NoAlert);
    // Resolved automatically: those not yet resolved, once.
    let all = ["a1".to_owned(), "a2".to_owned(), "zz".to_owned()];
    assert_eq!(
        s.resolve_alerts(&t.id, &all, Timestamp(T0 + 30), "sekimori", &ev("alert.resolved")).await.expect("r"),
        1
    );
    assert_eq!(
        s.resolve_alerts(&t.id, &all, Timestamp(T0 + 31), "sekimori", &ev("alert.resolved")).await.expect("r"),
        0
    );
    assert_eq!(in_state(s.clone(), AlertState::Resolved).await, ["a2", "a1"]);
    let triaged = s.alert_triage(&t.id, &all).await.expect("triage");
    let a1 = triaged.iter().find(|x| x.alert_id == "a1").expect("a1");
    assert_eq!(
        (a1.state, a1.changed_by.as_str(), a1.assignee.as_deref()),
        (AlertState::Resolved, "lead", Some("lead"))
    );
    assert!(s.alert_triage(&TenantId::new("other-tenant"), &all).await.expect("triage").is_empty());
    // Comments, oldest first; none on another tenant's alert.
    let comment = |id: &str, at: i64, tenant: &str| AlertComment {
        id: id.into(),
        tenant_id: tenant.into(),
        alert_id: "a3".into(),
        author: "admin_token:x".into(),
        body: format!("note {id}"),
        created_at: Timestamp(at),
    };
    assert!(s.add_alert_comment(&comment("c2", T0 + 2, &t.id), &ev("alert.commented")).await.expect("c"));
    assert!(s.add_alert_comment(&comment("c1", T0 + 1, &t.id), &ev("alert.commented")).await.expect("c"));
    assert!(!s.add_alert_comment(&comment("c3", T0 + 3, "other-tenant"), &ev("alert.commented")).await.expect("c"));
    let list = s.alert_comments(&t.id, "a3").await.expect("comments");
    assert_eq!(list.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["c1", "c2"]);
    let audited = s.events(&EventFilter { limit: 1000, ..Default::default() }).await.expect("events");
    let count = |a: &str| audited.iter().filter(|e| e.doc.contains(a)).count();
    assert_eq!((count("alert.acknowledged"), count("alert.resolved"), count("alert.commented")), (1, 2, 2));
}
