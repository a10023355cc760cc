//! Time as an injected dependency: services ask a [`Clock`], tests move a [`TestClock`].

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Milliseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

/// An hour, ms: the roll-ups' bucket.
pub const HOUR_MS: i64 = 3_600_000;
/// A day, ms.
pub const DAY_MS: i64 = 86_400_000;

impl Timestamp {
    /// The last instant there is: "never" where a time is required.
    pub const MAX: Timestamp = Timestamp(i64::MAX);

    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// Whole seconds since the epoch (rounded down).
    pub fn seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// From whole seconds since the epoch.
    pub fn from_seconds(s: i64) -> Self {
        Timestamp(s.saturating_mul(1000))
    }

    /// This instant plus `secs` seconds (saturating).
    pub fn plus_seconds(self, secs: i64) -> Self {
        Timestamp(self.0.saturating_add(secs.saturating_mul(1000)))
    }

    /// This instant plus `ms` milliseconds (saturating; negative goes back).
    pub fn plus_millis(self, ms: i64) -> Self {
        Timestamp(self.0.saturating_add(ms))
    }

    /// The start of the `step_ms`-wide bucket (counted from the Unix epoch) this instant is
    /// in: `floor_to(HOUR_MS)` is the start of its hour (UTC). `step_ms` must be positive.
    pub fn floor_to(self, step_ms: i64) -> Self {
        Timestamp(self.0.div_euclid(step_ms) * step_ms)
    }

    /// Milliseconds from `earlier` to this instant (negative when `earlier` is later).
    pub fn millis_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// RFC 3339 text with millisecond precision, e.g. `2026-11-23T10:00:00.000Z`.
    pub fn to_rfc3339(self) -> String {
        let nanos = i128::from(self.0) * 1_000_000;
        match time::OffsetDateTime::from_unix_timestamp_nanos(nanos) {
            Ok(t) => t
                .format(&time::macros::format_description!(
                    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
                ))
                .unwrap_or_else(|_| self.0.to_string()),
            Err(_) => self.0.to_string(),
        }
    }

    /// Parses RFC 3339 text (any offset) or a plain integer of Unix milliseconds.
    pub fn parse(text: &str) -> Option<Self> {
        if let Ok(ms) = text.parse::<i64>() {
            return Some(Timestamp(ms));
        }
        let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
        i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok().map(Timestamp)
    }
}

/// The source of "now" for every service.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The one real clock: the operating system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // reason: this is the single real clock implementation
    fn now(&self) -> Timestamp {
        let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Timestamp(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// A clock that only moves when told to; shared between a test and the server it drives.
#[derive(Debug, Clone)]
pub struct TestClock(Arc<AtomicI64>);

impl TestClock {
    /// A clock stopped at `start`.
    pub fn new(start: Timestamp) -> Self {
        TestClock(Arc::new(AtomicI64::new(start.0)))
    }

    /// Moves the clock forward by `secs` seconds.
    pub fn advance_seconds(&self, secs: i64) {
        self.0.fetch_add(secs * 1000, Ordering::SeqCst);
    }

    /// Sets the clock to `t`.
    pub fn set(&self, t: Timestamp) {
        self.0.store(t.0, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_to_is_the_start_of_the_bucket_also_before_the_epoch() {
        assert_eq!(Timestamp(3 * HOUR_MS + 17).floor_to(HOUR_MS), Timestamp(3 * HOUR_MS));
        assert_eq!(Timestamp(3 * HOUR_MS).floor_to(HOUR_MS), Timestamp(3 * HOUR_MS));
        assert_eq!(Timestamp(-1).floor_to(HOUR_MS), Timestamp(-HOUR_MS));
        assert_eq!(Timestamp(DAY_MS + HOUR_MS).floor_to(DAY_MS), Timestamp(DAY_MS));
    }

    #[test]
    fn rfc3339_round_trip() {
        let t = Timestamp(1_795_000_000_123);
        let s = t.to_rfc3339();
        assert!(s.ends_with(".123Z"), "{s}");
        assert_eq!(Timestamp::parse(&s), Some(t));
        assert_eq!(Timestamp::parse("1795000000123"), Some(t));
        assert_eq!(Timestamp::parse("yesterday"), None);
    }

    #[test]
    fn test_clock_moves_only_when_told() {
        let c = TestClock::new(Timestamp(1_000));
        assert_eq!(c.now(), Timestamp(1_000));
        c.advance_seconds(61);
        assert_eq!(c.now(), Timestamp(62_000));
    }
}
