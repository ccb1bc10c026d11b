//! `TableWriter`: streams a table of the newest format to storage. Each data block is
//! appended (stored as `Options::compression` says) as soon as it is full;
//! index and filter partitions are built alongside and written at `finish`,
//! after the data, followed by the top index, properties and footer. Memory
//! holds one data block, the partitions (a few percent of the data) and the
//! hashes of the open partition's keys, never the table.
//!
//! The writer also projects the finished file's size exactly enough to give
//! callers a true upper bound (`size_if_added`): the table caps are a product
//! guarantee, so the bound is computed from the same sizes the encoder uses,
//! and `finish` asserts the file did not exceed it.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cmp::Ordering;

use crate::error::Result;
use crate::key::{self, InternalKey, ValueKind, SEQ_MAX};
use crate::options::Compression;
use crate::storage::Storage;

use super::block::{self, BlockBuilder};
use super::bloom::{self, BloomBuilder};
use super::footer::Footer;
use super::stored;
use super::{BlockHandle, FormatVersion, Properties, TableInfo, FOOTER_SIZE, HANDLE_SIZE};

const VERSION: FormatVersion = FormatVersion::NEWEST;
/// The trailer after every block of the tables this writer makes.
const TRAILER: u64 = stored::trailer_size(VERSION) as u64;
/// Entries per restart point of every block this writer makes.
const INTERVAL: usize = VERSION.restart_interval();
/// A top-index value: the index partition's handle, then the filter's.
const TOP_VALUE_SIZE: usize = 2 * HANDLE_SIZE;

/// Everything the final size depends on, as numbers: the writer's state, or
/// the empty state for `single_entry_table_size`.
#[derive(Clone, Copy, Default)]
struct SizeProjection {
    /// Data blocks already appended, trailers included.
    data_bytes_written: u64,
    /// The open data block.
    block_entry_bytes: u64,
    block_entry_count: u64,
    /// Closed partitions: their index and filter blocks, trailers included,
    /// and the top-index entries naming them.
    closed_partition_bytes: u64,
    top_entry_bytes: u64,
    top_entry_count: u64,
    /// The open partition: index entries of its appended data blocks, and
    /// the distinct keys its filter holds.
    index_entry_bytes: u64,
    index_entry_count: u64,
    partition_keys: u64,
    bloom_bits_per_key: u32,
}

impl SizeProjection {
    /// The file size if an entry of these sizes were added and the table
    /// finished right after. Exact except that the entry is assumed to bring
    /// a new distinct user key (the filter can only be smaller) and its data
    /// block to be stored as is (compression only ever stores it smaller).
    fn size_if_added(&self, key_len: usize, value_len: usize) -> u64 {
        // The entry joins the open block, which `finish` closes...
        let block_entries = self.block_entry_bytes.saturating_add(block::entry_size(key_len, value_len));
        let data = self
            .data_bytes_written
            .saturating_add(block::block_size_for(block_entries, self.block_entry_count + 1, INTERVAL))
            .saturating_add(TRAILER);
        // ...whose index entry (its last key: this one) joins the open
        // partition, which `finish` closes, with its filter...
        let index_entries = self.index_entry_bytes.saturating_add(block::entry_size(key_len, HANDLE_SIZE));
        let index = block::block_size_for(index_entries, self.index_entry_count + 1, INTERVAL).saturating_add(TRAILER);
        let filter = bloom::filter_block_size(self.partition_keys + 1, self.bloom_bits_per_key) as u64 + TRAILER;
        // ...and the top index gains the partition's entry.
        let top_entries = self.top_entry_bytes.saturating_add(block::entry_size(key_len, TOP_VALUE_SIZE));
        let top = block::block_size_for(top_entries, self.top_entry_count + 1, INTERVAL).saturating_add(TRAILER);
        let properties = VERSION.properties_size() as u64 + TRAILER;
        [self.closed_partition_bytes, index, filter, top, properties, FOOTER_SIZE as u64]
            .into_iter()
            .fold(data, u64::saturating_add)
    }
}

/// An upper bound on the file size of a table holding exactly one entry of
/// these sizes (used by `Options::validate`: every entry must fit a table).
pub fn single_entry_table_size(key_len: usize, value_len: usize, bloom_bits_per_key: u32) -> usize {
    let empty = SizeProjection { bloom_bits_per_key, ..SizeProjection::default() };
    usize::try_from(empty.size_if_added(key_len, value_len)).unwrap_or(usize::MAX)
}

/// Appends blocks to the table file and tracks where they land. Blocks are
/// gathered and handed to storage `SINK_BUFFER` bytes at a time: one
/// `append` per 4 KiB block cost a system call and a partial-page write
/// each (an eighth of a compaction's time at 10M keys).
struct FileSink<'a> {
    storage: &'a dyn Storage,
    name: String,
    /// Bytes appended so far = the offset of the next block.
    offset: u64,
    /// The stored form of the block being appended (reused).
    scratch: Vec<u8>,
    /// Bytes appended but not yet handed to storage.
    pending: Vec<u8>,
}

const SINK_BUFFER: usize = 256 << 10;

impl FileSink<'_> {
    /// Appends `block` in its stored form (compressed as `compression` says)
    /// with its trailer, and returns the block's handle.
    fn append_block(&mut self, block: &[u8], compression: Compression) -> Result<BlockHandle> {
        stored::encode(block, compression, &mut self.scratch);
        let stored_size = self.scratch.len() as u64 - TRAILER;
        let handle = BlockHandle { offset: self.offset, size: crate::coding::len_u32(stored_size as usize) };
        self.pending.extend_from_slice(&self.scratch);
        self.offset += self.scratch.len() as u64;
        self.write_out_if_full()?;
        Ok(handle)
    }

    fn append(&mut self, bytes: &[u8]) -> Result<()> {
        self.pending.extend_from_slice(bytes);
        self.offset += bytes.len() as u64;
        self.write_out_if_full()
    }

    fn write_out_if_full(&mut self) -> Result<()> {
        match self.pending.len() >= SINK_BUFFER {
            true => self.write_out(),
            false => Ok(()),
        }
    }

    /// Hands every pending byte to storage.
    fn write_out(&mut self) -> Result<()> {
        if !self.pending.is_empty() {
            self.storage.append(&self.name, &self.pending)?;
            self.pending.clear();
        }
        Ok(())
    }
}

/// A closed partition, kept until `finish` writes the metadata.
struct Partition {
    index: Vec<u8>,
    filter: Vec<u8>,
    /// Its last index entry's key and trailer: its top-index key.
    last_key: Vec<u8>,
    last_trailer: u64,
}

/// Writes one table to storage, block by block. After an error the table is
/// unusable: drop the writer and remove the file.
pub struct TableWriter<'a> {
    sink: FileSink<'a>,
    block_size: usize,
    bloom_bits_per_key: u32,
    compression: Compression,
    block: BlockBuilder,
    /// The open index partition and its filter.
    index: BlockBuilder,
    bloom: BloomBuilder,
    partitions: Vec<Partition>,
    /// `SizeProjection` figures of the closed partitions.
    closed_partition_bytes: u64,
    top_entry_bytes: u64,
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
    pub fn create(
        storage: &'a dyn Storage,
        name: &str,
        block_size: usize,
        bloom_bits_per_key: u32,
        compression: Compression,
    ) -> Result<Self> {
        storage.create(name)?;
        Ok(TableWriter {
            sink: FileSink { storage, name: name.to_string(), offset: 0, scratch: Vec::new(), pending: Vec::new() },
            block_size,
            bloom_bits_per_key,
            compression,
            block: BlockBuilder::new(INTERVAL),
            index: BlockBuilder::new(INTERVAL),
            bloom: BloomBuilder::default(),
            partitions: Vec::new(),
            closed_partition_bytes: 0,
            top_entry_bytes: 0,
            properties: Properties { compression, ..Properties::default() },
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
            closed_partition_bytes: self.closed_partition_bytes,
            top_entry_bytes: self.top_entry_bytes,
            top_entry_count: self.partitions.len() as u64,
            index_entry_bytes: self.index.entry_bytes(),
            index_entry_count: self.index.entry_count(),
            partition_keys: self.bloom.key_count(),
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
        // A key goes into the filter of every partition holding one of its
        // versions: a partition just opened has none of the previous ones.
        if new_user_key || self.bloom.key_count() == 0 {
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

    fn last_trailer(&self) -> u64 {
        key::pack_trailer(self.last_seq, self.last_kind)
    }

    /// Appends the open data block and records it in the open partition
    /// under its last key; closes the partition once it is full.
    fn flush_block(&mut self) -> Result<()> {
        let handle = self.sink.append_block(self.block.finish(), self.compression)?;
        self.block.reset();
        self.index.add(&self.last_key, self.last_trailer(), &handle.to_bytes());
        self.properties.data_block_count += 1;
        if self.index.encoded_size() >= self.block_size as u64 {
            self.close_partition();
        }
        Ok(())
    }

    /// Finishes the open index partition and its filter (kept for `finish`).
    fn close_partition(&mut self) {
        let partition = Partition {
            index: self.index.finish().clone(),
            filter: self.bloom.finish(self.bloom_bits_per_key),
            last_key: self.last_key.clone(),
            last_trailer: self.last_trailer(),
        };
        self.index.reset();
        self.bloom = BloomBuilder::default();
        self.closed_partition_bytes += (partition.index.len() + partition.filter.len()) as u64 + 2 * TRAILER;
        self.top_entry_bytes += block::entry_size(partition.last_key.len(), TOP_VALUE_SIZE);
        self.partitions.push(partition);
    }

    /// Writes the filter and index partitions, the top index, properties and
    /// footer, and syncs the file. At least one entry must have been added
    /// (asserted).
    pub fn finish(mut self) -> Result<TableInfo> {
        let smallest = self.smallest.take().expect("a table holds at least one entry");
        if !self.block.is_empty() {
            self.flush_block()?;
        }
        if !self.index.is_empty() {
            self.close_partition();
        }
        let partitions = core::mem::take(&mut self.partitions);
        let filters_start = self.sink.offset;
        let mut filters = Vec::with_capacity(partitions.len());
        for partition in &partitions {
            filters.push(self.sink.append_block(&partition.filter, Compression::None)?);
        }
        let mut top = BlockBuilder::new(INTERVAL);
        for (partition, filter) in partitions.iter().zip(filters) {
            let index = self.sink.append_block(&partition.index, Compression::None)?;
            let mut value = [0u8; TOP_VALUE_SIZE];
            value[..HANDLE_SIZE].copy_from_slice(&index.to_bytes());
            value[HANDLE_SIZE..].copy_from_slice(&filter.to_bytes());
            top.add(&partition.last_key, partition.last_trailer, &value);
        }
        let top_index = self.sink.append_block(top.finish(), Compression::None)?;
        self.properties.check().expect("the writer's own properties are coherent");
        let properties = self.sink.append_block(&self.properties.encode(VERSION), Compression::None)?;
        let partition_count = crate::coding::len_u32(partitions.len());
        let footer =
            Footer::Partitioned { version: VERSION, top_index, filters_start, partitions: partition_count, properties };
        self.sink.append(&footer.encode())?;
        self.sink.write_out()?;
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
