//! `Db`: the engine's public face. Each method is one call into `DbInner`,
//! whose parts live one concept to a module:
//!
//! | module | owns |
//! |---|---|
//! | `state` | `DbInner` and the state it shares: write, tree and read views, status |
//! | `open` | FORMAT.md's open and recovery protocol |
//! | `write` | the write path: validate, WAL append, memtable insert, group commit |
//! | `read` | point reads (and `explain_get`'s trace of them) |
//! | `range` | range reads: `RangeOptions`, `DbIterator` |
//! | `snapshot` | snapshots and the oldest sequence any reader may see |
//! | `maintenance` | the maintenance round, inline or on a background thread, and writer backpressure |
//! | `flush` | a frozen memtable to L0 tables; WAL retirement |
//! | `table_sink` | writing a sorted stream into tables under the SSTable caps (flush and compaction) |
//! | `compact` | running the picker's decisions; committing version edits |
//! | `stats` | counters, `Stats`, `Health`, `SpaceStats` |
//!
//! Concurrency: one writer at a time holds `write` (appending to the WAL,
//! inserting into the memtable, and running any flush or compaction that
//! makes necessary). Readers never take that lock: they clone the current
//! `ReadView` (memtables + version, all immutable or internally locked) under
//! a brief read lock and work from it, so a flush writing tables never
//! blocks a reader. Syncs of the WAL happen outside the write lock, so
//! writers arriving during a sync append behind it and share the next one
//! (group commit).

mod compact;
mod flush;
mod maintenance;
mod open;
mod range;
mod read;
mod snapshot;
mod state;
mod stats;
mod table_sink;
mod write;

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::batch::{Op, WriteBatch};
use crate::error::{Error, Result};
use crate::event::{CompactionReport, EventKind, EventPage, FlushReport};
use crate::options::Options;
use crate::sstable::TableInspection;
use crate::stats::{Health, SpaceStats, Stats};
use crate::storage::Storage;

pub use range::{DbIterator, RangeOptions};
pub use read::{GetTrace, Probe};
pub use snapshot::Snapshot;
use state::DbInner;

/// An open database. Cheap to clone; clones share the database. `Send + Sync`
/// natively: use it from several threads.
#[derive(Clone)]
pub struct Db {
    inner: Arc<DbInner>,
    /// The background worker, if any; stopped when the last clone drops.
    _worker: Option<Arc<maintenance::Worker>>,
}

impl core::fmt::Debug for Db {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Db").field("last_seq", &self.inner.last_seq()).finish()
    }
}

impl Db {
    /// Opens (or creates) the database in `storage`, recovering from the WAL
    /// (FORMAT.md, "Open and recovery").
    pub fn open(storage: impl Storage + 'static, options: Options) -> Result<Db> {
        Self::open_shared(Arc::new(storage), options)
    }

    /// Like `open`, for storage the caller keeps a handle to.
    pub fn open_shared(storage: Arc<dyn Storage>, options: Options) -> Result<Db> {
        options.validate()?;
        let inner = Arc::new(open::open(storage, options)?);
        let worker = inner.maintenance.start(Arc::downgrade(&inner)).map(Arc::new);
        // Recovery may have left work: a compaction the tree needs.
        inner.maintenance.request();
        Ok(Db { inner, _worker: worker })
    }

    /// The options the database runs with.
    pub fn options(&self) -> &Options {
        &self.inner.options
    }

    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.inner.write_ops(&[Op::put(key, value)])
    }

    pub fn delete(&self, key: &[u8]) -> Result<()> {
        self.inner.write_ops(&[Op::delete(key)])
    }

    /// Applies the batch atomically: all or nothing, also across a crash.
    pub fn write(&self, batch: &WriteBatch) -> Result<()> {
        self.inner.write_ops(&batch.as_ops())
    }

    /// Puts every pair atomically.
    pub fn batch_put<K: AsRef<[u8]>, V: AsRef<[u8]>>(&self, entries: impl IntoIterator<Item = (K, V)>) -> Result<()> {
        let mut batch = WriteBatch::new();
        for (key, value) in entries {
            batch.put(key.as_ref(), value.as_ref());
        }
        self.write(&batch)
    }

    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.inner.get(key, None, None)
    }

    pub fn get_at(&self, key: &[u8], snapshot: &Snapshot) -> Result<Option<Vec<u8>>> {
        self.inner.get(key, Some(snapshot.seq()), None)
    }

    /// A get that records every place it looked (memtables, each table
    /// skipped by range or bloom filter, each table searched).
    pub fn explain_get(&self, key: &[u8]) -> Result<GetTrace> {
        self.inner.explain_get(key)
    }

    /// A snapshot of everything acknowledged so far.
    pub fn snapshot(&self) -> Snapshot {
        self.inner.snapshot()
    }

    /// A cursor over a range; see `RangeOptions`.
    pub fn iter(&self, options: &RangeOptions) -> Result<DbIterator> {
        self.inner.check_not_closed()?;
        DbIterator::new(&self.inner, options)
    }

    /// Every (key, value) in a range, in order.
    pub fn range(&self, options: &RangeOptions) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.iter(options)?.collect()
    }

    /// Every key in a range, in order.
    pub fn keys(&self, options: &RangeOptions) -> Result<Vec<Vec<u8>>> {
        self.iter(options)?.map(|item| item.map(|(key, _)| key)).collect()
    }

    /// Flushes the memtable to L0 (`None` if it was empty), then runs any
    /// compaction the tree needs if `auto_compaction` is on.
    pub fn flush(&self) -> Result<Option<FlushReport>> {
        self.inner.flush(true)
    }

    /// Makes every acknowledged write durable (for `Durability::Buffered`).
    pub fn sync(&self) -> Result<()> {
        self.inner.check_open()?;
        self.inner.sync_wal_through(self.inner.last_seq())
    }

    /// Flushes, then merges every table into one sorted run in the deepest
    /// level holding data, dropping overwritten versions and tombstones.
    pub fn compact(&self) -> Result<Vec<CompactionReport>> {
        self.inner.flush(false)?;
        self.inner.compact_range(None, None)
    }

    /// Compacts every table overlapping `[start, end]` (None: unbounded)
    /// into the deepest level among them.
    pub fn compact_range(&self, start: Option<&[u8]>, end: Option<&[u8]>) -> Result<Vec<CompactionReport>> {
        if let (Some(s), Some(e)) = (start, end) {
            if s > e {
                return Err(Error::invalid_argument("compact_range: start is after end"));
            }
        }
        self.inner.compact_range(start, end)
    }

    /// Runs the one compaction the tree needs most, if it needs one.
    pub fn compact_step(&self) -> Result<Option<CompactionReport>> {
        self.inner.compact_step()
    }

    /// Counters and shape, without I/O.
    pub fn stats(&self) -> Stats {
        self.inner.stats()
    }

    /// Live versus stored bytes, by a full scan.
    pub fn space(&self) -> Result<SpaceStats> {
        self.inner.space(self.iter(&RangeOptions::default())?)
    }

    pub fn health(&self) -> Health {
        self.inner.health()
    }

    /// Events after cursor `since` (0: from the oldest kept), at most `max`.
    pub fn events(&self, since: u64, max: usize) -> EventPage {
        self.inner.events.lock().since(since, max)
    }

    /// Adds an `EventKind::StorageNotice` to the event feed.
    pub fn record_notice(&self, message: impl Into<String>) {
        self.inner.event(EventKind::StorageNotice { message: message.into() });
    }

    /// Every block and entry of live table `number`.
    pub fn inspect_table(&self, number: u64) -> Result<TableInspection> {
        self.inner.inspect_table(number)
    }

    /// Syncs the WAL and refuses every later call with `Error::Closed`.
    /// Closing twice is harmless.
    pub fn close(&self) -> Result<()> {
        self.inner.close()
    }
}
