//! The write-ahead log: every batch is appended here (and, with
//! `Durability::Sync`, synced) before it reaches the memtable, so a crash
//! never loses an acknowledged write. FORMAT.md, "WAL record payload".
//!
//! STUB: the public API below is fixed; bodies are being implemented.

use alloc::string::String;
use alloc::vec::Vec;

use crate::batch::WriteBatch;
use crate::error::Result;
use crate::record::TornTail;
use crate::storage::Storage;

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
        let _ = (storage, number);
        todo!()
    }

    /// Appends one record holding `batch` with sequence numbers starting at
    /// `first_seq`. Returns the bytes appended. Not synced.
    pub fn append(&mut self, storage: &dyn Storage, first_seq: u64, batch: &WriteBatch) -> Result<u64> {
        let _ = (storage, first_seq, batch);
        todo!()
    }

    /// Syncs everything appended so far.
    pub fn sync(&self, storage: &dyn Storage) -> Result<()> {
        storage.sync(&self.name)
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

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[doc(hidden)]
    pub fn _scratch(&mut self) -> &mut Vec<u8> {
        &mut self.scratch
    }
}

/// Encodes a batch record payload (FORMAT.md) into `out` (cleared first).
pub fn encode_batch(first_seq: u64, batch: &WriteBatch, out: &mut Vec<u8>) {
    let _ = (first_seq, batch, out);
    todo!()
}

/// Decodes a batch record payload; `file`/`offset` name it in errors.
/// Returns the first sequence number and the batch.
pub fn decode_batch(payload: &[u8], file: &str, offset: u64) -> Result<(u64, WriteBatch)> {
    let _ = (payload, file, offset);
    todo!()
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
pub fn read_wal(storage: &dyn Storage, name: &str) -> Result<WalContents> {
    let _ = (storage, name);
    todo!()
}
