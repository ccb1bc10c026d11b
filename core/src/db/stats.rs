//! The counters behind `Stats`, and the assembly of `Stats`, `Health` and
//! `SpaceStats` from them and the current view (no I/O but `space`'s scan).

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use super::state::{DbInner, Status};
use crate::error::Result;
use crate::options::LEVELS;
use crate::stats::{Health, HealthStatus, LevelStats, SpaceStats, Stats, TableSummary};

/// Counters behind `Stats`.
#[derive(Default)]
pub(super) struct Counters {
    pub flushes: AtomicU64,
    pub compactions: AtomicU64,
    pub parallel_merges: AtomicU64,
    pub user_bytes_written: AtomicU64,
    pub gets: AtomicU64,
    pub tables_probed: AtomicU64,
    pub bloom_negatives: AtomicU64,
    pub wal_tail_truncations: AtomicU64,
    pub write_stalls: AtomicU64,
    pub write_stall_micros: AtomicU64,
    pub write_slowdowns: AtomicU64,
    pub write_slowdown_micros: AtomicU64,
    /// Mirrors of writer state, readable without the write lock.
    pub last_seq: AtomicU64,
    pub flushed_seq: AtomicU64,
    pub wal_files: AtomicU64,
    pub wal_bytes: AtomicU64,
}

pub(super) fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

pub(super) fn load(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

impl DbInner {
    pub(super) fn stored_bytes(&self) -> u64 {
        self.view().version.total_bytes() + load(&self.counters.wal_bytes)
    }

    pub(super) fn stats(&self) -> Stats {
        let view = self.view();
        let c = &self.counters;
        let levels = (0..LEVELS)
            .map(|level| {
                let tables = &view.version.levels[level];
                LevelStats {
                    level,
                    tables: tables.iter().map(|t| TableSummary::new(level, t)).collect(),
                    bytes: tables.iter().map(|t| t.file_size).sum(),
                    entries: tables.iter().map(|t| t.entry_count).sum(),
                    target_bytes: (level > 0).then(|| self.options.level_target_bytes(level)),
                }
            })
            .collect();
        let user = load(&c.user_bytes_written);
        let written = self.storage.bytes_appended();
        let gets = load(&c.gets);
        let (open_tables, table_memory) = self.tables.memory();
        let probed = load(&c.tables_probed);
        let [partition_cache_hits, partition_cache_misses, partition_cache_bytes, partition_cache_capacity_bytes] =
            self.tables.blocks.partition_figures();
        Stats {
            memtable_entries: view.mem.entries(),
            memtable_bytes: view.mem.bytes(),
            memtable_max_entries: self.options.memtable_max_entries as u64,
            memtable_max_bytes: self.options.memtable_max_bytes as u64,
            sstable_max_entries: self.options.sstable_max_entries as u64,
            sstable_max_bytes: self.options.sstable_max_bytes as u64,
            l0_compaction_trigger: self.options.l0_compaction_trigger as u64,
            immutable_memtables: view.frozen.len() as u64,
            levels,
            wal_files: load(&c.wal_files),
            wal_bytes: load(&c.wal_bytes),
            last_seq: load(&c.last_seq),
            flushed_seq: load(&c.flushed_seq),
            flushes: load(&c.flushes),
            compactions: load(&c.compactions),
            parallel_merges: load(&c.parallel_merges),
            user_bytes_written: user,
            storage_bytes_written: written,
            write_amplification: if user == 0 { 0.0 } else { written as f64 / user as f64 },
            stored_bytes: view.version.total_bytes() + load(&c.wal_bytes),
            gets,
            tables_probed: probed,
            bloom_negatives: load(&c.bloom_negatives),
            read_amplification: if gets == 0 { 0.0 } else { probed as f64 / gets as f64 },
            block_cache_hits: self.tables.blocks.hits(),
            block_cache_misses: self.tables.blocks.misses(),
            block_cache_bytes: self.tables.blocks.used_bytes() as u64,
            block_cache_capacity_bytes: self.tables.blocks.capacity_bytes() as u64,
            partition_cache_hits,
            partition_cache_misses,
            partition_cache_bytes,
            partition_cache_capacity_bytes,
            open_tables: open_tables as u64,
            table_memory_bytes: table_memory as u64,
            wal_tail_truncations: load(&c.wal_tail_truncations),
            write_stalls: load(&c.write_stalls),
            write_stall_micros: load(&c.write_stall_micros),
            write_slowdowns: load(&c.write_slowdowns),
            write_slowdown_micros: load(&c.write_slowdown_micros),
            durability: self.options.durability,
        }
    }

    /// The highest sequence number assigned.
    pub(super) fn last_seq(&self) -> u64 {
        load(&self.counters.last_seq)
    }

    pub(super) fn health(&self) -> Health {
        let (status, reason) = match &*self.status.lock() {
            Status::Open => (HealthStatus::Ok, None),
            Status::ReadOnly(reason) => (HealthStatus::ReadOnly, Some(reason.clone())),
            Status::Closed => (HealthStatus::Closed, None),
        };
        Health {
            status,
            reason,
            wal_tail_truncations: load(&self.counters.wal_tail_truncations),
            last_seq: self.last_seq(),
        }
    }

    /// Live versus stored bytes, from a scan of every live entry.
    pub(super) fn space(&self, live: impl Iterator<Item = Result<(Vec<u8>, Vec<u8>)>>) -> Result<SpaceStats> {
        let mut live_keys = 0u64;
        let mut live_bytes = 0u64;
        for item in live {
            let (key, value) = item?;
            live_keys += 1;
            live_bytes += (key.len() + value.len()) as u64;
        }
        let stored_bytes = self.stored_bytes();
        let space_amplification = if live_bytes == 0 { 0.0 } else { stored_bytes as f64 / live_bytes as f64 };
        Ok(SpaceStats { live_keys, live_bytes, stored_bytes, space_amplification })
    }
}
