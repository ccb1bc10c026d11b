//! The OPFS backend's file layer, independent of the browser: the core's
//! `Storage` trait over a *pool of slot files*, each a physical file with a
//! small checksummed header naming the logical file it holds.
//!
//! Why a pool: in a worker, OPFS gives synchronous reads, writes, truncates
//! and flushes (`FileSystemSyncAccessHandle`), but creating, opening,
//! deleting and listing files are asynchronous, and there is no rename at
//! all. The engine calls `Storage` synchronously, so every name-level
//! operation must happen inside files that are already open. The backend
//! keeps a pool of open slot files with spare free slots (topped up
//! asynchronously between calls, see `backend.rs`), and this module maps the
//! engine's flat namespace onto them. (SQLite's `opfs-sahpool` VFS makes the
//! same choice for the same reason.)
//!
//! # Slot file layout
//!
//! A 4 KiB header of two checksummed copies, then the logical file's bytes:
//! `slots/header.rs` has it byte by byte.
//!
//! # Operations, and what a crash at any instant leaves
//!
//! Every header update writes the copy that is *not* the slot's current
//! state, so a torn header write (a power loss mid-write) fails its CRC and
//! the previous state stands. "flush" is `FileSystemSyncAccessHandle.flush()`
//! (fsync of that one file); the order below is what makes each operation
//! atomic. A browser kill (the crash the browser tests inflict) loses nothing
//! a write call returned; a power loss may lose unflushed writes and tear the
//! last one.
//!
//! - **create(name)**: take a free slot (durably empty), write header
//!   `{name, in use, g}`, flush. Crash: the slot is free, or `name` exists
//!   empty.
//! - **append**: kept in memory (up to `APPEND_BUFFER_MAX` bytes per file),
//!   then written at `4096 + len` by the next `sync`, read, truncate, rename
//!   or a full buffer — so a group of WAL records costs one `write` call, not
//!   one each. Not durable until `sync` (the engine's contract).
//! - **sync**: write the buffered appends, flush.
//! - **truncate**: truncate to `4096 + len`, flush.
//! - **remove(name)**: write header `{free, g}`, flush, then truncate to
//!   4096, flush. Crash after the first flush: the slot is free with stale
//!   data, which load truncates before the slot is reused.
//! - **rename(from, to)**: flush `from`'s slot (its data), write its header
//!   `{to, in use, g}`, flush; `from` is gone and `to` is the new content in
//!   one header write. Then, if `to` existed, free its old slot as in
//!   `remove`. Crash between the two: two slots say `to`; the newer
//!   generation (the renamed one) wins at load and the old one is freed. So
//!   `to` holds its old or its new content, never a mix, and `from` and
//!   `to` are never both missing.
//!
//! The engine's only rename is `CURRENT.tmp` → `CURRENT` (the manifest
//! switch), but the design is general and the conformance suite checks it.

mod file;
mod header;
mod pool;
mod storage;

pub use file::{IoFailure, IoResult, SlotFile};
#[cfg(test)]
use header::crc32;
pub use header::{decode_header, encode_header, Copy, Header, HEADER_SIZE, NAME_MAX, SLOT_FORMAT_VERSION};
pub use pool::{Pool, PoolCounters, APPEND_BUFFER_MAX};
pub use storage::PoolStorage;

/// A store's directory name in OPFS: the store name with every byte outside
/// `[A-Za-z0-9_-]` percent-encoded (so `.`, `/` and `\` never appear), and
/// names that would encode longer than 200 bytes cut to 150 plus `~` and a
/// hash of the whole name.
pub fn directory_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    if out.len() > 200 {
        // FNV-1a: stable across versions, enough to keep long names apart.
        let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
        let mut cut = 150;
        // Never split a "%XX" (the text is ASCII, so any index is a boundary).
        if out.as_bytes()[cut - 1] == b'%' {
            cut -= 1;
        } else if out.as_bytes()[cut - 2] == b'%' {
            cut -= 2;
        }
        out.truncate(cut);
        out.push_str(&format!("~{hash:016x}"));
    }
    out
}

#[cfg(test)]
mod tests;
