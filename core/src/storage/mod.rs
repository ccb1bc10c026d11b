//! The storage the engine runs on: a flat namespace of files, each an
//! append-only byte string. The engine never touches a filesystem itself; it
//! calls this trait, so the same LSM runs on real files, in memory, on
//! IndexedDB and on OPFS.
//!
//! The trait is designed for the weakest backend: no random-offset writes,
//! no directories, no memory mapping. Every method states its contract; the
//! conformance suite (`lsmkv::testing::conformance`, feature `testing`)
//! checks each one and runs against every backend.
//!
//! Durability model (what the engine assumes, and what the crash tests
//! simulate): bytes given to `append` may be lost or torn (any prefix
//! survives) until `sync` of that file returns. `create`, `rename`, `remove`
//! and `truncate` are durable when they return (a filesystem backend syncs
//! the directory itself). A file made by `create_log` may in addition end in
//! zero bytes that were never appended (see there).

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::Result;

mod counting;
mod hooked;
mod mem;
pub(crate) use counting::CountingStorage;
pub use hooked::{Change, Hook, Hooked};
pub use mem::MemStorage;

#[cfg(feature = "std")]
mod fs;
#[cfg(feature = "std")]
pub use fs::FsStorage;

/// A flat namespace of append-only files. Names are ASCII with no `/`.
///
/// Implementations synchronise internally: every method takes `&self`, and
/// natively the engine may call them from several threads at once (for
/// example `sync` of the WAL while another thread appends to it).
pub trait Storage: Send + Sync {
    /// Creates an empty file. Fails with `IoKind::AlreadyExists` if the name
    /// is taken. Durable on return.
    fn create(&self, name: &str) -> Result<()>;

    /// Creates an empty file for a log: many small appends, each of which
    /// must survive the process being killed once `append` returns (only
    /// `sync` protects against a power loss). A backend may serve such
    /// appends from memory the operating system owns — `FsStorage` maps the
    /// file, so an append is a memory copy instead of a system call — and so
    /// the file may be longer than what was appended, padded with zero
    /// bytes, once the process is gone. Readers treat an all-zero tail as
    /// unused space. By default the same as `create`.
    fn create_log(&self, name: &str) -> Result<()> {
        self.create(name)
    }

    /// Appends bytes at the end of an existing file (`IoKind::NotFound`
    /// otherwise). Not durable until `sync`.
    fn append(&self, name: &str, data: &[u8]) -> Result<()>;

    /// Fills `buf` with the bytes at `offset..offset + buf.len()`. A range
    /// that runs past the end of the file is an `Error::Corruption` (the
    /// engine only reads what it knows was written).
    fn read_at(&self, name: &str, offset: u64, buf: &mut [u8]) -> Result<()>;

    /// The file's current length in bytes, including unsynced appends.
    fn len(&self, name: &str) -> Result<u64>;

    /// Makes every byte appended so far durable.
    fn sync(&self, name: &str) -> Result<()>;

    /// Shortens the file to `len` bytes (never lengthens it). Durable on return.
    fn truncate(&self, name: &str, len: u64) -> Result<()>;

    /// Renames `from` to `to`, atomically replacing `to` if it exists: after
    /// a crash at any instant, `to` holds either its old or its new content.
    /// Durable on return.
    fn rename(&self, from: &str, to: &str) -> Result<()>;

    /// Deletes a file (`IoKind::NotFound` if absent). Durable on return.
    fn remove(&self, name: &str) -> Result<()>;

    /// Every file name, in no particular order.
    fn list(&self) -> Result<Vec<String>>;

    /// The `len` bytes at `offset`, as a new vector (the same rules as
    /// `read_at`). A backend may override it to fill the vector without
    /// zeroing it first.
    fn read_vec(&self, name: &str, offset: u64, len: usize) -> Result<Vec<u8>> {
        let mut buf = alloc::vec![0u8; len];
        self.read_at(name, offset, &mut buf)?;
        Ok(buf)
    }

    /// Calls `f` with the `len` bytes at `offset` (the same rules as
    /// `read_at`). A backend holding the file in memory (a map, a vector)
    /// may lend `f` its own bytes: a compressed block then decompresses
    /// straight from them, with no copy first. `f` must not call back into
    /// the storage (a backend may hold a lock around it). By default,
    /// `read_vec`.
    fn read_with(&self, name: &str, offset: u64, len: usize, f: &mut dyn FnMut(&[u8])) -> Result<()> {
        f(&self.read_vec(name, offset, len)?);
        Ok(())
    }

    /// Reads a whole file. Provided for small files (CURRENT, manifests, WALs).
    fn read_all(&self, name: &str) -> Result<Vec<u8>> {
        let len = self.len(name)?;
        let len = usize::try_from(len)
            .map_err(|_| crate::Error::io(crate::IoKind::Other, name, "file too large for this platform"))?;
        let mut buf = alloc::vec![0u8; len];
        self.read_at(name, 0, &mut buf)?;
        Ok(buf)
    }

    /// True if a file of that name exists.
    fn exists(&self, name: &str) -> Result<bool> {
        Ok(self.list()?.iter().any(|n| n == name))
    }
}

/// Storage behind a pointer is storage too, so hosts can keep a handle to
/// the backend they gave the engine (tests do, to crash it).
macro_rules! forward_storage {
    ($($pointer:ident)::+) => {
        impl<S: Storage + ?Sized> Storage for $($pointer)::+<S> {
            fn create(&self, name: &str) -> Result<()> {
                (**self).create(name)
            }
            fn create_log(&self, name: &str) -> Result<()> {
                (**self).create_log(name)
            }
            fn append(&self, name: &str, data: &[u8]) -> Result<()> {
                (**self).append(name, data)
            }
            fn read_at(&self, name: &str, offset: u64, buf: &mut [u8]) -> Result<()> {
                (**self).read_at(name, offset, buf)
            }
            fn len(&self, name: &str) -> Result<u64> {
                (**self).len(name)
            }
            fn sync(&self, name: &str) -> Result<()> {
                (**self).sync(name)
            }
            fn truncate(&self, name: &str, len: u64) -> Result<()> {
                (**self).truncate(name, len)
            }
            fn rename(&self, from: &str, to: &str) -> Result<()> {
                (**self).rename(from, to)
            }
            fn remove(&self, name: &str) -> Result<()> {
                (**self).remove(name)
            }
            fn list(&self) -> Result<Vec<String>> {
                (**self).list()
            }
            fn read_vec(&self, name: &str, offset: u64, len: usize) -> Result<Vec<u8>> {
                (**self).read_vec(name, offset, len)
            }
            fn read_with(&self, name: &str, offset: u64, len: usize, f: &mut dyn FnMut(&[u8])) -> Result<()> {
                (**self).read_with(name, offset, len, f)
            }
            fn read_all(&self, name: &str) -> Result<Vec<u8>> {
                (**self).read_all(name)
            }
            fn exists(&self, name: &str) -> Result<bool> {
                (**self).exists(name)
            }
        }
    };
}

forward_storage!(alloc::sync::Arc);
forward_storage!(alloc::boxed::Box);
