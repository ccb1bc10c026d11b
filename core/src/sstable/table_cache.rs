//! `TableCache`: the open tables by number, and the block cache they
//! share. A table is opened (and its index and filter verified) once, on
//! first use, and stays open until its file is removed.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;

use super::{BlockCache, Table};
use crate::error::Result;
use crate::filename;
use crate::storage::Storage;
use crate::sync::RwLock;
use crate::version::TableMeta;

/// Open tables by number, and the block cache they share. Tables stay open
/// until their file is removed. Every get looks tables up here, from every
/// reader thread: a read lock, so readers never wait for each other.
pub struct TableCache {
    pub storage: Arc<dyn Storage>,
    pub blocks: Arc<BlockCache>,
    open: RwLock<BTreeMap<u64, Arc<Table>>>,
}

impl TableCache {
    /// Tables read from `storage`, their blocks cached as `BlockCache::with_partitions` says.
    pub fn new(storage: Arc<dyn Storage>, block_cache_bytes: usize, partition_cache_bytes: usize) -> Self {
        let blocks = Arc::new(BlockCache::with_partitions(block_cache_bytes, partition_cache_bytes));
        TableCache { storage, blocks, open: RwLock::new(BTreeMap::new()) }
    }

    /// The open table for `meta`, opening (and verifying) it on first use.
    pub fn get(&self, meta: &TableMeta) -> Result<Arc<Table>> {
        if let Some(table) = self.open.read().get(&meta.number) {
            return Ok(table.clone());
        }
        let name = filename::table_name(meta.number);
        let table = Arc::new(Table::open(&*self.storage, &name, meta.number, meta.file_size)?);
        self.open.write().insert(meta.number, table.clone());
        Ok(table)
    }

    /// How many tables are open, and the bytes they hold outside the block cache.
    pub fn memory(&self) -> (usize, usize) {
        let open = self.open.read();
        (open.len(), open.values().map(|table| table.memory_bytes()).sum())
    }

    /// Forgets a table whose file is being removed, and its cached blocks.
    pub fn evict(&self, number: u64) {
        self.open.write().remove(&number);
        self.blocks.forget_table(number);
    }
}
