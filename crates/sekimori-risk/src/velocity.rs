//! Sliding-window attempt counters per user, address and network, held in memory by each
//! node (bounded: the least recently used keys are forgotten first, and that is counted).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The counters.
#[derive(Debug)]
pub struct Velocity {
    inner: Mutex<HashMap<String, VecDeque<i64>>>,
    max_keys: usize,
    max_per_key: usize,
    forgotten: AtomicU64,
}

impl Velocity {
    /// Counters for at most `max_keys` keys, each remembering at most `max_per_key`
    /// attempts (enough to tell that a limit is passed).
    pub fn new(max_keys: usize, max_per_key: usize) -> Self {
        Velocity {
            inner: Mutex::new(HashMap::new()),
            max_keys: max_keys.max(1),
            max_per_key: max_per_key.max(1),
            forgotten: AtomicU64::new(0),
        }
    }

    /// Records an attempt for `key` at `now` (ms) and returns how many attempts, this one
    /// included, fall within the last `window_ms`.
    pub fn hit(&self, key: &str, now: i64, window_ms: i64) -> u32 {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if !map.contains_key(key) && map.len() >= self.max_keys {
            let before = map.len();
            map.retain(|_, q| q.back().is_some_and(|&t| now - t < window_ms));
            if map.len() >= self.max_keys {
                if let Some(oldest) = map.iter().min_by_key(|(_, q)| q.back().copied()).map(|(k, _)| k.clone()) {
                    map.remove(&oldest);
                }
            }
            self.forgotten.fetch_add((before - map.len()) as u64, Ordering::Relaxed);
        }
        let q = map.entry(key.to_owned()).or_default();
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
        assert_eq!(v.hit("a", 10, 60_000), 1, "a, the oldest, was forgotten");
    }
}
