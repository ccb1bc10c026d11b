//! `health()`: the engine's status plus the backend's (storage estimate,
//! persistence, IndexedDB transactions and failures, a detected wipe, OPFS
//! files and flushes).

use js_sys::Reflect;
use lsmkv::Db;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::error::JsResult;
use crate::glue;
use crate::report::{engine_health, to_js};
use crate::store::{Backend, Inner};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsPersistence<'a> {
    database: &'a str,
    durability: &'static str,
    transactions: u64,
    requests: u64,
    bytes_written: u64,
    reconnects: u64,
    coalesced_files: u64,
    failure: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsHealth<'a> {
    status: &'static str,
    reason: Option<String>,
    wal_tail_truncations: u64,
    last_seq: u64,
    backend: &'static str,
    persisted: Option<bool>,
    indexeddb: Option<JsPersistence<'a>>,
    /// IndexedDB only: where the wipe marker lives (`null` otherwise).
    wipe_detection: Option<&'static str>,
    /// IndexedDB only: the database was deleted since the last session.
    wipe: Option<&'a crate::wipe::WipeReport>,
    opfs: Option<crate::opfs::JsOpfsHealth<'a>>,
}

pub async fn health(inner: &Inner, db: &Db) -> JsResult<JsValue> {
    let engine = db.health();
    let engine = engine_health(&engine);
    let failure = inner.failure();
    let (status, reason) = if inner.is_closed() {
        ("closed", None)
    } else if let Some(failure) = &failure {
        ("readOnly", Some(failure.message.clone()))
    } else {
        (engine.status, engine.reason.map(str::to_string))
    };
    let counters_durability = match inner.backend() {
        Backend::Idb(backend) => Some((backend.counters(), backend.durability(), backend.database())),
        Backend::Memory | Backend::Opfs(_) => None,
    };
    let (backend, opfs) = match inner.backend() {
        Backend::Idb(_) => ("indexeddb", None),
        Backend::Memory => ("memory", None),
        Backend::Opfs(backend) => ("opfs", Some(backend.health())),
    };
    let wipe = inner.wipe();
    let object = to_js(&JsHealth {
        status,
        reason,
        wal_tail_truncations: engine.wal_tail_truncations,
        last_seq: engine.last_seq,
        backend,
        persisted: inner.persisted(),
        indexeddb: counters_durability.map(|(c, durability, database)| JsPersistence {
            database,
            durability: durability.as_str(),
            transactions: c.transactions,
            requests: c.requests,
            bytes_written: c.bytes_written,
            reconnects: c.reconnects,
            coalesced_files: c.coalesced_files,
            failure: failure.as_ref().map(|f| f.message.as_str()),
        }),
        wipe_detection: wipe.map(|w| w.detection),
        wipe: wipe.and_then(|w| w.detected.as_ref()),
        opfs,
    })?;
    // Storage use and quota of the whole origin (null where unknown).
    let estimate = JsFuture::from(glue::lsmkv_storage_estimate()).await.unwrap_or(JsValue::NULL);
    let _ = Reflect::set(&object, &"storage".into(), &estimate);
    Ok(object)
}

/// `health()` of an OPFS store whose worker was stopped by `close()`.
pub async fn closed_remote_health() -> JsResult<JsValue> {
    let object = to_js(&JsHealth {
        status: "closed",
        reason: None,
        wal_tail_truncations: 0,
        last_seq: 0,
        backend: "opfs",
        persisted: None,
        indexeddb: None,
        wipe_detection: None,
        wipe: None,
        opfs: None,
    })?;
    let estimate = JsFuture::from(glue::lsmkv_storage_estimate()).await.unwrap_or(JsValue::NULL);
    let _ = Reflect::set(&object, &"storage".into(), &estimate);
    Ok(object)
}
