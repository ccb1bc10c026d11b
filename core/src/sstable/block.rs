//! Data and index blocks (FORMAT.md, "Data and index blocks"): a builder
//! that encodes entries back to back followed by a restart array (the offset
//! of every `interval`-th entry) and a count; a parsed, validated `Block`;
//! and a bidirectional `BlockCursor`. A search bisects the restart points,
//! then walks one group of entries. Format 1 and 2 blocks are the case
//! `interval` = 1: an offset for every entry.
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

/// Bytes of one entry of the restart array.
pub const BLOCK_OFFSET_SIZE: usize = 4;
/// Entries per restart point in format 3 blocks. Offsets of every entry cost
/// 4 bytes each that LZ4 cannot shrink (about 4% of a table of 116-byte
/// entries); one per 16 costs a walk of at most 15 entry headers per search.
pub const RESTART_INTERVAL: usize = 16;
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

/// Encoded size of one entry, excluding any restart-array slot.
#[must_use]
pub fn entry_size(key_len: usize, value_len: usize) -> u64 {
    let header = varint_len(key_len) + varint_len(value_len) + TRAILER_SIZE;
    (header as u64).saturating_add(key_len as u64).saturating_add(value_len as u64)
}

/// Encoded size of a block holding `count` entries of `entry_bytes` in total,
/// with a restart point every `interval` entries.
#[must_use]
pub fn block_size_for(entry_bytes: u64, count: u64, interval: usize) -> u64 {
    let restarts = count.div_ceil(interval.max(1) as u64);
    entry_bytes
        .saturating_add(restarts.saturating_mul(BLOCK_OFFSET_SIZE as u64))
        .saturating_add(BLOCK_COUNT_SIZE as u64)
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
pub struct BlockBuilder {
    buf: Vec<u8>,
    restarts: Vec<u32>,
    count: usize,
    interval: usize,
}

impl BlockBuilder {
    /// A builder of blocks with a restart point every `interval` entries.
    #[must_use]
    pub fn new(interval: usize) -> BlockBuilder {
        assert!(interval >= 1, "a block needs a restart point at its first entry");
        BlockBuilder { buf: Vec::new(), restarts: Vec::new(), count: 0, interval }
    }

    /// Appends an entry; the caller guarantees internal-key order.
    pub fn add(&mut self, user_key: &[u8], trailer: u64, value: &[u8]) {
        if self.count.is_multiple_of(self.interval) {
            self.restarts.push(coding::len_u32(self.buf.len()));
        }
        self.count += 1;
        coding::put_varint32(&mut self.buf, coding::len_u32(user_key.len()));
        coding::put_varint32(&mut self.buf, coding::len_u32(value.len()));
        coding::put_u64(&mut self.buf, trailer);
        self.buf.extend_from_slice(user_key);
        self.buf.extend_from_slice(value);
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    #[must_use]
    pub fn entry_count(&self) -> u64 {
        self.count as u64
    }

    /// Bytes of the entries so far (no restart array).
    #[must_use]
    pub fn entry_bytes(&self) -> u64 {
        self.buf.len() as u64
    }

    /// The size `finish` will produce, without the crc.
    #[must_use]
    pub fn encoded_size(&self) -> u64 {
        block_size_for(self.entry_bytes(), self.entry_count(), self.interval)
    }

    /// Appends the restart array and the count, and returns the whole block.
    /// The builder must be `reset` before it is reused.
    pub fn finish(&mut self) -> &mut Vec<u8> {
        assert!(self.count > 0, "a block holds at least one entry");
        for &offset in &self.restarts {
            coding::put_u32(&mut self.buf, offset);
        }
        coding::put_u32(&mut self.buf, coding::len_u32(self.count));
        &mut self.buf
    }

    pub fn reset(&mut self) {
        if self.buf.capacity() > BUILDER_RETAIN_MAX_BYTES {
            self.buf = Vec::new();
        }
        self.buf.clear();
        self.restarts.clear();
        self.count = 0;
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

impl EntryPos {
    /// Where the entry ends: the next one's start.
    fn end(&self) -> usize {
        self.key_start + self.key_len + self.value_len
    }
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
    /// Where the restart array starts (= bytes of entries).
    entries_end: usize,
    count: usize,
    /// Entries per restart point (1 in formats 1 and 2).
    interval: usize,
    /// Restart points = `count.div_ceil(interval)`.
    restarts: usize,
    /// For error messages: the table file and the block's absolute offset.
    file: Arc<str>,
    offset: u64,
}

impl Block {
    /// Parses and validates a block (its crc already checked) with a restart
    /// point every `interval` entries that starts at byte `offset` of `file`:
    /// its structure, and every entry (see `validate`).
    pub fn parse(data: Vec<u8>, interval: usize, file: Arc<str>, offset: u64) -> Result<Block> {
        let block = Self::parse_structure(data, interval, file, offset)?;
        block.validate()?;
        Ok(block)
    }

    /// Parses a block whose crc was just checked, validating only its
    /// structure (entry count and restart array within bounds) — the read
    /// path's choice: the crc already vouches for the bytes, every entry is
    /// still decoded with bounds checks when it is used, and a full
    /// validation of each block read cost a sixth of a random get.
    pub fn parse_trusting_checksum(data: Vec<u8>, interval: usize, file: Arc<str>, offset: u64) -> Result<Block> {
        Self::parse_structure(data, interval, file, offset)
    }

    fn parse_structure(data: Vec<u8>, interval: usize, file: Arc<str>, offset: u64) -> Result<Block> {
        assert!(interval >= 1, "the format decides the interval, never the block's bytes");
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
        let restarts = count.div_ceil(interval);
        let entries_end = restarts
            .checked_mul(BLOCK_OFFSET_SIZE)
            .and_then(|restarts_size| count_at.checked_sub(restarts_size))
            .ok_or_else(|| corrupt(count_at, "block entry count exceeds the block"))?;
        Ok(Block { data, entries_end, count, interval, restarts, file, offset })
    }

    /// Checks that the entries lie back to back from the block's start,
    /// exactly where the restart points say, each decodes, and they strictly
    /// increase: everything searches assume.
    fn validate(&self) -> Result<()> {
        if self.restart_offset(0)? != 0 {
            return Err(self.corrupt(self.restart_field_at(0), "entry offset does not match the entries"));
        }
        let mut previous: Option<EntryPos> = None;
        for group in 0..self.restarts {
            self.walk_group(group, |_, entry| {
                if let Some(previous) = previous {
                    let order = key::compare(self.key(&previous), previous.seq, self.key(&entry), entry.seq);
                    if order != Ordering::Less {
                        return Err(self.corrupt(entry.key_start, "block entries out of order"));
                    }
                }
                previous = Some(entry);
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Decodes group `group` (the entries from its restart point up to the
    /// next one), handing each with its index to `f`, and checks the last
    /// ends exactly where the next group starts (or the entries end): entries
    /// within a group are found only by walking, so an entry whose lengths
    /// overrun its neighbour shows here, as corruption, instead of as a key
    /// no one wrote (blocks trusted by their crc are not validated whole, and
    /// a fuzzer that solves the crc comparison makes such bytes).
    fn walk_group(&self, group: usize, mut f: impl FnMut(usize, EntryPos) -> Result<()>) -> Result<()> {
        let first = group * self.interval;
        let last = first.saturating_add(self.interval).min(self.count);
        let mut start = self.restart_offset(group)?;
        for index in first..last {
            let (entry, end) = self.decode_at(start)?;
            f(index, entry)?;
            start = end;
        }
        // Where the next group starts, and where to blame a mismatch.
        let (next, blame) = match group + 1 < self.restarts {
            true => (self.restart_offset(group + 1)?, self.restart_field_at(group + 1)),
            false => (self.entries_end, start),
        };
        if start != next {
            return Err(self.corrupt(blame, "entry offset does not match the entries"));
        }
        Ok(())
    }

    fn corrupt(&self, at: usize, reason: &str) -> Error {
        Error::corruption(&self.file, self.offset.saturating_add(at as u64), reason)
    }

    /// Position of restart-array slot `group` within the block.
    fn restart_field_at(&self, group: usize) -> usize {
        self.entries_end + group * BLOCK_OFFSET_SIZE
    }

    /// The start of group `group`'s first entry, read from the restart array.
    #[inline]
    fn restart_offset(&self, group: usize) -> Result<usize> {
        // `group < restarts` keeps the slot inside the block (checked at parse).
        match (group < self.restarts).then(|| read_u32_le(&self.data, self.restart_field_at(group))).flatten() {
            Some(offset) => Ok(offset as usize),
            None => Err(self.corrupt(self.entries_end, "entry index past the block's restart array")),
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
        let mut entries = Vec::with_capacity(self.count);
        for group in 0..self.restarts {
            self.walk_group(group, |_, entry| {
                entries.push(entry);
                Ok(())
            })?;
        }
        Ok(entries)
    }

    /// Entry `index` (0-based), found by walking its group, which must be
    /// whole (`walk_group`).
    #[inline]
    pub fn entry_pos(&self, index: usize) -> Result<EntryPos> {
        if index >= self.count {
            return Err(self.corrupt(self.entries_end, "entry index past the block's restart array"));
        }
        let mut found = None;
        self.walk_group(index / self.interval, |i, entry| {
            if i == index {
                found = Some(entry);
            }
            Ok(())
        })?;
        found.ok_or_else(|| self.corrupt(self.entries_end, "entry index past the block's restart array"))
    }

    /// Entry `index` when entry `index - 1` (`previous`) was found by
    /// `entry_pos` or this: inside a group, which `entry_pos` checked whole,
    /// the next entry starts where the previous ends, one decode away.
    fn entry_after(&self, previous: &EntryPos, index: usize) -> Result<EntryPos> {
        match index.is_multiple_of(self.interval) || index >= self.count {
            true => self.entry_pos(index),
            false => Ok(self.decode_at(previous.end())?.0),
        }
    }

    /// Entry `index` with its key and value.
    pub fn entry(&self, index: usize) -> Result<Entry<'_>> {
        let pos = self.entry_pos(index)?;
        Ok(self.borrow(&pos))
    }

    /// An entry of this block with its key and value.
    fn borrow(&self, pos: &EntryPos) -> Entry<'_> {
        Entry { user_key: self.key(pos), seq: pos.seq, kind: pos.kind, value: self.value(pos) }
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

    /// The table file this block was read from.
    #[must_use]
    pub fn file(&self) -> &Arc<str> {
        &self.file
    }

    /// A corruption error for this block as a whole (at its start).
    #[must_use]
    pub fn corruption(&self, reason: &str) -> Error {
        self.corrupt(0, reason)
    }

    /// Index of the first entry ≥ (user_key, seq) in internal-key order, or
    /// the entry count if every entry is smaller.
    #[cfg(test)]
    pub fn lower_bound(&self, user_key: &[u8], seq: u64) -> Result<usize> {
        Ok(self.seek(user_key, seq)?.0)
    }

    /// The first entry ≥ (user_key, seq) with its index, or the entry count
    /// and `None` if every entry is smaller.
    fn seek(&self, user_key: &[u8], seq: u64) -> Result<(usize, Option<EntryPos>)> {
        self.partition_point(|entry_key, entry_seq| key::compare(entry_key, entry_seq, user_key, seq) == Ordering::Less)
    }

    /// The first entry ≥ (user_key, seq), if any: a get's one search.
    pub fn first_at_or_after(&self, user_key: &[u8], seq: u64) -> Result<Option<Entry<'_>>> {
        let (_, pos) = self.seek(user_key, seq)?;
        Ok(pos.map(|pos| self.borrow(&pos)))
    }

    /// Index of the first entry > (user_key, seq), or the entry count.
    pub fn upper_bound(&self, user_key: &[u8], seq: u64) -> Result<usize> {
        let (index, _) = self.partition_point(|entry_key, entry_seq| {
            key::compare(entry_key, entry_seq, user_key, seq) != Ordering::Greater
        })?;
        Ok(index)
    }

    /// The first index whose entry fails `is_before` (which must be true for
    /// a prefix of the entries), with that entry: a binary search over the
    /// restart points' entries, then a walk through the group that holds the
    /// answer, checked whole (`walk_group`) like every entry handed out.
    fn partition_point(&self, is_before: impl Fn(&[u8], u64) -> bool) -> Result<(usize, Option<EntryPos>)> {
        let (mut low, mut high) = (0, self.restarts);
        while low < high {
            let middle = low + (high - low) / 2;
            let (pos, _) = self.decode_at(self.restart_offset(middle)?)?;
            if is_before(self.key(&pos), pos.seq) {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        // Group `low - 1` starts before the answer, group `low` (if any) at
        // or after it: the answer is in the first, or is the second's first entry.
        if let Some(group) = low.checked_sub(1) {
            let mut answer = None;
            self.walk_group(group, |index, pos| {
                if answer.is_none() && !is_before(self.key(&pos), pos.seq) {
                    answer = Some((index, Some(pos)));
                }
                Ok(())
            })?;
            if let Some(answer) = answer {
                return Ok(answer);
            }
        }
        let index = low.saturating_mul(self.interval);
        match index < self.count {
            true => Ok((index, Some(self.entry_pos(index)?))),
            false => Ok((self.count, None)),
        }
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

    /// Moves to entry `index`, or off the block if there is none. A step
    /// forward inside a group decodes one entry, not the group.
    fn go_to(&mut self, index: Option<usize>) -> Result<()> {
        let previous = self.entry.take().filter(|_| index.is_some() && index == self.index.checked_add(1));
        if let Some(index) = index.filter(|&index| index < self.block.entry_count()) {
            self.entry = Some(match previous {
                Some(previous) => self.block.entry_after(&previous, index)?,
                None => self.block.entry_pos(index)?,
            });
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
        self.entry = None;
        let (index, entry) = self.block.seek(user_key, seq)?;
        (self.index, self.entry) = (index, entry);
        Ok(())
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
