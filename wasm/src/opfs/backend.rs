//! The OPFS backend: the slot pool (`slots.rs`, beside this file) over OPFS
//! `FileSystemSyncAccessHandle`s, inside a dedicated worker.
//!
//! Reads, appends, truncates and flushes are synchronous calls on open
//! handles, so the engine runs on real files: nothing is loaded at open and
//! a store may be larger than memory. What OPFS only offers asynchronously
//! (creating, opening and deleting files) happens between engine calls: the
//! pool is topped up before any call that may write, to at least the files
//! the engine says that call may need (`lsmkv::Options::footprint`), and
//! trimmed when far above it.
//!
//! Layout: `navigator.storage.getDirectory()` / `lsmkv-opfs` / store
//! directory (the store name, percent-encoded) / `slot-<n>` files.
//!
//! Durability: every `Store` write resolves after `flush()` of the WAL
//! (group commit: writes started in the same tick share one flush, and
//! their WAL records one `write` call). With `durability: 'relaxed'` the
//! flush is skipped: the bytes are still written to the file before the
//! promise resolves, so they survive the browser being killed, but not an OS
//! crash or power loss.
//!
//! One writer: sync access handles are exclusive, so a second opener (another
//! tab's worker) fails with `NoModificationAllowedError`, reported as
//! `LSMKV_LOCKED`; before that, the Web Lock `lsmkv-opfs:<name>` gives the
//! same answer (or waits, with `lock: 'wait'`).

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use js_sys::{Array, Promise, Reflect};
use lsmkv::{Db, IoKind};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{FileSystemReadWriteOptions, FileSystemSyncAccessHandle};

use super::slots::{directory_name, IoFailure, IoResult, Pool, PoolStorage, SlotFile};
use crate::js::error::{code, describe_js, JsFailure, JsResult};
use crate::js::options::DurabilityMode;

/// The OPFS directory holding every store's directory.
pub const ROOT: &str = "lsmkv-opfs";
const SLOT_PREFIX: &str = "slot-";

#[wasm_bindgen(module = "/js/opfs-files.js")]
extern "C" {
    /// The directory at `path` under the OPFS root (created if `create`).
    fn lsmkv_opfs_directory(path: &Array, create: bool) -> Promise;
    /// Names of the files (not directories) in `dir`.
    fn lsmkv_opfs_file_names(dir: &JsValue) -> Promise;
    /// Sync access handles for `names` in `dir`, opened in parallel.
    fn lsmkv_opfs_open_handles(dir: &JsValue, names: &Array, create: bool) -> Promise;
    /// Removes entry `name` of `dir`.
    fn lsmkv_opfs_remove(dir: &JsValue, name: &str, recursive: bool) -> Promise;
    /// True in a dedicated worker with OPFS sync access handles.
    pub fn lsmkv_opfs_sync_capable() -> bool;
}

/// One slot file: an open sync access handle.
pub struct OpfsFile(FileSystemSyncAccessHandle);

// SAFETY: `Storage` must be `Send + Sync` because natively the engine may
// call it from several threads. This crate's wasm build has no threads
// (wasm32-unknown-unknown without the atomics feature): every value, JS
// handles included, lives on the one thread of the worker that opened the
// store, and nothing can move it elsewhere. The pool's `Mutex` is then
// uncontended.
unsafe impl Send for OpfsFile {}

fn failure(error: JsValue) -> IoFailure {
    let name = Reflect::get(&error, &"name".into()).ok().and_then(|n| n.as_string()).unwrap_or_default();
    let kind = match name.as_str() {
        "QuotaExceededError" => IoKind::QuotaExceeded,
        "NoModificationAllowedError" => IoKind::Locked,
        "NotFoundError" => IoKind::NotFound,
        _ => IoKind::Other,
    };
    IoFailure::new(kind, describe_js(&error))
}

fn at(offset: u64) -> FileSystemReadWriteOptions {
    let options = FileSystemReadWriteOptions::new();
    options.set_at(offset as f64);
    options
}

impl SlotFile for OpfsFile {
    fn size(&self) -> IoResult<u64> {
        self.0.get_size().map(|n| n as u64).map_err(failure)
    }
    fn read(&self, offset: u64, buf: &mut [u8]) -> IoResult<usize> {
        self.0.read_with_u8_array_and_options(buf, &at(offset)).map(|n| n as usize).map_err(failure)
    }
    fn write(&self, offset: u64, data: &[u8]) -> IoResult<usize> {
        self.0.write_with_u8_array_and_options(data, &at(offset)).map(|n| n as usize).map_err(failure)
    }
    fn truncate(&self, size: u64) -> IoResult<()> {
        self.0.truncate_with_f64(size as f64).map_err(failure)
    }
    fn flush(&self) -> IoResult<()> {
        self.0.flush().map_err(failure)
    }
}

fn opfs_failure(store: &str, what: &str, error: &JsValue) -> JsFailure {
    let f = failure(error.clone());
    match f.kind {
        IoKind::Locked => JsFailure::new(
            code::LOCKED,
            format!(
                "store '{store}' (OPFS) is open in another tab or worker: its files' access handles are exclusive ({})",
                f.message
            ),
        ),
        IoKind::QuotaExceeded => {
            JsFailure::new(code::QUOTA, format!("OPFS quota exceeded while {what}: {}", f.message))
        }
        _ => JsFailure::new(code::IO, format!("OPFS failed while {what} for store '{store}': {}", f.message)),
    }
}

async fn directory(path: &[&str], create: bool) -> Result<JsValue, JsValue> {
    let path: Array = path.iter().map(|p| JsValue::from_str(p)).collect();
    JsFuture::from(lsmkv_opfs_directory(&path, create)).await
}

async fn open_handles(dir: &JsValue, names: &[String], create: bool) -> Result<Vec<OpfsFile>, JsValue> {
    let names: Array = names.iter().map(|n| JsValue::from_str(n)).collect();
    let handles: Array = JsFuture::from(lsmkv_opfs_open_handles(dir, &names, create)).await?.unchecked_into();
    Ok(handles.iter().map(|h| OpfsFile(h.unchecked_into())).collect())
}

fn slot_name(id: u64) -> String {
    format!("{SLOT_PREFIX}{id:06}")
}

fn slot_id(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(SLOT_PREFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // The last id is never used (no id would follow it): not a slot of ours.
    digits.parse().ok().filter(|&id| id < u64::MAX)
}

/// Counters the backend keeps beside the pool's.
#[derive(Clone, Copy, Debug, Default)]
pub struct BackendCounters {
    pub wal_syncs: u64,
    pub slots_added: u64,
    pub slots_removed: u64,
}

pub struct OpfsBackend {
    store: String,
    directory: String,
    dir: JsValue,
    files: Arc<PoolStorage<OpfsFile>>,
    durability: DurabilityMode,
    /// The engine's options: what a call may need is theirs to say.
    engine: lsmkv::Options,
    next_id: Cell<u64>,
    /// A top-up in progress: later writers wait for it, in order.
    topping_up: RefCell<Option<Promise>>,
    /// Set when a write failed: the store then refuses use until reopened.
    failed: RefCell<Option<JsFailure>>,
    counters: Cell<BackendCounters>,
}

/// Fails with `LSMKV_UNSUPPORTED` outside a dedicated worker with OPFS.
pub fn check_sync_capable() -> JsResult<()> {
    if lsmkv_opfs_sync_capable() {
        Ok(())
    } else {
        Err(JsFailure::new(
            code::UNSUPPORTED,
            "OPFS sync access handles are only available in a dedicated worker of a secure context",
        ))
    }
}

/// Deletes store `name`'s OPFS directory (nothing to do if it is absent).
pub async fn destroy(name: &str) -> JsResult<()> {
    let root = match directory(&[ROOT], false).await {
        Ok(root) => root,
        Err(e) if failure(e.clone()).kind == IoKind::NotFound => return Ok(()),
        Err(e) => return Err(opfs_failure(name, "opening the OPFS root", &e)),
    };
    match JsFuture::from(lsmkv_opfs_remove(&root, &directory_name(name), true)).await {
        Ok(_) => Ok(()),
        Err(e) if failure(e.clone()).kind == IoKind::NotFound => Ok(()),
        Err(e) => Err(opfs_failure(name, "deleting the store's directory", &e)),
    }
}

/// An engine call about to run, as far as the file pool cares.
#[derive(Clone, Copy, Debug)]
pub enum Call {
    /// Opening the store: recovery may flush a replayed WAL and compact.
    Open,
    /// A call writing `entries` entries of about `bytes` key and value bytes
    /// (flush and compactions count as a write of nothing: they may still
    /// rewrite every table).
    Write { entries: usize, bytes: usize },
}

impl OpfsBackend {
    /// Opens every slot file of store `name` and loads the pool (repairing
    /// what a crash left).
    pub async fn open(name: &str, durability: DurabilityMode, engine: &lsmkv::Options) -> JsResult<OpfsBackend> {
        check_sync_capable()?;
        let directory_name = directory_name(name);
        let dir = directory(&[ROOT, &directory_name], true)
            .await
            .map_err(|e| opfs_failure(name, "opening the store's directory", &e))?;
        let names: Array = JsFuture::from(lsmkv_opfs_file_names(&dir))
            .await
            .map_err(|e| opfs_failure(name, "listing the store's directory", &e))?
            .unchecked_into();
        let mut slots: Vec<(u64, String)> =
            names.iter().filter_map(|n| n.as_string()).filter_map(|n| Some((slot_id(&n)?, n))).collect();
        slots.sort_unstable();
        let physical: Vec<String> = slots.iter().map(|(_, n)| n.clone()).collect();
        let handles = open_handles(&dir, &physical, false)
            .await
            .map_err(|e| opfs_failure(name, "opening the store's files", &e))?;
        let next_id = slots.last().map(|(id, _)| id + 1).unwrap_or(1);
        let files: Vec<(u64, OpfsFile)> = slots.iter().map(|(id, _)| *id).zip(handles).collect();
        let pool = match Pool::load(files) {
            Ok(pool) => pool,
            Err(error) => return Err(error.into()),
        };
        Ok(OpfsBackend {
            store: name.to_string(),
            directory: format!("{ROOT}/{directory_name}"),
            dir,
            files: Arc::new(PoolStorage::new(pool)),
            durability,
            engine: engine.clone(),
            next_id: Cell::new(next_id),
            topping_up: RefCell::new(None),
            failed: RefCell::new(None),
            counters: Cell::new(BackendCounters::default()),
        })
    }

    /// The files the engine runs on.
    pub fn files(&self) -> Arc<PoolStorage<OpfsFile>> {
        self.files.clone()
    }

    pub fn directory(&self) -> &str {
        &self.directory
    }

    pub fn durability(&self) -> DurabilityMode {
        self.durability
    }

    pub fn counters(&self) -> BackendCounters {
        self.counters.get()
    }

    pub fn failure(&self) -> Option<JsFailure> {
        self.failed.borrow().clone()
    }

    pub fn fail(&self, failure: JsFailure) {
        self.failed.borrow_mut().get_or_insert(failure);
    }

    fn update(&self, f: impl FnOnce(&mut BackendCounters)) {
        let mut counters = self.counters.get();
        f(&mut counters);
        self.counters.set(counters);
    }

    /// Free slots `call` may need, by the engine's own bound.
    fn free_slots_wanted(&self, call: Call) -> usize {
        let (live, bytes) = self.files.with(|p| (p.live_files(), p.data_bytes()));
        let footprint = match call {
            Call::Open => self.engine.open_footprint(live, bytes),
            Call::Write { entries, bytes: written } => self.engine.footprint(live, bytes, entries, written),
        };
        footprint.files
    }

    /// True if `call` can start now: enough free slots and no top-up in progress.
    pub fn ready(&self, call: Call) -> bool {
        let free = self.files.with(|p| p.free_slots());
        self.topping_up.borrow().is_none() && free >= self.free_slots_wanted(call)
    }

    /// Waits until `call` can start:
    /// tops the pool up if needed (callers arriving meanwhile wait for the
    /// same top-up, and resume in the order they arrived). Trims a pool far
    /// larger than needed.
    pub async fn prepare(&self, call: Call) -> JsResult<()> {
        loop {
            let in_flight = self.topping_up.borrow().clone();
            if let Some(in_flight) = in_flight {
                // The top-up's outcome is read from the pool on the next turn.
                let _ = JsFuture::from(in_flight).await;
                continue;
            }
            let free = self.files.with(|p| p.free_slots());
            let wanted = self.free_slots_wanted(call);
            if free >= wanted {
                if free > 4 * wanted + 64 {
                    self.trim(free - 2 * wanted).await;
                }
                return Ok(());
            }
            // Take a bit more than needed, so the next calls need no top-up.
            let count = (wanted - free) + wanted / 2;
            let first = self.next_id.get();
            self.next_id.set(first + count as u64);
            let names: Vec<String> = (first..first + count as u64).map(slot_name).collect();
            let opening = wasm_bindgen_futures::future_to_promise({
                let dir = self.dir.clone();
                async move {
                    let handles = open_handles(&dir, &names, true).await?;
                    let handles: Array = handles.into_iter().map(|f| JsValue::from(f.0)).collect();
                    Ok(handles.into())
                }
            });
            *self.topping_up.borrow_mut() = Some(opening.clone());
            let opened = JsFuture::from(opening).await;
            *self.topping_up.borrow_mut() = None;
            match opened {
                Ok(handles) => {
                    let handles: Array = handles.unchecked_into();
                    self.files.with(|p| {
                        for (i, handle) in handles.iter().enumerate() {
                            p.add_free(first + i as u64, OpfsFile(handle.unchecked_into()));
                        }
                    });
                    self.update(|c| c.slots_added += count as u64);
                }
                Err(e) => return Err(opfs_failure(&self.store, "adding files to the store's pool", &e)),
            }
        }
    }

    /// Closes and deletes `count` free slot files (best effort: a file that
    /// cannot be deleted stays, closed, and is picked up at the next open).
    async fn trim(&self, count: usize) {
        let taken = self.files.with(|p| p.take_free(count));
        let removed = taken.len() as u64;
        for (id, file) in taken {
            file.0.close();
            let _ = JsFuture::from(lsmkv_opfs_remove(&self.dir, &slot_name(id), false)).await;
        }
        self.update(|c| c.slots_removed += removed);
    }

    /// Makes every write so far durable: yields once, so that every write
    /// started in the same tick is applied first, then flushes the WAL once
    /// for all of them (the engine skips the flush when an earlier caller's
    /// already covered it).
    pub async fn persist(&self, db: &Db) -> JsResult<()> {
        if let Some(failed) = self.failure() {
            return Err(failed);
        }
        let _ = JsFuture::from(Promise::resolve(&JsValue::UNDEFINED)).await;
        if let Some(failed) = self.failure() {
            return Err(failed);
        }
        if self.durability == DurabilityMode::Relaxed {
            // Written to the files (the OS has them), not flushed.
            return self.files.with(|p| p.write_out_all()).map_err(|error| {
                let failure = JsFailure::from(error);
                self.fail(failure.clone());
                failure
            });
        }
        let before = self.files.with(|p| p.counters().flushes);
        match db.sync() {
            Ok(()) => {
                if self.files.with(|p| p.counters().flushes) > before {
                    self.update(|c| c.wal_syncs += 1);
                }
                Ok(())
            }
            Err(error) => {
                let failure = JsFailure::from(error);
                self.fail(failure.clone());
                Err(failure)
            }
        }
    }

    /// Closes every handle (after the engine closed: nothing is pending).
    pub fn close(&self) {
        for file in self.files.with(|p| p.drain()) {
            file.0.close();
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JsOpfsHealth<'a> {
    directory: &'a str,
    durability: &'static str,
    files: usize,
    data_bytes: u64,
    slots: usize,
    free_slots: usize,
    slots_added: u64,
    slots_removed: u64,
    wal_syncs: u64,
    flushes: u64,
    header_writes: u64,
    bytes_written: u64,
    bytes_read: u64,
    append_writes: u64,
    stale_slots_freed: u64,
    free_slots_cleaned: u64,
    failure: Option<String>,
}

impl OpfsBackend {
    pub fn health(&self) -> JsOpfsHealth<'_> {
        let (files, data_bytes, slots, free_slots, pool) =
            self.files.with(|p| (p.live_files(), p.data_bytes(), p.slot_count(), p.free_slots(), p.counters()));
        let c = self.counters();
        JsOpfsHealth {
            directory: &self.directory,
            durability: self.durability.as_str(),
            files,
            data_bytes,
            slots,
            free_slots,
            slots_added: c.slots_added,
            slots_removed: c.slots_removed,
            wal_syncs: c.wal_syncs,
            flushes: pool.flushes,
            header_writes: pool.header_writes,
            bytes_written: pool.bytes_written,
            bytes_read: pool.bytes_read,
            append_writes: pool.append_writes,
            stale_slots_freed: pool.stale_slots_freed,
            free_slots_cleaned: pool.free_slots_cleaned,
            failure: self.failure().map(|f| f.message),
        }
    }
}
