//! The state the engine's parts share (`DbInner`) and how it is locked:
//! the write path's (`WriteState`, under `write`), the tree's (`TreeState`,
//! under `tree`), and what readers read (`ReadView`, swapped whole).

use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use super::maintenance::Maintenance;
use super::snapshot::SnapshotList;
use super::stats::Counters;
use super::write::GroupCommit;
use crate::error::{Error, Result};
use crate::event::{EventKind, EventLog};
use crate::manifest::ManifestWriter;
use crate::memtable::Memtable;
use crate::options::{Options, LEVELS};
use crate::sstable::TableCache;
use crate::storage::CountingStorage;
use crate::sync::{Mutex, RwLock};
use crate::version::{TableMeta, Version};
use crate::wal::WalWriter;

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

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Status {
    Open,
    ReadOnly(String),
    Closed,
}

pub(crate) struct DbInner {
    pub(super) storage: Arc<CountingStorage>,
    pub(super) options: Options,
    /// Lock order: `tree`, then `write`, then `view`.
    pub(super) write: Mutex<WriteState>,
    pub(super) tree: Mutex<TreeState>,
    /// File numbers for WALs (writer) and tables (maintenance) alike.
    pub(super) next_file_number: AtomicU64,
    pub(super) view: RwLock<Arc<ReadView>>,
    /// Readers see sequence numbers up to here: every write at or below it
    /// is complete (and durable, under `Durability::Sync`).
    pub(super) visible_seq: AtomicU64,
    pub(super) group: GroupCommit,
    pub(super) snapshots: Arc<SnapshotList>,
    pub(super) tables: Arc<TableCache>,
    pub(super) counters: Counters,
    pub(super) events: Mutex<EventLog>,
    pub(super) status: Mutex<Status>,
    /// Whether flushes and compactions run on a background thread.
    pub(super) maintenance: Maintenance,
}

impl DbInner {
    pub(super) fn allocate_file_number(&self) -> u64 {
        self.next_file_number.fetch_add(1, Ordering::Relaxed)
    }

    pub(super) fn check_open(&self) -> Result<()> {
        match &*self.status.lock() {
            Status::Open => Ok(()),
            Status::ReadOnly(reason) => Err(Error::ReadOnly { reason: reason.clone() }),
            Status::Closed => Err(Error::Closed),
        }
    }

    pub(super) fn check_not_closed(&self) -> Result<()> {
        match *self.status.lock() {
            Status::Closed => Err(Error::Closed),
            _ => Ok(()),
        }
    }

    /// Records a failed write, sync, flush or compaction: the database turns
    /// read-only (after a failed sync, what is durable is unknown; reopening
    /// recovers from the WAL). Returns the error for the caller to propagate.
    pub(super) fn fail(&self, error: Error) -> Error {
        self.go_read_only(error.to_string());
        error
    }

    /// Turns an open database read-only for `reason` (the first reason wins).
    pub(super) fn go_read_only(&self, reason: String) {
        let mut status = self.status.lock();
        if *status == Status::Open {
            *status = Status::ReadOnly(reason.clone());
            drop(status);
            self.event(EventKind::WentReadOnly { reason });
        }
    }

    pub(super) fn event(&self, kind: EventKind) {
        self.events.lock().push(kind);
    }

    pub(super) fn view(&self) -> Arc<ReadView> {
        self.view.read().clone()
    }

    /// Publishes the memtables and a version to readers, and sets the pace
    /// writers are held to for L0's depth. Called with the write lock held,
    /// so memtable changes and version changes never race.
    pub(super) fn install_view(&self, w: &WriteState, version: Arc<Version>) {
        self.maintenance.set_pace(super::maintenance::pace_rate(&self.options, version.levels[0].len()));
        let view = ReadView { mem: w.mem.clone(), frozen: w.frozen.iter().rev().cloned().collect(), version };
        *self.view.write() = Arc::new(view);
    }

    /// `Db::close`: refuses every later call, then syncs the WAL.
    pub(super) fn close(&self) -> Result<()> {
        // Taking the tree and write locks waits for a flush, a compaction or
        // a write in progress to finish; frozen memtables left unflushed are
        // in synced WAL files and are replayed at the next open.
        let was = {
            let _tree = self.tree.lock();
            let _writer = self.write.lock();
            core::mem::replace(&mut *self.status.lock(), Status::Closed)
        };
        match was {
            Status::Open => self.sync_wal_through(self.last_seq()),
            Status::ReadOnly(_) | Status::Closed => Ok(()),
        }
    }
}
