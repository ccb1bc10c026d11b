//! The manifest: a log of version edits (FORMAT.md, "Manifest") and the
//! CURRENT pointer that names it, switched atomically by rename.
//!
//! This module only encodes, decodes, reads and writes. What an edit means
//! for a `Version` (a removed table must exist, an added one must not) is
//! checked by the db when it applies edits.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::coding::{crc32, len_u32, put_u32, put_u64, put_u8, put_varint32, Decoder};
use crate::error::{Error, IoKind, Result};
use crate::filename::{manifest_name, CURRENT, CURRENT_TMP};
use crate::key::{compare, pack_trailer, unpack_trailer, InternalKey, SEQ_MAX};
use crate::options::{KEY_SIZE_LIMIT, LEVELS};
use crate::record::{encode_record, file_header, read_log, LogKind, TornTail, RECORD_HEADER_SIZE};
use crate::storage::Storage;
use crate::version::TableMeta;

/// Edit field tags. DO NOT RENUMBER: part of the manifest format.
pub const TAG_NEXT_FILE_NUMBER: u8 = 1;
pub const TAG_FLUSHED_SEQ: u8 = 2;
pub const TAG_ADD_TABLE: u8 = 3;
pub const TAG_REMOVE_TABLE: u8 = 4;
pub const TAG_LAST_SEQ: u8 = 5;

pub const CURRENT_MAGIC: [u8; 8] = *b"LSMKVCUR";
pub const CURRENT_SIZE: usize = 24;
/// The CURRENT format version this build writes and reads.
pub const CURRENT_FORMAT_VERSION: u32 = 1;
/// Bytes of CURRENT covered by its crc: magic, version, manifest_number.
const CURRENT_CHECKED: usize = 20;

/// One change to the version. Fields left `None`/empty are not written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VersionEdit {
    pub next_file_number: Option<u64>,
    pub flushed_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// (level, table) pairs added.
    pub added: Vec<(usize, TableMeta)>,
    /// (level, table number) pairs removed.
    pub removed: Vec<(usize, u64)>,
}

impl VersionEdit {
    /// True when the edit has no field at all (it would encode to nothing,
    /// and a record cannot be empty).
    pub fn is_empty(&self) -> bool {
        self.next_file_number.is_none()
            && self.flushed_seq.is_none()
            && self.last_seq.is_none()
            && self.added.is_empty()
            && self.removed.is_empty()
    }

    /// Appends the encoded edit to `out`: scalar fields first, then
    /// removals, then additions, each in the order held. Asserts every
    /// field is valid (level < LEVELS, sequence numbers ≤ 2^56 − 1, table
    /// metadata consistent): an invalid edit is a bug in the caller.
    #[allow(clippy::panic, reason = "encoding an invalid edit is a bug in the engine, not bad input")]
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.check().unwrap_or_else(|reason| panic!("encoding an invalid version edit: {reason}"));
        for (tag, value) in [
            (TAG_NEXT_FILE_NUMBER, self.next_file_number),
            (TAG_FLUSHED_SEQ, self.flushed_seq),
            (TAG_LAST_SEQ, self.last_seq),
        ] {
            if let Some(value) = value {
                put_u8(out, tag);
                put_u64(out, value);
            }
        }
        for &(level, number) in &self.removed {
            put_u8(out, TAG_REMOVE_TABLE);
            put_u8(out, level as u8);
            put_u64(out, number);
        }
        for (level, table) in &self.added {
            put_u8(out, TAG_ADD_TABLE);
            encode_table(*level, table, out);
        }
    }

    /// Decodes one edit; `file`/`offset` name it in errors (`offset` is the
    /// file offset of the payload's first byte). Unknown tags, levels ≥
    /// LEVELS, malformed keys, inconsistent table metadata and a scalar field
    /// given twice are corruption.
    pub fn decode(payload: &[u8], file: &str, offset: u64) -> Result<VersionEdit> {
        let mut edit = VersionEdit::default();
        let mut decoder = Decoder::new(payload, file, offset);
        while !decoder.is_empty() {
            let field_offset = offset + decoder.position() as u64;
            let tag = decoder.u8()?;
            match tag {
                TAG_NEXT_FILE_NUMBER => set_once(&mut edit.next_file_number, decoder.u64()?, "NextFileNumber"),
                TAG_FLUSHED_SEQ => set_once(&mut edit.flushed_seq, decoder.u64()?, "FlushedSeq"),
                TAG_LAST_SEQ => set_once(&mut edit.last_seq, decoder.u64()?, "LastSeq"),
                TAG_REMOVE_TABLE => {
                    let level = decode_level(&mut decoder)?;
                    edit.removed.push((level, decoder.u64()?));
                    Ok(())
                }
                TAG_ADD_TABLE => {
                    let (level, table) = decode_table(&mut decoder)?;
                    let checked = check_table(level, &table);
                    edit.added.push((level, table));
                    checked
                }
                unknown => Err(format!("unknown version edit tag {unknown}")),
            }
            .map_err(|reason| Error::corruption(file, field_offset, reason))?;
        }
        edit.check_scalars().map_err(|reason| Error::corruption(file, offset, reason))?;
        Ok(edit)
    }

    /// Every invariant `encode` asserts and `decode` enforces.
    fn check(&self) -> core::result::Result<(), String> {
        self.check_scalars()?;
        for &(level, _) in &self.removed {
            if level >= LEVELS {
                return Err(format!("level {level} is not below {LEVELS}"));
            }
        }
        self.added.iter().try_for_each(|(level, table)| check_table(*level, table))
    }

    fn check_scalars(&self) -> core::result::Result<(), String> {
        for (name, seq) in [("FlushedSeq", self.flushed_seq), ("LastSeq", self.last_seq)] {
            if seq.is_some_and(|seq| seq > SEQ_MAX) {
                return Err(format!("{name} exceeds {SEQ_MAX}"));
            }
        }
        if let (Some(flushed), Some(last)) = (self.flushed_seq, self.last_seq) {
            if flushed > last {
                return Err(format!("FlushedSeq {flushed} exceeds LastSeq {last}"));
            }
        }
        Ok(())
    }
}

/// Stores a scalar field, refusing a second occurrence in the same edit:
/// the writer never repeats one, so a repeat means damage.
fn set_once(slot: &mut Option<u64>, value: u64, field: &str) -> core::result::Result<(), String> {
    if slot.is_some() {
        return Err(format!("{field} appears twice in one edit"));
    }
    *slot = Some(value);
    Ok(())
}

fn decode_level(decoder: &mut Decoder<'_>) -> Result<usize> {
    let level = decoder.u8()? as usize;
    if level >= LEVELS {
        return Err(decoder.error(format!("level {level} is not below {LEVELS}")));
    }
    Ok(level)
}

fn encode_table(level: usize, table: &TableMeta, out: &mut Vec<u8>) {
    put_u8(out, level as u8);
    for value in [table.number, table.file_size, table.entry_count, table.tombstone_count, table.min_seq, table.max_seq]
    {
        put_u64(out, value);
    }
    encode_key(&table.smallest, out);
    encode_key(&table.largest, out);
}

fn encode_key(key: &InternalKey, out: &mut Vec<u8>) {
    put_varint32(out, len_u32(key.user_key.len()));
    out.extend_from_slice(&key.user_key);
    put_u64(out, pack_trailer(key.seq, key.kind));
}

fn decode_table(decoder: &mut Decoder<'_>) -> Result<(usize, TableMeta)> {
    let level = decode_level(decoder)?;
    let number = decoder.u64()?;
    let file_size = decoder.u64()?;
    let entry_count = decoder.u64()?;
    let tombstone_count = decoder.u64()?;
    let min_seq = decoder.u64()?;
    let max_seq = decoder.u64()?;
    let smallest = decode_key(decoder)?;
    let largest = decode_key(decoder)?;
    let table = TableMeta { number, file_size, entry_count, tombstone_count, min_seq, max_seq, smallest, largest };
    Ok((level, table))
}

fn decode_key(decoder: &mut Decoder<'_>) -> Result<InternalKey> {
    let key_len = decoder.varint32()? as usize;
    if key_len == 0 || key_len > KEY_SIZE_LIMIT {
        return Err(decoder.error(format!("key length {key_len} is outside 1..={KEY_SIZE_LIMIT}")));
    }
    let user_key = decoder.bytes(key_len)?.to_vec();
    let (seq, kind) = unpack_trailer(decoder.u64()?);
    let kind = kind.map_err(|k| decoder.error(format!("unknown key kind {k}")))?;
    Ok(InternalKey { user_key, seq, kind })
}

/// The invariants of a table's metadata that hold for every table ever
/// written (FORMAT.md, SSTable invariants).
fn check_table(level: usize, table: &TableMeta) -> core::result::Result<(), String> {
    let number = table.number;
    if level >= LEVELS {
        return Err(format!("table {number}: level {level} is not below {LEVELS}"));
    }
    for key in [&table.smallest, &table.largest] {
        if key.user_key.is_empty() || key.user_key.len() > KEY_SIZE_LIMIT {
            return Err(format!("table {number}: key of {} bytes", key.user_key.len()));
        }
    }
    if table.entry_count == 0 || table.tombstone_count > table.entry_count {
        return Err(format!(
            "table {number}: {} tombstones among {} entries",
            table.tombstone_count, table.entry_count
        ));
    }
    if table.min_seq > table.max_seq || table.max_seq > SEQ_MAX {
        return Err(format!("table {number}: sequence range {}..={}", table.min_seq, table.max_seq));
    }
    let (small, large) = (&table.smallest, &table.largest);
    if compare(&small.user_key, small.seq, &large.user_key, large.seq).is_gt() {
        return Err(format!("table {number}: smallest key sorts after largest"));
    }
    Ok(())
}

/// The manifest file being appended to.
pub struct ManifestWriter {
    name: String,
}

impl ManifestWriter {
    /// Creates manifest number `number` holding `snapshot` as its first
    /// record, and syncs it. Does not touch CURRENT.
    pub fn create(storage: &dyn Storage, number: u64, snapshot: &VersionEdit) -> Result<ManifestWriter> {
        let name = manifest_name(number);
        let mut bytes = Vec::from(file_header(LogKind::Manifest));
        encode_edit_record(snapshot, &mut bytes)?;
        storage.create(&name)?;
        // Header and snapshot in one append: the manifest is never seen with
        // a header but no snapshot unless a crash tore the append.
        storage.append(&name, &bytes)?;
        storage.sync(&name)?;
        Ok(ManifestWriter { name })
    }

    /// Appends one edit and syncs: when this returns Ok, the edit is committed.
    /// Returns the bytes appended. An empty edit is `InvalidArgument`.
    pub fn append(&mut self, storage: &dyn Storage, edit: &VersionEdit) -> Result<u64> {
        let mut bytes = Vec::new();
        encode_edit_record(edit, &mut bytes)?;
        storage.append(&self.name, &bytes)?;
        storage.sync(&self.name)?;
        Ok(bytes.len() as u64)
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Frames `edit` as one record appended to `out`.
fn encode_edit_record(edit: &VersionEdit, out: &mut Vec<u8>) -> Result<()> {
    if edit.is_empty() {
        return Err(Error::invalid_argument("an empty version edit cannot be recorded"));
    }
    let mut payload = Vec::new();
    edit.encode(&mut payload);
    encode_record(&payload, out);
    Ok(())
}

/// The 24 bytes of a CURRENT naming manifest `number`.
pub fn encode_current(number: u64) -> [u8; CURRENT_SIZE] {
    let mut out = Vec::with_capacity(CURRENT_SIZE);
    out.extend_from_slice(&CURRENT_MAGIC);
    put_u32(&mut out, CURRENT_FORMAT_VERSION);
    put_u64(&mut out, number);
    let crc = crc32(&out);
    put_u32(&mut out, crc);
    let mut bytes = [0u8; CURRENT_SIZE];
    bytes.copy_from_slice(&out);
    bytes
}

/// Parses CURRENT's bytes into the manifest number it names. `file` names
/// the file in errors.
pub fn decode_current(data: &[u8], file: &str) -> Result<u64> {
    if data.len() != CURRENT_SIZE {
        return Err(Error::corruption(file, 0, format!("{} bytes, expected {CURRENT_SIZE}", data.len())));
    }
    let mut decoder = Decoder::new(data, file, 0);
    let checked = decoder.bytes(CURRENT_CHECKED)?;
    let stored_crc = decoder.u32()?;
    let mut fields = Decoder::new(checked, file, 0);
    if fields.bytes(CURRENT_MAGIC.len())? != CURRENT_MAGIC {
        return Err(Error::corruption(file, 0, "wrong magic"));
    }
    let version = fields.u32()?;
    let number = fields.u64()?;
    // The crc before the version: a flipped version bit is damage.
    if stored_crc != crc32(checked) {
        return Err(Error::corruption(file, CURRENT_CHECKED as u64, "checksum mismatch"));
    }
    if version != CURRENT_FORMAT_VERSION {
        return Err(Error::UnsupportedFormat { file: file.into(), found: version, supported: CURRENT_FORMAT_VERSION });
    }
    Ok(number)
}

/// Reads CURRENT: the live manifest's number, or `None` if there is no CURRENT.
pub fn read_current(storage: &dyn Storage) -> Result<Option<u64>> {
    match storage.read_all(CURRENT) {
        Ok(data) => decode_current(&data, CURRENT).map(Some),
        Err(e) if e.is_io(IoKind::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Points CURRENT at manifest `number`: writes CURRENT.tmp, syncs it, renames
/// it over CURRENT.
///
/// A `CURRENT.tmp` left by a crash is removed first. At any crash point,
/// CURRENT names either the old manifest or the new one (the rename is
/// atomic and the new content is synced before it).
pub fn install_current(storage: &dyn Storage, number: u64) -> Result<()> {
    match storage.remove(CURRENT_TMP) {
        Ok(()) => {}
        Err(e) if e.is_io(IoKind::NotFound) => {}
        Err(e) => return Err(e),
    }
    storage.create(CURRENT_TMP)?;
    storage.append(CURRENT_TMP, &encode_current(number))?;
    storage.sync(CURRENT_TMP)?;
    storage.rename(CURRENT_TMP, CURRENT)
}

/// Every complete edit of manifest `number`, and its torn tail if any.
///
/// A manifest with no complete record comes back as no edits; the caller
/// decides what that means (CURRENT only ever names a synced manifest, so
/// for the live one it is damage).
pub fn read_manifest(storage: &dyn Storage, number: u64) -> Result<(Vec<VersionEdit>, Option<TornTail>)> {
    let name = manifest_name(number);
    let log = read_log(storage, &name, LogKind::Manifest).map_err(|e| match e {
        // CURRENT names it, so it was created and synced before CURRENT was.
        Error::Io { kind: IoKind::NotFound, .. } => {
            Error::corruption(&name, 0, "the manifest CURRENT names is missing")
        }
        other => other,
    })?;
    let edits = log
        .records
        .iter()
        .map(|(offset, payload)| VersionEdit::decode(payload, &name, offset + RECORD_HEADER_SIZE as u64))
        .collect::<Result<Vec<_>>>()?;
    Ok((edits, log.torn_tail))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::key::ValueKind;
    use crate::record::LOG_HEADER_SIZE;
    use crate::storage::MemStorage;
    use crate::testing::FaultStorage;
    use crate::testing::Rng;
    use alloc::vec;

    fn random_key(rng: &mut Rng) -> Vec<u8> {
        let len = 1 + rng.below(24) as usize;
        rng.bytes(len)
    }

    fn table(rng: &mut Rng, number: u64) -> TableMeta {
        let (mut a, mut b) = (random_key(rng), random_key(rng));
        if a > b {
            core::mem::swap(&mut a, &mut b);
        }
        let min_seq = rng.below(1 << 40) + 1;
        let max_seq = min_seq + rng.below(1000);
        let entry_count = 1 + rng.below(10_000);
        TableMeta {
            number,
            file_size: rng.next_u64() >> 20,
            entry_count,
            tombstone_count: rng.below(entry_count + 1),
            min_seq,
            max_seq,
            smallest: InternalKey::new(a, max_seq, ValueKind::Put),
            largest: InternalKey::new(b, min_seq, ValueKind::Delete),
        }
    }

    fn full_edit(seed: u64, tables: usize) -> VersionEdit {
        let mut rng = Rng::new(seed);
        VersionEdit {
            next_file_number: Some(1 + rng.below(1 << 50)),
            flushed_seq: Some(100),
            last_seq: Some(SEQ_MAX),
            added: (0..tables).map(|i| (i % LEVELS, table(&mut rng, i as u64 + 7))).collect(),
            removed: (0..tables / 2).map(|i| ((i * 3) % LEVELS, rng.next_u64())).collect(),
        }
    }

    fn encoded(edit: &VersionEdit) -> Vec<u8> {
        let mut out = Vec::new();
        edit.encode(&mut out);
        out
    }

    fn corruption_offset(result: Result<VersionEdit>) -> u64 {
        match result {
            Err(Error::Corruption { file, offset, .. }) => {
                assert_eq!(file, "MANIFEST-000001");
                offset
            }
            other => panic!("want corruption, got {other:?}"),
        }
    }

    fn decode(payload: &[u8]) -> Result<VersionEdit> {
        VersionEdit::decode(payload, "MANIFEST-000001", 100)
    }

    /// Goal: edits with every field, and with many tables, round-trip.
    #[test]
    fn edits_round_trip() {
        for edit in [
            VersionEdit { next_file_number: Some(2), flushed_seq: Some(0), last_seq: Some(0), ..Default::default() },
            VersionEdit { removed: vec![(6, u64::MAX)], ..Default::default() },
            full_edit(1, 1),
            full_edit(2, 1000),
        ] {
            assert_eq!(decode(&encoded(&edit)).unwrap(), edit);
        }
        let mut extreme = full_edit(3, 2);
        extreme.added[0].1.smallest.user_key = vec![0xFF; KEY_SIZE_LIMIT];
        extreme.added[0].1.largest.user_key = vec![0xFF; KEY_SIZE_LIMIT];
        assert_eq!(decode(&encoded(&extreme)).unwrap(), extreme);
    }

    /// Goal: the bytes are FORMAT.md's: tag, then fixed fields in order.
    #[test]
    fn edit_layout_matches_format() {
        let edit = VersionEdit { next_file_number: Some(2), removed: vec![(3, 9)], ..Default::default() };
        let mut want = vec![TAG_NEXT_FILE_NUMBER];
        want.extend_from_slice(&2u64.to_le_bytes());
        want.extend_from_slice(&[TAG_REMOVE_TABLE, 3]);
        want.extend_from_slice(&9u64.to_le_bytes());
        assert_eq!(encoded(&edit), want);
    }

    /// Goal: unknown tags, bad levels and malformed keys are corruption at
    /// the offset of the field.
    #[test]
    fn malformed_edits_are_corruption() {
        for tag in [0u8, 6, 255] {
            assert_eq!(corruption_offset(decode(&[tag, 0, 0])), 100);
        }
        let mut prefix = encoded(&VersionEdit { last_seq: Some(5), ..Default::default() });
        prefix.extend_from_slice(&[TAG_REMOVE_TABLE, LEVELS as u8]);
        prefix.extend_from_slice(&1u64.to_le_bytes());
        assert_eq!(corruption_offset(decode(&prefix)), 100 + 11); // just after the level byte

        let add = encoded(&full_edit(4, 1));
        let add_at = 27; // three scalar fields of 9 bytes come first
        assert_eq!(add[add_at], TAG_ADD_TABLE);
        let mut bad_level = add.clone();
        bad_level[add_at + 1] = 7;
        assert_eq!(corruption_offset(decode(&bad_level)), 100 + add_at as u64 + 2);
        let key_len_at = add_at + 2 + 6 * 8;
        let mut empty_key = add.clone();
        empty_key[key_len_at] = 0;
        assert!(decode(&empty_key).is_err());
        let mut bad_kind = add.clone();
        let key_len = add[key_len_at] as usize;
        bad_kind[key_len_at + 1 + key_len] = 2; // low byte of the trailer = kind
        assert!(decode(&bad_kind).is_err());
        let mut long_key = vec![TAG_ADD_TABLE, 0];
        long_key.extend_from_slice(&[0u8; 48]);
        put_varint32(&mut long_key, KEY_SIZE_LIMIT as u32 + 1);
        long_key.extend_from_slice(&vec![1u8; KEY_SIZE_LIMIT + 9]);
        assert!(decode(&long_key).is_err());
    }

    /// Goal: a cut inside a field is corruption, never a shorter table.
    #[test]
    fn every_truncated_add_table_is_corruption() {
        let edit = VersionEdit { added: full_edit(5, 1).added, ..Default::default() };
        let bytes = encoded(&edit);
        for len in 1..bytes.len() {
            assert!(matches!(decode(&bytes[..len]), Err(Error::Corruption { .. })), "len {len}");
        }
    }

    /// Goal: inconsistent content that parses is still corruption.
    #[test]
    fn inconsistent_edits_are_corruption() {
        let mut twice = encoded(&VersionEdit { flushed_seq: Some(1), ..Default::default() });
        twice.extend_from_slice(&twice.clone());
        assert_eq!(corruption_offset(decode(&twice)), 109);
        let mut flushed_after_last = vec![TAG_FLUSHED_SEQ];
        flushed_after_last.extend_from_slice(&9u64.to_le_bytes());
        flushed_after_last.push(TAG_LAST_SEQ);
        flushed_after_last.extend_from_slice(&8u64.to_le_bytes());
        assert!(decode(&flushed_after_last).is_err());
        let mut seq_too_big = vec![TAG_LAST_SEQ];
        seq_too_big.extend_from_slice(&(SEQ_MAX + 1).to_le_bytes());
        assert!(decode(&seq_too_big).is_err());

        let good = full_edit(6, 1);
        let mutations: [fn(&mut TableMeta); 4] = [
            |t| t.entry_count = 0,
            |t| t.tombstone_count = t.entry_count + 1,
            |t| t.min_seq = t.max_seq + 1,
            |t| core::mem::swap(&mut t.smallest, &mut t.largest),
        ];
        for mutate in mutations {
            let mut meta = good.added[0].1.clone();
            mutate(&mut meta);
            // Bypass encode's assertion to build the bytes a buggy writer would.
            let mut bytes = vec![TAG_ADD_TABLE];
            encode_table(0, &meta, &mut bytes);
            assert_eq!(corruption_offset(decode(&bytes)), 100);
        }
    }

    #[test]
    #[should_panic(expected = "invalid version edit")]
    fn encoding_a_bad_level_is_a_bug() {
        let edit = VersionEdit { removed: vec![(LEVELS, 1)], ..Default::default() };
        encoded(&edit);
    }

    /// Goal: a manifest written by the writer reads back edit for edit, and
    /// each create/append is synced before it returns.
    #[test]
    fn writer_and_reader_round_trip() {
        let storage = FaultStorage::new();
        let snapshot = full_edit(7, 20);
        let mut writer = ManifestWriter::create(&storage, 4, &snapshot).unwrap();
        assert_eq!(writer.name(), "MANIFEST-000004");
        let len = |s: &FaultStorage| s.raw_bytes("MANIFEST-000004").unwrap().len() as u64;
        assert_eq!(storage.synced_len("MANIFEST-000004"), Some(len(&storage)));
        let mut edits = vec![snapshot];
        for i in 0..10 {
            let edit = full_edit(100 + i, i as usize);
            let before = len(&storage);
            assert_eq!(writer.append(&storage, &edit).unwrap(), len(&storage) - before);
            assert_eq!(storage.synced_len("MANIFEST-000004"), Some(len(&storage)));
            edits.push(edit);
        }
        assert_eq!(read_manifest(&storage, 4).unwrap(), (edits, None));
        let err = writer.append(&storage, &VersionEdit::default()).unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGUMENT");
    }

    /// Goal: a torn last edit is dropped and reported, at every cut.
    #[test]
    fn torn_manifest_tail_drops_only_the_last_edit() {
        let storage = MemStorage::new();
        let snapshot = full_edit(8, 3);
        let mut writer = ManifestWriter::create(&storage, 1, &snapshot).unwrap();
        let complete = storage.len("MANIFEST-000001").unwrap();
        writer.append(&storage, &full_edit(9, 4)).unwrap();
        let full = storage.len("MANIFEST-000001").unwrap();
        for len in (complete + 1..full).rev() {
            storage.truncate("MANIFEST-000001", len).unwrap();
            let (edits, tail) = read_manifest(&storage, 1).unwrap();
            assert_eq!(edits, vec![snapshot.clone()]);
            assert_eq!(tail, Some(TornTail { offset: complete, dropped_bytes: len - complete }));
        }
        storage.truncate("MANIFEST-000001", LOG_HEADER_SIZE as u64 - 1).unwrap();
        let (edits, tail) = read_manifest(&storage, 1).unwrap();
        assert!(edits.is_empty());
        assert_eq!(tail.map(|t| t.offset), Some(0));
    }

    /// Goal: CURRENT round-trips, is replaced by install, and a stale
    /// CURRENT.tmp does not block an install.
    #[test]
    fn current_install_and_read() {
        let storage = MemStorage::new();
        assert_eq!(read_current(&storage).unwrap(), None);
        install_current(&storage, 1).unwrap();
        assert_eq!(read_current(&storage).unwrap(), Some(1));
        storage.create(CURRENT_TMP).unwrap();
        storage.append(CURRENT_TMP, b"half-written garbage").unwrap();
        install_current(&storage, 123_456_789).unwrap();
        assert_eq!(read_current(&storage).unwrap(), Some(123_456_789));
        assert!(!storage.exists(CURRENT_TMP).unwrap());
        assert_eq!(storage.read_all(CURRENT).unwrap(), encode_current(123_456_789).to_vec());
        let mut names = storage.list().unwrap();
        names.sort();
        assert_eq!(names, vec![String::from(CURRENT)]);
    }

    /// Goal: CURRENT's layout is FORMAT.md's.
    #[test]
    fn current_layout_matches_format() {
        let bytes = encode_current(0x0102_0304_0506_0708);
        assert_eq!(&bytes[..8], b"LSMKVCUR");
        assert_eq!(&bytes[8..12], &1u32.to_le_bytes());
        assert_eq!(&bytes[12..20], &0x0102_0304_0506_0708u64.to_le_bytes());
        assert_eq!(&bytes[20..], &crc32(&bytes[..20]).to_le_bytes());
    }

    /// Goal: any damage to CURRENT is detected: every bit flip, every
    /// length other than 24; a valid CURRENT of another version is
    /// UnsupportedFormat.
    #[test]
    fn damaged_current_is_detected() {
        let good = encode_current(42);
        for bit in 0..CURRENT_SIZE * 8 {
            let mut damaged = good;
            damaged[bit / 8] ^= 1 << (bit % 8);
            let err = decode_current(&damaged, CURRENT).unwrap_err();
            assert!(matches!(err, Error::Corruption { ref file, .. } if file == CURRENT), "bit {bit}: {err:?}");
        }
        for len in (0..CURRENT_SIZE).chain([CURRENT_SIZE + 1]) {
            let mut bytes = good.to_vec();
            bytes.resize(len, 0);
            assert!(matches!(decode_current(&bytes, CURRENT), Err(Error::Corruption { .. })), "len {len}");
        }
        let mut v2 = good;
        v2[8] = 2;
        let crc = crc32(&v2[..20]);
        v2[20..].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(
            decode_current(&v2, CURRENT).unwrap_err(),
            Error::UnsupportedFormat { file: CURRENT.into(), found: 2, supported: 1 }
        );
        let storage = MemStorage::new();
        storage.create(CURRENT).unwrap();
        storage.append(CURRENT, &good[..10]).unwrap();
        assert!(matches!(read_current(&storage), Err(Error::Corruption { .. })));
    }
}
