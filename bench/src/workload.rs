//! Keys, values and key orders, as RocksDB's db_bench makes them: 16-byte
//! keys, values (100 bytes by default) that compress to about half, a seeded
//! generator so every engine sees exactly the same sequence of operations.

/// Key length in bytes (db_bench's `--key_size` default).
pub const KEY_BYTES: usize = 16;
/// Default value length in bytes (db_bench's `--value_size` default).
pub const VALUE_BYTES: usize = 100;
/// Size of the pool values are cut from.
const VALUE_POOL_BYTES: usize = 1 << 20;

/// The project's one seeded generator (splitmix64): the same sequence on
/// every machine, for every engine.
pub use lsmkv::testing::Rng;

/// Key number `i` of the data set: the decimal digits of `2 * i`, zero-padded
/// to 16 bytes, so keys sort in numeric order. Even numbers only: the odd
/// ones are `missing_key`s, which fall *inside* the key range of every table,
/// so only a bloom filter (not a range check) can rule them out.
pub fn key(i: u64, out: &mut [u8; KEY_BYTES]) {
    write_decimal(2 * i, out);
}

/// A key that is never written by the db_bench workloads, between `key(i)`
/// and `key(i + 1)` (YCSB's inserts use them: see `ycsb::KeySpace`).
pub fn missing_key(i: u64, out: &mut [u8; KEY_BYTES]) {
    write_decimal(2 * i + 1, out);
}

fn write_decimal(mut n: u64, out: &mut [u8; KEY_BYTES]) {
    for byte in out.iter_mut().rev() {
        *byte = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// A uniform `f64` in [0, 1) from 53 random bits.
pub fn unit(rng: &mut Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Values: like db_bench's `RandomGenerator`, each value is half random
/// bytes and half repetition (compressible to ~50%), cut from a fixed pool
/// at a position that moves with every value.
pub struct Values {
    pool: Vec<u8>,
    position: usize,
    size: usize,
}

impl Values {
    pub fn new(seed: u64, size: usize) -> Self {
        let mut rng = Rng::new(seed);
        let mut pool = Vec::with_capacity(VALUE_POOL_BYTES + size);
        let half = (size / 2).max(1);
        while pool.len() < VALUE_POOL_BYTES.max(2 * size) {
            let random: Vec<u8> = (0..half).map(|_| b' ' + (rng.below(95) as u8)).collect();
            pool.extend_from_slice(&random);
            pool.extend_from_slice(&random);
        }
        Values { pool, position: 0, size }
    }

    pub fn next(&mut self) -> &[u8] {
        if self.position + self.size > self.pool.len() {
            self.position = 0;
        }
        let start = self.position;
        self.position += self.size + 7; // an odd stride: values differ in alignment too
        &self.pool[start..start + self.size]
    }
}

/// A seeded permutation of `0..n` computed one element at a time, in O(1)
/// memory (a 100M-key fill would otherwise hold a 400 MB order table, which
/// the peak-RSS figures would count against the engine): a four-round
/// Feistel network on the smallest even number of bits covering `n`, with
/// cycle walking (values ≥ n are encrypted again; at most 4× on average)
/// so it stays a bijection on `0..n`.
#[derive(Clone)]
pub struct Permutation {
    n: u64,
    half_bits: u32,
    round_keys: [u64; 4],
}

impl Permutation {
    pub fn new(n: u64, seed: u64) -> Self {
        let bits = (64 - n.saturating_sub(1).leading_zeros()).max(2);
        let mut rng = Rng::new(seed);
        Permutation {
            n,
            half_bits: bits.div_ceil(2),
            round_keys: [rng.next_u64(), rng.next_u64(), rng.next_u64(), rng.next_u64()],
        }
    }

    /// Element `i` (`i < n`) of the permutation.
    pub fn at(&self, i: u64) -> u64 {
        debug_assert!(i < self.n);
        let mut x = self.encrypt(i);
        while x >= self.n {
            x = self.encrypt(x);
        }
        x
    }

    fn encrypt(&self, x: u64) -> u64 {
        let mask = (1u64 << self.half_bits) - 1;
        let (mut left, mut right) = (x >> self.half_bits, x & mask);
        for key in self.round_keys {
            let mixed = Rng::new(right ^ key).next_u64() & mask;
            (left, right) = (right, left ^ mixed);
        }
        (left << self.half_bits) | right
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys are 16 bytes, sort numerically, and missing keys fall between them.
    #[test]
    fn keys_sort_and_missing_keys_interleave() {
        let (mut a, mut m, mut b) = ([0; KEY_BYTES], [0; KEY_BYTES], [0; KEY_BYTES]);
        key(41, &mut a);
        missing_key(41, &mut m);
        key(42, &mut b);
        assert_eq!(&a, b"0000000000000082");
        assert!(a < m && m < b);
    }

    /// The permutation holds every number once, for sizes that are and are
    /// not powers of two, depends only on the seed, and is not the identity.
    #[test]
    fn permutation_is_a_seeded_permutation() {
        for n in [1, 2, 3, 1000, 1024, 4097, 100_003] {
            let p = Permutation::new(n, 7);
            let mut seen: Vec<u64> = (0..n).map(|i| p.at(i)).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..n).collect::<Vec<u64>>(), "n = {n}");
        }
        let (a, b, c) = (Permutation::new(1000, 7), Permutation::new(1000, 7), Permutation::new(1000, 8));
        assert!((0..1000).all(|i| a.at(i) == b.at(i)));
        assert!((0..1000).any(|i| a.at(i) != c.at(i)));
        assert!((0..1000).filter(|&i| a.at(i) == i).count() < 10);
    }

    /// Values have the configured size and vary from one to the next.
    #[test]
    fn values_have_the_configured_size() {
        for size in [1, 100, 200, 4000] {
            let mut values = Values::new(3, size);
            let first = values.next().to_vec();
            assert_eq!(first.len(), size);
            assert_eq!(values.next().len(), size);
        }
    }
}
