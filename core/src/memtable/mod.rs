//! The memtable: the newest writes, sorted in memory, until a flush turns them
//! into an L0 table. Every version is kept (snapshots may need old ones); the
//! flush drops those no snapshot can see.
//!
//! One writer at a time inserts (the engine's write lock); readers search
//! concurrently under a read lock held only for the duration of one lookup
//! or one chunk of an iteration, so a long scan never blocks writers.

use alloc::collections::{BTreeSet, VecDeque};
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

mod arena;
use arena::{Arena, Span};

/// Entries copied out per lock acquisition while iterating: a few after a
/// seek (a short scan reads a few entries from the memtable, and each
/// acquisition is an atomic two threads' scans fight over), doubling per
/// refill up to the most.
const ITER_FIRST_CHUNK_ENTRIES: usize = 4;
const ITER_CHUNK_ENTRIES: usize = 64;

/// A memtable key: user key and sequence number, in internal-key order,
/// with the entry's kind. The key and value live in the memtable's arena
/// (`span`): a copy of an entry is 40 bytes and no reference count. The
/// first `HEAD_BYTES` of the user key are kept inline as well, so most
/// comparisons in the map never follow the pointer: at 10M random keys the
/// map's comparisons were a sixth of a fill's time, nearly all of it cache
/// misses on the entry's bytes.
///
/// A `MemKey` is only ever read while its memtable is alive: in the map, or
/// in a `MemtableIter`, which holds the memtable.
#[derive(Clone, Copy, Debug)]
struct MemKey {
    head: Head,
    span: Span,
    /// `seq << 8 | kind`, as in a table's internal key.
    trailer: u64,
}

/// Bytes of a user key kept inline, zero-padded, as two big-endian words.
const HEAD_BYTES: usize = 16;
type Head = [u64; 2];

fn head_of(user_key: &[u8]) -> Head {
    let mut bytes = [0u8; HEAD_BYTES];
    let n = user_key.len().min(HEAD_BYTES);
    bytes[..n].copy_from_slice(&user_key[..n]);
    let word = u128::from_be_bytes(bytes);
    [(word >> 64) as u64, word as u64]
}

impl MemKey {
    fn user_key(&self) -> &[u8] {
        // SAFETY: a `MemKey` is read only while its memtable, which owns the
        // arena, is alive (see the type's comment).
        unsafe { self.span.key() }
    }

    fn value(&self) -> &[u8] {
        // SAFETY: as in `user_key`.
        unsafe { self.span.value() }
    }

    fn seq(&self) -> u64 {
        self.trailer >> 8
    }

    fn kind(&self) -> ValueKind {
        match key::unpack_trailer(self.trailer).1 {
            Ok(kind) => kind,
            Err(_) => unreachable!("the trailer was packed from a ValueKind"),
        }
    }
}

/// A key as the map compares it: a `MemKey`, or a `Probe` a lookup builds,
/// so lookups need not allocate — the map is searched through
/// `&dyn LookupKey` (the `Borrow` trick for composite keys).
trait LookupKey {
    fn head(&self) -> Head;
    fn key_len(&self) -> usize;
    fn user_key(&self) -> &[u8];
    fn seq(&self) -> u64;
}

/// Internal-key order (`key::compare`): user keys bytewise, then newest
/// first. Different heads decide alone (a zero pad sorts like the end of a
/// shorter key). Equal heads of keys no longer than the head mean keys equal
/// but for trailing zeros: the shorter first. Only longer keys with equal
/// heads read the shared bytes.
fn order(a: &(impl LookupKey + ?Sized), b: &(impl LookupKey + ?Sized)) -> Ordering {
    let by_key = match a.head().cmp(&b.head()) {
        Ordering::Equal if a.key_len() <= HEAD_BYTES && b.key_len() <= HEAD_BYTES => a.key_len().cmp(&b.key_len()),
        Ordering::Equal => key::compare_user_keys(a.user_key(), b.user_key()),
        decided => decided,
    };
    by_key.then_with(|| b.seq().cmp(&a.seq()))
}

impl LookupKey for MemKey {
    fn head(&self) -> Head {
        self.head
    }
    fn key_len(&self) -> usize {
        self.span.key_len()
    }
    fn user_key(&self) -> &[u8] {
        MemKey::user_key(self)
    }
    fn seq(&self) -> u64 {
        MemKey::seq(self)
    }
}

/// A lookup key: a borrowed user key, its head computed once per lookup.
struct Probe<'a> {
    head: Head,
    user_key: &'a [u8],
    seq: u64,
}

impl<'a> Probe<'a> {
    fn new(user_key: &'a [u8], seq: u64) -> Self {
        Probe { head: head_of(user_key), user_key, seq }
    }
}

impl LookupKey for Probe<'_> {
    fn head(&self) -> Head {
        self.head
    }
    fn key_len(&self) -> usize {
        self.user_key.len()
    }
    fn user_key(&self) -> &[u8] {
        self.user_key
    }
    fn seq(&self) -> u64 {
        self.seq
    }
}

impl<'a> Borrow<dyn LookupKey + 'a> for MemKey {
    fn borrow(&self) -> &(dyn LookupKey + 'a) {
        self
    }
}

impl PartialEq for dyn LookupKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
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
        order(self, other)
    }
}

impl Ord for MemKey {
    fn cmp(&self, other: &Self) -> Ordering {
        order(self, other)
    }
}
impl PartialEq for MemKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for MemKey {}
impl PartialOrd for MemKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The map and the arena its keys point into, under one lock: the one
/// writer appends to both, readers search the map.
struct Inner {
    map: BTreeSet<MemKey>,
    arena: Arena,
}

/// A sorted, versioned map from (user key, seq) to a value or tombstone.
pub struct Memtable {
    inner: RwLock<Inner>,
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
            inner: RwLock::new(Inner { map: BTreeSet::new(), arena: Arena::new() }),
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
        let mut inner = self.inner.write();
        let span = inner.arena.put(user_key, value);
        let key = MemKey { head: head_of(user_key), span, trailer: key::pack_trailer(seq, kind) };
        assert!(inner.map.insert(key), "sequence number {seq} inserted twice");
        drop(inner);
        self.entries.fetch_add(1, AtomicOrdering::Relaxed);
        self.bytes.fetch_add(Self::charge(user_key.len(), value.len()), AtomicOrdering::Relaxed);
        self.max_seq.fetch_max(seq, AtomicOrdering::Release);
    }

    /// The newest version of `user_key` with seq ≤ `snapshot`.
    pub fn get(&self, user_key: &[u8], snapshot: u64) -> Option<(u64, ValueKind, Vec<u8>)> {
        let inner = self.inner.read();
        let start: &dyn LookupKey = &Probe::new(user_key, snapshot);
        let found = inner.map.range::<dyn LookupKey, _>((Bound::Included(start), Bound::Unbounded)).next()?;
        (found.user_key() == user_key).then(|| (found.seq(), found.kind(), found.value().to_vec()))
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
    fn chunk(&self, from: Bound<(&[u8], u64)>, direction: Direction, max: usize, out: &mut VecDeque<MemKey>) {
        let map = &self.inner.read().map;
        let probe = match from {
            Bound::Included((key, seq)) => Bound::Included(Probe::new(key, seq)),
            Bound::Excluded((key, seq)) => Bound::Excluded(Probe::new(key, seq)),
            Bound::Unbounded => Bound::Unbounded,
        };
        let pivot = match &probe {
            Bound::Included(p) => Bound::Included(p as &dyn LookupKey),
            Bound::Excluded(p) => Bound::Excluded(p as &dyn LookupKey),
            Bound::Unbounded => Bound::Unbounded,
        };
        match direction {
            Direction::Forward => out.extend(map.range::<dyn LookupKey, _>((pivot, Bound::Unbounded)).take(max)),
            Direction::Reverse => out.extend(map.range::<dyn LookupKey, _>((Bound::Unbounded, pivot)).rev().take(max)),
        }
    }
}

/// A cursor over a memtable that copies entries out a chunk at a time, so it
/// holds no lock between calls and can outlive any borrow.
pub struct MemtableIter {
    table: Arc<Memtable>,
    direction: Direction,
    buffer: VecDeque<MemKey>,
    /// Entries the next refill copies.
    chunk: usize,
    /// True once a chunk came back short: nothing lies beyond the buffer.
    exhausted: bool,
    started: bool,
}

impl MemtableIter {
    pub fn new(table: Arc<Memtable>, direction: Direction) -> Self {
        let chunk = ITER_FIRST_CHUNK_ENTRIES;
        MemtableIter { table, direction, buffer: VecDeque::new(), chunk, exhausted: true, started: false }
    }

    fn fill(&mut self, from: Bound<(&[u8], u64)>) {
        self.table.chunk(from, self.direction, self.chunk, &mut self.buffer);
        self.exhausted = self.buffer.len() < self.chunk;
        self.chunk = (self.chunk * 2).min(ITER_CHUNK_ENTRIES);
    }
}

impl EntryIter for MemtableIter {
    fn seek(&mut self, target: Option<(&[u8], u64)>) -> Result<()> {
        self.buffer.clear();
        self.started = true;
        self.chunk = ITER_FIRST_CHUNK_ENTRIES;
        self.fill(target.map_or(Bound::Unbounded, Bound::Included));
        Ok(())
    }

    fn next(&mut self) -> Result<()> {
        debug_assert!(self.started);
        if let Some(done) = self.buffer.pop_front() {
            if self.buffer.is_empty() && !self.exhausted {
                self.fill(Bound::Excluded((done.user_key(), done.seq())));
            }
        }
        Ok(())
    }

    fn valid(&self) -> bool {
        !self.buffer.is_empty()
    }

    fn user_key(&self) -> &[u8] {
        self.buffer[0].user_key()
    }

    fn seq(&self) -> u64 {
        self.buffer[0].seq()
    }

    fn kind(&self) -> ValueKind {
        self.buffer[0].kind()
    }

    fn value(&self) -> &[u8] {
        self.buffer[0].value()
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

    /// The inline heads change nothing: the memtable orders keys exactly as
    /// `key::compare` does — around the head's length, with trailing and
    /// embedded zeros, long shared prefixes and equal keys of many versions.
    #[test]
    fn order_with_inline_heads_is_internal_key_order() {
        let mut rng = crate::testing::Rng::new(0x4ead);
        let mut keys: Vec<(Vec<u8>, u64)> = Vec::new();
        for i in 0..3000u64 {
            let len = rng.below(40) as usize;
            let key: Vec<u8> = (0..len).map(|_| [0u8, 1, b'a', 0xff][rng.below(4) as usize]).collect();
            keys.push((key, i % 5));
        }
        for (a, a_seq) in &keys {
            for (b, b_seq) in keys.iter().step_by(7) {
                let (pa, pb) = (Probe::new(a, *a_seq), Probe::new(b, *b_seq));
                assert_eq!(order(&pa, &pb), key::compare(a, *a_seq, b, *b_seq), "{a:?}@{a_seq} vs {b:?}@{b_seq}");
            }
        }
        // And the map keeps that order.
        let table = Memtable::new();
        let mut model: Vec<(Vec<u8>, u64)> = Vec::new();
        for (i, (key, _)) in keys.iter().enumerate() {
            table.insert(key, i as u64 + 1, ValueKind::Put, b"v");
            model.push((key.clone(), i as u64 + 1));
        }
        model.sort_by(|(a, a_seq), (b, b_seq)| key::compare(a, *a_seq, b, *b_seq));
        let mut iter = MemtableIter::new(Arc::new(table), Direction::Forward);
        iter.seek(None).unwrap();
        assert_eq!(collect(&mut iter), model);
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
        assert_eq!(m.bytes(), 4 * MEMTABLE_ENTRY_OVERHEAD as u64 + 7);
    }

    /// What an entry is charged must be what it holds, or a memtable's
    /// byte cap does not bound its memory: at 32 bytes of overhead a
    /// 116-byte entry was charged 148 bytes and held 220.
    #[test]
    fn charges_about_what_entries_hold_on_the_heap() {
        let mut rng = crate::testing::Rng::new(7);
        // Random and ascending keys (the map's nodes fill differently), and
        // a benchmark's 16-byte keys with 100-byte and 8-byte values.
        for (value_len, ascending) in [(100, false), (100, true), (8, false)] {
            let count = 20_000u64;
            let before = crate::tests::heap::held();
            let m = Memtable::new();
            for seq in 1..=count {
                let n = if ascending { seq } else { rng.next_u64() };
                m.insert(&n.to_be_bytes().repeat(2), seq, ValueKind::Put, &alloc::vec![7; value_len]);
            }
            let held = (crate::tests::heap::held() - before) as f64;
            let ratio = m.bytes() as f64 / held;
            assert!((0.85..=1.2).contains(&ratio), "{value_len}-byte values: charged {} for {held} held", m.bytes());
        }
    }

    /// Readers on other threads, without the writer's lock between
    /// lookups, see every entry whole (key and value as written) while the
    /// writer fills arena chunks; `cargo miri test` checks this for races.
    #[test]
    fn readers_see_whole_entries_while_the_writer_inserts() {
        let count: u64 = if cfg!(miri) { 300 } else { 20_000 };
        let value_of = |n: u64| alloc::vec![n as u8; (n % 200) as usize];
        let m = Arc::new(Memtable::new());
        let reader = {
            let m = m.clone();
            std::thread::spawn(move || {
                let mut iter = MemtableIter::new(m.clone(), Direction::Forward);
                let mut seen = 0;
                loop {
                    // One last whole pass after the writer is done.
                    let seq = m.max_seq();
                    if let Some((found, _, value)) = m.get(&seq.to_be_bytes(), u64::MAX >> 8) {
                        assert_eq!((found, value), (seq, value_of(seq)));
                    }
                    iter.seek(None).unwrap();
                    while iter.valid() {
                        let n = u64::from_be_bytes(iter.user_key().try_into().unwrap());
                        assert_eq!((iter.seq(), iter.value()), (n, &value_of(n)[..]));
                        iter.next().unwrap();
                        seen += 1;
                    }
                    if seq == count {
                        return seen;
                    }
                }
            })
        };
        for n in 1..=count {
            m.insert(&n.to_be_bytes(), n, ValueKind::Put, &value_of(n));
        }
        assert!(reader.join().unwrap() >= count);
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
