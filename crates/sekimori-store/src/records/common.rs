//! What several aggregates share: the outcome of consuming a single-use row.

use sekimori_core::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consume<T> {
    /// Consumed now, by this call.
    Done(T),
    /// Consumed before, at this time.
    AlreadyUsed {
        /// When the first consumption happened, ms.
        at: Timestamp,
    },
    /// Past its expiry, never consumed.
    Expired,
    /// No such token.
    NotFound,
}
