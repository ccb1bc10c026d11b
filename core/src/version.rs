//! A version: the set of live tables per level, immutable once built and
//! shared by `Arc`, so readers keep using the tables they started with while
//! flushes and compactions install newer versions.

use alloc::sync::Arc;
use alloc::vec::Vec;

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
