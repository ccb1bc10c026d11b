//! lsmkv-wasm: the browser (and Node) face of lsmkv.
//!
//! A thin layer: JS types in and out (`codec`, `args`, `options`, `report`),
//! errors with stable codes (`error`), the IndexedDB backend (`journal` +
//! `idb`, and `wipe` for detecting a database the browser deleted), the OPFS
//! backend (`slots` + `opfs`, run in a worker that `remote` talks to), and
//! the `Store` class (`store`, `handles`, `health`). Everything about the LSM
//! itself is in the `lsmkv` crate.
//!
//! Only `journal` (the in-memory files the IndexedDB backend persists) and
//! `slots` (the OPFS backend's file pool) are platform-independent, and they
//! are tested natively; the rest needs a JS host and is tested in headless
//! Chromium and Node.

pub mod journal;
pub mod slots;
// Native tests replay the fuzz seeds; the wasm32 test build has no
// `lsmkv/fuzzing` (its dev-dependencies are the browser's).
#[cfg(any(all(test, not(target_arch = "wasm32")), feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzz;

#[cfg(target_arch = "wasm32")]
mod args;
#[cfg(target_arch = "wasm32")]
pub mod codec;
#[cfg(target_arch = "wasm32")]
pub mod error;
#[cfg(target_arch = "wasm32")]
mod glue;
#[cfg(target_arch = "wasm32")]
mod handles;
#[cfg(target_arch = "wasm32")]
mod health;
#[cfg(target_arch = "wasm32")]
pub mod idb;
#[cfg(target_arch = "wasm32")]
pub mod opfs;
#[cfg(target_arch = "wasm32")]
pub mod options;
#[cfg(target_arch = "wasm32")]
mod remote;
#[cfg(target_arch = "wasm32")]
mod report;
#[cfg(target_arch = "wasm32")]
mod store;
#[cfg(target_arch = "wasm32")]
mod types;
#[cfg(target_arch = "wasm32")]
pub mod wipe;

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
