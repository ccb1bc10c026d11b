//! `Store`: the JS class. Each method turns JS arguments into bytes (copied
//! at call time, so a caller reusing its `Uint8Array` cannot change a pending
//! write), runs the core `Db` synchronously, then — for anything that
//! changed storage — awaits the backend's `persist()` before resolving.
//!
//! An OPFS store opened in a page runs in a worker: its `Store` checks each
//! call's arguments the same way, then forwards the call (`remote.rs`).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;

use js_sys::{Array, Function, Promise};
use lsmkv::{Db, MemStorage, Snapshot, Storage};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use crate::args;
use crate::codec::{decode_value, key_bytes, key_to_js, KeyEncoding};
use crate::error::{code, invalid_argument, JsFailure, JsResult};
use crate::glue;
use crate::handles::{StoreIterator, StoreSnapshot};
use crate::idb::{self, Fault, IdbBackend};
use crate::opfs::{self, OpfsBackend};
use crate::options::{BackendKind, LockMode, StoreConfig};
use crate::remote::{self, RemoteStore};
use crate::report;
use crate::wipe::{self, Wipe};

/// Longest store name accepted (it becomes a database and a lock name).
const NAME_LENGTH_MAX: usize = 256;
/// Events returned by one `events()` call unless asked otherwise.
const EVENTS_PAGE_DEFAULT: u64 = 1000;

pub(crate) enum Backend {
    Memory,
    Idb(IdbBackend),
    Opfs(OpfsBackend),
}

/// State shared by a store and its snapshots and iterators.
pub(crate) struct Inner {
    name: String,
    db: Db,
    backend: Backend,
    config: StoreConfig,
    closed: Cell<bool>,
    /// Releases the Web Lock (IndexedDB stores only).
    lock: RefCell<Option<Function>>,
    /// Whether the browser granted persistent storage (`null`: unknown).
    persisted: Option<bool>,
    snapshots: RefCell<HashMap<u32, Snapshot>>,
    next_snapshot: Cell<u32>,
    /// IndexedDB: the browser deleted the database since the last session.
    wipe: Option<Wipe>,
}

/// Wraps a future as a JS promise whose rejection is a JS `Error` with a code.
///
/// The future is polled once right away, inside the JS call: the engine
/// work of every method (up to its first real wait, such as an IndexedDB
/// commit) runs in call order, as it did when each method was a task queued
/// in call order, and a method that does not wait (any read, any write to a
/// memory store) settles without a spawned task, a closure pair or a
/// `queueMicrotask` (BENCHMARKS.md, "Browser"). Only a future still pending
/// after that poll is spawned; every leaf future it waits on re-registers
/// the task's waker when the task polls it, so a wake-up that reached the
/// first poll's no-op waker is not lost (the task's first poll sees it done).
pub(crate) fn promise(future: impl Future<Output = JsResult<JsValue>> + 'static) -> Promise {
    let mut future = Box::pin(future);
    match future.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        std::task::Poll::Ready(Ok(value)) => Promise::resolve(&value),
        std::task::Poll::Ready(Err(failure)) => Promise::reject(&failure.to_js()),
        std::task::Poll::Pending => future_to_promise(async move { future.await.map_err(|failure| failure.to_js()) }),
    }
}

pub(crate) fn rejected(failure: JsFailure) -> Promise {
    Promise::reject(&failure.to_js())
}

/// Parses arguments now (at call time), then runs `body` as a promise.
fn call<A: 'static, F, Fut>(parsed: JsResult<A>, body: F) -> Promise
where
    F: FnOnce(A) -> Fut + 'static,
    Fut: Future<Output = JsResult<JsValue>> + 'static,
{
    match parsed {
        Ok(arguments) => promise(body(arguments)),
        Err(failure) => rejected(failure),
    }
}

impl Inner {
    pub(crate) fn encoding(&self) -> KeyEncoding {
        self.config.key_encoding
    }

    /// The engine, if the store may be read.
    pub(crate) fn readable(&self) -> JsResult<&Db> {
        if self.closed.get() {
            return Err(JsFailure::new(code::CLOSED, format!("store '{}' is closed", self.name)));
        }
        if let Some(failure) = self.backend_failure() {
            // In-memory state may hold writes whose promises were rejected:
            // reading it would show data that is not durable.
            return Err(JsFailure::new(
                code::IO,
                format!("store '{}' must be reopened after a failed write ({})", self.name, failure.message),
            ));
        }
        Ok(&self.db)
    }

    /// The engine, if the store may be written.
    fn writable(&self) -> JsResult<&Db> {
        if self.closed.get() {
            return Err(JsFailure::new(code::CLOSED, format!("store '{}' is closed", self.name)));
        }
        if let Some(failure) = self.backend_failure() {
            return Err(JsFailure::new(
                code::READ_ONLY,
                format!(
                    "store '{}' is read-only after a failed write ({}); reopen it to recover the last acknowledged state",
                    self.name, failure.message
                ),
            ));
        }
        Ok(&self.db)
    }

    fn backend_failure(&self) -> Option<JsFailure> {
        match &self.backend {
            Backend::Memory => None,
            Backend::Idb(backend) => backend.failure(),
            Backend::Opfs(backend) => backend.failure(),
        }
    }

    /// Makes every mutation so far durable on the backend.
    async fn persist(&self) -> JsResult<()> {
        match &self.backend {
            Backend::Memory => Ok(()),
            Backend::Idb(backend) => backend.persist().await,
            Backend::Opfs(backend) => backend.persist(&self.db).await,
        }
    }

    /// Runs a mutating engine call, then persists whatever it journaled —
    /// even if the call failed part-way, since the engine already counts
    /// those mutations as done.
    pub(crate) async fn write<T>(&self, f: impl FnOnce(&Db) -> lsmkv::Result<T>) -> JsResult<T> {
        self.write_sized(1, 0, f).await
    }

    /// `write` for a call of `entries` entries and about `bytes` bytes: an
    /// OPFS store first makes sure its file pool has room for every flush
    /// and compaction the call may cause.
    pub(crate) async fn write_sized<T>(
        &self,
        entries: usize,
        bytes: usize,
        f: impl FnOnce(&Db) -> lsmkv::Result<T>,
    ) -> JsResult<T> {
        if let Backend::Opfs(backend) = &self.backend {
            self.writable()?;
            let call = opfs::Call::Write { entries, bytes };
            // The worker reserves room for a whole batch before starting
            // it, so this waits only if the estimate fell short.
            if !backend.ready(call) {
                backend.prepare(call).await?;
            }
        }
        let result = f(self.writable()?);
        if let Backend::Opfs(backend) = &self.backend {
            // A storage failure made the engine read-only: refuse reads too,
            // since memory may hold writes that never became durable.
            if let (Err(error), lsmkv::HealthStatus::ReadOnly) = (&result, self.db.health().status) {
                backend.fail(JsFailure::from(error.clone()));
            }
        }
        self.persist().await?;
        Ok(result?)
    }

    /// The value under `key` (at `snapshot`, if given), decoded, or `undefined`.
    fn get_value(&self, key: &[u8], snapshot: Option<&Snapshot>) -> JsResult<JsValue> {
        let found = self.read(|db| match snapshot {
            Some(snapshot) => db.get_at(key, snapshot),
            None => db.get(key),
        })?;
        match found {
            Some(stored) => decode_value(&stored),
            None => Ok(JsValue::UNDEFINED),
        }
    }

    /// Runs a reading engine call.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Db) -> lsmkv::Result<T>) -> JsResult<T> {
        Ok(f(self.readable()?)?)
    }

    pub(crate) fn find_snapshot(&self, handle: &JsValue) -> JsResult<Snapshot> {
        let id = args::field(handle, "id").and_then(|id| id.as_f64()).map(|id| id as u32);
        id.and_then(|id| self.snapshots.borrow().get(&id).cloned()).ok_or_else(|| {
            invalid_argument("snapshot is not a live Snapshot of this store (released, or from another store)")
        })
    }

    pub(crate) fn add_snapshot(&self, snapshot: Snapshot) -> u32 {
        let id = self.next_snapshot.get();
        self.next_snapshot.set(id.wrapping_add(1));
        self.snapshots.borrow_mut().insert(id, snapshot);
        id
    }

    pub(crate) fn release_snapshot(&self, id: u32) {
        self.snapshots.borrow_mut().remove(&id);
    }

    fn release_lock(&self) {
        if let Some(release) = self.lock.borrow_mut().take() {
            glue::release_lock(&release);
        }
    }
}

/// The Web Lock name guarding store `name`.
fn lock_name(name: &str) -> String {
    format!("lsmkv:{name}")
}

/// Takes the store's lock; resolves to the function that releases it.
async fn acquire_lock(name: &str, mode: LockMode) -> JsResult<Function> {
    acquire_lock_named(&lock_name(name), name, mode).await
}

async fn acquire_lock_named(lock: &str, name: &str, mode: LockMode) -> JsResult<Function> {
    let outcome = JsFuture::from(glue::lsmkv_lock_acquire(lock, mode == LockMode::Wait)).await.map_err(|e| {
        JsFailure::new(code::IO, format!("Web Locks request failed: {}", crate::error::describe_js(&e)))
    })?;
    if outcome.is_undefined() {
        return Err(JsFailure::new(
            code::UNSUPPORTED,
            "the Web Locks API is not available, so one writer per store cannot be guaranteed",
        ));
    }
    outcome.dyn_into::<Function>().map_err(|_| {
        JsFailure::new(
            code::LOCKED,
            format!("store '{name}' is open in another tab or worker (pass lock: 'wait' to wait)"),
        )
    })
}

fn store_name(value: &JsValue) -> JsResult<String> {
    match value.as_string() {
        Some(name) if !name.is_empty() && name.len() <= NAME_LENGTH_MAX => Ok(name),
        _ => Err(invalid_argument(format!("store name must be a non-empty string of at most {NAME_LENGTH_MAX} bytes"))),
    }
}

async fn open_memory(name: String, config: StoreConfig) -> JsResult<Inner> {
    let db = Db::open(MemStorage::new(), config.engine.clone())?;
    Ok(Inner::new(name, db, Backend::Memory, config, None, None))
}

async fn open_indexeddb(name: String, config: StoreConfig) -> JsResult<Inner> {
    idb::check_available()?;
    let release = acquire_lock(&name, config.lock).await?;
    let opened = async {
        let persisted =
            JsFuture::from(glue::lsmkv_storage_persist(config.persist)).await.ok().and_then(|v| v.as_bool());
        let backend = IdbBackend::open(&name, config.durability).await?;
        // Did the browser delete the database since the last session? A
        // store ever opened holds files (at least its manifest).
        let empty = backend.files().list().map(|files| files.is_empty()).unwrap_or(false);
        let mut wipe = wipe::detect(&name, backend.database(), empty).await;
        let files: Arc<dyn Storage> = backend.files();
        let db = match Db::open_shared(files, config.engine.clone()) {
            Ok(db) => db,
            Err(error) => {
                backend.close().await;
                return Err(error.into());
            }
        };
        // Opening may have written (a new store's manifest, a WAL cut).
        if let Err(failure) = backend.persist().await {
            backend.close().await;
            return Err(failure);
        }
        // The store is on disk now: mark it, before any write is acknowledged.
        wipe::mark(&name, &mut wipe).await;
        Ok((db, backend, persisted, wipe))
    }
    .await;
    match opened {
        Ok((db, backend, persisted, wipe)) => {
            if let Some(report) = &wipe.detected {
                db.record_notice(report.message.clone());
            }
            wipe.announce();
            let mut inner = Inner::new(name, db, Backend::Idb(backend), config, Some(release), persisted);
            inner.wipe = Some(wipe);
            Ok(inner)
        }
        Err(failure) => {
            glue::release_lock(&release);
            Err(failure)
        }
    }
}

/// The Web Lock guarding OPFS store `name` (a different store from the
/// IndexedDB store of the same name).
fn opfs_lock_name(name: &str) -> String {
    format!("lsmkv-opfs:{name}")
}

/// Opens an OPFS store here, in a dedicated worker (the page side forwards
/// to such a worker: `remote.rs`).
async fn open_opfs(name: String, config: StoreConfig) -> JsResult<Inner> {
    opfs::check_sync_capable()?;
    let release = acquire_lock_named(&opfs_lock_name(&name), &name, config.lock).await?;
    let opened = async {
        let persisted =
            JsFuture::from(glue::lsmkv_storage_persist(config.persist)).await.ok().and_then(|v| v.as_bool());
        let backend = OpfsBackend::open(&name, config.durability, &config.engine).await?;
        if let Err(failure) = backend.prepare(opfs::Call::Open).await {
            backend.close();
            return Err(failure);
        }
        // Writes are made durable by `persist` (one WAL flush per group of
        // writes), not by the engine after each write.
        let mut engine = config.engine.clone();
        engine.durability = lsmkv::Durability::Buffered;
        let files: Arc<dyn Storage> = backend.files();
        match Db::open_shared(files, engine) {
            Ok(db) => Ok((db, backend, persisted)),
            Err(error) => {
                backend.close();
                Err(error.into())
            }
        }
    }
    .await;
    match opened {
        Ok((db, backend, persisted)) => {
            Ok(Inner::new(name, db, Backend::Opfs(backend), config, Some(release), persisted))
        }
        Err(failure) => {
            glue::release_lock(&release);
            Err(failure)
        }
    }
}

impl Inner {
    fn new(
        name: String,
        db: Db,
        backend: Backend,
        config: StoreConfig,
        lock: Option<Function>,
        persisted: Option<bool>,
    ) -> Inner {
        Inner {
            name,
            db,
            backend,
            config,
            closed: Cell::new(false),
            lock: RefCell::new(lock),
            persisted,
            snapshots: RefCell::new(HashMap::new()),
            next_snapshot: Cell::new(1),
            wipe: None,
        }
    }
}

/// An open lsmkv store.
#[wasm_bindgen]
pub struct Store {
    target: Target,
}

/// Where a store's engine runs: here, or in a worker (OPFS from a page).
#[derive(Clone)]
pub(crate) enum Target {
    Local(Rc<Inner>),
    Remote(Rc<RemoteStore>),
}

/// The store's backend from its options, before anything is opened.
fn open_target(name: String, options: JsValue, config: StoreConfig, glue: Option<String>) -> Promise {
    promise(async move {
        let target = match config.backend {
            BackendKind::Memory => Target::Local(Rc::new(open_memory(name, config).await?)),
            BackendKind::Indexeddb => Target::Local(Rc::new(open_indexeddb(name, config).await?)),
            BackendKind::Opfs if opfs::lsmkv_opfs_sync_capable() => {
                Target::Local(Rc::new(open_opfs(name, config).await?))
            }
            BackendKind::Opfs => {
                let glue = config.glue_url.clone().or(glue);
                Target::Remote(Rc::new(RemoteStore::open(&name, &options, glue, config.key_encoding).await?))
            }
        };
        Ok(Store { target }.into())
    })
}

/// `{ backend }` for `Store.destroy`.
fn destroy_backend(options: &JsValue) -> JsResult<BackendKind> {
    args::check_fields(options, &["backend"], "destroy options")?;
    match args::field(options, "backend").map(|b| b.as_string()) {
        None => Ok(BackendKind::Indexeddb),
        Some(Some(b)) if b == "indexeddb" => Ok(BackendKind::Indexeddb),
        Some(Some(b)) if b == "opfs" => Ok(BackendKind::Opfs),
        _ => Err(invalid_argument("destroy options: backend must be 'indexeddb' or 'opfs'")),
    }
}

/// Sends a call to the worker when the store is remote, else runs the body.
macro_rules! local_or_forward {
    ($self:ident, $parsed:expr, $op:literal, [$($arg:expr),*]) => {
        match &$self.target {
            Target::Local(inner) => inner.clone(),
            Target::Remote(remote) => return remote.forward($parsed, $op, vec![$($arg.clone()),*]),
        }
    };
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
        match parsed {
            Ok((name, config)) => {
                // Read now, while the glue module that called in is on the stack.
                let glue = match config.backend {
                    BackendKind::Opfs if config.glue_url.is_none() && !opfs::lsmkv_opfs_sync_capable() => {
                        remote::lsmkv_glue_url()
                    }
                    _ => None,
                };
                open_target(name, options, config, glue)
            }
            Err(failure) => rejected(failure),
        }
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
        call(parsed, |(name, backend)| async move {
            if backend == BackendKind::Opfs {
                let release = acquire_lock_named(&opfs_lock_name(&name), &name, LockMode::Fail).await?;
                let result = opfs::destroy(&name).await;
                glue::release_lock(&release);
                return result.map(|()| JsValue::UNDEFINED);
            }
            let release = acquire_lock(&name, LockMode::Fail).await?;
            // The marker first: a crash between the two then looks like a
            // store that was never opened, not like a wipe.
            let result = match wipe::forget(&name).await {
                Ok(()) => idb::destroy(&name).await,
                Err(failure) => Err(failure),
            };
            glue::release_lock(&release);
            result.map(|()| JsValue::UNDEFINED)
        })
    }

    /// The store's name.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        match &self.target {
            Target::Local(inner) => inner.name.clone(),
            Target::Remote(remote) => remote.name().to_string(),
        }
    }

    /// `'indexeddb'`, `'opfs'` or `'memory'`.
    #[wasm_bindgen(getter, unchecked_return_type = "Backend")]
    pub fn backend(&self) -> String {
        match &self.target {
            Target::Remote(_) => "opfs".into(),
            Target::Local(inner) => match inner.backend {
                Backend::Memory => "memory".into(),
                Backend::Idb(_) => "indexeddb".into(),
                Backend::Opfs(_) => "opfs".into(),
            },
        }
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn put(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Key")] key: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Value")] value: JsValue,
    ) -> Promise {
        let parsed = key_bytes(&key, "key").and_then(|k| Ok((k, crate::codec::encode_value(&value)?)));
        let inner = local_or_forward!(self, parsed, "put", [key, value]);
        call(parsed, move |(key, value)| async move {
            let size = key.len() + value.len();
            inner.write_sized(1, size, |db| db.put(&key, &value)).await?;
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
        if let Target::Remote(remote) = &self.target {
            let parsed = key_bytes(&key, "key").and_then(|_| {
                remote.read_options(&options, |rest| args::get_options(rest, |_| unreachable_snapshot()).map(|_| ()))
            });
            return match parsed {
                Ok(options) => remote.call("get", &[key, options]),
                Err(failure) => rejected(failure),
            };
        }
        let inner = self.local();
        let parsed =
            key_bytes(&key, "key").and_then(|k| Ok((k, args::get_options(&options, |s| inner.find_snapshot(s))?)));
        call(parsed, move |(key, snapshot)| async move { inner.get_value(&key, snapshot.as_ref()) })
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
        let inner = self.local_sync("getSync")?;
        let options = options.unwrap_or(JsValue::UNDEFINED);
        let key = key_bytes(&key, "key").map_err(|f| f.to_js())?;
        let snapshot = args::get_options(&options, |s| inner.find_snapshot(s)).map_err(|f| f.to_js())?;
        inner.get_value(&key, snapshot.as_ref()).map_err(|f| f.to_js())
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn delete(&self, #[wasm_bindgen(unchecked_param_type = "Key")] key: JsValue) -> Promise {
        let parsed = key_bytes(&key, "key");
        let inner = local_or_forward!(self, parsed, "delete", [key]);
        call(parsed, move |key| async move {
            inner.write_sized(1, key.len(), |db| db.delete(&key)).await?;
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
        // The OPFS worker is sent pairs whatever the shape (it weighs a batch by them).
        let inner = local_or_forward!(self, parsed, "batchPut", [args::entries_as_pairs(&entries)]);
        call(parsed, move |batch| async move {
            if !batch.is_empty() {
                inner.write_sized(batch.len(), batch.user_bytes() as usize, |db| db.write(&batch)).await?;
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Applies puts and deletes atomically, in order.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn batch(&self, #[wasm_bindgen(unchecked_param_type = "BatchOperation[]")] operations: JsValue) -> Promise {
        let parsed = args::operations(&operations);
        let inner = local_or_forward!(self, parsed, "batch", [operations]);
        call(parsed, move |batch| async move {
            if !batch.is_empty() {
                inner.write_sized(batch.len(), batch.user_bytes() as usize, |db| db.write(&batch)).await?;
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
        let options = options.unwrap_or(JsValue::UNDEFINED);
        if let Target::Remote(remote) = &self.target {
            return self.forward_range(remote, "range", &options);
        }
        let inner = self.local();
        let parsed = args::range(&options, inner.encoding(), |s| inner.find_snapshot(s));
        call(parsed, move |range| async move {
            let entries = inner.read(|db| db.range(&range.options))?;
            crate::codec::entries_to_js(&entries, range.encoding)
        })
    }

    /// Keys in key order (or reverse).
    #[wasm_bindgen(unchecked_return_type = "Promise<Key[]>")]
    pub fn keys(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "RangeOptions")] options: Option<JsValue>,
    ) -> Promise {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        if let Target::Remote(remote) = &self.target {
            return self.forward_range(remote, "keys", &options);
        }
        let inner = self.local();
        let parsed = args::range(&options, inner.encoding(), |s| inner.find_snapshot(s));
        call(parsed, move |range| async move {
            let keys = inner.read(|db| db.keys(&range.options))?;
            Ok(keys.iter().map(|k| key_to_js(k, range.encoding)).collect::<Array>().into())
        })
    }

    /// A cursor over a range, read in batches with `next(n)`.
    #[wasm_bindgen(unchecked_return_type = "Promise<StoreIterator>")]
    pub fn iterator(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "RangeOptions")] options: Option<JsValue>,
    ) -> Promise {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        if let Target::Remote(remote) = &self.target {
            let parsed = remote.read_options(&options, |rest| {
                args::range(rest, remote.encoding(), |_| unreachable_snapshot()).map(|_| ())
            });
            let remote = remote.clone();
            return call(parsed, move |options| async move {
                let id = remote.request("iterator", &[options]).await?;
                let id = id.as_f64().unwrap_or(0.0) as u32;
                Ok(StoreIterator::remote(remote, id).into())
            });
        }
        let inner = self.local();
        let parsed = args::range(&options, inner.encoding(), |s| inner.find_snapshot(s));
        call(parsed, move |range| async move {
            let iterator = inner.read(|db| db.iter(&range.options))?;
            Ok(StoreIterator::new(inner.clone(), iterator, range.encoding).into())
        })
    }

    /// A consistent read view: pass it as `{ snapshot }` to `get`, `range`,
    /// `keys` and `iterator`, and `release()` it when done (it pins old
    /// versions until then).
    #[wasm_bindgen(unchecked_return_type = "Promise<Snapshot>")]
    pub fn snapshot(&self) -> Promise {
        if let Target::Remote(remote) = &self.target {
            let remote = remote.clone();
            return promise(async move {
                let handle = remote.request("snapshot", &[]).await?;
                let number = |name: &str| args::field(&handle, name).and_then(|v| v.as_f64()).unwrap_or(0.0);
                let (id, seq) = (number("id") as u32, number("seq") as u64);
                remote.add_snapshot(id);
                Ok(StoreSnapshot::remote(remote.clone(), id, seq).into())
            });
        }
        let inner = self.local();
        promise(async move { Ok(take_snapshot(&inner)?.into()) })
    }

    /// `snapshot` without a promise (for `getSync` at a snapshot); throws on
    /// failure. IndexedDB and memory stores only, like `getSync`.
    #[wasm_bindgen(js_name = snapshotSync)]
    pub fn snapshot_sync(&self) -> Result<StoreSnapshot, JsValue> {
        take_snapshot(&self.local_sync("snapshotSync")?).map_err(|f| f.to_js())
    }

    /// Where a get looked: memtable, each table (bloom skip or search).
    #[wasm_bindgen(js_name = explainGet, unchecked_return_type = "Promise<GetTrace>")]
    pub fn explain_get(&self, #[wasm_bindgen(unchecked_param_type = "Key")] key: JsValue) -> Promise {
        let parsed = key_bytes(&key, "key");
        let inner = local_or_forward!(self, parsed, "explainGet", [key]);
        call(parsed, move |key| async move {
            let trace = inner.read(|db| db.explain_get(&key))?;
            report::get_trace(&trace)
        })
    }

    /// Every block and entry of live table `number`.
    #[wasm_bindgen(js_name = inspectTable, unchecked_return_type = "Promise<TableInspection>")]
    pub fn inspect_table(&self, #[wasm_bindgen(unchecked_param_type = "number")] number: JsValue) -> Promise {
        let parsed = args::optional_count(&number, "table number", u64::MAX);
        let inner = local_or_forward!(self, parsed, "inspectTable", [number]);
        call(parsed, move |number| async move {
            let inspection = inner.read(|db| db.inspect_table(number))?;
            report::inspection(&inspection, inner.encoding())
        })
    }

    /// Flushes the memtable to an L0 table (`null` if it was empty).
    #[wasm_bindgen(unchecked_return_type = "Promise<FlushReport | null>")]
    pub fn flush(&self) -> Promise {
        let inner = local_or_forward!(self, Ok(()), "flush", []);
        promise(async move {
            let flushed = inner.write(|db| db.flush()).await?;
            match flushed {
                Some(r) => report::to_js(&report::flush_report(&r, inner.encoding())),
                None => Ok(JsValue::NULL),
            }
        })
    }

    /// Flushes, then merges every table into one sorted run.
    #[wasm_bindgen(unchecked_return_type = "Promise<CompactionReport[]>")]
    pub fn compact(&self) -> Promise {
        let inner = local_or_forward!(self, Ok(()), "compact", []);
        promise(async move {
            let reports = inner.write(|db| db.compact()).await?;
            let reports: Vec<_> = reports.iter().map(|r| report::compaction_report(r, inner.encoding())).collect();
            report::to_js(&reports)
        })
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
        let inner = local_or_forward!(self, parsed, "compactRange", [start, end]);
        call(parsed, move |(start, end)| async move {
            let reports = inner.write(|db| db.compact_range(start.as_deref(), end.as_deref())).await?;
            let reports: Vec<_> = reports.iter().map(|r| report::compaction_report(r, inner.encoding())).collect();
            report::to_js(&reports)
        })
    }

    /// Runs one compaction if the tree needs one (`null` otherwise).
    #[wasm_bindgen(js_name = compactStep, unchecked_return_type = "Promise<CompactionReport | null>")]
    pub fn compact_step(&self) -> Promise {
        let inner = local_or_forward!(self, Ok(()), "compactStep", []);
        promise(async move {
            match inner.write(|db| db.compact_step()).await? {
                Some(r) => report::to_js(&report::compaction_report(&r, inner.encoding())),
                None => Ok(JsValue::NULL),
            }
        })
    }

    /// Counters and the tree's shape (no I/O).
    #[wasm_bindgen(unchecked_return_type = "Promise<Stats>")]
    pub fn stats(&self) -> Promise {
        let inner = local_or_forward!(self, Ok(()), "stats", []);
        promise(async move {
            let stats = inner.read(|db| Ok(db.stats()))?;
            report::stats(&stats, inner.encoding())
        })
    }

    /// Live versus stored bytes (scans everything).
    #[wasm_bindgen(unchecked_return_type = "Promise<SpaceStats>")]
    pub fn space(&self) -> Promise {
        let inner = local_or_forward!(self, Ok(()), "space", []);
        promise(async move { report::space(&inner.read(|db| db.space())?) })
    }

    /// Whether the store accepts writes, and the backend's state: storage
    /// use and quota, persistence, transactions or files, a detected wipe.
    /// Never rejects (except on a remote store whose worker is gone).
    #[wasm_bindgen(unchecked_return_type = "Promise<StoreHealth>")]
    pub fn health(&self) -> Promise {
        if let Target::Remote(remote) = &self.target {
            if remote.is_closed() {
                return promise(async { crate::health::closed_remote_health().await });
            }
        }
        let inner = local_or_forward!(self, Ok(()), "health", []);
        promise(async move { crate::health::health(&inner, &inner.db).await })
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
        let inner = local_or_forward!(self, parsed, "events", [since, max]);
        call(parsed, move |(since, max)| async move {
            let page = inner.read(|db| Ok(db.events(since, usize::try_from(max).unwrap_or(usize::MAX))))?;
            report::event_page(&page, inner.encoding())
        })
    }

    /// Makes everything durable, closes the backend and releases the lock.
    /// Later calls reject with `LSMKV_CLOSED`; closing twice is fine.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn close(&self) -> Promise {
        if let Target::Remote(remote) = &self.target {
            let remote = remote.clone();
            return promise(async move { remote.finish("close").await.map(|_| JsValue::UNDEFINED) });
        }
        let inner = self.local();
        promise(async move {
            if inner.closed.replace(true) {
                return Ok(JsValue::UNDEFINED);
            }
            inner.snapshots.borrow_mut().clear();
            // OPFS: writes already applied finish their flush first (one
            // yield), so none of them sees a closed engine.
            let early = match (inner.failure(), &inner.backend) {
                (None, Backend::Opfs(_)) => inner.persist().await,
                _ => Ok(()),
            };
            let closed = inner.db.close().map_err(JsFailure::from);
            // After a failed write the callers already got the error and
            // nothing more can be persisted: closing is the way out.
            let persisted = match (inner.failure(), &inner.backend) {
                (Some(_), _) => Ok(()),
                // `Db::close` flushed the WAL itself.
                (None, Backend::Opfs(_)) => early,
                (None, _) => inner.persist().await,
            };
            match &inner.backend {
                Backend::Idb(backend) => backend.close().await,
                Backend::Opfs(backend) => backend.close(),
                Backend::Memory => {}
            }
            inner.release_lock();
            closed.and(persisted).map(|()| JsValue::UNDEFINED)
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
        match &self.target {
            Target::Local(inner) => match &inner.backend {
                Backend::Idb(backend) => {
                    backend.inject_fault(fault);
                    Ok(())
                }
                _ => Err(invalid_argument("faults can be injected only into IndexedDB stores").to_js()),
            },
            Target::Remote(_) => Err(invalid_argument("faults can be injected only into IndexedDB stores").to_js()),
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
        if let Target::Remote(remote) = &self.target {
            let remote = remote.clone();
            return promise(async move { remote.finish("debugCrash").await.map(|_| JsValue::UNDEFINED) });
        }
        let inner = self.local();
        promise(async move {
            if inner.closed.replace(true) {
                return Ok(JsValue::UNDEFINED);
            }
            inner.snapshots.borrow_mut().clear();
            match &inner.backend {
                Backend::Idb(backend) => backend.close().await,
                Backend::Opfs(backend) => backend.close(),
                Backend::Memory => {}
            }
            inner.release_lock();
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Used by the OPFS worker before it starts a batch of calls: `undefined`
    /// if the store's file pool has room for a batch of `entries` entries
    /// and about `bytes` bytes, else a promise that resolves once it has.
    #[wasm_bindgen(js_name = opfsReserve, skip_typescript)]
    pub fn opfs_reserve(&self, entries: f64, bytes: f64) -> JsValue {
        let Target::Local(inner) = &self.target else {
            return JsValue::UNDEFINED;
        };
        let Backend::Opfs(backend) = &inner.backend else {
            return JsValue::UNDEFINED;
        };
        if inner.is_closed() {
            return JsValue::UNDEFINED;
        }
        let call = opfs::Call::Write { entries: entries as usize, bytes: bytes as usize };
        if backend.ready(call) {
            return JsValue::UNDEFINED;
        }
        let inner = inner.clone();
        promise(async move {
            if let Backend::Opfs(backend) = &inner.backend {
                backend.prepare(call).await?;
            }
            Ok(JsValue::UNDEFINED)
        })
        .into()
    }
}

fn unreachable_snapshot() -> JsResult<Snapshot> {
    // `read_options` takes the snapshot out before the rest is checked.
    Err(invalid_argument("snapshot is not a live Snapshot of this store"))
}

/// A snapshot of the local engine, registered so reads can find it.
fn take_snapshot(inner: &Rc<Inner>) -> JsResult<StoreSnapshot> {
    let snapshot = inner.read(|db| Ok(db.snapshot()))?;
    let seq = snapshot.seq();
    let id = inner.add_snapshot(snapshot);
    Ok(StoreSnapshot::new(inner.clone(), id, seq))
}

impl Store {
    /// The engine here, for a synchronous method; an OPFS store's is in a worker.
    fn local_sync(&self, method: &str) -> Result<Rc<Inner>, JsValue> {
        match &self.target {
            Target::Local(inner) => Ok(inner.clone()),
            Target::Remote(_) => Err(JsFailure::new(
                code::UNSUPPORTED,
                format!("{method}() is not available on an OPFS store: its engine runs in a worker (use the promise-based method)"),
            )
            .to_js()),
        }
    }

    /// The local engine (callers have ruled out a remote store).
    fn local(&self) -> Rc<Inner> {
        match &self.target {
            Target::Local(inner) => inner.clone(),
            Target::Remote(_) => unreachable!("remote stores forward before reaching the engine"),
        }
    }

    fn forward_range(&self, remote: &Rc<RemoteStore>, op: &str, options: &JsValue) -> Promise {
        let parsed = remote
            .read_options(options, |rest| args::range(rest, remote.encoding(), |_| unreachable_snapshot()).map(|_| ()));
        match parsed {
            Ok(options) => remote.call(op, &[options]),
            Err(failure) => rejected(failure),
        }
    }
}

impl Inner {
    pub(crate) fn backend(&self) -> &Backend {
        &self.backend
    }
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.get()
    }
    pub(crate) fn persisted(&self) -> Option<bool> {
        self.persisted
    }
    pub(crate) fn failure(&self) -> Option<JsFailure> {
        self.backend_failure()
    }
    pub(crate) fn wipe(&self) -> Option<&Wipe> {
        self.wipe.as_ref()
    }
}
