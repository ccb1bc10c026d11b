//! `Table`: an open table of format 1, 2 or 3, and `TableIter`, its cursor in
//! either direction.
//!
//! Every format is read as a sequence of *partitions*: format 1 is one
//! partition (its whole index and filter, held in memory); formats 2 and 3 have a
//! top index in memory and reads each partition's index and filter through
//! the `BlockCache` when first needed, so what an open table holds in memory
//! does not grow with its size. Data blocks are read on demand, checked,
//! and shared as `Arc<Block>` through the same cache. Every block is checked
//! against the index that names it (its last key is its index key, its first
//! key lies above the previous block's), and every partition against the
//! top index, so a table that passes the checks is globally sorted and a
//! search can trust what it finds.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cmp::Ordering;

use crate::error::{Error, Result};
use crate::iterator::{Direction, EntryIter};
use crate::key::{self, ValueKind};
use crate::storage::Storage;

use super::block::{Block, BlockCursor};
use super::bloom::BloomFilter;
use super::cache::{BlockCache, Cached, Pool};
use super::footer::Footer;
use super::index::IndexBlock;
use super::stored;
use super::{
    BlockHandle, BlockSummary, FilterSummary, FormatVersion, Found, InspectedEntry, Properties, TableInspection,
    FOOTER_SIZE,
};

/// What a table says about a key.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Its filter proves the key absent: no block was read.
    Filtered,
    /// Searched; no version visible at the snapshot.
    Absent,
    Found(Found),
}

/// How a table's partitions are reached.
enum Layout {
    /// Format 1: one partition, its index and filter in memory.
    Whole { index: Arc<IndexBlock>, filter: Arc<BloomFilter>, index_handle: BlockHandle, filter_handle: BlockHandle },
    /// Format 2: the top index in memory (entry i: partition i's last key,
    /// its index handle, its filter handle); partitions through the cache.
    Partitioned { top: IndexBlock, top_handle: BlockHandle },
}

/// An open table.
pub struct Table {
    name: Arc<str>,
    number: u64,
    file_size: u64,
    version: FormatVersion,
    properties: Properties,
    /// Where the data blocks end (the filter region starts).
    data_end: u64,
    layout: Layout,
}

impl Table {
    /// Opens table file `name` (table number `number`) whose size the manifest
    /// recorded. Verifies the footer, the layout, the properties and, in
    /// format 1, the index and filter; in formats 2 and 3, the top index.
    pub fn open(storage: &dyn Storage, name: &str, number: u64, file_size: u64) -> Result<Table> {
        let footer_offset = file_size
            .checked_sub(FOOTER_SIZE as u64)
            .ok_or_else(|| Error::corruption(name, 0, "file too short to hold a table footer"))?;
        let mut footer_bytes = [0u8; FOOTER_SIZE];
        storage.read_at(name, footer_offset, &mut footer_bytes)?;
        let footer = Footer::decode(&footer_bytes, name, footer_offset)?;
        let version = footer.version();
        let file: Arc<str> = Arc::from(name);
        let properties_handle = footer.properties();
        let follows = |first: BlockHandle, second: u64| first.end_with_trailer(version) == Some(second);
        if !follows(properties_handle, footer_offset) || properties_handle.size as usize != version.properties_size() {
            return Err(Error::corruption(name, footer_offset, "footer handles do not match the table layout"));
        }
        let properties_bytes = stored::read_raw(storage, name, properties_handle, version)?;
        let properties = Properties::decode(&properties_bytes, name, properties_handle.offset, version)?;
        let (layout, data_end) = match footer {
            Footer::V1 { index, filter, .. } => {
                let laid_out = follows(filter, index.offset) && follows(index, properties_handle.offset);
                if !laid_out {
                    return Err(Error::corruption(name, footer_offset, "footer handles do not match the table layout"));
                }
                let bloom = BloomFilter::parse(stored::read_raw(storage, name, filter, version)?, name, filter.offset)?;
                let block = Block::parse(
                    stored::read_raw(storage, name, index, version)?,
                    version.restart_interval(),
                    file.clone(),
                    index.offset,
                )?;
                let whole = IndexBlock::new(block, 1)?;
                check_data_handles(&whole, Some(0), filter.offset, true, version)?;
                if whole.len() as u64 != properties.data_block_count {
                    return Err(Error::corruption(
                        name,
                        properties_handle.offset,
                        "data block count disagrees with the index",
                    ));
                }
                let layout = Layout::Whole {
                    index: Arc::new(whole),
                    filter: Arc::new(bloom),
                    index_handle: index,
                    filter_handle: filter,
                };
                (layout, filter.offset)
            }
            Footer::Partitioned { top_index, filters_start, partitions, .. } => {
                if !follows(top_index, properties_handle.offset) {
                    return Err(Error::corruption(name, footer_offset, "footer handles do not match the table layout"));
                }
                let bytes = stored::read_raw(storage, name, top_index, version)?;
                let block = Block::parse(bytes, version.restart_interval(), file.clone(), top_index.offset)?;
                let top = IndexBlock::new(block, 2)?;
                if top.len() != partitions as usize || top.len() as u64 > properties.data_block_count {
                    return Err(top.corruption("partition count disagrees with the top index"));
                }
                // Filter partitions tile [filters_start, first index partition),
                // index partitions tile up to the top index.
                let filters_end = tile(&top, 1, filters_start, version)?;
                let indexes_end = tile(&top, 0, filters_end, version)?;
                if indexes_end != top_index.offset {
                    return Err(top.corruption("index partitions do not end where the top index starts"));
                }
                (Layout::Partitioned { top, top_handle: top_index }, filters_start)
            }
        };
        Ok(Table { name: file, number, file_size, version, properties, data_end, layout })
    }

    /// Bytes this open table holds in memory outside the block cache.
    pub fn memory_bytes(&self) -> usize {
        let layout = match &self.layout {
            Layout::Whole { index, filter, .. } => index.size_bytes() + filter.size_bytes(),
            Layout::Partitioned { top, .. } => top.size_bytes(),
        };
        core::mem::size_of::<Table>() + self.name.len() + layout
    }

    #[cfg(test)]
    pub fn properties(&self) -> &Properties {
        &self.properties
    }

    fn partition_count(&self) -> usize {
        match &self.layout {
            Layout::Whole { .. } => 1,
            Layout::Partitioned { top, .. } => top.len(),
        }
    }

    /// The only partition that can hold the first entry ≥ (user_key, seq);
    /// `None` if every entry of the table is smaller.
    fn partition_for(&self, user_key: &[u8], seq: u64) -> Option<usize> {
        match &self.layout {
            Layout::Whole { .. } => Some(0),
            Layout::Partitioned { top, .. } => Some(top.lower_bound(user_key, seq)).filter(|&p| p < top.len()),
        }
    }

    /// Format 1's index and filter, held in memory.
    #[allow(clippy::panic, reason = "called only on the format-1 layout")]
    fn whole(&self) -> (&Arc<IndexBlock>, &Arc<BloomFilter>) {
        match &self.layout {
            Layout::Whole { index, filter, .. } => (index, filter),
            Layout::Partitioned { .. } => panic!("a partitioned table has no whole index"),
        }
    }

    /// Partition `p`'s filter, from memory or the cache, else read.
    fn filter(&self, storage: &dyn Storage, cache: Option<&BlockCache>, p: usize) -> Result<Arc<BloomFilter>> {
        let Layout::Partitioned { top, .. } = &self.layout else { return Ok(self.whole().1.clone()) };
        let handle = top.handle(p, 1)?;
        self.cached(cache, true, Pool::Partitions, handle, Cached::filter, Cached::Filter, || {
            let bytes = stored::read_raw(storage, &self.name, handle, self.version)?;
            BloomFilter::parse(bytes, &self.name, handle.offset)
        })
    }

    /// The block at `handle` from the cache's `pool`, else made by `load` (and cached).
    #[allow(clippy::too_many_arguments, reason = "one caller per block kind, each naming its kind's pieces")]
    fn cached<T>(
        &self,
        cache: Option<&BlockCache>,
        fill: bool,
        pool: Pool,
        handle: BlockHandle,
        unwrap: fn(Cached) -> Option<Arc<T>>,
        wrap: fn(Arc<T>) -> Cached,
        load: impl FnOnce() -> Result<T>,
    ) -> Result<Arc<T>> {
        if let Some(found) = cache.and_then(|cache| cache.lookup(pool, self.number, handle.offset)).and_then(unwrap) {
            return Ok(found);
        }
        let loaded = Arc::new(load()?);
        if let Some(cache) = cache.filter(|_| fill) {
            cache.insert(self.number, handle.offset, wrap(loaded.clone()));
        }
        Ok(loaded)
    }

    /// Partition `p`'s index, from memory or the cache, else read and
    /// checked against the top index.
    fn index(&self, storage: &dyn Storage, cache: Option<&BlockCache>, p: usize) -> Result<Arc<IndexBlock>> {
        let Layout::Partitioned { top, .. } = &self.layout else { return Ok(self.whole().0.clone()) };
        let handle = top.handle(p, 0)?;
        self.cached(cache, true, Pool::Partitions, handle, Cached::index, Cached::Index, || {
            let bytes = stored::read_raw(storage, &self.name, handle, self.version)?;
            let block = Block::parse(bytes, self.version.restart_interval(), self.name.clone(), handle.offset)?;
            let index = IndexBlock::new(block, 1)?;
            check_partition(&index, p.checked_sub(1).and_then(|q| top.key(q)), top.key(p))?;
            let last = p + 1 == top.len();
            check_data_handles(&index, (p == 0).then_some(0), self.data_end, last, self.version)?;
            Ok(index)
        })
    }

    /// The key bounding partition `p` from below: the previous partition's
    /// last key (every key of `p` lies above it).
    fn partition_floor(&self, p: usize) -> Option<(&[u8], u64)> {
        match &self.layout {
            Layout::Whole { .. } => None,
            Layout::Partitioned { top, .. } => p.checked_sub(1).and_then(|q| top.key(q)),
        }
    }

    /// What the table holds for `user_key` at `snapshot`: the newest entry
    /// with `seq <= snapshot`, if its partition's filter does not rule the
    /// key out.
    pub fn get(&self, storage: &dyn Storage, cache: &BlockCache, user_key: &[u8], snapshot: u64) -> Result<Lookup> {
        // The first entry ≥ (user_key, snapshot) is the newest visible
        // version if it has this user key; it lies in one partition, in the
        // first block whose last key is ≥ the target (checked at block load).
        let Some(p) = self.partition_for(user_key, snapshot) else { return Ok(Lookup::Absent) };
        if !self.filter(storage, Some(cache), p)?.may_contain(user_key) {
            return Ok(Lookup::Filtered);
        }
        let index = self.index(storage, Some(cache), p)?;
        let i = index.lower_bound(user_key, snapshot);
        if i == index.len() {
            return Ok(Lookup::Absent);
        }
        let block = self.data_block(storage, Some(cache), true, p, &index, i)?;
        let Some(entry) = block.first_at_or_after(user_key, snapshot)? else {
            return Err(block.corruption("block holds no entry at or after its index key"));
        };
        if entry.user_key != user_key {
            return Ok(Lookup::Absent);
        }
        Ok(Lookup::Found(Found { seq: entry.seq, kind: entry.kind, value: entry.value.to_vec() }))
    }

    /// A cursor over the whole table in `direction`, unpositioned until `seek`.
    pub fn iter(
        self: &Arc<Self>,
        storage: Arc<dyn Storage>,
        cache: Arc<BlockCache>,
        direction: Direction,
    ) -> TableIter {
        TableIter { table: Arc::clone(self), storage, cache, fill_cache: true, direction, at: None, cursor: None }
    }

    /// Data block `i` of partition `p` (whose index is `index`), from the
    /// cache if given and present, else read, checked and (if a cache is
    /// given) cached.
    fn data_block(
        &self,
        storage: &dyn Storage,
        cache: Option<&BlockCache>,
        fill_cache: bool,
        p: usize,
        index: &IndexBlock,
        i: usize,
    ) -> Result<Arc<Block>> {
        let handle = index.handle(i, 0)?;
        self.cached(cache, fill_cache, Pool::Data, handle, Cached::data, Cached::Data, || {
            let data = stored::read(storage, &self.name, handle, self.version)?;
            let file = Arc::clone(&self.name);
            // The inspector (no cache) validates every entry; gets and scans trust the crc.
            let interval = self.version.restart_interval();
            let block = match cache {
                Some(_) => Block::parse_trusting_checksum(data, interval, file, handle.offset)?,
                None => Block::parse(data, interval, file, handle.offset)?,
            };
            let floor = match i.checked_sub(1) {
                Some(previous) => index.key(previous),
                None => self.partition_floor(p),
            };
            check_block(&block, floor, index.key(i))?;
            Ok(block)
        })
    }

    /// Every block and entry, for the table inspector. Reads every partition
    /// and block (bypassing the cache) and checks the properties against the
    /// entries.
    pub fn inspect(&self, storage: &dyn Storage) -> Result<TableInspection> {
        let mut blocks = Vec::new();
        // Trust the recorded count only as far as the file could hold it:
        // every entry takes at least 8 bytes (its trailer).
        let possible = self.properties.entry_count.min(self.file_size / 8);
        let mut entries = Vec::with_capacity(usize::try_from(possible).unwrap_or(0));
        let mut counted = Properties { compression: self.properties.compression, ..Properties::default() };
        let mut filter = FilterSummary { bytes: 0, bits: 0, bits_set: 0, probes: 0 };
        for p in 0..self.partition_count() {
            filter = filter.plus(&self.filter(storage, None, p)?.summary());
            let index = self.index(storage, None, p)?;
            for i in 0..index.len() {
                let block = self.data_block(storage, None, false, p, &index, i)?;
                let block_number = blocks.len() as u32;
                for entry_index in 0..block.entry_count() {
                    let entry = block.entry(entry_index)?;
                    counted.count_entry(entry.user_key.len(), entry.seq, entry.kind, entry.value.len());
                    entries.push(InspectedEntry {
                        user_key: entry.user_key.to_vec(),
                        seq: entry.seq,
                        kind: entry.kind,
                        value: entry.value.to_vec(),
                        block: block_number,
                    });
                }
                counted.data_block_count += 1;
                blocks.push(BlockSummary {
                    handle: index.handle(i, 0)?,
                    raw_size: block.size_bytes() as u32,
                    entry_count: block.entry_count() as u32,
                    first_key: block.entry(0)?.user_key.to_vec(),
                    last_key: block.entry(block.entry_count().saturating_sub(1))?.user_key.to_vec(),
                });
            }
        }
        if counted != self.properties {
            return Err(Error::corruption(&self.name, self.data_end, "properties disagree with the entries"));
        }
        let (index_handle, filter_handle) = match &self.layout {
            Layout::Whole { index_handle, filter_handle, .. } => (*index_handle, *filter_handle),
            Layout::Partitioned { top, top_handle, .. } => (*top_handle, top.handle(0, 1)?),
        };
        Ok(TableInspection {
            file_size: self.file_size,
            format: self.version.number(),
            properties: self.properties.clone(),
            blocks,
            index_handle,
            filter_handle,
            partitions: self.partition_count() as u32,
            filter,
            entries,
        })
    }
}

/// Checks that handle `slot` of `index`'s entries lays blocks end to end
/// from `start`; returns where the last ends.
fn tile(index: &IndexBlock, slot: usize, start: u64, version: FormatVersion) -> Result<u64> {
    let mut at = start;
    for handle in index.handles(slot) {
        if handle.offset != at {
            return Err(index.corruption("partitions do not tile their region"));
        }
        at = handle.end_with_trailer(version).ok_or_else(|| index.corruption("partition handle overflows"))?;
    }
    Ok(at)
}

/// The data blocks an index names lie end to end inside the data region
/// (below `data_end`): from `start` when known, up to `data_end` exactly
/// when `to_end` (the table's last index).
fn check_data_handles(
    index: &IndexBlock,
    start: Option<u64>,
    data_end: u64,
    to_end: bool,
    version: FormatVersion,
) -> Result<()> {
    let Some(first) = index.handles(0).next() else { return Err(index.corruption("index has no entries")) };
    let end = tile(index, 0, start.unwrap_or(first.offset), version)?;
    if end > data_end || (to_end && end != data_end) {
        return Err(index.corruption("data blocks do not tile the data region"));
    }
    Ok(())
}

/// A partition's keys must lie in (floor, last]: its first key above the
/// previous partition's last, its last key exactly its top-index entry.
fn check_partition(index: &IndexBlock, floor: Option<(&[u8], u64)>, last: Option<(&[u8], u64)>) -> Result<()> {
    let (Some(first), Some(own_last)) = (index.key(0), index.key(index.len().saturating_sub(1))) else {
        return Err(index.corruption("index has no entries"));
    };
    if Some(own_last) != last {
        return Err(index.corruption("partition's last key differs from its top-index entry"));
    }
    if let Some((floor_key, floor_seq)) = floor {
        if key::compare(floor_key, floor_seq, first.0, first.1) != Ordering::Less {
            return Err(index.corruption("partition's first key is not above the previous partition's"));
        }
    }
    Ok(())
}

/// A data block's keys must lie in (floor, last]: its last key exactly its
/// index key, its first above the previous block's.
fn check_block(block: &Block, floor: Option<(&[u8], u64)>, last: Option<(&[u8], u64)>) -> Result<()> {
    let own_last = block.entry(block.entry_count().saturating_sub(1))?;
    if Some((own_last.user_key, own_last.seq)) != last {
        return Err(block.corruption("block's last key differs from its index entry"));
    }
    if let Some((floor_key, floor_seq)) = floor {
        let first = block.entry(0)?;
        if key::compare(floor_key, floor_seq, first.user_key, first.seq) != Ordering::Less {
            return Err(block.corruption("block's first key is not above the previous block's"));
        }
    }
    Ok(())
}

impl FilterSummary {
    /// Two filters' figures together (partitions of one table).
    fn plus(&self, other: &FilterSummary) -> FilterSummary {
        FilterSummary {
            bytes: self.bytes.saturating_add(other.bytes),
            bits: self.bits.saturating_add(other.bits),
            bits_set: self.bits_set.saturating_add(other.bits_set),
            probes: self.probes.max(other.probes),
        }
    }
}

/// A cursor over one table; implements `EntryIter`. Owns what it needs, so it
/// can outlive any borrow of the table, storage or cache.
pub struct TableIter {
    table: Arc<Table>,
    storage: Arc<dyn Storage>,
    cache: Arc<BlockCache>,
    /// Whether data blocks read from storage go into the cache (not for a
    /// compaction's inputs: read once, they would only evict what readers use).
    fill_cache: bool,
    direction: Direction,
    /// The partition the cursor is in (its number and index) and the data
    /// block within it.
    at: Option<(usize, Arc<IndexBlock>, usize)>,
    /// `None` before the first seek and once the table is exhausted.
    cursor: Option<BlockCursor>,
}

impl TableIter {
    /// This cursor finds data blocks in the cache but does not add those it
    /// reads (index and filter partitions are still cached).
    pub fn without_filling_cache(mut self) -> Self {
        self.fill_cache = false;
        self
    }

    /// A cursor (unpositioned) over data block `i` of partition `p`.
    fn open_block(&mut self, p: usize, index: Arc<IndexBlock>, i: usize) -> Result<&mut BlockCursor> {
        let block = self.table.data_block(&*self.storage, Some(&self.cache), self.fill_cache, p, &index, i)?;
        self.at = Some((p, index, i));
        Ok(self.cursor.insert(BlockCursor::new(block)))
    }

    fn index(&self, p: usize) -> Result<Arc<IndexBlock>> {
        self.table.index(&*self.storage, Some(&self.cache), p)
    }

    fn seek_forward(&mut self, target: Option<(&[u8], u64)>) -> Result<()> {
        match target {
            None => {
                let index = self.index(0)?;
                self.open_block(0, index, 0)?.seek_first()
            }
            Some((user_key, seq)) => {
                let Some(p) = self.table.partition_for(user_key, seq) else { return Ok(()) };
                let index = self.index(p)?;
                let i = index.lower_bound(user_key, seq);
                if i == index.len() {
                    return Ok(()); // every entry is smaller
                }
                let cursor = self.open_block(p, index, i)?;
                cursor.seek_ge(user_key, seq)?;
                if !cursor.valid() {
                    return Err(Error::corruption(
                        &self.table.name,
                        0,
                        "block holds no entry at or after its index key",
                    ));
                }
                Ok(())
            }
        }
    }

    fn seek_reverse(&mut self, target: Option<(&[u8], u64)>) -> Result<()> {
        let last_partition = self.table.partition_count().saturating_sub(1);
        match target {
            None => {
                let index = self.index(last_partition)?;
                let last = index.len().saturating_sub(1);
                self.open_block(last_partition, index, last)?.seek_last()
            }
            Some((user_key, seq)) => {
                // The last entry ≤ target is in the first block whose last key
                // is ≥ target, or else it is the previous block's last entry.
                let p = self.table.partition_for(user_key, seq).unwrap_or(last_partition).min(last_partition);
                let index = self.index(p)?;
                let i = index.lower_bound(user_key, seq).min(index.len().saturating_sub(1));
                let cursor = self.open_block(p, index, i)?;
                cursor.seek_le(user_key, seq)?;
                if !cursor.valid() {
                    self.step_to_previous_block()?;
                }
                Ok(())
            }
        }
    }

    /// After the cursor ran off the end of its block: the next block's first
    /// entry (in the next partition after a partition's last block).
    fn step_to_next_block(&mut self) -> Result<()> {
        self.cursor = None;
        let Some((p, index, i)) = self.at.take() else { return Ok(()) };
        if i + 1 < index.len() {
            self.open_block(p, index, i + 1)?.seek_first()?;
        } else if p + 1 < self.table.partition_count() {
            let next = self.index(p + 1)?;
            self.open_block(p + 1, next, 0)?.seek_first()?;
        }
        Ok(())
    }

    /// After the cursor ran off the start of its block: the previous block's
    /// last entry (in the previous partition after a partition's first).
    fn step_to_previous_block(&mut self) -> Result<()> {
        self.cursor = None;
        let Some((p, index, i)) = self.at.take() else { return Ok(()) };
        if let Some(previous) = i.checked_sub(1) {
            self.open_block(p, index, previous)?.seek_last()?;
        } else if let Some(q) = p.checked_sub(1) {
            let index = self.index(q)?;
            let last = index.len().saturating_sub(1);
            self.open_block(q, index, last)?.seek_last()?;
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
        self.at = None;
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
