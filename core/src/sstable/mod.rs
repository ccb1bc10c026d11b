//! SSTables: immutable sorted files of internal keys (FORMAT.md, "SSTable").
//!
//! `TableWriter` streams a table to storage block by block; `Table` opens one
//! (footer, index, filter, properties held in memory; data blocks read on
//! demand through the shared `BlockCache`); `TableIter` walks it in either
//! direction.
//!
//! STUB: the public API below is fixed; bodies are being implemented.

use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::error::Result;
use crate::iterator::Direction;
use crate::key::{InternalKey, ValueKind};
use crate::storage::Storage;

pub const TABLE_MAGIC: [u8; 8] = *b"LSMKVSST";
pub const TABLE_FORMAT_VERSION: u32 = 1;
pub const FOOTER_SIZE: usize = 52;
pub const BLOCK_TRAILER_SIZE: usize = 4;
pub const HANDLE_SIZE: usize = 12;
pub const PROPERTIES_SIZE: usize = 56;

/// Where a block lives: offset and size, the size excluding its crc.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockHandle {
    pub offset: u64,
    pub size: u32,
}

/// The properties block (FORMAT.md).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Properties {
    pub entry_count: u64,
    pub tombstone_count: u64,
    pub min_seq: u64,
    pub max_seq: u64,
    pub data_block_count: u64,
    pub raw_key_bytes: u64,
    pub raw_value_bytes: u64,
}

/// What a finished table holds; the manifest records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableInfo {
    pub file_size: u64,
    pub properties: Properties,
    pub smallest: InternalKey,
    pub largest: InternalKey,
}

/// An upper bound on the file size of a table holding exactly one entry of
/// these sizes (used by `Options::validate`: every entry must fit a table).
pub fn single_entry_table_size(key_len: usize, value_len: usize, bloom_bits_per_key: u32) -> usize {
    let _ = (key_len, value_len, bloom_bits_per_key);
    todo!()
}

/// Writes one table to storage, block by block.
pub struct TableWriter<'a> {
    _storage: &'a dyn Storage,
}

impl<'a> TableWriter<'a> {
    /// Creates the file `name` (which must not exist).
    pub fn create(storage: &'a dyn Storage, name: &str, block_size: usize, bloom_bits_per_key: u32) -> Result<Self> {
        let _ = (storage, name, block_size, bloom_bits_per_key);
        todo!()
    }

    /// Entries added so far.
    pub fn entry_count(&self) -> usize {
        todo!()
    }

    /// An upper bound on the finished file's size if an entry of these sizes
    /// were added next. Callers split tables with it so that no table exceeds
    /// `sstable_max_bytes`.
    pub fn size_if_added(&self, key_len: usize, value_len: usize) -> u64 {
        let _ = (key_len, value_len);
        todo!()
    }

    /// Adds the next entry. Entries must come in strictly increasing
    /// internal-key order (asserted: the caller's merge guarantees it).
    pub fn add(&mut self, user_key: &[u8], seq: u64, kind: ValueKind, value: &[u8]) -> Result<()> {
        let _ = (user_key, seq, kind, value);
        todo!()
    }

    /// Writes the filter, index, properties and footer, and syncs the file.
    /// At least one entry must have been added (asserted).
    pub fn finish(self) -> Result<TableInfo> {
        todo!()
    }
}

/// The newest version of a key found in a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub seq: u64,
    pub kind: ValueKind,
    pub value: Vec<u8>,
}

/// Cache of decoded data blocks shared by all tables, bounded in bytes.
pub struct BlockCache {}

impl BlockCache {
    /// A cache holding up to `capacity_bytes` of block data (0: caches nothing).
    pub fn new(capacity_bytes: usize) -> Self {
        let _ = capacity_bytes;
        todo!()
    }
    pub fn hits(&self) -> u64 {
        todo!()
    }
    pub fn misses(&self) -> u64 {
        todo!()
    }
}

/// One data block's summary, for the table inspector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockSummary {
    pub handle: BlockHandle,
    pub entry_count: u32,
    pub first_key: Vec<u8>,
    pub last_key: Vec<u8>,
}

/// The bloom filter's summary, for the table inspector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterSummary {
    pub bytes: u32,
    pub bits: u32,
    pub bits_set: u32,
    pub probes: u8,
}

/// One entry as the table inspector shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InspectedEntry {
    pub user_key: Vec<u8>,
    pub seq: u64,
    pub kind: ValueKind,
    pub value: Vec<u8>,
    /// Index of the data block holding it.
    pub block: u32,
}

/// Everything in a table, like RocksDB's sst_dump.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableInspection {
    pub file_size: u64,
    pub properties: Properties,
    pub blocks: Vec<BlockSummary>,
    pub index_handle: BlockHandle,
    pub filter_handle: BlockHandle,
    pub filter: FilterSummary,
    pub entries: Vec<InspectedEntry>,
}

/// An open table: footer, index, filter and properties in memory.
pub struct Table {}

impl Table {
    /// Opens table file `name` (table number `number`) whose size the manifest
    /// recorded. Verifies footer, index, filter and properties.
    pub fn open(storage: &dyn Storage, name: &str, number: u64, file_size: u64) -> Result<Table> {
        let _ = (storage, name, number, file_size);
        todo!()
    }

    pub fn number(&self) -> u64 {
        todo!()
    }

    pub fn properties(&self) -> &Properties {
        todo!()
    }

    /// False only if the bloom filter proves `user_key` is absent.
    pub fn may_contain(&self, user_key: &[u8]) -> bool {
        let _ = user_key;
        todo!()
    }

    /// The newest entry for `user_key` with `seq <= snapshot`, if any. Does
    /// not consult the bloom filter (callers do, to count its negatives).
    pub fn get(&self, storage: &dyn Storage, cache: &BlockCache, user_key: &[u8], snapshot: u64) -> Result<Option<Found>> {
        let _ = (storage, cache, user_key, snapshot);
        todo!()
    }

    /// A cursor over the whole table in `direction`, unpositioned until `seek`.
    pub fn iter(self: &Arc<Self>, storage: Arc<dyn Storage>, cache: Arc<BlockCache>, direction: Direction) -> TableIter {
        let _ = (storage, cache, direction);
        todo!()
    }

    /// Every block and entry, for the table inspector.
    pub fn inspect(&self, storage: &dyn Storage) -> Result<TableInspection> {
        let _ = storage;
        todo!()
    }
}

/// A cursor over one table; implements `EntryIter`.
pub struct TableIter {}

impl crate::iterator::EntryIter for TableIter {
    fn seek(&mut self, target: Option<(&[u8], u64)>) -> Result<()> {
        let _ = target;
        todo!()
    }
    fn next(&mut self) -> Result<()> {
        todo!()
    }
    fn valid(&self) -> bool {
        todo!()
    }
    fn user_key(&self) -> &[u8] {
        todo!()
    }
    fn seq(&self) -> u64 {
        todo!()
    }
    fn kind(&self) -> ValueKind {
        todo!()
    }
    fn value(&self) -> &[u8] {
        todo!()
    }
}
