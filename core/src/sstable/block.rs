//! Data and index blocks (FORMAT.md, "Data and index blocks"): a builder
//! that encodes entries back to back followed by an offsets array and a
//! count; a parsed, validated `Block`; and a bidirectional `BlockCursor` that
//! binary-searches the offsets array.
//!
//! Index blocks, and data blocks read for the table inspector, are validated
//! whole when parsed (after their crc): every offset must point exactly at
//! the next entry, every entry must decode, and the entries must be strictly
//! increasing in internal-key order. Data blocks on the read path trust their
//! crc and check only their structure. Either way, searches and cursors
//! decode through bounds checks, so no block can make a read go out of
//! bounds: a malformed entry is `Error::Corruption` when it is reached.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cmp::Ordering;

use crate::coding::{self, Decoder};
use crate::error::{Error, Result};
use crate::key::{self, ValueKind};

/// Bytes of one entry of the offsets array.
pub const BLOCK_OFFSET_SIZE: usize = 4;
/// Bytes of the entry count at the end of a block.
pub const BLOCK_COUNT_SIZE: usize = 4;
/// Bytes of an entry's trailer, `(seq << 8) | kind`.
pub const TRAILER_SIZE: usize = 8;
/// The longest varint of a u32.
pub const VARINT32_MAX_SIZE: usize = 5;
/// A builder whose buffer grew beyond this (one huge value) gives the memory
/// back when it is reset, instead of holding it for the rest of the table.
const BUILDER_RETAIN_MAX_BYTES: usize = 1 << 20;

/// Bytes `put_varint32` writes for a length; a length beyond u32 (which no
/// valid entry has) is counted as the longest varint so bounds stay bounds.
#[must_use]
pub fn varint_len(len: usize) -> usize {
    u32::try_from(len).map_or(VARINT32_MAX_SIZE, coding::varint32_len)
}

/// Encoded size of one entry, excluding its slot in the offsets array.
#[must_use]
pub fn entry_size(key_len: usize, value_len: usize) -> u64 {
    let header = varint_len(key_len) + varint_len(value_len) + TRAILER_SIZE;
    (header as u64).saturating_add(key_len as u64).saturating_add(value_len as u64)
}

/// Encoded size of a block holding `count` entries of `entry_bytes` in total.
#[must_use]
pub fn block_size_for(entry_bytes: u64, count: u64) -> u64 {
    entry_bytes.saturating_add(count.saturating_mul(BLOCK_OFFSET_SIZE as u64)).saturating_add(BLOCK_COUNT_SIZE as u64)
}

/// A little-endian u32 at `at`, if the bytes are there.
#[inline]
fn read_u32_le(data: &[u8], at: usize) -> Option<u32> {
    let bytes = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

/// A little-endian u64 at `at`, if the bytes are there.
#[inline]
fn read_u64_le(data: &[u8], at: usize) -> Option<u64> {
    let bytes = data.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

/// A varint at `*pos` (advanced past it), with `Decoder::varint32`'s rules;
/// `None` if malformed. One-byte lengths, by far the most common, return at once.
#[inline]
fn read_varint(data: &[u8], pos: &mut usize) -> Option<u32> {
    let first = *data.get(*pos)?;
    if first < 0x80 {
        *pos += 1;
        return Some(u32::from(first));
    }
    let mut value = 0u32;
    for shift in (0..35).step_by(7) {
        let byte = *data.get(*pos)?;
        *pos += 1;
        let bits = u32::from(byte & 0x7f);
        if shift == 28 && bits > 0x0f {
            return None;
        }
        value |= bits << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Accumulates entries of one block, in order.
#[derive(Default)]
pub struct BlockBuilder {
    buf: Vec<u8>,
    offsets: Vec<u32>,
}

impl BlockBuilder {
    /// Appends an entry; the caller guarantees internal-key order.
    pub fn add(&mut self, user_key: &[u8], trailer: u64, value: &[u8]) {
        self.offsets.push(coding::len_u32(self.buf.len()));
        coding::put_varint32(&mut self.buf, coding::len_u32(user_key.len()));
        coding::put_varint32(&mut self.buf, coding::len_u32(value.len()));
        coding::put_u64(&mut self.buf, trailer);
        self.buf.extend_from_slice(user_key);
        self.buf.extend_from_slice(value);
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    #[must_use]
    pub fn entry_count(&self) -> u64 {
        self.offsets.len() as u64
    }

    /// Bytes of the entries so far (no offsets array).
    #[must_use]
    pub fn entry_bytes(&self) -> u64 {
        self.buf.len() as u64
    }

    /// The size `finish` will produce, without the crc.
    #[must_use]
    pub fn encoded_size(&self) -> u64 {
        block_size_for(self.entry_bytes(), self.entry_count())
    }

    /// Appends the offsets array and the count, and returns the whole block.
    /// The builder must be `reset` before it is reused.
    pub fn finish(&mut self) -> &mut Vec<u8> {
        assert!(!self.offsets.is_empty(), "a block holds at least one entry");
        for &offset in &self.offsets {
            coding::put_u32(&mut self.buf, offset);
        }
        coding::put_u32(&mut self.buf, coding::len_u32(self.offsets.len()));
        &mut self.buf
    }

    pub fn reset(&mut self) {
        if self.buf.capacity() > BUILDER_RETAIN_MAX_BYTES {
            self.buf = Vec::new();
        }
        self.buf.clear();
        self.offsets.clear();
    }
}

/// Where one decoded entry lies inside its block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryPos {
    key_start: usize,
    key_len: usize,
    value_len: usize,
    pub seq: u64,
    pub kind: ValueKind,
}

/// One entry, borrowed from its block.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    pub user_key: &'a [u8],
    pub seq: u64,
    pub kind: ValueKind,
    pub value: &'a [u8],
}

/// A parsed and validated block (data or index), immutable and shared
/// through `Arc` between the cache, gets and cursors.
pub struct Block {
    /// The block's bytes, without its crc.
    data: Vec<u8>,
    /// Where the offsets array starts (= bytes of entries).
    entries_end: usize,
    count: usize,
    /// For error messages: the table file and the block's absolute offset.
    file: Arc<str>,
    offset: u64,
}

impl Block {
    /// Parses and validates a block (its crc already checked) that starts at
    /// byte `offset` of `file`: its structure, and every entry (see `validate`).
    pub fn parse(data: Vec<u8>, file: Arc<str>, offset: u64) -> Result<Block> {
        let block = Self::parse_structure(data, file, offset)?;
        block.validate()?;
        Ok(block)
    }

    /// Parses a block whose crc was just checked, validating only its
    /// structure (entry count and offsets array within bounds) — the read
    /// path's choice: the crc already vouches for the bytes, every entry is
    /// still decoded with bounds checks when it is used, and a full
    /// validation of each block read cost a sixth of a random get.
    pub fn parse_trusting_checksum(data: Vec<u8>, file: Arc<str>, offset: u64) -> Result<Block> {
        Self::parse_structure(data, file, offset)
    }

    fn parse_structure(data: Vec<u8>, file: Arc<str>, offset: u64) -> Result<Block> {
        let corrupt = |at: usize, reason: &str| Error::corruption(&file, offset.saturating_add(at as u64), reason);
        let count_at = data
            .len()
            .checked_sub(BLOCK_COUNT_SIZE)
            .ok_or_else(|| corrupt(0, "block too short for its entry count"))?;
        let count_bytes = data.get(count_at..).ok_or_else(|| corrupt(0, "block too short for its entry count"))?;
        let count = Decoder::new(count_bytes, &file, offset + count_at as u64).u32()? as usize;
        if count == 0 {
            return Err(corrupt(count_at, "block has no entries"));
        }
        let entries_end = count
            .checked_mul(BLOCK_OFFSET_SIZE)
            .and_then(|offsets_size| count_at.checked_sub(offsets_size))
            .ok_or_else(|| corrupt(count_at, "block entry count exceeds the block"))?;
        Ok(Block { data, entries_end, count, file, offset })
    }

    /// Checks that the entries lie back to back exactly where the offsets say,
    /// each decodes, and they strictly increase: everything searches assume.
    fn validate(&self) -> Result<()> {
        let mut expected_start = 0usize;
        let mut previous: Option<EntryPos> = None;
        for index in 0..self.count {
            let start = self.offset_of(index)?;
            if start != expected_start {
                return Err(self.corrupt(self.offsets_field_at(index), "entry offset does not match the entries"));
            }
            let (entry, end) = self.decode_at(start)?;
            if let Some(previous) = previous {
                let order = key::compare(self.key(&previous), previous.seq, self.key(&entry), entry.seq);
                if order != Ordering::Less {
                    return Err(self.corrupt(start, "block entries out of order"));
                }
            }
            previous = Some(entry);
            expected_start = end;
        }
        if expected_start != self.entries_end {
            return Err(self.corrupt(expected_start, "bytes between the last entry and the offsets array"));
        }
        Ok(())
    }

    fn corrupt(&self, at: usize, reason: &str) -> Error {
        Error::corruption(&self.file, self.offset.saturating_add(at as u64), reason)
    }

    /// Position of offsets-array slot `index` within the block.
    fn offsets_field_at(&self, index: usize) -> usize {
        self.entries_end + index * BLOCK_OFFSET_SIZE
    }

    /// The start of entry `index`, read from the offsets array.
    #[inline]
    fn offset_of(&self, index: usize) -> Result<usize> {
        // `index < count` keeps the slot inside the block (checked at parse).
        match (index < self.count).then(|| read_u32_le(&self.data, self.offsets_field_at(index))).flatten() {
            Some(offset) => Ok(offset as usize),
            None => Err(self.corrupt(self.entries_end, "entry index past the block's offsets array")),
        }
    }

    /// Decodes the entry starting at `start`; returns it and where it ends.
    /// The fast path reads the header with checked slice accesses; anything
    /// it rejects is decoded again by `decode_checked`, which names the problem.
    #[inline]
    fn decode_at(&self, start: usize) -> Result<(EntryPos, usize)> {
        match self.decode_fast(start) {
            Some(decoded) => Ok(decoded),
            None => self.decode_checked(start),
        }
    }

    #[inline]
    fn decode_fast(&self, start: usize) -> Option<(EntryPos, usize)> {
        let entries = self.data.get(..self.entries_end)?;
        let mut pos = start;
        let key_len = read_varint(entries, &mut pos)? as usize;
        let value_len = read_varint(entries, &mut pos)? as usize;
        let trailer = read_u64_le(entries, pos)?;
        let (seq, kind) = key::unpack_trailer(trailer);
        let kind = kind.ok()?;
        let key_start = pos + TRAILER_SIZE;
        let end = key_start.checked_add(key_len)?.checked_add(value_len)?;
        if key_len == 0 || end > entries.len() {
            return None;
        }
        Some((EntryPos { key_start, key_len, value_len, seq, kind }, end))
    }

    /// The reference decoder: every bound checked by `Decoder`, every
    /// failure an `Error::Corruption` at the exact offset.
    #[cold]
    fn decode_checked(&self, start: usize) -> Result<(EntryPos, usize)> {
        let entries = self
            .data
            .get(start..self.entries_end)
            .ok_or_else(|| self.corrupt(start, "entry offset past the entries"))?;
        let mut decoder = Decoder::new(entries, &self.file, self.offset + start as u64);
        let key_len = decoder.varint32()? as usize;
        let value_len = decoder.varint32()? as usize;
        let (seq, kind) = key::unpack_trailer(decoder.u64()?);
        let kind = kind.map_err(|_| decoder.error("unknown value kind"))?;
        if key_len == 0 {
            return Err(decoder.error("empty user key"));
        }
        let key_start = start + decoder.position();
        decoder.bytes(key_len)?;
        decoder.bytes(value_len)?;
        let entry = EntryPos { key_start, key_len, value_len, seq, kind };
        Ok((entry, start + decoder.position()))
    }

    /// Every entry's position, for a block searched often enough (the index)
    /// to be worth decoding once.
    pub fn entry_positions(&self) -> Result<Vec<EntryPos>> {
        (0..self.count).map(|index| self.entry_pos(index)).collect()
    }

    /// Entry `index` (0-based). It must end where the next one starts (or
    /// the entries end): blocks trusted by their crc are not validated whole,
    /// and an entry whose lengths overrun its neighbour — bytes that still
    /// match their crc, as a fuzzer that solves the crc comparison makes —
    /// would otherwise read as a key no one wrote.
    #[inline]
    pub fn entry_pos(&self, index: usize) -> Result<EntryPos> {
        let (pos, end) = self.decode_at(self.offset_of(index)?)?;
        let next = match index + 1 < self.count {
            true => self.offset_of(index + 1)?,
            false => self.entries_end,
        };
        if end != next {
            return Err(self.corrupt(self.offsets_field_at(index), "entry offset does not match the entries"));
        }
        Ok(pos)
    }

    /// Entry `index` with its key and value.
    pub fn entry(&self, index: usize) -> Result<Entry<'_>> {
        let pos = self.entry_pos(index)?;
        Ok(Entry { user_key: self.key(&pos), seq: pos.seq, kind: pos.kind, value: self.value(&pos) })
    }

    /// The user key of an entry of this block. The range came from a
    /// bounds-checked decode of this same buffer, so indexing cannot fail.
    #[must_use]
    #[allow(clippy::indexing_slicing, reason = "EntryPos ranges are checked against this buffer when decoded")]
    pub fn key(&self, pos: &EntryPos) -> &[u8] {
        &self.data[pos.key_start..pos.key_start + pos.key_len]
    }

    /// The value of an entry of this block (same reasoning as `key`).
    #[must_use]
    #[allow(clippy::indexing_slicing, reason = "EntryPos ranges are checked against this buffer when decoded")]
    pub fn value(&self, pos: &EntryPos) -> &[u8] {
        let value_start = pos.key_start + pos.key_len;
        &self.data[value_start..value_start + pos.value_len]
    }

    #[must_use]
    pub fn entry_count(&self) -> usize {
        self.count
    }

    /// Bytes the block occupies in memory (what the cache charges).
    #[must_use]
    pub fn size_bytes(&self) -> usize {
        self.data.len()
    }

    /// Absolute offset of this block in its file.
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// A corruption error for this block as a whole (at its start).
    #[must_use]
    pub fn corruption(&self, reason: &str) -> Error {
        self.corrupt(0, reason)
    }

    /// Index of the first entry ≥ (user_key, seq) in internal-key order, or
    /// the entry count if every entry is smaller.
    pub fn lower_bound(&self, user_key: &[u8], seq: u64) -> Result<usize> {
        self.partition_point(|entry_key, entry_seq| key::compare(entry_key, entry_seq, user_key, seq) == Ordering::Less)
    }

    /// Index of the first entry > (user_key, seq), or the entry count.
    pub fn upper_bound(&self, user_key: &[u8], seq: u64) -> Result<usize> {
        self.partition_point(|entry_key, entry_seq| {
            key::compare(entry_key, entry_seq, user_key, seq) != Ordering::Greater
        })
    }

    /// Binary search over the offsets array: the first index whose entry
    /// fails `is_before` (which must be true for a prefix of the entries).
    fn partition_point(&self, is_before: impl Fn(&[u8], u64) -> bool) -> Result<usize> {
        let (mut low, mut high) = (0, self.count);
        while low < high {
            let middle = low + (high - low) / 2;
            let pos = self.entry_pos(middle)?;
            if is_before(self.key(&pos), pos.seq) {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        Ok(low)
    }
}

/// A cursor over one block that moves both ways.
pub struct BlockCursor {
    block: Arc<Block>,
    index: usize,
    /// The entry at `index`; `None` once the cursor left the block.
    entry: Option<EntryPos>,
}

impl BlockCursor {
    /// An unpositioned cursor.
    #[must_use]
    pub fn new(block: Arc<Block>) -> BlockCursor {
        BlockCursor { block, index: 0, entry: None }
    }

    /// Moves to entry `index`, or off the block if there is none.
    fn go_to(&mut self, index: Option<usize>) -> Result<()> {
        self.entry = None;
        if let Some(index) = index.filter(|&index| index < self.block.entry_count()) {
            self.entry = Some(self.block.entry_pos(index)?);
            self.index = index;
        }
        Ok(())
    }

    pub fn seek_first(&mut self) -> Result<()> {
        self.go_to(Some(0))
    }

    pub fn seek_last(&mut self) -> Result<()> {
        self.go_to(self.block.entry_count().checked_sub(1))
    }

    /// To the first entry ≥ (user_key, seq); off the block if none.
    pub fn seek_ge(&mut self, user_key: &[u8], seq: u64) -> Result<()> {
        let index = self.block.lower_bound(user_key, seq)?;
        self.go_to(Some(index))
    }

    /// To the last entry ≤ (user_key, seq); off the block if none.
    pub fn seek_le(&mut self, user_key: &[u8], seq: u64) -> Result<()> {
        let index = self.block.upper_bound(user_key, seq)?;
        self.go_to(index.checked_sub(1))
    }

    /// One entry forward; off the block after the last.
    pub fn next(&mut self) -> Result<()> {
        debug_assert!(self.valid());
        self.step(self.index.checked_add(1), Ordering::Less)
    }

    /// One entry back; off the block before the first.
    pub fn prev(&mut self) -> Result<()> {
        debug_assert!(self.valid());
        self.step(self.index.checked_sub(1), Ordering::Greater)
    }

    /// Moves to a neighbouring entry, which must follow the one left in the
    /// direction of travel (`order`: how the left entry compares to it).
    /// Data blocks are trusted by their crc and not checked whole when read
    /// (a sixth of a random get), so a block whose bytes still pass it but
    /// whose entries are out of order shows here, as corruption, instead of
    /// as a scan that goes backwards.
    fn step(&mut self, index: Option<usize>, order: Ordering) -> Result<()> {
        let left = self.entry;
        self.go_to(index)?;
        if let (Some(left), Some(right)) = (left, self.entry) {
            let (block, left_key, right_key) = (&self.block, self.block.key(&left), self.block.key(&right));
            if key::compare(left_key, left.seq, right_key, right.seq) != order {
                self.entry = None;
                return Err(block.corruption("block entries out of order"));
            }
        }
        Ok(())
    }

    #[must_use]
    pub fn valid(&self) -> bool {
        self.entry.is_some()
    }

    #[allow(clippy::expect_used, reason = "the cursor's contract: read only when valid (a caller bug)")]
    fn current(&self) -> &EntryPos {
        self.entry.as_ref().expect("block cursor read while not positioned on an entry")
    }

    #[must_use]
    pub fn user_key(&self) -> &[u8] {
        self.block.key(self.current())
    }

    #[must_use]
    pub fn value(&self) -> &[u8] {
        self.block.value(self.current())
    }

    #[must_use]
    pub fn seq(&self) -> u64 {
        self.current().seq
    }

    #[must_use]
    pub fn kind(&self) -> ValueKind {
        self.current().kind
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests;
