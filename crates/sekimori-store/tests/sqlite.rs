//! The conformance suite on the embedded SQLite backend.

sekimori_store::conformance_suite!(sekimori_store::testing::fresh_sqlite, sekimori_store::testing::fresh_sqlite_pair);
