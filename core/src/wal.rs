//! The write-ahead log: every batch is appended here (and, with
//! `Durability::Sync`, synced) before it reaches the memtable, so a crash
//! never loses an acknowledged write. FORMAT.md, "WAL record payload".
//!
//! ```text
//! payload: first_seq u64 | count u32 | count × (kind u8 | key_len varint | key | [value_len varint | value])
//! ```
//!
//! A batch is exactly one record, so after a crash it is replayed whole or
//! not at all.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::batch::{BatchOp, Op, WriteBatch};
use crate::coding::{len_u32, put_u32, put_u64, put_varint32, Decoder, VARINT32_LEN_MAX};
use crate::error::{Error, Result};
use crate::filename::wal_name;
use crate::key::{ValueKind, SEQ_MAX};
use crate::options::{KEY_SIZE_LIMIT, VALUE_SIZE_LIMIT};
use crate::record::{
    begin_record, file_header, finish_record, read_log, LogKind, TornTail, LOG_HEADER_SIZE, RECORD_HEADER_SIZE,
    RECORD_PAYLOAD_MAX,
};
use crate::storage::Storage;

/// The scratch buffer keeps at most this much capacity between appends, so
/// one huge batch does not pin its size in memory for the WAL's lifetime,
/// while ordinary batches never reallocate after the first.
const SCRATCH_RETAIN_MAX: usize = 1 << 20;

/// An open WAL file being appended to.
pub struct WalWriter {
    number: u64,
    name: String,
    /// Bytes in the file (header included).
    len: u64,
    /// Scratch buffer reused across appends.
    scratch: Vec<u8>,
}

impl WalWriter {
    /// Creates WAL file number `number` and writes its header (not synced).
    pub fn create(storage: &dyn Storage, number: u64) -> Result<WalWriter> {
        let name = wal_name(number);
        storage.create_log(&name)?;
        storage.append(&name, &file_header(LogKind::Wal))?;
        Ok(WalWriter { number, name, len: LOG_HEADER_SIZE as u64, scratch: Vec::new() })
    }

    /// Appends one record holding `batch` with sequence numbers starting at
    /// `first_seq`. Returns the bytes appended. Not synced.
    ///
    /// The record (header and payload) is encoded into a reused buffer and
    /// handed to the storage in one `append`, so a crash tears at most this
    /// one record and the hot path does not allocate once the buffer is warm.
    /// A batch the format cannot hold (empty, a bad key, a delete with a
    /// value, sequence numbers past 2^56 − 1, a payload over
    /// `RECORD_PAYLOAD_MAX`) is an `InvalidArgument`/`InvalidKey` error and
    /// writes nothing. If the storage's `append` fails, part of the record
    /// may have landed: the caller must stop appending to this WAL (recovery
    /// reads the partial record as a torn tail).
    pub fn append(&mut self, storage: &dyn Storage, first_seq: u64, ops: &[Op<'_>]) -> Result<u64> {
        check_batch(first_seq, ops)?;
        self.scratch.clear();
        let start = begin_record(&mut self.scratch);
        encode_batch_ops(first_seq, ops, &mut self.scratch);
        let payload_len = self.scratch.len() - RECORD_HEADER_SIZE;
        if payload_len > RECORD_PAYLOAD_MAX {
            self.release_scratch();
            return Err(Error::invalid_argument(format!(
                "batch encodes to {payload_len} bytes; a WAL record holds at most {RECORD_PAYLOAD_MAX}"
            )));
        }
        finish_record(&mut self.scratch, start);
        let written = self.scratch.len() as u64;
        let result = storage.append(&self.name, &self.scratch);
        self.release_scratch();
        result?;
        self.len += written;
        Ok(written)
    }

    /// Drops the scratch buffer's capacity if one large batch inflated it.
    fn release_scratch(&mut self) {
        if self.scratch.capacity() > SCRATCH_RETAIN_MAX {
            self.scratch = Vec::new();
        }
    }

    pub fn number(&self) -> u64 {
        self.number
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Bytes in the file, header included.
    pub fn len(&self) -> u64 {
        self.len
    }
}

/// Checks that `batch` starting at `first_seq` fits the format. The db
/// validates keys and values against its options before this; this is the
/// format's own limit, so a caller bug becomes an error rather than a record
/// no reader accepts.
pub fn check_batch(first_seq: u64, ops: &[Op<'_>]) -> Result<()> {
    if ops.is_empty() {
        return Err(Error::invalid_argument("a WAL record holds at least one operation"));
    }
    let count =
        u32::try_from(ops.len()).map_err(|_| Error::invalid_argument("a batch holds at most u32::MAX operations"))?;
    last_seq(first_seq, count).ok_or_else(|| {
        Error::invalid_argument(format!("sequence numbers {first_seq} + {count} operations leave 1..={SEQ_MAX}"))
    })?;
    ops.iter().try_for_each(|op| check_op_within(op, KEY_SIZE_LIMIT, VALUE_SIZE_LIMIT))
}

/// Refuses a batch that might not fit one WAL record, before anything is
/// written: its payload is measured with every length at its longest varint.
pub fn check_fits(ops: &[Op<'_>]) -> Result<()> {
    let header = 8 + 4; // first sequence number, count
    let most = ops.iter().fold(header, |sum: usize, op| {
        sum.saturating_add(1 + VARINT32_LEN_MAX + op.key.len() + VARINT32_LEN_MAX + op.value.len())
    });
    if most > RECORD_PAYLOAD_MAX {
        return Err(Error::invalid_argument(format!(
            "batch encodes to about {most} bytes; a batch may be at most {RECORD_PAYLOAD_MAX}"
        )));
    }
    Ok(())
}

/// Checks one operation against key and value limits: the format's own
/// (`KEY_SIZE_LIMIT`, `VALUE_SIZE_LIMIT`) or a database's tighter options.
pub fn check_op_within(op: &Op<'_>, key_max: usize, value_max: usize) -> Result<()> {
    if op.key.is_empty() {
        return Err(Error::InvalidKey { reason: "keys must not be empty".into() });
    }
    if op.key.len() > key_max {
        return Err(Error::InvalidKey { reason: format!("key is {} bytes; the maximum is {key_max}", op.key.len()) });
    }
    if op.value.len() > value_max {
        return Err(Error::InvalidValue {
            reason: format!("value is {} bytes; the maximum is {value_max}", op.value.len()),
        });
    }
    if op.kind == ValueKind::Delete && !op.value.is_empty() {
        return Err(Error::invalid_argument("a delete carries no value"));
    }
    Ok(())
}

/// The sequence number of the last of `count` ops starting at `first_seq`,
/// or `None` if the range leaves 1 ..= SEQ_MAX.
fn last_seq(first_seq: u64, count: u32) -> Option<u64> {
    if first_seq == 0 || count == 0 {
        return None;
    }
    first_seq.checked_add(u64::from(count) - 1).filter(|&last| last <= SEQ_MAX)
}

/// Encodes a batch record payload (FORMAT.md) into `out` (cleared first).
/// The batch must pass [`check_batch`] (asserted). The writer encodes in
/// place (`encode_batch_ops`); this is for tests and the fuzz round trip.
#[cfg(any(test, feature = "fuzzing"))]
pub fn encode_batch(first_seq: u64, ops: &[Op<'_>], out: &mut Vec<u8>) {
    out.clear();
    encode_batch_ops(first_seq, ops, out);
}

/// Appends the payload to `out` without clearing it.
fn encode_batch_ops(first_seq: u64, ops: &[Op<'_>], out: &mut Vec<u8>) {
    let count = len_u32(ops.len());
    assert!(last_seq(first_seq, count).is_some(), "batch sequence range must lie in 1..={SEQ_MAX}");
    put_u64(out, first_seq);
    put_u32(out, count);
    for op in ops {
        debug_assert!(
            check_op_within(op, KEY_SIZE_LIMIT, VALUE_SIZE_LIMIT).is_ok(),
            "batch op must be valid before encoding"
        );
        assert!(op.kind == ValueKind::Put || op.value.is_empty(), "a delete carries no value");
        out.push(op.kind as u8);
        put_varint32(out, len_u32(op.key.len()));
        out.extend_from_slice(op.key);
        if op.kind == ValueKind::Put {
            put_varint32(out, len_u32(op.value.len()));
            out.extend_from_slice(op.value);
        }
    }
}

/// Decodes a batch record payload; `file`/`offset` name it in errors, where
/// `offset` is the file offset of the payload's first byte (so errors point
/// at the damaged byte). Returns the first sequence number and the batch.
pub fn decode_batch(payload: &[u8], file: &str, offset: u64) -> Result<(u64, WriteBatch)> {
    let mut decoder = Decoder::new(payload, file, offset);
    let first_seq = decoder.u64()?;
    let count = decoder.u32()?;
    if last_seq(first_seq, count).is_none() {
        return Err(Error::corruption(
            file,
            offset,
            format!("batch of {count} ops from sequence {first_seq} is empty or leaves 1..={SEQ_MAX}"),
        ));
    }
    // An op takes at least 3 bytes (kind, key_len, one key byte), so a damaged
    // count cannot make us reserve more than the payload could hold.
    let mut ops = Vec::with_capacity((count as usize).min(decoder.remaining() / 3));
    for _ in 0..count {
        ops.push(decode_op(&mut decoder)?);
    }
    if !decoder.is_empty() {
        return Err(decoder.error(format!("{} bytes follow the batch's last op", decoder.remaining())));
    }
    Ok((first_seq, WriteBatch::from(ops)))
}

fn decode_op(decoder: &mut Decoder<'_>) -> Result<BatchOp> {
    let kind_byte = decoder.u8()?;
    let kind = ValueKind::try_from(kind_byte).map_err(|k| decoder.error(format!("unknown op kind {k}")))?;
    let key_len = decoder.varint32()? as usize;
    if key_len == 0 || key_len > KEY_SIZE_LIMIT {
        return Err(decoder.error(format!("key length {key_len} is outside 1..={KEY_SIZE_LIMIT}")));
    }
    let key = decoder.bytes(key_len)?.to_vec();
    let value = match kind {
        ValueKind::Put => {
            let value_len = decoder.varint32()? as usize;
            if value_len > VALUE_SIZE_LIMIT {
                return Err(decoder.error(format!("value length {value_len} exceeds {VALUE_SIZE_LIMIT}")));
            }
            decoder.bytes(value_len)?.to_vec()
        }
        ValueKind::Delete => Vec::new(),
    };
    Ok(BatchOp { kind, key, value })
}

/// Everything a WAL file holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalContents {
    /// (first sequence number, batch) per record, in file order.
    pub batches: Vec<(u64, WriteBatch)>,
    /// Present if the file ended in a torn tail (not yet truncated).
    pub torn_tail: Option<TornTail>,
    /// Length of the valid prefix (where a torn tail starts, else the file length).
    pub valid_len: u64,
}

/// Reads WAL file `name`. Checks that sequence numbers increase record to
/// record (a decrease is corruption).
///
/// "Increase" is strict across records: each record's first sequence number
/// is greater than the previous record's last. Gaps are allowed (a write can
/// fail after its numbers were assigned).
pub fn read_wal(storage: &dyn Storage, name: &str) -> Result<WalContents> {
    let log = read_log(storage, name, LogKind::Wal)?;
    let mut batches = Vec::with_capacity(log.records.len());
    let mut previous_last: u64 = 0;
    let mut valid_len = LOG_HEADER_SIZE as u64;
    for (offset, payload) in &log.records {
        let (first_seq, batch) = decode_batch(payload, name, offset + RECORD_HEADER_SIZE as u64)?;
        if first_seq <= previous_last {
            return Err(Error::corruption(
                name,
                *offset,
                format!("batch starts at sequence {first_seq}, not after the previous batch's {previous_last}"),
            ));
        }
        // decode_batch guarantees a non-empty batch whose range fits.
        previous_last = first_seq + (batch.len() as u64 - 1);
        valid_len = offset + (RECORD_HEADER_SIZE + payload.len()) as u64;
        batches.push((first_seq, batch));
    }
    let valid_len = match &log.torn_tail {
        Some(tail) => tail.offset,
        None => valid_len,
    };
    Ok(WalContents { batches, torn_tail: log.torn_tail, valid_len })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::coding::put_varint32;
    use crate::record::{encode_record, file_header};
    use crate::storage::MemStorage;
    use crate::testing::FaultStorage;
    use crate::testing::Rng;
    use alloc::vec;

    fn random_batch(rng: &mut Rng, ops: usize) -> WriteBatch {
        let mut batch = WriteBatch::new();
        for _ in 0..ops {
            let key_len = 1 + rng.below(20) as usize;
            let key = rng.bytes(key_len);
            if rng.below(4) == 0 {
                batch.delete(key);
            } else {
                let value_len = rng.below(200) as usize;
                let value = rng.bytes(value_len);
                batch.put(key, value);
            }
        }
        batch
    }

    /// (first_seq, batch) pairs with increasing, gapless sequence numbers.
    fn sample_batches(seed: u64, count: usize) -> Vec<(u64, WriteBatch)> {
        let mut rng = Rng::new(seed);
        let mut seq = 1;
        (0..count)
            .map(|_| {
                let ops = 1 + rng.below(5) as usize;
                let batch = random_batch(&mut rng, ops);
                let first = seq;
                seq += ops as u64;
                (first, batch)
            })
            .collect()
    }

    fn write_wal(storage: &dyn Storage, batches: &[(u64, WriteBatch)]) -> WalWriter {
        let mut wal = WalWriter::create(storage, 3).unwrap();
        for (first_seq, batch) in batches {
            wal.append(storage, *first_seq, &batch.as_ops()).unwrap();
        }
        wal
    }

    fn payload(first_seq: u64, batch: &WriteBatch) -> Vec<u8> {
        let mut out = vec![0xEE; 3]; // encode_batch clears first
        encode_batch(first_seq, &batch.as_ops(), &mut out);
        out
    }

    fn is_corruption_at(result: Result<(u64, WriteBatch)>, want_offset: u64) -> bool {
        matches!(result, Err(Error::Corruption { offset, .. }) if offset == want_offset)
    }

    /// Goal: puts, deletes, empty values, binary and maximal keys round-trip.
    #[test]
    fn batches_round_trip() {
        let mut batch = WriteBatch::new();
        batch.put(b"k".to_vec(), Vec::new());
        batch.delete(vec![0xFF; 3]);
        batch.put(vec![0u8; KEY_SIZE_LIMIT], vec![7u8; 300]);
        batch.put(b"\x00".to_vec(), b"v".to_vec());
        for first_seq in [1, 1000, SEQ_MAX - 3] {
            let encoded = payload(first_seq, &batch);
            assert_eq!(decode_batch(&encoded, "w", 0).unwrap(), (first_seq, batch.clone()));
        }
    }

    /// Goal: the payload layout is the one FORMAT.md gives, byte for byte.
    #[test]
    fn payload_layout_matches_format() {
        let mut batch = WriteBatch::new();
        batch.put(b"ab".to_vec(), b"xyz".to_vec());
        batch.delete(b"c".to_vec());
        let mut want = Vec::new();
        want.extend_from_slice(&42u64.to_le_bytes());
        want.extend_from_slice(&2u32.to_le_bytes());
        want.extend_from_slice(&[1, 2, b'a', b'b', 3, b'x', b'y', b'z']);
        want.extend_from_slice(&[0, 1, b'c']);
        assert_eq!(payload(42, &batch), want);
    }

    /// Goal: every malformed payload is corruption at the right offset.
    #[test]
    fn malformed_payloads_are_corruption() {
        let base = 1000;
        let header = |first: u64, count: u32| {
            let mut out = first.to_le_bytes().to_vec();
            out.extend_from_slice(&count.to_le_bytes());
            out
        };
        // count 0, first_seq 0, a range past SEQ_MAX.
        assert!(is_corruption_at(decode_batch(&header(5, 0), "w", base), base));
        assert!(is_corruption_at(decode_batch(&[header(0, 1), vec![1, 1, b'k', 0]].concat(), "w", base), base));
        let overflow = [header(SEQ_MAX, 2), vec![0, 1, b'a', 0, 1, b'b']].concat();
        assert!(is_corruption_at(decode_batch(&overflow, "w", base), base));
        let fits = [header(SEQ_MAX, 1), vec![0, 1, b'a']].concat();
        assert_eq!(decode_batch(&fits, "w", base).unwrap().0, SEQ_MAX);
        // Unknown kind: reported after reading the kind byte.
        assert!(is_corruption_at(decode_batch(&[header(5, 1), vec![2, 1, b'k']].concat(), "w", base), base + 13));
        // key_len 0 and 65,537.
        assert!(is_corruption_at(decode_batch(&[header(5, 1), vec![1, 0, 0]].concat(), "w", base), base + 14));
        let mut long = header(5, 1);
        long.push(0);
        put_varint32(&mut long, KEY_SIZE_LIMIT as u32 + 1);
        long.extend_from_slice(&vec![1u8; KEY_SIZE_LIMIT + 1]);
        assert!(decode_batch(&long, "w", base).is_err());
        // Overlong varint.
        let overlong = [header(5, 1), vec![0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]].concat();
        assert!(decode_batch(&overlong, "w", base).is_err());
        // Trailing bytes after the last op.
        let trailing = [header(5, 1), vec![0, 1, b'k', 9]].concat();
        assert!(is_corruption_at(decode_batch(&trailing, "w", base), base + 15));
        // A count larger than the ops present.
        let short = [header(5, 3), vec![0, 1, b'k']].concat();
        assert!(decode_batch(&short, "w", base).is_err());
    }

    /// Goal: every strict prefix of a payload fails to decode (a record is
    /// all or nothing; a cut payload is never a smaller valid batch).
    #[test]
    fn every_truncated_payload_is_corruption() {
        let batches = sample_batches(11, 4);
        for (first_seq, batch) in &batches {
            let encoded = payload(*first_seq, batch);
            for len in 0..encoded.len() {
                let result = decode_batch(&encoded[..len], "w", 0);
                assert!(matches!(result, Err(Error::Corruption { .. })), "prefix {len}: {result:?}");
            }
        }
    }

    /// Goal: the writer refuses batches the format cannot hold, writing nothing.
    #[test]
    fn invalid_batches_are_refused_without_writing() {
        let storage = MemStorage::new();
        let mut wal = WalWriter::create(&storage, 1).unwrap();
        let mut empty_key = WriteBatch::new();
        empty_key.put(Vec::new(), b"v".to_vec());
        let mut long_key = WriteBatch::new();
        long_key.put(vec![1u8; KEY_SIZE_LIMIT + 1], Vec::new());
        let mut delete_with_value = WriteBatch::new();
        delete_with_value.push(BatchOp { kind: ValueKind::Delete, key: b"k".to_vec(), value: b"v".to_vec() });
        let mut one = WriteBatch::new();
        one.put(b"k".to_vec(), b"v".to_vec());
        let cases: [(u64, &WriteBatch, &str); 6] = [
            (1, &WriteBatch::new(), "INVALID_ARGUMENT"),
            (1, &empty_key, "INVALID_KEY"),
            (1, &long_key, "INVALID_KEY"),
            (1, &delete_with_value, "INVALID_ARGUMENT"),
            (0, &one, "INVALID_ARGUMENT"),
            (SEQ_MAX + 1, &one, "INVALID_ARGUMENT"),
        ];
        for (first_seq, batch, code) in cases {
            let err = wal.append(&storage, first_seq, &batch.as_ops()).unwrap_err();
            assert_eq!(err.code(), code, "{err:?}");
        }
        assert_eq!(storage.len(wal.name()).unwrap(), LOG_HEADER_SIZE as u64);
        assert_eq!(wal.len(), LOG_HEADER_SIZE as u64);
    }

    /// Goal: the writer's file reads back batch for batch, and its length
    /// and return values account for every byte.
    #[test]
    fn writer_and_reader_round_trip() {
        let storage = MemStorage::new();
        let batches = sample_batches(1, 50);
        let mut wal = WalWriter::create(&storage, 12).unwrap();
        assert_eq!(wal.name(), "000012.wal");
        assert_eq!(wal.number(), 12);
        assert_eq!(storage.read_all("000012.wal").unwrap(), file_header(LogKind::Wal).to_vec());
        let mut total = LOG_HEADER_SIZE as u64;
        for (first_seq, batch) in &batches {
            total += wal.append(&storage, *first_seq, &batch.as_ops()).unwrap();
            assert_eq!(wal.len(), total);
        }
        storage.sync(wal.name()).unwrap();
        assert_eq!(storage.len(wal.name()).unwrap(), total);
        let contents = read_wal(&storage, wal.name()).unwrap();
        assert_eq!(contents, WalContents { batches, torn_tail: None, valid_len: total });
    }

    /// Goal: one batch is one storage call, so a crash tears at most one
    /// record and the browser backends see one write per batch.
    #[test]
    fn append_is_one_storage_call() {
        let storage = FaultStorage::new();
        let mut wal = WalWriter::create(&storage, 1).unwrap();
        for (first_seq, batch) in sample_batches(3, 20) {
            let before = storage.ops();
            wal.append(&storage, first_seq, &batch.as_ops()).unwrap();
            assert_eq!(storage.ops(), before + 1);
        }
    }

    /// Goal: after warm-up the hot path reuses its buffer (no allocation per
    /// append); a huge batch does not pin its memory afterwards.
    #[test]
    fn scratch_buffer_is_reused_and_bounded() {
        let storage = MemStorage::new();
        let mut wal = WalWriter::create(&storage, 1).unwrap();
        let mut batch = WriteBatch::new();
        batch.put(vec![1u8; 16], vec![2u8; 100]);
        wal.append(&storage, 1, &batch.as_ops()).unwrap();
        let (ptr, capacity) = (wal.scratch.as_ptr(), wal.scratch.capacity());
        for seq in 2..1000 {
            wal.append(&storage, seq, &batch.as_ops()).unwrap();
            assert_eq!((wal.scratch.as_ptr(), wal.scratch.capacity()), (ptr, capacity), "seq {seq}");
        }
        let mut huge = WriteBatch::new();
        huge.put(b"k".to_vec(), vec![0u8; SCRATCH_RETAIN_MAX + 1]);
        wal.append(&storage, 1000, &huge.as_ops()).unwrap();
        assert!(wal.scratch.capacity() <= SCRATCH_RETAIN_MAX);
        assert_eq!(read_wal(&storage, wal.name()).unwrap().batches.len(), 1000);
    }

    /// Goal: sequence numbers must increase record to record; gaps are fine.
    #[test]
    fn sequence_numbers_must_increase_across_records() {
        let mut one = WriteBatch::new();
        one.put(b"k".to_vec(), b"v".to_vec());
        let mut two = one.clone();
        two.delete(b"j".to_vec());
        for (seqs, ok) in [([1u64, 3], true), ([1, 10], true), ([1, 2], false), ([5, 3], false)] {
            let storage = MemStorage::new();
            storage.create("000001.wal").unwrap();
            let mut data = file_header(LogKind::Wal).to_vec();
            encode_record(&payload(seqs[0], &two), &mut data);
            let second_offset = data.len() as u64;
            encode_record(&payload(seqs[1], &one), &mut data);
            storage.append("000001.wal", &data).unwrap();
            let result = read_wal(&storage, "000001.wal");
            if ok {
                assert_eq!(result.unwrap().batches.len(), 2, "{seqs:?}");
            } else {
                let err = result.unwrap_err();
                assert!(
                    matches!(err, Error::Corruption { offset, .. } if offset == second_offset),
                    "{seqs:?}: {err:?}"
                );
            }
        }
    }

    /// Goal: a WAL cut at any byte gives exactly the batches whose records
    /// are complete, a valid_len at the last complete record, and a torn tail
    /// when the cut is mid-record.
    #[test]
    fn every_prefix_replays_complete_batches_only() {
        let storage = MemStorage::new();
        let batches = sample_batches(5, 8);
        let wal = write_wal(&storage, &batches);
        let full = storage.read_all(wal.name()).unwrap();
        let mut ends = Vec::new();
        let mut end = LOG_HEADER_SIZE;
        for (first_seq, batch) in &batches {
            end += RECORD_HEADER_SIZE + payload(*first_seq, batch).len();
            ends.push(end);
        }
        for len in (0..=full.len()).rev() {
            storage.truncate(wal.name(), len as u64).unwrap();
            let contents = read_wal(&storage, wal.name()).unwrap_or_else(|e| panic!("len {len}: {e}"));
            let complete = ends.iter().filter(|&&end| end <= len).count();
            assert_eq!(contents.batches, batches[..complete].to_vec(), "len {len}");
            let valid =
                if len < LOG_HEADER_SIZE { 0 } else { ends[..complete].last().copied().unwrap_or(LOG_HEADER_SIZE) };
            assert_eq!(contents.valid_len, valid as u64, "len {len}");
            assert_eq!(contents.torn_tail.is_some(), valid != len || len < LOG_HEADER_SIZE, "len {len}");
        }
    }

    /// Goal: no single-bit flip anywhere in a WAL yields a wrong batch.
    #[test]
    fn every_bit_flip_is_detected() {
        let storage = FaultStorage::new();
        let batches = sample_batches(9, 5);
        let wal = write_wal(&storage, &batches);
        let bits = storage.len(wal.name()).unwrap() * 8;
        for bit in 0..bits {
            assert!(storage.flip_bit(wal.name(), bit));
            match read_wal(&storage, wal.name()) {
                Err(Error::Corruption { file, .. }) => assert_eq!(file, wal.name()),
                Ok(contents) => {
                    assert!(contents.torn_tail.is_some(), "bit {bit}: damage went unnoticed");
                    assert_eq!(contents.batches, batches[..batches.len() - 1].to_vec(), "bit {bit}");
                }
                Err(other) => panic!("bit {bit}: {other:?}"),
            }
            assert!(storage.flip_bit(wal.name(), bit));
        }
        assert_eq!(read_wal(&storage, wal.name()).unwrap().batches, batches);
    }
}
