//! The OPFS backend: the engine's files as slots of a pool of OPFS files
//! (`slots`, platform-independent and tested natively), the pool over real
//! `FileSystemSyncAccessHandle`s in a dedicated worker (`backend`), and the
//! page side of a store running in such a worker (`remote`).
//!
//! Three JS modules go with it (wasm-bindgen snippets, shipped next to the
//! glue): `js/opfs-files.js`, the asynchronous OPFS calls `backend` awaits;
//! `js/opfs-proxy.js`, the page's proxy to a worker, which `remote` drives;
//! and `js/opfs.js`, the worker itself.

pub mod slots;

#[cfg(target_arch = "wasm32")]
mod backend;
#[cfg(target_arch = "wasm32")]
pub(crate) mod remote;

#[cfg(target_arch = "wasm32")]
pub use backend::{
    check_sync_capable, destroy, lsmkv_opfs_sync_capable, BackendCounters, Call, JsOpfsHealth, OpfsBackend, OpfsFile,
    ROOT,
};
