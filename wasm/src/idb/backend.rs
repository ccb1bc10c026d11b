//! The IndexedDB backend: loads a store's files into `JournaledFiles` at
//! open, then persists the journal, one IndexedDB transaction per batch.
//!
//! Database layout (IndexedDB version 1; see `journal.rs` and
//! `wasm/FORMAT.md` for the meaning): object stores `files` (name →
//! `{ id }`) and `chunks` (`[id, offset]` → `Uint8Array`), both with
//! out-of-line keys. A batch of appends only (the usual group commit) runs
//! in a transaction over `chunks` alone, with one put per file appended to.
//!
//! Group commit: the first caller of `persist` becomes the leader, yields one
//! microtask so that writes issued in the same tick journal their mutations
//! too, then writes everything journaled in one transaction. Callers arriving
//! while it is in flight wait for it, then one of them leads the next batch.
//!
//! Failure policy (the "fsyncgate" lesson): a failed transaction is not
//! retried on the same connection and the engine is not told; instead the
//! backend is marked failed, every caller whose mutations were not yet
//! persisted gets the error, and the store refuses further use until it is
//! reopened — which reloads exactly the last committed state. The one
//! exception is a lost connection (the browser closed it, or another
//! context's `versionchange`): the batch never committed, every request in it
//! is idempotent, so it is retried once on a fresh connection.

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Poll, Waker};

use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbFactory, IdbKeyRange, IdbObjectStore, IdbOpenDbRequest, IdbRequest, IdbTransaction};

use super::journal::{self, FileId, JournaledFiles, Request};
use crate::js::error::{code, describe_js, JsFailure, JsResult};
use crate::js::options::DurabilityMode;

// `IDBDatabase.transaction` with its options argument is simpler in JS than
// through web-sys (which marks `IDBTransactionOptions` unstable).
#[wasm_bindgen(module = "/js/browser.js")]
extern "C" {
    fn lsmkv_indexeddb() -> JsValue;
    #[wasm_bindgen(catch)]
    fn lsmkv_transaction(
        db: &web_sys::IdbDatabase,
        stores: &js_sys::Array,
        mode: &str,
        durability: &str,
    ) -> Result<web_sys::IdbTransaction, JsValue>;
}

const SCHEMA_VERSION: u32 = 1;
const FILES: &str = "files";
const CHUNKS: &str = "chunks";

/// A failure injected into the next transaction, for tests (`Store.debugInjectFault`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The transaction is aborted after its requests are issued.
    Abort,
    /// The transaction is aborted and reported as a quota failure, as
    /// Chromium reports `QuotaExceededError`.
    Quota,
    /// The connection is closed before the transaction starts, as when the
    /// browser drops it; the backend must reopen and retry.
    ConnectionLost,
}

/// Counters for `health()` and for tests of group commit.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counters {
    pub transactions: u64,
    pub requests: u64,
    pub bytes_written: u64,
    pub reconnects: u64,
    pub coalesced_files: u64,
}

#[derive(Default)]
struct CommitState {
    /// Journal position known to be committed.
    durable: u64,
    /// A leader is writing a batch.
    in_flight: bool,
    /// Batches settled so far: a waiter is done once this moves on.
    settled: u64,
    /// Writers waiting for the batch in flight. Rust wakers, not a JS
    /// promise per waiter: with many writes in flight, a closure pair and a
    /// `then` per write were a visible share of a group commit's cost.
    waiters: Vec<Waker>,
    /// Set by the first failed transaction; never cleared (reopen instead).
    failed: Option<JsFailure>,
}

/// Why a transaction did not commit.
enum TxFailure {
    ConnectionLost(String),
    Quota(String),
    Other(String),
}

impl TxFailure {
    fn into_js(self, database: &str) -> JsFailure {
        match self {
            TxFailure::Quota(m) => {
                JsFailure::new(code::QUOTA, format!("IndexedDB quota exceeded while writing store '{database}': {m}"))
            }
            TxFailure::ConnectionLost(m) => {
                JsFailure::new(code::IO, format!("IndexedDB connection to '{database}' lost: {m}"))
            }
            TxFailure::Other(m) => {
                JsFailure::new(code::IO, format!("IndexedDB transaction on '{database}' failed: {m}"))
            }
        }
    }
}

/// An open connection and the handlers that watch it.
struct Connection {
    db: IdbDatabase,
    _on_close: Closure<dyn FnMut(web_sys::Event)>,
    _on_version_change: Closure<dyn FnMut(web_sys::Event)>,
}

pub struct IdbBackend {
    database: String,
    durability: DurabilityMode,
    files: Arc<JournaledFiles>,
    connection: RefCell<Option<Connection>>,
    /// Set by `onclose`/`onversionchange`: the connection is unusable.
    lost: Rc<Cell<bool>>,
    commit: RefCell<CommitState>,
    fault: Cell<Option<Fault>>,
    counters: Cell<Counters>,
}

fn factory() -> JsResult<IdbFactory> {
    lsmkv_indexeddb()
        .dyn_into::<IdbFactory>()
        .map_err(|_| JsFailure::new(code::UNSUPPORTED, "IndexedDB is not available here; use backend: 'memory'"))
}

/// Fails with `LSMKV_UNSUPPORTED` where there is no IndexedDB (Node).
pub fn check_available() -> JsResult<()> {
    factory().map(|_| ())
}

/// The database name of store `name`.
pub fn database_name(name: &str) -> String {
    format!("lsmkv:{name}")
}

/// Resolves when the request succeeds, rejects with its error event.
fn request_promise(request: &IdbRequest) -> Promise {
    Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    })
}

async fn await_request(request: &IdbRequest) -> Result<JsValue, String> {
    if let Err(event) = JsFuture::from(request_promise(request)).await {
        let why = request.error().ok().flatten().map(|e| describe_js(&e)).unwrap_or_else(|| describe_js(&event));
        return Err(why);
    }
    request.result().map_err(|e| describe_js(&e))
}

/// Opens (creating if needed) the database. Returns the connection and
/// whether it was just created.
async fn connect(database: &str, lost: &Rc<Cell<bool>>) -> JsResult<(Connection, bool)> {
    let io = |m: String| JsFailure::new(code::IO, format!("cannot open IndexedDB database '{database}': {m}"));
    let request: IdbOpenDbRequest =
        factory()?.open_with_u32(database, SCHEMA_VERSION).map_err(|e| io(describe_js(&e)))?;
    let created = Rc::new(Cell::new(false));
    let upgrade = {
        let (request, created) = (request.clone(), created.clone());
        Closure::<dyn FnMut(web_sys::IdbVersionChangeEvent)>::new(move |event: web_sys::IdbVersionChangeEvent| {
            created.set(event.old_version() == 0.0);
            if let Ok(db) = request.result().and_then(|r| r.dyn_into::<IdbDatabase>()) {
                let names = db.object_store_names();
                for store in [FILES, CHUNKS] {
                    if !names.contains(store) {
                        // A failure here aborts the upgrade; `open` then fails.
                        let _ = db.create_object_store(store);
                    }
                }
            }
        })
    };
    request.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
    let result = await_request(&request).await;
    request.set_onupgradeneeded(None);
    let db: IdbDatabase = result.map_err(io)?.dyn_into().map_err(|_| io("not a database".into()))?;
    lost.set(false);
    let on_close = {
        let lost = lost.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_| lost.set(true))
    };
    let on_version_change = {
        let (lost, db) = (lost.clone(), db.clone());
        // Another context wants to delete or upgrade the database: let it,
        // and reconnect (or fail clearly) at the next write.
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            lost.set(true);
            db.close();
        })
    };
    db.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    db.set_onversionchange(Some(on_version_change.as_ref().unchecked_ref()));
    Ok((Connection { db, _on_close: on_close, _on_version_change: on_version_change }, created.get()))
}

fn as_u64(value: &JsValue, what: &str) -> JsResult<u64> {
    value
        .as_f64()
        .filter(|n| n.fract() == 0.0 && *n >= 0.0 && *n <= 9_007_199_254_740_991.0)
        .map(|n| n as u64)
        .ok_or_else(|| JsFailure::new(code::CORRUPTION, format!("IndexedDB {what} is not a non-negative integer")))
}

/// Reads every file record and chunk in one read-only transaction.
async fn read_all(db: &IdbDatabase) -> JsResult<journal::Loaded> {
    let io = |m: String| JsFailure::new(code::IO, format!("cannot read IndexedDB: {m}"));
    let stores = Array::of2(&FILES.into(), &CHUNKS.into());
    let tx = db.transaction_with_str_sequence(&stores).map_err(|e| io(describe_js(&e)))?;
    let store = |name| tx.object_store(name).map_err(|e| io(describe_js(&e)));
    let (files, chunks) = (store(FILES)?, store(CHUNKS)?);
    let requests = [files.get_all_keys(), files.get_all(), chunks.get_all_keys(), chunks.get_all()];
    let mut results = Vec::with_capacity(4);
    for request in requests {
        let request = request.map_err(|e| io(describe_js(&e)))?;
        results.push(await_request(&request).await.map_err(io)?);
    }
    let arrays: Vec<Array> = results.into_iter().map(|r| r.unchecked_into()).collect();
    let records = parse_records(&arrays[0], &arrays[1])?;
    let chunks = parse_chunks(&arrays[2], &arrays[3])?;
    Ok(journal::load(records, chunks)?)
}

/// File records: `{ id }`, or `{ id, len }` in format 1 (see `journal::Record`).
fn parse_records(names: &Array, values: &Array) -> JsResult<Vec<journal::Record>> {
    let mut records = Vec::with_capacity(names.length() as usize);
    for (name, value) in names.iter().zip(values.iter()) {
        let name = name
            .as_string()
            .ok_or_else(|| JsFailure::new(code::CORRUPTION, "IndexedDB file record has a non-string name"))?;
        let field = |f: &str| Reflect::get(&value, &f.into()).unwrap_or(JsValue::UNDEFINED);
        let len = field("len");
        let len = if len.is_undefined() { None } else { Some(as_u64(&len, "file length")?) };
        records.push((name, as_u64(&field("id"), "file id")?, len));
    }
    Ok(records)
}

fn parse_chunks(keys: &Array, values: &Array) -> JsResult<Vec<(FileId, u64, Vec<u8>)>> {
    let mut chunks = Vec::with_capacity(keys.length() as usize);
    for (key, value) in keys.iter().zip(values.iter()) {
        let key: Array =
            key.dyn_into().map_err(|_| JsFailure::new(code::CORRUPTION, "IndexedDB chunk key is not [id, offset]"))?;
        let bytes = value
            .dyn_into::<Uint8Array>()
            .map_err(|_| JsFailure::new(code::CORRUPTION, "IndexedDB chunk is not a Uint8Array"))?;
        chunks.push((as_u64(&key.get(0), "chunk id")?, as_u64(&key.get(1), "chunk offset")?, bytes.to_vec()));
    }
    Ok(chunks)
}

fn chunk_key(id: FileId, offset: u64) -> Array {
    Array::of2(&JsValue::from_f64(id as f64), &JsValue::from_f64(offset as f64))
}

/// Issues one request in `tx`; returns the bytes it writes. `files` is
/// `None` when the transaction covers `chunks` only (`journal::chunks_only`).
fn issue(files: Option<&IdbObjectStore>, chunks: &IdbObjectStore, request: &Request) -> Result<u64, JsValue> {
    let files = || files.ok_or_else(|| JsValue::from_str("a file request in a chunks-only transaction"));
    match request {
        Request::PutFile { name, id } => {
            let record = Object::new();
            Reflect::set(&record, &"id".into(), &JsValue::from_f64(*id as f64))?;
            files()?.put_with_key(&record, &JsValue::from_str(name))?;
            Ok(0)
        }
        Request::DeleteFile { name } => files()?.delete(&JsValue::from_str(name)).map(|_| 0),
        Request::PutChunk { id, offset, data } => {
            chunks.put_with_key(&Uint8Array::from(data.as_slice()), &chunk_key(*id, *offset))?;
            Ok(data.len() as u64)
        }
        Request::DeleteChunks { id, from } => {
            let range = IdbKeyRange::bound(&chunk_key(*id, *from), &chunk_key(*id, u64::MAX))?;
            chunks.delete(&range).map(|_| 0)
        }
    }
}

/// Resolves on `complete`, rejects on `abort` (which also follows any
/// failed request).
fn transaction_promise(tx: &IdbTransaction) -> Promise {
    Promise::new(&mut |resolve, reject| {
        tx.set_oncomplete(Some(&resolve));
        tx.set_onabort(Some(&reject));
    })
}

fn error_name(error: &JsValue) -> String {
    Reflect::get(error, &"name".into()).ok().and_then(|n| n.as_string()).unwrap_or_default()
}

fn classify(error: &JsValue, lost: bool) -> TxFailure {
    let name = error_name(error);
    let text = describe_js(error);
    if name == "QuotaExceededError" || text.to_lowercase().contains("quota") {
        TxFailure::Quota(text)
    } else if lost || name == "InvalidStateError" {
        TxFailure::ConnectionLost(text)
    } else {
        TxFailure::Other(text)
    }
}

impl IdbBackend {
    /// Opens store `name`'s database and loads its files. Over-fragmented
    /// files are coalesced here, before the store is handed out.
    pub async fn open(name: &str, durability: DurabilityMode) -> JsResult<IdbBackend> {
        let database = database_name(name);
        let lost = Rc::new(Cell::new(false));
        let (connection, _created) = connect(&database, &lost).await?;
        let loaded = read_all(&connection.db).await?;
        let backend = IdbBackend {
            database,
            durability,
            files: Arc::new(JournaledFiles::default()),
            connection: RefCell::new(Some(connection)),
            lost,
            commit: RefCell::new(CommitState::default()),
            fault: Cell::new(None),
            counters: Cell::new(Counters::default()),
        };
        let coalesce = journal::coalesce_plan(&loaded);
        if !coalesce.is_empty() {
            backend.execute(&coalesce).await.map_err(|f| f.into_js(&backend.database))?;
            backend.update_counters(|c| c.coalesced_files += loaded.fragmented() as u64);
        }
        let files = JournaledFiles::from_loaded(loaded.files, loaded.next_id);
        Ok(IdbBackend { files: Arc::new(files), ..backend })
    }

    /// The files the engine runs on.
    pub fn files(&self) -> Arc<JournaledFiles> {
        self.files.clone()
    }

    pub fn counters(&self) -> Counters {
        self.counters.get()
    }

    pub fn durability(&self) -> DurabilityMode {
        self.durability
    }

    pub fn database(&self) -> &str {
        &self.database
    }

    /// The failure that stopped persistence, if any.
    pub fn failure(&self) -> Option<JsFailure> {
        self.commit.borrow().failed.clone()
    }

    pub fn inject_fault(&self, fault: Fault) {
        self.fault.set(Some(fault));
    }

    fn update_counters(&self, f: impl FnOnce(&mut Counters)) {
        let mut counters = self.counters.get();
        f(&mut counters);
        self.counters.set(counters);
    }

    /// Resolves once every mutation journaled before the call is committed
    /// to IndexedDB; rejects if the batch carrying any of them failed.
    pub async fn persist(&self) -> JsResult<()> {
        let target = self.files.journaled();
        loop {
            let in_flight = {
                let commit = self.commit.borrow();
                if commit.durable >= target {
                    return Ok(());
                }
                if let Some(failed) = &commit.failed {
                    return Err(failed.clone());
                }
                commit.in_flight
            };
            if in_flight {
                // The loop reads the outcome.
                self.settled().await;
            } else {
                self.lead().await;
            }
        }
    }

    /// Resolves when the batch in flight (if any) settles.
    async fn settled(&self) {
        let seen = {
            let commit = self.commit.borrow();
            if !commit.in_flight {
                return;
            }
            commit.settled
        };
        let mut slot: Option<usize> = None;
        poll_fn(|cx| {
            let mut commit = self.commit.borrow_mut();
            if commit.settled != seen {
                return Poll::Ready(());
            }
            // Polled again (same batch, so the list is the same): replace
            // this waiter's waker, do not pile up.
            match slot {
                Some(index) => commit.waiters[index].clone_from(cx.waker()),
                None => {
                    slot = Some(commit.waiters.len());
                    commit.waiters.push(cx.waker().clone());
                }
            }
            Poll::Pending
        })
        .await
    }

    /// Writes one batch: everything journaled once this tick's writers ran.
    async fn lead(&self) {
        self.commit.borrow_mut().in_flight = true;
        // Writes issued in the same tick run before this continuation.
        drop(JsFuture::from(Promise::resolve(&JsValue::UNDEFINED)).await);
        let batch = self.files.take_batch();
        let result = if batch.mutations.is_empty() {
            Ok(())
        } else {
            self.execute_with_reconnect(&journal::plan(batch.mutations)).await
        };
        let waiters = {
            let mut commit = self.commit.borrow_mut();
            match result {
                Ok(()) => commit.durable = batch.upto,
                Err(failure) => commit.failed = Some(failure.into_js(&self.database)),
            }
            commit.in_flight = false;
            commit.settled += 1;
            std::mem::take(&mut commit.waiters)
        };
        waiters.into_iter().for_each(Waker::wake);
    }

    /// Runs the requests; on a lost connection, reconnects and runs them once
    /// more (they are idempotent, and the lost transaction never committed).
    async fn execute_with_reconnect(&self, requests: &[Request]) -> Result<(), TxFailure> {
        match self.execute(requests).await {
            Err(TxFailure::ConnectionLost(first)) => {
                self.update_counters(|c| c.reconnects += 1);
                self.connection.borrow_mut().take();
                let (connection, created) = connect(&self.database, &self.lost)
                    .await
                    .map_err(|f| TxFailure::ConnectionLost(format!("{first}; reconnecting failed: {}", f.message)))?;
                if created {
                    // The database was deleted under us: writing this batch
                    // onto an empty database would make a broken store.
                    connection.db.close();
                    return Err(TxFailure::Other(format!(
                        "{first}; the database was deleted by another context while the store was open"
                    )));
                }
                *self.connection.borrow_mut() = Some(connection);
                self.execute(requests).await
            }
            other => other,
        }
    }

    /// Runs `requests` in one read-write transaction and waits for commit.
    async fn execute(&self, requests: &[Request]) -> Result<(), TxFailure> {
        let fault = self.fault.take();
        let db = match &*self.connection.borrow() {
            Some(connection) => connection.db.clone(),
            None => return Err(TxFailure::ConnectionLost("the connection is closed".into())),
        };
        if fault == Some(Fault::ConnectionLost) {
            db.close();
            self.lost.set(true);
        }
        // A transaction over fewer stores, with fewer requests, is cheaper to
        // create and to commit (BENCHMARKS.md, "Browser").
        let chunks_only = journal::chunks_only(requests);
        let stores = if chunks_only { Array::of1(&CHUNKS.into()) } else { Array::of2(&FILES.into(), &CHUNKS.into()) };
        let tx = lsmkv_transaction(&db, &stores, "readwrite", self.durability.as_str())
            .map_err(|e| classify(&e, self.lost.get()))?;
        let done = transaction_promise(&tx);
        let mut bytes = 0;
        let issued = (|| -> Result<(), JsValue> {
            let files = if chunks_only { None } else { Some(tx.object_store(FILES)?) };
            let chunks = tx.object_store(CHUNKS)?;
            for request in requests {
                bytes += issue(files.as_ref(), &chunks, request)?;
            }
            Ok(())
        })();
        if let Err(error) = issued {
            let _ = tx.abort();
            return Err(classify(&error, self.lost.get()));
        }
        if matches!(fault, Some(Fault::Abort | Fault::Quota)) {
            let _ = tx.abort();
        }
        self.update_counters(|c| {
            c.transactions += 1;
            c.requests += requests.len() as u64;
        });
        match JsFuture::from(done).await {
            Ok(_) => {
                self.update_counters(|c| c.bytes_written += bytes);
                Ok(())
            }
            Err(event) => {
                let error = tx.error().map(JsValue::from).unwrap_or(event);
                Err(match fault {
                    Some(Fault::Quota) => TxFailure::Quota("QuotaExceededError (injected by a test)".into()),
                    Some(Fault::Abort) => TxFailure::Other("AbortError (injected by a test)".into()),
                    _ => classify(&error, self.lost.get()),
                })
            }
        }
    }

    /// Waits for any transaction in flight, then closes the connection.
    pub async fn close(&self) {
        self.settled().await;
        if let Some(connection) = self.connection.borrow_mut().take() {
            connection.db.close();
        }
    }
}

/// Deletes store `name`'s database. The caller holds the store's lock.
pub async fn destroy(name: &str) -> JsResult<()> {
    let database = database_name(name);
    let request = factory()?
        .delete_database(&database)
        .map_err(|e| JsFailure::new(code::IO, format!("cannot delete '{database}': {}", describe_js(&e))))?;
    await_request(&request)
        .await
        .map(|_| ())
        .map_err(|m| JsFailure::new(code::IO, format!("cannot delete '{database}': {m}")))
}
