//! Shared plumbing for the engine: storage that counts what the engine
//! writes (for write amplification), and the cache of open tables.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::error::Result;
use crate::filename;
use crate::sstable::{BlockCache, Table};
use crate::storage::Storage;
use crate::sync::Mutex;
use crate::version::TableMeta;

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

/// Open tables by number, and the block cache they share. Tables stay open
/// until their file is removed.
pub(crate) struct TableCache {
    pub storage: Arc<dyn Storage>,
    pub blocks: Arc<BlockCache>,
    open: Mutex<BTreeMap<u64, Arc<Table>>>,
}

impl TableCache {
    pub fn new(storage: Arc<dyn Storage>, block_cache_bytes: usize) -> Self {
        TableCache { storage, blocks: Arc::new(BlockCache::new(block_cache_bytes)), open: Mutex::new(BTreeMap::new()) }
    }

    /// The open table for `meta`, opening (and verifying) it on first use.
    pub fn get(&self, meta: &TableMeta) -> Result<Arc<Table>> {
        if let Some(table) = self.open.lock().get(&meta.number) {
            return Ok(table.clone());
        }
        let name = filename::table_name(meta.number);
        let table = Arc::new(Table::open(&*self.storage, &name, meta.number, meta.file_size)?);
        self.open.lock().insert(meta.number, table.clone());
        Ok(table)
    }

    /// Forgets a table whose file is being removed, and its cached blocks.
    pub fn evict(&self, number: u64) {
        self.open.lock().remove(&number);
        self.blocks.forget_table(number);
    }
}
