// lsmkv-wasm's browser calls that are simpler in JS than through web-sys:
// Web Locks (a lock is held while a callback's promise is pending), storage
// estimates and persistence (through `navigator` in windows and workers
// alike), `[key, value]` pairs decoded in one call, `IDBDatabase.transaction`
// with its options argument (web-sys marks `IDBTransactionOptions` unstable),
// and the IndexedDB wipe marker in `localStorage`. Each Rust module binds the
// functions it uses; they share this one snippet, so a page loads one module
// for all of them.

// Web Locks (src/locks.rs).
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

// Persistent storage (src/local.rs).
export function lsmkv_storage_persist(request) {
  const storage = globalThis.navigator && globalThis.navigator.storage;
  if (!storage || !storage.persisted) return Promise.resolve(null);
  const ask = request && storage.persist ? storage.persist() : storage.persisted();
  return ask.then((granted) => !!granted, () => null);
}

// The storage estimate (src/health.rs).
export function lsmkv_storage_estimate() {
  const storage = globalThis.navigator && globalThis.navigator.storage;
  if (!storage || !storage.estimate) return Promise.resolve(null);
  return storage.estimate().then(
    (e) => ({ usage: e.usage ?? null, quota: e.quota ?? null }),
    () => null);
}

// Entries for range and next (src/js/codec.rs).
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

// IndexedDB (src/idb/backend.rs).
export function lsmkv_indexeddb() {
  return globalThis.indexedDB ?? null;
}

export function lsmkv_transaction(db, stores, mode, durability) {
  return db.transaction(stores, mode, { durability });
}

// The wipe marker where OPFS is missing, and the wipe event (src/idb/wipe.rs).
export function lsmkv_local_marker(key, action) {
  let storage;
  try { storage = globalThis.localStorage; } catch { return null; }
  if (!storage) return null;
  if (action === 'create') { storage.setItem(key, String(Date.now())); return true; }
  if (action === 'remove') { const had = storage.getItem(key) !== null; storage.removeItem(key); return had; }
  return storage.getItem(key) !== null;
}

export function lsmkv_announce_wipe(detail) {
  try {
    console.warn(`lsmkv: ${detail.message}`);
    if (typeof CustomEvent === 'function' && typeof globalThis.dispatchEvent === 'function') {
      globalThis.dispatchEvent(new CustomEvent('lsmkv-wipe', { detail }));
    }
  } catch {}
}
