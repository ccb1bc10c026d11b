//! One physical slot file, as the pool sees it.

use lsmkv::IoKind;

/// A failed physical I/O call: its kind (quota, lock, ...) and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IoFailure {
    pub kind: IoKind,
    pub message: String,
}

impl IoFailure {
    pub fn new(kind: IoKind, message: impl Into<String>) -> Self {
        IoFailure { kind, message: message.into() }
    }
}

pub type IoResult<T> = std::result::Result<T, IoFailure>;

/// One physical file with synchronous positioned I/O: an OPFS
/// `FileSystemSyncAccessHandle` in the browser, a simulated file in tests.
pub trait SlotFile {
    fn size(&self) -> IoResult<u64>;
    /// Reads up to `buf.len()` bytes at `at`; returns how many were read.
    fn read(&self, at: u64, buf: &mut [u8]) -> IoResult<usize>;
    /// Writes `data` at `at` (extending the file if needed); returns how
    /// many bytes were written.
    fn write(&self, at: u64, data: &[u8]) -> IoResult<usize>;
    /// Sets the size (shrinking or zero-extending).
    fn truncate(&self, size: u64) -> IoResult<()>;
    /// Makes every earlier write and truncate of this file durable.
    fn flush(&self) -> IoResult<()>;
}
