//! Handles that live beside a store: snapshots and iterators.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Promise;
use lsmkv::DbIterator;
use wasm_bindgen::prelude::*;

use crate::args;
use crate::codec::{key_bytes, KeyEncoding};
use crate::error::{code, JsFailure};
use crate::store::{promise, rejected, Inner};

/// Entries `next()` returns unless asked otherwise.
const NEXT_BATCH_DEFAULT: u64 = 100;

/// A consistent read view of a store. Pass it as `{ snapshot }` to `get`,
/// `range`, `keys` or `iterator`; `release()` it when done.
#[wasm_bindgen(js_name = Snapshot)]
pub struct StoreSnapshot {
    inner: Rc<Inner>,
    id: u32,
    seq: u64,
}

impl StoreSnapshot {
    pub(crate) fn new(inner: Rc<Inner>, id: u32, seq: u64) -> Self {
        StoreSnapshot { inner, id, seq }
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
        self.inner.release_snapshot(self.id);
    }
}

/// A cursor over a range. Read with `next(n)` until it returns `[]`.
#[wasm_bindgen]
pub struct StoreIterator {
    inner: Rc<Inner>,
    iterator: Rc<RefCell<Option<DbIterator>>>,
    encoding: KeyEncoding,
}

impl StoreIterator {
    pub(crate) fn new(inner: Rc<Inner>, iterator: DbIterator, encoding: KeyEncoding) -> Self {
        StoreIterator { inner, iterator: Rc::new(RefCell::new(Some(iterator))), encoding }
    }
}

fn closed_iterator() -> JsFailure {
    JsFailure::new(code::CLOSED, "iterator is closed")
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
        let (inner, iterator, encoding) = (self.inner.clone(), self.iterator.clone(), self.encoding);
        promise(async move {
            inner.readable()?;
            let mut slot = iterator.borrow_mut();
            let iterator = slot.as_mut().ok_or_else(closed_iterator)?;
            let entries = iterator.take(usize::try_from(count).unwrap_or(usize::MAX)).collect::<lsmkv::Result<Vec<_>>>()?;
            crate::codec::entries_to_js(&entries, encoding)
        })
    }

    /// Moves to the first key ≥ `key` (≤ `key` when reverse), within the range.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn seek(&self, #[wasm_bindgen(unchecked_param_type = "Key")] key: JsValue) -> Promise {
        let key = match key_bytes(&key, "key") {
            Ok(key) => key,
            Err(failure) => return rejected(failure),
        };
        let (inner, iterator) = (self.inner.clone(), self.iterator.clone());
        promise(async move {
            inner.readable()?;
            let mut slot = iterator.borrow_mut();
            slot.as_mut().ok_or_else(closed_iterator)?.seek(&key)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Releases the iterator's resources. Idempotent.
    pub fn close(&self) {
        self.iterator.borrow_mut().take();
    }
}
