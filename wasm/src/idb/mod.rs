//! The IndexedDB backend: the engine's files held in memory and persisted
//! to IndexedDB as journaled chunks (`journal`, platform-independent and
//! tested natively), the IndexedDB half that commits them (`backend`), and
//! the detection of a database the browser deleted (`wipe`).

pub mod journal;

#[cfg(target_arch = "wasm32")]
mod backend;
#[cfg(target_arch = "wasm32")]
pub mod wipe;

#[cfg(target_arch = "wasm32")]
pub use backend::{check_available, database_name, destroy, Counters, Fault, IdbBackend};
