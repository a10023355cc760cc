//! Randomness as an injected dependency. Every secret comes from an [`Rng`];
//! the one real implementation reads the operating system's CSPRNG.

/// A source of cryptographically secure random bytes.
pub trait Rng: Send + Sync + 'static {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}

/// The operating system's CSPRNG (`getrandom`).
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRng;

impl Rng for OsRng {
    #[allow(clippy::disallowed_methods)] // reason: this is the single real randomness source
    fn fill(&self, buf: &mut [u8]) {
        // An OS without a working CSPRNG cannot run Sekimori safely: stop rather than
        // hand out predictable secrets.
        if let Err(e) = getrandom::getrandom(buf) {
            panic!("operating system CSPRNG unavailable: {e}");
        }
    }
}

/// Random helpers over any [`Rng`].
pub trait RngExt: Rng {
    /// `N` random bytes.
    fn bytes<const N: usize>(&self) -> [u8; N] {
        let mut b = [0u8; N];
        self.fill(&mut b);
        b
    }

    /// A uniform integer in `0..bound` (rejection sampling, no modulo bias).
    fn below(&self, bound: u32) -> u32 {
        assert!(bound > 0, "bound must be positive");
        let zone = u32::MAX - (u32::MAX % bound);
        loop {
            let v = u32::from_le_bytes(self.bytes::<4>());
            if v < zone {
                return v % bound;
            }
        }
    }
}

impl<T: Rng + ?Sized> RngExt for T {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_stays_in_range() {
        let r = OsRng;
        for _ in 0..1000 {
            assert!(r.below(90) < 90);
        }
    }
}
