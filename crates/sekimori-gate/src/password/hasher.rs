//! The hashing pool: Argon2id on a fixed set of threads, each with its own memory, behind
//! a bounded queue in two lanes (ADR 0005; docs/protocol.md section 9.2). A full lane or a
//! job that waited past `queue_wait_ms` is answered `503` at once, so a flood costs bounded
//! memory and CPU.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use sekimori_core::{ErrorCode, Rng};
use tokio::sync::oneshot;

use super::PasswordSettings;
use crate::{GateError, GateResult};

/// What a verification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Checked {
    pub(super) matches: bool,
    /// Stored with other parameters than the current ones.
    pub(super) outdated: bool,
}

enum Job {
    Hash { password: Vec<u8>, salt: [u8; 16], reply: oneshot::Sender<GateResult<String>> },
    Verify { password: Vec<u8>, phc: String, reply: oneshot::Sender<GateResult<Checked>> },
}

struct Queued {
    job: Job,
    deadline: Instant,
}

/// The queue in front of the workers, in two lanes of `hash_queue` each: attempts that
/// look legitimate (a known user with no failure in the window, from a network with none)
/// are taken first, so a flood of guesses cannot crowd them out.
#[derive(Default)]
struct Lanes {
    state: Mutex<LaneState>,
    ready: Condvar,
}

#[derive(Default)]
struct LaneState {
    first: VecDeque<Queued>,
    rest: VecDeque<Queued>,
    closed: bool,
}

impl Lanes {
    fn lock(&self) -> std::sync::MutexGuard<'_, LaneState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Which lane a job waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Taken first: a known user without recent failures, from a clean network; admin work.
    First,
    /// Everything else.
    Rest,
}

/// Why the pool cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A `[gate.password]` setting is out of range.
    #[error("{key}: {reason}")]
    Setting {
        /// The key, e.g. `gate.password.memory_kib`.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The operating system refused a thread.
    #[error("cannot start a password hashing thread: {0}")]
    Thread(std::io::Error),
    /// The first hash (the dummy for unknown users) failed.
    #[error("cannot hash with these settings: {0}")]
    Hash(GateError),
}

/// The hashing pool: worker threads with their own Argon2 memory behind a bounded queue.
pub struct PasswordHasher {
    lanes: Arc<Lanes>,
    capacity: usize,
    params: Params,
    queue_wait: Duration,
    dummy: String,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher").field("params", &self.params).finish_non_exhaustive()
    }
}

fn argon2(params: Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Now on the monotonic clock. Queue deadlines shed load by how long a request really
/// waited for a CPU; they are not domain time (expiry, locks), which uses the injected clock.
#[allow(clippy::disallowed_methods)] // reason: load shedding measures real waiting, not domain time
fn monotonic_now() -> Instant {
    Instant::now()
}

fn overloaded() -> GateError {
    GateError::new(ErrorCode::ServiceUnavailable, "too many password checks are waiting; try again shortly")
        .with("retry_after_seconds", 1)
}

fn phc(params: &Params, salt: &[u8], hash: &[u8]) -> String {
    format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(hash)
    )
}

/// One worker: owns a memory block sized for the current parameters (grown when a stored
/// hash asks for more) and takes jobs, the first lane first, until the pool is dropped.
fn worker(lanes: Arc<Lanes>, params: Params) {
    let mut memory = vec![Block::default(); params.block_count()];
    loop {
        let next = {
            let mut state = lanes.lock();
            loop {
                if let Some(q) = state.first.pop_front().or_else(|| state.rest.pop_front()) {
                    break Some(q);
                }
                if state.closed {
                    break None;
                }
                state = lanes.ready.wait(state).unwrap_or_else(|p| p.into_inner());
            }
        };
        let Some(Queued { job, deadline }) = next else { return };
        let late = monotonic_now() > deadline;
        match job {
            Job::Hash { password, salt, reply } => {
                if reply.is_closed() {
                    continue;
                }
                let out = if late { Err(overloaded()) } else { hash_with(&params, &password, &salt, &mut memory) };
                let _ = reply.send(out);
            }
            Job::Verify { password, phc, reply } => {
                if reply.is_closed() {
                    continue;
                }
                let out = if late { Err(overloaded()) } else { verify_with(&params, &password, &phc, &mut memory) };
                let _ = reply.send(out);
            }
        }
    }
}

fn memory_for<'m>(params: &Params, memory: &'m mut Vec<Block>) -> &'m mut [Block] {
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    &mut memory[..params.block_count()]
}

fn hash_with(params: &Params, password: &[u8], salt: &[u8], memory: &mut Vec<Block>) -> GateResult<String> {
    let mut out = [0u8; 32];
    argon2(params.clone())
        .hash_password_into_with_memory(password, salt, &mut out, memory_for(params, memory))
        .map_err(|e| GateError::new(ErrorCode::Internal, format!("argon2: {e}")))?;
    Ok(phc(params, salt, &out))
}

fn verify_with(current: &Params, password: &[u8], stored: &str, memory: &mut Vec<Block>) -> GateResult<Checked> {
    let corrupt = |why: String| {
        tracing::error!(%why, "a stored password hash cannot be read");
        GateError::new(ErrorCode::Internal, "a stored password hash cannot be read")
    };
    let parsed = PasswordHash::new(stored).map_err(|e| corrupt(e.to_string()))?;
    if parsed.algorithm.as_str() != "argon2id" || parsed.version != Some(19) {
        return Err(corrupt(format!("{} v{:?} is not argon2id v19", parsed.algorithm, parsed.version)));
    }
    let params = Params::try_from(&parsed).map_err(|e| corrupt(e.to_string()))?;
    let mut salt = [0u8; 64];
    let salt = parsed
        .salt
        .ok_or_else(|| corrupt("no salt".into()))?
        .decode_b64(&mut salt)
        .map_err(|e| corrupt(e.to_string()))?;
    let expected = parsed.hash.ok_or_else(|| corrupt("no hash".into()))?;
    let mut out = vec![0u8; expected.len()];
    let params = Params::new(params.m_cost(), params.t_cost(), params.p_cost(), Some(out.len()))
        .map_err(|e| corrupt(e.to_string()))?;
    argon2(params.clone())
        .hash_password_into_with_memory(password, salt, &mut out, memory_for(&params, memory))
        .map_err(|e| corrupt(e.to_string()))?;
    let outdated = (params.m_cost(), params.t_cost(), params.p_cost(), out.len())
        != (current.m_cost(), current.t_cost(), current.p_cost(), 32);
    Ok(Checked { matches: sekimori_core::token::ct_eq(&out, expected.as_bytes()), outdated })
}

impl PasswordHasher {
    /// Starts the pool's threads (they end when the pool is dropped).
    pub fn start(settings: &PasswordSettings, rng: &dyn Rng) -> Result<Self, StartError> {
        let workers = match settings.hash_workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        Self::start_with(settings, rng, workers)
    }

    /// [`start`](Self::start) with `workers` threads (none: jobs wait until a test starts
    /// one with [`worker`]).
    fn start_with(settings: &PasswordSettings, rng: &dyn Rng, workers: usize) -> Result<Self, StartError> {
        settings.validate().map_err(|(key, reason)| StartError::Setting { key, reason })?;
        let params = settings.params().map_err(|(key, reason)| StartError::Setting { key, reason })?;
        let lanes = Arc::new(Lanes::default());
        for i in 0..workers {
            let (jobs, params) = (Arc::clone(&lanes), params.clone());
            std::thread::Builder::new()
                .name(format!("sekimori-argon2-{i}"))
                .spawn(move || worker(jobs, params))
                .map_err(StartError::Thread)?;
        }
        // The dummy is computed here, once, so unknown users cost a real verification.
        let mut dummy_password = [0u8; 16];
        rng.fill(&mut dummy_password);
        let mut salt = [0u8; 16];
        rng.fill(&mut salt);
        let dummy = hash_with(&params, &dummy_password, &salt, &mut Vec::new()).map_err(StartError::Hash)?;
        Ok(PasswordHasher {
            lanes,
            capacity: settings.hash_queue,
            params,
            queue_wait: Duration::from_millis(settings.queue_wait_ms),
            dummy,
        })
    }

    /// Jobs waiting now: (the first lane, the rest), for metrics.
    pub fn queue_depth(&self) -> (usize, usize) {
        let state = self.lanes.lock();
        (state.first.len(), state.rest.len())
    }

    fn submit(&self, job: Job, lane: Lane) -> GateResult<()> {
        let mut state = self.lanes.lock();
        let queue = match lane {
            Lane::First => &mut state.first,
            Lane::Rest => &mut state.rest,
        };
        if queue.len() >= self.capacity {
            return Err(overloaded());
        }
        queue.push_back(Queued { job, deadline: monotonic_now() + self.queue_wait });
        drop(state);
        self.lanes.ready.notify_one();
        Ok(())
    }

    /// Hashes `password` with a fresh salt; a PHC string.
    pub async fn hash(&self, password: &str, rng: &dyn Rng) -> GateResult<String> {
        let mut salt = [0u8; 16];
        rng.fill(&mut salt);
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Hash { password: password.as_bytes().to_vec(), salt, reply }, Lane::First)?;
        answer.await.map_err(|_| GateError::new(ErrorCode::Internal, "the hashing pool stopped"))?
    }

    pub(super) async fn verify(&self, password: &str, phc: Option<&str>, lane: Lane) -> GateResult<Checked> {
        let (reply, answer) = oneshot::channel();
        let phc = phc.unwrap_or(&self.dummy).to_owned();
        self.submit(Job::Verify { password: password.as_bytes().to_vec(), phc, reply }, lane)?;
        answer.await.map_err(|_| GateError::new(ErrorCode::Internal, "the hashing pool stopped"))?
    }
}

impl Drop for PasswordHasher {
    fn drop(&mut self) {
        self.lanes.lock().closed = true;
        self.lanes.ready.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> PasswordSettings {
        PasswordSettings { memory_kib: 64, iterations: 1, hash_workers: 1, hash_queue: 2, ..Default::default() }
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let rng = sekimori_core::OsRng;
        let pool = PasswordHasher::start(&small(), &rng).expect("pool");
        let phc = pool.hash("kumamoto-42!", &rng).await.expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        assert_eq!(
            pool.verify("kumamoto-42!", Some(&phc), Lane::Rest).await.expect("v"),
            Checked { matches: true, outdated: false }
        );
        assert!(!pool.verify("kumamoto-43!", Some(&phc), Lane::Rest).await.expect("v").matches);
        assert!(!pool.verify("kumamoto-42!", None, Lane::Rest).await.expect("dummy").matches);
        // Two hashes of one password differ (fresh salt).
        assert_ne!(phc, pool.hash("kumamoto-42!", &rng).await.expect("hash"));
    }

    #[tokio::test]
    async fn hashes_made_by_the_reference_implementation_verify() {
        // Made with the reference `argon2` CLI (phc-winner-argon2, Debian package `argon2`):
        //   echo -n password | argon2 somesalt -id -t 2 -k 64 -p 1 -l 32 -e
        //   echo -n パスワード | argon2 saltsaltsalt -id -t 1 -k 256 -p 2 -l 32 -e
        let references = [
            ("password", "$argon2id$v=19$m=64,t=2,p=1$c29tZXNhbHQ$FqGkmHNGCd0BRW2kBt6fPZ2pPmyGwwChL8FGUhTOSSI"),
            ("パスワード", "$argon2id$v=19$m=256,t=1,p=2$c2FsdHNhbHRzYWx0$I3TkwCSliqSpi26o85gHAgN5vvQglHFfHzcMkg1PMPc"),
        ];
        let rng = sekimori_core::OsRng;
        let pool = PasswordHasher::start(&small(), &rng).expect("pool");
        for (password, phc) in references {
            assert_eq!(
                pool.verify(password, Some(phc), Lane::Rest).await.expect("verify"),
                Checked { matches: true, outdated: true }
            );
            assert!(!pool.verify("Password", Some(phc), Lane::Rest).await.expect("verify").matches);
        }
        // And ours, with the same parameters and salt, is byte for byte the reference's.
        let ours = hash_with(&Params::new(64, 2, 1, None).expect("params"), b"password", b"somesalt", &mut Vec::new());
        assert_eq!(ours.expect("hash"), references[0].1);
    }

    #[tokio::test]
    async fn unreadable_stored_hashes_are_internal_errors_not_matches() {
        let rng = sekimori_core::OsRng;
        let pool = PasswordHasher::start(&small(), &rng).expect("pool");
        for bad in ["", "plain", "$argon2i$v=19$m=64,t=2,p=1$c29tZXNhbHQ$FqGkmHNGCd0BRW2kBt6fPZ2pPmyGwwChL8FGUhTOSSI"] {
            let err = pool.verify("password", Some(bad), Lane::Rest).await.expect_err(bad);
            assert_eq!(err.code, ErrorCode::Internal);
        }
    }

    #[tokio::test]
    async fn a_full_queue_answers_at_once_with_retry_after() {
        let rng = sekimori_core::OsRng;
        // One slow worker, a queue of one: of many concurrent hashes, some must be refused.
        let settings = PasswordSettings {
            memory_kib: 8 * 1024,
            iterations: 4,
            hash_workers: 1,
            hash_queue: 1,
            ..Default::default()
        };
        let pool = Arc::new(PasswordHasher::start(&settings, &rng).expect("pool"));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let pool = Arc::clone(&pool);
            tasks.push(tokio::spawn(async move { pool.hash("kumamoto-42!", &sekimori_core::OsRng).await }));
        }
        let (mut ok, mut refused) = (0, 0);
        for t in tasks {
            match t.await.expect("join") {
                Ok(_) => ok += 1,
                Err(e) => {
                    assert_eq!(e.code, ErrorCode::ServiceUnavailable);
                    assert_eq!(e.extensions.get("retry_after_seconds"), Some(&serde_json::json!(1)));
                    refused += 1;
                }
            }
        }
        assert!(ok >= 1 && refused >= 1, "ok {ok}, refused {refused}");
    }

    /// The first lane is served before the rest and has room of its own: with the rest
    /// full of a flood's guesses, a legitimate check is still queued and done first.
    /// (The pool starts without a worker, so every job is queued before one runs.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_first_lane_is_served_before_a_full_rest_lane() {
        let rng = sekimori_core::OsRng;
        let settings = PasswordSettings { hash_queue: 4, queue_wait_ms: 60_000, ..Default::default() };
        let phc = PasswordHasher::start(&settings, &rng).expect("pool").hash("kumamoto-42!", &rng).await.expect("hash");
        let pool = Arc::new(PasswordHasher::start_with(&settings, &rng, 0).expect("pool"));
        let order = Arc::new(Mutex::new(Vec::new()));
        let check = |password: &'static str, lane: Lane, label: String| {
            let (pool, phc, order) = (Arc::clone(&pool), phc.clone(), Arc::clone(&order));
            tokio::spawn(async move {
                let r = pool.verify(password, Some(&phc), lane).await;
                order.lock().expect("order").push(label);
                r.map(|c| c.matches)
            })
        };
        let mut guesses = Vec::new();
        for i in 0..5 {
            guesses.push(check("guess", Lane::Rest, format!("rest{i}")));
        }
        let queued = || {
            let state = pool.lanes.lock();
            state.rest.len()
        };
        while queued() < 4 {
            tokio::task::yield_now().await;
        }
        let legit = check("kumamoto-42!", Lane::First, "first".into());
        while pool.lanes.lock().first.is_empty() {
            tokio::task::yield_now().await;
        }
        // Now one worker starts: the legitimate check comes out first.
        let (lanes, params) = (Arc::clone(&pool.lanes), pool.params.clone());
        std::thread::spawn(move || worker(lanes, params));
        assert!(legit.await.expect("join").expect("checked, not turned away"), "the right password matches");
        let mut refused = 0;
        for g in guesses {
            if g.await.expect("join").is_err() {
                refused += 1;
            }
        }
        assert_eq!(refused, 1, "the rest lane held four; the fifth guess was turned away at once");
        let order = order.lock().expect("order").clone();
        let first_at = order.iter().position(|o| o == "first").expect("first");
        let refused_at = order.iter().filter(|o| o.starts_with("rest")).count();
        assert_eq!(refused_at, 5);
        assert!(first_at <= 1, "served before every queued guess (only the refusal may come earlier): {order:?}");
    }
}
