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
mod tests;
