//! Sliding-window attempt counters per user, address and network, held in memory by each
//! node, bounded: when the bound is reached the key first counted longest ago is forgotten
//! (one key per new key, never a sweep over all of them), and that is counted.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

#[derive(Debug, Default)]
struct Counters {
    /// Key → the times of its attempts within the window (at most `max_per_key`).
    hits: HashMap<String, VecDeque<i64>>,
    /// Keys in the order they were first counted (a key forgotten and counted again is
    /// pushed again; stale entries are skipped when popped).
    order: VecDeque<String>,
}

/// The counters.
#[derive(Debug)]
pub struct Velocity {
    inner: Mutex<Counters>,
    max_keys: usize,
    max_per_key: usize,
    forgotten: AtomicU64,
}

impl Velocity {
    /// Counters for at most `max_keys` keys, each remembering at most `max_per_key`
    /// attempts (enough to tell that a limit is passed).
    pub fn new(max_keys: usize, max_per_key: usize) -> Self {
        Velocity {
            inner: Mutex::new(Counters::default()),
            max_keys: max_keys.max(1),
            max_per_key: max_per_key.max(1),
            forgotten: AtomicU64::new(0),
        }
    }

    /// Records an attempt for `key` at `now` (ms) and returns how many attempts, this one
    /// included, fall within the last `window_ms`.
    pub fn hit(&self, key: &str, now: i64, window_ms: i64) -> u32 {
        let mut c = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if !c.hits.contains_key(key) {
            while c.hits.len() >= self.max_keys {
                let Some(oldest) = c.order.pop_front() else { break };
                if c.hits.remove(&oldest).is_some() {
                    self.forgotten.fetch_add(1, Ordering::Relaxed);
                }
            }
            c.order.push_back(key.to_owned());
        }
        let q = c.hits.entry(key.to_owned()).or_default();
        while q.front().is_some_and(|&t| now - t >= window_ms) {
            q.pop_front();
        }
        q.push_back(now);
        while q.len() > self.max_per_key {
            q.pop_front();
        }
        u32::try_from(q.len()).unwrap_or(u32::MAX)
    }

    /// Keys forgotten to stay within the bound.
    pub fn forgotten(&self) -> u64 {
        self.forgotten.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_are_counted_in_a_sliding_window() {
        let v = Velocity::new(100, 1000);
        assert_eq!(v.hit("u", 0, 60_000), 1);
        assert_eq!(v.hit("u", 30_000, 60_000), 2);
        assert_eq!(v.hit("u", 59_999, 60_000), 3);
        assert_eq!(v.hit("u", 60_000, 60_000), 3, "the first one left the window");
        assert_eq!(v.hit("other", 60_000, 60_000), 1);
    }

    #[test]
    fn the_key_count_is_bounded_and_what_is_forgotten_is_counted() {
        let v = Velocity::new(3, 10);
        for (i, k) in ["a", "b", "c", "d"].iter().enumerate() {
            v.hit(k, i64::try_from(i).expect("small"), 60_000);
        }
        assert_eq!(v.forgotten(), 1);
        assert_eq!(v.hit("b", 10, 60_000), 2, "b is still counted");
        assert_eq!(v.hit("a", 10, 60_000), 1, "a, the first counted, was forgotten");
    }
}
