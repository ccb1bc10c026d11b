//! Handles that live beside a store: snapshots and iterators.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Promise;
use lsmkv::DbIterator;
use wasm_bindgen::prelude::*;

use crate::args;
use crate::codec::{key_bytes, KeyEncoding};
use crate::error::{code, JsFailure};
use crate::remote::RemoteStore;
use crate::store::{promise, rejected, Inner};

/// Entries `next()` returns unless asked otherwise.
const NEXT_BATCH_DEFAULT: u64 = 100;

/// A consistent read view of a store. Pass it as `{ snapshot }` to `get`,
/// `range`, `keys` or `iterator`; `release()` it when done.
#[wasm_bindgen(js_name = Snapshot)]
pub struct StoreSnapshot {
    owner: Owner,
    id: u32,
    seq: u64,
}

/// The store a handle belongs to: here, or in a worker (OPFS from a page).
enum Owner {
    Local(Rc<Inner>),
    Remote(Rc<RemoteStore>),
}

impl StoreSnapshot {
    pub(crate) fn new(inner: Rc<Inner>, id: u32, seq: u64) -> Self {
        StoreSnapshot { owner: Owner::Local(inner), id, seq }
    }

    pub(crate) fn remote(remote: Rc<RemoteStore>, id: u32, seq: u64) -> Self {
        StoreSnapshot { owner: Owner::Remote(remote), id, seq }
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
        match &self.owner {
            Owner::Local(inner) => inner.release_snapshot(self.id),
            Owner::Remote(remote) => remote.release_snapshot(self.id),
        }
    }
}

/// A cursor over a range. Read with `next(n)` until it returns `[]`.
#[wasm_bindgen]
pub struct StoreIterator {
    cursor: Cursor,
}

enum Cursor {
    Local {
        inner: Rc<Inner>,
        iterator: Rc<RefCell<Option<DbIterator>>>,
        encoding: KeyEncoding,
    },
    /// An iterator held by the worker, by its id there.
    Remote {
        remote: Rc<RemoteStore>,
        id: u32,
        closed: std::cell::Cell<bool>,
    },
}

impl StoreIterator {
    pub(crate) fn new(inner: Rc<Inner>, iterator: DbIterator, encoding: KeyEncoding) -> Self {
        StoreIterator { cursor: Cursor::Local { inner, iterator: Rc::new(RefCell::new(Some(iterator))), encoding } }
    }

    pub(crate) fn remote(remote: Rc<RemoteStore>, id: u32) -> Self {
        StoreIterator { cursor: Cursor::Remote { remote, id, closed: std::cell::Cell::new(false) } }
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
        let (inner, iterator, encoding) = match &self.cursor {
            Cursor::Local { inner, iterator, encoding } => (inner.clone(), iterator.clone(), *encoding),
            Cursor::Remote { closed, .. } if closed.get() => return rejected(closed_iterator()),
            Cursor::Remote { remote, id, .. } => {
                return remote.call("iteratorNext", &[JsValue::from(*id), JsValue::from(count as f64)])
            }
        };
        promise(async move {
            inner.readable()?;
            let mut slot = iterator.borrow_mut();
            let iterator = slot.as_mut().ok_or_else(closed_iterator)?;
            let entries =
                iterator.take(usize::try_from(count).unwrap_or(usize::MAX)).collect::<lsmkv::Result<Vec<_>>>()?;
            crate::codec::entries_to_js(&entries, encoding)
        })
    }

    /// Moves to the first key ≥ `key` (≤ `key` when reverse), within the range.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn seek(&self, #[wasm_bindgen(unchecked_param_type = "Key")] key: JsValue) -> Promise {
        let key_js = key.clone();
        let key = match key_bytes(&key, "key") {
            Ok(key) => key,
            Err(failure) => return rejected(failure),
        };
        let (inner, iterator) = match &self.cursor {
            Cursor::Local { inner, iterator, .. } => (inner.clone(), iterator.clone()),
            Cursor::Remote { closed, .. } if closed.get() => return rejected(closed_iterator()),
            Cursor::Remote { remote, id, .. } => return remote.call("iteratorSeek", &[JsValue::from(*id), key_js]),
        };
        promise(async move {
            inner.readable()?;
            let mut slot = iterator.borrow_mut();
            slot.as_mut().ok_or_else(closed_iterator)?.seek(&key)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Releases the iterator's resources. Idempotent.
    pub fn close(&self) {
        match &self.cursor {
            Cursor::Local { iterator, .. } => drop(iterator.borrow_mut().take()),
            Cursor::Remote { remote, id, closed } => {
                if !closed.replace(true) {
                    remote.close_iterator(*id);
                }
            }
        }
    }
}
