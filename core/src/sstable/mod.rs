//! SSTables: immutable sorted files of internal keys (FORMAT.md, "SSTable").
//!
//! `TableWriter` streams a table (format 3) to storage block by block;
//! `Table` opens one of format 1, 2 or 3 (its footer, properties and top index
//! held in memory; index and filter partitions and data blocks read on
//! demand through the shared `BlockCache`); `TableIter` walks it in either
//! direction.
//!
//! Layout of the implementation, one concept per module:
//! - `block`: data/index block builder, parsed block, bidirectional cursor;
//! - `stored`: how a block is stored — trailer, checksum, LZ4 compression;
//! - `index`: a parsed index block (data block handles, or partitions);
//! - `bloom`: the filter block (frozen hash, integer sizing);
//! - `footer`, `properties`: the fixed-size metadata;
//! - `writer`: `TableWriter` and the size bound callers split tables with;
//! - `reader`: `Table` and `TableIter`;
//! - `cache`: `BlockCache`, holding data blocks, index and filter partitions;
//! - `table_cache`: the open tables.

use alloc::vec::Vec;

use crate::key::{InternalKey, ValueKind};
use crate::options::Compression;

mod block;
mod bloom;
mod cache;
mod footer;
mod index;
mod properties;
mod reader;
mod stored;
mod table_cache;
mod writer;

#[cfg(any(test, feature = "fuzzing"))]
pub(crate) mod fuzzing;
#[cfg(test)]
mod tests;

pub use cache::BlockCache;
pub use reader::{Lookup, Table, TableIter};
pub use table_cache::TableCache;
pub use writer::{single_entry_table_size, TableWriter};

/// "LSMKVSST": the last 8 bytes of every table.
pub const TABLE_MAGIC: [u8; 8] = *b"LSMKVSST";
/// A table format this build reads (FORMAT.md, "SSTable"); it writes the
/// newest. Never reuse a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatVersion {
    /// One index and one filter per table; blocks followed by a crc.
    V1,
    /// Partitioned index and filters under a top index; data blocks may be
    /// LZ4-compressed; blocks followed by a kind byte and a crc.
    V2,
    /// Format 2 with a restart point every `RESTART_INTERVAL` entries in
    /// data and index blocks instead of an offset per entry.
    V3,
}

impl FormatVersion {
    /// What this build writes.
    pub const NEWEST: FormatVersion = FormatVersion::V3;

    pub const fn number(self) -> u32 {
        match self {
            FormatVersion::V1 => 1,
            FormatVersion::V2 => 2,
            FormatVersion::V3 => 3,
        }
    }

    pub const fn from_number(number: u32) -> Option<FormatVersion> {
        match number {
            1 => Some(FormatVersion::V1),
            2 => Some(FormatVersion::V2),
            3 => Some(FormatVersion::V3),
            _ => None,
        }
    }

    /// The properties block's size.
    pub const fn properties_size(self) -> usize {
        match self {
            FormatVersion::V1 => 56,
            FormatVersion::V2 | FormatVersion::V3 => 64,
        }
    }

    /// Entries per restart point of data and index blocks.
    pub const fn restart_interval(self) -> usize {
        match self {
            FormatVersion::V1 | FormatVersion::V2 => 1,
            FormatVersion::V3 => block::RESTART_INTERVAL,
        }
    }
}

/// Footer: three 12-byte fields (36) + version (4) + crc (4) + magic (8).
pub const FOOTER_SIZE: usize = 52;
/// A block handle: offset u64 + size u32.
pub const HANDLE_SIZE: usize = 12;

/// Where a block lives: offset and size, the size excluding its crc.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockHandle {
    pub offset: u64,
    pub size: u32,
}

/// The properties block (FORMAT.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Properties {
    pub entry_count: u64,
    pub tombstone_count: u64,
    pub min_seq: u64,
    pub max_seq: u64,
    pub data_block_count: u64,
    pub raw_key_bytes: u64,
    pub raw_value_bytes: u64,
    /// What the writer compressed data blocks with (format 1: none).
    pub compression: Compression,
}

impl Default for Properties {
    fn default() -> Self {
        Properties {
            entry_count: 0,
            tombstone_count: 0,
            min_seq: 0,
            max_seq: 0,
            data_block_count: 0,
            raw_key_bytes: 0,
            raw_value_bytes: 0,
            compression: Compression::None,
        }
    }
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
    /// Where the block is stored; `handle.size` is its stored size.
    pub handle: BlockHandle,
    /// Its size before compression (= `handle.size` when stored as is).
    pub raw_size: u32,
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
    /// The table's format (1 or 2).
    pub format: u32,
    pub properties: Properties,
    pub blocks: Vec<BlockSummary>,
    /// Format 1: the index block; formats 2 and 3: the top index.
    pub index_handle: BlockHandle,
    /// Format 1: the filter block; formats 2 and 3: the first filter partition.
    pub filter_handle: BlockHandle,
    /// Index (and filter) partitions: 1 in format 1.
    pub partitions: u32,
    /// All filter partitions together.
    pub filter: FilterSummary,
    pub entries: Vec<InspectedEntry>,
}
