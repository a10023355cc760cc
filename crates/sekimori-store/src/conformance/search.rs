//! Conformance case for the search index as a whole: whatever part of it is staged,
//! moved into postings, added again by the background pass or pruned, a search answers as
//! reading every event would.

use super::*;
use sekimori_core::{TenantId, Timestamp};

const MINUTE: i64 = 60_000;

/// A search field and the value searched for.
type FieldIs = (String, String);

/// An event the case stored, as the oracle knows it.
#[derive(Debug, Clone)]
struct Stored {
    doc: String,
    source: &'static str,
    at: Timestamp,
    seq: i64,
    user: Option<String>,
    event_id: String,
}

pub async fn indexed_search_answers_as_reading_every_event(s: S) {
    let t = tenant(&s).await;
    s.sync_search_fields(&["EventID".to_owned()], Timestamp(T0)).await.expect("sync");
    // 60 batches over five hours (two pairs received in the same millisecond), from three
    // sources, of one to twelve events, each about one of four users (or none) with one of
    // three event ids: a deterministic sequence, so a failure is the same on every run.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let mut stored: Vec<Stored> = Vec::new();
    for k in 0..60i64 {
        let at = Timestamp(T0 + k * 5 * MINUTE - if k == 31 || k == 45 { 5 * MINUTE } else { 0 });
        let source = ["src1", "src2", "src3"][usize::try_from(next(3)).expect("small")];
        let n = 1 + usize::try_from(next(12)).expect("small");
        let mut batch = IngestBatch {
            tenant_id: t.id.clone(),
            source_id: source.into(),
            received_at: at,
            events: vec![],
            dead_letters: vec![],
            alerts: vec![],
            cursor: None,
            profiles: vec![],
            event_entities: vec![],
            event_fields: vec![],
        };
        let mut these = Vec::new();
        for i in 0..n {
            let user = match next(5) {
                4 => None,
                u => Some(format!("u{u}")),
            };
            let event_id = ["4624", "4625", "4688"][usize::try_from(next(3)).expect("small")].to_owned();
            let doc = format!("b{k}e{i}");
            batch.events.push(doc.clone());
            if let Some(user) = &user {
                batch.event_entities.push((i, Entity { kind: "user".into(), value: user.clone() }));
            }
            batch.event_fields.push((i, "EventID".into(), event_id.clone()));
            these.push(Stored { doc, source, at, seq: 0, user, event_id });
        }
        let seqs = s.store_ingest(&batch).await.expect("store").expect("no cursor");
        for (e, seq) in these.iter_mut().zip(seqs) {
            e.seq = seq;
        }
        stored.extend(these);
        // The first third moved at once, the second in small runs as it comes, the last
        // third left staged.
        if k == 19 {
            assert!(s.merge_recent_index(100_000).await.expect("merge") > 0);
        } else if (20..40).contains(&k) {
            s.merge_recent_index(7).await.expect("merge");
        }
    }
    // The background pass adds rows the index already has (a second node, say): each
    // event is still found once.
    let again: Vec<FieldValue> = stored
        .iter()
        .step_by(3)
        .map(|e| FieldValue {
            tenant_id: t.id.clone(),
            field: "EventID".into(),
            value: e.event_id.clone(),
            seq: e.seq,
            received_at: e.at,
        })
        .collect();
    let fields = ["EventID".to_owned()];
    assert!(s.extend_search_index(&fields, Timestamp(T0), Timestamp(0), &again).await.expect("extend"));

    let check = |stored: Vec<Stored>, since: i64| {
        let (s, t) = (s.clone(), t.id.clone());
        async move {
            let ranges = [
                (since, T0 + 400 * MINUTE),
                (T0 + 60 * MINUTE, T0 + 180 * MINUTE),
                (T0 + 95 * MINUTE, T0 + 96 * MINUTE),
                (T0 + 151 * MINUTE, T0 + 152 * MINUTE),
            ];
            let mut wanted: Vec<(Option<Entity>, Option<FieldIs>)> = Vec::new();
            for u in 0..5 {
                wanted.push((Some(Entity { kind: "user".into(), value: format!("u{u}") }), None));
            }
            for id in ["4624", "4625", "4688", "4740"] {
                wanted.push((None, Some(("EventID".into(), id.into()))));
            }
            for (entity, field) in wanted {
                for source in [None, Some("src2")] {
                    for &(from, until) in &ranges {
                        let mut expected: Vec<&Stored> = stored
                            .iter()
                            .filter(|e| e.at.millis() >= from && e.at.millis() < until)
                            .filter(|e| source.is_none_or(|src| e.source == src))
                            .filter(|e| match (&entity, &field) {
                                (Some(en), _) => e.user.as_deref() == Some(en.value.as_str()),
                                (None, Some((_, v))) => &e.event_id == v,
                                (None, None) => true,
                            })
                            .collect();
                        expected.sort_by_key(|e| std::cmp::Reverse((e.at, e.seq)));
                        let expected: Vec<&str> = expected.iter().map(|e| e.doc.as_str()).collect();
                        for limit in [1, 3, 1000] {
                            let mut got: Vec<String> = Vec::new();
                            let mut before = None;
                            loop {
                                let query = IngestedQuery {
                                    since: Timestamp(from),
                                    until: Timestamp(until),
                                    source_id: source.map(str::to_owned),
                                    entity: entity.clone(),
                                    field: field.clone(),
                                    before,
                                    limit,
                                };
                                let page = s.search_ingested(&t, &query).await.expect("search");
                                assert!(page.len() <= usize::try_from(limit).expect("small"));
                                let Some(last) = page.last() else { break };
                                before = Some((last.received_at, last.seq));
                                got.extend(page.into_iter().map(|e| e.doc));
                            }
                            assert_eq!(
                                got, expected,
                                "{entity:?} {field:?} from {source:?} in [{from}, {until}), {limit} a page"
                            );
                        }
                    }
                }
            }
        }
    };
    check(stored.clone(), T0).await;
    // Pruned at the 150th minute (30 days' retention): postings of events before it are
    // gone, the one of the hour across it keeps only what was not pruned.
    let cutoff = T0 + 150 * MINUTE;
    s.prune_ingested(Timestamp(cutoff + 30 * 86_400_000), 30).await.expect("prune");
    s.merge_recent_index(100_000).await.expect("merge the rest");
    let left: Vec<Stored> = stored.into_iter().filter(|e| e.at.millis() >= cutoff).collect();
    assert!(!left.is_empty());
    check(left, T0).await;
    let other = IngestedQuery {
        since: Timestamp(0),
        until: Timestamp(i64::MAX),
        source_id: None,
        entity: Some(Entity { kind: "user".into(), value: "u1".into() }),
        field: None,
        before: None,
        limit: 10,
    };
    assert!(s.search_ingested(&TenantId::new("other-tenant"), &other).await.expect("search").is_empty());
}
