//! The OPFS worker's Rust half. The worker script (`js/opfs.js`) opens the
//! store, then hands every call the page's proxy sends to `opfsServe`,
//! which runs it by the operations table (`ops`), and asks `opfsReserve`
//! for room before each batch of calls that may write. Snapshots and
//! iterators the page holds live in the store's registries (`Local`),
//! under the ids the page knows them by.

use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;

use crate::engine::Engine;
use crate::handles::{snapshot_to_js, NEXT_BATCH_DEFAULT};
use crate::js::args;
use crate::js::codec::key_bytes;
use crate::js::error::{code, invalid_argument, JsFailure};
use crate::local::Local;
use crate::ops::{batch_weight, Op};
use crate::promise::{call, promise, rejected};
use crate::store::Store;

#[wasm_bindgen]
impl Store {
    /// Runs call `op(...args)` sent by the page's proxy.
    #[wasm_bindgen(js_name = opfsServe, skip_typescript)]
    pub fn opfs_serve(&self, op: &str, args: Array) -> Promise {
        let Some(op) = Op::named(op) else {
            return rejected(invalid_argument(format!("unknown OPFS worker call '{op}'")));
        };
        let arg = |i: u32| args.get(i);
        match op {
            Op::Open => rejected(invalid_argument("the store is already open")),
            Op::Get => self.get(arg(0), Some(arg(1))),
            Op::Range => self.range(Some(arg(0))),
            Op::Keys => self.keys(Some(arg(0))),
            Op::ExplainGet => self.explain_get(arg(0)),
            Op::InspectTable => self.inspect_table(arg(0)),
            Op::Stats => self.stats(),
            Op::Space => self.space(),
            Op::Health => self.health(),
            Op::Events => self.events(Some(arg(0)), Some(arg(1))),
            Op::Put => self.put(arg(0), arg(1)),
            Op::Delete => self.delete(arg(0)),
            Op::BatchPut => self.batch_put(arg(0)),
            Op::Batch => self.batch(arg(0)),
            Op::Flush => self.flush(),
            Op::Compact => self.compact(),
            Op::CompactRange => self.compact_range(Some(arg(0)), Some(arg(1))),
            Op::CompactStep => self.compact_step(),
            Op::Close => self.close(),
            Op::DebugCrash => self.debug_crash(),
            Op::Snapshot
            | Op::Iterator
            | Op::IteratorNext
            | Op::IteratorSeek
            | Op::ReleaseSnapshot
            | Op::IteratorClose => match &self.engine {
                Engine::Local(local) => serve_handle(local, op, &args),
                Engine::Remote(_) => rejected(invalid_argument("an OPFS worker serves a store opened in it")),
            },
        }
    }

    /// Before the worker starts a batch of calls (`{ op, weight }`, as the
    /// page sent them): `undefined` if the store's file pool has room for
    /// everything the batch may write, else a promise that resolves once it
    /// has.
    #[wasm_bindgen(js_name = opfsReserve, skip_typescript)]
    pub fn opfs_reserve(&self, calls: Array) -> JsValue {
        let (Engine::Local(local), Some(weight)) = (&self.engine, batch_weight(&calls)) else {
            return JsValue::UNDEFINED;
        };
        local.reserve(weight).map(JsValue::from).unwrap_or(JsValue::UNDEFINED)
    }
}

/// The calls of the page's snapshots and iterators, on the worker's store.
fn serve_handle(local: &std::rc::Rc<Local>, op: Op, args: &Array) -> Promise {
    let id = args.get(0).as_f64().map(|id| id as u32).unwrap_or(0);
    let local = local.clone();
    match op {
        Op::Snapshot => promise(async move { local.snapshot().map(|(id, seq)| snapshot_to_js(id, seq)) }),
        Op::Iterator => {
            let parsed = args::range(&args.get(0), local.encoding(), |s| local.find_snapshot(s));
            call(parsed, move |range| async move { Ok(local.open_iterator(&range)?.into()) })
        }
        Op::IteratorNext => {
            let parsed = args::optional_count(&args.get(1), "count", NEXT_BATCH_DEFAULT);
            call(parsed, move |count| async move { local.iterator_next(id, count) })
        }
        Op::IteratorSeek => {
            let parsed = key_bytes(&args.get(1), "key");
            call(parsed, move |key| async move { local.iterator_seek(id, &key).map(|()| JsValue::UNDEFINED) })
        }
        Op::ReleaseSnapshot => {
            local.release_snapshot(id);
            Promise::resolve(&JsValue::UNDEFINED)
        }
        Op::IteratorClose => {
            local.close_iterator(id);
            Promise::resolve(&JsValue::UNDEFINED)
        }
        _ => rejected(JsFailure::new(code::INVALID_ARGUMENT, format!("'{}' is not a handle call", op.name()))),
    }
}
