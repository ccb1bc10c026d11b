//! `CountingStorage`: the host's storage, counting every byte the engine
//! appends through it (the numerator of write amplification).

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use super::Storage;
use crate::error::Result;

/// The host's storage, counting every byte the engine appends.
pub(crate) struct CountingStorage {
    inner: Arc<dyn Storage>,
    appended: AtomicU64,
}

impl CountingStorage {
    pub fn new(inner: Arc<dyn Storage>) -> Self {
        CountingStorage { inner, appended: AtomicU64::new(0) }
    }

    pub fn bytes_appended(&self) -> u64 {
        self.appended.load(Ordering::Relaxed)
    }
}

impl Storage for CountingStorage {
    fn create(&self, name: &str) -> Result<()> {
        self.inner.create(name)
    }
    fn create_log(&self, name: &str) -> Result<()> {
        self.inner.create_log(name)
    }
    fn append(&self, name: &str, data: &[u8]) -> Result<()> {
        self.inner.append(name, data)?;
        self.appended.fetch_add(data.len() as u64, Ordering::Relaxed);
        Ok(())
    }
    fn read_at(&self, name: &str, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.inner.read_at(name, offset, buf)
    }
    fn len(&self, name: &str) -> Result<u64> {
        self.inner.len(name)
    }
    fn sync(&self, name: &str) -> Result<()> {
        self.inner.sync(name)
    }
    fn truncate(&self, name: &str, len: u64) -> Result<()> {
        self.inner.truncate(name, len)
    }
    fn rename(&self, from: &str, to: &str) -> Result<()> {
        self.inner.rename(from, to)
    }
    fn remove(&self, name: &str) -> Result<()> {
        self.inner.remove(name)
    }
    fn list(&self) -> Result<Vec<String>> {
        self.inner.list()
    }
    fn read_vec(&self, name: &str, offset: u64, len: usize) -> Result<Vec<u8>> {
        self.inner.read_vec(name, offset, len)
    }
    fn read_all(&self, name: &str) -> Result<Vec<u8>> {
        self.inner.read_all(name)
    }
    fn exists(&self, name: &str) -> Result<bool> {
        self.inner.exists(name)
    }
}
