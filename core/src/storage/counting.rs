//! `CountingStorage`: the host's storage, counting every byte the engine
//! appends through it (the numerator of write amplification).

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use super::hooked::{Change, Hook, Hooked};
use super::Storage;

/// The host's storage, counting every byte the engine appends.
pub(crate) type CountingStorage = Hooked<Arc<dyn Storage>, AppendCounter>;

impl CountingStorage {
    pub fn counting(inner: Arc<dyn Storage>) -> Self {
        Hooked::new(inner, AppendCounter::default())
    }

    pub fn bytes_appended(&self) -> u64 {
        self.hook.0.load(Ordering::Relaxed)
    }
}

/// Adds up the bytes of every append that succeeded.
#[derive(Default)]
pub(crate) struct AppendCounter(AtomicU64);

impl Hook for AppendCounter {
    fn after(&self, change: &Change<'_>) {
        if let Change::Append(_, data) = change {
            self.0.fetch_add(data.len() as u64, Ordering::Relaxed);
        }
    }
}
