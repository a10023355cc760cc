//! Conformance cases for the versioned tenant documents (tuning and alert routing) and
//! alert silences.

use super::*;

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
            created_at: T0 + version,
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
        assert!(s.document(kind, "other-tenant").await.expect("read").is_none());
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
        starts_at,
        ends_at,
        created_by: "admin_token:a1".into(),
        comment: "travelling".into(),
        created_at: T0,
    };
    s.insert_silence(&silence("s1", T0, T0 + 1_000), &ev("admin.silence.created")).await.expect("insert");
    s.insert_silence(&silence("s2", T0 + 500, T0 + 5_000), &ev("admin.silence.created")).await.expect("insert");
    let listed = s.silences(&t.id, T0).await.expect("list");
    assert_eq!(listed.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(), ["s1", "s2"]);
    assert_eq!(listed[0], silence("s1", T0, T0 + 1_000), "read back as written, matchers decoded");
    assert_eq!(s.silences(&t.id, T0 + 1_000).await.expect("list").len(), 1, "s1 has ended by then");
    assert!(s.silences("other-tenant", T0).await.expect("list").is_empty());
    // Expired early, once; an ended or foreign silence is not expired again.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (s, tenant) = (s.clone(), t.id.clone());
        tasks.push(tokio::spawn(async move {
            s.expire_silence(&tenant, "s2", T0 + 2_000, &ev("admin.silence.expired")).await.expect("expire")
        }));
    }
    let mut won = 0;
    for task in tasks {
        won += usize::from(task.await.expect("join"));
    }
    assert_eq!(won, 1);
    assert!(!s.expire_silence(&t.id, "s1", T0 + 2_000, &ev("admin.silence.expired")).await.expect("ended"));
    assert!(!s.expire_silence("other-tenant", "s2", T0 + 1, &ev("admin.silence.expired")).await.expect("foreign"));
    assert!(s.silences(&t.id, T0 + 2_000).await.expect("list").is_empty());
    let audited = s.events(&EventFilter { limit: 1000, ..Default::default() }).await.expect("events");
    assert_eq!(audited.iter().filter(|e| e.doc.contains("admin.silence.expired")).count(), 1);
}
