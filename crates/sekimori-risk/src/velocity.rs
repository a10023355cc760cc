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

/// The counters, in shards by key: each shard is bounded on its own and locked on its own,
/// so neither a lock nor the occasional rehash of a shard's map (after many keys came and
/// went) holds more than a small part of the keys.
#[derive(Debug)]
pub struct Velocity {
    shards: Vec<Mutex<Counters>>,
    /// The bound of each shard.
    max_keys_per_shard: usize,
    max_per_key: usize,
    forgotten: AtomicU64,
}

/// Shards for large bounds; bounds under 1,024 keys per shard keep one shard, so that the
/// first-counted key is forgotten exactly.
const MAX_SHARDS: usize = 32;
const MIN_KEYS_PER_SHARD: usize = 1024;

impl Velocity {
    /// Counters for at most `max_keys` keys, each remembering at most `max_per_key`
    /// attempts (enough to tell that a limit is passed).
    pub fn new(max_keys: usize, max_per_key: usize) -> Self {
        let max_keys = max_keys.max(1);
        let n = (max_keys / MIN_KEYS_PER_SHARD).clamp(1, MAX_SHARDS);
        let per_shard = max_keys.div_ceil(n);
        // Sized for the bound up front: growing a map (rehashing every key) would stall the
        // one attempt that happened to trigger it.
        let shards = (0..n)
            .map(|_| {
                Mutex::new(Counters {
                    hits: HashMap::with_capacity(per_shard),
                    order: VecDeque::with_capacity(per_shard),
                })
            })
            .collect();
        Velocity {
            shards,
            max_keys_per_shard: per_shard,
            max_per_key: max_per_key.max(1),
            forgotten: AtomicU64::new(0),
        }
    }

    /// Records an attempt for `key` at `now` (ms) and returns how many attempts, this one
    /// included, fall within the last `window_ms`.
    pub fn hit(&self, key: &str, now: i64, window_ms: i64) -> u32 {
        let shard = if self.shards.len() == 1 {
            0
        } else {
            let mut h = std::hash::DefaultHasher::new();
            std::hash::Hash::hash(key, &mut h);
            // The remainder is below the shard count, which a usize holds.
            usize::try_from(std::hash::Hasher::finish(&h) % self.shards.len() as u64).unwrap_or(0)
        };
        let mut c = self.shards[shard].lock().unwrap_or_else(|p| p.into_inner());
        if !c.hits.contains_key(key) {
            while c.hits.len() >= self.max_keys_per_shard {
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

    #[test]
    fn a_large_bound_is_kept_across_its_shards() {
        let v = Velocity::new(100_000, 10);
        for i in 0..150_000 {
            v.hit(&format!("ip:{i}"), i, 60_000);
        }
        let kept = 150_000 - v.forgotten();
        // Each shard keeps its share; together about the bound, never more than it rounded up.
        assert!((90_000..=100_032).contains(&kept), "{kept} keys kept");
        assert_eq!(v.hit("ip:149999", 150_000, 60_000), 2, "a recent key is still counted");
    }
}
