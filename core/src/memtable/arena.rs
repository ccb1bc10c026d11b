//! The memtable's byte arena: every entry's `key ‖ value` is copied into a few
//! large chunks instead of an allocation of its own.
//!
//! Why: a flushed 64 MiB memtable held half a million allocations, and
//! freeing them one by one on the background thread took 300–780 ms, holding
//! glibc's arena lock long enough to stall a writer for up to 280 ms
//! (BENCHMARKS.md, "Latency maxima"). Chunks are freed a handful at a time,
//! and entries carry no allocation header.
//!
//! Bytes never move and are never written twice: `put` returns a pointer
//! that stays valid, to bytes that stay unchanged, until the arena drops.
//! That is what lets readers hold entries without a lock (see `Span`).

use alloc::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use alloc::vec::Vec;
use core::ptr::NonNull;

/// The first chunk's size; each next chunk doubles, up to `CHUNK_MAX`, so a
/// small memtable (the playground's holds 30 entries) stays small. A full
/// 64 MiB memtable is a thousand chunks: few enough to free at once, small
/// enough that the last one's unused tail is no real waste.
const CHUNK_MIN: usize = 4 * 1024;
const CHUNK_MAX: usize = 64 * 1024;
/// An entry larger than this gets a chunk of its own, so moving on to a new
/// shared chunk wastes at most this much of the old one's tail (1/8).
const OWN_CHUNK_OVER: usize = CHUNK_MAX / 8;

/// Where an entry's bytes live: `key_len + value_len` bytes at `ptr`.
#[derive(Clone, Copy, Debug)]
pub struct Span {
    ptr: NonNull<u8>,
    key_len: u32,
    value_len: u32,
}

// SAFETY: a `Span` points to bytes its arena wrote once before handing the
// span out and never writes again; reading them from any thread is sound
// while the arena lives, and the memtable keeps its arena alive as long as
// any span of it is reachable (spans never leave the memtable module except
// inside a `MemtableIter`, which holds the memtable).
unsafe impl Send for Span {}
// SAFETY: as for `Send`: shared access only ever reads immutable bytes.
unsafe impl Sync for Span {}

impl Span {
    pub fn key_len(&self) -> usize {
        self.key_len as usize
    }

    /// The entry's key.
    ///
    /// # Safety
    /// The arena that made this span must still be alive.
    pub unsafe fn key<'a>(&self) -> &'a [u8] {
        // SAFETY: the caller keeps the arena alive; `put` initialised these
        // bytes and nothing writes them again.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.key_len as usize) }
    }

    /// The entry's value.
    ///
    /// # Safety
    /// The arena that made this span must still be alive.
    pub unsafe fn value<'a>(&self) -> &'a [u8] {
        // SAFETY: as for `key`; the value follows the key in one run of
        // `key_len + value_len` initialised bytes.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr().add(self.key_len as usize), self.value_len as usize) }
    }
}

/// A chunk: memory this arena allocated and frees on drop.
struct Chunk {
    ptr: NonNull<u8>,
    size: usize,
}

impl Chunk {
    fn new(size: usize) -> Chunk {
        let layout = Chunk::layout(size);
        // SAFETY: the layout's size is non-zero (every entry has a key).
        let ptr = unsafe { alloc(layout) };
        let Some(ptr) = NonNull::new(ptr) else { handle_alloc_error(layout) };
        Chunk { ptr, size }
    }

    fn layout(size: usize) -> Layout {
        assert!(size > 0, "chunks are never empty");
        Layout::from_size_align(size, 1).expect("a chunk is at most a memtable entry or 1 MiB")
    }
}

/// Append-only storage for entry bytes. Written only by the memtable's one
/// writer (under its write lock), read by anyone through `Span`s.
pub struct Arena {
    chunks: Vec<Chunk>,
    /// Unused bytes at the end of the last shared chunk (`shared`).
    free: usize,
    /// The chunk new small entries go into, an index into `chunks`.
    shared: Option<usize>,
}

// SAFETY: the arena owns its chunks (raw pointers only because spans into
// them are handed out); moving it between threads moves that ownership.
unsafe impl Send for Arena {}
// SAFETY: `&Arena` gives no access to the chunks at all; only `&mut self`
// (`put`) writes, and only to bytes no span yet covers.
unsafe impl Sync for Arena {}

impl Arena {
    pub const fn new() -> Arena {
        Arena { chunks: Vec::new(), free: 0, shared: None }
    }

    /// Copies `key ‖ value` in and returns where it lives.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Span {
        let len = key.len() + value.len();
        let (key_len, value_len) = (u32::try_from(key.len()), u32::try_from(value.len()));
        let (Ok(key_len), Ok(value_len)) = (key_len, value_len) else {
            panic!("the WAL's limits keep keys and values under 4 GiB");
        };
        assert!(len > 0, "every entry has a key");
        let dst = self.reserve(len);
        // SAFETY: `reserve` returned `len` bytes inside one live chunk that no
        // span covers yet, so nothing reads them while they are written.
        unsafe {
            core::ptr::copy_nonoverlapping(key.as_ptr(), dst.as_ptr(), key.len());
            core::ptr::copy_nonoverlapping(value.as_ptr(), dst.as_ptr().add(key.len()), value.len());
        }
        Span { ptr: dst, key_len, value_len }
    }

    /// `len` fresh bytes, taken from the end of the shared chunk, or a new
    /// chunk (its own when `len` is large).
    fn reserve(&mut self, len: usize) -> NonNull<u8> {
        if len > OWN_CHUNK_OVER {
            return self.push(Chunk::new(len)).ptr;
        }
        if len > self.free || self.shared.is_none() {
            let size = self.shared.map_or(CHUNK_MIN, |i| self.chunks[i].size * 2).min(CHUNK_MAX).max(len);
            let index = self.chunks.len();
            self.push(Chunk::new(size));
            self.shared = Some(index);
            self.free = size;
        }
        let chunk = &self.chunks[self.shared.expect("set above")];
        let at = chunk.size - self.free;
        self.free -= len;
        // SAFETY: `at + len <= chunk.size`, so the pointer stays in the chunk.
        unsafe { NonNull::new_unchecked(chunk.ptr.as_ptr().add(at)) }
    }

    fn push(&mut self, chunk: Chunk) -> &Chunk {
        self.chunks.push(chunk);
        self.chunks.last().expect("just pushed")
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        for chunk in &self.chunks {
            // SAFETY: allocated in `Chunk::new` with this layout, freed once.
            unsafe { dealloc(chunk.ptr.as_ptr(), Chunk::layout(chunk.size)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_keep_their_bytes_across_chunks() {
        let mut arena = Arena::new();
        let mut spans = Vec::new();
        // Small entries fill and roll over chunks; every 97th is large
        // enough for a chunk of its own.
        for i in 0..5_000u32 {
            let key = i.to_be_bytes();
            let value = alloc::vec![(i % 251) as u8; if i % 97 == 0 { OWN_CHUNK_OVER + 1 } else { (i % 300) as usize }];
            spans.push((arena.put(&key, &value), key, value));
        }
        for (span, key, value) in &spans {
            // SAFETY: `arena` is alive.
            let (k, v) = unsafe { (span.key(), span.value()) };
            assert_eq!((k, v), (&key[..], &value[..]));
            assert_eq!(span.key_len(), 4);
        }
        // Large entries take a chunk of exactly their size; shared chunks
        // grow to the cap, and their unused tails stay within an eighth.
        let large = spans.iter().filter(|(_, _, v)| v.len() > OWN_CHUNK_OVER).count();
        let own = arena.chunks.iter().filter(|c| c.size == OWN_CHUNK_OVER + 5).count();
        assert_eq!((large, own), (52, 52));
        let shared: Vec<usize> = arena.chunks.iter().map(|c| c.size).filter(|&s| s != OWN_CHUNK_OVER + 5).collect();
        assert!(shared.iter().all(|&s| s <= CHUNK_MAX) && shared.contains(&CHUNK_MAX));
        let used: usize = spans.iter().map(|(_, k, v)| k.len() + v.len()).sum::<usize>() - large * (OWN_CHUNK_OVER + 5);
        let waste = shared.iter().sum::<usize>() - used;
        assert!(waste <= used / 8 + CHUNK_MAX, "{waste} bytes unused for {used} used");
    }

    #[test]
    fn a_chunk_is_as_large_as_the_entry_that_needs_it() {
        let mut arena = Arena::new();
        let span = arena.put(b"k", &alloc::vec![1; OWN_CHUNK_OVER - 1]);
        // SAFETY: `arena` is alive.
        assert_eq!(unsafe { span.value() }.len(), OWN_CHUNK_OVER - 1);
        assert_eq!(arena.chunks.len(), 1);
        assert!(arena.chunks[0].size >= OWN_CHUNK_OVER);
    }
}
