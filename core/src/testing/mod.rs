//! Test tools (feature `testing`), shared by the crate's own tests, the
//! backends' tests in `lsmkv-wasm`, the server's tests, the benchmark and
//! the examples, so there is one of each to trust:
//!
//! - [`Rng`], a seedable generator;
//! - [`FaultStorage`], storage that crashes, tears and fails on demand;
//! - [`conformance`], the suite every `Storage` backend must pass;
//! - [`seeds`], which seeds a randomized test runs (and how to replay one);
//! - [`write_file`], a whole file written and synced in one call.

use alloc::vec::Vec;

pub mod conformance;
mod fault;
pub use fault::{FaultStorage, Tear, CRASH_MESSAGE, INJECTED_MESSAGE};

/// A seedable pseudo-random generator (splitmix64): tiny, well mixed, the
/// same on every platform, so a failing randomized test replays from its seed.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform enough in `0..bound`; `bound` must not be 0.
    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0, "below(0) has no value to return");
        self.next_u64() % bound
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// The seeds a randomized test runs: `count` from `first`; or
/// `$LSMKV_MODEL_CASES` of them, to run more; or only `$LSMKV_MODEL_SEED`,
/// to replay a failure.
#[cfg(feature = "std")]
pub fn seeds(first: u64, count: u64) -> Vec<u64> {
    let env = |name: &str| std::env::var(name).ok().and_then(|s| s.parse::<u64>().ok());
    match (env("LSMKV_MODEL_SEED"), env("LSMKV_MODEL_CASES")) {
        (Some(seed), _) => alloc::vec![seed],
        (None, Some(cases)) => (first..first + cases).collect(),
        (None, None) => (first..first + count).collect(),
    }
}

/// Creates file `name` holding `bytes`, synced.
pub fn write_file(storage: &dyn crate::Storage, name: &str, bytes: &[u8]) -> crate::Result<()> {
    storage.create(name)?;
    storage.append(name, bytes)?;
    storage.sync(name)
}
