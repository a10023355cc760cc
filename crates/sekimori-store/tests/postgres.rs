//! The conformance suite on PostgreSQL (`SEKIMORI_TEST_DATABASE_URL`, default the local
//! server); each test gets its own schema, and a missing server fails the test.

sekimori_store::conformance_suite!(
    sekimori_store::testing::fresh_postgres,
    sekimori_store::testing::fresh_postgres_pair
);
