//! The filter block: a bloom filter over a table's distinct user keys
//! (FORMAT.md, "Filter block").
//!
//! The hash and the probe sequence are frozen by format 1: a reader must
//! test exactly the bits a writer set, on every platform, forever. So the
//! sizes use integer arithmetic only (no floats in `no_std` core).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use alloc::vec;
use alloc::vec::Vec;

use crate::error::{Error, Result};

use super::FilterSummary;

/// The smallest bit array a filter has, in bytes.
pub const FILTER_BITS_MIN_BYTES: usize = 8;
/// The largest bit array, in bytes: its bit count must fit the u32 the probe
/// arithmetic works in. Only a table of hundreds of millions of keys reaches
/// it; the filter then saturates (more false positives, never a false negative).
pub const FILTER_BITS_MAX_BYTES: usize = (u32::MAX / 8) as usize;
/// Probes per key are clamped to this range (FORMAT.md).
pub const PROBES_MIN: u8 = 1;
pub const PROBES_MAX: u8 = 30;
/// Bytes after the bit array: the probe count.
const PROBES_FIELD_SIZE: usize = 1;

/// The frozen hash of a user key: FNV-1a 64 followed by the splitmix64
/// finaliser (FNV alone mixes its high bits poorly).
#[must_use]
pub fn bloom_hash(user_key: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in user_key {
        h = (h ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    h
}

/// `clamp(round(bits_per_key × 0.69), 1, 30)` in integers (0.69 ≈ ln 2, the
/// probe count that minimises false positives).
#[must_use]
pub fn probes_for(bits_per_key: u32) -> u8 {
    let rounded = (u64::from(bits_per_key) * 69 + 50) / 100;
    rounded.clamp(u64::from(PROBES_MIN), u64::from(PROBES_MAX)) as u8
}

/// `max(8, ceil(keys × bits_per_key / 8))` bytes, capped so bit indexes fit u32.
#[must_use]
pub fn bits_bytes_for(key_count: u64, bits_per_key: u32) -> usize {
    let bits = key_count.saturating_mul(u64::from(bits_per_key));
    let bytes = bits.div_ceil(8);
    let bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
    bytes.clamp(FILTER_BITS_MIN_BYTES, FILTER_BITS_MAX_BYTES)
}

/// Size of the whole filter block (bit array + probe count, no crc).
#[must_use]
pub fn filter_block_size(key_count: u64, bits_per_key: u32) -> usize {
    bits_bytes_for(key_count, bits_per_key) + PROBES_FIELD_SIZE
}

/// The bit positions a key's probes touch, in a bit array of `bit_count` bits.
fn probe_bits(hash: u64, probes: u8, bit_count: u32) -> impl Iterator<Item = u32> {
    let h1 = hash as u32;
    let h2 = ((hash >> 32) as u32) | 1;
    (0..u32::from(probes)).map(move |j| h1.wrapping_add(j.wrapping_mul(h2)) % bit_count)
}

/// Collects key hashes while a table is written; the filter's size depends on
/// the final key count, so the bits are laid out only at `finish`.
#[derive(Default)]
pub struct BloomBuilder {
    hashes: Vec<u64>,
}

impl BloomBuilder {
    /// Adds one distinct user key (the writer skips repeated versions).
    pub fn add_key(&mut self, user_key: &[u8]) {
        self.hashes.push(bloom_hash(user_key));
    }

    pub fn key_count(&self) -> u64 {
        self.hashes.len() as u64
    }

    /// The encoded filter block (bits then probe count, without the crc).
    #[must_use]
    #[allow(clippy::indexing_slicing, reason = "an encoder: every index is below the length it allocated")]
    pub fn finish(&self, bits_per_key: u32) -> Vec<u8> {
        let bytes = bits_bytes_for(self.key_count(), bits_per_key);
        let probes = probes_for(bits_per_key);
        let mut block = vec![0u8; bytes + PROBES_FIELD_SIZE];
        let bit_count = (bytes * 8) as u32;
        for &hash in &self.hashes {
            for bit in probe_bits(hash, probes, bit_count) {
                // In range: `bit < bit_count = 8 × bytes`.
                block[(bit / 8) as usize] |= 1 << (bit % 8);
            }
        }
        block[bytes] = probes;
        block
    }
}

/// A parsed filter block.
pub struct BloomFilter {
    bits: Vec<u8>,
    probes: u8,
    /// `bits.len() × 8`, checked to fit u32 at parse.
    bit_count: u32,
}

impl BloomFilter {
    /// Parses a filter block (already crc-checked) that starts at byte
    /// `offset` of `file`.
    pub fn parse(mut block: Vec<u8>, file: &str, offset: u64) -> Result<BloomFilter> {
        let corrupt = |reason: &str| Error::corruption(file, offset, reason);
        let probes = block.pop().ok_or_else(|| corrupt("filter block is empty"))?;
        if block.len() < FILTER_BITS_MIN_BYTES || block.len() > FILTER_BITS_MAX_BYTES {
            return Err(corrupt("filter bit array has an impossible size"));
        }
        if !(PROBES_MIN..=PROBES_MAX).contains(&probes) {
            return Err(corrupt("filter probe count out of range 1..=30"));
        }
        let bit_count = (block.len() * 8) as u32;
        Ok(BloomFilter { bits: block, probes, bit_count })
    }

    /// False only if `user_key` was certainly never added.
    #[must_use]
    pub fn may_contain(&self, user_key: &[u8]) -> bool {
        probe_bits(bloom_hash(user_key), self.probes, self.bit_count).all(|bit| {
            // `bit < bit_count` so the byte exists; `get` keeps this panic-free anyway.
            self.bits.get((bit / 8) as usize).is_some_and(|byte| byte & (1 << (bit % 8)) != 0)
        })
    }

    /// Bytes it holds in memory.
    pub fn size_bytes(&self) -> usize {
        self.bits.len() + core::mem::size_of::<Self>()
    }

    #[must_use]
    pub fn summary(&self) -> FilterSummary {
        FilterSummary {
            bytes: self.bits.len() as u32,
            bits: self.bit_count,
            bits_set: self.bits.iter().map(|byte| byte.count_ones()).sum(),
            probes: self.probes,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use alloc::format;

    fn build(keys: &[Vec<u8>], bits_per_key: u32) -> BloomFilter {
        let mut builder = BloomBuilder::default();
        for key in keys {
            builder.add_key(key);
        }
        BloomFilter::parse(builder.finish(bits_per_key), "t.sst", 0).unwrap()
    }

    /// The hash is frozen by the format: pin a few values so that an
    /// accidental change (a different constant, a missing step) fails here.
    #[test]
    fn hash_is_frozen() {
        // The splitmix64 finaliser, written out here rather than shared, so
        // a change to the code's copy cannot pass unnoticed.
        let finalise = |mut h: u64| {
            h ^= h >> 30;
            h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
            h ^= h >> 27;
            h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
            h ^ (h >> 31)
        };
        // FNV-1a 64 of "" is its offset basis.
        assert_eq!(bloom_hash(b""), finalise(0xcbf2_9ce4_8422_2325));
        // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c (published test vector).
        assert_eq!(bloom_hash(b"a"), finalise(0xaf63_dc4c_8601_ec8c));
    }

    /// Sizes follow FORMAT.md's formulas exactly.
    #[test]
    fn sizes_and_probes_follow_the_format() {
        assert_eq!(probes_for(10), 7);
        assert_eq!(probes_for(1), 1);
        assert_eq!(probes_for(32), 22);
        assert_eq!(probes_for(100), 30);
        assert_eq!(bits_bytes_for(0, 10), 8);
        assert_eq!(bits_bytes_for(1, 10), 8);
        assert_eq!(bits_bytes_for(7, 10), 9);
        assert_eq!(bits_bytes_for(1000, 10), 1250);
        assert_eq!(filter_block_size(1000, 10), 1251);
    }

    /// No false negatives; and at 10 bits per key the false-positive rate on
    /// 10,000 absent keys stays under 2% (theory: about 0.8%). Keys are fixed,
    /// so the measured rate is deterministic.
    #[test]
    fn no_false_negatives_and_low_false_positive_rate() {
        let present: Vec<Vec<u8>> = (0..10_000u32).map(|i| format!("key{i:08}").into_bytes()).collect();
        let filter = build(&present, 10);
        assert!(present.iter().all(|key| filter.may_contain(key)));
        let false_positives = (0..10_000u32).filter(|i| filter.may_contain(format!("absent{i:08}").as_bytes())).count();
        assert!(false_positives < 200, "{false_positives} false positives in 10,000");
        let summary = filter.summary();
        assert_eq!(summary.bytes, 12_500);
        assert_eq!(summary.probes, 7);
        assert!(summary.bits_set > 0 && summary.bits_set < summary.bits);
    }

    /// Small filters and single keys still never miss.
    #[test]
    fn tiny_filters_have_no_false_negatives() {
        for bits_per_key in 1..=32 {
            for count in 1..20u32 {
                let keys: Vec<Vec<u8>> = (0..count).map(|i| i.to_le_bytes().to_vec()).collect();
                let filter = build(&keys, bits_per_key);
                assert!(keys.iter().all(|key| filter.may_contain(key)));
            }
        }
    }

    /// A malformed filter block is corruption, not a panic.
    #[test]
    fn malformed_filter_blocks_are_rejected() {
        assert!(BloomFilter::parse(Vec::new(), "t", 5).is_err());
        assert!(BloomFilter::parse(vec![0; 8], "t", 5).is_err()); // 7 bits bytes
        assert!(BloomFilter::parse([vec![0; 8], vec![0]].concat(), "t", 5).is_err()); // 0 probes
        assert!(BloomFilter::parse([vec![0; 8], vec![31]].concat(), "t", 5).is_err());
        assert!(BloomFilter::parse([vec![0; 8], vec![30]].concat(), "t", 5).is_ok());
    }
}
