//! The conformance suite: every backend must pass these, unchanged.
//! Instantiate with [`conformance_suite!`](crate::conformance_suite), a factory
//! `async fn() -> impl Store`, and a factory of two stores on one database.

use sekimori_core::{AppId, DeviceId, LoginId, TenantId, UserId};
use std::sync::Arc;

use sekimori_core::environment::Environment;
use sekimori_core::event::{NewEvent, Outcome};
use sekimori_core::Timestamp;

use crate::*;

/// Generates one `#[tokio::test]` per conformance case for a backend factory.
#[macro_export]
macro_rules! conformance_suite {
    ($factory:path, $pair:path) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn audit_chain_survives_two_writers() {
            let (a, b) = $pair().await;
            $crate::conformance::audit_chain_survives_two_writers(std::sync::Arc::new(a), std::sync::Arc::new(b)).await;
        }
        $crate::conformance_suite!(@cases $factory;
            tenants_are_unique_by_name,
            users_are_unique_per_tenant,
            enrollment_is_consumed_once,
            expired_enrollment_is_refused,
            nonces_are_remembered_once,
            standby_window_opens_and_closes_on_login,
            login_is_decided_once,
            pending_messages_follow_login_state,
            qr_is_redeemed_once,
            assertion_is_consumed_once,
            ticket_redeemed_once_under_concurrency,
            environments_are_observed_trusted_and_revoked,
            audit_chain_links_every_row,
            audit_filters_select_rows,
            audit_rows_are_archived_behind_a_signed_base,
            expired_rows_are_pruned_and_live_ones_kept,
            ingest_sources_batches_alerts_and_dead_letters,
            alerts_are_found_by_the_entities_they_are_about,
            ingested_events_are_searched_by_entity_source_time_and_page,
            retention_is_applied_tenant_by_tenant,
            search_fields_are_indexed_as_stored_and_older_events_added_later,
            indexed_search_answers_as_reading_every_event,
            tenant_documents_are_versioned_sequentially_under_concurrency,
            silences_are_listed_until_they_end_and_expired_once,
            alerts_are_pending_until_dispatched_and_each_notification_is_claimed_once,
            overrides_are_in_force_until_they_end_or_are_lifted_once,
            alerts_are_triaged_once_under_concurrency_and_commented,
            totp_steps_are_accepted_once_under_concurrency,
            recovery_codes_are_single_use_under_concurrency,
            passwords_are_set_rehashed_and_deleted,
            login_failures_lock_once_per_limit_under_concurrency,
            login_attempts_are_reserved_before_the_check_under_concurrency,
            readiness_probe_writes,
            users_are_changed_and_deleted_with_everything_theirs,
            groups_have_members_and_hours,
            sessions_rotate_and_are_revoked_one_or_all,
            oidc_clients_and_keys_rotate,
            oidc_code_is_consumed_once_under_concurrency,
            oidc_refresh_rotates_once_and_reuse_revokes_the_family,
            passkeys_are_stored_used_and_deleted,
            passkey_ceremony_is_taken_once_under_concurrency,
            push_subscriptions_are_replaced_listed_and_dropped,
            console_grants_follow_users_and_groups,
            audit_rollups_count_every_event_by_hour_action_and_outcome,
            risk_assessments_are_rolled_up_by_decision,
            detection_rollups_count_every_batch_by_hour_under_concurrency,
        );
    };
    (@cases $factory:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let store = $factory().await;
                $crate::conformance::$case(std::sync::Arc::new(store)).await;
            }
        )*
    };
}

type S = Arc<dyn Store>;

const T0: i64 = 1_795_000_000_000;

fn env(browser: &str, os: &str, network: &str) -> Environment {
    Environment { browser: browser.into(), os: os.into(), network: network.into(), country: None, ip: None }
}

fn ev(action: &str) -> NewEvent {
    NewEvent::new(Timestamp(T0), "t1", "authentication", action, Outcome::Success)
}

async fn tenant(s: &S) -> Tenant {
    let t = Tenant::with_defaults(TenantId::new("t1"), "default", Timestamp(T0));
    s.ensure_tenant(&t).await.expect("tenant").0
}

async fn user(s: &S, name: &str) -> User {
    let t = tenant(s).await;
    let u = User {
        id: UserId::new(format!("u-{name}")),
        tenant_id: t.id,
        username: name.into(),
        email: None,
        display_name: None,
        disabled: false,
        created_at: Timestamp(T0),
        valid_from: None,
        valid_until: None,
        login_hours: None,
    };
    assert!(s.insert_user(&u, &ev("iam.user.created")).await.expect("insert user"));
    u
}

async fn device(s: &S, u: &User, id: &str) -> Device {
    let e = Enrollment {
        id: format!("e-{id}"),
        tenant_id: u.tenant_id.clone(),
        user_id: u.id.clone(),
        code_hash: format!("code-{id}").into_bytes(),
        created_at: Timestamp(T0),
        expires_at: Timestamp(T0 + 600_000),
        used_at: None,
        device_id: None,
    };
    s.insert_enrollment(&e, &ev("iam.device.enrollment_created")).await.expect("enrollment");
    let d = Device {
        id: id.into(),
        tenant_id: TenantId::new(String::new()),
        user_id: UserId::new(String::new()),
        name: "phone".into(),
        public_key: vec![7; 32],
        created_at: Timestamp(T0),
        revoked_at: None,
    };
    match s.consume_enrollment(&e.code_hash, Timestamp(T0 + 1), &d, &ev("iam.device.enrolled")).await.expect("consume")
    {
        Consume::Done((_, d)) => d,
        other => panic!("enrolment not consumed: {other:?}"),
    }
}

fn login(u: &User, id: &str, expires_at: i64) -> LoginRequest {
    LoginRequest {
        id: id.into(),
        tenant_id: u.tenant_id.clone(),
        user_id: u.id.clone(),
        app_id: Some("app1".into()),
        number: 42,
        environment: env("Firefox", "Linux", "203.0.113.0/24"),
        env_key: "envkey1".into(),
        env_known: false,
        created_at: Timestamp(T0),
        expires_at: Timestamp(expires_at),
        status: LoginStatus::Pending,
        decided_at: None,
        device_id: None,
        assertion_jti: None,
    }
}

fn assertion(u: &User, jti: &str, login_id: &str) -> AssertionRecord {
    AssertionRecord {
        jti: jti.into(),
        tenant_id: u.tenant_id.clone(),
        user_id: u.id.clone(),
        username: u.username.clone(),
        login_id: login_id.into(),
        level: 2,
        amr: "push".into(),
        issued_at: Timestamp(T0),
        expires_at: Timestamp(T0 + 60_000),
        consumed_at: None,
        consumed_by: None,
    }
}

/// A second tenant of the same name is not created.
pub async fn tenants_are_unique_by_name(s: S) {
    let t = Tenant::with_defaults(TenantId::new("t1"), "default", Timestamp(T0));
    let (a, new_a) = s.ensure_tenant(&t).await.expect("first");
    let (b, new_b) = s.ensure_tenant(&Tenant { id: "t2".into(), ..t.clone() }).await.expect("second");
    assert!(new_a && !new_b);
    assert_eq!(a, b);
    s.update_standby_settings(&TenantId::new("t1"), false, 120, &ev("configuration.tenant.updated"))
        .await
        .expect("update");
    let t = s.tenant(&TenantId::new("t1")).await.expect("read").expect("exists");
    assert!(!t.standby_required);
    assert_eq!(t.standby_seconds, 120);
}

/// Usernames are unique within a tenant.
pub async fn users_are_unique_per_tenant(s: S) {
    let u = user(&s, "alice").await;
    assert!(!s.insert_user(&User { id: "other".into(), ..u.clone() }, &ev("iam.user.created")).await.expect("insert"));
    assert_eq!(s.user_by_name(&TenantId::new("t1"), "alice").await.expect("read"), Some(u.clone()));
    assert_eq!(s.user(&u.id).await.expect("read"), Some(u));
    assert_eq!(s.list_users(&TenantId::new("t1")).await.expect("list").len(), 1);
}

/// An enrolment code creates one device, once.
pub async fn enrollment_is_consumed_once(s: S) {
    let u = user(&s, "alice").await;
    let d = device(&s, &u, "d1").await;
    assert_eq!(d.user_id, u.id);
    let again = Device { id: "d2".into(), ..d.clone() };
    match s
        .consume_enrollment(b"code-d1", Timestamp(T0 + 2), &again, &ev("iam.device.enrolled"))
        .await
        .expect("consume")
    {
        Consume::AlreadyUsed { at } => assert_eq!(at, Timestamp(T0 + 1)),
        other => panic!("expected AlreadyUsed, got {other:?}"),
    }
    assert_eq!(s.list_devices(&u.id).await.expect("list"), vec![d.clone()]);
    assert!(s.revoke_device(&DeviceId::new("d1"), Timestamp(T0 + 3), &ev("iam.device.removed")).await.expect("revoke"));
    assert!(!s
        .revoke_device(&DeviceId::new("d1"), Timestamp(T0 + 4), &ev("iam.device.removed"))
        .await
        .expect("revoke twice"));
    assert!(s.list_devices(&u.id).await.expect("list").is_empty());
    assert_eq!(s.device(&DeviceId::new("d1")).await.expect("read").and_then(|d| d.revoked_at), Some(Timestamp(T0 + 3)));
}

/// A code past its expiry is refused and creates nothing.
pub async fn expired_enrollment_is_refused(s: S) {
    let u = user(&s, "alice").await;
    let e = Enrollment {
        id: "e1".into(),
        tenant_id: u.tenant_id.clone(),
        user_id: u.id.clone(),
        code_hash: b"c".to_vec(),
        created_at: Timestamp(T0),
        expires_at: Timestamp(T0 + 10),
        used_at: None,
        device_id: None,
    };
    s.insert_enrollment(&e, &ev("iam.device.enrollment_created")).await.expect("insert");
    let d = Device {
        id: "d1".into(),
        tenant_id: TenantId::new(String::new()),
        user_id: UserId::new(String::new()),
        name: "p".into(),
        public_key: vec![1; 32],
        created_at: Timestamp(T0),
        revoked_at: None,
    };
    assert_eq!(s.consume_enrollment(b"c", Timestamp(T0 + 10), &d, &ev("x")).await.expect("consume"), Consume::Expired);
    assert_eq!(s.consume_enrollment(b"nope", Timestamp(T0), &d, &ev("x")).await.expect("consume"), Consume::NotFound);
    assert!(s.list_devices(&u.id).await.expect("list").is_empty());
}

/// A nonce is accepted once and forgotten after pruning.
pub async fn nonces_are_remembered_once(s: S) {
    assert!(s.remember_nonce(&DeviceId::new("d1"), "n1", Timestamp(T0 + 100)).await.expect("first"));
    assert!(!s.remember_nonce(&DeviceId::new("d1"), "n1", Timestamp(T0 + 100)).await.expect("replay"));
    assert!(s.remember_nonce(&DeviceId::new("d2"), "n1", Timestamp(T0 + 100)).await.expect("other device"));
    assert_eq!(s.prune_nonces(Timestamp(T0 + 101)).await.expect("prune"), 2);
    assert!(s.remember_nonce(&DeviceId::new("d1"), "n1", Timestamp(T0 + 200)).await.expect("after prune"));
}

/// A window is active until expiry, and closed by an approved login.
pub async fn standby_window_opens_and_closes_on_login(s: S) {
    let u = user(&s, "alice").await;
    let d = device(&s, &u, "d1").await;
    assert!(s.active_standby(&u.id, Timestamp(T0)).await.expect("none").is_none());
    let w = StandbyWindow {
        id: "w1".into(),
        tenant_id: u.tenant_id.clone(),
        user_id: u.id.clone(),
        device_id: d.id.clone(),
        opened_at: Timestamp(T0),
        expires_at: Timestamp(T0 + 60_000),
        closed_at: None,
    };
    s.open_standby(&w, &ev("auth.standby.opened")).await.expect("open");
    assert_eq!(s.active_standby(&u.id, Timestamp(T0 + 59_999)).await.expect("open"), Some(w.clone()));
    assert!(s.active_standby(&u.id, Timestamp(T0 + 60_000)).await.expect("expired").is_none());
    s.insert_login(&login(&u, "l1", T0 + 60_000), &[], &ev("auth.push.started")).await.expect("login");
    let approve = Decision::Approve(Box::new(assertion(&u, "j1", "l1")));
    let r = s
        .decide_login(&LoginId::new("l1"), &d.id, &approve, Timestamp(T0 + 5), &ev("auth.push.approved"))
        .await
        .expect("decide");
    assert!(matches!(r, Consume::Done(_)));
    assert!(s.active_standby(&u.id, Timestamp(T0 + 6)).await.expect("closed").is_none());
}

/// Exactly one decision wins; an expired login cannot be decided.
pub async fn login_is_decided_once(s: S) {
    let u = user(&s, "alice").await;
    let d = device(&s, &u, "d1").await;
    s.insert_login(&login(&u, "l1", T0 + 60_000), &[], &ev("auth.push.started")).await.expect("insert");
    let approve = Decision::Approve(Box::new(assertion(&u, "j1", "l1")));
    let first = s
        .decide_login(&LoginId::new("l1"), &d.id, &approve, Timestamp(T0 + 1), &ev("auth.push.approved"))
        .await
        .expect("first");
    let Consume::Done(l) = first else { panic!("not decided: {first:?}") };
    assert_eq!(l.status, LoginStatus::Approved);
    assert_eq!(l.assertion_jti.as_deref(), Some("j1"));
    let second = s
        .decide_login(&LoginId::new("l1"), &d.id, &Decision::Deny, Timestamp(T0 + 2), &ev("auth.push.denied"))
        .await
        .expect("second");
    assert_eq!(second, Consume::AlreadyUsed { at: Timestamp(T0 + 1) });
    let envs = s.list_environments(&u.id).await.expect("envs");
    assert_eq!(envs.len(), 1);
    assert!(envs[0].is_known(), "an approved login makes its environment known");

    s.insert_login(&login(&u, "l2", T0 + 60_000), &[], &ev("auth.push.started")).await.expect("insert");
    let late = s
        .decide_login(&LoginId::new("l2"), &d.id, &Decision::Deny, Timestamp(T0 + 60_000), &ev("auth.push.denied"))
        .await
        .expect("late");
    assert_eq!(late, Consume::Expired);
    let none = s
        .decide_login(&LoginId::new("nope"), &d.id, &Decision::Deny, Timestamp(T0), &ev("auth.push.denied"))
        .await
        .expect("none");
    assert_eq!(none, Consume::NotFound);
}

/// Push challenges leave the inbox once decided; notices stay until dismissed or expired.
pub async fn pending_messages_follow_login_state(s: S) {
    let u = user(&s, "alice").await;
    let d = device(&s, &u, "d1").await;
    let msg = |id: &str, kind: MessageKind, login_id: Option<&str>| InboxMessage {
        id: id.into(),
        tenant_id: u.tenant_id.clone(),
        user_id: u.id.clone(),
        kind,
        login_id: login_id.map(str::to_owned),
        body: "{}".into(),
        created_at: Timestamp(T0),
        expires_at: Timestamp(T0 + 60_000),
        dismissed_at: None,
    };
    s.insert_login(
        &login(&u, "l1", T0 + 60_000),
        &[msg("m1", MessageKind::PushLogin, Some("l1"))],
        &ev("auth.push.started"),
    )
    .await
    .expect("login");
    s.insert_messages(&[msg("m2", MessageKind::EnvironmentWarning, None)]).await.expect("notice");
    let ids = |v: Vec<InboxMessage>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(ids(s.pending_messages(&u.id, Timestamp(T0)).await.expect("pending")), vec!["m1", "m2"]);
    s.decide_login(&LoginId::new("l1"), &d.id, &Decision::Deny, Timestamp(T0 + 1), &ev("auth.push.denied"))
        .await
        .expect("deny");
    assert_eq!(ids(s.pending_messages(&u.id, Timestamp(T0 + 2)).await.expect("pending")), vec!["m2"]);
    assert!(!s.dismiss_message("m2", &UserId::new("someone-else"), Timestamp(T0 + 3)).await.expect("dismiss other"));
    assert!(s.dismiss_message("m2", &u.id, Timestamp(T0 + 3)).await.expect("dismiss"));
    assert!(s.pending_messages(&u.id, Timestamp(T0 + 4)).await.expect("pending").is_empty());
}

/// A QR token binds to the first device that redeems it.
pub async fn qr_is_redeemed_once(s: S) {
    let u = user(&s, "alice").await;
    let d = device(&s, &u, "d1").await;
    let q = QrSession {
        id: "q1".into(),
        tenant_id: u.tenant_id.clone(),
        token_hash: b"tok".to_vec(),
        poll_hash: b"poll".to_vec(),
        environment: env("Chrome", "macOS", "198.51.100.0/24"),
        env_key: "qrenv".into(),
        created_at: Timestamp(T0),
        expires_at: Timestamp(T0 + 60_000),
        used_at: None,
        user_id: None,
        device_id: None,
        assertion_jti: None,
        app_id: None,
    };
    s.insert_qr(&q).await.expect("insert");
    let a = assertion(&u, "jq", "");
    let r = s.redeem_qr(b"tok", &d, &a, Timestamp(T0 + 1), &ev("auth.qr.redeemed")).await.expect("redeem");
    let Consume::Done(done) = r else { panic!("not redeemed: {r:?}") };
    assert_eq!(done.user_id.as_deref(), Some(u.id.as_str()));
    assert_eq!(s.assertion("jq").await.expect("read").map(|a| a.login_id), Some("q1".to_owned()));
    let again = s.redeem_qr(b"tok", &d, &assertion(&u, "jq2", ""), Timestamp(T0 + 2), &ev("x")).await.expect("again");
    assert_eq!(again, Consume::AlreadyUsed { at: Timestamp(T0 + 1) });
    s.insert_qr(&QrSession { id: "q2".into(), token_hash: b"tok2".to_vec(), ..q }).await.expect("insert");
    let late =
        s.redeem_qr(b"tok2", &d, &assertion(&u, "jq3", ""), Timestamp(T0 + 60_000), &ev("x")).await.expect("late");
    assert_eq!(late, Consume::Expired);
}

/// An assertion verifies once.
pub async fn assertion_is_consumed_once(s: S) {
    let u = user(&s, "alice").await;
    let d = device(&s, &u, "d1").await;
    s.insert_login(&login(&u, "l1", T0 + 60_000), &[], &ev("auth.push.started")).await.expect("login");
    let approve = Decision::Approve(Box::new(assertion(&u, "j1", "l1")));
    s.decide_login(&LoginId::new("l1"), &d.id, &approve, Timestamp(T0 + 1), &ev("auth.push.approved"))
        .await
        .expect("approve");
    let first = s
        .consume_assertion("j1", &AppId::new("app1"), Timestamp(T0 + 2), &ev("auth.assertion.verified"))
        .await
        .expect("first");
    assert!(matches!(first, Consume::Done(ref a) if a.username == "alice"));
    let second = s
        .consume_assertion("j1", &AppId::new("app1"), Timestamp(T0 + 3), &ev("auth.assertion.verified"))
        .await
        .expect("second");
    assert_eq!(second, Consume::AlreadyUsed { at: Timestamp(T0 + 2) });
}

/// 100 concurrent redemptions of one ticket: exactly one succeeds.
pub async fn ticket_redeemed_once_under_concurrency(s: S) {
    let u = user(&s, "alice").await;
    let t = Ticket {
        id: "k1".into(),
        tenant_id: u.tenant_id.clone(),
        user_id: u.id.clone(),
        entitlement: "lunch".into(),
        issued_by: "app1".into(),
        created_at: Timestamp(T0),
        expires_at: Timestamp(T0 + 3_600_000),
        redeemed_at: None,
        redeemed_by: None,
    };
    s.insert_ticket(&t, &ev("ticket.issued")).await.expect("insert");
    assert_eq!(s.user_tickets(&u.id, Timestamp(T0)).await.expect("list").len(), 1);
    assert_eq!(s.ticket_with_holder("k1").await.expect("join"), Some((t.clone(), "alice".to_owned())));
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                s.redeem_ticket("k1", &AppId::new(format!("v{i}")), Timestamp(T0 + 1 + i), &ev("ticket.redeemed")).await
            })
        })
        .collect();
    let mut done = 0;
    let mut already = 0;
    for task in tasks {
        match task.await.expect("join").expect("redeem") {
            Consume::Done(_) => done += 1,
            Consume::AlreadyUsed { .. } => already += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((done, already), (1, 99));
    assert!(s.user_tickets(&u.id, Timestamp(T0)).await.expect("list").is_empty());
    let filter = EventFilter { action: Some("ticket.redeemed".into()), limit: 1000, ..Default::default() };
    assert_eq!(
        s.events(&filter).await.expect("events").len(),
        1,
        "only the winning redemption is written with the consume"
    );
}

/// Environments: first observation returns nothing before; trust and revoke work.
pub async fn environments_are_observed_trusted_and_revoked(s: S) {
    let u = user(&s, "alice").await;
    let e = EnvironmentRecord {
        user_id: u.id.clone(),
        env_key: "k".into(),
        tenant_id: u.tenant_id.clone(),
        browser: "Firefox".into(),
        os: "Linux".into(),
        network: "203.0.113.0/24".into(),
        country: None,
        first_seen: Timestamp(T0),
        last_seen: Timestamp(T0),
        last_login_at: None,
        trusted: false,
    };
    assert!(s.observe_environment(&e).await.expect("first").is_none());
    let before =
        s.observe_environment(&EnvironmentRecord { last_seen: Timestamp(T0 + 5), ..e.clone() }).await.expect("second");
    assert_eq!(before.map(|b| b.last_seen), Some(Timestamp(T0)));
    assert!(s.set_environment_trust(&u.id, "k", true, &ev("iam.environment.trusted")).await.expect("trust"));
    let listed = s.list_environments(&u.id).await.expect("list");
    assert!(listed[0].trusted && listed[0].last_seen == Timestamp(T0 + 5) && !listed[0].is_known());
    assert!(s.revoke_environment(&u.id, "k", &ev("iam.environment.revoked")).await.expect("revoke"));
    assert!(!s.revoke_environment(&u.id, "k", &ev("iam.environment.revoked")).await.expect("revoke twice"));
    assert!(s.list_environments(&u.id).await.expect("list").is_empty());
}

/// Every row's hash covers its document and the previous row's hash.
pub async fn audit_chain_links_every_row(s: S) {
    for i in 0..5 {
        s.append(&ev(&format!("test.{i}"))).await.expect("append");
    }
    let rows = s.events(&EventFilter { limit: 100, ..Default::default() }).await.expect("events");
    assert_eq!(rows.len(), 5);
    let mut prev = GENESIS_HASH.to_vec();
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.seq, i64::try_from(i).expect("small") + 1);
        assert_eq!(r.prev_hash, prev);
        assert_eq!(r.hash, chain_hash(&prev, &r.doc));
        prev = r.hash.clone();
    }
}

/// Two nodes (or processes) appending to one database, interleaved and concurrently,
/// keep one unbroken chain: a node's cached head going stale costs a retry, not a fork.
pub async fn audit_chain_survives_two_writers(a: S, b: S) {
    for i in 0..6 {
        let s = if i % 2 == 0 { &a } else { &b };
        s.append(&ev(&format!("interleaved.{i}"))).await.expect("append");
    }
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let s = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { s.append(&ev(&format!("concurrent.{i}"))).await })
        })
        .collect();
    for t in tasks {
        t.await.expect("join").expect("append");
    }
    let rows = a.events(&EventFilter { limit: 1000, ..Default::default() }).await.expect("events");
    assert_eq!(rows.len(), 46);
    let mut prev = GENESIS_HASH.to_vec();
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.seq, i64::try_from(i).expect("small") + 1);
        assert_eq!(r.prev_hash, prev, "row {} links to its predecessor", r.seq);
        assert_eq!(r.hash, chain_hash(&prev, &r.doc));
        prev = r.hash.clone();
    }
}

/// Archiving deletes the rows up to a base and records it, with the archive event appended
/// in the same transaction; the chain goes on from the head; what is not in the log with
/// that hash, or is the head, is refused with nothing changed.
pub async fn audit_rows_are_archived_behind_a_signed_base(s: S) {
    for i in 0..5 {
        s.append(&ev(&format!("test.{i}"))).await.expect("append");
    }
    assert_eq!(s.audit_base().await.expect("base"), None);
    let rows = s.events(&EventFilter { limit: 100, ..Default::default() }).await.expect("events");
    let base = |r: &StoredEvent| AuditBase {
        seq: r.seq,
        hash: r.hash.clone(),
        sig: "sig".into(),
        archived_at: Timestamp(T0 + 9),
    };
    let wrong = AuditBase { hash: vec![0; 32], ..base(&rows[4]) };
    assert_eq!(s.archive_audit(&wrong, &ev("audit.archived")).await.expect("archive"), Err(ArchiveRefused::NotInLog));
    assert_eq!(
        s.archive_audit(&base(&rows[4]), &ev("audit.archived")).await.expect("archive"),
        Err(ArchiveRefused::NotArchivable),
        "the head stays"
    );
    assert_eq!(s.archive_audit(&base(&rows[2]), &ev("audit.archived")).await.expect("archive"), Ok(3));
    assert_eq!(s.audit_base().await.expect("base"), Some(base(&rows[2])));
    assert_eq!(
        s.archive_audit(&base(&rows[1]), &ev("audit.archived")).await.expect("archive"),
        Err(ArchiveRefused::NotInLog),
        "already archived"
    );
    s.append(&ev("test.after")).await.expect("append");
    let live = s.events(&EventFilter { limit: 100, ..Default::default() }).await.expect("events");
    assert_eq!(live.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![4, 5, 6, 7]);
    assert_eq!(live[2].action, "audit.archived");
    let mut prev = rows[2].hash.clone();
    for r in &live {
        assert_eq!(r.prev_hash, prev, "row {} links to its predecessor", r.seq);
        assert_eq!(r.hash, chain_hash(&prev, &r.doc));
        prev = r.hash.clone();
    }
    assert_eq!(s.archive_audit(&base(&live[1]), &ev("audit.archived")).await.expect("archive"), Ok(2));
    assert_eq!(s.audit_base().await.expect("base").map(|b| b.seq), Some(5));
}

/// Filters by user, action (exact and prefix), time and paging.
pub async fn audit_filters_select_rows(s: S) {
    let at = |ms: i64, action: &str, user: Option<&str>| {
        let mut e = NewEvent::new(Timestamp(ms), "t1", "authentication", action, Outcome::Success);
        e.user_id = user.map(str::to_owned);
        e
    };
    s.append(&at(T0, "auth.push.started", Some("u1"))).await.expect("a");
    s.append(&at(T0 + 10, "auth.push.approved", Some("u1"))).await.expect("b");
    s.append(&at(T0 + 20, "auth.qr.redeemed", Some("u2"))).await.expect("c");
    s.append(&at(T0 + 30, "auth_push_x", None)).await.expect("d");
    let q = |f: EventFilter| {
        let s = s.clone();
        async move {
            s.events(&EventFilter { limit: 100, ..f })
                .await
                .expect("events")
                .into_iter()
                .map(|e| e.seq)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(q(EventFilter { user_id: Some("u1".into()), ..Default::default() }).await, vec![1, 2]);
    assert_eq!(q(EventFilter { action: Some("auth.push.*".into()), ..Default::default() }).await, vec![1, 2]);
    assert_eq!(q(EventFilter { action: Some("auth.qr.redeemed".into()), ..Default::default() }).await, vec![3]);
    assert_eq!(
        q(EventFilter { since: Some(Timestamp(T0 + 10)), until: Some(Timestamp(T0 + 30)), ..Default::default() }).await,
        vec![2, 3]
    );
    assert_eq!(q(EventFilter { after_seq: Some(2), ..Default::default() }).await, vec![3, 4]);
    assert_eq!(s.events(&EventFilter { limit: 1, ..Default::default() }).await.expect("limit").len(), 1);
}

/// Pruning deletes what expired before the cutoff, keeps what is live, and never touches
/// the audit log.
pub async fn expired_rows_are_pruned_and_live_ones_kept(s: S) {
    let u = user(&s, "alice").await;
    device(&s, &u, "d1").await;
    s.insert_login(&login(&u, "old", T0 + 1_000), &[], &ev("auth.push.started")).await.expect("old login");
    s.insert_login(&login(&u, "live", T0 + 900_000), &[], &ev("auth.push.started")).await.expect("live login");
    let qr = |id: &str, exp: i64| QrSession {
        id: id.into(),
        tenant_id: u.tenant_id.clone(),
        token_hash: id.as_bytes().to_vec(),
        poll_hash: b"p".to_vec(),
        environment: env("Other", "Other", "unknown"),
        env_key: "k".into(),
        created_at: Timestamp(T0),
        expires_at: Timestamp(exp),
        used_at: None,
        user_id: None,
        device_id: None,
        assertion_jti: None,
        app_id: None,
    };
    s.insert_qr(&qr("q-old", T0 + 1_000)).await.expect("old qr");
    s.insert_qr(&qr("q-live", T0 + 900_000)).await.expect("live qr");
    let audit_before = s.events(&EventFilter { limit: 1000, ..Default::default() }).await.expect("events").len();

    let gone = s.prune_expired(Timestamp(T0 + 500_000)).await.expect("prune");
    assert!(gone >= 2, "the old login and QR session went (and the used enrolment): {gone}");
    assert!(s.login(&LoginId::new("old")).await.expect("read").is_none());
    assert!(s.login(&LoginId::new("live")).await.expect("read").is_some());
    assert!(s.qr("q-old").await.expect("read").is_none());
    assert!(s.qr("q-live").await.expect("read").is_some());
    assert_eq!(s.list_devices(&u.id).await.expect("devices").len(), 1, "devices are not pruned");
    let audit_after = s.events(&EventFilter { limit: 1000, ..Default::default() }).await.expect("events").len();
    assert_eq!(audit_before, audit_after);
}

mod accounts;
mod console;
mod ingest;
mod oidc;
mod passkeys;
mod push;
mod respond;
mod rollups;
mod search;
pub use accounts::*;
pub use console::*;
pub use ingest::*;
pub use oidc::*;
pub use passkeys::*;
pub use push::*;
pub use respond::*;
pub use rollups::*;
pub use search::*;
