//! lsmkv: a log-structured merge-tree key-value store.
//!
//! The engine is `no_std` + `alloc` and runs over a pluggable [`Storage`]:
//! [`MemStorage`] everywhere, [`FsStorage`] with the `std` feature (default),
//! and browser backends in the `lsmkv-wasm` crate. See `FORMAT.md` for every
//! byte it stores.

#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod batch;
mod coding;
pub mod compaction;
mod db;
pub mod error;
pub mod event;
pub mod filename;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzz;
pub mod iterator;
pub mod key;
pub mod manifest;
pub mod memtable;
pub mod options;
pub mod record;
#[cfg(feature = "serde")]
pub mod report;
pub mod sstable;
pub mod stats;
pub mod storage;
mod sync;
pub mod testing;
pub mod version;
pub mod wal;

pub use batch::{BatchOp, WriteBatch};
pub use db::{Db, DbIterator, GetTrace, Probe, RangeOptions, Snapshot};
pub use error::{Error, IoKind, Result};
pub use event::{CompactionReason, CompactionReport, Event, EventKind, EventPage, FlushReport};
pub use key::ValueKind;
pub use options::{Durability, Options};
pub use stats::{Health, HealthStatus, LevelStats, SpaceStats, Stats, TableSummary};
#[cfg(feature = "std")]
pub use storage::FsStorage;
pub use storage::{MemStorage, Storage};

/// Compiles the README's Rust example as a doctest, so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
