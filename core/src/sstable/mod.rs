//! SSTables: immutable sorted files of internal keys (FORMAT.md, "SSTable").
//!
//! `TableWriter` streams a table to storage block by block; `Table` opens one
//! (footer, index, filter, properties held in memory; data blocks read on
//! demand through the shared `BlockCache`); `TableIter` walks it in either
//! direction.
//!
//! Layout of the implementation, one concept per module:
//! - `block`: data/index block builder, parsed block, bidirectional cursor;
//! - `bloom`: the filter block (frozen hash, integer sizing);
//! - `footer`, `properties`: the fixed-size metadata;
//! - `writer`: `TableWriter` and the size bound callers split tables with;
//! - `reader`: `Table` and `TableIter`;
//! - `cache`: `BlockCache`.

use alloc::vec::Vec;

use crate::key::{InternalKey, ValueKind};

mod block;
mod bloom;
mod cache;
mod footer;
mod properties;
mod reader;
mod table_cache;
mod writer;

#[cfg(any(test, feature = "fuzzing"))]
pub(crate) mod fuzzing;
#[cfg(test)]
mod tests;

pub use cache::BlockCache;
pub use reader::{Table, TableIter};
pub use table_cache::TableCache;
pub use writer::{single_entry_table_size, TableWriter};

/// "LSMKVSST": the last 8 bytes of every table.
pub const TABLE_MAGIC: [u8; 8] = *b"LSMKVSST";
/// The table format this build writes and reads. Never reuse a number.
pub const TABLE_FORMAT_VERSION: u32 = 1;
/// Footer: three handles (36) + version (4) + crc (4) + magic (8).
pub const FOOTER_SIZE: usize = 52;
/// The crc32 after every block.
pub const BLOCK_TRAILER_SIZE: usize = 4;
/// A block handle: offset u64 + size u32.
pub const HANDLE_SIZE: usize = 12;
/// Properties: seven u64 fields.
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

/// The newest version of a key found in a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub seq: u64,
    pub kind: ValueKind,
    pub value: Vec<u8>,
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
