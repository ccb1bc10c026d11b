//! `PreadStorage`: `FsStorage` with its tables read by `pread` into a
//! buffer instead of out of a memory map (`--lsmkv-table-reads pread`).
//! lsmkv maps its tables, so every table page a workload touches counts in
//! the process's VmHWM; this is the other design, measured side by side.
//! Everything but table reads goes to the wrapped `FsStorage` unchanged.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use lsmkv::{Error, FsStorage, IoKind, Result, Storage};

pub struct PreadStorage {
    inner: FsStorage,
    dir: PathBuf,
    /// Table files opened for reading, by name (dropped on rename and remove).
    tables: RwLock<HashMap<String, Arc<File>>>,
}

impl PreadStorage {
    pub fn new(inner: FsStorage, dir: PathBuf) -> Self {
        PreadStorage { inner, dir, tables: RwLock::new(HashMap::new()) }
    }

    fn is_table(name: &str) -> bool {
        name.ends_with(".sst")
    }

    fn table(&self, name: &str) -> Result<Arc<File>> {
        if let Some(file) = self.tables.read().unwrap_or_else(|e| e.into_inner()).get(name) {
            return Ok(file.clone());
        }
        let file = File::open(self.dir.join(name)).map_err(|e| Error::io(IoKind::Other, name, e.to_string()))?;
        let file = Arc::new(file);
        self.tables.write().unwrap_or_else(|e| e.into_inner()).insert(name.to_string(), file.clone());
        Ok(file)
    }

    fn forget(&self, name: &str) {
        self.tables.write().unwrap_or_else(|e| e.into_inner()).remove(name);
    }
}

impl Storage for PreadStorage {
    fn create(&self, name: &str) -> Result<()> {
        self.inner.create(name)
    }
    fn create_log(&self, name: &str) -> Result<()> {
        self.inner.create_log(name)
    }
    fn append(&self, name: &str, data: &[u8]) -> Result<()> {
        self.inner.append(name, data)
    }
    fn read_at(&self, name: &str, offset: u64, buf: &mut [u8]) -> Result<()> {
        if !Self::is_table(name) {
            return self.inner.read_at(name, offset, buf);
        }
        // A table is only read once written whole; a short file is corrupt.
        self.table(name)?.read_exact_at(buf, offset).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => Error::corruption(name, offset, "read past end of file"),
            _ => Error::io(IoKind::Other, name, e.to_string()),
        })
    }
    fn len(&self, name: &str) -> Result<u64> {
        self.inner.len(name)
    }
    fn sync(&self, name: &str) -> Result<()> {
        self.inner.sync(name)
    }
    fn truncate(&self, name: &str, len: u64) -> Result<()> {
        self.forget(name);
        self.inner.truncate(name, len)
    }
    fn rename(&self, from: &str, to: &str) -> Result<()> {
        self.forget(from);
        self.forget(to);
        self.inner.rename(from, to)
    }
    fn remove(&self, name: &str) -> Result<()> {
        self.forget(name);
        self.inner.remove(name)
    }
    fn list(&self) -> Result<Vec<String>> {
        self.inner.list()
    }
    fn read_vec(&self, name: &str, offset: u64, len: usize) -> Result<Vec<u8>> {
        if !Self::is_table(name) {
            return self.inner.read_vec(name, offset, len);
        }
        let mut buf = vec![0u8; len];
        self.read_at(name, offset, &mut buf)?;
        Ok(buf)
    }
    fn read_with(&self, name: &str, offset: u64, len: usize, f: &mut dyn FnMut(&[u8])) -> Result<()> {
        if !Self::is_table(name) {
            return self.inner.read_with(name, offset, len, f);
        }
        f(&self.read_vec(name, offset, len)?);
        Ok(())
    }
    fn exists(&self, name: &str) -> Result<bool> {
        self.inner.exists(name)
    }
}
