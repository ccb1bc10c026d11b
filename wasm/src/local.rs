//! A store whose engine runs here, on this thread: the engine, its backend
//! (memory, IndexedDB, or OPFS from a dedicated worker), and the state its
//! snapshots and iterators share. Opening (under the store's Web Lock),
//! reads, writes that await the backend's `persist()`, closing and crashing.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::Arc;

use js_sys::Promise;
use lsmkv::{Db, DbIterator, MemStorage, Snapshot, Storage};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::idb::wipe::{self, Wipe};
use crate::idb::{self, IdbBackend};
use crate::js::args::{self, RangeArgs};
use crate::js::codec::{decode_value, entries_to_js, KeyEncoding};
use crate::js::error::{code, invalid_argument, JsFailure, JsResult};
use crate::js::options::{BackendKind, LockMode, StoreConfig};
use crate::locks::{self, Lock};
use crate::opfs::{self, OpfsBackend};
use crate::ops::Weight;
use crate::promise::promise;

#[wasm_bindgen(module = "/js/browser.js")]
extern "C" {
    /// Resolves to whether storage is persistent (asking first if
    /// `request`), or `null` without the API.
    fn lsmkv_storage_persist(request: bool) -> Promise;
}

/// What a closed (or unknown) iterator's calls reject with.
pub fn closed_iterator() -> JsFailure {
    JsFailure::new(code::CLOSED, "iterator is closed")
}

/// A write of `weight`, as the OPFS file pool reserves for it.
fn write_call(weight: Weight) -> opfs::Call {
    opfs::Call::Write { entries: weight.entries, bytes: weight.bytes }
}

/// Where a local store keeps its files.
pub enum Backend {
    Memory,
    Idb(IdbBackend),
    Opfs(OpfsBackend),
}

impl Backend {
    /// `'indexeddb'`, `'opfs'` or `'memory'`.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Memory => "memory",
            Backend::Idb(_) => "indexeddb",
            Backend::Opfs(_) => "opfs",
        }
    }

    fn failure(&self) -> Option<JsFailure> {
        match self {
            Backend::Memory => None,
            Backend::Idb(backend) => backend.failure(),
            Backend::Opfs(backend) => backend.failure(),
        }
    }

    async fn close(&self) {
        match self {
            Backend::Idb(backend) => backend.close().await,
            Backend::Opfs(backend) => backend.close(),
            Backend::Memory => {}
        }
    }
}

/// State shared by a store and its snapshots and iterators.
pub struct Local {
    name: String,
    db: Db,
    backend: Backend,
    config: StoreConfig,
    closed: Cell<bool>,
    /// The store's Web Lock (IndexedDB and OPFS stores).
    lock: RefCell<Option<Lock>>,
    /// Whether the browser granted persistent storage (`null`: unknown).
    persisted: Option<bool>,
    snapshots: RefCell<HashMap<u32, Snapshot>>,
    next_snapshot: Cell<u32>,
    /// Open iterators by id, each with how its keys come back.
    iterators: RefCell<HashMap<u32, (DbIterator, KeyEncoding)>>,
    next_iterator: Cell<u32>,
    /// IndexedDB: the browser deleted the database since the last session.
    wipe: Option<Wipe>,
}

/// Opens store `name` here, on the backend `config` names (OPFS only in a
/// dedicated worker: a page runs it in one, `opfs::remote`).
pub async fn open(name: String, config: StoreConfig) -> JsResult<Local> {
    match config.backend {
        BackendKind::Memory => {
            let db = Db::open(MemStorage::new(), config.engine.clone())?;
            Ok(Local::new(name, db, Backend::Memory, config, None, None, None))
        }
        BackendKind::Indexeddb => {
            idb::check_available()?;
            open_locked(locks::indexeddb(&name), name, config, open_indexeddb).await
        }
        BackendKind::Opfs => {
            opfs::check_sync_capable()?;
            open_locked(locks::opfs(&name), name, config, open_opfs).await
        }
    }
}

/// What opening a durable backend gives: the engine on it, and for
/// IndexedDB what the wipe check found.
type Opened = (Db, Backend, Option<Wipe>);

/// Opens a store kept in the browser's storage under Web Lock `lock`: asks
/// for persistent storage, runs `open`, and keeps the lock only if that
/// succeeded.
async fn open_locked(
    lock: String,
    name: String,
    config: StoreConfig,
    open: impl AsyncFnOnce(&str, &StoreConfig) -> JsResult<Opened>,
) -> JsResult<Local> {
    let lock = locks::acquire(&lock, &name, config.lock).await?;
    let persisted = JsFuture::from(lsmkv_storage_persist(config.persist)).await.ok().and_then(|v| v.as_bool());
    match open(&name, &config).await {
        Ok((db, backend, wipe)) => Ok(Local::new(name, db, backend, config, Some(lock), persisted, wipe)),
        Err(failure) => {
            lock.release();
            Err(failure)
        }
    }
}

async fn open_indexeddb(name: &str, config: &StoreConfig) -> JsResult<Opened> {
    let backend = IdbBackend::open(name, config.durability).await?;
    // Did the browser delete the database since the last session? A
    // store ever opened holds files (at least its manifest).
    let empty = backend.files().list().map(|files| files.is_empty()).unwrap_or(false);
    let mut wipe = wipe::detect(name, backend.database(), empty).await;
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
    wipe::mark(name, &mut wipe).await;
    if let Some(report) = &wipe.detected {
        db.record_notice(report.message.clone());
    }
    wipe.announce();
    Ok((db, Backend::Idb(backend), Some(wipe)))
}

async fn open_opfs(name: &str, config: &StoreConfig) -> JsResult<Opened> {
    let backend = OpfsBackend::open(name, config.durability, &config.engine).await?;
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
        Ok(db) => Ok((db, Backend::Opfs(backend), None)),
        Err(error) => {
            backend.close();
            Err(error.into())
        }
    }
}

/// Deletes store `name` and all its data on `backend` (IndexedDB or OPFS),
/// under its Web Lock: `LSMKV_LOCKED` while any tab or worker has it open.
pub async fn destroy(name: &str, backend: BackendKind) -> JsResult<()> {
    if backend == BackendKind::Opfs {
        let lock = locks::acquire(&locks::opfs(name), name, LockMode::Fail).await?;
        let result = opfs::destroy(name).await;
        lock.release();
        return result;
    }
    let lock = locks::acquire(&locks::indexeddb(name), name, LockMode::Fail).await?;
    // The marker first: a crash between the two then looks like a store
    // that was never opened, not like a wipe.
    let result = match wipe::forget(name).await {
        Ok(()) => idb::destroy(name).await,
        Err(failure) => Err(failure),
    };
    lock.release();
    result
}

impl Local {
    fn new(
        name: String,
        db: Db,
        backend: Backend,
        config: StoreConfig,
        lock: Option<Lock>,
        persisted: Option<bool>,
        wipe: Option<Wipe>,
    ) -> Local {
        Local {
            name,
            db,
            backend,
            config,
            closed: Cell::new(false),
            lock: RefCell::new(lock),
            persisted,
            snapshots: RefCell::new(HashMap::new()),
            next_snapshot: Cell::new(1),
            iterators: RefCell::new(HashMap::new()),
            next_iterator: Cell::new(1),
            wipe,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn encoding(&self) -> KeyEncoding {
        self.config.key_encoding
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    pub fn is_closed(&self) -> bool {
        self.closed.get()
    }

    pub fn persisted(&self) -> Option<bool> {
        self.persisted
    }

    /// Why the backend refuses use until the store is reopened, if it does.
    pub fn failure(&self) -> Option<JsFailure> {
        self.backend.failure()
    }

    pub fn wipe(&self) -> Option<&Wipe> {
        self.wipe.as_ref()
    }

    /// The engine, if the store may be read.
    pub fn readable(&self) -> JsResult<&Db> {
        if self.closed.get() {
            return Err(JsFailure::new(code::CLOSED, format!("store '{}' is closed", self.name)));
        }
        if let Some(failure) = self.failure() {
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
        if let Some(failure) = self.failure() {
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

    /// Makes every mutation so far durable on the backend.
    async fn persist(&self) -> JsResult<()> {
        match &self.backend {
            Backend::Memory => Ok(()),
            Backend::Idb(backend) => backend.persist().await,
            Backend::Opfs(backend) => backend.persist(&self.db).await,
        }
    }

    /// Runs a mutating engine call of `weight`, then persists whatever it
    /// journaled — even if the call failed part-way, since the engine
    /// already counts those mutations as done. An OPFS store first makes
    /// sure its file pool has room for every flush and compaction the call
    /// may cause.
    pub async fn write<T>(&self, weight: Weight, f: impl FnOnce(&Db) -> lsmkv::Result<T>) -> JsResult<T> {
        if let Backend::Opfs(backend) = &self.backend {
            self.writable()?;
            let call = write_call(weight);
            // The worker reserves room for a whole batch before starting
            // it, so this waits only if the reservation fell short.
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

    /// `write` for a flush or compaction.
    pub async fn maintain<T>(&self, f: impl FnOnce(&Db) -> lsmkv::Result<T>) -> JsResult<T> {
        self.write(Weight::MAINTENANCE, f).await
    }

    /// Runs a reading engine call.
    pub fn read<T>(&self, f: impl FnOnce(&Db) -> lsmkv::Result<T>) -> JsResult<T> {
        Ok(f(self.readable()?)?)
    }

    /// The value under `key` (at `snapshot`, if given), decoded, or `undefined`.
    pub fn get_value(&self, key: &[u8], snapshot: Option<&Snapshot>) -> JsResult<JsValue> {
        let found = self.read(|db| match snapshot {
            Some(snapshot) => db.get_at(key, snapshot),
            None => db.get(key),
        })?;
        match found {
            Some(stored) => decode_value(&stored),
            None => Ok(JsValue::UNDEFINED),
        }
    }

    /// The snapshot a `{ snapshot }` option names: a `Snapshot` of this
    /// store, or the `{ id }` the page of an OPFS store sends for one.
    pub fn find_snapshot(&self, handle: &JsValue) -> JsResult<Snapshot> {
        let id = args::field(handle, "id").and_then(|id| id.as_f64()).map(|id| id as u32);
        id.and_then(|id| self.snapshots.borrow().get(&id).cloned()).ok_or_else(|| {
            invalid_argument("snapshot is not a live Snapshot of this store (released, or from another store)")
        })
    }

    /// A snapshot of the engine, registered so reads can find it by its id.
    pub fn snapshot(&self) -> JsResult<(u32, u64)> {
        let snapshot = self.read(|db| Ok(db.snapshot()))?;
        let seq = snapshot.seq();
        let id = self.next_snapshot.get();
        self.next_snapshot.set(id.wrapping_add(1));
        self.snapshots.borrow_mut().insert(id, snapshot);
        Ok((id, seq))
    }

    pub fn release_snapshot(&self, id: u32) {
        self.snapshots.borrow_mut().remove(&id);
    }

    /// An iterator over `range`, registered so the calls below find it by its id.
    pub fn open_iterator(&self, range: &RangeArgs) -> JsResult<u32> {
        let iterator = self.read(|db| db.iter(&range.options))?;
        let id = self.next_iterator.get();
        self.next_iterator.set(id.wrapping_add(1));
        self.iterators.borrow_mut().insert(id, (iterator, range.encoding));
        Ok(id)
    }

    /// Up to `count` more `[key, value]` pairs of iterator `id`.
    pub fn iterator_next(&self, id: u32, count: u64) -> JsResult<JsValue> {
        self.readable()?;
        let mut iterators = self.iterators.borrow_mut();
        let (iterator, encoding) = iterators.get_mut(&id).ok_or_else(closed_iterator)?;
        let entries = iterator.take(usize::try_from(count).unwrap_or(usize::MAX)).collect::<lsmkv::Result<Vec<_>>>()?;
        entries_to_js(&entries, *encoding)
    }

    /// Moves iterator `id` to `key`.
    pub fn iterator_seek(&self, id: u32, key: &[u8]) -> JsResult<()> {
        self.readable()?;
        let mut iterators = self.iterators.borrow_mut();
        Ok(iterators.get_mut(&id).ok_or_else(closed_iterator)?.0.seek(key)?)
    }

    pub fn close_iterator(&self, id: u32) {
        // Dropped after the borrow: an iterator's drop never calls back here.
        let closed = self.iterators.borrow_mut().remove(&id);
        drop(closed);
    }

    /// Makes everything durable, closes the backend and releases the lock.
    /// Closing twice is fine.
    pub async fn close(&self) -> JsResult<()> {
        if self.closed.replace(true) {
            return Ok(());
        }
        self.snapshots.borrow_mut().clear();
        // OPFS: writes already applied finish their flush first (one
        // yield), so none of them sees a closed engine.
        let early = match (self.failure(), &self.backend) {
            (None, Backend::Opfs(_)) => self.persist().await,
            _ => Ok(()),
        };
        let closed = self.db.close().map_err(JsFailure::from);
        // After a failed write the callers already got the error and
        // nothing more can be persisted: closing is the way out.
        let persisted = match (self.failure(), &self.backend) {
            (Some(_), _) => Ok(()),
            // `Db::close` flushed the WAL itself.
            (None, Backend::Opfs(_)) => early,
            (None, _) => self.persist().await,
        };
        self.backend.close().await;
        self.release_lock();
        closed.and(persisted)
    }

    /// Drops every in-memory state without persisting anything, closes
    /// the backend and releases the lock (`debugCrash`).
    pub async fn crash(&self) {
        if self.closed.replace(true) {
            return;
        }
        self.snapshots.borrow_mut().clear();
        self.backend.close().await;
        self.release_lock();
    }

    fn release_lock(&self) {
        if let Some(lock) = self.lock.borrow_mut().take() {
            lock.release();
        }
    }

    /// The OPFS worker, before it starts a batch of calls that may write
    /// `weight`: `None` if the file pool has room, else a promise that
    /// resolves once it has.
    pub fn reserve(self: &std::rc::Rc<Self>, weight: Weight) -> Option<Promise> {
        let Backend::Opfs(backend) = &self.backend else {
            return None;
        };
        let call = write_call(weight);
        if self.is_closed() || backend.ready(call) {
            return None;
        }
        let local = self.clone();
        Some(promise(async move {
            if let Backend::Opfs(backend) = &local.backend {
                backend.prepare(call).await?;
            }
            Ok(JsValue::UNDEFINED)
        }))
    }
}
