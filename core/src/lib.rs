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

// Every module is private: the crate's surface is the `pub use` list below,
// `storage` (the trait and its backends), `report` (serde views) and, behind
// features, `testing` and the fuzz entry points.
mod batch;
mod coding;
mod compaction;
mod db;
mod error;
mod event;
mod filename;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzz;
mod iterator;
mod key;
mod manifest;
mod memtable;
mod options;
mod record;
#[cfg(feature = "serde")]
pub mod report;
mod sstable;
mod stats;
pub mod storage;
mod sync;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod tests;
mod version;
mod wal;

pub use batch::{BatchOp, WriteBatch};
pub use db::{Db, DbIterator, GetTrace, Probe, RangeOptions, Snapshot};
pub use error::{Error, IoKind, Result};
pub use event::{CompactionReason, CompactionReport, Event, EventKind, EventPage, FlushReport};
pub use key::ValueKind;
pub use options::{
    Compression, Durability, Footprint, Options, COMPACTION_THREADS_MAX, KEY_SIZE_LIMIT, LEVELS, VALUE_SIZE_LIMIT,
};
pub use sstable::{BlockSummary, FilterSummary, InspectedEntry, TableInspection};
pub use stats::{Health, HealthStatus, LevelStats, SpaceStats, Stats, TableSummary};
#[cfg(feature = "std")]
pub use storage::FsStorage;
pub use storage::{MemStorage, Storage};

/// Compiles the README's Rust example as a doctest, so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
