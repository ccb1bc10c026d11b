//! Options, their two documented presets, and their validation.

use alloc::format;

use crate::error::{Error, Result};

/// Levels in the tree: L0 (overlapping tables fresh from flushes) and L1..L6.
pub const LEVELS: usize = 7;

/// The longest key any configuration may allow.
pub const KEY_SIZE_LIMIT: usize = 64 * 1024;
/// The largest value any configuration may allow.
pub const VALUE_SIZE_LIMIT: usize = 64 * 1024 * 1024;
/// Bytes a memtable entry is charged beyond its key and value, for
/// `memtable_max_bytes`: what it holds on a 64-bit heap besides them — its
/// share of the map's nodes (a 40-byte key, nodes between half and 2/3
/// full: 65 bytes for random keys, 81 for ascending ones; the key and value
/// themselves sit in the memtable's arena, with no header of their own).
/// Measured by `memtable::tests::charges_about_what_entries_hold_on_the_heap`.
pub const MEMTABLE_ENTRY_OVERHEAD: usize = 72;

/// Files a call may hold at once beyond its flushes' and compactions'
/// outputs: a manifest being rewritten, `CURRENT.tmp`, and margin.
const FOOTPRINT_FILES_SLACK: usize = 32;

/// Most threads one merge may run on (`Options::compaction_threads`).
pub const COMPACTION_THREADS_MAX: usize = 16;

/// Bytes a table may hold beyond its entries (index, filter, properties,
/// footer, crcs), with margin.
const FOOTPRINT_TABLE_OVERHEAD: u64 = 8 << 10;
/// Bytes an entry may take in a WAL record or a table beyond its key and
/// value (varint lengths, sequence and kind, block offsets).
const FOOTPRINT_ENTRY_OVERHEAD: u64 = 32;
/// Memtables a crash can leave in WAL files for the next open to replay and
/// flush: the active one and those frozen awaiting a flush (writers stall
/// at two), with one to spare.
const REPLAYED_MEMTABLES_MAX: usize = 4;

/// The most storage one engine call can add before it returns, beyond what
/// is live when it starts: `Options::footprint`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footprint {
    /// Files that may exist at once beyond the live ones.
    pub files: usize,
    /// Bytes that may be stored at once beyond the live ones.
    pub bytes: u64,
}

/// How data blocks are stored (FORMAT.md, "Block trailer and compression").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Stored as is.
    None,
    /// LZ4-compressed when that saves at least an eighth of a block.
    Lz4,
}

/// When a write's WAL bytes are made durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// A write returns only after its WAL bytes are synced. Writers that
    /// arrive while a sync is in flight share the next one (group commit).
    /// The default.
    Sync,
    /// A write returns once its WAL bytes are handed to the storage (natively:
    /// written to the OS, so they survive the process being killed but not a
    /// power loss). Synced at every flush and on `Db::sync()`.
    Buffered,
}

/// Everything tunable. Build one from a preset and adjust fields; `Db::open`
/// validates it and rejects zero or inconsistent values with
/// `Error::InvalidOptions`.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// The memtable is frozen and flushed before it would hold more entries
    /// (versions, including tombstones) than this.
    pub memtable_max_entries: usize,
    /// ...or more bytes than this: each entry counts its key and value plus
    /// 112 bytes, what it holds on the heap beside them (map node share,
    /// allocation header), so this bounds the memtable's memory.
    pub memtable_max_bytes: usize,
    /// No SSTable ever written (by a flush or a compaction) holds more entries than this.
    pub sstable_max_entries: usize,
    /// No SSTable file ever written is larger than this many bytes.
    pub sstable_max_bytes: usize,
    /// Target size of an SSTable data block, in bytes.
    pub block_size: usize,
    /// Bloom filter bits per key (10 gives about 1% false positives).
    pub bloom_bits_per_key: u32,
    /// How new tables store their data blocks. Tables keep what they were
    /// written with; every build reads both.
    pub compression: Compression,
    /// Compact L0 when it holds more than this many tables.
    pub l0_compaction_trigger: usize,
    /// Target size of L1 in bytes; each deeper level is `level_size_ratio` times larger.
    pub level_base_bytes: u64,
    /// Size ratio between adjacent levels.
    pub level_size_ratio: u32,
    /// Run compaction automatically after flushes. When false, compaction runs
    /// only through `compact`, `compact_range` and `compact_step`.
    pub auto_compaction: bool,
    /// When writes become durable; see `Durability`.
    pub durability: Durability,
    /// Flush and compact on a background thread (needs the `std` feature),
    /// so a writer keeps filling a fresh memtable while the frozen one is
    /// written out. When false, a write that freezes a memtable flushes it
    /// (and compacts) itself before returning — deterministic, and the only
    /// mode without `std`. In the background, with `auto_compaction`, writers
    /// are paced from 2 × `l0_compaction_trigger` L0 tables (32 MiB/s of keys
    /// and values, halved per table more) and stop at 3 × (counted in
    /// `Stats::write_slowdowns` and `write_stalls`).
    pub background_work: bool,
    /// Longest key accepted, in bytes (at most `KEY_SIZE_LIMIT`).
    pub key_size_max: usize,
    /// Largest value accepted, in bytes (at most `VALUE_SIZE_LIMIT`).
    pub value_size_max: usize,
    /// Bytes of decoded data blocks kept in memory (0 disables the cache).
    /// With `partition_cache_bytes` 0, index and filter partitions share it.
    pub block_cache_bytes: usize,
    /// Bytes of index and filter partitions (table formats 2 and 3) kept in
    /// memory in a pool of their own, which data blocks cannot evict: every
    /// get consults a filter partition per level and an index partition, so
    /// when these outgrow a shared cache most gets read three or four blocks
    /// instead of one. They take about 2.8 bytes of memory per key of 16-byte
    /// keys and 100-byte values (1.25 for a 10-bit filter, about 48 per index
    /// entry of a 4 KiB block of some 32 keys); at 100M keys, 256 MiB
    /// answered 94% of partition lookups. 0: they share the block cache.
    pub partition_cache_bytes: usize,
    /// Events kept for `Db::events`; older ones are dropped.
    pub event_log_capacity: usize,
    /// Threads a merge may run on (with `std`): a merge whose output level
    /// holds two or more of its input tables is split into up to this many
    /// key ranges of about equal bytes, at those tables' first keys, each
    /// merged into its own tables on its own thread while the calling thread
    /// flushes memtables frozen meanwhile. 1: every merge on one thread.
    /// Without `std`, always 1.
    pub compaction_threads: usize,
}

impl Options {
    /// The original specification's limits: a memtable of at most 30 entries
    /// and SSTables of at most 30 entries, with small blocks and levels so
    /// that flushes and compactions happen often enough to watch. The
    /// playground's default. Flushes and compactions run in the writing
    /// thread, so each write's effect on the tree is visible when it returns.
    pub fn teaching() -> Options {
        Options {
            memtable_max_entries: 30,
            memtable_max_bytes: 4 << 20,
            sstable_max_entries: 30,
            sstable_max_bytes: 4 << 20,
            block_size: 512,
            bloom_bits_per_key: 10,
            compression: Compression::None,
            l0_compaction_trigger: 4,
            level_base_bytes: 8 << 10,
            level_size_ratio: 4,
            auto_compaction: true,
            durability: Durability::Sync,
            background_work: false,
            key_size_max: 1024,
            value_size_max: 64 << 10,
            block_cache_bytes: 1 << 20,
            partition_cache_bytes: 0,
            event_log_capacity: 1024,
            compaction_threads: 1,
        }
    }

    /// Sized for real workloads: byte caps (64 MiB memtable and tables),
    /// 4 KiB LZ4-compressed blocks, a 256 MiB L1 and a ratio of 10, a 64 MiB block cache
    /// and up to 256 MiB of index and filter partitions beside it (all of
    /// them to about 90M keys of 16-byte keys and 100-byte values),
    /// and (with `std`) flushes and compactions on a background thread, a
    /// large merge split across two.
    /// `Options::default()`.
    pub fn production() -> Options {
        Options {
            memtable_max_entries: 1 << 24,
            memtable_max_bytes: 64 << 20,
            sstable_max_entries: 1 << 24,
            sstable_max_bytes: 64 << 20,
            block_size: 4096,
            bloom_bits_per_key: 10,
            compression: Compression::Lz4,
            l0_compaction_trigger: 4,
            level_base_bytes: 256 << 20,
            level_size_ratio: 10,
            auto_compaction: true,
            durability: Durability::Sync,
            background_work: cfg!(feature = "std"),
            key_size_max: 16 << 10,
            value_size_max: 16 << 20,
            block_cache_bytes: 64 << 20,
            partition_cache_bytes: 256 << 20,
            event_log_capacity: 1024,
            compaction_threads: 2,
        }
    }

    /// Checks every field; the error names the field and the rule it broke.
    pub fn validate(&self) -> Result<()> {
        check(self.memtable_max_entries >= 1, "memtable_max_entries must be at least 1")?;
        check(self.sstable_max_entries >= 1, "sstable_max_entries must be at least 1")?;
        check(
            (1..=KEY_SIZE_LIMIT).contains(&self.key_size_max),
            &format!("key_size_max must be between 1 and {KEY_SIZE_LIMIT}"),
        )?;
        check(
            (1..=VALUE_SIZE_LIMIT).contains(&self.value_size_max),
            &format!("value_size_max must be between 1 and {VALUE_SIZE_LIMIT}"),
        )?;
        check((64..=1 << 20).contains(&self.block_size), "block_size must be between 64 bytes and 1 MiB")?;
        check((1..=32).contains(&self.bloom_bits_per_key), "bloom_bits_per_key must be between 1 and 32")?;
        check(self.l0_compaction_trigger >= 1, "l0_compaction_trigger must be at least 1")?;
        check(self.level_base_bytes >= 1, "level_base_bytes must be at least 1")?;
        check(self.level_size_ratio >= 2, "level_size_ratio must be at least 2")?;
        check(self.event_log_capacity >= 1, "event_log_capacity must be at least 1")?;
        check(
            (1..=COMPACTION_THREADS_MAX).contains(&self.compaction_threads),
            &format!("compaction_threads must be between 1 and {COMPACTION_THREADS_MAX}"),
        )?;
        check(
            !self.background_work || cfg!(feature = "std"),
            "background_work needs threads: build lsmkv with the `std` feature",
        )?;
        let largest_entry = self.key_size_max + self.value_size_max + MEMTABLE_ENTRY_OVERHEAD;
        check(
            self.memtable_max_bytes >= largest_entry,
            &format!(
                "memtable_max_bytes ({}) must hold one entry of the largest key and value ({largest_entry})",
                self.memtable_max_bytes
            ),
        )?;
        let largest_table =
            crate::sstable::single_entry_table_size(self.key_size_max, self.value_size_max, self.bloom_bits_per_key);
        check(
            self.sstable_max_bytes >= largest_table,
            &format!(
                "sstable_max_bytes ({}) must hold a table of one entry of the largest key and value ({largest_table})",
                self.sstable_max_bytes
            ),
        )?;
        Ok(())
    }

    /// Checks a key and (for a put) a value against these options, as a write
    /// would: `InvalidKey` or `InvalidValue` naming the limit. For callers
    /// that must refuse bad input before it reaches the engine (a Raft
    /// proposal, say).
    pub fn check_entry(&self, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        let op = match value {
            Some(value) => crate::batch::Op::put(key, value),
            None => crate::batch::Op::delete(key),
        };
        crate::wal::check_op_within(&op, self.key_size_max, self.value_size_max)
    }

    /// Memtables a write of `entries` entries holding `bytes` key and value
    /// bytes may freeze, at most (a batch larger than a memtable spans several).
    pub fn memtables_filled(&self, entries: usize, bytes: usize) -> usize {
        let charged = bytes.saturating_add(entries.saturating_mul(MEMTABLE_ENTRY_OVERHEAD));
        entries / self.memtable_max_entries.max(1) + charged / self.memtable_max_bytes.max(1) + 1
    }

    /// Tables one flush may write: a table is cut when the next entry would
    /// break either SSTable cap, so each cap bounds the count on its own.
    pub fn tables_per_flush(&self) -> usize {
        self.memtable_max_entries / self.sstable_max_entries.max(1)
            + self.memtable_max_bytes / self.sstable_max_bytes.max(1)
            + 1
    }

    /// The one place that knows how much storage a call can need, for
    /// backends that must reserve it before the call starts (the OPFS file
    /// pool): the most files and bytes, beyond the live ones, that a call
    /// writing `entries` entries of `bytes` key and value bytes can hold at
    /// once, on a store holding `live_files` files of `live_bytes`.
    ///
    /// Each memtable the call fills adds a WAL file and a flush's tables. A
    /// compaction keeps its inputs until its outputs are committed, and
    /// writes at most about twice as many tables as it reads (an output is
    /// cut when either cap would break, inputs by one of them), so at worst
    /// every live and new table is rewritten once more before the old ones
    /// go. Bytes follow the same reasoning, each table and entry charged its
    /// format overhead. A snapshot or iterator that pins obsolete tables
    /// keeps them beyond this bound.
    pub fn footprint(&self, live_files: usize, live_bytes: u64, entries: usize, bytes: usize) -> Footprint {
        let data = (bytes as u64).saturating_add((entries as u64).saturating_mul(FOOTPRINT_ENTRY_OVERHEAD));
        self.footprint_of_flushes(live_files, live_bytes, self.memtables_filled(entries, bytes), data)
    }

    /// `footprint` of opening a store: recovery replays and flushes what a
    /// crash left in WAL files, then compacts as needed.
    pub fn open_footprint(&self, live_files: usize, live_bytes: u64) -> Footprint {
        let data = (REPLAYED_MEMTABLES_MAX as u64).saturating_mul(self.memtable_max_bytes as u64);
        self.footprint_of_flushes(live_files, live_bytes, REPLAYED_MEMTABLES_MAX, data)
    }

    fn footprint_of_flushes(&self, live_files: usize, live_bytes: u64, flushes: usize, data: u64) -> Footprint {
        let new_tables = flushes.saturating_mul(self.tables_per_flush());
        let files = live_files
            .saturating_add(new_tables)
            .saturating_mul(2)
            .saturating_add(new_tables.saturating_mul(2))
            .saturating_add(FOOTPRINT_FILES_SLACK);
        let table_overhead = (new_tables as u64).saturating_mul(FOOTPRINT_TABLE_OVERHEAD);
        // Live data and the call's (in its WAL and its tables), all of it
        // possibly rewritten once more by a compaction.
        let bytes = live_bytes
            .saturating_add(data.saturating_mul(2))
            .saturating_add(table_overhead)
            .saturating_mul(2)
            .saturating_add((files as u64).saturating_mul(FOOTPRINT_TABLE_OVERHEAD));
        Footprint { files, bytes }
    }

    /// Target size in bytes of level `level` (1-based levels; L0 is counted in tables).
    pub fn level_target_bytes(&self, level: usize) -> u64 {
        debug_assert!(level >= 1);
        let mut target = self.level_base_bytes;
        for _ in 1..level {
            target = target.saturating_mul(u64::from(self.level_size_ratio));
        }
        target
    }
}

impl Default for Options {
    fn default() -> Self {
        Options::production()
    }
}

fn check(ok: bool, reason: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_options(reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_entry_applies_the_key_and_value_limits() {
        let o = Options::teaching();
        assert!(o.check_entry(b"k", Some(b"v")).is_ok() && o.check_entry(b"k", None).is_ok());
        assert!(matches!(o.check_entry(b"", None), Err(Error::InvalidKey { .. })));
        assert!(matches!(o.check_entry(&[b'k'; 1025], None), Err(Error::InvalidKey { .. })));
        assert!(matches!(o.check_entry(b"k", Some(&[0; 64 * 1024 + 1])), Err(Error::InvalidValue { .. })));
    }

    #[test]
    fn presets_are_valid() {
        Options::teaching().validate().unwrap();
        Options::production().validate().unwrap();
    }

    #[test]
    fn zero_and_inconsistent_options_are_rejected() {
        let cases: [fn(&mut Options); 8] = [
            |o| o.memtable_max_entries = 0,
            |o| o.sstable_max_entries = 0,
            |o| o.block_size = 0,
            |o| o.level_size_ratio = 1,
            |o| o.memtable_max_bytes = 10,
            |o| o.sstable_max_bytes = 100,
            |o| o.compaction_threads = 0,
            |o| o.compaction_threads = COMPACTION_THREADS_MAX + 1,
        ];
        for (i, break_it) in cases.iter().enumerate() {
            let mut o = Options::teaching();
            break_it(&mut o);
            assert!(matches!(o.validate(), Err(Error::InvalidOptions { .. })), "case {i}");
        }
    }
}
