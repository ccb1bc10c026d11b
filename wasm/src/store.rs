//! `Store`: the JS class, and nothing else. Each method turns its JS
//! arguments into bytes (copied at call time, so a caller reusing its
//! `Uint8Array` cannot change a pending write), then either runs the engine
//! here (`local`: synchronously, and for anything that changed storage
//! awaiting the backend's `persist()` before resolving) or, for an OPFS
//! store opened from a page, sends the call to its worker
//! (`opfs::remote`), each call named by the operations table (`ops`).

use std::rc::Rc;

use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;

use crate::engine::Engine;
use crate::handles::{StoreIterator, StoreSnapshot};
use crate::idb::Fault;
use crate::js::args::{self, store_name, RangeArgs};
use crate::js::codec::{encode_value, key_bytes, key_to_js, KeyEncoding};
use crate::js::error::{invalid_argument, JsResult};
use crate::js::options::{destroy_backend, BackendKind, StoreConfig};
use crate::js::report;
use crate::local::{self, Backend};
use crate::opfs::{self, remote::Remote};
use crate::ops::{Op, Weigh};
use crate::promise::{call, promise};

/// Events returned by one `events()` call unless asked otherwise.
const EVENTS_PAGE_DEFAULT: u64 = 1000;

/// An open lsmkv store.
#[wasm_bindgen]
pub struct Store {
    pub(crate) engine: Engine,
}

/// The local engine, or (for a store whose engine runs in a worker) returns
/// `op` forwarded there: `forward` for a call, `forward_write` for a write,
/// which goes with its weight.
macro_rules! local_or {
    ($self:ident, $forward:ident($op:expr, $parsed:expr, [$($arg:expr),*])) => {
        match &$self.engine {
            Engine::Local(local) => local.clone(),
            Engine::Remote(remote) => return remote.$forward($op, &$parsed, &[$($arg),*]),
        }
    };
}

impl Store {
    /// A range read (`range`, `keys`): the options parsed now, `read` run on
    /// the local engine, or the call forwarded as `op`.
    fn ranged(
        &self,
        op: Op,
        options: Option<JsValue>,
        read: impl FnOnce(&local::Local, RangeArgs) -> JsResult<JsValue> + 'static,
    ) -> Promise {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        let local = match &self.engine {
            Engine::Local(local) => local.clone(),
            Engine::Remote(remote) => return remote.range(op, &options),
        };
        let parsed = args::range(&options, local.encoding(), |s| local.find_snapshot(s));
        call(parsed, move |range| async move { read(&local, range) })
    }

    /// A maintenance call without arguments (`flush`, `compact`,
    /// `compactStep`): `run` on the local engine and its report's JS `view`,
    /// or the call forwarded as `op`.
    fn maintenance<T: 'static>(
        &self,
        op: Op,
        run: fn(&lsmkv::Db) -> lsmkv::Result<T>,
        view: fn(&T, KeyEncoding) -> JsResult<JsValue>,
    ) -> Promise {
        let local = local_or!(self, forward(op, Ok(()), []));
        promise(async move {
            let done = local.maintain(run).await?;
            view(&done, local.encoding())
        })
    }
}

/// Opens the store `config` describes, here or in a worker.
async fn open(name: String, options: JsValue, config: StoreConfig, glue: Option<String>) -> JsResult<Store> {
    let engine = match config.backend {
        BackendKind::Opfs if !opfs::lsmkv_opfs_sync_capable() => {
            let glue = config.glue_url.clone().or(glue);
            Engine::Remote(Rc::new(Remote::open(&name, &options, glue, config.key_encoding).await?))
        }
        _ => Engine::Local(Rc::new(local::open(name, config).await?)),
    };
    Ok(Store { engine })
}

#[wasm_bindgen]
impl Store {
    /// Opens (creating if needed) the store called `name`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Store>")]
    pub fn open(
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "StoreOptions")] options: Option<JsValue>,
    ) -> Promise {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        let parsed = store_name(&name).and_then(|name| Ok((name, StoreConfig::from_js(&options)?)));
        call(parsed, move |(name, config)| {
            // Read now, while the glue module that called in is on the stack.
            let glue = match config.backend {
                BackendKind::Opfs if config.glue_url.is_none() && !opfs::lsmkv_opfs_sync_capable() => {
                    opfs::remote::lsmkv_glue_url()
                }
                _ => None,
            };
            async move { Ok(open(name, options, config, glue).await?.into()) }
        })
    }

    /// Deletes store `name` and all its data: the IndexedDB store by
    /// default, the OPFS one with `{ backend: 'opfs' }`. Fails with
    /// `LSMKV_LOCKED` while any tab or worker has it open.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn destroy(
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "DestroyOptions")] options: Option<JsValue>,
    ) -> Promise {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        let parsed = store_name(&name).and_then(|name| Ok((name, destroy_backend(&options)?)));
        call(parsed, |(name, backend)| async move { local::destroy(&name, backend).await.map(|()| JsValue::UNDEFINED) })
    }

    /// The store's name.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.engine.name().to_string()
    }

    /// `'indexeddb'`, `'opfs'` or `'memory'`.
    #[wasm_bindgen(getter, unchecked_return_type = "Backend")]
    pub fn backend(&self) -> String {
        self.engine.backend().into()
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn put(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Key")] key: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Value")] value: JsValue,
    ) -> Promise {
        let parsed = key_bytes(&key, "key").and_then(|k| Ok((k, encode_value(&value)?)));
        let local = local_or!(self, forward_write(Op::Put, parsed, [key, value]));
        call(parsed, move |put| async move {
            local.write(put.weight(), |db| db.put(&put.0, &put.1)).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The value stored under `key`, or `undefined`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Value | undefined>")]
    pub fn get(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Key")] key: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "GetOptions")] options: Option<JsValue>,
    ) -> Promise {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        let local = match &self.engine {
            Engine::Local(local) => local.clone(),
            Engine::Remote(remote) => return remote.get(&key, &options),
        };
        let parsed =
            key_bytes(&key, "key").and_then(|k| Ok((k, args::get_options(&options, |s| local.find_snapshot(s))?)));
        call(parsed, move |(key, snapshot)| async move { local.get_value(&key, snapshot.as_ref()) })
    }

    /// `get` without a promise, for code that cannot wait: the value stored
    /// under `key`, or `undefined`; a failure is thrown (an `LsmkvError`).
    /// Like `get`, it sees every write called before it, durable yet or not:
    /// writes reach the engine when called and their promises settle once
    /// durable. IndexedDB and memory stores only — an OPFS store's engine
    /// runs in a worker (`LSMKV_UNSUPPORTED`; use `get`).
    #[wasm_bindgen(js_name = getSync, unchecked_return_type = "Value | undefined")]
    pub fn get_sync(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Key")] key: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "GetOptions")] options: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        let local = self.engine.local_sync("getSync")?;
        let options = options.unwrap_or(JsValue::UNDEFINED);
        let key = key_bytes(&key, "key").map_err(|f| f.to_js())?;
        let snapshot = args::get_options(&options, |s| local.find_snapshot(s)).map_err(|f| f.to_js())?;
        local.get_value(&key, snapshot.as_ref()).map_err(|f| f.to_js())
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn delete(&self, #[wasm_bindgen(unchecked_param_type = "Key")] key: JsValue) -> Promise {
        let parsed = key_bytes(&key, "key");
        let local = local_or!(self, forward_write(Op::Delete, parsed, [key]));
        call(parsed, move |key| async move {
            local.write(key.weight(), |db| db.delete(&key)).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Puts every entry atomically: an array of `[key, value]` pairs, a plain
    /// object `{ key: value, ... }` (the original product's `batch_put`; own
    /// enumerable string keys, in JS property order) or a `Map`.
    #[wasm_bindgen(js_name = batchPut, unchecked_return_type = "Promise<void>")]
    pub fn batch_put(
        &self,
        #[wasm_bindgen(
            unchecked_param_type = "Array<[Key, Value]> | Record<string, Value> | Map<Key, Value>"
        )]
        entries: JsValue,
    ) -> Promise {
        let parsed = args::entries(&entries);
        let local = local_or!(self, forward_write(Op::BatchPut, parsed, [args::entries_as_pairs(&entries)]));
        call(parsed, move |batch| async move {
            if !batch.is_empty() {
                local.write(batch.weight(), |db| db.write(&batch)).await?;
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Applies puts and deletes atomically, in order.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn batch(&self, #[wasm_bindgen(unchecked_param_type = "BatchOperation[]")] operations: JsValue) -> Promise {
        let parsed = args::operations(&operations);
        let local = local_or!(self, forward_write(Op::Batch, parsed, [operations]));
        call(parsed, move |batch| async move {
            if !batch.is_empty() {
                local.write(batch.weight(), |db| db.write(&batch)).await?;
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// `[key, value]` pairs in key order (or reverse).
    #[wasm_bindgen(unchecked_return_type = "Promise<Array<[Key, Value]>>")]
    pub fn range(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "RangeOptions")] options: Option<JsValue>,
    ) -> Promise {
        self.ranged(Op::Range, options, |local, range| {
            let entries = local.read(|db| db.range(&range.options))?;
            crate::js::codec::entries_to_js(&entries, range.encoding)
        })
    }

    /// Keys in key order (or reverse).
    #[wasm_bindgen(unchecked_return_type = "Promise<Key[]>")]
    pub fn keys(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "RangeOptions")] options: Option<JsValue>,
    ) -> Promise {
        self.ranged(Op::Keys, options, |local, range| {
            let keys = local.read(|db| db.keys(&range.options))?;
            Ok(keys.iter().map(|k| key_to_js(k, range.encoding)).collect::<Array>().into())
        })
    }

    /// A cursor over a range, read in batches with `next(n)`.
    #[wasm_bindgen(unchecked_return_type = "Promise<StoreIterator>")]
    pub fn iterator(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "RangeOptions")] options: Option<JsValue>,
    ) -> Promise {
        StoreIterator::open(&self.engine, &options.unwrap_or(JsValue::UNDEFINED))
    }

    /// A consistent read view: pass it as `{ snapshot }` to `get`, `range`,
    /// `keys` and `iterator`, and `release()` it when done (it pins old
    /// versions until then).
    #[wasm_bindgen(unchecked_return_type = "Promise<Snapshot>")]
    pub fn snapshot(&self) -> Promise {
        StoreSnapshot::open(&self.engine)
    }

    /// `snapshot` without a promise (for `getSync` at a snapshot); throws on
    /// failure. IndexedDB and memory stores only, like `getSync`.
    #[wasm_bindgen(js_name = snapshotSync)]
    pub fn snapshot_sync(&self) -> Result<StoreSnapshot, JsValue> {
        self.engine.local_sync("snapshotSync")?;
        StoreSnapshot::take(&self.engine).map_err(|f| f.to_js())
    }

    /// Where a get looked: memtable, each table (bloom skip or search).
    #[wasm_bindgen(js_name = explainGet, unchecked_return_type = "Promise<GetTrace>")]
    pub fn explain_get(&self, #[wasm_bindgen(unchecked_param_type = "Key")] key: JsValue) -> Promise {
        let parsed = key_bytes(&key, "key");
        let local = local_or!(self, forward(Op::ExplainGet, parsed, [key]));
        call(parsed, move |key| async move { report::get_trace(&local.read(|db| db.explain_get(&key))?) })
    }

    /// Every block and entry of live table `number`.
    #[wasm_bindgen(js_name = inspectTable, unchecked_return_type = "Promise<TableInspection>")]
    pub fn inspect_table(&self, #[wasm_bindgen(unchecked_param_type = "number")] number: JsValue) -> Promise {
        let parsed = args::optional_count(&number, "table number", u64::MAX);
        let local = local_or!(self, forward(Op::InspectTable, parsed, [number]));
        call(parsed, move |number| async move {
            report::inspection(&local.read(|db| db.inspect_table(number))?, local.encoding())
        })
    }

    /// Flushes the memtable to an L0 table (`null` if it was empty).
    #[wasm_bindgen(unchecked_return_type = "Promise<FlushReport | null>")]
    pub fn flush(&self) -> Promise {
        self.maintenance(
            Op::Flush,
            |db| db.flush(),
            |report, encoding| or_null(report.as_ref(), |r| report::to_js(&report::flush_report(r, encoding))),
        )
    }

    /// Flushes, then merges every table into one sorted run.
    #[wasm_bindgen(unchecked_return_type = "Promise<CompactionReport[]>")]
    pub fn compact(&self) -> Promise {
        self.maintenance(
            Op::Compact,
            |db| db.compact(),
            |reports, encoding| report::compaction_reports(reports, encoding),
        )
    }

    /// Compacts the tables overlapping `[start, end]` (`undefined`: unbounded).
    #[wasm_bindgen(js_name = compactRange, unchecked_return_type = "Promise<CompactionReport[]>")]
    pub fn compact_range(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "Key")] start: Option<JsValue>,
        #[wasm_bindgen(unchecked_optional_param_type = "Key")] end: Option<JsValue>,
    ) -> Promise {
        let (start, end) = (start.unwrap_or(JsValue::UNDEFINED), end.unwrap_or(JsValue::UNDEFINED));
        let parsed = args::optional_key(&start, "start").and_then(|s| Ok((s, args::optional_key(&end, "end")?)));
        let local = local_or!(self, forward(Op::CompactRange, parsed, [start, end]));
        call(parsed, move |(start, end)| async move {
            let reports = local.maintain(|db| db.compact_range(start.as_deref(), end.as_deref())).await?;
            report::compaction_reports(&reports, local.encoding())
        })
    }

    /// Runs one compaction if the tree needs one (`null` otherwise).
    #[wasm_bindgen(js_name = compactStep, unchecked_return_type = "Promise<CompactionReport | null>")]
    pub fn compact_step(&self) -> Promise {
        self.maintenance(
            Op::CompactStep,
            |db| db.compact_step(),
            |report, encoding| or_null(report.as_ref(), |r| report::to_js(&report::compaction_report(r, encoding))),
        )
    }

    /// Counters and the tree's shape (no I/O).
    #[wasm_bindgen(unchecked_return_type = "Promise<Stats>")]
    pub fn stats(&self) -> Promise {
        let local = local_or!(self, forward(Op::Stats, Ok(()), []));
        promise(async move { report::stats(&local.read(|db| Ok(db.stats()))?, local.encoding()) })
    }

    /// Live versus stored bytes (scans everything).
    #[wasm_bindgen(unchecked_return_type = "Promise<SpaceStats>")]
    pub fn space(&self) -> Promise {
        let local = local_or!(self, forward(Op::Space, Ok(()), []));
        promise(async move { report::space(&local.read(|db| db.space())?) })
    }

    /// Whether the store accepts writes, and the backend's state: storage
    /// use and quota, persistence, transactions or files, a detected wipe.
    /// Never rejects (except on a remote store whose worker is gone).
    #[wasm_bindgen(unchecked_return_type = "Promise<StoreHealth>")]
    pub fn health(&self) -> Promise {
        crate::health::health(&self.engine)
    }

    /// Events after cursor `since` (0: the oldest kept), at most `max`.
    #[wasm_bindgen(unchecked_return_type = "Promise<EventPage>")]
    pub fn events(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] since: Option<JsValue>,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] max: Option<JsValue>,
    ) -> Promise {
        let (since, max) = (since.unwrap_or(JsValue::UNDEFINED), max.unwrap_or(JsValue::UNDEFINED));
        let parsed = args::optional_count(&since, "since", 0)
            .and_then(|s| Ok((s, args::optional_count(&max, "max", EVENTS_PAGE_DEFAULT)?)));
        let local = local_or!(self, forward(Op::Events, parsed, [since, max]));
        call(parsed, move |(since, max)| async move {
            let page = local.read(|db| Ok(db.events(since, usize::try_from(max).unwrap_or(usize::MAX))))?;
            report::event_page(&page, local.encoding())
        })
    }

    /// Makes everything durable, closes the backend and releases the lock.
    /// Later calls reject with `LSMKV_CLOSED`; closing twice is fine.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn close(&self) -> Promise {
        let engine = self.engine.clone();
        promise(async move {
            match engine {
                Engine::Local(local) => local.close().await,
                Engine::Remote(remote) => remote.finish(Op::Close).await.map(drop),
            }
            .map(|()| JsValue::UNDEFINED)
        })
    }

    /// Test hook: makes the next IndexedDB transaction fail as `kind` says
    /// (`'abort'`, `'quota'`, or `'connectionLost'`, which is retried).
    #[wasm_bindgen(js_name = debugInjectFault)]
    pub fn debug_inject_fault(
        &self,
        #[wasm_bindgen(unchecked_param_type = "'abort' | 'quota' | 'connectionLost'")] kind: JsValue,
    ) -> Result<(), JsValue> {
        let fault = match kind.as_string().as_deref() {
            Some("abort") => Fault::Abort,
            Some("quota") => Fault::Quota,
            Some("connectionLost") => Fault::ConnectionLost,
            _ => return Err(invalid_argument("fault must be 'abort', 'quota' or 'connectionLost'").to_js()),
        };
        match &self.engine {
            Engine::Local(local) => match local.backend() {
                Backend::Idb(backend) => {
                    backend.inject_fault(fault);
                    Ok(())
                }
                _ => Err(invalid_argument("faults can be injected only into IndexedDB stores").to_js()),
            },
            Engine::Remote(_) => Err(invalid_argument("faults can be injected only into IndexedDB stores").to_js()),
        }
    }

    /// Test and teaching hook: simulates a crash. Drops every in-memory
    /// state (memtable, caches, writes not yet persisted) without syncing,
    /// flushing or persisting anything, then closes the IndexedDB connection
    /// or the OPFS files and releases the lock, so `Store.open` of the same
    /// name recovers from what was persisted (WAL replay). Later calls
    /// reject with `LSMKV_CLOSED`. A memory store keeps nothing across a
    /// crash.
    #[wasm_bindgen(js_name = debugCrash, unchecked_return_type = "Promise<void>")]
    pub fn debug_crash(&self) -> Promise {
        let engine = self.engine.clone();
        promise(async move {
            match engine {
                Engine::Local(local) => local.crash().await,
                Engine::Remote(remote) => drop(remote.finish(Op::DebugCrash).await?),
            }
            Ok(JsValue::UNDEFINED)
        })
    }
}

/// `null`, or the JS view of what there is.
fn or_null<T>(found: Option<&T>, view: impl FnOnce(&T) -> JsResult<JsValue>) -> JsResult<JsValue> {
    found.map_or(Ok(JsValue::NULL), view)
}
