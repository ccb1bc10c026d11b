//! The memtable: the newest writes, sorted in memory, until a flush turns them
//! into an L0 table. Every version is kept (snapshots may need old ones); the
//! flush drops those no snapshot can see.
//!
//! One writer at a time inserts (the engine's write lock); readers search
//! concurrently under a read lock held only for the duration of one lookup
//! or one chunk of an iteration, so a long scan never blocks writers.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::borrow::Borrow;
use core::cmp::Ordering;
use core::ops::Bound;
use core::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use crate::error::Result;
use crate::iterator::{Direction, EntryIter};
use crate::key::{self, ValueKind};
use crate::options::MEMTABLE_ENTRY_OVERHEAD;
use crate::sync::RwLock;

/// Entries copied out per lock acquisition while iterating.
const ITER_CHUNK_ENTRIES: usize = 64;

/// A memtable key: user key and sequence number, in internal-key order.
/// The entry's key and value share one allocation (`key ‖ value`): one
/// allocation per insert, and an iterator's copy of an entry is a reference
/// count, not a memcpy (flushes copy every entry out).
#[derive(Clone, Debug, PartialEq, Eq)]
struct MemKey {
    bytes: Arc<[u8]>,
    key_len: usize,
    seq: u64,
}

impl MemKey {
    fn user_key(&self) -> &[u8] {
        &self.bytes[..self.key_len]
    }

    fn value(&self) -> &[u8] {
        &self.bytes[self.key_len..]
    }
}

/// A borrowed view of a `MemKey`, so lookups need not allocate: the map is
/// searched through `&dyn LookupKey` (the `Borrow` trick for composite keys).
trait LookupKey {
    fn parts(&self) -> (&[u8], u64);
}

impl LookupKey for MemKey {
    fn parts(&self) -> (&[u8], u64) {
        (self.user_key(), self.seq)
    }
}

impl LookupKey for (&[u8], u64) {
    fn parts(&self) -> (&[u8], u64) {
        (self.0, self.1)
    }
}

impl<'a> Borrow<dyn LookupKey + 'a> for MemKey {
    fn borrow(&self) -> &(dyn LookupKey + 'a) {
        self
    }
}

impl PartialEq for dyn LookupKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}
impl Eq for dyn LookupKey + '_ {}
impl PartialOrd for dyn LookupKey + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for dyn LookupKey + '_ {
    fn cmp(&self, other: &Self) -> Ordering {
        let ((a, a_seq), (b, b_seq)) = (self.parts(), other.parts());
        key::compare(a, a_seq, b, b_seq)
    }
}

impl Ord for MemKey {
    fn cmp(&self, other: &Self) -> Ordering {
        key::compare(self.user_key(), self.seq, other.user_key(), other.seq)
    }
}
impl PartialOrd for MemKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// An entry held by a `MemtableIter`: the memtable's own shared bytes.
#[derive(Clone, Debug)]
struct SharedEntry {
    key: MemKey,
    kind: ValueKind,
}

/// A sorted, versioned map from (user key, seq) to a value or tombstone.
pub struct Memtable {
    map: RwLock<BTreeMap<MemKey, ValueKind>>,
    entries: AtomicU64,
    bytes: AtomicU64,
    max_seq: AtomicU64,
}

impl core::fmt::Debug for Memtable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Memtable").field("entries", &self.entries()).field("bytes", &self.bytes()).finish()
    }
}

impl Default for Memtable {
    fn default() -> Self {
        Self::new()
    }
}

impl Memtable {
    pub fn new() -> Self {
        Memtable {
            map: RwLock::new(BTreeMap::new()),
            entries: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            max_seq: AtomicU64::new(0),
        }
    }

    /// Bytes an entry is charged against `memtable_max_bytes`.
    pub fn charge(key_len: usize, value_len: usize) -> u64 {
        (key_len + value_len + MEMTABLE_ENTRY_OVERHEAD) as u64
    }

    /// Inserts one version. Sequence numbers must increase across inserts
    /// (the engine assigns them under its write lock).
    pub fn insert(&self, user_key: &[u8], seq: u64, kind: ValueKind, value: &[u8]) {
        debug_assert!(seq > self.max_seq.load(AtomicOrdering::Relaxed), "sequence numbers must increase");
        let key = MemKey { bytes: concat(user_key, value), key_len: user_key.len(), seq };
        let previous = self.map.write().insert(key, kind);
        assert!(previous.is_none(), "sequence number {seq} inserted twice");
        self.entries.fetch_add(1, AtomicOrdering::Relaxed);
        self.bytes.fetch_add(Self::charge(user_key.len(), value.len()), AtomicOrdering::Relaxed);
        self.max_seq.fetch_max(seq, AtomicOrdering::Release);
    }

    /// The newest version of `user_key` with seq ≤ `snapshot`.
    pub fn get(&self, user_key: &[u8], snapshot: u64) -> Option<(u64, ValueKind, Vec<u8>)> {
        let map = self.map.read();
        let start: &dyn LookupKey = &(user_key, snapshot);
        let (found, kind) = map.range::<dyn LookupKey, _>((Bound::Included(start), Bound::Unbounded)).next()?;
        (found.user_key() == user_key).then(|| (found.seq, *kind, found.value().to_vec()))
    }

    pub fn entries(&self) -> u64 {
        self.entries.load(AtomicOrdering::Relaxed)
    }

    pub fn bytes(&self) -> u64 {
        self.bytes.load(AtomicOrdering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.entries() == 0
    }

    /// Largest sequence number held (0 when empty).
    pub fn max_seq(&self) -> u64 {
        self.max_seq.load(AtomicOrdering::Acquire)
    }

    /// Copies up to `max` entries starting at `from` (a bound in the
    /// direction of travel: Included = at or after, Excluded = strictly after).
    fn chunk(&self, from: Bound<(&[u8], u64)>, direction: Direction, max: usize, out: &mut VecDeque<SharedEntry>) {
        let map = self.map.read();
        let pivot = match &from {
            Bound::Included(k) => Bound::Included(k as &dyn LookupKey),
            Bound::Excluded(k) => Bound::Excluded(k as &dyn LookupKey),
            Bound::Unbounded => Bound::Unbounded,
        };
        let copy = |(key, kind): (&MemKey, &ValueKind)| SharedEntry { key: key.clone(), kind: *kind };
        match direction {
            Direction::Forward => {
                out.extend(map.range::<dyn LookupKey, _>((pivot, Bound::Unbounded)).take(max).map(copy))
            }
            Direction::Reverse => {
                out.extend(map.range::<dyn LookupKey, _>((Bound::Unbounded, pivot)).rev().take(max).map(copy))
            }
        }
    }
}

/// `a ‖ b` in a single allocation (building a `Vec` first and converting it
/// would allocate twice and copy twice on the write path's hottest line).
fn concat(a: &[u8], b: &[u8]) -> Arc<[u8]> {
    let mut bytes = Arc::<[u8]>::new_uninit_slice(a.len() + b.len());
    let slots = Arc::get_mut(&mut bytes).expect("a new Arc is unique");
    let (head, tail) = slots.split_at_mut(a.len());
    head.write_copy_of_slice(a);
    tail.write_copy_of_slice(b);
    // SAFETY: the two copies above initialised every byte of the slice.
    unsafe { bytes.assume_init() }
}

/// A cursor over a memtable that copies entries out a chunk at a time, so it
/// holds no lock between calls and can outlive any borrow.
pub struct MemtableIter {
    table: Arc<Memtable>,
    direction: Direction,
    buffer: VecDeque<SharedEntry>,
    /// True once a chunk came back short: nothing lies beyond the buffer.
    exhausted: bool,
    started: bool,
}

impl MemtableIter {
    pub fn new(table: Arc<Memtable>, direction: Direction) -> Self {
        MemtableIter { table, direction, buffer: VecDeque::new(), exhausted: true, started: false }
    }

    fn fill(&mut self, from: Bound<(&[u8], u64)>) {
        self.table.chunk(from, self.direction, ITER_CHUNK_ENTRIES, &mut self.buffer);
        self.exhausted = self.buffer.len() < ITER_CHUNK_ENTRIES;
    }
}

impl EntryIter for MemtableIter {
    fn seek(&mut self, target: Option<(&[u8], u64)>) -> Result<()> {
        self.buffer.clear();
        self.started = true;
        self.fill(target.map_or(Bound::Unbounded, Bound::Included));
        Ok(())
    }

    fn next(&mut self) -> Result<()> {
        debug_assert!(self.started);
        if let Some(done) = self.buffer.pop_front() {
            if self.buffer.is_empty() && !self.exhausted {
                self.fill(Bound::Excluded((done.key.user_key(), done.key.seq)));
            }
        }
        Ok(())
    }

    fn valid(&self) -> bool {
        !self.buffer.is_empty()
    }

    fn user_key(&self) -> &[u8] {
        self.buffer[0].key.user_key()
    }

    fn seq(&self) -> u64 {
        self.buffer[0].key.seq
    }

    fn kind(&self) -> ValueKind {
        self.buffer[0].kind
    }

    fn value(&self) -> &[u8] {
        self.buffer[0].key.value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn collect(iter: &mut MemtableIter) -> Vec<(Vec<u8>, u64)> {
        let mut out = Vec::new();
        while iter.valid() {
            out.push((iter.user_key().to_vec(), iter.seq()));
            iter.next().unwrap();
        }
        out
    }

    #[test]
    fn get_returns_newest_visible_version() {
        let m = Memtable::new();
        m.insert(b"a", 1, ValueKind::Put, b"1");
        m.insert(b"a", 5, ValueKind::Put, b"5");
        m.insert(b"a", 7, ValueKind::Delete, b"");
        m.insert(b"b", 8, ValueKind::Put, b"b");
        assert_eq!(m.get(b"a", 100), Some((7, ValueKind::Delete, vec![])));
        assert_eq!(m.get(b"a", 6), Some((5, ValueKind::Put, b"5".to_vec())));
        assert_eq!(m.get(b"a", 0), None);
        assert_eq!(m.get(b"c", 100), None);
        assert_eq!(m.get(b"", 100), None);
        assert_eq!((m.entries(), m.max_seq()), (4, 8));
        assert_eq!(m.bytes(), 4 * 32 + 7);
    }

    #[test]
    fn iterates_across_chunks_in_both_directions() {
        let m = Arc::new(Memtable::new());
        let mut expected = Vec::new();
        for i in 0..200u32 {
            let key = alloc::format!("k{i:04}").into_bytes();
            m.insert(&key, u64::from(i) + 1, ValueKind::Put, b"v");
            expected.push((key, u64::from(i) + 1));
        }
        let mut fwd = MemtableIter::new(m.clone(), Direction::Forward);
        fwd.seek(None).unwrap();
        assert_eq!(collect(&mut fwd), expected);

        let mut rev = MemtableIter::new(m.clone(), Direction::Reverse);
        rev.seek(None).unwrap();
        let mut reversed = expected.clone();
        reversed.reverse();
        assert_eq!(collect(&mut rev), reversed);

        // Seek to an existing key's oldest possible version: forward starts after it.
        fwd.seek(Some((b"k0100", 0))).unwrap();
        assert_eq!(fwd.user_key(), b"k0101");
        fwd.seek(Some((b"k0100", u64::MAX >> 8))).unwrap();
        assert_eq!(fwd.user_key(), b"k0100");
        rev.seek(Some((b"k0100", 0))).unwrap();
        assert_eq!(rev.user_key(), b"k0100");
        rev.seek(Some((b"k0100", u64::MAX >> 8))).unwrap();
        assert_eq!(rev.user_key(), b"k0099");
    }
}
