//! Conformance cases for console roles: given to users and groups, one per subject, found
//! for a user directly and through groups, and gone with the user or the group.

use super::*;

fn grant(t: &TenantId, kind: ConsoleSubject, id: &str, role: AdminRole) -> ConsoleGrant {
    ConsoleGrant {
        tenant_id: t.clone(),
        subject_kind: kind,
        subject_id: id.into(),
        role,
        scope: (role == AdminRole::Operator)
            .then(|| OperatorScope { capabilities: vec!["users.disable".into()], groups: vec!["sales".into()] }),
        created_at: Timestamp(T0),
        created_by: "admin-token".into(),
    }
}

pub async fn console_grants_follow_users_and_groups(s: S) {
    let alice = user(&s, "alice").await;
    let bob = user(&s, "bob").await;
    let t = alice.tenant_id.clone();
    let group = Group {
        id: "g-it".into(),
        tenant_id: t.clone(),
        name: "it".into(),
        login_hours: None,
        created_at: Timestamp(T0),
    };
    assert!(s.insert_group(&group, &ev("iam.group.created")).await.expect("group"));
    assert!(s.add_group_member("g-it", &bob.id, &ev("iam.group.member_added")).await.expect("member"));
    let put = |g: ConsoleGrant| {
        let s = s.clone();
        async move { s.put_console_grant(&g, &ev("admin.console_role.granted")).await.expect("put") }
    };
    put(grant(&t, ConsoleSubject::User, alice.id.as_str(), AdminRole::Auditor)).await;
    put(grant(&t, ConsoleSubject::User, alice.id.as_str(), AdminRole::Admin)).await;
    put(grant(&t, ConsoleSubject::Group, "g-it", AdminRole::Operator)).await;
    let all = s.console_grants(&t).await.expect("list");
    assert_eq!(all.len(), 2, "one per subject: {all:?}");
    let of_alice = s.console_grants_of(&alice.id).await.expect("alice");
    assert_eq!(of_alice.iter().map(|g| g.role).collect::<Vec<_>>(), [AdminRole::Admin], "replaced");
    let of_bob = s.console_grants_of(&bob.id).await.expect("bob");
    assert_eq!(of_bob.len(), 1, "through the group");
    assert_eq!(of_bob[0].scope.as_ref().map(|s| s.groups.clone()), Some(vec!["sales".to_owned()]));

    assert!(s.delete_group("g-it", &ev("iam.group.deleted")).await.expect("delete group"));
    assert!(s.console_grants_of(&bob.id).await.expect("bob").is_empty(), "gone with the group");
    assert!(!s.delete_console_grant(&t, ConsoleSubject::User, bob.id.as_str(), &ev("x")).await.expect("none"));
    assert!(s.delete_user(&alice.id, &ev("iam.user.deleted")).await.expect("delete user"));
    assert!(s.console_grants(&t).await.expect("list").is_empty(), "gone with the user");
    put(grant(&t, ConsoleSubject::User, bob.id.as_str(), AdminRole::Auditor)).await;
    assert!(s
        .delete_console_grant(&t, ConsoleSubject::User, bob.id.as_str(), &ev("admin.console_role.revoked"))
        .await
        .expect("revoke"));
    let filter = EventFilter { action: Some("admin.console_role.revoked".into()), limit: 10, ..Default::default() };
    assert_eq!(s.events(&filter).await.expect("events").len(), 1);
}
