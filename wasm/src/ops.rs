//! The one table of a store's operations: every `Store` method, and every
//! call a snapshot or iterator makes, by its JS name, with what it does to
//! the store's files. The facade names its calls by it; the page's OPFS
//! proxy sends them by it; the worker hands each call it receives back to
//! Rust (`worker.rs`), which looks it up here to run it and to reserve room
//! for the batch it belongs to (`batch_weight`).
//!
//! What a write adds (`Weight`) is measured from its arguments as the store
//! converted them (`Weigh`): the page measures a call when it checks its
//! arguments and sends the measure with the call. How many files and bytes
//! a weight may need is the engine's to say (`lsmkv::Options::footprint`,
//! through `opfs::Call`), never this crate's.

use js_sys::Array;
use lsmkv::WriteBatch;
use wasm_bindgen::prelude::*;

use crate::js::args::field;

/// What a call does, as far as running it in a worker goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Reads the store.
    Read,
    /// Adds entries: its batch gets room for its `Weight` before it starts.
    Write,
    /// Flushes or compacts: adds nothing, may rewrite every table
    /// (`Weight::MAINTENANCE`).
    Maintain,
    /// Opens the store (the worker's first call).
    Open,
    /// Makes or reads a snapshot or iterator the worker holds for the page.
    Handle,
    /// Drops such a handle; the page does not wait for the reply.
    Release,
    /// Ends the store (`close`, `debugCrash`); the page then stops the worker.
    End,
}

macro_rules! table {
    ($($op:ident $name:literal $kind:ident,)*) => {
        /// A store operation.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Op { $($op,)* }

        impl Op {
            /// Its JS name: the `Store` (or handle) method, the message's `op`.
            pub fn name(self) -> &'static str {
                match self { $(Op::$op => $name,)* }
            }
            pub fn kind(self) -> Kind {
                match self { $(Op::$op => Kind::$kind,)* }
            }
            /// The operation called `name`.
            pub fn named(name: &str) -> Option<Op> {
                match name { $($name => Some(Op::$op),)* _ => None }
            }
        }
    };
}

table! {
    Open "open" Open,
    Get "get" Read,
    Range "range" Read,
    Keys "keys" Read,
    ExplainGet "explainGet" Read,
    InspectTable "inspectTable" Read,
    Stats "stats" Read,
    Space "space" Read,
    Health "health" Read,
    Events "events" Read,
    Put "put" Write,
    Delete "delete" Write,
    BatchPut "batchPut" Write,
    Batch "batch" Write,
    Flush "flush" Maintain,
    Compact "compact" Maintain,
    CompactRange "compactRange" Maintain,
    CompactStep "compactStep" Maintain,
    Snapshot "snapshot" Handle,
    Iterator "iterator" Handle,
    IteratorNext "iteratorNext" Handle,
    IteratorSeek "iteratorSeek" Handle,
    ReleaseSnapshot "releaseSnapshot" Release,
    IteratorClose "iteratorClose" Release,
    Close "close" End,
    DebugCrash "debugCrash" End,
}

/// What a writing call adds to the store: the entries and the key and value
/// bytes the engine's footprint is computed from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Weight {
    pub entries: usize,
    pub bytes: usize,
}

impl Weight {
    /// A flush or compaction, counted as one entry of no bytes: room for
    /// flushing the memtable and every compaction that may follow.
    pub const MAINTENANCE: Weight = Weight { entries: 1, bytes: 0 };

    fn plus(self, other: Weight) -> Weight {
        Weight { entries: self.entries + other.entries, bytes: self.bytes + other.bytes }
    }

    /// `[entries, bytes]`, as a call carries it to the worker.
    pub fn to_js(self) -> JsValue {
        Array::of2(&(self.entries as f64).into(), &(self.bytes as f64).into()).into()
    }

    fn from_js(value: &JsValue) -> Weight {
        let number = |i: u32| Array::from(value).get(i).as_f64().unwrap_or(0.0) as usize;
        Weight { entries: number(0), bytes: number(1) }
    }
}

/// The weight of a write's arguments, as the store converted them.
pub trait Weigh {
    fn weight(&self) -> Weight;
}

/// `put(key, value)`.
impl Weigh for (Vec<u8>, Vec<u8>) {
    fn weight(&self) -> Weight {
        Weight { entries: 1, bytes: self.0.len() + self.1.len() }
    }
}

/// `delete(key)`.
impl Weigh for Vec<u8> {
    fn weight(&self) -> Weight {
        Weight { entries: 1, bytes: self.len() }
    }
}

/// `batchPut` and `batch`.
impl Weigh for WriteBatch {
    fn weight(&self) -> Weight {
        Weight { entries: self.len(), bytes: self.user_bytes() as usize }
    }
}

/// What a batch of calls (`{ op, weight }` objects, as the page sent them)
/// may write, or `None` if no call in it writes.
pub fn batch_weight(calls: &Array) -> Option<Weight> {
    let mut total: Option<Weight> = None;
    for call in calls.iter() {
        let op = field(&call, "op").and_then(|op| op.as_string()).and_then(|op| Op::named(&op));
        let weight = match op.map(Op::kind) {
            Some(Kind::Write) => field(&call, "weight").map(|w| Weight::from_js(&w)).unwrap_or_default(),
            Some(Kind::Maintain) => Weight::MAINTENANCE,
            _ => continue,
        };
        total = Some(total.unwrap_or_default().plus(weight));
    }
    total
}
