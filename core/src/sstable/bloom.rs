//! The filter block: a bloom filter over a table's distinct user keys
//! (FORMAT.md, "Filter block").
//!
//! Two layouts, told apart by the last byte. Classic (what tables were
//! first written with): a key's probes land anywhere in the bit array, so a
//! lookup touches up to `probes` cache lines. Blocked (written now): all of
//! a key's probes land in one 64-byte block, so a lookup touches one cache
//! line, for a slightly higher false-positive rate at the same size. The
//! hash and both probe sequences are frozen: a reader must test exactly the
//! bits a writer set, on every platform, forever. So the sizes use integer
//! arithmetic only (no floats in `no_std` core).

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
/// Bytes after the bit array: the probe count, with `BLOCKED` set for the
/// blocked layout.
const PROBES_FIELD_SIZE: usize = 1;
/// The high bit of the probe-count byte: the blocked layout.
const BLOCKED: u8 = 0x80;
/// A block of the blocked layout: one cache line.
pub const BLOCK_BYTES: usize = 64;
const BLOCK_BITS: u32 = (BLOCK_BYTES * 8) as u32;

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

/// Bytes of a blocked filter's bit array: `ceil(keys × bits_per_key / 512)`
/// blocks of 64 bytes, at least one, capped so bit indexes fit u32.
#[must_use]
pub fn bits_bytes_for(key_count: u64, bits_per_key: u32) -> usize {
    let bits = key_count.saturating_mul(u64::from(bits_per_key));
    let blocks = usize::try_from(bits.div_ceil(u64::from(BLOCK_BITS))).unwrap_or(usize::MAX);
    blocks.clamp(1, FILTER_BITS_MAX_BYTES / BLOCK_BYTES) * BLOCK_BYTES
}

/// Size of the whole filter block (bit array + probe count, no crc) the
/// writer makes.
#[must_use]
pub fn filter_block_size(key_count: u64, bits_per_key: u32) -> usize {
    bits_bytes_for(key_count, bits_per_key) + PROBES_FIELD_SIZE
}

/// Classic layout: the bit positions a key's probes touch, in a bit array of
/// `bit_count` bits.
fn probe_bits(hash: u64, probes: u8, bit_count: u32) -> impl Iterator<Item = u32> {
    let h1 = hash as u32;
    let h2 = ((hash >> 32) as u32) | 1;
    (0..u32::from(probes)).map(move |j| h1.wrapping_add(j.wrapping_mul(h2)) % bit_count)
}

/// Blocked layout: the block a key's probes land in (the high 32 bits of
/// the hash scaled to the block count), and the bits within it (double
/// hashing on the low 32 bits, mod 512; the step is odd, so a key's probes
/// are distinct).
fn probe_block(hash: u64, probes: u8, blocks: u32) -> (u32, impl Iterator<Item = u32>) {
    let block = (((hash >> 32) * u64::from(blocks)) >> 32) as u32;
    let h1 = hash as u32;
    let step = h1.rotate_left(15) | 1;
    (block, (0..u32::from(probes)).map(move |j| h1.wrapping_add(j.wrapping_mul(step)) % BLOCK_BITS))
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

    /// The encoded filter block, blocked layout (bits then probe count with
    /// `BLOCKED` set, without the crc).
    #[must_use]
    #[allow(clippy::indexing_slicing, reason = "an encoder: every index is below the length it allocated")]
    pub fn finish(&self, bits_per_key: u32) -> Vec<u8> {
        let bytes = bits_bytes_for(self.key_count(), bits_per_key);
        let probes = probes_for(bits_per_key);
        let mut block = vec![0u8; bytes + PROBES_FIELD_SIZE];
        let blocks = (bytes / BLOCK_BYTES) as u32;
        for &hash in &self.hashes {
            let (at, bits) = probe_block(hash, probes, blocks);
            let base = at as usize * BLOCK_BYTES;
            for bit in bits {
                // In range: `at < blocks` and `bit < 512`.
                block[base + (bit / 8) as usize] |= 1 << (bit % 8);
            }
        }
        block[bytes] = probes | BLOCKED;
        block
    }

    /// The same keys in the classic layout (`m = max(8, ceil(keys ×
    /// bits_per_key / 8))` bytes), as tables written before the blocked
    /// layout hold: for tests that the reader still reads them.
    #[cfg(test)]
    #[allow(clippy::indexing_slicing, reason = "an encoder: every index is below the length it allocated")]
    pub fn finish_classic(&self, bits_per_key: u32) -> Vec<u8> {
        let bits = self.key_count().saturating_mul(u64::from(bits_per_key));
        let bytes = usize::try_from(bits.div_ceil(8)).unwrap_or(usize::MAX).clamp(8, FILTER_BITS_MAX_BYTES);
        let probes = probes_for(bits_per_key);
        let mut block = vec![0u8; bytes + PROBES_FIELD_SIZE];
        let bit_count = (bytes * 8) as u32;
        for &hash in &self.hashes {
            for bit in probe_bits(hash, probes, bit_count) {
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
    /// The blocked layout (else classic).
    blocked: bool,
}

impl BloomFilter {
    /// Parses a filter block (already crc-checked) that starts at byte
    /// `offset` of `file`.
    pub fn parse(mut block: Vec<u8>, file: &str, offset: u64) -> Result<BloomFilter> {
        let corrupt = |reason: &str| Error::corruption(file, offset, reason);
        let last = block.pop().ok_or_else(|| corrupt("filter block is empty"))?;
        let (blocked, probes) = (last & BLOCKED != 0, last & !BLOCKED);
        if block.len() < FILTER_BITS_MIN_BYTES || block.len() > FILTER_BITS_MAX_BYTES {
            return Err(corrupt("filter bit array has an impossible size"));
        }
        if blocked && !block.len().is_multiple_of(BLOCK_BYTES) {
            return Err(corrupt("blocked filter is not a whole number of 64-byte blocks"));
        }
        if !(PROBES_MIN..=PROBES_MAX).contains(&probes) {
            return Err(corrupt("filter probe count out of range 1..=30"));
        }
        let bit_count = (block.len() * 8) as u32;
        Ok(BloomFilter { bits: block, probes, bit_count, blocked })
    }

    /// False only if `user_key` was certainly never added.
    #[must_use]
    pub fn may_contain(&self, user_key: &[u8]) -> bool {
        let hash = bloom_hash(user_key);
        // Every bit index is below `bit_count` so its byte exists; `get`
        // keeps this panic-free anyway.
        let set = |byte: usize, bit: u32| self.bits.get(byte).is_some_and(|b| b & (1 << (bit % 8)) != 0);
        if self.blocked {
            let (at, mut bits) = probe_block(hash, self.probes, self.bit_count / BLOCK_BITS);
            let base = at as usize * BLOCK_BYTES;
            bits.all(|bit| set(base + (bit / 8) as usize, bit))
        } else {
            probe_bits(hash, self.probes, self.bit_count).all(|bit| set((bit / 8) as usize, bit))
        }
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
        assert_eq!(bits_bytes_for(0, 10), 64);
        assert_eq!(bits_bytes_for(1, 10), 64);
        assert_eq!(bits_bytes_for(51, 10), 64);
        assert_eq!(bits_bytes_for(52, 10), 128);
        assert_eq!(bits_bytes_for(1000, 10), 1280);
        assert_eq!(filter_block_size(1000, 10), 1281);
        let mut builder = BloomBuilder::default();
        builder.add_key(b"k");
        let block = builder.finish(10);
        assert_eq!((block.len(), block[64]), (65, 0x80 | 7), "64 bytes of bits, then BLOCKED | probes");
        assert_eq!(block[..64].iter().map(|b| b.count_ones()).sum::<u32>(), 7, "7 distinct bits in one block");
    }

    /// No false negatives; and at 10 bits per key the false-positive rate on
    /// 10,000 absent keys stays under 2% (theory: about 0.8% classic, a
    /// little more blocked). Keys are fixed, so the measured rate is
    /// deterministic. Both layouts: tables written before the blocked one
    /// must read the same.
    #[test]
    fn no_false_negatives_and_low_false_positive_rate() {
        let present: Vec<Vec<u8>> = (0..10_000u32).map(|i| format!("key{i:08}").into_bytes()).collect();
        let mut builder = BloomBuilder::default();
        for key in &present {
            builder.add_key(key);
        }
        for (block, bytes) in [(builder.finish(10), 12_544), (builder.finish_classic(10), 12_500)] {
            let filter = BloomFilter::parse(block, "t.sst", 0).unwrap();
            assert!(present.iter().all(|key| filter.may_contain(key)));
            let false_positives =
                (0..10_000u32).filter(|i| filter.may_contain(format!("absent{i:08}").as_bytes())).count();
            assert!(false_positives < 200, "{false_positives} false positives in 10,000");
            let summary = filter.summary();
            assert_eq!(summary.bytes, bytes);
            assert_eq!(summary.probes, 7);
            assert!(summary.bits_set > 0 && summary.bits_set < summary.bits);
        }
    }

    /// The blocked probe sequence is frozen too: pin where one key's bits go.
    #[test]
    fn blocked_layout_is_frozen() {
        let hash = bloom_hash(b"a");
        let (block, bits) = probe_block(hash, 7, 1000);
        let bits: Vec<u32> = bits.collect();
        // Written out from FORMAT.md's rule rather than the code's copy.
        let expected_block = ((hash >> 32) * 1000) >> 32;
        let h1 = hash as u32;
        let step = h1.rotate_left(15) | 1;
        assert_eq!(u64::from(block), expected_block);
        assert_eq!(bits, (0..7u32).map(|j| h1.wrapping_add(j.wrapping_mul(step)) % 512).collect::<Vec<_>>());
        let mut distinct = bits.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 7, "an odd step never repeats a bit within 512");
    }

    /// Small filters and single keys still never miss, in either layout.
    #[test]
    fn tiny_filters_have_no_false_negatives() {
        for bits_per_key in 1..=32 {
            for count in 1..20u32 {
                let mut builder = BloomBuilder::default();
                let keys: Vec<Vec<u8>> = (0..count).map(|i| i.to_le_bytes().to_vec()).collect();
                for key in &keys {
                    builder.add_key(key);
                }
                for block in [builder.finish(bits_per_key), builder.finish_classic(bits_per_key)] {
                    let filter = BloomFilter::parse(block, "t.sst", 0).unwrap();
                    assert!(keys.iter().all(|key| filter.may_contain(key)));
                }
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
        // Blocked: whole 64-byte blocks only.
        assert!(BloomFilter::parse([vec![0; 8], vec![0x80 | 7]].concat(), "t", 5).is_err());
        assert!(BloomFilter::parse([vec![0; 100], vec![0x80 | 7]].concat(), "t", 5).is_err());
        assert!(BloomFilter::parse([vec![0; 64], vec![0x80]].concat(), "t", 5).is_err()); // 0 probes
        assert!(BloomFilter::parse([vec![0; 128], vec![0x80 | 7]].concat(), "t", 5).is_ok());
    }
}
