//! Running compactions (FORMAT.md, "Compaction"): the picker in
//! `crate::compaction` decides, this carries the decision out — move, merge
//! or drop, commit the edit to the manifest, install the version, remove
//! files no reader holds.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use super::state::{DbInner, TreeState};
use super::stats::bump;
use super::table_sink::Written;
use crate::compaction::{self, CompactionTask, Decision, Retention};
use crate::error::{Error, IoKind, Result};
use crate::event::{CompactionReason, CompactionReport, EventKind};
use crate::filename;
use crate::iterator::{Direction, EntryIter, LevelIter, MergeIter};
use crate::key::ValueKind;
use crate::manifest::VersionEdit;
use crate::stats::TableSummary;
use crate::storage::Storage;
use crate::version::{TableMeta, Version};

/// Automatic compaction runs at most this many steps per round, so the
/// worker reports progress to waiting writers between rounds; the next round
/// (asked for at once, or by the next flush without a worker) continues.
const AUTO_COMPACTION_STEPS_MAX: usize = 64;

/// How often the thread waiting for a merge's ranges flushes frozen memtables.
#[cfg(feature = "std")]
const FLUSH_POLL: std::time::Duration = std::time::Duration::from_millis(2);

impl DbInner {
    /// Runs compactions until the tree needs none, at most
    /// `AUTO_COMPACTION_STEPS_MAX` of them; when it stopped at that bound
    /// (work may remain), asks the background worker for another round, so
    /// the tree settles even when no write comes to ask.
    pub(super) fn compact_while_needed(&self, tree: &mut TreeState) -> Result<()> {
        for _ in 0..AUTO_COMPACTION_STEPS_MAX {
            // Memtables frozen while the last step ran go first: a writer
            // waits once two are frozen, and each step can take a while.
            self.flush_frozen(tree)?;
            let decision = compaction::pick(&tree.version, &self.options, &tree.pointers, self.oldest_snapshot());
            if self.carry_out(tree, decision)?.is_none() {
                return Ok(());
            }
        }
        self.maintenance.request();
        Ok(())
    }

    pub(super) fn compact_step(&self) -> Result<Option<CompactionReport>> {
        let mut tree = self.tree.lock();
        self.check_open()?;
        let decision = compaction::pick(&tree.version, &self.options, &tree.pointers, self.oldest_snapshot());
        self.carry_out(&mut tree, decision)
    }

    pub(super) fn compact_range(&self, start: Option<&[u8]>, end: Option<&[u8]>) -> Result<Vec<CompactionReport>> {
        let mut tree = self.tree.lock();
        self.check_open()?;
        let decision = compaction::pick_range(&tree.version, start, end, self.oldest_snapshot());
        Ok(self.carry_out(&mut tree, decision)?.into_iter().collect())
    }

    /// Runs a decision; `None` if there was nothing to do.
    fn carry_out(&self, tree: &mut TreeState, decision: Decision) -> Result<Option<CompactionReport>> {
        let result = match &decision {
            Decision::Nothing => return Ok(None),
            Decision::Move(task) => self.move_table(tree, task),
            Decision::Merge(task) => self.merge(tree, task),
            Decision::Drop(task) => self.drop_tables(tree, task),
        };
        let report = result.map_err(|e| self.fail(e))?;
        let task = decision.task().expect("a decision to act on has a task");
        if task.reason == CompactionReason::LevelSize {
            if let Some((_, upper)) = task.inputs.first() {
                tree.pointers[task.inputs[0].0] = upper.iter().map(|t| t.largest.user_key.clone()).max();
            }
        }
        drop(decision);
        bump(&self.counters.compactions, 1);
        self.event(EventKind::Compacted(report.clone()));
        self.remove_obsolete(tree);
        Ok(Some(report))
    }

    /// Relinks a lone table one level down: no bytes rewritten.
    fn move_table(&self, tree: &mut TreeState, task: &CompactionTask) -> Result<CompactionReport> {
        let (level, table) = task.input_tables().next().expect("a move has one input");
        let removed = [(level, table.number)];
        let added = [(task.output_level, table.clone())];
        self.commit(tree, &removed, &added)?;
        let entries = table.entry_count;
        Ok(CompactionReport {
            reason: task.reason,
            output_level: task.output_level,
            inputs: alloc::vec![TableSummary::new(level, table)],
            outputs: alloc::vec![TableSummary::new(task.output_level, table)],
            trivial_move: true,
            entries_in: entries,
            entries_out: entries,
            dropped_overwritten: 0,
            dropped_tombstones: 0,
            zeroed_seqs: 0,
            levels_after: tree.version.table_numbers(),
        })
    }

    /// Removes input tables of tombstones that shadow nothing: no bytes read.
    fn drop_tables(&self, tree: &mut TreeState, task: &CompactionTask) -> Result<CompactionReport> {
        let removed: Vec<(usize, u64)> = task.input_tables().map(|(l, t)| (l, t.number)).collect();
        self.commit(tree, &removed, &[])?;
        tree.obsolete.extend(task.input_tables().map(|(_, t)| t.clone()));
        let entries: u64 = task.input_tables().map(|(_, t)| t.entry_count).sum();
        Ok(CompactionReport {
            reason: task.reason,
            output_level: task.output_level,
            inputs: task.input_tables().map(|(l, t)| TableSummary::new(l, t)).collect(),
            outputs: Vec::new(),
            trivial_move: false,
            entries_in: entries,
            entries_out: 0,
            dropped_overwritten: 0,
            dropped_tombstones: entries,
            zeroed_seqs: 0,
            levels_after: tree.version.table_numbers(),
        })
    }

    /// Merges the inputs into new tables at the output level: on this
    /// thread, or split into key ranges merged at once (`split_points`).
    fn merge(&self, tree: &mut TreeState, task: &CompactionTask) -> Result<CompactionReport> {
        let version = tree.version.clone();
        let level = task.output_level;
        let oldest = self.oldest_snapshot();
        let bounds = self.split_points(task);
        let written = match bounds.is_empty() {
            // Without `std` there are never bounds (`split_points`).
            #[cfg(feature = "std")]
            false => {
                bump(&self.counters.parallel_merges, 1);
                self.merge_in_parallel(tree, task, &version, oldest, &bounds)?
            }
            // Memtables frozen meanwhile are flushed between entries: a merge
            // into a deep level can take seconds, and writers wait once two are
            // frozen. A flush only adds L0 tables, newer than every input and
            // above the output level, and the commit below applies this merge's
            // edit to whatever version the flushes left.
            _ => self.merge_range(task, &version, oldest, None, None, || self.flush_frozen(tree).map(drop))?,
        };
        let removed: Vec<(usize, u64)> = task.input_tables().map(|(l, t)| (l, t.number)).collect();
        let added: Vec<(usize, Arc<TableMeta>)> = written.tables.into_iter().map(|t| (level, Arc::new(t))).collect();
        // On failure the outputs stay: a manifest append whose sync failed
        // may still have reached the disk, and then the next open needs them
        // (an open removes every table no manifest names, FORMAT.md).
        self.commit(tree, &removed, &added)?;
        tree.obsolete.extend(task.input_tables().map(|(_, t)| t.clone()));
        let entries_out = added.iter().map(|(_, t)| t.entry_count).sum();
        Ok(CompactionReport {
            reason: task.reason,
            output_level: level,
            inputs: task.input_tables().map(|(l, t)| TableSummary::new(l, t)).collect(),
            outputs: added.iter().map(|(l, t)| TableSummary::new(*l, t)).collect(),
            trivial_move: false,
            entries_in: written.entries_in,
            entries_out,
            dropped_overwritten: written.dropped_shadowed,
            dropped_tombstones: written.dropped_tombstones,
            zeroed_seqs: written.zeroed_seqs,
            levels_after: tree.version.table_numbers(),
        })
    }

    /// The entries of the inputs whose user keys lie in `[start, end)`
    /// (unbounded where `None`), merged and written into new tables.
    fn merge_range(
        &self,
        task: &CompactionTask,
        version: &Version,
        oldest_snapshot: u64,
        start: Option<&[u8]>,
        end: Option<&[u8]>,
        pause: impl FnMut() -> Result<()>,
    ) -> Result<Written> {
        let mut merged = self.merge_inputs(task)?;
        // (key, MAX) is the first internal key of user key `key`.
        merged.seek(start.map(|key| (key, u64::MAX)))?;
        let mut range = Below { inner: merged, end };
        let mut below = version.bottom_cursor(task.output_level);
        self.write_tables(&mut range, Retention::new(oldest_snapshot), |key| below.is_bottom(key), pause)
    }

    /// User keys that split a merge into up to `compaction_threads` key
    /// ranges holding about equal bytes of the output level's inputs (the
    /// larger part of a merge; the level above spreads over them alike
    /// under random keys): first keys of those tables (every version of a user key falls in one range, so each
    /// range decides what to keep on its own, and the ranges' tables do not
    /// overlap). Empty: one range — one thread, fewer than two such tables,
    /// or no threads (`no_std`).
    fn split_points(&self, task: &CompactionTask) -> Vec<Vec<u8>> {
        let ranges = if cfg!(feature = "std") { self.options.compaction_threads } else { 1 };
        let Some((_, lower)) = task.inputs.iter().find(|(level, _)| *level == task.output_level) else {
            return Vec::new();
        };
        if ranges < 2 || lower.len() < 2 {
            return Vec::new();
        }
        let mut lower: Vec<&TableMeta> = lower.iter().map(|t| &**t).collect();
        lower.sort_by(|a, b| a.smallest.user_key.cmp(&b.smallest.user_key));
        let total: u64 = lower.iter().map(|t| t.file_size).sum();
        let mut bounds: Vec<Vec<u8>> = Vec::new();
        let mut before = 0u64;
        for table in lower {
            // A new range starts at this table once those before it hold
            // the next share of the bytes.
            let share = total / ranges as u64 * (bounds.len() as u64 + 1);
            let key = &table.smallest.user_key;
            if before > 0 && before >= share && bounds.len() + 1 < ranges && bounds.last().is_none_or(|b| b < key) {
                bounds.push(key.clone());
            }
            before += table.file_size;
        }
        bounds
    }

    /// `merge_range` for each range `bounds` makes, each on a thread of its
    /// own, while this thread flushes the memtables frozen meanwhile (as a
    /// merge on one thread does between entries). On any failure every
    /// range's tables are removed and the first error returned.
    #[cfg(feature = "std")]
    fn merge_in_parallel(
        &self,
        tree: &mut TreeState,
        task: &CompactionTask,
        version: &Version,
        oldest_snapshot: u64,
        bounds: &[Vec<u8>],
    ) -> Result<Written> {
        use std::sync::mpsc::{channel, RecvTimeoutError};
        let ranges = bounds.len() + 1;
        let (sender, receiver) = channel();
        let (results, flushed) = std::thread::scope(|scope| {
            for range in 0..ranges {
                let start = range.checked_sub(1).and_then(|i| bounds.get(i)).map(Vec::as_slice);
                let end = bounds.get(range).map(Vec::as_slice);
                let sender = sender.clone();
                scope.spawn(move || {
                    let written = self.merge_range(task, version, oldest_snapshot, start, end, || Ok(()));
                    // The receiver outlives every range: it stops only once all senders are gone.
                    let _ = sender.send((range, written));
                });
            }
            drop(sender);
            let mut results: Vec<Option<Result<Written>>> = (0..ranges).map(|_| None).collect();
            let mut flushed = Ok(());
            loop {
                match receiver.recv_timeout(FLUSH_POLL) {
                    Ok((range, written)) => results[range] = Some(written),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => break,
                }
                if flushed.is_ok() {
                    flushed = self.flush_frozen(tree).map(drop);
                }
            }
            (results, flushed)
        });
        let mut out = Written::default();
        let mut first_error = flushed.err();
        for result in results {
            // A range that sent nothing panicked, and the scope re-raised it.
            match result.expect("every range sends its result") {
                Ok(written) => out.absorb(written),
                Err(e) => first_error = first_error.or(Some(e)),
            }
        }
        if let Some(e) = first_error {
            for table in &out.tables {
                let _ = self.storage.remove(&filename::table_name(table.number));
            }
            return Err(e);
        }
        Ok(out)
    }

    /// One cursor over every input: a table cursor per L0 table (they
    /// overlap), one concatenating cursor per deeper level (they do not).
    /// Blocks they read are not cached: each is read once, and caching them
    /// would evict what readers use (and cost a cache insert per block).
    fn merge_inputs(&self, task: &CompactionTask) -> Result<MergeIter> {
        let mut sources: Vec<Box<dyn EntryIter>> = Vec::new();
        for (level, tables) in &task.inputs {
            if *level == 0 {
                for meta in tables {
                    let table = self.tables.get(meta)?;
                    let cursor =
                        table.iter(self.tables.storage.clone(), self.tables.blocks.clone(), Direction::Forward);
                    sources.push(Box::new(cursor.without_filling_cache()));
                }
            } else if !tables.is_empty() {
                let level = LevelIter::new(self.tables.clone(), tables.clone(), Direction::Forward);
                sources.push(Box::new(level.without_filling_cache()));
            }
        }
        Ok(MergeIter::new(sources, Direction::Forward))
    }

    /// Commits a version change: checks it applies, appends the edit to the
    /// manifest (the commit point), installs the new version.
    fn commit(&self, tree: &mut TreeState, removed: &[(usize, u64)], added: &[(usize, Arc<TableMeta>)]) -> Result<()> {
        let version = Arc::new(self.apply_edit(tree, removed, added)?);
        let edit = VersionEdit {
            next_file_number: Some(self.next_file_number.load(Ordering::Relaxed)),
            flushed_seq: None,
            last_seq: Some(self.counters.last_seq.load(Ordering::Relaxed)),
            added: added.iter().map(|(level, t)| (*level, (**t).clone())).collect(),
            removed: removed.to_vec(),
        };
        tree.manifest.append(&*self.storage, &edit)?;
        tree.version = version.clone();
        self.install_view(&self.write.lock(), version);
        Ok(())
    }

    /// The version `tree.version` would become; an edit that does not fit is
    /// a bug or a corrupt manifest, reported as corruption of the manifest.
    pub(super) fn apply_edit(
        &self,
        tree: &TreeState,
        removed: &[(usize, u64)],
        added: &[(usize, Arc<TableMeta>)],
    ) -> Result<Version> {
        tree.version.apply(removed, added).map_err(|reason| Error::corruption(tree.manifest.name(), 0, reason))
    }

    /// Removes obsolete table files that no reader holds any more.
    pub(super) fn remove_obsolete(&self, tree: &mut TreeState) {
        let mut removed = Vec::new();
        let mut kept = Vec::new();
        for table in core::mem::take(&mut tree.obsolete) {
            if Arc::strong_count(&table) > 1 {
                kept.push(table);
                continue;
            }
            self.tables.evict(table.number);
            match self.storage.remove(&filename::table_name(table.number)) {
                Ok(()) => removed.push(table.number),
                Err(e) if e.is_io(IoKind::NotFound) => removed.push(table.number),
                // Harmless: an unreferenced file is removed at the next open.
                Err(_) => {}
            }
        }
        tree.obsolete = kept;
        if !removed.is_empty() {
            self.event(EventKind::TablesRemoved { numbers: removed });
        }
    }
}

/// The entries of `inner` whose user keys lie below `end` (all when `None`):
/// one key range of a merge split across threads.
struct Below<'a> {
    inner: MergeIter,
    end: Option<&'a [u8]>,
}

impl EntryIter for Below<'_> {
    fn seek(&mut self, target: Option<(&[u8], u64)>) -> Result<()> {
        self.inner.seek(target)
    }
    fn next(&mut self) -> Result<()> {
        self.inner.next()
    }
    fn valid(&self) -> bool {
        self.inner.valid() && self.end.is_none_or(|end| self.inner.user_key() < end)
    }
    fn user_key(&self) -> &[u8] {
        self.inner.user_key()
    }
    fn seq(&self) -> u64 {
        self.inner.seq()
    }
    fn kind(&self) -> ValueKind {
        self.inner.kind()
    }
    fn value(&self) -> &[u8] {
        self.inner.value()
    }
}
