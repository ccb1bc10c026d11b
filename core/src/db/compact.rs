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
use crate::compaction::{self, CompactionTask, Decision, Retention};
use crate::error::{Error, IoKind, Result};
use crate::event::{CompactionReason, CompactionReport, EventKind};
use crate::filename;
use crate::iterator::{Direction, EntryIter, LevelIter, MergeIter};
use crate::manifest::VersionEdit;
use crate::stats::TableSummary;
use crate::storage::Storage;
use crate::version::{TableMeta, Version};

/// Automatic compaction runs at most this many steps per round, so the
/// worker reports progress to waiting writers between rounds; the next round
/// (asked for at once, or by the next flush without a worker) continues.
const AUTO_COMPACTION_STEPS_MAX: usize = 64;

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

    /// Merges the inputs into new tables at the output level.
    fn merge(&self, tree: &mut TreeState, task: &CompactionTask) -> Result<CompactionReport> {
        let mut merged = self.merge_inputs(task)?;
        merged.seek(None)?;
        let version = tree.version.clone();
        let level = task.output_level;
        let mut below = version.bottom_cursor(level);
        // Memtables frozen meanwhile are flushed between entries: a merge
        // into a deep level can take seconds, and writers wait once two are
        // frozen. A flush only adds L0 tables, newer than every input and
        // above the output level, and the commit below applies this merge's
        // edit to whatever version the flushes left.
        let written = self.write_tables(
            &mut merged,
            Retention::new(self.oldest_snapshot()),
            |key| below.is_bottom(key),
            || self.flush_frozen(tree).map(drop),
        )?;
        drop(merged);
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
