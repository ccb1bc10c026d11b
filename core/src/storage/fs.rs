//! `FsStorage`: files in one directory of the real filesystem (feature `std`).
//!
//! Durability follows the trait's contract: `sync` is `fdatasync` of the file;
//! `create`, `rename`, `remove` and `truncate` also fsync the directory (or
//! the file) before returning, because a rename or a new name is durable only
//! once its directory entry is (the ALICE study's lesson). One process at a
//! time: `open` takes an exclusive lock on a `LOCK` file.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::sync::Arc;
use std::vec::Vec;

use super::Storage;
use crate::error::{Error, IoKind, Result};
use crate::sync::Mutex;

/// The lock file's name. The engine ignores names it does not own.
pub const LOCK_FILE: &str = "LOCK";

/// Real files in one directory.
pub struct FsStorage {
    dir: PathBuf,
    /// Open handles, so appends and reads do not reopen the file each call.
    handles: Mutex<HashMap<String, Arc<File>>>,
    /// Holds the exclusive lock for as long as the storage lives.
    _lock: File,
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
        lock.try_lock().map_err(|_| {
            Error::io(IoKind::Locked, &dir_name, "another process or handle has this directory open")
        })?;
        Ok(FsStorage { dir, handles: Mutex::new(HashMap::new()), _lock: lock })
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

    /// The cached handle for `name`, opening it (read + append) if needed.
    fn handle(&self, name: &str) -> Result<Arc<File>> {
        if let Some(file) = self.handles.lock().get(name) {
            return Ok(file.clone());
        }
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(self.path(name)?)
            .map_err(|e| io_error(name, e))?;
        let file = Arc::new(file);
        self.handles.lock().insert(name.to_string(), file.clone());
        Ok(file)
    }

    fn forget(&self, name: &str) {
        self.handles.lock().remove(name);
    }

    fn sync_dir(&self) -> Result<()> {
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error(&self.dir.display().to_string(), e))
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
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .open(self.path(name)?)
            .map_err(|e| io_error(name, e))?;
        self.handles.lock().insert(name.to_string(), Arc::new(file));
        self.sync_dir()
    }

    fn append(&self, name: &str, data: &[u8]) -> Result<()> {
        let file = self.handle(name)?;
        (&*file).write_all(data).map_err(|e| io_error(name, e))
    }

    fn read_at(&self, name: &str, offset: u64, buf: &mut [u8]) -> Result<()> {
        let file = self.handle(name)?;
        file.read_exact_at(buf, offset).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => Error::corruption(name, offset, "read past end of file"),
            _ => io_error(name, e),
        })
    }

    fn len(&self, name: &str) -> Result<u64> {
        let file = self.handle(name)?;
        Ok(file.metadata().map_err(|e| io_error(name, e))?.len())
    }

    fn sync(&self, name: &str) -> Result<()> {
        self.handle(name)?.sync_data().map_err(|e| io_error(name, e))
    }

    fn truncate(&self, name: &str, len: u64) -> Result<()> {
        let file = self.handle(name)?;
        let current = file.metadata().map_err(|e| io_error(name, e))?.len();
        if len < current {
            file.set_len(len).map_err(|e| io_error(name, e))?;
            file.sync_all().map_err(|e| io_error(name, e))?;
        }
        Ok(())
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        let (from_path, to_path) = (self.path(from)?, self.path(to)?);
        self.forget(from);
        self.forget(to);
        fs::rename(from_path, to_path).map_err(|e| io_error(from, e))?;
        self.sync_dir()
    }

    fn remove(&self, name: &str) -> Result<()> {
        let path = self.path(name)?;
        self.forget(name);
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
