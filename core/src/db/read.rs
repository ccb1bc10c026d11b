//! Point reads: memtable, frozen memtables, then L0 newest first, then one
//! table per deeper level; the first version found decides. The same walk
//! can record each step for `explain_get`.

use alloc::format;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use super::state::DbInner;
use super::stats::bump;
use crate::error::{Error, Result};
use crate::key::ValueKind;
use crate::options::LEVELS;
use crate::sstable::{Lookup, TableInspection};
use crate::version::TableMeta;

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

/// The newest visible version of a key: sequence number, kind, value.
type Found = (u64, ValueKind, Vec<u8>);

impl DbInner {
    pub(super) fn get(
        &self,
        key: &[u8],
        snapshot: Option<u64>,
        trace: Option<&mut Vec<Probe>>,
    ) -> Result<Option<Vec<u8>>> {
        Ok(self.find(key, snapshot, trace)?.and_then(|(_, kind, value)| (kind == ValueKind::Put).then_some(value)))
    }

    pub(super) fn explain_get(&self, key: &[u8]) -> Result<GetTrace> {
        let mut probes = Vec::new();
        let found = self.find(key, None, Some(&mut probes))?;
        Ok(GetTrace {
            probes,
            decided_by: found.as_ref().map(|(seq, kind, _)| (*seq, *kind == ValueKind::Delete)),
            value: found.and_then(|(_, kind, value)| (kind == ValueKind::Put).then_some(value)),
        })
    }

    fn find(&self, key: &[u8], snapshot: Option<u64>, mut trace: Option<&mut Vec<Probe>>) -> Result<Option<Found>> {
        self.check_not_closed()?;
        if key.is_empty() {
            return Err(Error::InvalidKey { reason: "keys must not be empty".into() });
        }
        bump(&self.counters.gets, 1);
        // Read the sequence before the view: everything at or below it is
        // already in the view's memtables or tables.
        let snapshot = snapshot.unwrap_or_else(|| self.visible_seq.load(Ordering::Acquire));
        let view = self.view();
        let mut record = |probe: Probe| {
            if let Some(t) = trace.as_deref_mut() {
                t.push(probe);
            }
        };

        let found = view.mem.get(key, snapshot);
        record(Probe::Memtable { found: found.is_some() });
        if found.is_some() {
            return Ok(found);
        }
        for frozen in &view.frozen {
            let found = frozen.get(key, snapshot);
            record(Probe::FrozenMemtable { found: found.is_some() });
            if found.is_some() {
                return Ok(found);
            }
        }
        // L0 tables are searched newest (highest max_seq) first, but one
        // flush may split a key's versions over two tables whose seq ranges
        // interleave; so a hit ends the search only once no remaining table
        // can hold a newer version.
        let mut best: Option<Found> = None;
        for table in &view.version.levels[0] {
            if best.as_ref().is_some_and(|(seq, _, _)| table.max_seq <= *seq) {
                break;
            }
            if let Some(found) = self.probe_table(0, table, key, snapshot, &mut record)? {
                if best.as_ref().is_none_or(|(seq, _, _)| found.0 > *seq) {
                    best = Some(found);
                }
            }
        }
        if best.is_some() {
            return Ok(best);
        }
        for level in 1..LEVELS {
            let Some(table) = view.version.table_for_key(level, key, snapshot) else {
                continue;
            };
            if let Some(found) = self.probe_table(level, table, key, snapshot, &mut record)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// Looks for `key` in one table, skipping it by key range or bloom filter when possible.
    fn probe_table(
        &self,
        level: usize,
        meta: &TableMeta,
        key: &[u8],
        snapshot: u64,
        record: &mut impl FnMut(Probe),
    ) -> Result<Option<Found>> {
        if !meta.contains_user_key(key) || meta.min_seq > snapshot {
            record(Probe::OutOfRange { level, table: meta.number });
            return Ok(None);
        }
        let table = self.tables.get(meta)?;
        match table.get(&*self.tables.storage, &self.tables.blocks, key, snapshot)? {
            Lookup::Filtered => {
                bump(&self.counters.bloom_negatives, 1);
                record(Probe::BloomNegative { level, table: meta.number });
                Ok(None)
            }
            Lookup::Absent => {
                bump(&self.counters.tables_probed, 1);
                record(Probe::Searched { level, table: meta.number, found: false });
                Ok(None)
            }
            Lookup::Found(found) => {
                bump(&self.counters.tables_probed, 1);
                record(Probe::Searched { level, table: meta.number, found: true });
                Ok(Some((found.seq, found.kind, found.value)))
            }
        }
    }

    /// Every block and entry of live table `number`.
    pub(super) fn inspect_table(&self, number: u64) -> Result<TableInspection> {
        let view = self.view();
        let meta = view
            .version
            .tables()
            .find(|(_, t)| t.number == number)
            .map(|(_, t)| t.clone())
            .ok_or_else(|| Error::invalid_argument(format!("no live table numbered {number}")))?;
        let table = self.tables.get(&meta)?;
        table.inspect(&*self.tables.storage)
    }
}
