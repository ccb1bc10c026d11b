//! Helpers shared by the integration tests.
#![allow(dead_code)]

use lsmkv::Options;

pub mod workload;

pub use lsmkv::testing::Rng;

/// A key from a small key space (so overwrites and deletes hit), now and then
/// with 0xFF and 0x00 bytes to exercise prefix bounds.
pub fn random_key(rng: &mut Rng, space: u64) -> Vec<u8> {
    let n = rng.below(space);
    match n % 17 {
        0 => vec![0xff, (n % 256) as u8],
        1 => vec![b'k', 0xff, 0xff, (n % 7) as u8],
        2 => vec![b'k', 0x00, (n % 256) as u8],
        _ => format!("k{n:04}").into_bytes(),
    }
}

pub fn random_value(rng: &mut Rng, max_len: u64) -> Vec<u8> {
    let len = rng.below(max_len + 1) as usize;
    let fill = rng.next_u64() as u8;
    (0..len).map(|i| fill.wrapping_add(i as u8)).collect()
}

/// Byte caps instead of entry caps, small enough that flushes, splits and
/// compactions happen within a few thousand operations.
pub fn byte_capped() -> Options {
    Options {
        memtable_max_entries: 1 << 20,
        memtable_max_bytes: 6 << 10,
        sstable_max_entries: 1 << 20,
        sstable_max_bytes: 3 << 10,
        block_size: 256,
        key_size_max: 64,
        value_size_max: 300,
        level_base_bytes: 12 << 10,
        level_size_ratio: 3,
        ..Options::teaching()
    }
}
