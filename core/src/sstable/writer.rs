//! `TableWriter`: streams a table to storage. Each data block is appended
//! (with its crc) as soon as it is full, so memory holds one data block, the
//! index and one hash per distinct key, never the table.
//!
//! The writer also projects the finished file's size exactly enough to give
//! callers a true upper bound (`size_if_added`): the table caps are a product
//! guarantee, so the bound is computed from the same sizes the encoder uses,
//! and `finish` asserts the file did not exceed it.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cmp::Ordering;

use crate::coding;
use crate::error::Result;
use crate::key::{self, InternalKey, ValueKind, SEQ_MAX};
use crate::storage::Storage;

use super::block::{self, BlockBuilder};
use super::bloom::{self, BloomBuilder};
use super::footer::Footer;
use super::{BlockHandle, Properties, TableInfo, BLOCK_TRAILER_SIZE, FOOTER_SIZE, HANDLE_SIZE, PROPERTIES_SIZE};

/// Everything the final size depends on, as numbers: the writer's state, or
/// the empty state for `single_entry_table_size`.
#[derive(Clone, Copy, Default)]
struct SizeProjection {
    /// Data blocks already appended, crcs included.
    data_bytes_written: u64,
    /// The open data block.
    block_entry_bytes: u64,
    block_entry_count: u64,
    /// Index entries of the appended data blocks.
    index_entry_bytes: u64,
    index_entry_count: u64,
    distinct_keys: u64,
    bloom_bits_per_key: u32,
}

impl SizeProjection {
    /// The file size if an entry of these sizes were added and the table
    /// finished right after. Exact except that the entry is assumed to bring
    /// a new distinct user key (the filter can only be smaller).
    fn size_if_added(&self, key_len: usize, value_len: usize) -> u64 {
        let crc = BLOCK_TRAILER_SIZE as u64;
        // The entry joins the open block, which `finish` closes.
        let block_entries = self.block_entry_bytes.saturating_add(block::entry_size(key_len, value_len));
        let data = self
            .data_bytes_written
            .saturating_add(block::block_size_for(block_entries, self.block_entry_count + 1))
            .saturating_add(crc);
        // That block's index entry: its last key (this one) and a handle.
        let index_entries = self.index_entry_bytes.saturating_add(block::entry_size(key_len, HANDLE_SIZE));
        let index = block::block_size_for(index_entries, self.index_entry_count + 1).saturating_add(crc);
        let filter = bloom::filter_block_size(self.distinct_keys + 1, self.bloom_bits_per_key) as u64 + crc;
        let properties = (PROPERTIES_SIZE + BLOCK_TRAILER_SIZE) as u64;
        data.saturating_add(index).saturating_add(filter).saturating_add(properties).saturating_add(FOOTER_SIZE as u64)
    }
}

/// An upper bound on the file size of a table holding exactly one entry of
/// these sizes (used by `Options::validate`: every entry must fit a table).
pub fn single_entry_table_size(key_len: usize, value_len: usize, bloom_bits_per_key: u32) -> usize {
    let empty = SizeProjection { bloom_bits_per_key, ..SizeProjection::default() };
    usize::try_from(empty.size_if_added(key_len, value_len)).unwrap_or(usize::MAX)
}

/// Appends blocks to the table file and tracks where they land.
struct FileSink<'a> {
    storage: &'a dyn Storage,
    name: String,
    /// Bytes appended so far = the offset of the next block.
    offset: u64,
}

impl FileSink<'_> {
    /// Appends `block` followed by its crc (pushed onto `block`, which the
    /// caller resets) and returns the block's handle.
    fn append_block(&mut self, block: &mut Vec<u8>) -> Result<BlockHandle> {
        let handle = BlockHandle { offset: self.offset, size: coding::len_u32(block.len()) };
        let crc = coding::crc32(block);
        coding::put_u32(block, crc);
        self.append(block)?;
        Ok(handle)
    }

    fn append(&mut self, bytes: &[u8]) -> Result<()> {
        self.storage.append(&self.name, bytes)?;
        self.offset += bytes.len() as u64;
        Ok(())
    }
}

/// Writes one table to storage, block by block. After an error the table is
/// unusable: drop the writer and remove the file.
pub struct TableWriter<'a> {
    sink: FileSink<'a>,
    block_size: usize,
    bloom_bits_per_key: u32,
    block: BlockBuilder,
    index: BlockBuilder,
    bloom: BloomBuilder,
    properties: Properties,
    smallest: Option<InternalKey>,
    /// The last entry added (buffers reused across adds).
    last_key: Vec<u8>,
    last_seq: u64,
    last_kind: ValueKind,
    /// `size_if_added` for the last entry added; `finish` asserts the file fits.
    size_bound: u64,
}

impl<'a> TableWriter<'a> {
    /// Creates the file `name` (which must not exist).
    pub fn create(storage: &'a dyn Storage, name: &str, block_size: usize, bloom_bits_per_key: u32) -> Result<Self> {
        storage.create(name)?;
        Ok(TableWriter {
            sink: FileSink { storage, name: name.to_string(), offset: 0 },
            block_size,
            bloom_bits_per_key,
            block: BlockBuilder::default(),
            index: BlockBuilder::default(),
            bloom: BloomBuilder::default(),
            properties: Properties::default(),
            smallest: None,
            last_key: Vec::new(),
            last_seq: 0,
            last_kind: ValueKind::Put,
            size_bound: 0,
        })
    }

    /// Entries added so far.
    pub fn entry_count(&self) -> usize {
        self.properties.entry_count as usize
    }

    fn projection(&self) -> SizeProjection {
        SizeProjection {
            data_bytes_written: self.sink.offset,
            block_entry_bytes: self.block.entry_bytes(),
            block_entry_count: self.block.entry_count(),
            index_entry_bytes: self.index.entry_bytes(),
            index_entry_count: self.index.entry_count(),
            distinct_keys: self.bloom.key_count(),
            bloom_bits_per_key: self.bloom_bits_per_key,
        }
    }

    /// An upper bound on the finished file's size if an entry of these sizes
    /// were added next. Callers split tables with it so that no table exceeds
    /// `sstable_max_bytes`.
    pub fn size_if_added(&self, key_len: usize, value_len: usize) -> u64 {
        self.projection().size_if_added(key_len, value_len)
    }

    /// Adds the next entry. Entries must come in strictly increasing
    /// internal-key order (asserted: the caller's merge guarantees it).
    pub fn add(&mut self, user_key: &[u8], seq: u64, kind: ValueKind, value: &[u8]) -> Result<()> {
        assert!(!user_key.is_empty(), "user keys are at least one byte");
        assert!(seq <= SEQ_MAX, "sequence number {seq} exceeds 56 bits");
        let new_user_key = match self.smallest {
            None => true,
            Some(_) => {
                let order = key::compare(&self.last_key, self.last_seq, user_key, seq);
                assert!(order == Ordering::Less, "table entries must strictly increase in internal-key order");
                self.last_key != user_key
            }
        };
        self.size_bound = self.size_if_added(user_key.len(), value.len());
        if new_user_key {
            self.bloom.add_key(user_key);
        }
        self.block.add(user_key, key::pack_trailer(seq, kind), value);
        self.count(user_key, seq, kind, value);
        if self.block.encoded_size() >= self.block_size as u64 {
            self.flush_block()?;
        }
        Ok(())
    }

    /// Updates properties and the first/last keys for an entry just added.
    fn count(&mut self, user_key: &[u8], seq: u64, kind: ValueKind, value: &[u8]) {
        if self.smallest.is_none() {
            self.smallest = Some(InternalKey::new(user_key, seq, kind));
        }
        self.properties.count_entry(user_key.len(), seq, kind, value.len());
        self.last_key.clear();
        self.last_key.extend_from_slice(user_key);
        self.last_seq = seq;
        self.last_kind = kind;
    }

    /// Appends the open data block and records it in the index under its
    /// last key.
    fn flush_block(&mut self) -> Result<()> {
        let handle = self.sink.append_block(self.block.finish())?;
        self.block.reset();
        self.index.add(&self.last_key, key::pack_trailer(self.last_seq, self.last_kind), &handle.to_bytes());
        self.properties.data_block_count += 1;
        Ok(())
    }

    /// Writes the filter, index, properties and footer, and syncs the file.
    /// At least one entry must have been added (asserted).
    pub fn finish(mut self) -> Result<TableInfo> {
        let smallest = self.smallest.take().expect("a table holds at least one entry");
        if !self.block.is_empty() {
            self.flush_block()?;
        }
        let filter = self.sink.append_block(&mut self.bloom.finish(self.bloom_bits_per_key))?;
        let index = self.sink.append_block(self.index.finish())?;
        self.properties.check().expect("the writer's own properties are coherent");
        let properties = self.sink.append_block(&mut self.properties.encode())?;
        let footer = Footer { index, filter, properties };
        self.sink.append(&footer.encode())?;
        self.sink.storage.sync(&self.sink.name)?;
        let file_size = self.sink.offset;
        assert!(
            file_size <= self.size_bound,
            "table size {file_size} exceeds the bound {} promised by size_if_added",
            self.size_bound
        );
        Ok(TableInfo {
            file_size,
            properties: self.properties,
            smallest,
            largest: InternalKey::new(self.last_key, self.last_seq, self.last_kind),
        })
    }
}
