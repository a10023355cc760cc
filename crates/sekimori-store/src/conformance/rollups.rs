//! Conformance cases for the audit roll-ups: every appended event counted in its hour, in
//! the same transaction, under concurrency, and read back by range.

use super::*;

fn at(action: &str, outcome: Outcome, ms: i64, tenant: &str) -> NewEvent {
    NewEvent::new(Timestamp(ms), tenant, "authentication", action, outcome)
}

pub async fn audit_rollups_count_every_event_by_hour_action_and_outcome(s: S) {
    let t = tenant(&s).await;
    const H: i64 = 3_600_000;
    let base = (T0 / H) * H;
    // 40 concurrent appends in the first hour: 30 failures and 10 successes.
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let (s, tid) = (s.clone(), t.id.to_string());
            tokio::spawn(async move {
                let outcome = if i % 4 == 0 { Outcome::Success } else { Outcome::Failure };
                s.append(&at("auth.password.failed", outcome, base + i * 1000, &tid)).await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("join").expect("append");
    }
    s.append(&at("auth.push.approved", Outcome::Success, base + H + 5, t.id.as_str())).await.expect("append");
    s.append(&at("auth.push.approved", Outcome::Success, base + 3 * H, t.id.as_str())).await.expect("append");
    s.append(&at("auth.push.approved", Outcome::Success, base + 5, "other-tenant")).await.expect("append");

    let rows = s.audit_rollups(&t.id, Timestamp(base + 17), Timestamp(base + 3 * H)).await.expect("rollups");
    let got: Vec<(i64, &str, &str, i64)> =
        rows.iter().map(|r| (r.hour - base, r.action.as_str(), r.outcome.as_str(), r.n)).collect();
    // The tenant's bootstrap events may be in the range too; only these are checked.
    let of = |action: &str| got.iter().filter(|g| g.1 == action).cloned().collect::<Vec<_>>();
    assert_eq!(
        of("auth.password.failed"),
        [(0, "auth.password.failed", "failure", 30), (0, "auth.password.failed", "success", 10)],
        "the start's hour is included, counted exactly under concurrency"
    );
    assert_eq!(
        of("auth.push.approved"),
        [(H, "auth.push.approved", "success", 1)],
        "until is exclusive; other tenants not"
    );
}

pub async fn risk_assessments_are_rolled_up_by_decision(s: S) {
    let t = tenant(&s).await;
    const H: i64 = 3_600_000;
    let base = (T0 / H) * H;
    for decision in ["OK", "OK", "REVIEW", "NG"] {
        let outcome = if decision == "NG" { Outcome::Failure } else { Outcome::Success };
        let ev = at("auth.risk.assessed", outcome, base + 10, t.id.as_str()).field("sekimori.risk.decision", decision);
        s.append(&ev).await.expect("append");
    }
    s.append(&at("auth.risk.assessed", Outcome::Success, base + 11, t.id.as_str())).await.expect("no decision");
    let new_env = at("auth.risk.assessed", Outcome::Success, base + 12, t.id.as_str())
        .field("sekimori.risk.decision", "OK")
        .field("sekimori.environment.known", false);
    s.append(&new_env).await.expect("append");
    let rows = s.audit_rollups(&t.id, Timestamp(base), Timestamp(base + H)).await.expect("rollups");
    let got: Vec<(&str, &str, i64)> = rows
        .iter()
        .filter(|r| r.action == "auth.risk.assessed")
        .map(|r| (r.outcome.as_str(), r.label.as_str(), r.n))
        .collect();
    assert_eq!(
        got,
        [
            ("failure", "NG", 1),
            ("success", "", 1),
            ("success", "OK", 2),
            ("success", "OK new", 1),
            ("success", "REVIEW", 1)
        ]
    );
    assert!(rows.iter().filter(|r| r.action != "auth.risk.assessed").all(|r| r.label.is_empty()), "{rows:?}");
}

pub async fn detection_rollups_count_every_batch_by_hour_under_concurrency(s: S) {
    let t = tenant(&s).await;
    const H: i64 = 3_600_000;
    let base = (T0 / H) * H;
    let entity = |kind: &str, value: &str| Entity { kind: kind.into(), value: value.into() };
    let alert = |id: String, title: &str, level: &str, at: i64| AlertRecord {
        id,
        tenant_id: t.id.clone(),
        rule_id: None,
        title: title.into(),
        level: level.into(),
        tags: "[]".into(),
        source_id: "edr".into(),
        event_seq: 0,
        matched: "[]".into(),
        entities: "{}".into(),
        excerpt: "{}".into(),
        created_at: Timestamp(at),
    };
    // Eight batches at once, each of 10 events from `edr`, a dead letter, and two alerts
    // (one about alice); they land in the same hour's rows.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let batch = IngestBatch {
                tenant_id: t.id.clone(),
                source_id: "edr".into(),
                received_at: Timestamp(base + i),
                events: (0..10).map(|j| format!(r#"{{"n":{j}}}"#)).collect(),
                dead_letters: vec![DeadLetter {
                    id: format!("d{i}"),
                    tenant_id: t.id.clone(),
                    source_id: "edr".into(),
                    received_at: Timestamp(base + i),
                    reason: "line 1: not JSON".into(),
                    sample: "x".into(),
                }],
                alerts: vec![
                    (0, alert(format!("w{i}"), "Whoami", "medium", base + i)),
                    (1, alert(format!("c{i}"), "Cleared", "high", base + i)),
                ],
                cursor: None,
                profiles: vec![],
                // The whoami run's event is about alice on ws1; an alert is about its event's.
                event_entities: vec![(0, entity("user", "alice")), (0, entity("host", "ws1"))],
                event_fields: vec![],
            };
            let s = s.clone();
            tokio::spawn(async move { s.store_ingest(&batch).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("join").expect("store").expect("no cursor");
    }
    // One more an hour later from another source, and one for another tenant.
    let later = IngestBatch {
        tenant_id: t.id.clone(),
        source_id: "syslog".into(),
        received_at: Timestamp(base + H + 1),
        events: vec!["{}".into(); 3],
        dead_letters: vec![],
        alerts: vec![(2, alert("l1".into(), "Whoami", "medium", base + H + 1))],
        cursor: None,
        profiles: vec![],
        event_entities: vec![(2, entity("user", "bob"))],
        event_fields: vec![],
    };
    s.store_ingest(&later).await.expect("store").expect("no cursor");
    let other = IngestBatch { tenant_id: TenantId::new("other-tenant"), alerts: vec![], ..later.clone() };
    s.store_ingest(&other).await.expect("store").expect("no cursor");

    // The counts are staged with each batch and moved by the background move; the answer is
    // the same with none, some (three batches, then one) and all of them moved.
    let read = || {
        let (s, t) = (s.clone(), t.id.clone());
        async move {
            let rows = s.detection_rollups(&t, Timestamp(base + 17), Timestamp(base + 2 * H)).await.expect("rollups");
            rows.into_iter().map(|r| (r.hour - base, r.series, r.key, r.label, r.n)).collect::<Vec<_>>()
        }
    };
    let staged = read().await;
    assert_eq!(s.merge_recent_index(3).await.expect("merge"), 3);
    assert_eq!(read().await, staged, "three batches moved");
    assert_eq!(s.merge_recent_index(1).await.expect("merge"), 1);
    assert_eq!(read().await, staged, "four moved");
    while s.merge_recent_index(100).await.expect("merge") > 0 {}
    assert_eq!(read().await, staged, "all moved");
    let got: Vec<(i64, &str, &str, &str, i64)> =
        staged.iter().map(|(h, s, k, l, n)| (*h, s.as_str(), k.as_str(), l.as_str(), *n)).collect();
    assert_eq!(
        got,
        [
            (0, "alerts", "Cleared", "high", 8),
            (0, "alerts", "Whoami", "medium", 8),
            (0, "dead_letters", "edr", "", 8),
            (0, "entities", "host", "ws1", 8),
            (0, "entities", "user", "alice", 8),
            (0, "events", "edr", "", 80),
            (H, "alerts", "Whoami", "medium", 1),
            (H, "entities", "user", "bob", 1),
            (H, "events", "syslog", "", 3),
        ],
        "the start's hour included, every batch counted once under concurrency, only this tenant's"
    );
    assert!(s
        .detection_rollups(&t.id, Timestamp(base), Timestamp(base + H))
        .await
        .expect("r")
        .iter()
        .all(|r| r.hour == base));
}
