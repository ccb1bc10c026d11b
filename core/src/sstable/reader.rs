//! `Table`: an open table (footer, index, filter and properties verified
//! and held in memory) and `TableIter`, its cursor in either direction.
//!
//! Data blocks are read on demand, crc-checked, validated, and shared as
//! `Arc<Block>` through the `BlockCache`. Each block is also checked against
//! its index entry (its last key is the index key; its first key is above
//! the previous block's index key), so a table that passes every check is
//! globally sorted and a search can trust what it finds.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cmp::Ordering;

use crate::coding::{self, Decoder};
use crate::error::{Error, Result};
use crate::iterator::{Direction, EntryIter};
use crate::key::{self, ValueKind};
use crate::storage::Storage;

use super::block::{Block, BlockCursor, EntryPos};
use super::bloom::BloomFilter;
use super::cache::BlockCache;
use super::footer::Footer;
use super::{
    BlockHandle, BlockSummary, Found, InspectedEntry, Properties, TableInspection, BLOCK_TRAILER_SIZE, FOOTER_SIZE,
    HANDLE_SIZE, PROPERTIES_SIZE,
};

/// An open table: footer, index, filter and properties in memory.
pub struct Table {
    name: Arc<str>,
    number: u64,
    file_size: u64,
    footer: Footer,
    properties: Properties,
    filter: BloomFilter,
    /// The index block: entry i holds data block i's last key.
    index: Block,
    /// The index entries, decoded once at open: every get binary-searches them.
    index_entries: Vec<EntryPos>,
    /// Data block handles, decoded from the index values once at open.
    handles: Vec<BlockHandle>,
    /// The index keys in a compact, cache-friendly form for the first
    /// stage of every index search (see `IndexWords`).
    index_words: IndexWords,
}

/// Every index key, reduced to one `u64`: the index keys are sorted, so all
/// of them share the common prefix of the first and last; the 8 bytes after
/// that prefix (big-endian, zero-padded) order two keys correctly whenever
/// their words differ. A search first bisects these words (8 bytes per data
/// block, so a 64 MiB table's 16k-entry index fits in L2) and compares whole
/// keys only among the entries whose word ties with the target's.
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

/// Reads the block at `handle` and checks its crc; returns it without the crc.
fn read_checked(storage: &dyn Storage, file: &str, handle: BlockHandle) -> Result<Vec<u8>> {
    let size = handle.size as usize;
    let size_with_crc = size
        .checked_add(BLOCK_TRAILER_SIZE)
        .ok_or_else(|| Error::corruption(file, handle.offset, "block too large"))?;
    let mut buf = storage.read_vec(file, handle.offset, size_with_crc)?;
    let crc_bytes = buf.get(size..).and_then(|b| <[u8; 4]>::try_from(b).ok());
    let Some(crc_bytes) = crc_bytes else { return Err(Error::corruption(file, handle.offset, "block cut short")) };
    let stored_crc = u32::from_le_bytes(crc_bytes);
    buf.truncate(size);
    if coding::crc32(&buf) != stored_crc {
        return Err(Error::corruption(file, handle.offset, "block checksum mismatch"));
    }
    Ok(buf)
}

impl Table {
    /// Opens table file `name` (table number `number`) whose size the manifest
    /// recorded. Verifies footer, index, filter and properties.
    pub fn open(storage: &dyn Storage, name: &str, number: u64, file_size: u64) -> Result<Table> {
        let footer_offset = file_size
            .checked_sub(FOOTER_SIZE as u64)
            .ok_or_else(|| Error::corruption(name, 0, "file too short to hold a table footer"))?;
        let mut footer_bytes = [0u8; FOOTER_SIZE];
        storage.read_at(name, footer_offset, &mut footer_bytes)?;
        let footer = Footer::decode(&footer_bytes, name, footer_offset)?;
        check_layout(&footer, name, footer_offset)?;

        let file: Arc<str> = Arc::from(name);
        let properties_bytes = read_checked(storage, name, footer.properties)?;
        let properties = Properties::decode(&properties_bytes, name, footer.properties.offset)?;
        let filter = BloomFilter::parse(read_checked(storage, name, footer.filter)?, name, footer.filter.offset)?;
        let index = Block::parse(read_checked(storage, name, footer.index)?, Arc::clone(&file), footer.index.offset)?;
        let handles = decode_handles(&index, name, footer.filter.offset)?;
        if handles.len() as u64 != properties.data_block_count {
            return Err(Error::corruption(name, footer.properties.offset, "data block count disagrees with the index"));
        }
        let index_entries = index.entry_positions()?;
        let index_words = IndexWords::new(&index, &index_entries);
        Ok(Table {
            name: file,
            number,
            file_size,
            footer,
            properties,
            filter,
            index,
            index_entries,
            handles,
            index_words,
        })
    }

    #[cfg(test)]
    pub fn properties(&self) -> &Properties {
        &self.properties
    }

    /// False only if the bloom filter proves `user_key` is absent.
    pub fn may_contain(&self, user_key: &[u8]) -> bool {
        self.filter.may_contain(user_key)
    }

    /// The newest entry for `user_key` with `seq <= snapshot`, if any. Does
    /// not consult the bloom filter (callers do, to count its negatives).
    pub fn get(
        &self,
        storage: &dyn Storage,
        cache: &BlockCache,
        user_key: &[u8],
        snapshot: u64,
    ) -> Result<Option<Found>> {
        // The first entry ≥ (user_key, snapshot) is the newest visible
        // version if it has this user key. It lies in the first block whose
        // last key is ≥ the target (checked at block load).
        let block_index = self.index_lower_bound(user_key, snapshot);
        if block_index == self.handles.len() {
            return Ok(None);
        }
        let block = self.block(storage, Some(cache), block_index)?;
        let entry_index = block.lower_bound(user_key, snapshot)?;
        if entry_index == block.entry_count() {
            return Err(block.corruption("block holds no entry at or after its index key"));
        }
        let entry = block.entry(entry_index)?;
        if entry.user_key != user_key {
            return Ok(None);
        }
        Ok(Some(Found { seq: entry.seq, kind: entry.kind, value: entry.value.to_vec() }))
    }

    /// A cursor over the whole table in `direction`, unpositioned until `seek`.
    pub fn iter(
        self: &Arc<Self>,
        storage: Arc<dyn Storage>,
        cache: Arc<BlockCache>,
        direction: Direction,
    ) -> TableIter {
        TableIter { table: Arc::clone(self), storage, cache, direction, block_index: 0, cursor: None }
    }

    /// The first data block whose last key is ≥ (user_key, seq): the block
    /// holding the first entry ≥ that target. The block count if none is.
    #[allow(clippy::indexing_slicing, reason = "index_candidates returns low <= high <= the entry count")]
    fn index_lower_bound(&self, user_key: &[u8], seq: u64) -> usize {
        let (low, high) = self.index_candidates(user_key);
        let undecided = &self.index_entries[low..high];
        low + undecided
            .partition_point(|entry| key::compare(self.index.key(entry), entry.seq, user_key, seq) == Ordering::Less)
    }

    /// The index entries the words cannot order against `user_key`: every
    /// entry before `low` has a smaller user key, every entry from `high` on
    /// a larger one.
    fn index_candidates(&self, user_key: &[u8]) -> (usize, usize) {
        let IndexWords { common_len, words } = &self.index_words;
        let Some(first) = self.index_entries.first() else {
            return (0, 0);
        };
        // No index key is shorter than the common prefix (see `IndexWords::new`).
        let prefix = self.index.key(first).get(..*common_len).unwrap_or(&[]);
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

    /// Data block `index`, from the cache if given and present, else read,
    /// verified and (if a cache is given) cached.
    fn block(&self, storage: &dyn Storage, cache: Option<&BlockCache>, index: usize) -> Result<Arc<Block>> {
        let handle = *self.handles.get(index).ok_or_else(|| self.index.corruption("data block index out of range"))?;
        if let Some(block) = cache.and_then(|cache| cache.lookup(self.number, handle.offset)) {
            return Ok(block);
        }
        let data = read_checked(storage, &self.name, handle)?;
        let file = Arc::clone(&self.name);
        // The inspector (no cache) validates every entry; gets and scans trust the crc.
        let block = Arc::new(match cache {
            Some(_) => Block::parse_trusting_checksum(data, file, handle.offset)?,
            None => Block::parse(data, file, handle.offset)?,
        });
        self.check_block_against_index(&block, index)?;
        if let Some(cache) = cache {
            cache.insert(self.number, handle.offset, Arc::clone(&block));
        }
        Ok(block)
    }

    /// Block `index`'s keys must lie in (index key `index − 1`, index key `index`],
    /// its last key being exactly its index key.
    fn check_block_against_index(&self, block: &Block, index: usize) -> Result<()> {
        let last = block.entry(block.entry_count().saturating_sub(1))?;
        let index_entry = self.index.entry(index)?;
        if last.user_key != index_entry.user_key || last.seq != index_entry.seq {
            return Err(block.corruption("block's last key differs from its index entry"));
        }
        if let Some(previous_index) = index.checked_sub(1) {
            let first = block.entry(0)?;
            let previous = self.index.entry(previous_index)?;
            if key::compare(previous.user_key, previous.seq, first.user_key, first.seq) != Ordering::Less {
                return Err(block.corruption("block's first key is not above the previous block's"));
            }
        }
        Ok(())
    }

    /// Every block and entry, for the table inspector. Reads every block
    /// (bypassing the cache) and checks the properties against the entries.
    pub fn inspect(&self, storage: &dyn Storage) -> Result<TableInspection> {
        let mut blocks = Vec::with_capacity(self.handles.len());
        // Trust the recorded count only as far as the file could hold it:
        // every entry takes at least 8 bytes (its trailer).
        let possible = self.properties.entry_count.min(self.file_size / 8);
        let mut entries = Vec::with_capacity(usize::try_from(possible).unwrap_or(0));
        let mut counted = Properties { data_block_count: self.handles.len() as u64, ..Properties::default() };
        for (block_index, handle) in self.handles.iter().enumerate() {
            let block = self.block(storage, None, block_index)?;
            for entry_index in 0..block.entry_count() {
                let entry = block.entry(entry_index)?;
                counted.count_entry(entry.user_key.len(), entry.seq, entry.kind, entry.value.len());
                entries.push(InspectedEntry {
                    user_key: entry.user_key.to_vec(),
                    seq: entry.seq,
                    kind: entry.kind,
                    value: entry.value.to_vec(),
                    block: block_index as u32,
                });
            }
            blocks.push(BlockSummary {
                handle: *handle,
                entry_count: block.entry_count() as u32,
                first_key: block.entry(0)?.user_key.to_vec(),
                last_key: block.entry(block.entry_count() - 1)?.user_key.to_vec(),
            });
        }
        if counted != self.properties {
            return Err(Error::corruption(
                &self.name,
                self.footer.properties.offset,
                "properties disagree with the entries",
            ));
        }
        Ok(TableInspection {
            file_size: self.file_size,
            properties: self.properties.clone(),
            blocks,
            index_handle: self.footer.index,
            filter_handle: self.footer.filter,
            filter: self.filter.summary(),
            entries,
        })
    }
}

/// The file must be exactly: data blocks, filter, index, properties, footer,
/// each block followed by its crc. Checking this up front means no handle
/// can point outside its region.
fn check_layout(footer: &Footer, file: &str, footer_offset: u64) -> Result<()> {
    let follows = |first: BlockHandle, second_offset: u64| first.end_with_crc() == Some(second_offset);
    let laid_out = follows(footer.filter, footer.index.offset)
        && follows(footer.index, footer.properties.offset)
        && follows(footer.properties, footer_offset)
        && footer.properties.size as usize == PROPERTIES_SIZE;
    if !laid_out {
        return Err(Error::corruption(file, footer_offset, "footer handles do not match the table layout"));
    }
    Ok(())
}

/// Decodes the index values into handles, checking that the data blocks
/// tile the file from offset 0 up to the filter block.
fn decode_handles(index: &Block, file: &str, data_end: u64) -> Result<Vec<BlockHandle>> {
    let mut handles = Vec::with_capacity(index.entry_count());
    let mut expected_offset = 0u64;
    for entry_index in 0..index.entry_count() {
        let entry = index.entry(entry_index)?;
        if entry.value.len() != HANDLE_SIZE {
            return Err(index.corruption("index value is not a block handle"));
        }
        let handle = BlockHandle::decode_from(&mut Decoder::new(entry.value, file, index.offset()))?;
        if handle.offset != expected_offset {
            return Err(index.corruption("data block handles do not tile the data region"));
        }
        expected_offset = handle.end_with_crc().ok_or_else(|| index.corruption("data block handle overflows"))?;
        handles.push(handle);
    }
    if expected_offset != data_end {
        return Err(index.corruption("data blocks do not end where the filter starts"));
    }
    Ok(handles)
}

/// A cursor over one table; implements `EntryIter`. Owns what it needs, so it
/// can outlive any borrow of the table, storage or cache.
pub struct TableIter {
    table: Arc<Table>,
    storage: Arc<dyn Storage>,
    cache: Arc<BlockCache>,
    direction: Direction,
    /// The data block the cursor is in.
    block_index: usize,
    /// `None` before the first seek and once the table is exhausted.
    cursor: Option<BlockCursor>,
}

impl TableIter {
    /// A cursor (unpositioned) over data block `index`.
    fn open_block(&mut self, index: usize) -> Result<&mut BlockCursor> {
        let block = self.table.block(&*self.storage, Some(&self.cache), index)?;
        self.block_index = index;
        Ok(self.cursor.insert(BlockCursor::new(block)))
    }

    fn seek_forward(&mut self, target: Option<(&[u8], u64)>) -> Result<()> {
        match target {
            None => self.open_block(0)?.seek_first(),
            Some((user_key, seq)) => {
                let index = self.table.index_lower_bound(user_key, seq);
                if index == self.table.handles.len() {
                    return Ok(()); // every entry is smaller
                }
                let cursor = self.open_block(index)?;
                cursor.seek_ge(user_key, seq)?;
                if !cursor.valid() {
                    return Err(self.table.index.corruption("block holds no entry at or after its index key"));
                }
                Ok(())
            }
        }
    }

    fn seek_reverse(&mut self, target: Option<(&[u8], u64)>) -> Result<()> {
        let last_block = (self.table.handles.len().checked_sub(1))
            .ok_or_else(|| self.table.index.corruption("table has no data blocks"))?;
        match target {
            None => self.open_block(last_block)?.seek_last(),
            Some((user_key, seq)) => {
                // The last entry ≤ target is in the first block whose last key
                // is ≥ target, or else it is the previous block's last entry.
                let index = self.table.index_lower_bound(user_key, seq).min(last_block);
                let cursor = self.open_block(index)?;
                cursor.seek_le(user_key, seq)?;
                if !cursor.valid() {
                    self.step_to_previous_block()?;
                }
                Ok(())
            }
        }
    }

    /// After the cursor ran off the end of its block: the next block's first entry.
    fn step_to_next_block(&mut self) -> Result<()> {
        self.cursor = None;
        let next = self.block_index + 1;
        if next < self.table.handles.len() {
            self.open_block(next)?.seek_first()?;
        }
        Ok(())
    }

    /// After the cursor ran off the start of its block: the previous block's last entry.
    fn step_to_previous_block(&mut self) -> Result<()> {
        self.cursor = None;
        if let Some(previous) = self.block_index.checked_sub(1) {
            self.open_block(previous)?.seek_last()?;
        }
        Ok(())
    }

    /// One entry in the iterator's direction, crossing into the neighbouring
    /// block when the cursor runs off its own.
    #[allow(clippy::expect_used, reason = "EntryIter's contract: next only on a valid cursor (a caller bug)")]
    fn advance(&mut self) -> Result<()> {
        let cursor = self.cursor.as_mut().filter(|cursor| cursor.valid()).expect("TableIter::next while not valid");
        match self.direction {
            Direction::Forward => cursor.next()?,
            Direction::Reverse => cursor.prev()?,
        }
        if cursor.valid() {
            return Ok(());
        }
        match self.direction {
            Direction::Forward => self.step_to_next_block(),
            Direction::Reverse => self.step_to_previous_block(),
        }
    }

    #[allow(clippy::expect_used, reason = "EntryIter's contract: accessors only on a valid cursor (a caller bug)")]
    fn current(&self) -> &BlockCursor {
        self.cursor.as_ref().filter(|cursor| cursor.valid()).expect("TableIter read while not valid")
    }
}

impl EntryIter for TableIter {
    fn seek(&mut self, target: Option<(&[u8], u64)>) -> Result<()> {
        self.cursor = None;
        let result = match self.direction {
            Direction::Forward => self.seek_forward(target),
            Direction::Reverse => self.seek_reverse(target),
        };
        if result.is_err() {
            self.cursor = None; // an error leaves the cursor invalid, never half-positioned
        }
        result
    }

    fn next(&mut self) -> Result<()> {
        let result = self.advance();
        if result.is_err() {
            self.cursor = None;
        }
        result
    }

    fn valid(&self) -> bool {
        self.cursor.as_ref().is_some_and(BlockCursor::valid)
    }

    fn user_key(&self) -> &[u8] {
        self.current().user_key()
    }

    fn seq(&self) -> u64 {
        self.current().seq()
    }

    fn kind(&self) -> ValueKind {
        self.current().kind()
    }

    fn value(&self) -> &[u8] {
        self.current().value()
    }
}
