//! `IndexBlock`: a parsed index block, ready for searching — format 1's
//! whole-table index, formats 2 and 3's index partitions (one data block handle per
//! entry) and its top index (two handles per entry: the index partition and
//! the filter partition).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cmp::Ordering;

use crate::coding::Decoder;
use crate::error::{Error, Result};
use crate::key;

use super::block::Block;
use super::{BlockHandle, HANDLE_SIZE};

/// An index block decoded once, when it is read, into flat arrays that
/// every get binary-searches. The block's bytes are not kept: at 100M keys
/// the index partitions are most of what the partition cache holds, and
/// this layout takes about 48 bytes per entry (16-byte keys) where the
/// block plus a decoded position per entry took about 100.
pub struct IndexBlock {
    /// The user keys, back to back: entry i's ends at `key_ends[i]` and
    /// starts where entry i - 1's ends.
    keys: Vec<u8>,
    key_ends: Vec<u32>,
    seqs: Vec<u64>,
    /// `width` handles per entry, entry after entry.
    offsets: Vec<u64>,
    sizes: Vec<u32>,
    width: usize,
    /// The keys in a compact, cache-friendly form for the first stage of
    /// every search (see `IndexWords`).
    words: IndexWords,
    /// For error messages: the table file and the block's offset.
    file: Arc<str>,
    offset: u64,
}

impl IndexBlock {
    /// Decodes an index block (already validated) whose values hold `width`
    /// handles each.
    pub fn new(block: Block, width: usize) -> Result<IndexBlock> {
        let entries = block.entry_positions()?;
        let key_bytes: usize = entries.iter().map(|entry| block.key(entry).len()).sum();
        let mut keys = Vec::with_capacity(key_bytes);
        let mut key_ends = Vec::with_capacity(entries.len());
        let mut seqs = Vec::with_capacity(entries.len());
        let mut offsets = Vec::with_capacity(entries.len() * width);
        let mut sizes = Vec::with_capacity(entries.len() * width);
        for entry in &entries {
            keys.extend_from_slice(block.key(entry));
            // The keys came out of one block, whose size fits a u32 handle.
            key_ends.push(u32::try_from(keys.len()).map_err(|_| block.corruption("index keys overflow"))?);
            seqs.push(entry.seq);
            let value = block.value(entry);
            if value.len() != width * HANDLE_SIZE {
                return Err(block.corruption("index value is not the handles it should hold"));
            }
            let mut decoder = Decoder::new(value, "", block.offset());
            for _ in 0..width {
                let handle = BlockHandle::decode_from(&mut decoder).map_err(|_| block.corruption("bad handle"))?;
                offsets.push(handle.offset);
                sizes.push(handle.size);
            }
        }
        let mut index = IndexBlock {
            keys,
            key_ends,
            seqs,
            offsets,
            sizes,
            width,
            words: IndexWords { common_len: 0, words: Vec::new() },
            file: block.file().clone(),
            offset: block.offset(),
        };
        index.words = IndexWords::new(&index);
        Ok(index)
    }

    pub fn len(&self) -> usize {
        self.seqs.len()
    }

    /// The user key of entry `i` (empty past the end; callers stay below `len`).
    fn user_key(&self, i: usize) -> &[u8] {
        let start = match i.checked_sub(1) {
            Some(previous) => self.key_ends.get(previous).map_or(0, |&end| end as usize),
            None => 0,
        };
        let end = self.key_ends.get(i).map_or(start, |&end| end as usize);
        self.keys.get(start..end).unwrap_or(&[])
    }

    /// The key and sequence number of entry `i`.
    pub fn key(&self, i: usize) -> Option<(&[u8], u64)> {
        self.seqs.get(i).map(|&seq| (self.user_key(i), seq))
    }

    /// Handle `slot` (0-based, below the width) of entry `i`.
    pub fn handle(&self, i: usize, slot: usize) -> Result<BlockHandle> {
        debug_assert!(slot < self.width);
        let at = i * self.width + slot;
        match (self.offsets.get(at), self.sizes.get(at)) {
            (Some(&offset), Some(&size)) => Ok(BlockHandle { offset, size }),
            _ => Err(self.corruption("index entry out of range")),
        }
    }

    /// Every entry's handle `slot`, in order.
    pub fn handles(&self, slot: usize) -> impl Iterator<Item = BlockHandle> + '_ {
        let offsets = self.offsets.iter().skip(slot).step_by(self.width);
        let sizes = self.sizes.iter().skip(slot).step_by(self.width);
        offsets.zip(sizes).map(|(&offset, &size)| BlockHandle { offset, size })
    }

    /// An error blaming this block.
    pub fn corruption(&self, reason: &str) -> Error {
        Error::corruption(&self.file, self.offset, reason)
    }

    /// Bytes this index holds in memory, for the block cache's accounting.
    pub fn size_bytes(&self) -> usize {
        core::mem::size_of::<Self>()
            + self.keys.len()
            + self.key_ends.len() * 4
            + self.seqs.len() * 8
            + self.offsets.len() * 8
            + self.sizes.len() * 4
            + self.words.words.len() * 8
    }

    /// The first entry whose key is ≥ (user_key, seq); `len()` if none is.
    pub fn lower_bound(&self, user_key: &[u8], seq: u64) -> usize {
        let (mut low, mut high) = self.candidates(user_key);
        // Bisect the undecided entries on whole keys.
        while low < high {
            let mid = low + (high - low) / 2;
            let mid_seq = self.seqs.get(mid).copied().unwrap_or(0);
            if key::compare(self.user_key(mid), mid_seq, user_key, seq) == Ordering::Less {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        low
    }

    /// The entries the words cannot order against `user_key`: every entry
    /// before `low` has a smaller user key, every entry from `high` on a
    /// larger one.
    fn candidates(&self, user_key: &[u8]) -> (usize, usize) {
        let IndexWords { common_len, words } = &self.words;
        if self.len() == 0 {
            return (0, 0);
        }
        // No index key is shorter than the common prefix (see `IndexWords::new`).
        let prefix = self.user_key(0).get(..*common_len).unwrap_or(&[]);
        let head = user_key.get(..prefix.len()).unwrap_or(user_key);
        match head.cmp(prefix) {
            // Below the shared prefix (or a proper prefix of it): before every entry.
            Ordering::Less => (0, 0),
            Ordering::Greater => (words.len(), words.len()),
            Ordering::Equal => {
                // Equal: `user_key` starts with the whole prefix.
                let target = index_word(user_key.get(prefix.len()..).unwrap_or(&[]));
                let low = words.partition_point(|&word| word < target);
                let high = low + words.get(low..).unwrap_or(&[]).partition_point(|&word| word == target);
                (low, high)
            }
        }
    }
}

/// Every index key, reduced to one `u64`: the index keys are sorted, so all
/// of them share the common prefix of the first and last; the 8 bytes after
/// that prefix (big-endian, zero-padded) order two keys correctly whenever
/// their words differ. A search first bisects these words (8 bytes per
/// entry, so even a large index fits in L2) and compares whole keys only
/// among the entries whose word ties with the target's.
struct IndexWords {
    /// Length of the user-key prefix every index key shares.
    common_len: usize,
    words: Vec<u64>,
}

/// Bytes of a key, after the common prefix, that an index word holds.
const INDEX_WORD_BYTES: usize = 8;

/// `bytes[..8]` as a big-endian u64, zero-padded if shorter.
fn index_word(bytes: &[u8]) -> u64 {
    let mut word = [0u8; INDEX_WORD_BYTES];
    for (to, from) in word.iter_mut().zip(bytes) {
        *to = *from;
    }
    u64::from_be_bytes(word)
}

impl IndexWords {
    fn new(index: &IndexBlock) -> IndexWords {
        let count = index.len();
        let common_len = match count.checked_sub(1) {
            Some(last) => {
                let (first, last) = (index.user_key(0), index.user_key(last));
                first.iter().zip(last).take_while(|(a, b)| a == b).count()
            }
            None => 0,
        };
        // The index block was verified strictly increasing when parsed, so
        // every key between the first and the last starts with their common
        // prefix: no key is shorter than it.
        let words = (0..count).map(|i| index_word(index.user_key(i).get(common_len..).unwrap_or(&[]))).collect();
        IndexWords { common_len, words }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::key::{pack_trailer, ValueKind};
    use crate::sstable::block::BlockBuilder;

    /// An index of `keys` (sorted in internal-key order), entry i naming
    /// `width` handles (offset i * 100 + slot, size i).
    fn index_of(keys: &[(Vec<u8>, u64)], width: usize, interval: usize) -> IndexBlock {
        let mut builder = BlockBuilder::new(interval);
        for (i, (key, seq)) in keys.iter().enumerate() {
            let mut value = Vec::new();
            for slot in 0..width {
                BlockHandle { offset: (i * 100 + slot) as u64, size: i as u32 }.encode_to(&mut value);
            }
            builder.add(key, pack_trailer(*seq, ValueKind::Put), &value);
        }
        let block = Block::parse(builder.finish().clone(), interval, Arc::from("t.sst"), 0).unwrap();
        IndexBlock::new(block, width).unwrap()
    }

    /// Keys that tie on their words (a common prefix, then 8 equal bytes),
    /// proper prefixes of other keys, and one user key at several seqs:
    /// `lower_bound` agrees with a linear scan for targets between, on and
    /// around every key, and every key and handle reads back.
    #[test]
    fn lower_bound_agrees_with_a_linear_scan() {
        let mut keys: Vec<(Vec<u8>, u64)> = Vec::new();
        for tail in [&b""[..], b"a", b"abcdefgh", b"abcdefgh1", b"abcdefgh2", b"abcdefghi", b"b", b"zz"] {
            let user_key = [&b"prefix/"[..], tail].concat();
            keys.push((user_key.clone(), 9));
            if tail == b"abcdefgh1" {
                keys.push((user_key.clone(), 5));
                keys.push((user_key, 2));
            }
        }
        keys.sort_by(|a, b| key::compare(&a.0, a.1, &b.0, b.1));
        for interval in [1, 16] {
            let index = index_of(&keys, 2, interval);
            assert_eq!(index.len(), keys.len());
            for (i, (key, seq)) in keys.iter().enumerate() {
                assert_eq!(index.key(i), Some((&key[..], *seq)));
                assert_eq!(index.handle(i, 1).unwrap(), BlockHandle { offset: (i * 100 + 1) as u64, size: i as u32 });
            }
            assert_eq!(index.key(keys.len()), None);
            assert!(index.handle(keys.len(), 0).is_err());
            assert_eq!(index.handles(0).count(), keys.len());
            let mut targets: Vec<(Vec<u8>, u64)> = Vec::new();
            for (key, seq) in &keys {
                for s in [seq + 1, *seq, seq.saturating_sub(1), 0, u64::MAX] {
                    targets.push((key.clone(), s));
                }
                targets.push(([&key[..], b"\0"].concat(), 0));
                targets.push((key[..key.len() - 1].to_vec(), 3));
            }
            targets.push((b"a".to_vec(), 1));
            targets.push((b"zzz".to_vec(), 1));
            for (target, seq) in &targets {
                let expected = keys.iter().position(|(k, s)| key::compare(k, *s, target, *seq) != Ordering::Less);
                assert_eq!(index.lower_bound(target, *seq), expected.unwrap_or(keys.len()), "target {target:?}@{seq}");
            }
        }
    }

    /// About 48 bytes per entry of 16-byte keys, however many entries.
    #[test]
    fn an_entry_of_a_16_byte_key_takes_under_56_bytes() {
        let keys: Vec<(Vec<u8>, u64)> = (0..1000u64).map(|i| ((i * 7919).to_be_bytes().repeat(2), 1)).collect();
        let mut keys = keys;
        keys.sort();
        let index = index_of(&keys, 1, 16);
        let per_entry = (index.size_bytes() - core::mem::size_of::<IndexBlock>()) / keys.len();
        assert!(per_entry < 56, "{per_entry} bytes per entry");
    }
}
