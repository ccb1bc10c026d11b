//! Flush: the oldest frozen memtable becomes L0 tables (through the table
//! sink), committed to the manifest, and the WAL files it covered retire
//! (FORMAT.md, "Flush").

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use super::state::{DbInner, TreeState, WriteState};
use super::stats::bump;
use crate::compaction::Retention;
use crate::error::Result;
use crate::event::{EventKind, FlushReport};
use crate::filename;
use crate::iterator::{Direction, EntryIter};
use crate::manifest::VersionEdit;
use crate::memtable::{Memtable, MemtableIter};
use crate::stats::TableSummary;
use crate::storage::Storage;
use crate::version::TableMeta;

impl DbInner {
    /// `Db::flush`: freeze the memtable, flush, compact as needed if
    /// automatic. Returns the report of the last flush this call made (none
    /// if the memtable was empty, or the background worker got there first).
    pub(super) fn flush(&self, compact: bool) -> Result<Option<FlushReport>> {
        let mut tree = self.tree.lock();
        {
            let mut w = self.write.lock();
            self.check_open()?;
            if !w.mem.is_empty() {
                self.rotate(&mut w)?;
            }
        }
        let report = self.flush_frozen(&mut tree)?;
        if compact && self.options.auto_compaction {
            self.compact_while_needed(&mut tree)?;
        }
        Ok(report)
    }

    /// Flushes every frozen memtable, oldest first; returns the last report.
    pub(super) fn flush_frozen(&self, tree: &mut TreeState) -> Result<Option<FlushReport>> {
        let mut last = None;
        loop {
            // A statement of its own, so the write lock is released before flushing.
            let oldest = self.write.lock().frozen.first().cloned();
            let Some(mem) = oldest else { break };
            last = Some(self.flush_one(tree, &mem).map_err(|e| self.fail(e))?);
        }
        Ok(last)
    }

    /// Writes the oldest frozen memtable as L0 tables, commits them, and
    /// retires the memtable and the WAL files it no longer needs.
    fn flush_one(&self, tree: &mut TreeState, mem: &Arc<Memtable>) -> Result<FlushReport> {
        let mut source = MemtableIter::new(mem.clone(), Direction::Forward);
        source.seek(None)?;
        // In L0 a tombstone may shadow older versions in any table below,
        // so a flush never drops one.
        let written = self.write_tables(&mut source, Retention::new(self.oldest_snapshot()), |_| false, || Ok(()))?;
        let flushed_seq = mem.max_seq();
        let added: Vec<(usize, Arc<TableMeta>)> = written.tables.into_iter().map(|t| (0, Arc::new(t))).collect();
        let edit = VersionEdit {
            next_file_number: Some(self.next_file_number.load(Ordering::Relaxed)),
            flushed_seq: Some(flushed_seq),
            last_seq: Some(self.counters.last_seq.load(Ordering::Relaxed)),
            added: added.iter().map(|(level, t)| (*level, (**t).clone())).collect(),
            removed: Vec::new(),
        };
        let version = Arc::new(self.apply_edit(tree, &[], &added)?);
        tree.manifest.append(&*self.storage, &edit)?;
        tree.version = version.clone();
        tree.flushed_seq = flushed_seq;
        self.counters.flushed_seq.store(flushed_seq, Ordering::Relaxed);
        let retired_wals = {
            let mut w = self.write.lock();
            assert!(w.frozen.first().is_some_and(|f| Arc::ptr_eq(f, mem)), "frozen memtables flush in order");
            w.frozen.remove(0);
            self.install_view(&w, version);
            self.retire_wals(&mut w, flushed_seq)
        };
        bump(&self.counters.flushes, 1);
        let report = FlushReport {
            memtable_entries: mem.entries(),
            outputs: added.iter().map(|(level, t)| TableSummary::new(*level, t)).collect(),
            dropped_entries: written.dropped_shadowed,
            flushed_seq,
            retired_wals,
            levels_after: tree.version.table_numbers(),
        };
        self.event(EventKind::Flushed(report.clone()));
        self.remove_obsolete(tree);
        Ok(report)
    }

    /// Removes closed WAL files whose every record is now in tables. A file
    /// that fails to go is kept and retried later (it is harmless: replay
    /// skips what is already flushed).
    fn retire_wals(&self, w: &mut WriteState, flushed: u64) -> Vec<u64> {
        let mut retired = Vec::new();
        let mut kept = Vec::new();
        for wal in core::mem::take(&mut w.closed_wals) {
            if wal.last_seq <= flushed && self.storage.remove(&filename::wal_name(wal.number)).is_ok() {
                self.counters.wal_files.fetch_sub(1, Ordering::Relaxed);
                self.counters.wal_bytes.fetch_sub(wal.bytes, Ordering::Relaxed);
                retired.push(wal.number);
            } else {
                kept.push(wal);
            }
        }
        w.closed_wals = kept;
        retired
    }
}
