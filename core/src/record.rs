//! Log framing shared by the WAL and the manifest (FORMAT.md, "Log files"):
//! a 16-byte file header, then length- and checksum-framed records. Reading
//! distinguishes a torn tail (a crash mid-append: reported, truncated) from
//! damage before the tail (`Error::Corruption`).
//!
//! ```text
//! file header (16 bytes): magic [8] | version u32 | header_crc u32 (of bytes 0..12)
//! record:                 payload_len u32 | payload_crc u32 | header_crc u32 (of bytes 0..8) | payload
//! ```

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use alloc::vec::Vec;

use crate::coding::{crc32, Decoder};
use crate::error::{Error, Result};
use crate::storage::Storage;

/// Bytes in a log file's header: magic (8) + version (4) + header_crc (4).
pub const LOG_HEADER_SIZE: usize = 16;
/// Bytes in a record's header: payload_len (4) + payload_crc (4) + header_crc (4).
pub const RECORD_HEADER_SIZE: usize = 12;
/// The largest payload a record may hold (256 MiB). Bounds what a reader
/// trusts a (checksummed) length field to mean.
pub const RECORD_PAYLOAD_MAX: usize = 256 << 20;
/// The log format version this build writes and reads.
pub const LOG_FORMAT_VERSION: u32 = 1;

/// Bytes of the file header covered by its checksum (magic + version).
const LOG_HEADER_CHECKED: usize = 12;
/// Bytes of a record header covered by its checksum (payload_len + payload_crc).
const RECORD_HEADER_CHECKED: usize = 8;

/// Which kind of log a file is; decides its magic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogKind {
    Wal,
    Manifest,
}

impl LogKind {
    pub fn magic(self) -> [u8; 8] {
        match self {
            LogKind::Wal => *b"LSMKVWAL",
            LogKind::Manifest => *b"LSMKVMAN",
        }
    }
}

/// The 16-byte file header for a log of `kind`.
pub fn file_header(kind: LogKind) -> [u8; LOG_HEADER_SIZE] {
    let mut header = [0u8; LOG_HEADER_SIZE];
    header[..8].copy_from_slice(&kind.magic());
    header[8..12].copy_from_slice(&LOG_FORMAT_VERSION.to_le_bytes());
    let crc = crc32(&header[..LOG_HEADER_CHECKED]);
    header[12..].copy_from_slice(&crc.to_le_bytes());
    header
}

/// Appends one framed record holding `payload` to `out`.
/// `payload` is 1 ..= RECORD_PAYLOAD_MAX bytes (asserted).
pub fn encode_record(payload: &[u8], out: &mut Vec<u8>) {
    let start = begin_record(out);
    out.extend_from_slice(payload);
    finish_record(out, start);
}

/// Reserves a record header at the end of `out` and returns where it starts.
/// Append the payload to `out`, then call [`finish_record`] with the returned
/// position. This lets a writer encode the payload straight into its output
/// buffer instead of copying it there afterwards (the WAL's hot path).
pub fn begin_record(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0u8; RECORD_HEADER_SIZE]);
    start
}

/// Fills in the header reserved by [`begin_record`] at `start`, framing every
/// byte after it as the payload. The payload must be 1 ..= RECORD_PAYLOAD_MAX
/// bytes (asserted: callers bound their payloads before encoding).
#[allow(clippy::indexing_slicing, reason = "an encoder: the header was reserved by begin_record (asserted)")]
pub fn finish_record(out: &mut [u8], start: usize) {
    let payload_start = start + RECORD_HEADER_SIZE;
    assert!(out.len() >= payload_start, "finish_record without begin_record");
    let (header, payload) = out[start..].split_at_mut(RECORD_HEADER_SIZE);
    assert!(
        (1..=RECORD_PAYLOAD_MAX).contains(&payload.len()),
        "record payload of {} bytes is outside 1..={RECORD_PAYLOAD_MAX}",
        payload.len()
    );
    let payload_len = payload.len() as u32;
    header[0..4].copy_from_slice(&payload_len.to_le_bytes());
    header[4..8].copy_from_slice(&crc32(payload).to_le_bytes());
    let header_crc = crc32(&header[..RECORD_HEADER_CHECKED]);
    header[8..12].copy_from_slice(&header_crc.to_le_bytes());
}

/// Where a log stopped being readable because of a crash mid-append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    /// Offset of the first byte not belonging to a complete record.
    pub offset: u64,
    /// Bytes from `offset` to the end of the file.
    pub dropped_bytes: u64,
}

/// Every complete record of a log file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogContents {
    /// Each record's payload and the file offset of its record header.
    pub records: Vec<(u64, Vec<u8>)>,
    /// Present if the file ends in a torn tail.
    pub torn_tail: Option<TornTail>,
    /// Zero bytes after the last record that were never written: space a
    /// backend preallocated (`Storage::create_log`). Not a loss.
    pub unused_bytes: u64,
}

/// Reads and checks log file `name` of `kind` following FORMAT.md's table.
/// Does not modify the file.
///
/// A record's payload starts `RECORD_HEADER_SIZE` bytes after the offset
/// given with it. The whole file is read with one `read_all`, which suits the
/// browser backends (one request) and the sizes logs have (a WAL is bounded by
/// the memtable it feeds).
pub fn read_log(storage: &dyn Storage, name: &str, kind: LogKind) -> Result<LogContents> {
    let data = storage.read_all(name)?;
    parse_log(&data, name, kind)
}

/// `read_log` over bytes already in memory.
pub fn parse_log(data: &[u8], name: &str, kind: LogKind) -> Result<LogContents> {
    let mut contents = LogContents { records: Vec::new(), torn_tail: None, unused_bytes: 0 };
    if data.len() < LOG_HEADER_SIZE {
        // A crash right after `create`: the header itself was never complete.
        contents.torn_tail = Some(torn_tail_at(data, 0));
        return Ok(contents);
    }
    match check_file_header(data, name, kind) {
        // A header cut short in preallocated space: nothing after it was written.
        Err(Error::Corruption { .. }) if zeros_from(data, LOG_HEADER_SIZE) => {
            contents.torn_tail = Some(torn_tail_at(data, 0));
            return Ok(contents);
        }
        result => result?,
    }
    let mut pos = LOG_HEADER_SIZE;
    while pos < data.len() {
        match next_record(data, pos, name, kind)? {
            Step::Record { payload, end } => {
                contents.records.push((pos as u64, payload.to_vec()));
                pos = end;
            }
            Step::Unused => {
                contents.unused_bytes = (data.len() - pos) as u64;
                return Ok(contents);
            }
            Step::TornTail => {
                contents.torn_tail = Some(torn_tail_at(data, pos));
                return Ok(contents);
            }
        }
    }
    assert_eq!(pos, data.len(), "records must end exactly at the end of the file");
    Ok(contents)
}

/// True if every byte from `pos` to the end is zero (or `pos` is past it).
fn zeros_from(data: &[u8], pos: usize) -> bool {
    data.get(pos..).is_none_or(|rest| rest.iter().all(|&b| b == 0))
}

fn torn_tail_at(data: &[u8], offset: usize) -> TornTail {
    debug_assert!(offset <= data.len());
    TornTail { offset: offset as u64, dropped_bytes: (data.len() - offset) as u64 }
}

/// Checks the complete 16-byte file header. The crc is checked before the
/// version so that a flipped bit in the version field reads as damage, not
/// as a file from another format version.
fn check_file_header(data: &[u8], name: &str, kind: LogKind) -> Result<()> {
    let mut decoder = Decoder::new(data, name, 0);
    let checked = decoder.bytes(LOG_HEADER_CHECKED)?;
    let stored_crc = decoder.u32()?;
    let mut fields = Decoder::new(checked, name, 0);
    if fields.bytes(8)? != kind.magic() {
        return Err(Error::corruption(name, 0, "log file has the wrong magic"));
    }
    let version = fields.u32()?;
    if stored_crc != crc32(checked) {
        return Err(Error::corruption(name, LOG_HEADER_CHECKED as u64, "log file header checksum mismatch"));
    }
    if version != LOG_FORMAT_VERSION {
        return Err(Error::UnsupportedFormat { file: name.into(), found: version, supported: LOG_FORMAT_VERSION });
    }
    Ok(())
}

/// What the bytes at a record boundary turned out to be.
enum Step<'a> {
    /// A complete, checked record; the next one starts at `end`.
    Record { payload: &'a [u8], end: usize },
    /// The rest of the file is zeros that were never written.
    Unused,
    /// The rest of the file is a torn tail.
    TornTail,
}

/// Reads the record starting at `pos` (< data.len()), applying FORMAT.md's
/// reading table row by row.
fn next_record<'a>(data: &'a [u8], pos: usize, name: &'a str, kind: LogKind) -> Result<Step<'a>> {
    if zeros_from(data, pos) {
        return Ok(Step::Unused); // Preallocated space: no record starts with zeros.
    }
    let rest = data.get(pos..).unwrap_or(&[]);
    if rest.len() < RECORD_HEADER_SIZE {
        return Ok(Step::TornTail); // Torn header.
    }
    let mut decoder = Decoder::new(rest, name, pos as u64);
    let checked = decoder.bytes(RECORD_HEADER_CHECKED)?;
    let header_crc = decoder.u32()?;
    if header_crc != crc32(checked) {
        if zeros_from(data, pos + RECORD_HEADER_SIZE) {
            return Ok(Step::TornTail); // A header cut short in preallocated space.
        }
        return Err(Error::corruption(name, pos as u64, "record header checksum mismatch"));
    }
    let mut fields = Decoder::new(checked, name, pos as u64);
    let payload_len = fields.u32()? as usize;
    let payload_crc = fields.u32()?;
    if payload_len == 0 || payload_len > RECORD_PAYLOAD_MAX {
        // The checksum vouches for this length, so only a writer bug made it.
        return Err(Error::corruption(
            name,
            pos as u64,
            alloc::format!("record payload length {payload_len} is outside 1..={RECORD_PAYLOAD_MAX}"),
        ));
    }
    if payload_len > decoder.remaining() {
        return Ok(Step::TornTail); // Torn payload.
    }
    let payload = decoder.bytes(payload_len)?;
    let end = pos + RECORD_HEADER_SIZE + payload_len;
    if crc32(payload) != payload_crc {
        // The last record of a WAL, damaged (cut short, or followed only by
        // preallocated zeros), is a torn tail: cut off and reported. A
        // manifest record is synced before anything relies on it, so a
        // complete one that fails its checksum is damage: discarding a
        // committed edit could drop tables whose WAL is already gone.
        if kind == LogKind::Wal && zeros_from(data, end) {
            return Ok(Step::TornTail);
        }
        return Err(Error::corruption(name, pos as u64, "record payload checksum mismatch"));
    }
    Ok(Step::Record { payload, end })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::storage::{MemStorage, Storage};
    use alloc::vec;

    const NAME: &str = "000007.wal";

    /// A log of `kind` holding `payloads`, and each record's end offset.
    fn build_log(kind: LogKind, payloads: &[Vec<u8>]) -> (Vec<u8>, Vec<usize>) {
        let mut data = file_header(kind).to_vec();
        let mut ends = Vec::new();
        for payload in payloads {
            encode_record(payload, &mut data);
            ends.push(data.len());
        }
        (data, ends)
    }

    /// Payloads of sizes chosen to put record boundaries at varied offsets,
    /// including ones shorter and longer than a record header.
    fn sample_payloads() -> Vec<Vec<u8>> {
        [1usize, 2, 11, 12, 13, 40, 300, 5]
            .iter()
            .enumerate()
            .map(|(i, &len)| (0..len).map(|j| (i * 31 + j * 7 + 1) as u8).collect())
            .collect()
    }

    fn payloads_of(contents: &LogContents) -> Vec<Vec<u8>> {
        contents.records.iter().map(|(_, payload)| payload.clone()).collect()
    }

    /// Goal: the header holds magic, version 1 and a crc of its first 12 bytes.
    #[test]
    fn file_header_layout() {
        let header = file_header(LogKind::Manifest);
        assert_eq!(&header[..8], b"LSMKVMAN");
        assert_eq!(&header[8..12], &1u32.to_le_bytes());
        assert_eq!(&header[12..], &crc32(&header[..12]).to_le_bytes());
        assert_eq!(&file_header(LogKind::Wal)[..8], b"LSMKVWAL");
    }

    /// Goal: records of every size class round-trip with their offsets, via storage.
    #[test]
    fn records_round_trip_through_storage() {
        let mut payloads = sample_payloads();
        payloads.push(vec![0xAB; 70_000]);
        let (data, ends) = build_log(LogKind::Wal, &payloads);
        let storage = MemStorage::new();
        storage.create(NAME).unwrap();
        storage.append(NAME, &data).unwrap();
        let contents = read_log(&storage, NAME, LogKind::Wal).unwrap();
        assert_eq!(contents.torn_tail, None);
        assert_eq!(payloads_of(&contents), payloads);
        let mut starts = vec![LOG_HEADER_SIZE as u64];
        starts.extend(ends.iter().map(|&end| end as u64));
        starts.pop();
        let offsets: Vec<u64> = contents.records.iter().map(|(offset, _)| *offset).collect();
        assert_eq!(offsets, starts);
    }

    /// Goal: a header with no records is a clean, empty log.
    #[test]
    fn header_only_is_an_empty_clean_log() {
        let contents = parse_log(&file_header(LogKind::Wal), NAME, LogKind::Wal).unwrap();
        assert_eq!(contents, LogContents { records: Vec::new(), torn_tail: None, unused_bytes: 0 });
    }

    /// Goal: begin/finish framing equals encode_record byte for byte.
    #[test]
    fn in_place_framing_matches_encode_record() {
        let mut a = vec![9, 9];
        encode_record(b"payload", &mut a);
        let mut b = vec![9, 9];
        let start = begin_record(&mut b);
        b.extend_from_slice(b"payload");
        finish_record(&mut b, start);
        assert_eq!(a, b);
        assert_eq!(a.len(), 2 + RECORD_HEADER_SIZE + 7);
    }

    #[test]
    #[should_panic(expected = "outside 1..=")]
    fn an_empty_payload_is_a_bug() {
        encode_record(&[], &mut Vec::new());
    }

    /// Goal: a file shorter than its header (crash right after create) is
    /// an empty log with a torn tail at 0, at every such length.
    #[test]
    fn short_files_are_empty_logs_torn_at_zero() {
        let header = file_header(LogKind::Manifest);
        for len in 0..LOG_HEADER_SIZE {
            let contents = parse_log(&header[..len], NAME, LogKind::Manifest).unwrap();
            assert!(contents.records.is_empty());
            assert_eq!(contents.torn_tail, Some(TornTail { offset: 0, dropped_bytes: len as u64 }));
        }
    }

    /// Goal: a wrong magic or crc is corruption; a valid header of another
    /// version is UnsupportedFormat.
    #[test]
    fn header_checks() {
        let (data, _) = build_log(LogKind::Wal, &sample_payloads());
        let err = parse_log(&data, NAME, LogKind::Manifest).unwrap_err();
        assert!(matches!(err, Error::Corruption { ref file, offset: 0, .. } if file == NAME), "{err:?}");

        let mut bad_crc = data.clone();
        bad_crc[13] ^= 0x40;
        let err = parse_log(&bad_crc, NAME, LogKind::Wal).unwrap_err();
        assert!(matches!(err, Error::Corruption { offset: 12, .. }), "{err:?}");

        let mut v2 = data.clone();
        v2[8..12].copy_from_slice(&2u32.to_le_bytes());
        let crc = crc32(&v2[..12]);
        v2[12..16].copy_from_slice(&crc.to_le_bytes());
        let err = parse_log(&v2, NAME, LogKind::Wal).unwrap_err();
        assert_eq!(err, Error::UnsupportedFormat { file: NAME.into(), found: 2, supported: 1 });
    }

    /// Goal: a crash can leave any prefix of a log. Method: cut a
    /// multi-record log at every byte length; the result must be exactly the
    /// complete records before the cut, with a torn tail at the last record
    /// boundary unless the cut is on one — never corruption.
    #[test]
    fn every_prefix_reads_as_complete_records_plus_torn_tail() {
        let payloads = sample_payloads();
        let (data, ends) = build_log(LogKind::Wal, &payloads);
        for len in 0..=data.len() {
            let contents =
                parse_log(&data[..len], NAME, LogKind::Wal).unwrap_or_else(|e| panic!("prefix of {len} bytes: {e}"));
            let complete = ends.iter().filter(|&&end| end <= len).count();
            assert_eq!(payloads_of(&contents), payloads[..complete].to_vec(), "prefix of {len} bytes");
            let boundary = match complete {
                _ if len < LOG_HEADER_SIZE => 0,
                0 => LOG_HEADER_SIZE,
                n => ends[n - 1],
            };
            let want = (boundary != len || len < LOG_HEADER_SIZE)
                .then(|| TornTail { offset: boundary as u64, dropped_bytes: (len - boundary) as u64 });
            assert_eq!(contents.torn_tail, want, "prefix of {len} bytes");
        }
    }

    /// Goal: damage is never read as data. Method: flip every bit of a
    /// multi-record log in turn; each read must fail with Corruption naming
    /// the file and an offset inside it, or (damage in the last record only)
    /// report a torn tail after the intact records — never a wrong record.
    #[test]
    fn every_bit_flip_is_corruption_or_a_torn_last_record() {
        for kind in [LogKind::Wal, LogKind::Manifest] {
            let payloads = sample_payloads();
            let (data, ends) = build_log(kind, &payloads);
            let last_start = ends[ends.len() - 2];
            for bit in 0..data.len() * 8 {
                let mut damaged = data.clone();
                damaged[bit / 8] ^= 1 << (bit % 8);
                match parse_log(&damaged, NAME, kind) {
                    Err(Error::Corruption { file, offset, .. }) => {
                        assert_eq!(file, NAME);
                        assert!(offset < data.len() as u64, "bit {bit}: offset {offset} outside the file");
                    }
                    Ok(contents) => {
                        assert_eq!(kind, LogKind::Wal, "bit {bit}: a damaged manifest record must be corruption");
                        assert!(bit / 8 >= last_start, "bit {bit}: damage before the last record went unnoticed");
                        assert_eq!(payloads_of(&contents), payloads[..payloads.len() - 1].to_vec(), "bit {bit}");
                        let tail =
                            TornTail { offset: last_start as u64, dropped_bytes: (data.len() - last_start) as u64 };
                        assert_eq!(contents.torn_tail, Some(tail), "bit {bit}");
                    }
                    Err(other) => panic!("bit {bit}: unexpected error {other:?}"),
                }
            }
        }
    }

    /// Goal: zeros after the last record (preallocated space) are a torn
    /// tail at every length; non-zero garbage there is corruption.
    #[test]
    fn zero_filled_tail_is_unused_space_and_garbage_is_corruption() {
        let (data, _) = build_log(LogKind::Wal, &sample_payloads());
        for zeros in 1..64 {
            let mut padded = data.clone();
            padded.resize(data.len() + zeros, 0);
            let contents = parse_log(&padded, NAME, LogKind::Wal).unwrap();
            assert_eq!(contents.records.len(), sample_payloads().len());
            assert_eq!(contents.torn_tail, None, "{zeros} zeros");
            assert_eq!(contents.unused_bytes, zeros as u64);
        }
        let mut garbage = data.clone();
        garbage.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        let err = parse_log(&garbage, NAME, LogKind::Wal).unwrap_err();
        assert!(matches!(err, Error::Corruption { offset, .. } if offset == data.len() as u64), "{err:?}");
    }

    /// Goal: a crash while a record was being copied into a preallocated
    /// (zero-filled) log leaves a prefix of the record followed by zeros;
    /// at every cut point that reads as the complete records before it and
    /// a torn tail — never corruption, never a wrong record.
    #[test]
    fn a_record_cut_short_in_preallocated_space_is_a_torn_tail() {
        let payloads = sample_payloads();
        let (data, ends) = build_log(LogKind::Wal, &payloads);
        let last_start = ends[ends.len() - 2];
        for cut in last_start + 1..data.len() {
            let mut crashed = data[..cut].to_vec();
            crashed.resize(data.len() + 4096, 0);
            let contents = parse_log(&crashed, NAME, LogKind::Wal).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
            assert_eq!(payloads_of(&contents), payloads[..payloads.len() - 1].to_vec(), "cut at {cut}");
            assert_eq!(contents.torn_tail.map(|t| t.offset), Some(last_start as u64), "cut at {cut}");
        }
        // A header cut short right after the file header, in a fresh log.
        for cut in 1..LOG_HEADER_SIZE {
            let mut crashed = data[..cut].to_vec();
            crashed.resize(4096, 0);
            let contents = parse_log(&crashed, NAME, LogKind::Wal).unwrap();
            assert_eq!(contents.torn_tail.map(|t| t.offset), Some(0), "header cut at {cut}");
        }
    }

    /// Goal: a checksummed length outside 1..=RECORD_PAYLOAD_MAX is
    /// corruption (no writer makes one), not a torn tail.
    #[test]
    fn out_of_range_payload_length_is_corruption() {
        for bad_len in [0u32, RECORD_PAYLOAD_MAX as u32 + 1, u32::MAX] {
            let mut data = file_header(LogKind::Wal).to_vec();
            let mut header = Vec::new();
            header.extend_from_slice(&bad_len.to_le_bytes());
            header.extend_from_slice(&crc32(b"x").to_le_bytes());
            let crc = crc32(&header);
            header.extend_from_slice(&crc.to_le_bytes());
            data.extend_from_slice(&header);
            data.push(b'x');
            let err = parse_log(&data, NAME, LogKind::Wal).unwrap_err();
            assert!(matches!(err, Error::Corruption { offset: 16, .. }), "len {bad_len}: {err:?}");
        }
    }

    /// Goal: a payload checksum mismatch is a torn tail only in the last
    /// record; earlier it is corruption at that record's offset.
    #[test]
    fn payload_damage_position_decides_torn_or_corrupt() {
        let payloads = sample_payloads();
        let (data, ends) = build_log(LogKind::Wal, &payloads);
        let mut last = data.clone();
        let end = last.len();
        last[end - 1] ^= 1;
        let contents = parse_log(&last, NAME, LogKind::Wal).unwrap();
        assert_eq!(contents.records.len(), payloads.len() - 1);
        let mut middle = data.clone();
        middle[ends[2] + RECORD_HEADER_SIZE] ^= 0x80; // first payload byte of record 3
        let err = parse_log(&middle, NAME, LogKind::Wal).unwrap_err();
        assert!(matches!(err, Error::Corruption { offset, .. } if offset == ends[2] as u64), "{err:?}");
    }

    /// Goal: reading never modifies the file.
    #[test]
    fn reading_a_torn_log_does_not_change_it() {
        let (data, _) = build_log(LogKind::Wal, &sample_payloads());
        let storage = MemStorage::new();
        storage.create(NAME).unwrap();
        storage.append(NAME, &data[..data.len() - 3]).unwrap();
        let contents = read_log(&storage, NAME, LogKind::Wal).unwrap();
        assert!(contents.torn_tail.is_some());
        assert_eq!(storage.read_all(NAME).unwrap(), data[..data.len() - 3].to_vec());
    }
}
