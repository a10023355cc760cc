//! Conformance cases for accounts: second factors, passwords and throttling, user and
//! group administration, browser sessions.

use super::*;
use sekimori_core::{SessionId, TenantId, Timestamp, UserId};

fn totp(u: &User, id: &str) -> TotpCredential {
    TotpCredential {
        id: id.into(),
        tenant_id: u.tenant_id.clone(),
        user_id: u.id.clone(),
        secret_sealed: vec![7; 60],
        algorithm: "SHA1".into(),
        digits: 6,
        period: 30,
        created_at: Timestamp(T0),
        confirmed_at: None,
        last_step: 0,
        failures: 0,
        last_failure_at: None,
    }
}

/// The conformance tenant's id, for records that borrow it from spawned tasks.
static T1: std::sync::LazyLock<TenantId> = std::sync::LazyLock::new(|| TenantId::new("t1"));

pub async fn totp_steps_are_accepted_once_under_concurrency(s: S) {
    let u = user(&s, "alice").await;
    s.insert_totp(&totp(&u, "totp1"), &ev("credential.totp.enrolled")).await.expect("insert");
    let step = 59_833_333;
    assert!(
        !s.accept_totp_step("totp1", step, Timestamp(T0), false, &ev("x")).await.expect("verify"),
        "not confirmed yet"
    );
    assert!(s
        .accept_totp_step("totp1", step, Timestamp(T0), true, &ev("credential.totp.confirmed"))
        .await
        .expect("confirm"));
    assert!(
        !s.accept_totp_step("totp1", step + 1, Timestamp(T0), true, &ev("x")).await.expect("confirm"),
        "confirmed once"
    );
    assert!(
        !s.accept_totp_step("totp1", step, Timestamp(T0), false, &ev("x")).await.expect("verify"),
        "the confirming step is used"
    );
    assert_eq!(s.record_totp_failure("totp1", Timestamp(T0 + 5), &ev("auth.totp.failed")).await.expect("fail"), 1);
    assert_eq!(s.record_totp_failure("totp1", Timestamp(T0 + 6), &ev("auth.totp.failed")).await.expect("fail"), 2);
    // Eight requests carry the same next code at once: exactly one is accepted.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.accept_totp_step("totp1", step + 1, Timestamp(T0 + 10), false, &ev("auth.totp.verified"))
                .await
                .expect("verify")
        }));
    }
    let mut won = 0;
    for task in tasks {
        won += usize::from(task.await.expect("join"));
    }
    assert_eq!(won, 1);
    let c = s.totp_credential("totp1").await.expect("read").expect("some");
    assert_eq!(
        (c.last_step, c.failures, c.confirmed_at, c.last_failure_at),
        (step + 1, 0, Some(Timestamp(T0)), Some(Timestamp(T0 + 6)))
    );
    assert_eq!(c.secret_sealed, vec![7; 60]);
    assert!(!s.accept_totp_step("totp1", step, Timestamp(T0), false, &ev("x")).await.expect("verify"), "an older step");
    assert_eq!(s.user_totp_credentials(&u.id).await.expect("list").len(), 1);
    assert!(!s.delete_totp(&UserId::new("someone-else"), "totp1", &ev("x")).await.expect("delete"));
    assert!(s.delete_totp(&u.id, "totp1", &ev("credential.totp.deleted")).await.expect("delete"));
    assert!(s.totp_credential("totp1").await.expect("read").is_none());
    let audited = s.events(&EventFilter { limit: 1000, ..Default::default() }).await.expect("events");
    let count = |a: &str| audited.iter().filter(|e| e.action == a).count();
    assert_eq!(count("auth.totp.verified"), 1, "only the accepted request is audited");
    assert_eq!(count("auth.totp.failed"), 2);
    assert_eq!(count("x"), 0, "refusals write nothing");
}

pub async fn recovery_codes_are_single_use_under_concurrency(s: S) {
    let u = user(&s, "alice").await;
    let hashes: Vec<Vec<u8>> = (0u8..10).map(|i| vec![i; 32]).collect();
    s.replace_recovery_codes(&u.tenant_id, &u.id, &hashes, Timestamp(T0), &ev("credential.recovery.generated"))
        .await
        .expect("generate");
    assert_eq!(s.recovery_codes_left(&u.id).await.expect("left"), 10);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (s, uid) = (s.clone(), u.id.clone());
        tasks.push(tokio::spawn(async move {
            s.consume_recovery_code(&uid, &[3; 32], Timestamp(T0 + 1), &ev("auth.recovery.used"))
                .await
                .expect("consume")
        }));
    }
    let mut won = 0;
    for task in tasks {
        won += usize::from(task.await.expect("join"));
    }
    assert_eq!(won, 1);
    assert_eq!(s.recovery_codes_left(&u.id).await.expect("left"), 9);
    assert!(
        !s.consume_recovery_code(&u.id, &[99; 32], Timestamp(T0), &ev("x")).await.expect("consume"),
        "unknown code"
    );
    assert!(
        !s.consume_recovery_code(&UserId::new("someone-else"), &[4; 32], Timestamp(T0), &ev("x"))
            .await
            .expect("consume"),
        "not theirs"
    );
    // A new set replaces the old one, used or not.
    let fresh: Vec<Vec<u8>> = (50u8..60).map(|i| vec![i; 32]).collect();
    s.replace_recovery_codes(&u.tenant_id, &u.id, &fresh, Timestamp(T0 + 2), &ev("credential.recovery.generated"))
        .await
        .expect("regenerate");
    assert_eq!(s.recovery_codes_left(&u.id).await.expect("left"), 10);
    assert!(
        !s.consume_recovery_code(&u.id, &[4; 32], Timestamp(T0 + 3), &ev("x")).await.expect("consume"),
        "old set gone"
    );
    assert!(s
        .consume_recovery_code(&u.id, &[55; 32], Timestamp(T0 + 3), &ev("auth.recovery.used"))
        .await
        .expect("consume"));
}

pub async fn passwords_are_set_rehashed_and_deleted(s: S) {
    let u = user(&s, "alice").await;
    assert!(s.password(&u.id).await.expect("read").is_none());
    let r = PasswordRecord {
        user_id: u.id.clone(),
        tenant_id: u.tenant_id.clone(),
        hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        created_at: Timestamp(T0),
        updated_at: Timestamp(T0),
    };
    s.set_password(&r, &ev("credential.password.set")).await.expect("set");
    assert_eq!(s.password(&u.id).await.expect("read"), Some(r.clone()));
    // Setting again replaces the hash and keeps the creation time.
    let next = PasswordRecord {
        hash: "second".into(),
        created_at: Timestamp(T0 + 5),
        updated_at: Timestamp(T0 + 5),
        ..r.clone()
    };
    s.set_password(&next, &ev("credential.password.set")).await.expect("replace");
    let stored = s.password(&u.id).await.expect("read").expect("some");
    assert_eq!(
        (stored.hash.as_str(), stored.created_at, stored.updated_at),
        ("second", Timestamp(T0), Timestamp(T0 + 5))
    );
    // A rehash only replaces the hash it read.
    assert!(!s.rehash_password(&u.id, "stale", "third", Timestamp(T0 + 6)).await.expect("rehash"));
    assert!(s.rehash_password(&u.id, "second", "third", Timestamp(T0 + 6)).await.expect("rehash"));
    assert_eq!(s.password(&u.id).await.expect("read").expect("some").hash, "third");
    // The tenant's policy level.
    s.set_password_policy(&u.tenant_id, 4, &ev("admin.tenant.updated")).await.expect("policy");
    assert_eq!(s.tenant(&u.tenant_id).await.expect("tenant").expect("some").password_policy, 4);
    assert!(s.delete_password(&u.id, &ev("credential.password.deleted")).await.expect("delete"));
    assert!(!s.delete_password(&u.id, &ev("credential.password.deleted")).await.expect("delete"));
    assert!(s.password(&u.id).await.expect("read").is_none());
}

pub async fn login_failures_lock_once_per_limit_under_concurrency(s: S) {
    tenant(&s).await;
    let hit = |now: i64| ThrottleHit {
        key: "user:t1:alice",
        tenant_id: &T1,
        now: Timestamp(now),
        window_ms: 60_000,
        max_failures: 5,
        lock_ms: 300_000,
    };
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.record_login_failure(&hit(T0), Some(&ev("auth.password.failed"))).await.expect("failure")
        }));
    }
    let mut locks = 0;
    for task in tasks {
        let row = task.await.expect("join");
        if row.failures == 0 {
            assert_eq!(row.locked_until, Some(Timestamp(T0 + 300_000)));
            locks += 1;
        }
    }
    assert_eq!(locks, 4, "20 failures with a limit of 5 lock exactly four times");
    let row = s.login_throttle("user:t1:alice").await.expect("read").expect("row");
    assert_eq!((row.failures, row.window_start, row.locked_until), (0, Timestamp(T0), Some(Timestamp(T0 + 300_000))));
    let audited =
        s.events(&EventFilter { action: Some("auth.password.failed".into()), limit: 100, ..Default::default() }).await;
    let audited = audited.expect("events");
    assert_eq!(audited.len(), 20, "every failure is audited");
    // The latest first, when asked: the last five, in reverse.
    let latest = s
        .events(&EventFilter {
            action: Some("auth.password.failed".into()),
            limit: 5,
            newest_first: true,
            ..Default::default()
        })
        .await
        .expect("events");
    let want: Vec<i64> = audited.iter().rev().take(5).map(|e| e.seq).collect();
    assert_eq!(latest.iter().map(|e| e.seq).collect::<Vec<_>>(), want);
    // Within the window the count goes on; after it, a failure starts a new window.
    assert_eq!(s.record_login_failure(&hit(T0 + 1_000), None).await.expect("f").failures, 1);
    assert_eq!(s.record_login_failure(&hit(T0 + 2_000), None).await.expect("f").failures, 2);
    let late = s.record_login_failure(&hit(T0 + 70_000), None).await.expect("f");
    assert_eq!((late.failures, late.window_start), (1, Timestamp(T0 + 70_000)));
    assert_eq!(late.locked_until, Some(Timestamp(T0 + 300_000)), "an old lock is kept, not extended");
    // Another key counts on its own; clearing forgets.
    let other = ThrottleHit { key: "net:t1:192.0.2.0/24", ..hit(T0) };
    assert_eq!(s.record_login_failure(&other, None).await.expect("f").failures, 1);
    s.clear_login_throttle("user:t1:alice").await.expect("clear");
    assert!(s.login_throttle("user:t1:alice").await.expect("read").is_none());
    assert!(s.login_throttle("net:t1:192.0.2.0/24").await.expect("read").is_some());
    // Housekeeping drops counters whose window and lock are both over.
    s.prune_expired(Timestamp(T0 + 400_000)).await.expect("prune");
    assert!(s.login_throttle("net:t1:192.0.2.0/24").await.expect("read").is_none());
}

pub async fn login_attempts_are_reserved_before_the_check_under_concurrency(s: S) {
    tenant(&s).await;
    let hit = |now: i64| ThrottleHit {
        key: "user:t1:carol",
        tenant_id: &T1,
        now: Timestamp(now),
        window_ms: 60_000,
        max_failures: 5,
        lock_ms: 300_000,
    };
    let mut tasks = Vec::new();
    for _ in 0..60 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move { s.reserve_login_attempt(&hit(T0)).await.expect("reserve") }));
    }
    let mut admitted = 0;
    for task in tasks {
        if task.await.expect("join").is_some() {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 5, "60 parallel attempts with a limit of 5: exactly 5 are admitted");
    let row = s.login_throttle("user:t1:carol").await.expect("read").expect("row");
    assert_eq!(row.locked_until, Some(Timestamp(T0 + 300_000)));
    // Still locked a moment later; admitted again once the lock is over, counting anew.
    assert!(s.reserve_login_attempt(&hit(T0 + 299_999)).await.expect("reserve").is_none());
    let after = s.reserve_login_attempt(&hit(T0 + 300_000)).await.expect("reserve").expect("admitted");
    assert_eq!((after.failures, after.window_start), (1, Timestamp(T0 + 300_000)));
    // A success clears the count.
    s.clear_login_throttle("user:t1:carol").await.expect("clear");
    assert_eq!(s.reserve_login_attempt(&hit(T0 + 300_001)).await.expect("reserve").expect("admitted").failures, 1);
}

pub async fn users_are_changed_and_deleted_with_everything_theirs(s: S) {
    let u = user(&s, "alice").await;
    let bob = user(&s, "bob").await;
    let changed = User {
        email: Some("alice@example.jp".into()),
        disabled: true,
        valid_from: Some(Timestamp(T0)),
        valid_until: Some(Timestamp(T0 + 86_400_000)),
        login_hours: Some(Vec::new()),
        ..u.clone()
    };
    assert!(s.update_user(&changed, &ev("iam.user.updated")).await.expect("update"));
    assert_eq!(s.user(&u.id).await.expect("read"), Some(changed.clone()));
    assert!(!s.update_user(&User { id: "nobody".into(), ..changed }, &ev("x")).await.expect("update"));
    s.set_time_zone(&u.tenant_id, "Asia/Tokyo", &ev("admin.tenant.updated")).await.expect("tz");
    assert_eq!(s.tenant(&u.tenant_id).await.expect("t").expect("some").time_zone, "Asia/Tokyo");

    // Alice has a device, a TOTP credential, recovery codes, a password and a group.
    let d = device(&s, &u, "d1").await;
    let cred = totp(&u, "totp-1");
    s.insert_totp(&cred, &ev("credential.totp.enrolled")).await.expect("totp");
    s.replace_recovery_codes(&u.tenant_id, &u.id, &[vec![1; 32]], Timestamp(T0), &ev("x")).await.expect("codes");
    let pw = PasswordRecord {
        user_id: u.id.clone(),
        tenant_id: u.tenant_id.clone(),
        hash: "h".into(),
        created_at: Timestamp(T0),
        updated_at: Timestamp(T0),
    };
    s.set_password(&pw, &ev("credential.password.set").user(&u.id, "alice")).await.expect("password");
    let g = Group {
        id: "g1".into(),
        tenant_id: u.tenant_id.clone(),
        name: "staff".into(),
        login_hours: None,
        created_at: Timestamp(T0),
    };
    assert!(s.insert_group(&g, &ev("iam.group.created")).await.expect("group"));
    assert!(s.add_group_member(&g.id, &u.id, &ev("iam.group.member_added")).await.expect("member"));
    assert!(s.add_group_member(&g.id, &bob.id, &ev("iam.group.member_added")).await.expect("member"));

    let gone = NewEvent::new(Timestamp(T0), "t1", "iam", "iam.user.deleted", Outcome::Success).user(&u.id, "alice");
    assert!(s.delete_user(&u.id, &gone).await.expect("delete"));
    assert!(!s.delete_user(&u.id, &gone).await.expect("delete again"));
    assert!(s.user(&u.id).await.expect("read").is_none());
    assert!(s.device(&d.id).await.expect("read").is_none());
    assert!(s.totp_credential(&cred.id).await.expect("read").is_none());
    assert_eq!(s.recovery_codes_left(&u.id).await.expect("read"), 0);
    assert!(s.password(&u.id).await.expect("read").is_none());
    assert_eq!(s.group_member_names(&g.id).await.expect("members"), ["bob"]);
    assert!(s.user(&bob.id).await.expect("read").is_some(), "others stay");
    // The audit log keeps the user's id.
    let filter = EventFilter { user_id: Some(u.id.clone()), limit: 100, ..Default::default() };
    let kept = s.events(&filter).await.expect("events");
    assert!(kept.iter().any(|e| e.action == "iam.user.deleted"));
    assert!(kept.iter().any(|e| e.action == "credential.password.set"));
}

pub async fn groups_have_members_and_hours(s: S) {
    let u = user(&s, "alice").await;
    let mk = |id: &str, name: &str| Group {
        id: id.into(),
        tenant_id: u.tenant_id.clone(),
        name: name.into(),
        login_hours: None,
        created_at: Timestamp(T0),
    };
    assert!(s.insert_group(&mk("g1", "staff"), &ev("iam.group.created")).await.expect("insert"));
    assert!(!s.insert_group(&mk("g2", "staff"), &ev("iam.group.created")).await.expect("insert"), "name taken");
    assert!(s.insert_group(&mk("g3", "night"), &ev("iam.group.created")).await.expect("insert"));
    let names: Vec<_> = s.list_groups(&u.tenant_id).await.expect("list").into_iter().map(|g| g.name).collect();
    assert_eq!(names, ["night", "staff"]);
    let hours = vec![HoursWindow { days: vec!["mon".into()], from: "22:00".into(), until: "06:00".into() }];
    assert!(s.set_group_hours("g3", Some(&hours), &ev("iam.group.updated")).await.expect("hours"));
    assert_eq!(s.group_by_name(&u.tenant_id, "night").await.expect("read").expect("some").login_hours, Some(hours));
    assert!(s.add_group_member("g1", &u.id, &ev("x")).await.expect("add"));
    assert!(!s.add_group_member("g1", &u.id, &ev("x")).await.expect("add"), "already a member");
    assert!(s.add_group_member("g3", &u.id, &ev("x")).await.expect("add"));
    let mine: Vec<_> = s.user_groups(&u.id).await.expect("groups").into_iter().map(|g| g.name).collect();
    assert_eq!(mine, ["night", "staff"]);
    assert!(s.remove_group_member("g1", &u.id, &ev("x")).await.expect("remove"));
    assert!(!s.remove_group_member("g1", &u.id, &ev("x")).await.expect("remove"));
    assert!(s.delete_group("g3", &ev("iam.group.deleted")).await.expect("delete"));
    assert!(!s.delete_group("g3", &ev("iam.group.deleted")).await.expect("delete"));
    assert!(s.user_groups(&u.id).await.expect("groups").is_empty());
}

pub async fn sessions_rotate_and_are_revoked_one_or_all(s: S) {
    let u = user(&s, "alice").await;
    let mk = |id: &str, at: i64| SessionRecord {
        id: id.into(),
        tenant_id: u.tenant_id.clone(),
        user_id: u.id.clone(),
        level: 1,
        amr: vec!["pwd".into()],
        auth_time: Timestamp(at),
        created_at: Timestamp(at),
        last_seen_at: Timestamp(at),
        expires_at: Timestamp(at + 3_600_000),
        revoked_at: None,
        sso_id: "sso1".into(),
    };
    s.insert_session(&mk("s1", T0), None, &ev("auth.session.created")).await.expect("insert");
    // A step-up rotates: the new session revokes the old one in the same transaction.
    let s2 = SessionRecord { level: 2, amr: vec!["pwd".into(), "otp".into()], ..mk("s2", T0 + 10) };
    s.insert_session(&s2, Some("s1"), &ev("auth.session.created")).await.expect("rotate");
    assert_eq!(s.session(&SessionId::new("s1")).await.expect("read").expect("s1").revoked_at, Some(Timestamp(T0 + 10)));
    assert_eq!(s.session(&SessionId::new("s2")).await.expect("read"), Some(s2.clone()));
    assert_eq!(
        s.sso_session(&SessionId::new("sso1")).await.expect("sso").map(|r| r.id).as_deref(),
        Some("s2"),
        "the live one"
    );
    s.touch_session(&SessionId::new("s2"), Timestamp(T0 + 500)).await.expect("touch");
    s.touch_session(&SessionId::new("s2"), Timestamp(T0 + 100)).await.expect("an older touch changes nothing");
    assert_eq!(s.session(&SessionId::new("s2")).await.expect("read").expect("s2").last_seen_at, Timestamp(T0 + 500));
    assert!(s
        .revoke_session(&SessionId::new("s2"), Timestamp(T0 + 600), &ev("auth.session.revoked"))
        .await
        .expect("revoke"));
    assert!(!s
        .revoke_session(&SessionId::new("s2"), Timestamp(T0 + 700), &ev("auth.session.revoked"))
        .await
        .expect("again"));
    assert!(
        s.sso_session(&SessionId::new("sso1")).await.expect("sso").is_none(),
        "the sign-on ended with its last session"
    );
    s.insert_session(&mk("s3", T0 + 800), None, &ev("auth.session.created")).await.expect("insert");
    s.insert_session(&mk("s4", T0 + 900), None, &ev("auth.session.created")).await.expect("insert");
    let live = |at: i64| {
        let (s, id) = (s.clone(), u.id.clone());
        async move {
            s.user_sessions(&id, Timestamp(at))
                .await
                .expect("list")
                .into_iter()
                .map(|r| r.id.to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(live(T0 + 950).await, ["s4", "s3"], "live ones, newest first (not the revoked s1 and s2)");
    assert_eq!(live(T0 + 800 + 3_600_000).await, ["s4"], "not past their end");
    assert!(s.user_sessions(&UserId::new("nobody"), Timestamp(T0)).await.expect("list").is_empty());
    assert_eq!(
        s.revoke_user_sessions(&u.id, Timestamp(T0 + 1_000), &ev("auth.session.revoked_all")).await.expect("all"),
        2
    );
    assert!(s.session(&SessionId::new("s4")).await.expect("read").expect("s4").revoked_at.is_some());
    assert!(s.session(&SessionId::new("nope")).await.expect("read").is_none());
    s.prune_expired(Timestamp(T0 + 10_000_000)).await.expect("prune");
    assert!(s.session(&SessionId::new("s4")).await.expect("read").is_none(), "expired sessions are pruned");
}

pub async fn readiness_probe_writes(s: S) {
    s.probe_write("http://node-a", Timestamp(T0)).await.expect("a write");
    s.probe_write("http://node-a", Timestamp(T0 + 1)).await.expect("the same row again");
    s.probe_write("http://node-b", Timestamp(T0 + 2)).await.expect("another node");
}
