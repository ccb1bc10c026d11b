//! The backend conformance suite: one set of checks of the `Storage`
//! contract, run against every backend (natively for memory and files, in
//! headless Chromium for IndexedDB and OPFS).
//!
//! STUB: being implemented.

use crate::storage::Storage;

/// Runs every check against a fresh, empty storage. Panics with a message
/// naming the broken rule on the first failure.
pub fn run_all(storage: &dyn Storage) {
    let _ = storage;
}
