//! `LevelIter`: one cursor over a level ≥ 1, whose tables are sorted and
//! never overlap, opening each table only when the cursor reaches it.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::{Direction, EntryIter};
use crate::error::Result;
use crate::key::{self, ValueKind};
use crate::sstable::{TableCache, TableIter};
use crate::version::TableMeta;

/// One cursor over the tables of a level ≥ 1 (sorted, non-overlapping),
/// opening each table only when the cursor reaches it.
pub struct LevelIter {
    cache: Arc<TableCache>,
    tables: Vec<Arc<TableMeta>>,
    direction: Direction,
    /// Whether data blocks read go into the block cache (see `TableIter`).
    fill_cache: bool,
    index: usize,
    cursor: Option<TableIter>,
}

impl LevelIter {
    pub fn new(cache: Arc<TableCache>, tables: Vec<Arc<TableMeta>>, direction: Direction) -> Self {
        LevelIter { cache, tables, direction, fill_cache: true, index: 0, cursor: None }
    }

    /// Data blocks read are not added to the block cache (compaction inputs).
    pub fn without_filling_cache(mut self) -> Self {
        self.fill_cache = false;
        self
    }

    fn open(&mut self, index: usize, target: Option<(&[u8], u64)>) -> Result<()> {
        self.index = index;
        let table = self.cache.get(&self.tables[index])?;
        let mut cursor = table.iter(self.cache.storage.clone(), self.cache.blocks.clone(), self.direction);
        if !self.fill_cache {
            cursor = cursor.without_filling_cache();
        }
        cursor.seek(target)?;
        self.cursor = Some(cursor);
        Ok(())
    }

    /// Moves on to the next table while the current one is exhausted.
    fn skip_exhausted(&mut self) -> Result<()> {
        while self.cursor.as_ref().is_some_and(|c| !c.valid()) {
            let next = match self.direction {
                Direction::Forward => Some(self.index + 1).filter(|&i| i < self.tables.len()),
                Direction::Reverse => self.index.checked_sub(1),
            };
            match next {
                Some(index) => self.open(index, None)?,
                None => self.cursor = None,
            }
        }
        Ok(())
    }
}

impl EntryIter for LevelIter {
    fn seek(&mut self, target: Option<(&[u8], u64)>) -> Result<()> {
        self.cursor = None;
        let start = match (self.direction, target) {
            (Direction::Forward, None) => Some(0),
            (Direction::Reverse, None) => self.tables.len().checked_sub(1),
            (Direction::Forward, Some((k, s))) => {
                let i = self.tables.partition_point(|t| key::compare(&t.largest.user_key, t.largest.seq, k, s).is_lt());
                Some(i)
            }
            (Direction::Reverse, Some((k, s))) => {
                let i =
                    self.tables.partition_point(|t| key::compare(&t.smallest.user_key, t.smallest.seq, k, s).is_le());
                i.checked_sub(1)
            }
        };
        if let Some(index) = start.filter(|&i| i < self.tables.len()) {
            self.open(index, target)?;
            self.skip_exhausted()?;
        }
        Ok(())
    }

    fn next(&mut self) -> Result<()> {
        if let Some(cursor) = self.cursor.as_mut() {
            cursor.next()?;
            self.skip_exhausted()?;
        }
        Ok(())
    }

    fn valid(&self) -> bool {
        self.cursor.as_ref().is_some_and(|c| c.valid())
    }
    fn user_key(&self) -> &[u8] {
        self.cursor.as_ref().expect("valid cursor").user_key()
    }
    fn seq(&self) -> u64 {
        self.cursor.as_ref().expect("valid cursor").seq()
    }
    fn kind(&self) -> ValueKind {
        self.cursor.as_ref().expect("valid cursor").kind()
    }
    fn value(&self) -> &[u8] {
        self.cursor.as_ref().expect("valid cursor").value()
    }
}
