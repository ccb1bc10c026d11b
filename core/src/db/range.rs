//! Range reads. Cursors over every source (memtables, L0 tables, one
//! concatenating cursor per deeper level) are merged in internal-key order;
//! `DbIterator` then shows, for each user key, only the newest version
//! visible at its snapshot, and hides tombstones.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::Bound;

use super::snapshot::Snapshot;
use super::state::{DbInner, ReadView};
use crate::error::{Error, Result};
use crate::iterator::{Direction, EntryIter, LevelIter, MergeIter};
use crate::key::{self, ValueKind, SEQ_MAX};
use crate::memtable::MemtableIter;
use crate::options::LEVELS;

/// What a range read covers. The default is every key, forward, no limit.
#[derive(Clone, Debug)]
pub struct RangeOptions {
    pub start: Bound<Vec<u8>>,
    pub end: Bound<Vec<u8>>,
    /// Only keys starting with this prefix (intersected with start/end).
    pub prefix: Option<Vec<u8>>,
    /// Largest key first.
    pub reverse: bool,
    /// At most this many entries.
    pub limit: Option<usize>,
    /// Read at this snapshot instead of now.
    pub snapshot: Option<Snapshot>,
}

impl Default for RangeOptions {
    fn default() -> Self {
        RangeOptions {
            start: Bound::Unbounded,
            end: Bound::Unbounded,
            prefix: None,
            reverse: false,
            limit: None,
            snapshot: None,
        }
    }
}

impl RangeOptions {
    /// Keys starting with `prefix`.
    pub fn prefix(prefix: impl Into<Vec<u8>>) -> Self {
        RangeOptions { prefix: Some(prefix.into()), ..Self::default() }
    }

    /// Keys in `[start, end)`.
    pub fn between(start: impl Into<Vec<u8>>, end: impl Into<Vec<u8>>) -> Self {
        RangeOptions { start: Bound::Included(start.into()), end: Bound::Excluded(end.into()), ..Self::default() }
    }
}

/// A forward or reverse cursor over a range of the database, at one
/// snapshot. Yields `(key, value)` pairs; it owns what it reads, so it may
/// outlive the borrow of the `Db` that made it, and pins the tables it needs.
pub struct DbIterator {
    merged: MergeIter,
    /// Keeps the memtables and tables being read alive.
    _view: Arc<ReadView>,
    /// Keeps compaction from dropping versions this iterator can see.
    _snapshot: Snapshot,
    snapshot: u64,
    direction: Direction,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    limit: Option<usize>,
    emitted: usize,
    /// Forward: the user key already decided (its older versions are skipped).
    decided: Option<Vec<u8>>,
    /// Reverse: the newest visible version seen so far of the current key.
    pending: Option<(Vec<u8>, ValueKind, Vec<u8>)>,
    /// Reverse: the last user key the merge showed (to check its order).
    seen: Option<Vec<u8>>,
    done: bool,
}

impl core::fmt::Debug for DbIterator {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DbIterator").field("snapshot", &self.snapshot).field("direction", &self.direction).finish()
    }
}

impl DbIterator {
    pub(super) fn new(inner: &DbInner, options: &RangeOptions) -> Result<DbIterator> {
        let snapshot = options.snapshot.clone().unwrap_or_else(|| inner.snapshot());
        let view = inner.view();
        let direction = if options.reverse { Direction::Reverse } else { Direction::Forward };
        let (lower, upper) = effective_bounds(options);
        let mut sources: Vec<Box<dyn EntryIter>> = Vec::new();
        sources.push(Box::new(MemtableIter::new(view.mem.clone(), direction)));
        for frozen in &view.frozen {
            sources.push(Box::new(MemtableIter::new(frozen.clone(), direction)));
        }
        for meta in &view.version.levels[0] {
            let table = inner.tables.get(meta)?;
            sources.push(Box::new(table.iter(inner.tables.storage.clone(), inner.tables.blocks.clone(), direction)));
        }
        for level in 1..LEVELS {
            let tables = &view.version.levels[level];
            if !tables.is_empty() {
                sources.push(Box::new(LevelIter::new(inner.tables.clone(), tables.clone(), direction)));
            }
        }
        let mut iter = DbIterator {
            merged: MergeIter::new(sources, direction),
            _view: view,
            snapshot: snapshot.seq(),
            _snapshot: snapshot,
            direction,
            lower,
            upper,
            limit: options.limit,
            emitted: 0,
            decided: None,
            pending: None,
            seen: None,
            done: false,
        };
        iter.position(None)?;
        Ok(iter)
    }

    /// Moves to the first key ≥ `key` (forward) or ≤ `key` (reverse),
    /// staying within the iterator's range.
    pub fn seek(&mut self, key: &[u8]) -> Result<()> {
        self.position(Some(key))
    }

    fn position(&mut self, key: Option<&[u8]>) -> Result<()> {
        self.decided = None;
        self.pending = None;
        self.seen = None;
        self.done = false;
        if is_empty_range(&self.lower, &self.upper) {
            self.done = true;
            return Ok(());
        }
        let target = match self.direction {
            Direction::Forward => {
                let from = tighter_lower(&self.lower, key);
                match from {
                    Bound::Included(k) => Some((k, SEQ_MAX)),
                    Bound::Excluded(k) => Some((k, 0)),
                    Bound::Unbounded => None,
                }
            }
            Direction::Reverse => {
                let from = tighter_upper(&self.upper, key);
                match from {
                    Bound::Included(k) => Some((k, 0)),
                    Bound::Excluded(k) => Some((k, SEQ_MAX)),
                    Bound::Unbounded => None,
                }
            }
        };
        let result = self.merged.seek(target);
        if result.is_err() {
            self.done = true;
        }
        result
    }

    fn limit_reached(&self) -> bool {
        self.limit.is_some_and(|limit| self.emitted >= limit)
    }

    fn next_forward(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        while self.merged.valid() {
            let key = self.merged.user_key();
            if !above_lower(&self.lower, key)
                || self.decided.as_deref() == Some(key)
                || self.merged.seq() > self.snapshot
            {
                self.merged.next()?;
                continue;
            }
            if !below_upper(&self.upper, key) {
                break;
            }
            if self.decided.as_deref().is_some_and(|decided| key < decided) {
                return Err(out_of_order());
            }
            let item = (self.merged.kind() == ValueKind::Put).then(|| (key.to_vec(), self.merged.value().to_vec()));
            reuse_into(&mut self.decided, key);
            self.merged.next()?;
            if item.is_some() {
                return Ok(item);
            }
        }
        self.done = true;
        Ok(None)
    }

    fn next_reverse(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        while self.merged.valid() && above_lower(&self.lower, self.merged.user_key()) {
            let key = self.merged.user_key();
            if !below_upper(&self.upper, key) {
                self.merged.next()?;
                continue;
            }
            if self.seen.as_deref() != Some(key) {
                if self.seen.as_deref().is_some_and(|seen| key > seen) {
                    return Err(out_of_order());
                }
                reuse_into(&mut self.seen, key);
            }
            // Versions of a key arrive oldest first; a new key means the
            // pending one is decided.
            if self.pending.as_ref().is_some_and(|(k, _, _)| k.as_slice() != key) {
                if let Some(item) = take_put(&mut self.pending) {
                    return Ok(Some(item));
                }
                continue;
            }
            if self.merged.seq() <= self.snapshot {
                self.pending = Some((key.to_vec(), self.merged.kind(), self.merged.value().to_vec()));
            }
            self.merged.next()?;
        }
        self.done = true;
        Ok(take_put(&mut self.pending))
    }
}

impl Iterator for DbIterator {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.limit_reached() {
            return None;
        }
        let step = match self.direction {
            Direction::Forward => self.next_forward(),
            Direction::Reverse => self.next_reverse(),
        };
        match step {
            Ok(Some(item)) => {
                self.emitted += 1;
                Some(Ok(item))
            }
            Ok(None) => None,
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// The merged sources went backwards: some table's entries, or its key range,
/// disagree with where the tree places it (damage its checksums missed).
fn out_of_order() -> Error {
    Error::corruption("(range scan)", 0, "keys out of order: a table disagrees with its place in the tree")
}

/// The pending entry if it is a put; clears it either way.
fn take_put(pending: &mut Option<(Vec<u8>, ValueKind, Vec<u8>)>) -> Option<(Vec<u8>, Vec<u8>)> {
    match pending.take() {
        Some((key, ValueKind::Put, value)) => Some((key, value)),
        _ => None,
    }
}

fn reuse_into(slot: &mut Option<Vec<u8>>, key: &[u8]) {
    let buffer = slot.get_or_insert_with(Vec::new);
    buffer.clear();
    buffer.extend_from_slice(key);
}

/// start/end intersected with the prefix's range.
fn effective_bounds(options: &RangeOptions) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let (mut lower, mut upper) = (options.start.clone(), options.end.clone());
    if let Some(prefix) = &options.prefix {
        if !prefix.is_empty() {
            lower = max_lower(lower, Bound::Included(prefix.clone()));
            if let Some(end) = key::prefix_successor(prefix) {
                upper = min_upper(upper, Bound::Excluded(end));
            }
        }
    }
    (lower, upper)
}

fn max_lower(a: Bound<Vec<u8>>, b: Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    match (&a, &b) {
        (Bound::Unbounded, _) => b,
        (_, Bound::Unbounded) => a,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
            if x > y || (x == y && matches!(a, Bound::Excluded(_))) {
                a
            } else {
                b
            }
        }
    }
}

fn min_upper(a: Bound<Vec<u8>>, b: Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    match (&a, &b) {
        (Bound::Unbounded, _) => b,
        (_, Bound::Unbounded) => a,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
            if x < y || (x == y && matches!(a, Bound::Excluded(_))) {
                a
            } else {
                b
            }
        }
    }
}

/// The lower bound, raised to `key` when seeking past it.
fn tighter_lower<'a>(lower: &'a Bound<Vec<u8>>, key: Option<&'a [u8]>) -> Bound<&'a [u8]> {
    let bound = as_slice(lower);
    match (bound, key) {
        (_, None) => bound,
        (Bound::Unbounded, Some(k)) => Bound::Included(k),
        (Bound::Included(b) | Bound::Excluded(b), Some(k)) if k > b => Bound::Included(k),
        _ => bound,
    }
}

/// The upper bound, lowered to `key` when seeking before it.
fn tighter_upper<'a>(upper: &'a Bound<Vec<u8>>, key: Option<&'a [u8]>) -> Bound<&'a [u8]> {
    let bound = as_slice(upper);
    match (bound, key) {
        (_, None) => bound,
        (Bound::Unbounded, Some(k)) => Bound::Included(k),
        (Bound::Included(b) | Bound::Excluded(b), Some(k)) if k < b => Bound::Included(k),
        _ => bound,
    }
}

fn as_slice(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(k) => Bound::Included(k),
        Bound::Excluded(k) => Bound::Excluded(k),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn above_lower(lower: &Bound<Vec<u8>>, key: &[u8]) -> bool {
    match lower {
        Bound::Included(b) => key >= b.as_slice(),
        Bound::Excluded(b) => key > b.as_slice(),
        Bound::Unbounded => true,
    }
}

fn below_upper(upper: &Bound<Vec<u8>>, key: &[u8]) -> bool {
    match upper {
        Bound::Included(b) => key <= b.as_slice(),
        Bound::Excluded(b) => key < b.as_slice(),
        Bound::Unbounded => true,
    }
}

/// True when no key can satisfy both bounds.
fn is_empty_range(lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>) -> bool {
    match (lower, upper) {
        (Bound::Included(l), Bound::Included(u)) => l > u,
        (Bound::Included(l) | Bound::Excluded(l), Bound::Excluded(u)) | (Bound::Excluded(l), Bound::Included(u)) => {
            l >= u
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_bounds_intersect_with_start_and_end() {
        let options = RangeOptions { start: Bound::Included(b"ab".to_vec()), ..RangeOptions::prefix(b"a".to_vec()) };
        assert_eq!(effective_bounds(&options), (Bound::Included(b"ab".to_vec()), Bound::Excluded(b"b".to_vec())));
        let options = RangeOptions::prefix(b"a\xff".to_vec());
        assert_eq!(effective_bounds(&options), (Bound::Included(b"a\xff".to_vec()), Bound::Excluded(b"b".to_vec())));
        let options = RangeOptions::prefix(b"\xff\xff".to_vec());
        assert_eq!(effective_bounds(&options), (Bound::Included(b"\xff\xff".to_vec()), Bound::Unbounded));
    }

    #[test]
    fn empty_ranges_are_recognised() {
        let inc = |k: &[u8]| Bound::Included(k.to_vec());
        let exc = |k: &[u8]| Bound::Excluded(k.to_vec());
        assert!(is_empty_range(&inc(b"b"), &inc(b"a")));
        assert!(!is_empty_range(&inc(b"a"), &inc(b"a")));
        assert!(is_empty_range(&inc(b"a"), &exc(b"a")));
        assert!(is_empty_range(&exc(b"a"), &inc(b"a")));
        assert!(!is_empty_range(&Bound::Unbounded, &exc(b"a")));
    }
}
