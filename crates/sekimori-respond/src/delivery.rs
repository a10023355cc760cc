//! How deliveries are paced and retried, without IO: the delivery side asks this what to
//! do after each attempt, on its own clock and randomness.
//!
//! - Retries with exponential backoff and full jitter on what may pass (5xx, 429, timeouts,
//!   connection errors), none on the other 4xx (the request itself is wrong; sending it
//!   again changes nothing), up to a number of attempts.
//! - A per-receiver rate limit (a token bucket), e.g. Slack's one message per second per
//!   webhook.

use std::time::Duration;

/// What one attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered (2xx, or the mail server took it).
    Delivered,
    /// An HTTP status other than 2xx.
    Status(u16),
    /// No answer within the timeout.
    Timeout,
    /// The connection could not be made or broke.
    Connection,
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Done: delivered.
    Done,
    /// Try again after this long.
    RetryAfter(Duration),
    /// Give up: the receiver refused the request (or the attempts are used up); record it.
    GiveUp,
}

/// Backoff and attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first retry waits up to this long.
    pub base: Duration,
    /// No wait is longer.
    pub max: Duration,
    /// Attempts in all, the first included.
    pub attempts: u32,
}

impl Default for RetryPolicy {
    /// 1 s, doubling, at most 5 min between attempts, 8 attempts (about 10 minutes).
    fn default() -> Self {
        RetryPolicy { base: Duration::from_secs(1), max: Duration::from_secs(300), attempts: 8 }
    }
}

impl RetryPolicy {
    /// After attempt number `attempt` (1 for the first) ended with `outcome`; `retry_after`
    /// is the receiver's `Retry-After`, if it sent one; `random` is a uniform value in
    /// `[0, 1)` for the jitter.
    pub fn next(&self, attempt: u32, outcome: Outcome, retry_after: Option<Duration>, random: f64) -> Next {
        let transient = match outcome {
            Outcome::Delivered => return Next::Done,
            Outcome::Status(s) => s == 429 || s == 408 || (500..600).contains(&s),
            Outcome::Timeout | Outcome::Connection => true,
        };
        if !transient || attempt >= self.attempts {
            return Next::GiveUp;
        }
        // Full jitter: a uniform wait up to base × 2^(attempt-1), capped.
        let ceiling = self.base.saturating_mul(1u32 << (attempt - 1).min(20)).min(self.max);
        let jittered = ceiling.mul_f64(random.clamp(0.0, 1.0));
        Next::RetryAfter(retry_after.map_or(jittered, |r| r.min(self.max).max(jittered)))
    }
}

/// A token bucket per receiver: `per_second` sends a second on average, bursts of `burst`.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimit {
    per_second: f64,
    burst: f64,
    tokens: f64,
    at_ms: i64,
}

impl RateLimit {
    /// A full bucket at `now_ms`.
    pub fn new(per_second: f64, burst: u32, now_ms: i64) -> Self {
        let burst = f64::from(burst.max(1));
        RateLimit { per_second: per_second.max(f64::MIN_POSITIVE), burst, tokens: burst, at_ms: now_ms }
    }

    /// Takes a token at `now_ms`, or says how long until one is there.
    pub fn take(&mut self, now_ms: i64) -> Result<(), Duration> {
        let elapsed = (now_ms - self.at_ms).max(0) as f64 / 1000.0;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        self.at_ms = now_ms.max(self.at_ms);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_failures_are_retried_with_growing_jittered_waits_and_refusals_are_not() {
        let p = RetryPolicy::default();
        assert_eq!(p.next(1, Outcome::Delivered, None, 0.5), Next::Done);
        assert_eq!(p.next(1, Outcome::Status(400), None, 0.5), Next::GiveUp);
        assert_eq!(p.next(1, Outcome::Status(404), None, 0.5), Next::GiveUp);
        assert_eq!(p.next(1, Outcome::Status(503), None, 1.0), Next::RetryAfter(Duration::from_secs(1)));
        assert_eq!(p.next(3, Outcome::Timeout, None, 1.0), Next::RetryAfter(Duration::from_secs(4)));
        assert_eq!(p.next(3, Outcome::Connection, None, 0.5), Next::RetryAfter(Duration::from_secs(2)));
        assert_eq!(p.next(12, Outcome::Status(500), None, 1.0), Next::GiveUp, "attempts used up");
        assert_eq!(p.next(7, Outcome::Status(502), None, 1.0), Next::RetryAfter(Duration::from_secs(64)));
        let capped = RetryPolicy { attempts: 30, ..p };
        assert_eq!(capped.next(20, Outcome::Status(502), None, 1.0), Next::RetryAfter(Duration::from_secs(300)));
        // Retry-After is honoured (within the cap), never shorter than the jittered wait.
        let r = p.next(1, Outcome::Status(429), Some(Duration::from_secs(30)), 0.5);
        assert_eq!(r, Next::RetryAfter(Duration::from_secs(30)));
        assert_eq!(
            p.next(1, Outcome::Status(429), Some(Duration::from_secs(9999)), 0.5),
            Next::RetryAfter(Duration::from_secs(300))
        );
        assert_eq!(
            p.next(1, Outcome::Status(503), None, 0.0),
            Next::RetryAfter(Duration::ZERO),
            "full jitter reaches zero"
        );
    }

    #[test]
    fn a_slack_webhook_gets_one_message_a_second_after_its_burst() {
        let mut slack = RateLimit::new(1.0, 1, 0);
        assert_eq!(slack.take(0), Ok(()));
        assert_eq!(slack.take(0), Err(Duration::from_secs(1)));
        assert_eq!(slack.take(500), Err(Duration::from_millis(500)));
        assert_eq!(slack.take(1_000), Ok(()));
        let mut bursty = RateLimit::new(2.0, 3, 0);
        assert!((0..3).all(|_| bursty.take(0).is_ok()));
        assert!(bursty.take(0).is_err());
        assert_eq!(bursty.take(500), Ok(()), "half a second refills one at two a second");
    }
}
