//! The read path's one abstraction: a cursor over internal entries moving in
//! one direction. Memtables (`memtable::MemtableIter`) and tables
//! (`sstable::TableIter`) provide one; `LevelIter` concatenates a level's
//! tables; `MergeIter` merges any of them. Compaction reads its inputs
//! through them, and `db::range::DbIterator` turns the merge into what users
//! see (the newest visible version of each key, no tombstones).

mod level;
mod merge;

pub use level::LevelIter;
pub use merge::MergeIter;

use crate::error::Result;
use crate::key::ValueKind;

/// Which way a cursor moves, fixed when it is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Internal-key order: user key ascending, newest version first.
    Forward,
    /// The exact reverse: user key descending, oldest version first.
    Reverse,
}

/// A cursor over internal entries (user key, sequence, kind, value).
///
/// Contract: after `seek`, the cursor is at the first entry at or after the
/// target in its direction — Forward: the first entry ≥ (key, seq) in
/// internal-key order; Reverse: the last entry ≤ (key, seq). `None` as the
/// target means the first entry in the direction (Forward: smallest;
/// Reverse: largest). `next` moves one entry in the direction. When no entry
/// is left, `valid()` is false and the accessors must not be called.
pub trait EntryIter {
    fn seek(&mut self, target: Option<(&[u8], u64)>) -> Result<()>;
    fn next(&mut self) -> Result<()>;
    fn valid(&self) -> bool;
    fn user_key(&self) -> &[u8];
    fn seq(&self) -> u64;
    fn kind(&self) -> ValueKind;
    fn value(&self) -> &[u8];
}

impl<I: EntryIter + ?Sized> EntryIter for alloc::boxed::Box<I> {
    fn seek(&mut self, target: Option<(&[u8], u64)>) -> Result<()> {
        (**self).seek(target)
    }
    fn next(&mut self) -> Result<()> {
        (**self).next()
    }
    fn valid(&self) -> bool {
        (**self).valid()
    }
    fn user_key(&self) -> &[u8] {
        (**self).user_key()
    }
    fn seq(&self) -> u64 {
        (**self).seq()
    }
    fn kind(&self) -> ValueKind {
        (**self).kind()
    }
    fn value(&self) -> &[u8] {
        (**self).value()
    }
}
