//! `health()`: the engine's status plus the backend's (storage estimate,
//! persistence, IndexedDB transactions and failures, a detected wipe, OPFS
//! files and flushes).

use js_sys::{Promise, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::engine::Engine;
use crate::js::error::JsResult;
use crate::js::report::{engine_health, to_js};
use crate::local::{Backend, Local};
use crate::ops::Op;
use crate::promise::promise;

#[wasm_bindgen(module = "/js/browser.js")]
extern "C" {
    /// Resolves to `{ usage, quota }` or `null`.
    fn lsmkv_storage_estimate() -> Promise;
}

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
    wipe: Option<&'a crate::idb::wipe::WipeReport>,
    opfs: Option<crate::opfs::JsOpfsHealth<'a>>,
}

/// `health()` of a store, wherever its engine runs. Never rejects (except
/// on a remote store whose worker is gone).
pub fn health(engine: &Engine) -> Promise {
    match engine {
        Engine::Local(local) => {
            let local = local.clone();
            promise(async move { local_health(&local).await })
        }
        Engine::Remote(remote) if remote.is_closed() => promise(closed_remote_health()),
        Engine::Remote(remote) => remote.call(Op::Health, &[]),
    }
}

async fn local_health(inner: &Local) -> JsResult<JsValue> {
    let engine = inner.db().health();
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
    let opfs = match inner.backend() {
        Backend::Opfs(backend) => Some(backend.health()),
        Backend::Memory | Backend::Idb(_) => None,
    };
    let wipe = inner.wipe();
    let object = to_js(&JsHealth {
        status,
        reason,
        wal_tail_truncations: engine.wal_tail_truncations,
        last_seq: engine.last_seq,
        backend: inner.backend().name(),
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
    with_storage(object).await
}

/// `health()` of an OPFS store whose worker was stopped by `close()`.
async fn closed_remote_health() -> JsResult<JsValue> {
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
    with_storage(object).await
}

/// `object` with `storage`: the whole origin's use and quota (null where unknown).
async fn with_storage(object: JsValue) -> JsResult<JsValue> {
    let estimate = JsFuture::from(lsmkv_storage_estimate()).await.unwrap_or(JsValue::NULL);
    let _ = Reflect::set(&object, &"storage".into(), &estimate);
    Ok(object)
}
