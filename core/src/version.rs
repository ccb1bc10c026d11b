//! A version: the set of live tables per level, immutable once built and
//! shared by `Arc`, so readers keep using the tables they started with while
//! flushes and compactions install newer versions.

use alloc::sync::Arc;
use alloc::vec::Vec;

use alloc::string::String;

use crate::key::InternalKey;
use crate::options::LEVELS;

/// What the manifest records about one table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableMeta {
    pub number: u64,
    pub file_size: u64,
    pub entry_count: u64,
    pub tombstone_count: u64,
    pub min_seq: u64,
    pub max_seq: u64,
    /// First internal key in the table.
    pub smallest: InternalKey,
    /// Last internal key in the table.
    pub largest: InternalKey,
}

impl TableMeta {
    /// True when the table's user-key range intersects `[start, end]`
    /// (`None` = unbounded on that side).
    pub fn overlaps(&self, start: Option<&[u8]>, end: Option<&[u8]>) -> bool {
        let before = end.is_some_and(|end| self.smallest.user_key.as_slice() > end);
        let after = start.is_some_and(|start| self.largest.user_key.as_slice() < start);
        !(before || after)
    }

    /// True when `user_key` lies within the table's user-key range.
    pub fn contains_user_key(&self, user_key: &[u8]) -> bool {
        self.smallest.user_key.as_slice() <= user_key && user_key <= self.largest.user_key.as_slice()
    }
}

/// The tables of every level. L0 is ordered newest first (highest `max_seq`);
/// L1.. are ordered by smallest key and never overlap.
#[derive(Clone, Debug, Default)]
pub struct Version {
    pub levels: [Vec<Arc<TableMeta>>; LEVELS],
}

impl Version {
    /// Every table with its level.
    pub fn tables(&self) -> impl Iterator<Item = (usize, &Arc<TableMeta>)> {
        self.levels.iter().enumerate().flat_map(|(level, tables)| tables.iter().map(move |t| (level, t)))
    }

    /// The table numbers of every level, in level order.
    pub fn table_numbers(&self) -> Vec<Vec<u64>> {
        self.levels.iter().map(|tables| tables.iter().map(|t| t.number).collect()).collect()
    }

    pub fn level_bytes(&self, level: usize) -> u64 {
        self.levels[level].iter().map(|t| t.file_size).sum()
    }

    /// Bytes in every table.
    pub fn total_bytes(&self) -> u64 {
        (0..LEVELS).map(|level| self.level_bytes(level)).sum()
    }

    /// The table of level ≥ 1 that could hold the newest version of
    /// `user_key` visible at `snapshot`: the first whose largest internal key
    /// is ≥ (user_key, snapshot), if its range covers the key.
    pub fn table_for_key(&self, level: usize, user_key: &[u8], snapshot: u64) -> Option<&Arc<TableMeta>> {
        debug_assert!(level >= 1);
        let tables = &self.levels[level];
        let index = tables
            .partition_point(|t| crate::key::compare(&t.largest.user_key, t.largest.seq, user_key, snapshot).is_lt());
        tables.get(index).filter(|t| t.smallest.user_key.as_slice() <= user_key)
    }

    /// Tables of `level` whose user-key range meets `[start, end]`. In
    /// levels ≥ 1 the set is widened to neighbours sharing a boundary user
    /// key (a key's versions may be split over two adjacent tables), so a
    /// compaction never takes some versions of a key and leaves others
    /// behind in the same level — leaving an older put behind would let it
    /// outlive a tombstone that the compaction dropped.
    pub fn overlapping(&self, level: usize, start: Option<&[u8]>, end: Option<&[u8]>) -> Vec<Arc<TableMeta>> {
        let tables = &self.levels[level];
        if level == 0 {
            return tables.iter().filter(|t| t.overlaps(start, end)).cloned().collect();
        }
        let Some(mut first) = tables.iter().position(|t| t.overlaps(start, end)) else {
            return Vec::new();
        };
        let mut last = first + tables[first..].iter().take_while(|t| t.overlaps(start, end)).count() - 1;
        while first > 0 && tables[first - 1].largest.user_key == tables[first].smallest.user_key {
            first -= 1;
        }
        while last + 1 < tables.len() && tables[last].largest.user_key == tables[last + 1].smallest.user_key {
            last += 1;
        }
        tables[first..=last].to_vec()
    }

    /// True if no level deeper than `level` holds a table covering `user_key`,
    /// so a tombstone compacted into `level` shadows nothing below it. Merges
    /// ask a `BottomCursor`; this is what it is tested against.
    #[cfg(test)]
    pub fn is_bottom_for_key(&self, level: usize, user_key: &[u8]) -> bool {
        ((level + 1)..LEVELS).all(|deeper| {
            let tables = &self.levels[deeper];
            let index = tables.partition_point(|t| t.largest.user_key.as_slice() < user_key);
            tables.get(index).is_none_or(|t| t.smallest.user_key.as_slice() > user_key)
        })
    }

    /// `is_bottom_for_key` for keys asked in ascending order (a merge's), in
    /// amortised constant time per key.
    pub fn bottom_cursor(&self, level: usize) -> BottomCursor<'_> {
        BottomCursor { version: self, level, positions: [0; LEVELS] }
    }

    /// A new version with `removed` (level, number) gone and `added` present.
    /// Errors describe edits that do not fit this version (a corrupt manifest).
    pub fn apply(&self, removed: &[(usize, u64)], added: &[(usize, Arc<TableMeta>)]) -> Result<Version, String> {
        let mut next = self.clone();
        for &(level, number) in removed {
            let tables = next.levels.get_mut(level).ok_or_else(|| alloc::format!("level {level} out of range"))?;
            let before = tables.len();
            tables.retain(|t| t.number != number);
            if tables.len() == before {
                return Err(alloc::format!("table {number} removed from L{level} but not there"));
            }
        }
        for (level, table) in added {
            if next.tables().any(|(_, t)| t.number == table.number) {
                return Err(alloc::format!("table {} added twice", table.number));
            }
            next.levels
                .get_mut(*level)
                .ok_or_else(|| alloc::format!("level {level} out of range"))?
                .push(table.clone());
        }
        next.sort();
        next.check_order()?;
        Ok(next)
    }

    fn sort(&mut self) {
        self.levels[0].sort_by(|a, b| b.max_seq.cmp(&a.max_seq).then(b.number.cmp(&a.number)));
        for tables in &mut self.levels[1..] {
            tables.sort_by(|a, b| a.smallest.cmp(&b.smallest));
        }
    }

    /// Levels ≥ 1 must not overlap in internal-key order.
    fn check_order(&self) -> Result<(), String> {
        for (level, tables) in self.levels.iter().enumerate().skip(1) {
            for pair in tables.windows(2) {
                if pair[0].largest >= pair[1].smallest {
                    return Err(alloc::format!("tables {} and {} overlap in L{level}", pair[0].number, pair[1].number));
                }
            }
        }
        Ok(())
    }
}

/// Answers `Version::is_bottom_for_key` for ascending keys with one position
/// per deeper level that only moves forward, instead of a binary search per
/// level per key (a merge asks for nearly every entry it keeps).
pub struct BottomCursor<'a> {
    version: &'a Version,
    level: usize,
    /// Per level: the first table whose largest key is not below the last key asked.
    positions: [usize; LEVELS],
}

impl BottomCursor<'_> {
    /// True if no level deeper than the cursor's holds a table covering
    /// `user_key`. Keys must not go backwards between calls.
    pub fn is_bottom(&mut self, user_key: &[u8]) -> bool {
        let (levels, positions) = (&self.version.levels, &mut self.positions);
        ((self.level + 1)..LEVELS).all(|deeper| {
            let (tables, at) = (&levels[deeper], &mut positions[deeper]);
            while tables.get(*at).is_some_and(|t| t.largest.user_key.as_slice() < user_key) {
                *at += 1;
            }
            tables.get(*at).is_none_or(|t| t.smallest.user_key.as_slice() > user_key)
        })
    }
}
