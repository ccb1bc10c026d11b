//! `FsStorage`: files in one directory of the real filesystem (feature `std`).
//!
//! Durability follows the trait's contract: `sync` is `fdatasync` of the file;
//! `create`, `rename`, `remove` and `truncate` also fsync the directory (or
//! the file) before returning, because a rename or a new name is durable only
//! once its directory entry is (the ALICE study's lesson). One process at a
//! time: `open` takes an exclusive lock on a `LOCK` file.
//!
//! Log files (`create_log`, the WAL) are appended through a shared memory
//! map of a preallocated file: an append is a memory copy into the kernel's
//! page cache — it survives the process being killed, like a `write(2)`, for
//! a fifth of the cost — and `fdatasync` writes the mapped pages back like
//! any others (Linux keeps one page cache for both). The file is trimmed to
//! what was appended when it is truncated, renamed, removed or the storage
//! is dropped; after a crash it may end in zeros, which log readers skip.
//! The preallocation reserves blocks (`posix_fallocate`), because a store
//! through a map into a hole of a full filesystem is SIGBUS, not an error:
//! a full disk fails the append that needs more room, with `QuotaExceeded`.
//! Other files are read through a read-only map, so a block read is a copy
//! out of the page cache rather than a `pread`. Safety of the maps rests on
//! the `LOCK` file: nothing else shrinks a file while it is mapped. What it
//! cannot stop: a process that ignores `LOCK` (or a user) truncating a table
//! or WAL file in place makes the next access to the lost pages fault
//! (SIGBUS) — the price of reading through maps; replacing a file by rename
//! or deleting it is harmless, since the map keeps the old inode.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::vec::Vec;

use memmap2::{Mmap, MmapMut};

use super::Storage;
use crate::error::{Error, IoKind, Result};
use crate::sync::{Mutex, RwLock};

/// The lock file's name. The engine ignores names it does not own.
pub const LOCK_FILE: &str = "LOCK";

/// A log file's first preallocation.
const LOG_PREALLOCATION_MIN: u64 = 1 << 20;
/// A log file grows by doubling, but by at most this much at a time.
const LOG_GROWTH_MAX: u64 = 8 << 20;
/// A file's writeback is started every this many appended bytes, so the
/// sync that ends it waits for about the last MiB, not for all of it: the
/// sync that closes a full WAL (in the writer's thread, when its memtable is
/// frozen; at 10M keys each fill's longest write, 20–50 ms for 64 MiB), and
/// the sync of each table a flush or compaction writes (under the tree lock,
/// which the next flush waits for: up to 64 MiB dirty per table).
const WRITEBACK_STEP: u64 = 1 << 20;

/// Real files in one directory.
pub struct FsStorage {
    dir: PathBuf,
    /// Open files, so appends and reads do not reopen the file each call.
    /// Every read looks its file up here, from every reader thread: a read lock.
    handles: RwLock<HashMap<String, Arc<OpenFile>>>,
    /// Holds the exclusive lock for as long as the storage lives.
    _lock: File,
}

struct OpenFile {
    file: File,
    /// Present for a log made by `create_log` in this session: its appends
    /// go through the map. (A log reopened later is only read.)
    log: Option<Mutex<MappedLog>>,
    /// A read-only map of the file, made by the first read: a read is then
    /// a copy out of the page cache instead of a `pread` system call.
    /// Remapped when a read reaches past it (the file grew).
    read_map: RwLock<Option<Arc<Mmap>>>,
    /// Bytes appended (not through a log's map) since writeback was last
    /// started (`WRITEBACK_STEP`).
    not_written_back: AtomicU64,
}

impl OpenFile {
    fn new(file: File, log: Option<Mutex<MappedLog>>) -> Self {
        OpenFile { file, log, read_map: RwLock::new(None), not_written_back: AtomicU64::new(0) }
    }

    /// Appends to a file that is not a mapped log, starting its writeback
    /// every `WRITEBACK_STEP` bytes (all of the file's dirty pages: the
    /// kernel skips the clean ones).
    fn append(&self, name: &str, data: &[u8]) -> Result<()> {
        (&self.file).write_all(data).map_err(|e| io_error(name, e))?;
        let pending = self.not_written_back.fetch_add(data.len() as u64, Ordering::Relaxed) + data.len() as u64;
        if pending >= WRITEBACK_STEP {
            self.not_written_back.store(0, Ordering::Relaxed);
            start_writeback(&self.file, 0, 0);
        }
        Ok(())
    }

    /// Copies `buf.len()` bytes at `offset` out of the read map. `Ok(false)`
    /// if the file is too short.
    fn read_mapped(&self, name: &str, offset: u64, buf: &mut [u8]) -> Result<bool> {
        let Some(map) = self.map_covering(name, offset, buf.len())? else { return Ok(false) };
        buf.copy_from_slice(&map[offset as usize..offset as usize + buf.len()]);
        Ok(true)
    }

    /// The read map, (re)made to reach `offset + len`; `None` if the file
    /// is too short.
    fn map_covering(&self, name: &str, offset: u64, len: usize) -> Result<Option<Arc<Mmap>>> {
        let Some(end) = offset.checked_add(len as u64) else { return Ok(None) };
        let covers = |map: &Option<Arc<Mmap>>| map.as_ref().is_some_and(|map| map.len() as u64 >= end);
        // Every read of a table comes here; only the first (and one past
        // a growth) remaps, so readers share a read lock.
        {
            let slot = self.read_map.read();
            if covers(&slot) {
                return Ok(slot.clone());
            }
        }
        let mut slot = self.read_map.write();
        if !covers(&slot) {
            let file_len = self.file.metadata().map_err(|e| io_error(name, e))?.len();
            if file_len < end {
                return Ok(None);
            }
            // SAFETY: the file is ours alone (the directory's LOCK) and is
            // never shrunk while this map lives: `truncate`, `rename` and
            // `remove` drop the open file (and its map) first.
            let map = unsafe { Mmap::map(&self.file) }.map_err(|e| io_error(name, e))?;
            *slot = Some(Arc::new(map));
        }
        Ok(slot.clone())
    }
}

/// The appendable end of a log file: a map over the preallocated file.
struct MappedLog {
    map: Option<MmapMut>,
    /// Bytes appended: the file's length as the engine sees it.
    len: u64,
    /// Bytes the file (and the map) currently span.
    capacity: u64,
    /// Bytes whose writeback has been started (`start_writeback`).
    written_back: u64,
}

impl MappedLog {
    fn append(&mut self, file: &File, name: &str, data: &[u8]) -> Result<()> {
        let end = self.len + data.len() as u64;
        if end > self.capacity || self.map.is_none() {
            self.grow(file, name, end)?;
        }
        let map = self.map.as_mut().expect("grow maps the file");
        map[self.len as usize..end as usize].copy_from_slice(data);
        self.len = end;
        if self.len - self.written_back >= WRITEBACK_STEP {
            start_writeback(file, self.written_back, self.len - self.written_back);
            self.written_back = self.len;
        }
        Ok(())
    }

    /// Extends the file to hold at least `needed` bytes, with its blocks
    /// reserved, and maps it. When the disk cannot hold the usual growth it
    /// tries exactly `needed`; when it cannot hold that either, the append
    /// fails with `QuotaExceeded` and nothing was written.
    fn grow(&mut self, file: &File, name: &str, needed: u64) -> Result<()> {
        let doubled = self.capacity.saturating_mul(2).min(self.capacity + LOG_GROWTH_MAX);
        let wanted = needed.max(doubled).max(LOG_PREALLOCATION_MIN);
        self.map = None;
        let capacity = match reserve(file, wanted) {
            Ok(()) => wanted,
            Err(_) if wanted > needed => {
                reserve(file, needed).map_err(|e| io_error(name, e))?;
                needed
            }
            Err(e) => return Err(io_error(name, e)),
        };
        // SAFETY: the file is ours alone (the directory's LOCK), it is not
        // shrunk while mapped (trim unmaps first), and every access stays
        // within `capacity`, the length it was just given. Its blocks are
        // allocated (`reserve`), so a store into the map cannot meet a full
        // disk. Another process that ignores the LOCK and truncates the file
        // can still make a store fault: the remaining risk (FORMAT.md).
        let map = unsafe { MmapMut::map_mut(file) }.map_err(|e| io_error(name, e))?;
        self.map = Some(map);
        self.capacity = capacity;
        Ok(())
    }

    /// Unmaps and cuts the file back to what was appended.
    fn trim(&mut self, file: &File, name: &str) -> Result<()> {
        self.map = None;
        if self.capacity != self.len {
            file.set_len(self.len).map_err(|e| io_error(name, e))?;
            self.capacity = self.len;
        }
        Ok(())
    }
}

/// Asks the kernel to start writing `len` bytes at `offset` to disk (`len`
/// 0: to the end of the file), without waiting (Linux's `sync_file_range`
/// with only `SYNC_FILE_RANGE_WRITE`).
/// Only a head start for the next sync: it promises nothing, so its result
/// is ignored — an I/O error it meets is reported by that sync (the kernel
/// keeps it for the next `fdatasync`; this call neither waits nor checks).
fn start_writeback(file: &File, offset: u64, len: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let (Ok(offset), Ok(len)) = (libc::off64_t::try_from(offset), libc::off64_t::try_from(len)) else { return };
        // SAFETY: a plain system call on a descriptor this `File` owns.
        let _ = unsafe { libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, offset, len);
}

/// Makes `file` at least `len` bytes long with every block allocated, so
/// later stores into a map of it cannot fail for want of space.
fn reserve(file: &File, len: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let Ok(off_len) = libc::off_t::try_from(len) else {
        return Err(io::Error::from(io::ErrorKind::FileTooLarge));
    };
    // SAFETY: a plain system call on a descriptor this `File` owns.
    let errno = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, off_len) };
    match errno {
        0 => Ok(()),
        // A filesystem without fallocate (glibc emulates it, musl does not):
        // write the zeros ourselves, which allocates the blocks just as well.
        libc::EOPNOTSUPP | libc::EINVAL => write_zeros(file, len),
        errno => Err(io::Error::from_raw_os_error(errno)),
    }
}

/// Writes zeros from the file's end up to `len`.
fn write_zeros(file: &File, len: u64) -> io::Result<()> {
    const CHUNK: usize = 64 << 10;
    let zeros = [0u8; CHUNK];
    let mut at = file.metadata()?.len();
    while at < len {
        let n = CHUNK.min((len - at) as usize);
        file.write_all_at(&zeros[..n], at)?;
        at += n as u64;
    }
    Ok(())
}

impl FsStorage {
    /// Opens (creating if needed) a directory as storage and locks it. A
    /// second opener, in this process or another, gets `IoKind::Locked`.
    pub fn open(dir: impl AsRef<Path>) -> Result<FsStorage> {
        let dir = dir.as_ref().to_path_buf();
        let dir_name = dir.display().to_string();
        fs::create_dir_all(&dir).map_err(|e| io_error(&dir_name, e))?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(LOCK_FILE))
            .map_err(|e| io_error(LOCK_FILE, e))?;
        lock.try_lock()
            .map_err(|_| Error::io(IoKind::Locked, &dir_name, "another process or handle has this directory open"))?;
        Ok(FsStorage { dir, handles: RwLock::new(HashMap::new()), _lock: lock })
    }

    /// The directory this storage lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str) -> Result<PathBuf> {
        if name.is_empty() || name.contains('/') || name.contains('\\') || name == "." || name == ".." {
            return Err(Error::invalid_argument(std::format!("bad file name {name:?}")));
        }
        Ok(self.dir.join(name))
    }

    /// The open file `name`, opening it (read + append) if needed.
    fn handle(&self, name: &str) -> Result<Arc<OpenFile>> {
        if let Some(open) = self.handles.read().get(name) {
            return Ok(open.clone());
        }
        let file = OpenOptions::new().read(true).append(true).open(self.path(name)?).map_err(|e| io_error(name, e))?;
        let open = Arc::new(OpenFile::new(file, None));
        self.handles.write().insert(name.to_string(), open.clone());
        Ok(open)
    }

    /// Forgets an open file, first trimming a log to what was appended.
    fn forget(&self, name: &str) -> Result<()> {
        let open = self.handles.write().remove(name);
        match open {
            Some(open) => trim(&open, name),
            None => Ok(()),
        }
    }

    fn sync_dir(&self) -> Result<()> {
        File::open(&self.dir).and_then(|d| d.sync_all()).map_err(|e| io_error(&self.dir.display().to_string(), e))
    }

    fn create_file(&self, name: &str, log: bool) -> Result<()> {
        let mut options = OpenOptions::new();
        options.read(true).create_new(true);
        // A mapped log needs a read-write descriptor; others append.
        if log {
            options.write(true);
        } else {
            options.append(true);
        }
        let file = options.open(self.path(name)?).map_err(|e| io_error(name, e))?;
        let log = log.then(|| Mutex::new(MappedLog { map: None, len: 0, capacity: 0, written_back: 0 }));
        self.handles.write().insert(name.to_string(), Arc::new(OpenFile::new(file, log)));
        self.sync_dir()
    }
}

fn trim(open: &OpenFile, name: &str) -> Result<()> {
    match &open.log {
        Some(log) => log.lock().trim(&open.file, name),
        None => Ok(()),
    }
}

impl Drop for FsStorage {
    fn drop(&mut self) {
        // Best effort: a log left untrimmed only ends in zeros, which readers skip.
        for (name, open) in self.handles.read().iter() {
            let _ = trim(open, name);
        }
    }
}

fn io_error(file: &str, e: io::Error) -> Error {
    let kind = match e.kind() {
        io::ErrorKind::NotFound => IoKind::NotFound,
        io::ErrorKind::AlreadyExists => IoKind::AlreadyExists,
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => IoKind::QuotaExceeded,
        _ => IoKind::Other,
    };
    Error::io(kind, file, e.to_string())
}

impl Storage for FsStorage {
    fn create(&self, name: &str) -> Result<()> {
        self.create_file(name, false)
    }

    fn create_log(&self, name: &str) -> Result<()> {
        self.create_file(name, true)
    }

    fn append(&self, name: &str, data: &[u8]) -> Result<()> {
        let open = self.handle(name)?;
        match &open.log {
            Some(log) => log.lock().append(&open.file, name, data),
            None => open.append(name, data),
        }
    }

    fn read_at(&self, name: &str, offset: u64, buf: &mut [u8]) -> Result<()> {
        let open = self.handle(name)?;
        let past_end = || Error::corruption(name, offset, "read past end of file");
        if let Some(log) = &open.log {
            // The mapped file is longer than the log; never read the padding.
            let end = offset.checked_add(buf.len() as u64).ok_or_else(past_end)?;
            if end > log.lock().len {
                return Err(past_end());
            }
            return open.file.read_exact_at(buf, offset).map_err(|e| io_error(name, e));
        }
        if open.read_mapped(name, offset, buf)? {
            Ok(())
        } else {
            Err(past_end())
        }
    }

    fn read_vec(&self, name: &str, offset: u64, len: usize) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.read_with(name, offset, len, &mut |bytes| out = bytes.to_vec())?;
        Ok(out)
    }

    fn read_with(&self, name: &str, offset: u64, len: usize, f: &mut dyn FnMut(&[u8])) -> Result<()> {
        let open = self.handle(name)?;
        if open.log.is_some() {
            let mut buf = std::vec![0u8; len];
            self.read_at(name, offset, &mut buf)?;
            f(&buf);
            return Ok(());
        }
        // Lent straight from the map: no copy at all (`read_vec` copies once,
        // without zeroing first).
        let map = open.map_covering(name, offset, len)?;
        let map = map.ok_or_else(|| Error::corruption(name, offset, "read past end of file"))?;
        f(&map[offset as usize..offset as usize + len]);
        Ok(())
    }

    fn len(&self, name: &str) -> Result<u64> {
        let open = self.handle(name)?;
        match &open.log {
            Some(log) => Ok(log.lock().len),
            None => Ok(open.file.metadata().map_err(|e| io_error(name, e))?.len()),
        }
    }

    fn sync(&self, name: &str) -> Result<()> {
        // fdatasync also writes back pages dirtied through a map.
        self.handle(name)?.file.sync_data().map_err(|e| io_error(name, e))
    }

    fn truncate(&self, name: &str, len: u64) -> Result<()> {
        let open = self.handle(name)?;
        trim(&open, name)?;
        *open.read_map.write() = None;
        let current = match &open.log {
            Some(log) => log.lock().len,
            None => open.file.metadata().map_err(|e| io_error(name, e))?.len(),
        };
        if len < current {
            open.file.set_len(len).map_err(|e| io_error(name, e))?;
            if let Some(log) = &open.log {
                let mut log = log.lock();
                log.len = len;
                log.capacity = len;
                log.written_back = log.written_back.min(len);
            }
        }
        open.file.sync_all().map_err(|e| io_error(name, e))
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        let (from_path, to_path) = (self.path(from)?, self.path(to)?);
        self.forget(from)?;
        self.forget(to)?;
        fs::rename(from_path, to_path).map_err(|e| io_error(from, e))?;
        self.sync_dir()
    }

    fn remove(&self, name: &str) -> Result<()> {
        let path = self.path(name)?;
        // A log about to go need not be trimmed first.
        self.handles.write().remove(name);
        fs::remove_file(path).map_err(|e| io_error(name, e))?;
        self.sync_dir()
    }

    fn list(&self) -> Result<Vec<String>> {
        let dir_name = self.dir.display().to_string();
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(|e| io_error(&dir_name, e))? {
            let entry = entry.map_err(|e| io_error(&dir_name, e))?;
            if entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
                if let Ok(name) = entry.file_name().into_string() {
                    names.push(name);
                }
            }
        }
        Ok(names)
    }

    fn exists(&self, name: &str) -> Result<bool> {
        Ok(self.path(name)?.is_file())
    }
}
