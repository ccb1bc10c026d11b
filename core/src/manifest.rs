//! The manifest: a log of version edits (FORMAT.md, "Manifest") and the
//! CURRENT pointer that names it, switched atomically by rename.
//!
//! STUB: the public API below is fixed; bodies are being implemented.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::Result;
use crate::record::TornTail;
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
    /// Appends the encoded edit to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let _ = out;
        todo!()
    }

    /// Decodes one edit; `file`/`offset` name it in errors. Unknown tags and
    /// levels ≥ LEVELS are corruption.
    pub fn decode(payload: &[u8], file: &str, offset: u64) -> Result<VersionEdit> {
        let _ = (payload, file, offset);
        todo!()
    }
}

/// The manifest file being appended to.
pub struct ManifestWriter {
    number: u64,
    name: String,
}

impl ManifestWriter {
    /// Creates manifest number `number` holding `snapshot` as its first
    /// record, and syncs it. Does not touch CURRENT.
    pub fn create(storage: &dyn Storage, number: u64, snapshot: &VersionEdit) -> Result<ManifestWriter> {
        let _ = (storage, number, snapshot);
        todo!()
    }

    /// Appends one edit and syncs: when this returns Ok, the edit is committed.
    pub fn append(&mut self, storage: &dyn Storage, edit: &VersionEdit) -> Result<u64> {
        let _ = (storage, edit);
        todo!()
    }

    pub fn number(&self) -> u64 {
        self.number
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Reads CURRENT: the live manifest's number, or `None` if there is no CURRENT.
pub fn read_current(storage: &dyn Storage) -> Result<Option<u64>> {
    let _ = storage;
    todo!()
}

/// Points CURRENT at manifest `number`: writes CURRENT.tmp, syncs it, renames
/// it over CURRENT.
pub fn install_current(storage: &dyn Storage, number: u64) -> Result<()> {
    let _ = (storage, number);
    todo!()
}

/// Every complete edit of manifest `number`, and its torn tail if any.
pub fn read_manifest(storage: &dyn Storage, number: u64) -> Result<(Vec<VersionEdit>, Option<TornTail>)> {
    let _ = (storage, number);
    todo!()
}
