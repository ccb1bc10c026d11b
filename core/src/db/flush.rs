//! Maintenance rounds, and flush: a frozen memtable becomes L0 tables
//! (FORMAT.md, "Flush"). Also the table-writing loop shared with compaction,
//! which enforces the SSTable caps on every table ever written.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use super::{bump, DbInner, TreeState, WriteState};
use crate::compaction::{Retention, Verdict};
use crate::error::Result;
use crate::event::{EventKind, FlushReport};
use crate::filename;
use crate::iterator::{Direction, EntryIter};
use crate::manifest::VersionEdit;
use crate::memtable::{Memtable, MemtableIter};
use crate::options::Options;
use crate::sstable::TableWriter;
use crate::stats::TableSummary;
use crate::storage::Storage;
use crate::version::TableMeta;

/// What writing a merged stream into tables produced.
pub(super) struct Written {
    pub tables: Vec<TableMeta>,
    pub dropped_shadowed: u64,
    pub dropped_tombstones: u64,
    pub entries_in: u64,
}

impl DbInner {
    /// One round of maintenance: flush every frozen memtable, then, if
    /// automatic, compact until the tree needs nothing. Runs inline after a
    /// write that froze a memtable, or on the background worker; the tree
    /// lock serialises rounds.
    pub(super) fn maintain(&self) -> Result<()> {
        let mut tree = self.tree.lock();
        if self.check_open().is_err() {
            return Ok(()); // Closed, or read-only after a failure: leave the files alone.
        }
        self.flush_frozen(&mut tree)?;
        if self.options.auto_compaction {
            self.compact_while_needed(&mut tree)?;
        }
        Ok(())
    }

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
    fn flush_frozen(&self, tree: &mut TreeState) -> Result<Option<FlushReport>> {
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
        let written = self.write_tables(&mut source, Retention::new(self.oldest_snapshot()), |_| false)?;
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

    /// Writes the entries of `source` that `retention` keeps into new tables,
    /// starting a new table whenever the next entry would break
    /// `sstable_max_entries` or `sstable_max_bytes`. `bottom` tells
    /// `retention` whether a key can exist below the output level.
    pub(super) fn write_tables(
        &self,
        source: &mut dyn EntryIter,
        mut retention: Retention,
        bottom: impl Fn(&[u8]) -> bool,
    ) -> Result<Written> {
        let mut out = Written { tables: Vec::new(), dropped_shadowed: 0, dropped_tombstones: 0, entries_in: 0 };
        let mut current: Option<(u64, TableWriter<'_>)> = None;
        let result = (|| {
            while source.valid() {
                out.entries_in += 1;
                let (key, seq, kind) = (source.user_key(), source.seq(), source.kind());
                match retention.judge(key, seq, kind, &bottom) {
                    Verdict::DropShadowed => out.dropped_shadowed += 1,
                    Verdict::DropTombstone => out.dropped_tombstones += 1,
                    Verdict::Keep => {
                        let value = source.value();
                        if let Some((number, writer)) =
                            current.take_if(|(_, t)| self.table_full(t, key.len(), value.len()))
                        {
                            out.tables.push(finish_table(number, writer, &self.options)?);
                        }
                        if current.is_none() {
                            let number = self.allocate_file_number();
                            let writer = TableWriter::create(
                                &*self.storage,
                                &filename::table_name(number),
                                self.options.block_size,
                                self.options.bloom_bits_per_key,
                            )?;
                            current = Some((number, writer));
                        }
                        current.as_mut().expect("set above").1.add(key, seq, kind, value)?;
                    }
                }
                source.next()?;
            }
            if let Some((number, writer)) = current.take() {
                out.tables.push(finish_table(number, writer, &self.options)?);
            }
            Ok(())
        })();
        if let Err(e) = result {
            // Leave no half-written table behind (open would remove it anyway).
            if let Some((number, writer)) = current.take() {
                drop(writer);
                let _ = self.storage.remove(&filename::table_name(number));
            }
            for table in &out.tables {
                let _ = self.storage.remove(&filename::table_name(table.number));
            }
            return Err(e);
        }
        Ok(out)
    }

    fn table_full(&self, writer: &TableWriter<'_>, key_len: usize, value_len: usize) -> bool {
        writer.entry_count() >= self.options.sstable_max_entries
            || writer.size_if_added(key_len, value_len) > self.options.sstable_max_bytes as u64
    }
}

fn finish_table(number: u64, writer: TableWriter<'_>, options: &Options) -> Result<TableMeta> {
    let info = writer.finish()?;
    assert!(
        info.properties.entry_count <= options.sstable_max_entries as u64
            && info.file_size <= options.sstable_max_bytes as u64,
        "every table ever written respects the SSTable caps"
    );
    Ok(TableMeta {
        number,
        file_size: info.file_size,
        entry_count: info.properties.entry_count,
        tombstone_count: info.properties.tombstone_count,
        min_seq: info.properties.min_seq,
        max_seq: info.properties.max_seq,
        smallest: info.smallest,
        largest: info.largest,
    })
}
