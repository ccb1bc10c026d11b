//! The write path: validate, append to the WAL, insert into the memtable
//! (freezing it when a cap would be exceeded), sync (shared by concurrent
//! writers), publish; then have any frozen memtable flushed.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use super::state::{DbInner, Status, WalFile, WriteState};
use super::stats::bump;
use crate::batch::Op;
use crate::error::{Error, IoKind, Result};
use crate::event::EventKind;
use crate::key::SEQ_MAX;
use crate::memtable::Memtable;
use crate::options::Durability;
use crate::storage::Storage;
use crate::sync::Mutex;
use crate::wal::{self, WalWriter};

/// Group commit: one syncer at a time; a writer whose bytes a finished sync
/// covered returns without syncing again.
pub(crate) struct GroupCommit {
    pub(super) leader: Mutex<()>,
    /// Every WAL byte of sequence numbers ≤ this is durable.
    pub(super) synced_seq: AtomicU64,
    /// The WAL file holding the newest appended bytes, and their last sequence.
    pub(super) head: Mutex<(Arc<str>, u64)>,
}

impl DbInner {
    /// Writes the operations atomically (one WAL record).
    pub(super) fn write_ops(&self, ops: &[Op<'_>]) -> Result<()> {
        self.validate_ops(ops)?;
        let user_bytes: usize = ops.iter().map(|op| op.key.len() + op.value.len()).sum();
        self.pace(user_bytes as u64);
        let (last, froze) = {
            let mut w = self.write.lock();
            self.check_open()?;
            let first = w.last_seq + 1;
            let last = first + ops.len() as u64 - 1;
            if last >= SEQ_MAX {
                return Err(self.fail(Error::invalid_argument("sequence numbers exhausted")));
            }
            // Make room for the first op before logging, so a WAL file holds
            // the records of its own memtable (a batch may spill into the next).
            let mut froze = self.make_room(&mut w, ops[0].key.len(), ops[0].value.len())?;
            self.append_to_wal(&mut w, first, ops)?;
            w.last_seq = last;
            self.counters.last_seq.store(last, Ordering::Relaxed);
            froze |= self.apply(&mut w, first, ops)?;
            (last, froze)
        };
        bump(&self.counters.user_bytes_written, user_bytes as u64);
        if self.options.durability == Durability::Sync {
            self.sync_wal_through(last)?;
        }
        self.visible_seq.fetch_max(last, Ordering::Release);
        if froze {
            self.after_freeze();
        }
        Ok(())
    }

    /// Keys are 1..=key_size_max bytes, values at most value_size_max, a
    /// batch holds at least one op and fits one WAL record.
    fn validate_ops(&self, ops: &[Op<'_>]) -> Result<()> {
        if ops.is_empty() {
            return Err(Error::invalid_argument("a batch needs at least one operation"));
        }
        let options = &self.options;
        ops.iter().try_for_each(|op| wal::check_op_within(op, options.key_size_max, options.value_size_max))?;
        wal::check_fits(ops)
    }

    /// Appends the batch to the WAL, creating the WAL file if this is the
    /// first write since a rotation.
    fn append_to_wal(&self, w: &mut WriteState, first: u64, ops: &[Op<'_>]) -> Result<()> {
        if w.wal.is_none() {
            let number = self.allocate_file_number();
            let wal = WalWriter::create(&*self.storage, number).map_err(|e| self.fail(e))?;
            bump(&self.counters.wal_files, 1);
            bump(&self.counters.wal_bytes, wal.len());
            *self.group.head.lock() = (Arc::from(wal.name()), w.last_seq);
            w.wal = Some(wal);
        }
        let wal = w.wal.as_mut().expect("created above");
        let appended = wal.append(&*self.storage, first, ops).map_err(|e| self.fail(e))?;
        bump(&self.counters.wal_bytes, appended);
        let last = first + ops.len() as u64 - 1;
        w.wal_last_seq = last;
        self.group.head.lock().1 = last;
        Ok(())
    }

    /// Inserts the batch into the memtable, freezing it whenever the next
    /// insert would exceed a cap: a batch larger than a memtable spans
    /// several, and stays invisible to readers until all of it is in,
    /// because `visible_seq` moves only afterwards. Returns whether a
    /// memtable was frozen.
    pub(super) fn apply(&self, w: &mut WriteState, first: u64, ops: &[Op<'_>]) -> Result<bool> {
        let mut froze = false;
        for (i, op) in ops.iter().enumerate() {
            froze |= self.make_room(w, op.key.len(), op.value.len())?;
            w.mem.insert(op.key, first + i as u64, op.kind, op.value);
            assert!(
                w.mem.entries() <= self.options.memtable_max_entries as u64
                    && w.mem.bytes() <= self.options.memtable_max_bytes as u64,
                "memtable caps hold after every insert"
            );
        }
        Ok(froze)
    }

    /// Freezes the memtable if one more entry of these sizes would exceed a
    /// cap. Returns whether it did.
    fn make_room(&self, w: &mut WriteState, key_len: usize, value_len: usize) -> Result<bool> {
        let mem = &w.mem;
        let full_entries = mem.entries() + 1 > self.options.memtable_max_entries as u64;
        let full_bytes = mem.bytes() + Memtable::charge(key_len, value_len) > self.options.memtable_max_bytes as u64;
        if mem.is_empty() || !(full_entries || full_bytes) {
            return Ok(false);
        }
        self.rotate(w)?;
        Ok(true)
    }

    /// Freezes the memtable: closes (and syncs) the current WAL, starts an
    /// empty memtable. The next write creates a new WAL. The frozen memtable
    /// is flushed by `maintain`.
    pub(super) fn rotate(&self, w: &mut WriteState) -> Result<()> {
        assert!(!w.mem.is_empty(), "only a non-empty memtable is frozen");
        if let Some(wal) = w.wal.take() {
            self.storage.sync(wal.name()).map_err(|e| self.fail(e))?;
            self.group.synced_seq.fetch_max(w.wal_last_seq, Ordering::AcqRel);
            w.closed_wals.push(WalFile { number: wal.number(), last_seq: w.wal_last_seq, bytes: wal.len() });
        }
        let frozen = core::mem::replace(&mut w.mem, Arc::new(Memtable::new()));
        self.event(EventKind::MemtableFrozen { entries: frozen.entries(), bytes: frozen.bytes() });
        w.frozen.push(frozen);
        self.install_view(w, self.view().version.clone());
        Ok(())
    }

    /// Makes WAL bytes of every sequence number ≤ `seq` durable. One caller
    /// syncs at a time; callers that waited behind a sync that covered them
    /// return at once (group commit).
    ///
    /// A failed sync is never retried: after one, the kernel may report a
    /// later fsync as successful although the data was dropped (FORMAT.md,
    /// "Failed I/O"). So the failure turns the database read-only, and
    /// every writer not yet covered by an earlier successful sync — the one
    /// that failed and those queued behind it — gets the error.
    pub(super) fn sync_wal_through(&self, seq: u64) -> Result<()> {
        let group = &self.group;
        if group.synced_seq.load(Ordering::Acquire) >= seq {
            return Ok(());
        }
        let _leader = group.leader.lock();
        if group.synced_seq.load(Ordering::Acquire) >= seq {
            return Ok(());
        }
        // Read-only: a sync failed. (Closed is fine: `close` syncs after
        // setting it, and a writer racing with it may still sync its bytes.)
        if let Status::ReadOnly(reason) = &*self.status.lock() {
            return Err(Error::ReadOnly { reason: reason.clone() });
        }
        let (name, through) = group.head.lock().clone();
        match self.storage.sync(&name) {
            Ok(()) => {
                group.synced_seq.fetch_max(through, Ordering::AcqRel);
                Ok(())
            }
            // The file was rotated, synced whole and retired while we
            // waited: nothing of it is at risk.
            Err(e) if e.is_io(IoKind::NotFound) && group.synced_seq.load(Ordering::Acquire) >= through => Ok(()),
            Err(e) => Err(self.fail(e)),
        }
    }
}
