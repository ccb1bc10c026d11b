//! `Db`: the engine's public face, and the state its parts share.
//!
//! Concurrency: one writer at a time holds `write` (appending to the WAL,
//! inserting into the memtable, and running any flush or compaction that
//! makes necessary). Readers never take that lock: they clone the current
//! `ReadView` (memtables + version, all immutable or internally locked) under
//! a brief read lock and work from it, so a flush writing tables never
//! blocks a reader. Syncs of the WAL happen outside the write lock, so
//! writers arriving during a sync append behind it and share the next one
//! (group commit).

mod background;
mod compact;
mod flush;
mod iter;
mod open;
mod read;
mod tables;
mod write;

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::batch::{Op, WriteBatch};
use crate::error::{Error, Result};
use crate::event::{CompactionReport, EventKind, EventLog, EventPage, FlushReport};
use crate::manifest::ManifestWriter;
use crate::memtable::Memtable;
use crate::options::{Options, LEVELS};
use crate::sstable::TableInspection;
use crate::stats::{Health, HealthStatus, LevelStats, SpaceStats, Stats, TableSummary};
use crate::storage::Storage;
use crate::sync::{Mutex, RwLock};
use crate::version::{TableMeta, Version};
use crate::wal::WalWriter;

pub use iter::{DbIterator, RangeOptions};
pub use read::{GetTrace, Probe};
use tables::{CountingStorage, TableCache};

/// A read-only view of the database as of one moment: reads at a snapshot
/// see exactly the writes acknowledged before it was taken. Compaction keeps
/// every version a live snapshot can see; dropping the last clone lets it
/// discard them.
pub struct Snapshot {
    seq: u64,
    list: Arc<SnapshotList>,
}

impl Snapshot {
    /// The sequence number the snapshot reads at.
    pub fn seq(&self) -> u64 {
        self.seq
    }
}

impl Clone for Snapshot {
    fn clone(&self) -> Self {
        self.list.acquire(self.seq);
        Snapshot { seq: self.seq, list: self.list.clone() }
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        self.list.release(self.seq);
    }
}

impl core::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Snapshot").field("seq", &self.seq).finish()
    }
}

/// Sequence numbers of live snapshots, with reference counts.
#[derive(Default)]
pub(crate) struct SnapshotList {
    live: Mutex<BTreeMap<u64, usize>>,
}

impl SnapshotList {
    fn acquire(&self, seq: u64) {
        *self.live.lock().entry(seq).or_insert(0) += 1;
    }

    fn release(&self, seq: u64) {
        let mut live = self.live.lock();
        if let Some(count) = live.get_mut(&seq) {
            *count -= 1;
            if *count == 0 {
                live.remove(&seq);
            }
        }
    }

    fn oldest(&self) -> Option<u64> {
        self.live.lock().keys().next().copied()
    }
}

/// What readers read: the memtables and the version, swapped as a whole.
pub(crate) struct ReadView {
    pub mem: Arc<Memtable>,
    /// Frozen memtables awaiting flush, newest first.
    pub frozen: Vec<Arc<Memtable>>,
    pub version: Arc<Version>,
}

/// A closed WAL file whose data is not all in tables yet.
#[derive(Clone, Debug)]
pub(crate) struct WalFile {
    pub number: u64,
    /// Highest sequence number the file holds (0: none).
    pub last_seq: u64,
    pub bytes: u64,
}

/// The write path's state (under `DbInner::write`): the WAL and the memtables.
pub(crate) struct WriteState {
    /// The WAL being appended to; created at the first write after a rotation.
    pub wal: Option<WalWriter>,
    /// Highest sequence number appended to `wal`.
    pub wal_last_seq: u64,
    /// Closed WAL files, oldest first, kept until a flush covers them.
    pub closed_wals: Vec<WalFile>,
    /// Highest sequence number assigned.
    pub last_seq: u64,
    pub mem: Arc<Memtable>,
    /// Frozen memtables awaiting flush, oldest first.
    pub frozen: Vec<Arc<Memtable>>,
}

/// The tree's state (under `DbInner::tree`): the version and its manifest.
/// Flushes and compactions hold this lock for their whole run, so they are
/// serialised with each other but never block a writer for long: they take
/// the write lock only for a moment, to retire a frozen memtable.
pub(crate) struct TreeState {
    pub manifest: ManifestWriter,
    pub version: Arc<Version>,
    /// Every write up to here is in a table.
    pub flushed_seq: u64,
    /// Where the last size-triggered compaction of each level ended.
    pub pointers: [Option<Vec<u8>>; LEVELS],
    /// Tables no longer in the version, removed once no reader holds them.
    pub obsolete: Vec<Arc<TableMeta>>,
}

/// Counters behind `Stats`.
#[derive(Default)]
pub(crate) struct Counters {
    pub flushes: AtomicU64,
    pub compactions: AtomicU64,
    pub user_bytes_written: AtomicU64,
    pub gets: AtomicU64,
    pub tables_probed: AtomicU64,
    pub bloom_negatives: AtomicU64,
    pub wal_tail_truncations: AtomicU64,
    pub write_stalls: AtomicU64,
    pub write_stall_micros: AtomicU64,
    /// Mirrors of writer state, readable without the write lock.
    pub last_seq: AtomicU64,
    pub flushed_seq: AtomicU64,
    pub wal_files: AtomicU64,
    pub wal_bytes: AtomicU64,
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

fn load(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// Group commit: one syncer at a time; a writer whose bytes a finished sync
/// covered returns without syncing again.
pub(crate) struct GroupCommit {
    leader: Mutex<()>,
    /// Every WAL byte of sequence numbers ≤ this is durable.
    synced_seq: AtomicU64,
    /// The WAL file holding the newest appended bytes, and their last sequence.
    head: Mutex<(Arc<str>, u64)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Status {
    Open,
    ReadOnly(String),
    Closed,
}

pub(crate) struct DbInner {
    storage: Arc<CountingStorage>,
    options: Options,
    /// Lock order: `tree`, then `write`, then `view`.
    write: Mutex<WriteState>,
    tree: Mutex<TreeState>,
    /// File numbers for WALs (writer) and tables (maintenance) alike.
    next_file_number: AtomicU64,
    view: RwLock<Arc<ReadView>>,
    /// Readers see sequence numbers up to here: every write at or below it
    /// is complete (and durable, under `Durability::Sync`).
    visible_seq: AtomicU64,
    group: GroupCommit,
    snapshots: Arc<SnapshotList>,
    tables: Arc<TableCache>,
    counters: Counters,
    events: Mutex<EventLog>,
    status: Mutex<Status>,
    /// Whether flushes and compactions run on a background thread.
    maintenance: background::Maintenance,
}

impl DbInner {
    fn allocate_file_number(&self) -> u64 {
        self.next_file_number.fetch_add(1, Ordering::Relaxed)
    }

    fn check_open(&self) -> Result<()> {
        match &*self.status.lock() {
            Status::Open => Ok(()),
            Status::ReadOnly(reason) => Err(Error::ReadOnly { reason: reason.clone() }),
            Status::Closed => Err(Error::Closed),
        }
    }

    fn check_not_closed(&self) -> Result<()> {
        match *self.status.lock() {
            Status::Closed => Err(Error::Closed),
            _ => Ok(()),
        }
    }

    /// Records a failed write, sync, flush or compaction: the database turns
    /// read-only (after a failed sync, what is durable is unknown; reopening
    /// recovers from the WAL). Returns the error for the caller to propagate.
    fn fail(&self, error: Error) -> Error {
        self.go_read_only(error.to_string());
        error
    }

    /// Turns an open database read-only for `reason` (the first reason wins).
    fn go_read_only(&self, reason: String) {
        let mut status = self.status.lock();
        if *status == Status::Open {
            *status = Status::ReadOnly(reason.clone());
            drop(status);
            self.event(EventKind::WentReadOnly { reason });
        }
    }

    fn event(&self, kind: EventKind) {
        self.events.lock().push(kind);
    }

    fn view(&self) -> Arc<ReadView> {
        self.view.read().clone()
    }

    /// Publishes the memtables and a version to readers. Called with the
    /// write lock held, so memtable changes and version changes never race.
    fn install_view(&self, w: &WriteState, version: Arc<Version>) {
        let view = ReadView { mem: w.mem.clone(), frozen: w.frozen.iter().rev().cloned().collect(), version };
        *self.view.write() = Arc::new(view);
    }

    fn snapshot(&self) -> Snapshot {
        let list = self.snapshots.clone();
        // Hold the snapshot list's lock while reading the sequence, so a
        // compaction that reads the oldest snapshot cannot slip in between.
        let mut live = list.live.lock();
        let seq = self.visible_seq.load(Ordering::Acquire);
        *live.entry(seq).or_insert(0) += 1;
        drop(live);
        Snapshot { seq, list }
    }

    /// The oldest sequence number any reader may read at: the oldest live
    /// snapshot, or what readers see now.
    fn oldest_snapshot(&self) -> u64 {
        let visible = self.visible_seq.load(Ordering::Acquire);
        self.snapshots.oldest().map_or(visible, |s| s.min(visible))
    }
}

/// An open database. Cheap to clone; clones share the database. `Send + Sync`
/// natively: use it from several threads.
#[derive(Clone)]
pub struct Db {
    inner: Arc<DbInner>,
    /// The background worker, if any; stopped when the last clone drops.
    _worker: Option<Arc<background::Worker>>,
}

impl core::fmt::Debug for Db {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Db").field("last_seq", &load(&self.inner.counters.last_seq)).finish()
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
        self.inner.get(key, Some(snapshot.seq), None)
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
        let last = load(&self.inner.counters.last_seq);
        self.inner.sync_wal_through(last)
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
        let mut live_keys = 0u64;
        let mut live_bytes = 0u64;
        for item in self.iter(&RangeOptions::default())? {
            let (key, value) = item?;
            live_keys += 1;
            live_bytes += (key.len() + value.len()) as u64;
        }
        let stored_bytes = self.inner.stored_bytes();
        let space_amplification = if live_bytes == 0 { 0.0 } else { stored_bytes as f64 / live_bytes as f64 };
        Ok(SpaceStats { live_keys, live_bytes, stored_bytes, space_amplification })
    }

    pub fn health(&self) -> Health {
        let (status, reason) = match &*self.inner.status.lock() {
            Status::Open => (HealthStatus::Ok, None),
            Status::ReadOnly(reason) => (HealthStatus::ReadOnly, Some(reason.clone())),
            Status::Closed => (HealthStatus::Closed, None),
        };
        Health {
            status,
            reason,
            wal_tail_truncations: load(&self.inner.counters.wal_tail_truncations),
            last_seq: load(&self.inner.counters.last_seq),
        }
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
        let view = self.inner.view();
        let meta = view
            .version
            .tables()
            .find(|(_, t)| t.number == number)
            .map(|(_, t)| t.clone())
            .ok_or_else(|| Error::invalid_argument(alloc::format!("no live table numbered {number}")))?;
        let table = self.inner.tables.get(&meta)?;
        table.inspect(&*self.inner.tables.storage)
    }

    /// Syncs the WAL and refuses every later call with `Error::Closed`.
    /// Closing twice is harmless.
    pub fn close(&self) -> Result<()> {
        // Taking the tree and write locks waits for a flush, a compaction or
        // a write in progress to finish; frozen memtables left unflushed are
        // in synced WAL files and are replayed at the next open.
        let was = {
            let _tree = self.inner.tree.lock();
            let _writer = self.inner.write.lock();
            core::mem::replace(&mut *self.inner.status.lock(), Status::Closed)
        };
        match was {
            Status::Open => self.inner.sync_wal_through(load(&self.inner.counters.last_seq)),
            Status::ReadOnly(_) | Status::Closed => Ok(()),
        }
    }
}

impl DbInner {
    fn stored_bytes(&self) -> u64 {
        self.view().version.total_bytes() + load(&self.counters.wal_bytes)
    }

    fn stats(&self) -> Stats {
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
        let probed = load(&c.tables_probed);
        Stats {
            memtable_entries: view.mem.entries(),
            memtable_bytes: view.mem.bytes(),
            memtable_max_entries: self.options.memtable_max_entries as u64,
            memtable_max_bytes: self.options.memtable_max_bytes as u64,
            sstable_max_entries: self.options.sstable_max_entries as u64,
            sstable_max_bytes: self.options.sstable_max_bytes as u64,
            immutable_memtables: view.frozen.len() as u64,
            levels,
            wal_files: load(&c.wal_files),
            wal_bytes: load(&c.wal_bytes),
            last_seq: load(&c.last_seq),
            flushed_seq: load(&c.flushed_seq),
            flushes: load(&c.flushes),
            compactions: load(&c.compactions),
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
            wal_tail_truncations: load(&c.wal_tail_truncations),
            write_stalls: load(&c.write_stalls),
            write_stall_micros: load(&c.write_stall_micros),
            durability: self.options.durability,
        }
    }
}
