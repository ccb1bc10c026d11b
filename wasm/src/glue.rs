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

const lsmkvDecoder = new TextDecoder('utf-8');
function lsmkvText(bytes, start, end) {
  // Short ASCII (most keys): String.fromCharCode is several times faster
  // than a TextDecoder call on a subarray.
  if (end - start <= 64) {
    const codes = new Array(end - start);
    for (let i = start; i < end; i++) {
      const c = bytes[i];
      if (c > 0x7f) return lsmkvDecoder.decode(bytes.subarray(start, end));
      codes[i - start] = c;
    }
    return String.fromCharCode.apply(null, codes);
  }
  return lsmkvDecoder.decode(bytes.subarray(start, end));
}

// [key, value] pairs from one buffer: entry i is the key bytes up to
// ends[2i], then the stored value (tag byte + payload) up to ends[2i + 1].
// flags[i] & 1: the key comes back as a string. `bytes` is a view of wasm
// memory, valid during this call only: everything returned is copied.
export function lsmkv_entries(bytes, ends, flags) {
  const out = new Array(flags.length);
  let at = 0;
  for (let i = 0; i < flags.length; i++) {
    const keyEnd = ends[2 * i], valueEnd = ends[2 * i + 1];
    const key = flags[i] & 1 ? lsmkvText(bytes, at, keyEnd) : bytes.slice(at, keyEnd);
    const tag = bytes[keyEnd];
    const value = tag === 0 ? bytes.slice(keyEnd + 1, valueEnd)
      : tag === 1 ? lsmkvText(bytes, keyEnd + 1, valueEnd)
      : JSON.parse(lsmkvText(bytes, keyEnd + 1, valueEnd));
    out[i] = [key, value];
    at = valueEnd;
  }
  return out;
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
    /// `[key, value][]` from entries laid out by `codec::entries_to_js`;
    /// throws only if a JSON value does not parse.
    #[wasm_bindgen(catch)]
    pub fn lsmkv_entries(bytes: &[u8], ends: &[u32], flags: &[u8]) -> Result<JsValue, JsValue>;
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
