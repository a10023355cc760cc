//! Rate limits on what unauthenticated callers can make the server do and keep: QR
//! sessions, enrolment attempts, hosted-page logins and passkey ceremonies, each counted
//! per client network (IPv4 /24, IPv6 /48) in a token bucket that holds a minute's worth.
//!
//! The buckets live in this node's memory: with several nodes behind a load balancer a
//! network gets each node's allowance (a bound all the same). The table is bounded; when
//! it is full, buckets that have refilled are forgotten first, and a newcomer that still
//! finds no room is refused (counted) rather than let through unmetered.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sekimori_core::environment::network_of;
use sekimori_core::Clock;
use serde::Deserialize;

/// What is limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limited {
    /// `POST /api/v1/qr-sessions`: a QR login (a row kept until it expires).
    QrSession,
    /// `POST /api/v1/device/enroll`: an enrolment code tried.
    Enrolment,
    /// The hosted login's form posts and assertion exchange.
    Login,
    /// `POST /api/v1/session/passkey/start|finish`: a passkey ceremony.
    Passkey,
}

/// `[server.rate_limits]`: requests per minute from one client network (also the burst).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimits {
    /// QR sessions created (a login page renews its code once a minute).
    pub qr_sessions: u32,
    /// Enrolment attempts.
    pub enrolments: u32,
    /// Hosted-page login posts (password, second factor, push, assertion exchange).
    pub logins: u32,
    /// Passkey ceremonies (start and finish).
    pub passkeys: u32,
    /// Networks remembered at once.
    pub max_networks: usize,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits { qr_sessions: 60, enrolments: 20, logins: 120, passkeys: 60, max_networks: 100_000 }
    }
}

impl RateLimits {
    fn per_minute(&self, what: Limited) -> u32 {
        match what {
            Limited::QrSession => self.qr_sessions,
            Limited::Enrolment => self.enrolments,
            Limited::Login => self.logins,
            Limited::Passkey => self.passkeys,
        }
    }

    /// What is wrong with the limits, as (key, reason).
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        for (key, v) in [
            ("server.rate_limits.qr_sessions", self.qr_sessions),
            ("server.rate_limits.enrolments", self.enrolments),
            ("server.rate_limits.logins", self.logins),
            ("server.rate_limits.passkeys", self.passkeys),
        ] {
            if !(1..=1_000_000).contains(&v) {
                return Err((key, format!("must be between 1 and 1000000, got {v}")));
            }
        }
        if !(1_000..=10_000_000).contains(&self.max_networks) {
            return Err((
                "server.rate_limits.max_networks",
                format!("must be between 1000 and 10000000, got {}", self.max_networks),
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens, in thousandths.
    milli: u64,
    /// When it was last filled, ms.
    at: i64,
}

impl Bucket {
    /// The tokens (thousandths) the bucket holds at `now`, and how many it still lacks to
    /// be full (0: it remembers nothing).
    fn refilled(&self, now: i64, per_minute: u64) -> (u64, u64) {
        let full = per_minute * 1000;
        let elapsed = u64::try_from(now.saturating_sub(self.at)).unwrap_or(0);
        let milli = (self.milli + elapsed.saturating_mul(per_minute) / 60).min(full);
        (milli, full - milli)
    }
}

/// The buckets.
pub struct RateLimiter {
    limits: RateLimits,
    clock: Arc<dyn Clock>,
    buckets: Mutex<HashMap<(Limited, String), Bucket>>,
    /// Requests refused.
    pub refused: AtomicU64,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter").field("limits", &self.limits).finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// Buckets for `limits` on `clock`.
    pub fn new(limits: RateLimits, clock: Arc<dyn Clock>) -> Self {
        RateLimiter { limits, clock, buckets: Mutex::new(HashMap::new()), refused: AtomicU64::new(0) }
    }

    /// Takes one token for `what` from `ip`'s network; `Err(seconds)` until one is there.
    pub fn check(&self, what: Limited, ip: IpAddr) -> Result<(), i64> {
        let per_minute = u64::from(self.limits.per_minute(what));
        let now = self.clock.now().millis();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let key = (what, network_of(ip));
        if !buckets.contains_key(&key) && buckets.len() >= self.limits.max_networks {
            // Forget the buckets that have refilled: they remember nothing.
            buckets.retain(|(w, _), b| b.refilled(now, u64::from(self.limits.per_minute(*w))).1 > 0);
            if buckets.len() >= self.limits.max_networks {
                self.refused.fetch_add(1, Ordering::Relaxed);
                return Err(1);
            }
        }
        let bucket = buckets.entry(key).or_insert(Bucket { milli: per_minute * 1000, at: now });
        let (milli, _) = bucket.refilled(now, per_minute);
        if milli >= 1000 {
            *bucket = Bucket { milli: milli - 1000, at: now };
            Ok(())
        } else {
            *bucket = Bucket { milli, at: now };
            self.refused.fetch_add(1, Ordering::Relaxed);
            // Milliseconds until a whole token: (1000 - milli) thousandths at per_minute/60 s.
            let wait_ms = (1000 - milli) * 60 / per_minute.max(1);
            Err(i64::try_from(wait_ms.div_ceil(1000)).unwrap_or(60).max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use sekimori_core::{TestClock, Timestamp};

    use super::*;

    #[test]
    fn a_minute_worth_then_one_per_interval() {
        let clock = TestClock::new(Timestamp(1_700_000_000_000));
        let limiter = RateLimiter::new(
            RateLimits { qr_sessions: 6, max_networks: 1_000, ..Default::default() },
            Arc::new(clock.clone()),
        );
        let a: IpAddr = "192.0.2.7".parse().expect("ip");
        let same_net: IpAddr = "192.0.2.99".parse().expect("ip");
        let other: IpAddr = "198.51.100.1".parse().expect("ip");
        for _ in 0..6 {
            assert!(limiter.check(Limited::QrSession, a).is_ok());
        }
        assert_eq!(limiter.check(Limited::QrSession, same_net), Err(10), "one token per 10 s");
        assert!(limiter.check(Limited::QrSession, other).is_ok(), "another network has its own bucket");
        assert!(limiter.check(Limited::Login, a).is_ok(), "another kind has its own bucket");
        clock.advance_seconds(10);
        assert!(limiter.check(Limited::QrSession, a).is_ok());
        assert!(limiter.check(Limited::QrSession, a).is_err());
        assert_eq!(limiter.refused.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_full_table_forgets_refilled_buckets_and_refuses_newcomers_otherwise() {
        let clock = TestClock::new(Timestamp(1_700_000_000_000));
        let limiter = RateLimiter::new(
            RateLimits { logins: 2, max_networks: 1_000, ..Default::default() },
            Arc::new(clock.clone()),
        );
        for i in 0..1_000u32 {
            let ip = IpAddr::from([10, (i >> 8) as u8, (i & 0xff) as u8, 1]);
            assert!(limiter.check(Limited::Login, ip).is_ok());
        }
        let newcomer: IpAddr = "203.0.113.1".parse().expect("ip");
        assert!(limiter.check(Limited::Login, newcomer).is_err(), "no room: refused, not unmetered");
        clock.advance_seconds(60);
        assert!(limiter.check(Limited::Login, newcomer).is_ok(), "refilled buckets were forgotten");
    }
}
