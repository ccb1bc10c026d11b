//! `IndexBlock`: a parsed index block, ready for searching — format 1's
//! whole-table index, formats 2 and 3's index partitions (one data block handle per
//! entry) and its top index (two handles per entry: the index partition and
//! the filter partition).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use alloc::vec::Vec;
use core::cmp::Ordering;

use crate::coding::Decoder;
use crate::error::{Error, Result};
use crate::key;

use super::block::{Block, EntryPos};
use super::{BlockHandle, HANDLE_SIZE};

/// An index block with its entries and handles decoded once, when it is read:
/// every get binary-searches them.
pub struct IndexBlock {
    block: Block,
    entries: Vec<EntryPos>,
    /// `width` handles per entry, entry after entry.
    handles: Vec<BlockHandle>,
    width: usize,
    /// The keys in a compact, cache-friendly form for the first stage of
    /// every search (see `IndexWords`).
    words: IndexWords,
}

impl IndexBlock {
    /// Decodes an index block (already validated) whose values hold `width`
    /// handles each.
    pub fn new(block: Block, width: usize) -> Result<IndexBlock> {
        let entries = block.entry_positions()?;
        let mut handles = Vec::with_capacity(entries.len() * width);
        for entry in &entries {
            let value = block.value(entry);
            if value.len() != width * HANDLE_SIZE {
                return Err(block.corruption("index value is not the handles it should hold"));
            }
            let mut decoder = Decoder::new(value, "", block.offset());
            for _ in 0..width {
                handles.push(BlockHandle::decode_from(&mut decoder).map_err(|_| block.corruption("bad handle"))?);
            }
        }
        let words = IndexWords::new(&block, &entries);
        Ok(IndexBlock { block, entries, handles, width, words })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The key and sequence number of entry `i`.
    pub fn key(&self, i: usize) -> Option<(&[u8], u64)> {
        self.entries.get(i).map(|entry| (self.block.key(entry), entry.seq))
    }

    /// Handle `slot` (0-based, below the width) of entry `i`.
    pub fn handle(&self, i: usize, slot: usize) -> Result<BlockHandle> {
        debug_assert!(slot < self.width);
        self.handles.get(i * self.width + slot).copied().ok_or_else(|| self.corruption("index entry out of range"))
    }

    /// Every entry's handle `slot`, in order.
    pub fn handles(&self, slot: usize) -> impl Iterator<Item = BlockHandle> + '_ {
        self.handles.iter().skip(slot).step_by(self.width).copied()
    }

    /// An error blaming this block.
    pub fn corruption(&self, reason: &str) -> Error {
        self.block.corruption(reason)
    }

    /// Bytes this index holds in memory, for the block cache's accounting.
    pub fn size_bytes(&self) -> usize {
        self.block.size_bytes()
            + self.entries.len() * core::mem::size_of::<EntryPos>()
            + self.handles.len() * core::mem::size_of::<BlockHandle>()
            + self.words.words.len() * 8
    }

    /// The first entry whose key is ≥ (user_key, seq); `len()` if none is.
    #[allow(clippy::indexing_slicing, reason = "candidates returns low <= high <= the entry count")]
    pub fn lower_bound(&self, user_key: &[u8], seq: u64) -> usize {
        let (low, high) = self.candidates(user_key);
        let undecided = &self.entries[low..high];
        low + undecided
            .partition_point(|entry| key::compare(self.block.key(entry), entry.seq, user_key, seq) == Ordering::Less)
    }

    /// The entries the words cannot order against `user_key`: every entry
    /// before `low` has a smaller user key, every entry from `high` on a
    /// larger one.
    fn candidates(&self, user_key: &[u8]) -> (usize, usize) {
        let IndexWords { common_len, words } = &self.words;
        let Some(first) = self.entries.first() else { return (0, 0) };
        // No index key is shorter than the common prefix (see `IndexWords::new`).
        let prefix = self.block.key(first).get(..*common_len).unwrap_or(&[]);
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
    fn new(index: &Block, entries: &[EntryPos]) -> IndexWords {
        let common_len = match (entries.first(), entries.last()) {
            (Some(first), Some(last)) => {
                let (first, last) = (index.key(first), index.key(last));
                first.iter().zip(last).take_while(|(a, b)| a == b).count()
            }
            _ => 0,
        };
        // The index block was verified strictly increasing when parsed, so
        // every key between the first and the last starts with their common
        // prefix: no key is shorter than it.
        let words = entries.iter().map(|entry| index_word(index.key(entry).get(common_len..).unwrap_or(&[]))).collect();
        IndexWords { common_len, words }
    }
}
