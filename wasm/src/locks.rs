//! Web Locks: one writer per store across tabs and workers. An IndexedDB
//! store holds `lsmkv:<name>`, an OPFS store `lsmkv-opfs:<name>` (a
//! different store from the IndexedDB one of the same name), from open
//! until close or until its page or worker goes away.

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::js::error::{code, describe_js, JsFailure, JsResult};
use crate::js::options::LockMode;

#[wasm_bindgen(module = "/js/browser.js")]
extern "C" {
    /// Resolves to a release function, `null` if another holder has the lock
    /// (only when `wait` is false), or `undefined` without the Locks API.
    fn lsmkv_lock_acquire(name: &str, wait: bool) -> Promise;
}

/// The lock guarding IndexedDB store `name`.
pub fn indexeddb(name: &str) -> String {
    format!("lsmkv:{name}")
}

/// The lock guarding OPFS store `name`.
pub fn opfs(name: &str) -> String {
    format!("lsmkv-opfs:{name}")
}

/// A held Web Lock; `release` lets the next holder in.
pub struct Lock(Function);

impl Lock {
    pub fn release(&self) {
        let _ = self.0.call0(&JsValue::UNDEFINED);
    }
}

/// Takes lock `lock` for store `name`: fails with `LSMKV_LOCKED` if another
/// tab or worker holds it (unless `mode` says to wait), `LSMKV_UNSUPPORTED`
/// without the Web Locks API.
pub async fn acquire(lock: &str, name: &str, mode: LockMode) -> JsResult<Lock> {
    let outcome = JsFuture::from(lsmkv_lock_acquire(lock, mode == LockMode::Wait))
        .await
        .map_err(|e| JsFailure::new(code::IO, format!("Web Locks request failed: {}", describe_js(&e))))?;
    if outcome.is_undefined() {
        return Err(JsFailure::new(
            code::UNSUPPORTED,
            "the Web Locks API is not available, so one writer per store cannot be guaranteed",
        ));
    }
    outcome.dyn_into::<Function>().map(Lock).map_err(|_| {
        JsFailure::new(
            code::LOCKED,
            format!("store '{name}' is open in another tab or worker (pass lock: 'wait' to wait)"),
        )
    })
}
