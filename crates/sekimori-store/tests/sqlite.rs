//! The conformance suite on the embedded SQLite backend.

use sekimori_store::sqlite::SqliteStore;

async fn fresh() -> SqliteStore {
    let dir = tempfile::tempdir().expect("tempdir");
    // The directory must outlive the store; leak it for the test's lifetime.
    let path = dir.keep().join("sekimori.db");
    SqliteStore::open(&path).await.expect("open sqlite")
}

sekimori_store::conformance_suite!(fresh);
