//! `MemStorage`: files held in memory. no_std; used by tests, by the browser's
//! memory backend, and as the model the other backends are checked against.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::Storage;
use crate::error::{Error, IoKind, Result};
use crate::sync::Mutex;

/// Files in memory. Everything is "durable" as long as the value lives; wrap
/// it in a crash-simulating storage to test durability.
#[derive(Default)]
pub struct MemStorage {
    files: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemStorage {
    pub fn new() -> Self {
        Self::default()
    }

    /// Total bytes held across all files.
    pub fn total_bytes(&self) -> u64 {
        self.files.lock().values().map(|f| f.len() as u64).sum()
    }

    /// Runs `f` on the bytes of a file (tests use it to flip bits).
    pub fn with_file_mut<R>(&self, name: &str, f: impl FnOnce(&mut Vec<u8>) -> R) -> Result<R> {
        let mut files = self.files.lock();
        let file = files.get_mut(name).ok_or_else(|| not_found(name))?;
        Ok(f(file))
    }
}

fn not_found(name: &str) -> Error {
    Error::io(IoKind::NotFound, name, "no such file")
}

/// The `len` bytes at `offset` of `file`, if it holds them all.
fn within(file: &[u8], name: &str, offset: u64, len: usize) -> Result<core::ops::Range<usize>> {
    usize::try_from(offset)
        .ok()
        .and_then(|start| Some(start..start.checked_add(len)?))
        .filter(|range| range.end <= file.len())
        .ok_or_else(|| Error::corruption(name, offset, "read past end of file"))
}

impl Storage for MemStorage {
    fn create(&self, name: &str) -> Result<()> {
        let mut files = self.files.lock();
        if files.contains_key(name) {
            return Err(Error::io(IoKind::AlreadyExists, name, "file exists"));
        }
        files.insert(name.to_string(), Vec::new());
        Ok(())
    }

    fn append(&self, name: &str, data: &[u8]) -> Result<()> {
        let mut files = self.files.lock();
        files.get_mut(name).ok_or_else(|| not_found(name))?.extend_from_slice(data);
        Ok(())
    }

    fn read_at(&self, name: &str, offset: u64, buf: &mut [u8]) -> Result<()> {
        let files = self.files.lock();
        let file = files.get(name).ok_or_else(|| not_found(name))?;
        buf.copy_from_slice(&file[within(file, name, offset, buf.len())?]);
        Ok(())
    }

    fn read_with(&self, name: &str, offset: u64, len: usize, f: &mut dyn FnMut(&[u8])) -> Result<()> {
        let files = self.files.lock();
        let file = files.get(name).ok_or_else(|| not_found(name))?;
        f(&file[within(file, name, offset, len)?]);
        Ok(())
    }

    fn len(&self, name: &str) -> Result<u64> {
        let files = self.files.lock();
        Ok(files.get(name).ok_or_else(|| not_found(name))?.len() as u64)
    }

    fn sync(&self, name: &str) -> Result<()> {
        if self.files.lock().contains_key(name) {
            Ok(())
        } else {
            Err(not_found(name))
        }
    }

    fn truncate(&self, name: &str, len: u64) -> Result<()> {
        let mut files = self.files.lock();
        let file = files.get_mut(name).ok_or_else(|| not_found(name))?;
        if len < file.len() as u64 {
            file.truncate(len as usize);
        }
        Ok(())
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        let mut files = self.files.lock();
        let data = files.remove(from).ok_or_else(|| not_found(from))?;
        files.insert(to.to_string(), data);
        Ok(())
    }

    fn remove(&self, name: &str) -> Result<()> {
        self.files.lock().remove(name).map(|_| ()).ok_or_else(|| not_found(name))
    }

    fn list(&self) -> Result<Vec<String>> {
        Ok(self.files.lock().keys().cloned().collect())
    }

    fn read_all(&self, name: &str) -> Result<Vec<u8>> {
        self.files.lock().get(name).cloned().ok_or_else(|| not_found(name))
    }

    fn exists(&self, name: &str) -> Result<bool> {
        Ok(self.files.lock().contains_key(name))
    }
}
