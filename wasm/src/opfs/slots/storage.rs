//! The slot pool as the engine's `Storage`.

use std::sync::Mutex;

use lsmkv::{Result, Storage};

use super::file::SlotFile;
use super::pool::Pool;

/// The pool as the engine's `Storage`. One lock around the pool: every
/// call is a few synchronous I/O calls.
pub struct PoolStorage<F> {
    pool: Mutex<Pool<F>>,
}

impl<F: SlotFile> PoolStorage<F> {
    pub fn new(pool: Pool<F>) -> Self {
        PoolStorage { pool: Mutex::new(pool) }
    }

    /// Runs `f` on the pool (for the backend: top-ups, counters, close).
    pub fn with<T>(&self, f: impl FnOnce(&mut Pool<F>) -> T) -> T {
        // A panic while holding the lock is a bug that aborts on wasm;
        // natively, keep going with the data as it is.
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut pool)
    }
}

impl<F: SlotFile + Send> Storage for PoolStorage<F> {
    fn create(&self, name: &str) -> Result<()> {
        self.with(|p| p.create(name))
    }
    fn append(&self, name: &str, data: &[u8]) -> Result<()> {
        self.with(|p| p.append(name, data))
    }
    fn read_at(&self, name: &str, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.with(|p| p.read_at(name, offset, buf))
    }
    fn len(&self, name: &str) -> Result<u64> {
        self.with(|p| p.len(name))
    }
    fn sync(&self, name: &str) -> Result<()> {
        self.with(|p| p.sync(name))
    }
    fn truncate(&self, name: &str, len: u64) -> Result<()> {
        self.with(|p| p.truncate(name, len))
    }
    fn rename(&self, from: &str, to: &str) -> Result<()> {
        self.with(|p| p.rename(from, to))
    }
    fn remove(&self, name: &str) -> Result<()> {
        self.with(|p| p.remove(name))
    }
    fn list(&self) -> Result<Vec<String>> {
        Ok(self.with(|p| p.list()))
    }
    fn exists(&self, name: &str) -> Result<bool> {
        Ok(self.with(|p| p.exists(name)))
    }
}
