//! Plain-data reports: `Stats`, `Health`, `SpaceStats` and the summaries the
//! event feed and the playground show. Everything here is computed by the
//! engine; a UI only displays it.

use alloc::string::String;
use alloc::vec::Vec;

use crate::options::Durability;
use crate::version::TableMeta;

/// One table as reports show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSummary {
    pub number: u64,
    pub level: usize,
    pub entries: u64,
    pub tombstones: u64,
    pub bytes: u64,
    pub smallest_key: Vec<u8>,
    pub largest_key: Vec<u8>,
    pub min_seq: u64,
    pub max_seq: u64,
}

impl TableSummary {
    pub(crate) fn new(level: usize, meta: &TableMeta) -> Self {
        TableSummary {
            number: meta.number,
            level,
            entries: meta.entry_count,
            tombstones: meta.tombstone_count,
            bytes: meta.file_size,
            smallest_key: meta.smallest.user_key.clone(),
            largest_key: meta.largest.user_key.clone(),
            min_seq: meta.min_seq,
            max_seq: meta.max_seq,
        }
    }
}

/// One level of the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LevelStats {
    pub level: usize,
    /// L0 newest first; deeper levels in key order.
    pub tables: Vec<TableSummary>,
    pub bytes: u64,
    pub entries: u64,
    /// Size this level is compacted down to stay under (`None` for L0, which
    /// is measured in tables against `l0_compaction_trigger`).
    pub target_bytes: Option<u64>,
}

/// A cheap snapshot of the engine's counters and shape (no I/O).
#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    pub memtable_entries: u64,
    pub memtable_bytes: u64,
    pub memtable_max_entries: u64,
    pub memtable_max_bytes: u64,
    pub sstable_max_entries: u64,
    pub sstable_max_bytes: u64,
    /// L0 is compacted when it holds more tables than this.
    pub l0_compaction_trigger: u64,
    /// Memtables frozen and not yet flushed (non-zero only mid-flush).
    pub immutable_memtables: u64,
    pub levels: Vec<LevelStats>,
    pub wal_files: u64,
    pub wal_bytes: u64,
    /// Highest sequence number assigned.
    pub last_seq: u64,
    /// Every write up to this sequence number is in a table.
    pub flushed_seq: u64,
    pub flushes: u64,
    pub compactions: u64,
    /// Merges split into key ranges merged on several threads at once
    /// (`Options::compaction_threads`).
    pub parallel_merges: u64,
    /// Bytes of keys and values handed to writes.
    pub user_bytes_written: u64,
    /// Bytes the engine appended to storage (WAL, tables, manifest).
    pub storage_bytes_written: u64,
    /// storage / user bytes written (0 before any write).
    pub write_amplification: f64,
    /// Bytes held in storage: tables plus WAL files.
    pub stored_bytes: u64,
    pub gets: u64,
    /// Tables whose blocks a get had to read (bloom filter said "maybe").
    pub tables_probed: u64,
    /// Tables a get skipped because the bloom filter said "absent".
    pub bloom_negatives: u64,
    /// tables_probed / gets.
    pub read_amplification: f64,
    /// Lookups of the block cache (data blocks, and index and filter
    /// partitions when `partition_cache_bytes` is 0) that found their block,
    /// and those that read it from storage.
    pub block_cache_hits: u64,
    pub block_cache_misses: u64,
    /// Memory the engine holds beside the memtables: the block cache's
    /// contents (at most `block_cache_capacity_bytes`), the partition
    /// cache's (at most `partition_cache_capacity_bytes`), and what open
    /// tables keep outside both (formats 2 and 3: each table's top index;
    /// format 1: its whole index and filter) for `open_tables` tables.
    pub block_cache_bytes: u64,
    pub block_cache_capacity_bytes: u64,
    /// The partition cache's lookups, bytes and capacity
    /// (`Options::partition_cache_bytes`); all 0 when partitions share the
    /// block cache.
    pub partition_cache_hits: u64,
    pub partition_cache_misses: u64,
    pub partition_cache_bytes: u64,
    pub partition_cache_capacity_bytes: u64,
    pub open_tables: u64,
    pub table_memory_bytes: u64,
    /// WAL torn tails truncated since open.
    pub wal_tail_truncations: u64,
    /// Writes that stopped for background flushes or compactions to catch
    /// up (too many frozen memtables or L0 tables), and their total wait.
    pub write_stalls: u64,
    pub write_stall_micros: u64,
    /// Writes slowed to a pace while L0 is deep (from twice
    /// `l0_compaction_trigger` tables), and the total time they slept.
    pub write_slowdowns: u64,
    pub write_slowdown_micros: u64,
    pub durability: Durability,
}

/// Live data versus stored bytes, computed by a full scan (O(data)).
#[derive(Clone, Debug, PartialEq)]
pub struct SpaceStats {
    /// Keys visible now.
    pub live_keys: u64,
    /// Bytes of those keys and their values.
    pub live_bytes: u64,
    /// Bytes in storage (tables plus WAL).
    pub stored_bytes: u64,
    /// stored / live bytes (0 when nothing is live).
    pub space_amplification: f64,
}

/// Whether the database accepts writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HealthStatus {
    Ok,
    /// A write, sync or flush failed; writes are refused until reopen.
    ReadOnly,
    Closed,
}

/// `Db::health()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Health {
    pub status: HealthStatus,
    /// Why the status is not `Ok`.
    pub reason: Option<String>,
    /// Torn WAL tails found at open (each also an event).
    pub wal_tail_truncations: u64,
    pub last_seq: u64,
}
