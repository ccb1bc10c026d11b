//! Handles that live beside a store: snapshots and iterators. Both are an
//! id in their engine's registry (`Local`'s, here or in the OPFS worker),
//! so a handle is the same two fields whichever `Engine` holds it.

use std::cell::Cell;

use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::*;

use crate::engine::Engine;
use crate::js::args;
use crate::js::codec::key_bytes;
use crate::js::error::JsResult;
use crate::local::closed_iterator;
use crate::ops::Op;
use crate::promise::{call, promise, rejected};

/// Entries `next()` returns unless asked otherwise.
pub const NEXT_BATCH_DEFAULT: u64 = 100;

/// A consistent read view of a store. Pass it as `{ snapshot }` to `get`,
/// `range`, `keys` or `iterator`; `release()` it when done.
#[wasm_bindgen(js_name = Snapshot)]
pub struct StoreSnapshot {
    engine: Engine,
    id: u32,
    seq: u64,
}

/// `{ id, seq }`: a snapshot as the OPFS worker sends it to the page.
pub fn snapshot_to_js(id: u32, seq: u64) -> JsValue {
    let object = Object::new();
    let _ = Reflect::set(&object, &"id".into(), &id.into());
    let _ = Reflect::set(&object, &"seq".into(), &(seq as f64).into());
    object.into()
}

impl StoreSnapshot {
    /// Takes a snapshot of the engine here (`snapshotSync`, `snapshot`).
    pub fn take(engine: &Engine) -> JsResult<StoreSnapshot> {
        let Engine::Local(local) = engine else {
            unreachable!("a remote store's snapshot is taken by `StoreSnapshot::open`")
        };
        let (id, seq) = local.snapshot()?;
        Ok(StoreSnapshot { engine: engine.clone(), id, seq })
    }

    /// `Store.snapshot()`: a promise of a snapshot, wherever the engine runs.
    pub fn open(engine: &Engine) -> Promise {
        let engine = engine.clone();
        promise(async move {
            let Engine::Remote(remote) = &engine else {
                return Ok(StoreSnapshot::take(&engine)?.into());
            };
            let handle = remote.request(Op::Snapshot, &[]).await?;
            let number = |name: &str| args::field(&handle, name).and_then(|v| v.as_f64()).unwrap_or(0.0);
            let (id, seq) = (number("id") as u32, number("seq") as u64);
            remote.add_snapshot(id);
            Ok(StoreSnapshot { engine: engine.clone(), id, seq }.into())
        })
    }
}

#[wasm_bindgen(js_class = Snapshot)]
impl StoreSnapshot {
    /// Opaque handle number (how the store finds this snapshot).
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The sequence number the snapshot reads at.
    #[wasm_bindgen(getter)]
    pub fn seq(&self) -> f64 {
        self.seq as f64
    }

    /// Lets the store drop the versions this snapshot pins. Idempotent.
    pub fn release(&self) {
        match &self.engine {
            Engine::Local(local) => local.release_snapshot(self.id),
            Engine::Remote(remote) => remote.release_snapshot(self.id),
        }
    }
}

/// A cursor over a range. Read with `next(n)` until it returns `[]`.
#[wasm_bindgen]
pub struct StoreIterator {
    engine: Engine,
    id: u32,
    closed: Cell<bool>,
}

impl StoreIterator {
    /// `Store.iterator(options)`: a promise of an iterator over the range.
    pub fn open(engine: &Engine, options: &JsValue) -> Promise {
        let engine = engine.clone();
        match &engine {
            Engine::Local(local) => {
                let parsed = args::range(options, local.encoding(), |s| local.find_snapshot(s));
                let local = local.clone();
                call(parsed, move |range| async move {
                    let id = local.open_iterator(&range)?;
                    Ok(StoreIterator { engine, id, closed: Cell::new(false) }.into())
                })
            }
            Engine::Remote(remote) => {
                let parsed = remote.range_options(options);
                let remote = remote.clone();
                call(parsed, move |options| async move {
                    let id = remote.request(Op::Iterator, &[options]).await?;
                    let id = id.as_f64().unwrap_or(0.0) as u32;
                    Ok(StoreIterator { engine, id, closed: Cell::new(false) }.into())
                })
            }
        }
    }
}

#[wasm_bindgen]
impl StoreIterator {
    /// Up to `count` (default 100) more `[key, value]` pairs; `[]` at the end.
    #[wasm_bindgen(unchecked_return_type = "Promise<Array<[Key, Value]>>")]
    pub fn next(&self, #[wasm_bindgen(unchecked_optional_param_type = "number")] count: Option<JsValue>) -> Promise {
        let count = match args::optional_count(&count.unwrap_or(JsValue::UNDEFINED), "count", NEXT_BATCH_DEFAULT) {
            Ok(count) => count,
            Err(failure) => return rejected(failure),
        };
        match &self.engine {
            Engine::Local(local) => {
                let (local, id) = (local.clone(), self.id);
                promise(async move { local.iterator_next(id, count) })
            }
            Engine::Remote(_) if self.closed.get() => rejected(closed_iterator()),
            Engine::Remote(remote) => {
                remote.call(Op::IteratorNext, &[JsValue::from(self.id), JsValue::from(count as f64)])
            }
        }
    }

    /// Moves to the first key ≥ `key` (≤ `key` when reverse), within the range.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn seek(&self, #[wasm_bindgen(unchecked_param_type = "Key")] key: JsValue) -> Promise {
        let bytes = match key_bytes(&key, "key") {
            Ok(bytes) => bytes,
            Err(failure) => return rejected(failure),
        };
        match &self.engine {
            Engine::Local(local) => {
                let (local, id) = (local.clone(), self.id);
                promise(async move { local.iterator_seek(id, &bytes).map(|()| JsValue::UNDEFINED) })
            }
            Engine::Remote(_) if self.closed.get() => rejected(closed_iterator()),
            Engine::Remote(remote) => remote.call(Op::IteratorSeek, &[JsValue::from(self.id), key]),
        }
    }

    /// Releases the iterator's resources. Idempotent.
    pub fn close(&self) {
        if self.closed.replace(true) {
            return;
        }
        match &self.engine {
            Engine::Local(local) => local.close_iterator(self.id),
            Engine::Remote(remote) => remote.close_iterator(self.id),
        }
    }
}

impl Drop for StoreIterator {
    /// A local iterator freed without `close()` lets go of the engine's
    /// iterator too (as it did when the handle owned it).
    fn drop(&mut self) {
        if let Engine::Local(local) = &self.engine {
            local.close_iterator(self.id);
        }
    }
}
