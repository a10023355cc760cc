//! The search index's rows as stored, behind the store's back (SQLite): rows of the one-row-
//! per-entry staging table and of the ordered index left by a version before postings
//! (migration 0034) are still found and are moved into postings; a damaged staged batch or
//! posting is `StoreError::Corrupt` naming its row, never a panic or a silent miss. A batch
//! staged before its alerts' entities and roll-up counts were staged with it (migration
//! 0035, both NULL) is moved like the rest, and damage in either is `Corrupt` too.

use sekimori_core::{TenantId, Timestamp};
use sekimori_store::sqlite::SqliteStore;
use sekimori_store::{Entity, IngestBatch, IngestedQuery, InsightStore, StoreError, Tenant, TenantStore, WatchStore};

const T0: i64 = 1_750_000_000_000;

async fn store_with_events() -> (SqliteStore, std::path::PathBuf, Vec<i64>) {
    let dir = tempfile::tempdir().expect("tempdir").keep();
    let path = dir.join("sekimori.db");
    let s = SqliteStore::open(&path).await.expect("open");
    s.ensure_tenant(&Tenant::with_defaults(TenantId::new("t1"), "default", Timestamp(T0))).await.expect("tenant");
    let batch = IngestBatch {
        tenant_id: TenantId::new("t1"),
        source_id: "src1".into(),
        received_at: Timestamp(T0),
        events: vec!["e0".into(), "e1".into(), "e2".into()],
        dead_letters: vec![],
        alerts: vec![],
        cursor: None,
        profiles: vec![],
        event_entities: vec![(2, Entity { kind: "user".into(), value: "alice".into() })],
        event_fields: vec![],
    };
    let seqs = s.store_ingest(&batch).await.expect("store").expect("no cursor");
    (s, path, seqs)
}

fn sql(path: &std::path::Path, sql: &str) {
    let conn = rusqlite::Connection::open(path).expect("open behind the store's back");
    conn.execute_batch(sql).expect("sql");
}

fn alice() -> IngestedQuery {
    IngestedQuery {
        since: Timestamp(T0),
        until: Timestamp(T0 + 1),
        source_id: None,
        entity: Some(Entity { kind: "user".into(), value: "alice".into() }),
        field: None,
        before: None,
        limit: 10,
    }
}

async fn docs(s: &SqliteStore) -> Vec<String> {
    s.search_ingested(&TenantId::new("t1"), &alice()).await.expect("search").into_iter().map(|e| e.doc).collect()
}

#[tokio::test]
async fn rows_left_by_the_version_before_postings_are_found_and_moved() {
    let (s, path, seqs) = store_with_events().await;
    // e0 in the old staging table, e1 in the old ordered index, e2 staged as a batch.
    sql(
        &path,
        &format!(
            "INSERT INTO event_index_recent (tenant_id, field, value, seq, received_at) VALUES ('t1', 'user', 'alice', {}, {T0}); \
             INSERT INTO event_index (tenant_id, field, value, seq, received_at) VALUES ('t1', 'user', 'alice', {}, {T0});",
            seqs[0], seqs[1]
        ),
    );
    assert_eq!(docs(&s).await, ["e2", "e1", "e0"]);
    assert_eq!(s.merge_recent_index(100).await.expect("merge"), 1, "the old staging table's row first");
    assert_eq!(docs(&s).await, ["e2", "e1", "e0"]);
    assert_eq!(s.merge_recent_index(100).await.expect("merge"), 1, "then the staged batch");
    assert_eq!(s.merge_recent_index(100).await.expect("merge"), 0);
    assert_eq!(docs(&s).await, ["e2", "e1", "e0"]);
}

#[tokio::test]
async fn a_damaged_staged_batch_is_corrupt_for_search_and_move() {
    let (s, path, _) = store_with_events().await;
    sql(&path, "UPDATE event_index_staged SET entries = X'09616c'");
    for result in [s.search_ingested(&TenantId::new("t1"), &alice()).await.map(|_| 0), s.merge_recent_index(100).await]
    {
        match result {
            Err(StoreError::Corrupt(why)) => assert!(why.contains("event_index_staged row"), "{why}"),
            other => panic!("expected a corrupt-row error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_damaged_posting_is_corrupt_for_search() {
    let (s, path, _) = store_with_events().await;
    assert_eq!(s.merge_recent_index(100).await.expect("merge"), 1);
    assert_eq!(docs(&s).await, ["e2"]);
    sql(&path, "UPDATE event_postings SET entries = X'80'");
    match s.search_ingested(&TenantId::new("t1"), &alice()).await {
        Err(StoreError::Corrupt(why)) => assert!(why.contains("event_postings row"), "{why}"),
        other => panic!("expected a corrupt-row error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_batch_staged_before_alert_entities_and_rollups_were_staged_is_moved() {
    let (s, path, seqs) = store_with_events().await;
    // A row as a version before migration 0035 staged it (its batch wrote its alert
    // entities and roll-ups itself): both NULL.
    sql(
        &path,
        &format!(
            "INSERT INTO event_index_staged (tenant_id, received_at, entries) \
             SELECT tenant_id, received_at, entries FROM event_index_staged; \
             UPDATE event_index_staged SET entries = X'047573657205616c696365{:02x}', alert_entities = NULL, \
             rollups = NULL WHERE id = (SELECT MAX(id) FROM event_index_staged);",
            seqs[1] * 2
        ),
    );
    let hour = Timestamp(T0).floor_to(3_600_000);
    let rollups = s.detection_rollups(&TenantId::new("t1"), hour, Timestamp(T0 + 1)).await.expect("rollups");
    assert_eq!(rollups.iter().map(|r| (r.series.as_str(), r.n)).collect::<Vec<_>>(), [("events", 3)]);
    assert_eq!(docs(&s).await, ["e2", "e1"]);
    assert_eq!(s.merge_recent_index(100).await.expect("merge"), 2);
    assert_eq!(docs(&s).await, ["e2", "e1"]);
    let moved = s.detection_rollups(&TenantId::new("t1"), hour, Timestamp(T0 + 1)).await.expect("rollups");
    assert_eq!(moved, rollups, "counted once, moved");
}

#[tokio::test]
async fn damaged_staged_alert_entities_or_rollups_are_corrupt_for_readers_and_move() {
    for column in ["alert_entities", "rollups"] {
        let (s, path, _) = store_with_events().await;
        sql(&path, &format!("UPDATE event_index_staged SET {column} = X'09616c'"));
        let t = TenantId::new("t1");
        let alice = Entity { kind: "user".into(), value: "alice".into() };
        let read = if column == "rollups" {
            s.detection_rollups(&t, Timestamp(0), Timestamp(T0 + 1)).await.map(|_| 0)
        } else {
            s.alerts_about(&t, &alice, None, Timestamp(0), 10).await.map(|_| 0)
        };
        for result in [read, s.merge_recent_index(100).await] {
            match result {
                Err(StoreError::Corrupt(why)) => {
                    assert!(why.contains("event_index_staged row") && why.contains(column), "{why}")
                }
                other => panic!("expected a corrupt-row error for {column}, got {other:?}"),
            }
        }
    }
}
