//! Log framing shared by the WAL and the manifest (FORMAT.md, "Log files"):
//! a 16-byte file header, then length- and checksum-framed records. Reading
//! distinguishes a torn tail (a crash mid-append: reported, truncated) from
//! damage before the tail (`Error::Corruption`).
//!
//! STUB: the public API below is fixed; bodies are being implemented.

use alloc::vec::Vec;

use crate::error::Result;
use crate::storage::Storage;

pub const LOG_HEADER_SIZE: usize = 16;
pub const RECORD_HEADER_SIZE: usize = 12;
pub const RECORD_PAYLOAD_MAX: usize = 256 << 20;
pub const LOG_FORMAT_VERSION: u32 = 1;

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
    let _ = kind;
    todo!()
}

/// Appends one framed record holding `payload` to `out`.
/// `payload` is 1 ..= RECORD_PAYLOAD_MAX bytes (asserted).
pub fn encode_record(payload: &[u8], out: &mut Vec<u8>) {
    let _ = (payload, out);
    todo!()
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
}

/// Reads and checks log file `name` of `kind` following FORMAT.md's table.
/// Does not modify the file.
pub fn read_log(storage: &dyn Storage, name: &str, kind: LogKind) -> Result<LogContents> {
    let _ = (storage, name, kind);
    todo!()
}
