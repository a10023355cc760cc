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
