//! Conformance cases for ingest: sources, batches, ingested events, alerts and dead
//! letters.

use super::*;
use sekimori_core::{TenantId, Timestamp};

pub async fn ingest_sources_batches_alerts_and_dead_letters(s: S) {
    let t = tenant(&s).await;
    let src = IngestSource {
        id: "src1".into(),
        tenant_id: t.id.clone(),
        name: "web".into(),
        secret_hash: vec![9; 32],
        created_at: Timestamp(T0),
        revoked_at: None,
        labels: [("environment".to_owned(), "production".to_owned())].into_iter().collect(),
    };
    assert!(s.insert_ingest_source(&src, &ev("iam.ingest_source.created")).await.expect("insert"));
    let again = IngestSource { id: "src2".into(), ..src.clone() };
    assert!(!s.insert_ingest_source(&again, &ev("iam.ingest_source.created")).await.expect("dup"), "names are unique");
    assert_eq!(s.ingest_source("src1").await.expect("read"), Some(src.clone()));
    assert_eq!(s.list_ingest_sources(&t.id).await.expect("list").len(), 1);
    let revoke = ev("iam.ingest_source.revoked");
    assert!(!s
        .revoke_ingest_source(&TenantId::new("other-tenant"), "src1", Timestamp(T0 + 1), &revoke)
        .await
        .expect("revoke"));
    let gone = IngestSource { id: "src-old".into(), name: "old".into(), ..src.clone() };
    assert!(s.insert_ingest_source(&gone, &ev("iam.ingest_source.created")).await.expect("insert"));
    assert!(s.revoke_ingest_source(&t.id, "src-old", Timestamp(T0 + 1), &revoke).await.expect("revoke"));
    assert!(
        !s.revoke_ingest_source(&t.id, "src-old", Timestamp(T0 + 2), &revoke).await.expect("again"),
        "already revoked"
    );
    assert_eq!(s.ingest_source("src-old").await.expect("read").and_then(|x| x.revoked_at), Some(Timestamp(T0 + 1)));
    let staging: std::collections::BTreeMap<String, String> =
        [("environment".to_owned(), "staging".to_owned())].into_iter().collect();
    let labelled = ev("iam.ingest_source.labelled");
    assert!(s.set_ingest_source_labels(&t.id, "src1", &staging, &labelled).await.expect("labels"));
    assert!(!s
        .set_ingest_source_labels(&TenantId::new("other-tenant"), "src1", &staging, &labelled)
        .await
        .expect("labels"));
    assert!(!s.set_ingest_source_labels(&t.id, "src-old", &staging, &labelled).await.expect("labels"), "revoked");
    assert_eq!(s.ingest_source("src1").await.expect("read").map(|x| x.labels), Some(staging));

    let alert = |id: &str, title: &str| AlertRecord {
        id: id.into(),
        tenant_id: t.id.clone(),
        rule_id: Some("r1".into()),
        title: title.into(),
        level: "high".into(),
        tags: "[]".into(),
        source_id: "src1".into(),
        event_seq: 0,
        matched: "[]".into(),
        entities: r#"{"user":"alice"}"#.into(),
        excerpt: r#"{"a":2}"#.into(),
        created_at: Timestamp(T0 + 10),
    };
    let batch = IngestBatch {
        tenant_id: t.id.clone(),
        source_id: "src1".into(),
        received_at: Timestamp(T0 + 10),
        events: vec![r#"{"a":1}"#.into(), r#"{"a":2}"#.into(), r#"{"a":3}"#.into()],
        dead_letters: vec![DeadLetter {
            id: "d1".into(),
            tenant_id: t.id.clone(),
            source_id: "src1".into(),
            received_at: Timestamp(T0 + 10),
            reason: "line 2: expected value".into(),
            sample: "not json".into(),
        }],
        alerts: vec![(1, alert("al1", "second")), (2, alert("al2", "third"))],
        cursor: Some(("audit".into(), 0, 41)),
        profiles: vec![("user:alice".into(), r#"{"events":3}"#.into())],
        event_entities: vec![],
        event_fields: vec![],
    };
    assert_eq!(s.watch_cursor("audit").await.expect("cursor"), 0);
    let seqs = s.store_ingest(&batch).await.expect("store").expect("the cursor was where the batch was read");
    assert_eq!(s.watch_cursor("audit").await.expect("cursor"), 41, "the cursor moves with the batch");
    assert_eq!(seqs.len(), 3);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "sequence numbers ascend: {seqs:?}");
    let events = s.ingested_events(&t.id, 0, 10).await.expect("events");
    assert_eq!(events.iter().map(|e| e.doc.as_str()).collect::<Vec<_>>(), [r#"{"a":1}"#, r#"{"a":2}"#, r#"{"a":3}"#]);
    let alerts = s.alerts(&t.id, Timestamp(T0), 10).await.expect("alerts");
    assert_eq!(alerts.len(), 2);
    let second = alerts.iter().find(|a| a.id == "al1").expect("al1");
    assert_eq!(second.event_seq, seqs[1], "an alert points at the event it fired on");
    assert_eq!((second.entities.as_str(), second.excerpt.as_str()), (r#"{"user":"alice"}"#, r#"{"a":2}"#));
    let linked = s.ingested_event(&t.id, second.event_seq).await.expect("event").expect("found");
    assert_eq!(linked.doc, r#"{"a":2}"#);
    assert!(s.ingested_event(&TenantId::new("other-tenant"), second.event_seq).await.expect("event").is_none());
    let alice = ["user:alice".to_owned()];
    assert_eq!(
        s.behaviour_profiles(&t.id, &alice).await.expect("profile"),
        [("user:alice".to_owned(), r#"{"events":3}"#.to_owned())]
    );
    assert!(s.behaviour_profiles(&TenantId::new("other-tenant"), &alice).await.expect("profile").is_empty());
    // Read together, in chunks: only those that exist, only the tenant's.
    let mut many: Vec<String> = (0..1_200).map(|i| format!("user:u{i}")).collect();
    many.insert(700, "user:alice".into());
    assert_eq!(
        s.behaviour_profiles(&t.id, &many).await.expect("profiles"),
        [("user:alice".to_owned(), r#"{"events":3}"#.to_owned())]
    );
    assert!(s.behaviour_profiles(&TenantId::new("other-tenant"), &many).await.expect("profiles").is_empty());
    assert!(s.behaviour_profiles(&t.id, &[]).await.expect("profiles").is_empty());
    assert!(s.alerts(&t.id, Timestamp(T0 + 11), 10).await.expect("alerts").is_empty());
    assert!(s.alerts(&TenantId::new("other-tenant"), Timestamp(T0), 10).await.expect("alerts").is_empty());
    assert_eq!(s.dead_letters(&t.id, 10).await.expect("dead")[0].sample, "not json");

    assert_eq!(s.store_ingest(&batch).await.expect("store"), None, "another node already wrote from cursor 0");
    let bad = IngestBatch {
        alerts: vec![(7, alert("al3", "nowhere"))],
        cursor: Some(("audit".into(), 41, 99)),
        ..batch.clone()
    };
    assert!(s.store_ingest(&bad).await.is_err(), "an alert must point at an event of its batch");
    let newer = IngestBatch {
        events: Vec::new(),
        dead_letters: Vec::new(),
        alerts: Vec::new(),
        cursor: None,
        profiles: vec![("user:alice".into(), r#"{"events":4}"#.into())],
        event_entities: vec![],
        event_fields: vec![],
        ..batch.clone()
    };
    s.store_ingest(&newer).await.expect("store").expect("no cursor");
    assert_eq!(
        s.behaviour_profiles(&t.id, &alice).await.expect("profile"),
        [("user:alice".to_owned(), r#"{"events":4}"#.to_owned())],
        "a profile is replaced, not duplicated"
    );
    assert_eq!(s.watch_cursor("audit").await.expect("cursor"), 41, "a failed batch does not move the cursor");
    assert_eq!(s.ingested_events(&t.id, 0, 10).await.expect("events").len(), 3, "the failed batch left nothing");

    // A large batch (several multi-row INSERTs): every event stored once, numbered in order,
    // and an alert on the last one points at it.
    let docs: Vec<String> = (0..250).map(|i| format!(r#"{{"n":{i}}}"#)).collect();
    let large = IngestBatch {
        events: docs.clone(),
        dead_letters: Vec::new(),
        alerts: vec![(249, alert("al-last", "n249"))],
        cursor: None,
        profiles: Vec::new(),
        event_entities: vec![],
        event_fields: vec![],
        ..batch.clone()
    };
    let seqs = s.store_ingest(&large).await.expect("store").expect("no cursor");
    assert_eq!(seqs.len(), 250);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "sequence numbers ascend");
    let after = s.ingested_events(&t.id, seqs[0] - 1, 300).await.expect("events");
    assert_eq!(after.iter().map(|e| e.doc.clone()).collect::<Vec<_>>(), docs);
    assert_eq!(after.iter().map(|e| e.seq).collect::<Vec<_>>(), seqs);
    let last = s
        .alerts(&t.id, Timestamp(T0), 10)
        .await
        .expect("alerts")
        .into_iter()
        .find(|a| a.id == "al-last")
        .expect("alert");
    assert_eq!(last.event_seq, seqs[249]);

    // The default keeps everything younger than a day; a tenant with 0 days keeps nothing older than now.
    assert_eq!(s.prune_ingested(Timestamp(T0 + 11), 1).await.expect("prune"), 0, "within the default retention");
    assert_eq!(s.ingest_retention(&t.id).await.expect("read"), None);
    s.set_ingest_retention(&t.id, 0, Timestamp(T0), &ev("admin.ingest_settings.updated")).await.expect("set");
    s.set_ingest_retention(&t.id, 0, Timestamp(T0), &ev("admin.ingest_settings.updated")).await.expect("set again");
    assert_eq!(s.ingest_retention(&t.id).await.expect("read"), Some(0));
    assert_eq!(
        s.prune_ingested(Timestamp(T0 + 11), 1).await.expect("prune"),
        254,
        "the 3 + 250 events and the dead letter"
    );
    assert!(s.ingested_events(&t.id, 0, 10).await.expect("events").is_empty());
    assert_eq!(s.alerts(&t.id, Timestamp(T0), 10).await.expect("alerts").len(), 3, "alerts outlive the raw events");
}

pub async fn alerts_are_found_by_the_entities_they_are_about(s: S) {
    let t = tenant(&s).await;
    let alert = |id: &str, at: i64| AlertRecord {
        id: id.into(),
        tenant_id: t.id.clone(),
        rule_id: Some("r1".into()),
        title: id.into(),
        level: "high".into(),
        tags: "[]".into(),
        source_id: "src1".into(),
        event_seq: 0,
        matched: "[]".into(),
        entities: "{}".into(),
        excerpt: "{}".into(),
        created_at: Timestamp(at),
    };
    // Each alert on an event of its own; an alert is about its event's entities. 250 about
    // bob (more than one insert statement holds), then three about alice and one about nobody.
    let mut alerts: Vec<(usize, AlertRecord)> = Vec::new();
    let mut event_entities: Vec<(usize, Entity)> = Vec::new();
    let mut add = |id: &str, at: i64, entities: &[(&str, &str)]| {
        let index = alerts.len();
        alerts.push((index, alert(id, at)));
        event_entities.extend(entities.iter().map(|(k, v)| (index, Entity { kind: (*k).into(), value: (*v).into() })));
    };
    for i in 0..250 {
        add(&format!("b{i:03}"), T0 + i, &[("user", "bob"), ("ip", "192.0.2.9")]);
    }
    add("a1", T0 + 300, &[("user", "alice"), ("ip", "192.0.2.7"), ("host", "ws1")]);
    add("a2", T0 + 301, &[("user", "alice")]);
    add("a3", T0 + 302, &[("ip", "192.0.2.7")]);
    add("n1", T0 + 303, &[]);
    let batch = IngestBatch {
        tenant_id: t.id.clone(),
        source_id: "src1".into(),
        received_at: Timestamp(T0),
        events: vec!["{}".into(); alerts.len()],
        dead_letters: vec![],
        alerts,
        cursor: None,
        profiles: vec![],
        event_entities,
        event_fields: vec![],
    };
    s.store_ingest(&batch).await.expect("store").expect("no cursor");
    let about = |kind: &str, value: &str| Entity { kind: kind.into(), value: value.into() };
    let ids = |v: Vec<AlertRecord>| v.into_iter().map(|a| a.id).collect::<Vec<_>>();
    let find = |e: Entity, state: Option<AlertState>, since: i64, limit: i64| {
        let (s, t) = (s.clone(), t.id.clone());
        async move { ids(s.alerts_about(&t, &e, state, Timestamp(since), limit).await.expect("about")) }
    };
    assert_eq!(find(about("user", "alice"), None, 0, 10).await, ["a2", "a1"], "newest first");
    assert_eq!(find(about("ip", "192.0.2.7"), None, 0, 10).await, ["a3", "a1"]);
    assert_eq!(find(about("host", "ws1"), None, 0, 10).await, ["a1"]);
    assert_eq!(find(about("user", "192.0.2.7"), None, 0, 10).await, Vec::<String>::new(), "the kind counts");
    assert_eq!(find(about("user", "bob"), None, 0, 1000).await.len(), 250);
    assert_eq!(find(about("user", "bob"), None, T0 + 248, 1000).await, ["b249", "b248"]);
    assert_eq!(find(about("user", "bob"), None, 0, 3).await, ["b249", "b248", "b247"]);
    let triage = AlertTriage {
        alert_id: "a1".into(),
        tenant_id: t.id.clone(),
        state: AlertState::Resolved,
        assignee: None,
        changed_at: Timestamp(T0 + 400),
        changed_by: "lead".into(),
    };
    s.set_alert_triage(&triage, &[AlertState::Firing], &ev("alert.resolved")).await.expect("triage");
    assert_eq!(find(about("user", "alice"), Some(AlertState::Resolved), 0, 10).await, ["a1"]);
    assert_eq!(find(about("user", "alice"), Some(AlertState::Firing), 0, 10).await, ["a2"]);
    // What the batch's alerts are about is staged with it; a second batch (about bob and
    // alice) stays staged while the first is moved, and every answer is as before, found in
    // the moved rows, the staged batch or both.
    let mut second = batch.clone();
    second.alerts = vec![(0, alert("c1", T0 + 500)), (1, alert("c2", T0 + 100))];
    second.events = vec!["{}".into(); 2];
    second.event_entities = vec![(0, about("user", "bob")), (1, about("user", "alice"))];
    s.store_ingest(&second).await.expect("store").expect("no cursor");
    let answers = || async {
        (
            find(about("user", "alice"), None, 0, 10).await,
            find(about("user", "alice"), Some(AlertState::Firing), 0, 10).await,
            find(about("user", "bob"), None, 0, 3).await,
            find(about("user", "bob"), None, T0 + 249, 1000).await,
        )
    };
    let all_staged = answers().await;
    assert_eq!(
        all_staged,
        (
            vec!["a2".to_string(), "a1".into(), "c2".into()],
            vec!["a2".to_string(), "c2".into()],
            vec!["c1".to_string(), "b249".into(), "b248".into()],
            vec!["c1".to_string(), "b249".into()],
        ),
        "newest first across both batches"
    );
    assert_eq!(s.merge_recent_index(1).await.expect("merge"), 1, "the first batch");
    assert_eq!(answers().await, all_staged, "one moved, one staged");
    assert_eq!(s.merge_recent_index(100).await.expect("merge"), 1);
    assert_eq!(answers().await, all_staged, "both moved");
    let other = TenantId::new("other-tenant");
    assert!(s.alerts_about(&other, &about("user", "alice"), None, Timestamp(0), 10).await.expect("about").is_empty());
    // An entity of an event outside the batch is refused, and nothing is written.
    let bad = IngestBatch {
        events: vec!["{}".into()],
        alerts: vec![(0, alert("x1", T0))],
        event_entities: vec![(0, about("user", "carol")), (5, about("user", "carol"))],
        event_fields: vec![],
        ..batch.clone()
    };
    assert!(s.store_ingest(&bad).await.is_err());
    assert!(s.alert(&t.id, "x1").await.expect("read").is_none());
    assert!(find(about("user", "carol"), None, 0, 10).await.is_empty());
}

pub async fn ingested_events_are_searched_by_entity_source_time_and_page(s: S) {
    let t = tenant(&s).await;
    let about = |kind: &str, value: &str| Entity { kind: kind.into(), value: value.into() };
    let batch = |source: &str, at: i64, events: &[&str], entities: Vec<(usize, Entity)>| IngestBatch {
        tenant_id: t.id.clone(),
        source_id: source.into(),
        received_at: Timestamp(at),
        events: events.iter().map(|e| (*e).to_owned()).collect(),
        dead_letters: vec![],
        alerts: vec![],
        cursor: None,
        profiles: vec![],
        event_entities: entities,
        event_fields: vec![],
    };
    let first = batch(
        "src1",
        T0,
        &["e0", "e1", "e2", "e3"],
        vec![
            (0, about("user", "alice")),
            (1, about("user", "bob")),
            (2, about("user", "alice")),
            (2, about("ip", "192.0.2.7")),
        ],
    );
    s.store_ingest(&first).await.expect("store").expect("no cursor");
    let second = batch("src2", T0 + 1000, &["f0", "f1"], vec![(1, about("user", "alice"))]);
    s.store_ingest(&second).await.expect("store").expect("no cursor");
    let query = |entity: Option<Entity>| IngestedQuery {
        since: Timestamp(T0),
        until: Timestamp(T0 + 2000),
        source_id: None,
        entity,
        field: None,
        before: None,
        limit: 10,
    };
    let docs = |q: IngestedQuery| {
        let (s, t) = (s.clone(), t.id.clone());
        async move { s.search_ingested(&t, &q).await.expect("search").into_iter().map(|e| e.doc).collect::<Vec<_>>() }
    };
    assert_eq!(docs(query(None)).await, ["f1", "f0", "e3", "e2", "e1", "e0"], "all, newest first");
    assert_eq!(docs(query(Some(about("user", "alice")))).await, ["f1", "e2", "e0"]);
    assert_eq!(docs(query(Some(about("ip", "192.0.2.7")))).await, ["e2"]);
    assert_eq!(docs(query(Some(about("ip", "alice")))).await, Vec::<String>::new(), "the field counts");
    let from_src1 = IngestedQuery { source_id: Some("src1".into()), ..query(Some(about("user", "alice"))) };
    assert_eq!(docs(from_src1.clone()).await, ["e2", "e0"]);
    assert_eq!(docs(IngestedQuery { entity: None, ..from_src1 }).await, ["e3", "e2", "e1", "e0"]);
    let early = IngestedQuery { until: Timestamp(T0 + 1000), ..query(Some(about("user", "alice"))) };
    assert_eq!(docs(early).await, ["e2", "e0"], "until is exclusive");
    // The batches' index entries are staged; moved into postings a batch at a time, every
    // search answers the same before, between and after.
    let alice = || query(Some(about("user", "alice")));
    let before_move = docs(alice()).await;
    assert_eq!(before_move, ["f1", "e2", "e0"]);
    assert_eq!(s.merge_recent_index(1).await.expect("merge"), 1, "one batch");
    assert_eq!(docs(alice()).await, before_move, "half moved");
    assert_eq!(s.merge_recent_index(100).await.expect("merge"), 1);
    assert_eq!(s.merge_recent_index(100).await.expect("merge"), 0, "nothing left");
    assert_eq!(docs(alice()).await, before_move, "all moved");
    // Paging: two at a time, each page before the last one's number.
    let page1 = s.search_ingested(&t.id, &IngestedQuery { limit: 2, ..query(None) }).await.expect("page");
    let before = page1.last().map(|e| (e.received_at, e.seq));
    let page2 = IngestedQuery { limit: 2, before, ..query(None) };
    assert_eq!(docs(page2).await, ["e3", "e2"]);
    assert!(s
        .search_ingested(&TenantId::new("other-tenant"), &query(Some(about("user", "alice"))))
        .await
        .expect("search")
        .is_empty());
    // An entity pointing outside its batch is refused, and nothing is written.
    let bad = batch("src1", T0 + 1500, &["g0"], vec![(3, about("user", "carol"))]);
    assert!(s.store_ingest(&bad).await.is_err());
    assert!(docs(query(Some(about("user", "carol")))).await.is_empty());
    // Pruned with the events.
    s.prune_ingested(Timestamp(T0 + 400 * 86_400_000), 30).await.expect("prune");
    assert!(docs(IngestedQuery { until: Timestamp(i64::MAX), ..query(Some(about("user", "alice"))) }).await.is_empty());
}

/// Each tenant's events, dead letters and index entries go after its own retention (its
/// setting, or the default), tenant by tenant.
pub async fn retention_is_applied_tenant_by_tenant(s: S) {
    const DAY: i64 = 86_400_000;
    let t1 = tenant(&s).await.id;
    let t2 =
        s.ensure_tenant(&Tenant::with_defaults(TenantId::new("t2"), "second", Timestamp(T0))).await.expect("t2").0.id;
    s.set_ingest_retention(&t1, 2, Timestamp(T0), &ev("admin.ingest_settings.updated")).await.expect("set");
    let alice = Entity { kind: "user".into(), value: "alice".into() };
    for t in [&t1, &t2] {
        for day in [0, 3, 6] {
            let at = T0 + day * DAY;
            let batch = IngestBatch {
                tenant_id: t.clone(),
                source_id: "src".into(),
                received_at: Timestamp(at),
                events: vec![format!("{t}-day{day}")],
                dead_letters: vec![DeadLetter {
                    id: format!("dl-{t}-{day}"),
                    tenant_id: t.clone(),
                    source_id: "src".into(),
                    received_at: Timestamp(at),
                    reason: "not JSON".into(),
                    sample: "x".into(),
                }],
                alerts: vec![],
                cursor: None,
                profiles: vec![],
                event_entities: vec![(0, alice.clone())],
                event_fields: vec![],
            };
            s.store_ingest(&batch).await.expect("store").expect("no cursor");
        }
    }
    s.merge_recent_index(100).await.expect("merge");
    // On day 7: t1 keeps 2 days (day 6 only), t2 the default 5 (days 3 and 6).
    let gone = s.prune_ingested(Timestamp(T0 + 7 * DAY), 5).await.expect("prune");
    assert_eq!(gone, 6, "3 events and 3 dead letters");
    let docs = |t: TenantId| {
        let s = s.clone();
        async move { s.ingested_events(&t, 0, 10).await.expect("events").into_iter().map(|e| e.doc).collect::<Vec<_>>() }
    };
    assert_eq!(docs(t1.clone()).await, ["t1-day6"]);
    assert_eq!(docs(t2.clone()).await, ["t2-day3", "t2-day6"]);
    assert_eq!(s.dead_letters(&t1, 10).await.expect("dead").len(), 1);
    assert_eq!(s.dead_letters(&t2, 10).await.expect("dead").len(), 2);
    let found = |t: TenantId| {
        let s = s.clone();
        let alice = alice.clone();
        async move {
            let query = IngestedQuery {
                since: Timestamp(0),
                until: Timestamp(i64::MAX),
                source_id: None,
                entity: Some(alice),
                field: None,
                before: None,
                limit: 10,
            };
            s.search_ingested(&t, &query).await.expect("search").into_iter().map(|e| e.doc).collect::<Vec<_>>()
        }
    };
    assert_eq!(found(t1).await, ["t1-day6"]);
    assert_eq!(found(t2).await, ["t2-day6", "t2-day3"]);
    // Again: nothing more to prune.
    assert_eq!(s.prune_ingested(Timestamp(T0 + 7 * DAY), 5).await.expect("prune"), 0);
}

pub async fn search_fields_are_indexed_as_stored_and_older_events_added_later(s: S) {
    let t = tenant(&s).await;
    let names = |v: &[&str]| v.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    let fields = s.sync_search_fields(&names(&["user.name", "EventID"]), Timestamp(T0 + 500)).await.expect("sync");
    assert_eq!(
        fields,
        [
            SearchField { name: "EventID".into(), since: Timestamp(T0 + 500) },
            SearchField { name: "user.name".into(), since: Timestamp(T0 + 500) },
        ],
        "in name order, each indexed from now"
    );
    let batch = |at: i64, events: &[&str], fields: Vec<(usize, &str, &str)>| IngestBatch {
        tenant_id: t.id.clone(),
        source_id: "src1".into(),
        received_at: Timestamp(at),
        events: events.iter().map(|e| (*e).to_owned()).collect(),
        dead_letters: vec![],
        alerts: vec![],
        cursor: None,
        profiles: vec![],
        event_entities: vec![(0, Entity { kind: "user".into(), value: "4625".into() })],
        event_fields: fields.into_iter().map(|(i, f, v)| (i, f.to_owned(), v.to_owned())).collect(),
    };
    // Stored before the fields existed (no index rows), then after.
    s.store_ingest(&batch(T0, &["old0", "old1", "old2"], vec![])).await.expect("store").expect("stored");
    s.store_ingest(&batch(T0 + 10, &["old3"], vec![])).await.expect("store").expect("stored");
    s.store_ingest(&batch(
        T0 + 600,
        &["e0", "e1", "e2"],
        vec![(0, "EventID", "4625"), (1, "EventID", "4624"), (2, "EventID", "4625"), (2, "user.name", "bob")],
    ))
    .await
    .expect("store")
    .expect("stored");
    let query = |field: &str, value: &str| IngestedQuery {
        since: Timestamp(T0),
        until: Timestamp(T0 + 2000),
        source_id: None,
        entity: None,
        field: Some((field.into(), value.into())),
        before: None,
        limit: 10,
    };
    let docs = |tenant: TenantId, q: IngestedQuery| {
        let s = s.clone();
        async move { s.search_ingested(&tenant, &q).await.expect("search").into_iter().map(|e| e.doc).collect::<Vec<_>>() }
    };
    assert_eq!(docs(t.id.clone(), query("EventID", "4625")).await, ["e2", "e0"], "by the index, newest first");
    assert_eq!(docs(t.id.clone(), query("user.name", "bob")).await, ["e2"]);
    assert!(docs(t.id.clone(), query("EventID", "4634")).await.is_empty());
    assert!(docs(t.id.clone(), query("user", "4625")).await.is_empty(), "a field is not the entity of that name");
    assert!(docs(TenantId::new("other-tenant"), query("EventID", "4625")).await.is_empty());
    // A field's value pointing outside its batch is refused, and nothing is written.
    let bad = batch(T0 + 700, &["x0"], vec![(4, "EventID", "4625")]);
    assert!(s.store_ingest(&bad).await.is_err());
    assert_eq!(docs(t.id.clone(), query("EventID", "4625")).await, ["e2", "e0"]);

    // A pass over the older events, newest first by tenant, within one millisecond too.
    assert!(s.tenant_ids().await.expect("tenants").contains(&t.id));
    let before = s.ingested_before(&t.id, Timestamp(T0 + 500), 2).await.expect("before");
    assert_eq!(before.iter().map(|e| e.doc.as_str()).collect::<Vec<_>>(), ["old3", "old2"]);
    let at = s.ingested_at(&t.id, Timestamp(T0)).await.expect("at");
    assert_eq!(at.iter().map(|e| e.doc.as_str()).collect::<Vec<_>>(), ["old2", "old1", "old0"]);
    let value = |e: &IngestedEvent, v: &str| FieldValue {
        tenant_id: e.tenant_id.clone(),
        field: "EventID".into(),
        value: v.into(),
        seq: e.seq,
        received_at: e.received_at,
    };
    let rows = vec![value(&before[0], "4625"), value(&at[1], "4625")];
    let both = names(&["EventID", "user.name"]);
    // Moving from where the fields are not: nothing written.
    assert!(!s.extend_search_index(&both, Timestamp(T0), Timestamp(0), &rows).await.expect("extend"));
    assert_eq!(s.search_fields().await.expect("fields")[0].since, Timestamp(T0 + 500));
    assert!(s.extend_search_index(&both, Timestamp(T0 + 500), Timestamp(0), &rows).await.expect("extend"));
    assert_eq!(
        s.search_fields().await.expect("fields").iter().map(|f| f.since).collect::<Vec<_>>(),
        [Timestamp(0), Timestamp(0)]
    );
    assert_eq!(docs(t.id.clone(), query("EventID", "4625")).await, ["e2", "e0", "old3", "old1"]);
    // Indexing a value twice is harmless.
    assert!(s.extend_search_index(&[], Timestamp(0), Timestamp(0), &rows).await.expect("again"));
    assert_eq!(docs(t.id.clone(), query("EventID", "4625")).await.len(), 4);

    // A field no longer listed is forgotten; one listed again starts from now.
    let fields = s.sync_search_fields(&names(&["EventID", "Channel"]), Timestamp(T0 + 900)).await.expect("sync");
    assert_eq!(
        fields,
        [
            SearchField { name: "Channel".into(), since: Timestamp(T0 + 900) },
            SearchField { name: "EventID".into(), since: Timestamp(0) },
        ]
    );
    assert!(!s.extend_search_index(&names(&["user.name"]), Timestamp(0), Timestamp(0), &[]).await.expect("gone"));
    assert!(s.sync_search_fields(&[], Timestamp(T0 + 901)).await.expect("sync").is_empty());
}
