//! lsmkv-wasm: the browser (and Node) face of lsmkv.
//!
//! A thin layer, in wings named for what they are (each depends only on
//! the ones listed before it; nothing imports back up the list):
//!
//! - `js/`: JS values in and out of Rust: keys and values (`codec`), call
//!   arguments (`args`), `Store.open` options (`options`), the core's
//!   reports (`report`), TypeScript shapes (`types`), coded errors (`error`).
//! - `promise`: futures and call-time failures as JS promises.
//! - `locks`: Web Locks, one writer per store.
//!
//! The few browser calls simpler in JS than through web-sys are in one
//! snippet, `js/browser.js`, which each module binds as it needs.
//! - `ops`: the one table of a store's operations (names, what they do to
//!   the files, how a write is weighed), used by the facade, the OPFS
//!   page proxy and the OPFS worker.
//! - `idb/`: the IndexedDB backend (`journal`: the in-memory files it
//!   persists; `backend`; `wipe`: detecting a database the browser deleted).
//! - `opfs/`: the OPFS backend (`slots`: the file pool; `backend`: the pool
//!   on sync access handles; `remote`: the page side of a store run in a
//!   worker), with its JS modules `js/opfs-files.js`, `js/opfs-proxy.js`
//!   and the worker, `js/opfs.js`.
//! - `local`: a store whose engine runs here (the engine, its backend,
//!   its snapshots and iterators; opening, writing, closing).
//! - `engine`: where a store's engine runs, `Local` or `Remote`, declared
//!   once for the store, its handles and `health`.
//! - `handles` (`Snapshot`, `StoreIterator`), `health`.
//! - `store`: the `Store` class, thin methods over the above.
//! - `worker`: the OPFS worker's Rust half, running the page's calls on a
//!   `Store`.
//!
//! Everything about the LSM itself, including how many files and bytes a
//! call may need (`lsmkv::Options::footprint`), is in the `lsmkv` crate.
//!
//! Only `idb::journal` and `opfs::slots` are platform-independent, and they
//! are tested natively; the rest needs a JS host and is tested in headless
//! Chromium and Node.

pub mod idb;
pub mod opfs;
// Native tests replay the fuzz seeds; the wasm32 test build has no
// `lsmkv/fuzzing` (its dev-dependencies are the browser's).
#[cfg(any(all(test, not(target_arch = "wasm32")), feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzz;

#[cfg(target_arch = "wasm32")]
mod engine;
#[cfg(target_arch = "wasm32")]
mod handles;
#[cfg(target_arch = "wasm32")]
mod health;
#[cfg(target_arch = "wasm32")]
pub mod js;
#[cfg(target_arch = "wasm32")]
mod local;
#[cfg(target_arch = "wasm32")]
mod locks;
#[cfg(target_arch = "wasm32")]
mod ops;
#[cfg(target_arch = "wasm32")]
mod promise;
#[cfg(target_arch = "wasm32")]
mod store;
#[cfg(target_arch = "wasm32")]
mod worker;

#[cfg(target_arch = "wasm32")]
pub use handles::{StoreIterator, StoreSnapshot};
#[cfg(target_arch = "wasm32")]
pub use store::Store;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen::prelude::*;

/// The package version.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen(js_name = version)]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// A panic is a bug in lsmkv, never how bad input is reported (inputs are
/// validated and rejected with coded errors). Should one happen anyway, say
/// so on the console with the Rust message instead of a bare
/// "unreachable executed".
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen(start)]
fn start() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("lsmkv-wasm internal error (a bug, please report): {info}").into());
    }));
}
