//! `Db`: the engine's public face. STUB: signatures fixed, bodies in progress.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::Bound;

use crate::batch::WriteBatch;
use crate::error::Result;
use crate::event::{CompactionReport, EventPage, FlushReport};
use crate::options::Options;
use crate::sstable::TableInspection;
use crate::stats::{Health, SpaceStats, Stats};
use crate::storage::Storage;

/// A read-only view of the database as of one moment. Reads at a snapshot
/// see exactly the writes acknowledged before it was taken. Dropping the
/// last clone releases the versions it pins.
#[derive(Clone, Debug)]
pub struct Snapshot {
    seq: u64,
}

impl Snapshot {
    /// The sequence number the snapshot reads at.
    pub fn seq(&self) -> u64 {
        self.seq
    }
}

/// What a range read covers. The default is every key, forward, no limit.
#[derive(Clone, Debug)]
pub struct RangeOptions {
    pub start: Bound<Vec<u8>>,
    pub end: Bound<Vec<u8>>,
    /// Only keys starting with this prefix (intersected with start/end).
    pub prefix: Option<Vec<u8>>,
    /// Largest key first.
    pub reverse: bool,
    /// At most this many entries.
    pub limit: Option<usize>,
    /// Read at this snapshot instead of now.
    pub snapshot: Option<Snapshot>,
}

impl Default for RangeOptions {
    fn default() -> Self {
        RangeOptions {
            start: Bound::Unbounded,
            end: Bound::Unbounded,
            prefix: None,
            reverse: false,
            limit: None,
            snapshot: None,
        }
    }
}

/// Where one step of a get looked, for `Db::explain_get`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// The active memtable was searched.
    Memtable { found: bool },
    /// A frozen memtable awaiting flush was searched.
    FrozenMemtable { found: bool },
    /// A table whose key range does not cover the key: skipped without I/O.
    OutOfRange { level: usize, table: u64 },
    /// The table's bloom filter proved the key absent: skipped without I/O.
    BloomNegative { level: usize, table: u64 },
    /// The table's blocks were read.
    Searched { level: usize, table: u64, found: bool },
}

/// How a get went, step by step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetTrace {
    pub probes: Vec<Probe>,
    /// The value found (`None`: absent or deleted).
    pub value: Option<Vec<u8>>,
    /// The version that decided the answer: its sequence number, and whether
    /// it was a tombstone.
    pub decided_by: Option<(u64, bool)>,
}

/// A forward or reverse cursor over a range. Yields `(key, value)`.
pub struct DbIterator {}

impl DbIterator {
    /// Moves to the first key ≥ `key` (forward) or ≤ `key` (reverse),
    /// staying within the iterator's range.
    pub fn seek(&mut self, key: &[u8]) -> Result<()> {
        let _ = key;
        todo!()
    }
}

impl Iterator for DbIterator {
    type Item = Result<(Vec<u8>, Vec<u8>)>;
    fn next(&mut self) -> Option<Self::Item> {
        todo!()
    }
}

/// An open database. Cheap to clone; clones share the database. `Send + Sync`
/// natively: use it from several threads.
#[derive(Clone)]
pub struct Db {
    _inner: Arc<()>,
}

#[allow(unused_variables)]
impl Db {
    /// Opens (or creates) the database in `storage`, recovering from the WAL.
    pub fn open(storage: impl Storage + 'static, options: Options) -> Result<Db> {
        todo!()
    }
    /// Like `open`, for storage the caller keeps a handle to.
    pub fn open_shared(storage: Arc<dyn Storage>, options: Options) -> Result<Db> {
        todo!()
    }
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        todo!()
    }
    pub fn delete(&self, key: &[u8]) -> Result<()> {
        todo!()
    }
    /// Applies the batch atomically: all or nothing, also across a crash.
    pub fn write(&self, batch: &WriteBatch) -> Result<()> {
        todo!()
    }
    /// Puts every pair atomically.
    pub fn batch_put<K: AsRef<[u8]>, V: AsRef<[u8]>>(&self, entries: impl IntoIterator<Item = (K, V)>) -> Result<()> {
        todo!()
    }
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        todo!()
    }
    pub fn get_at(&self, key: &[u8], snapshot: &Snapshot) -> Result<Option<Vec<u8>>> {
        todo!()
    }
    /// A get that records every place it looked.
    pub fn explain_get(&self, key: &[u8]) -> Result<GetTrace> {
        todo!()
    }
    pub fn snapshot(&self) -> Snapshot {
        todo!()
    }
    pub fn iter(&self, options: &RangeOptions) -> Result<DbIterator> {
        todo!()
    }
    pub fn range(&self, options: &RangeOptions) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        todo!()
    }
    pub fn keys(&self, options: &RangeOptions) -> Result<Vec<Vec<u8>>> {
        todo!()
    }
    /// Flushes the memtable to L0 (None if it was empty).
    pub fn flush(&self) -> Result<Option<FlushReport>> {
        todo!()
    }
    /// Makes every acknowledged write durable (for `Durability::Buffered`).
    pub fn sync(&self) -> Result<()> {
        todo!()
    }
    /// Flushes, then merges every table into one sorted run.
    pub fn compact(&self) -> Result<Vec<CompactionReport>> {
        todo!()
    }
    /// Compacts every table overlapping `[start, end]` (None: unbounded).
    pub fn compact_range(&self, start: Option<&[u8]>, end: Option<&[u8]>) -> Result<Vec<CompactionReport>> {
        todo!()
    }
    /// Runs one compaction if the tree needs one.
    pub fn compact_step(&self) -> Result<Option<CompactionReport>> {
        todo!()
    }
    pub fn stats(&self) -> Stats {
        todo!()
    }
    pub fn space(&self) -> Result<SpaceStats> {
        todo!()
    }
    pub fn health(&self) -> Health {
        todo!()
    }
    /// Events after cursor `since` (0: from the oldest kept), at most `max`.
    pub fn events(&self, since: u64, max: usize) -> EventPage {
        todo!()
    }
    /// Every block and entry of live table `number`.
    pub fn inspect_table(&self, number: u64) -> Result<TableInspection> {
        todo!()
    }
    /// Syncs the WAL and refuses further calls with `Error::Closed`.
    pub fn close(&self) -> Result<()> {
        todo!()
    }
}
