//! The few browser calls that are simpler in JS than through web-sys: Web
//! Locks (a lock is held while a callback's promise is pending), storage
//! estimates and persistence (reached through `navigator` in windows and
//! workers alike), and `IDBDatabase.transaction` with its options argument
//! (web-sys marks `IDBTransactionOptions` unstable).

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function lsmkv_lock_acquire(name, wait) {
  const locks = globalThis.navigator && globalThis.navigator.locks;
  if (!locks) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    locks.request(name, wait ? {} : { ifAvailable: true }, (lock) => {
      if (!lock) { resolve(null); return undefined; }
      // Held until release() resolves this promise.
      return new Promise((release) => resolve(release));
    }).catch(reject);
  });
}

export function lsmkv_storage_estimate() {
  const storage = globalThis.navigator && globalThis.navigator.storage;
  if (!storage || !storage.estimate) return Promise.resolve(null);
  return storage.estimate().then(
    (e) => ({ usage: e.usage ?? null, quota: e.quota ?? null }),
    () => null);
}

export function lsmkv_storage_persist(request) {
  const storage = globalThis.navigator && globalThis.navigator.storage;
  if (!storage || !storage.persisted) return Promise.resolve(null);
  const ask = request && storage.persist ? storage.persist() : storage.persisted();
  return ask.then((granted) => !!granted, () => null);
}

export function lsmkv_indexeddb() {
  return globalThis.indexedDB ?? null;
}

export function lsmkv_transaction(db, stores, mode, durability) {
  return db.transaction(stores, mode, { durability });
}
"#)]
extern "C" {
    /// Resolves to a release function, `null` if another holder has the lock
    /// (only when `wait` is false), or `undefined` without the Locks API.
    pub fn lsmkv_lock_acquire(name: &str, wait: bool) -> Promise;
    /// Resolves to `{ usage, quota }` or `null`.
    pub fn lsmkv_storage_estimate() -> Promise;
    /// Resolves to whether storage is persistent (asking first if
    /// `request`), or `null` without the API.
    pub fn lsmkv_storage_persist(request: bool) -> Promise;
    pub fn lsmkv_indexeddb() -> JsValue;
    #[wasm_bindgen(catch)]
    pub fn lsmkv_transaction(
        db: &web_sys::IdbDatabase,
        stores: &js_sys::Array,
        mode: &str,
        durability: &str,
    ) -> Result<web_sys::IdbTransaction, JsValue>;
}

/// Calls a release function from `lsmkv_lock_acquire`.
pub fn release_lock(release: &Function) {
    let _ = release.call0(&JsValue::UNDEFINED);
}
