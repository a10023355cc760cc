//! Sekimori's storage: one trait per aggregate ([`traits`]), two backends
//! ([`sqlite`], the embedded default, and [`postgres`]), and one conformance suite
//! that both must pass (feature `conformance`).
//!
//! Both backends compile the same SQL (the files in `src/sql/`, included into each module,
//! written with the neutral queries and row mapping of `query`); what differs (drivers,
//! connections, the audit-chain lock) is written per backend: sqlx for PostgreSQL, rusqlite
//! for SQLite. Services only see the [`Store`] trait.

pub mod documents;
pub mod postings;
mod query;
pub mod records;
pub mod traits;
mod typed_columns;

pub mod postgres;
pub mod sqlite;

#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(feature = "conformance")]
pub mod testing;

pub use documents::{write_version, NewVersion};
pub use records::*;
pub use traits::*;

/// A storage failure. Expected outcomes (a used token, a duplicate name) are not
/// errors: they are values of the methods' result types.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be reached or answered with an error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The SQLite file could not be opened or answered with an error.
    #[error("SQLite error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Migrations failed.
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be read back.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}

/// A storage failure, as the services report it: details go to the log, the caller gets
/// a retryable `service_unavailable`.
impl From<StoreError> for sekimori_core::ServiceError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store failure");
        sekimori_core::ServiceError::new(
            sekimori_core::ErrorCode::ServiceUnavailable,
            "the database is unavailable; retry later",
        )
    }
}

/// Result alias for store calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// The SHA-256 chain step of the audit log: `sha256(prev_hash || canonical_json(doc))`.
pub fn chain_hash(prev_hash: &[u8], canonical_doc: &str) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(prev_hash);
    h.update(canonical_doc.as_bytes());
    h.finalize().to_vec()
}

/// A node's cached view of the audit chain's last row.
pub(crate) type AuditHead = std::sync::Arc<std::sync::Mutex<Option<(i64, Vec<u8>)>>>;

/// How long this node's requests waited for a database connection (the PostgreSQL pool's,
/// or the embedded store's one writer), for metrics: how many waits and their total.
#[derive(Debug, Default)]
pub(crate) struct ConnectionWaits {
    count: std::sync::atomic::AtomicU64,
    micros: std::sync::atomic::AtomicU64,
}

impl ConnectionWaits {
    /// Starts timing a wait; [`ConnectionWaits::done`] records it.
    #[allow(clippy::disallowed_methods)] // reason: a metric of the wait; nothing decides on it
    pub(crate) fn start() -> std::time::Instant {
        std::time::Instant::now()
    }

    pub(crate) fn done(&self, started: std::time::Instant) {
        use std::sync::atomic::Ordering::Relaxed;
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.count.fetch_add(1, Relaxed);
        self.micros.fetch_add(micros, Relaxed);
    }

    /// (waits, seconds waited in all).
    pub(crate) fn snapshot(&self) -> (u64, f64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.count.load(Relaxed), self.micros.load(Relaxed) as f64 / 1e6)
    }
}

/// The `prev_hash` of the first audit row.
pub const GENESIS_HASH: [u8; 32] = [0u8; 32];
