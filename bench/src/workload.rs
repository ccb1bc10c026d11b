//! Keys, values and key orders, as RocksDB's db_bench makes them: 16-byte
//! keys, 100-byte values that compress to about half, a seeded generator so
//! every engine sees exactly the same sequence of operations.

/// Key length in bytes (db_bench's `--key_size` default).
pub const KEY_BYTES: usize = 16;
/// Value length in bytes (db_bench's `--value_size` default).
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

/// A key that is never written, between `key(i)` and `key(i + 1)`.
pub fn missing_key(i: u64, out: &mut [u8; KEY_BYTES]) {
    write_decimal(2 * i + 1, out);
}

fn write_decimal(mut n: u64, out: &mut [u8; KEY_BYTES]) {
    for byte in out.iter_mut().rev() {
        *byte = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// Values: like db_bench's `RandomGenerator`, each 100-byte slice is half
/// random bytes and half repetition (compressible to ~50%), cut from a fixed
/// pool at a position that moves with every value.
pub struct Values {
    pool: Vec<u8>,
    position: usize,
}

impl Values {
    pub fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let mut pool = Vec::with_capacity(VALUE_POOL_BYTES);
        while pool.len() < VALUE_POOL_BYTES {
            let random: Vec<u8> = (0..VALUE_BYTES / 2).map(|_| b' ' + (rng.below(95) as u8)).collect();
            pool.extend_from_slice(&random);
            pool.extend_from_slice(&random);
        }
        Values { pool, position: 0 }
    }

    pub fn next(&mut self) -> &[u8] {
        if self.position + VALUE_BYTES > self.pool.len() {
            self.position = 0;
        }
        let start = self.position;
        self.position += VALUE_BYTES + 7; // an odd stride: values differ in alignment too
        &self.pool[start..start + VALUE_BYTES]
    }
}

/// A seeded permutation of `0..n`: every key exactly once, in random order.
pub fn permutation(n: u64, seed: u64) -> Vec<u32> {
    assert!(n <= u64::from(u32::MAX), "--num must fit in 32 bits");
    let mut order: Vec<u32> = (0..n as u32).collect();
    let mut rng = Rng::new(seed);
    for i in (1..order.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    order
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

    /// The permutation holds every number once and depends only on the seed.
    #[test]
    fn permutation_is_a_seeded_permutation() {
        let p = permutation(1000, 7);
        let mut sorted = p.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<u32>>());
        assert_eq!(p, permutation(1000, 7));
        assert_ne!(p, permutation(1000, 8));
    }
}
