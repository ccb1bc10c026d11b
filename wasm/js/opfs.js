// lsmkv-wasm's OPFS support, in JS: the asynchronous OPFS calls the Rust
// side awaits, the dedicated worker that runs a store on OPFS, and the
// proxy a page uses to talk to it.
//
// This file is a wasm-bindgen snippet (`#[wasm_bindgen(module = "/js/opfs.js")]`),
// so it ships inside every build of the package, next to the glue:
// `snippets/lsmkv-wasm-<hash>/js/opfs.js` in `wasm-pack build --target web`
// output and in Trunk's `dist/`. It is also the worker's script:
// `Store.open(name, { backend: 'opfs' })` in a page starts
// `new Worker(<this file>, { type: 'module', name: 'lsmkv-opfs' })`, sends it
// the already compiled `WebAssembly.Module` and the URL of the glue module
// that called in, and the worker imports that same glue, instantiates the
// module, and opens the store on OPFS sync access handles. Nothing else has
// to be served or configured; with a bundler that renames or merges the glue,
// pass `opfsGlueUrl` (the URL of the package's `lsmkv_wasm.js`).

const WORKER_NAME = 'lsmkv-opfs';

// ---- asynchronous OPFS calls (used by the Rust side, in the worker) ----

export async function lsmkv_opfs_directory(path, create) {
  let dir = await navigator.storage.getDirectory();
  for (const name of path) dir = await dir.getDirectoryHandle(name, { create });
  return dir;
}

export async function lsmkv_opfs_file_names(dir) {
  const names = [];
  for await (const [name, handle] of dir.entries()) if (handle.kind === 'file') names.push(name);
  return names;
}

/** Opens sync access handles in parallel; on any failure closes the rest and rethrows. */
export async function lsmkv_opfs_open_handles(dir, names, create) {
  const results = await Promise.allSettled(
    names.map(async (name) => (await dir.getFileHandle(name, { create })).createSyncAccessHandle()));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) {
    for (const r of results) if (r.status === 'fulfilled') r.value.close();
    throw failed.reason;
  }
  return results.map((r) => r.value);
}

export async function lsmkv_opfs_remove(dir, name, recursive) {
  await dir.removeEntry(name, { recursive });
}

/** A file's existence as a marker (the IndexedDB backend's wipe detection). */
export async function lsmkv_opfs_marker(path, name, action) {
  const storage = globalThis.navigator && globalThis.navigator.storage;
  if (!storage || !storage.getDirectory) return null;
  let dir;
  try {
    dir = await lsmkv_opfs_directory(path, action === 'create');
  } catch (error) {
    if (error && error.name === 'NotFoundError') return false;
    throw error;
  }
  try {
    if (action === 'remove') {
      await dir.removeEntry(name);
      return true;
    }
    await dir.getFileHandle(name, { create: action === 'create' });
    return true;
  } catch (error) {
    if (error && error.name === 'NotFoundError') return false;
    throw error;
  }
}

// ---- where the store can run ----

function inDedicatedWorker() {
  return typeof DedicatedWorkerGlobalScope === 'function' && globalThis instanceof DedicatedWorkerGlobalScope;
}

/** True where a store can open OPFS files itself: a dedicated worker. */
export function lsmkv_opfs_sync_capable() {
  return inDedicatedWorker() && typeof FileSystemSyncAccessHandle === 'function'
    && !!(globalThis.navigator && navigator.storage && navigator.storage.getDirectory);
}

/** True where a store can run in a worker of its own (a page, a worker). */
export function lsmkv_opfs_spawn_capable() {
  return typeof Worker === 'function' && !!(globalThis.navigator && navigator.storage && navigator.storage.getDirectory);
}

/**
 * The URL of the JS module that called into wasm: the wasm-bindgen glue
 * (`lsmkv_wasm.js`, or Trunk's hashed copy). Read from the call stack, the
 * only place a module imported by the glue can learn the glue's URL.
 */
export function lsmkv_glue_url() {
  const own = new URL(import.meta.url).href;
  // Any script URL but this file's and the wasm's (the runner of wasm-bindgen tests serves its glue without an extension).
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 64;
  const stack = String(new Error().stack || '');
  Error.stackTraceLimit = limit;
  for (const match of stack.matchAll(/((?:https?|file|blob):[^\s()@]+?):\d+:\d+/g)) {
    const url = match[1];
    if (url !== own && !url.includes('.wasm')) return url;
  }
  return null;
}

// ---- the page side: a proxy whose every call is one message, one promise ----

function coded(code, message) {
  const error = new Error(message);
  error.name = 'LsmkvError';
  error.code = code;
  return error;
}

function isPlain(value) {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Transferring a buffer costs more than copying a small one: only buffers
 * of at least this many bytes are transferred.
 */
const TRANSFER_MIN = 16 * 1024;

/**
 * Copies arguments now (so a caller changing its objects or bytes after the
 * call cannot change the write), with every `Uint8Array` copied into a
 * buffer of its own; large ones are then transferred to the worker, not
 * copied again.
 */
function snapshotArgs(value, transfer) {
  if (value instanceof Uint8Array) {
    const copy = value.slice();
    if (copy.byteLength >= TRANSFER_MIN) transfer.push(copy.buffer);
    return copy;
  }
  if (Array.isArray(value)) return value.map((v) => snapshotArgs(v, transfer));
  if (isPlain(value)) {
    const out = {};
    for (const key of Object.keys(value)) out[key] = snapshotArgs(value[key], transfer);
    return out;
  }
  if (typeof WebAssembly === 'object' && value instanceof WebAssembly.Module) return value;
  if (value !== null && typeof value === 'object') return structuredClone(value);
  return value;
}

/** Buffers of the `Uint8Array`s in a result that own their whole buffer. */
function transferables(value, out = new Set(), depth = 0) {
  if (value instanceof Uint8Array) {
    const buffer = value.buffer;
    if (buffer instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === buffer.byteLength
      && value.byteLength >= TRANSFER_MIN) out.add(buffer);
  } else if (depth < 4 && Array.isArray(value)) {
    for (const v of value) transferables(v, out, depth + 1);
  } else if (depth < 4 && isPlain(value)) {
    for (const v of Object.values(value)) transferables(v, out, depth + 1);
  }
  return out;
}

export class LsmkvRemote {
  constructor(worker) {
    this.worker = worker;
    this.pending = new Map();
    this.nextId = 1;
    this.calls = [];
    this.transfer = [];
    this.failure = null;
    worker.onmessage = (event) => this.receive(event.data);
    worker.onerror = (event) => {
      if (event && event.preventDefault) event.preventDefault();
      this.fail('LSMKV_IO', `the OPFS worker failed: ${(event && event.message) || 'it could not be started (script or module error)'}`);
    };
    worker.onmessageerror = () => this.fail('LSMKV_IO', 'a message from the OPFS worker could not be read');
  }

  /** Sends `op(...args)` to the worker; resolves or rejects with its reply. */
  call(op, args) {
    if (this.failure) return Promise.reject(coded(this.failure.code, this.failure.message));
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.enqueue(id, op, args);
    });
  }

  /** Sends `op(...args)` without waiting for a reply (releases, closes of handles). */
  post(op, args) {
    if (!this.failure) this.enqueue(0, op, args);
  }

  enqueue(id, op, args) {
    let copied;
    const transfer = [];
    try {
      copied = snapshotArgs(args, transfer);
    } catch (error) {
      this.settle(id, { error: { code: 'LSMKV_INVALID_ARGUMENT', message: `an argument cannot be sent to the OPFS worker: ${error.message}` } });
      return;
    }
    this.calls.push({ id, op, args: copied });
    this.transfer.push(...transfer);
    // Every call of this tick goes in one message: the worker starts them
    // together, so their writes share one flush.
    if (this.calls.length === 1) queueMicrotask(() => this.send());
  }

  send() {
    const calls = this.calls;
    const transfer = this.transfer;
    this.calls = [];
    this.transfer = [];
    try {
      this.worker.postMessage({ calls }, transfer);
    } catch (error) {
      for (const call of calls) {
        this.settle(call.id, { error: { code: 'LSMKV_INVALID_ARGUMENT', message: `cannot send to the OPFS worker: ${error.message}` } });
      }
    }
  }

  receive(message) {
    for (const reply of message.replies) this.settle(reply.id, reply);
  }

  settle(id, reply) {
    const waiter = this.pending.get(id);
    if (!waiter) return;
    this.pending.delete(id);
    if (reply.error) waiter.reject(coded(reply.error.code, reply.error.message));
    else waiter.resolve(reply.ok);
  }

  fail(code, message) {
    if (!this.failure) this.failure = { code, message };
    for (const waiter of this.pending.values()) waiter.reject(coded(code, message));
    this.pending.clear();
    this.worker.terminate();
  }

  /** Stops the worker; later calls reject with `LSMKV_CLOSED`. */
  terminate(message) {
    if (!this.failure) this.failure = { code: 'LSMKV_CLOSED', message };
    this.worker.terminate();
  }
}

/**
 * Starts a worker for store `name` and opens it there. Resolves to the
 * proxy; rejects with the open's coded error (the worker is then stopped).
 */
export async function lsmkv_opfs_spawn(glue, module, name, options) {
  let worker;
  try {
    worker = new Worker(new URL(import.meta.url), { type: 'module', name: WORKER_NAME });
  } catch (error) {
    throw coded('LSMKV_UNSUPPORTED', `cannot start the OPFS worker (${import.meta.url}): ${error.message}`);
  }
  const remote = new LsmkvRemote(worker);
  try {
    await remote.call('open', [glue, module, name, options]);
  } catch (error) {
    remote.terminate(error.message);
    throw error;
  }
  return remote;
}

// ---- the worker side ----

function serve() {
  let glue = null;
  let store = null;
  const snapshots = new Map();
  const iterators = new Map();
  let nextIterator = 1;
  // Batches that arrived while an earlier one waited for free slots.
  const batches = [];
  let draining = false;

  // Replies go out together: at once when no call is left in progress,
  // else when the worker is idle. A group commit resolves its writes over
  // several microtasks, and sending the first ones alone would split the
  // page's next batch (its writers resume at different times), and with it
  // the next flush. A MessageChannel message is a task, so it runs after
  // every pending microtask.
  let inProgress = 0;
  const replies = [];
  const replyTransfer = new Set();
  const idle = new MessageChannel();
  let idleQueued = false;
  function sendReplies() {
    if (!replies.length) return;
    const message = { replies: replies.splice(0) };
    const transfer = [...replyTransfer];
    replyTransfer.clear();
    self.postMessage(message, transfer);
  }
  idle.port1.onmessage = () => {
    idleQueued = false;
    sendReplies();
  };
  function reply(id, body, transfer) {
    inProgress--;
    if (id !== 0) {
      replies.push({ id, ...body });
      if (transfer) for (const buffer of transfer) replyTransfer.add(buffer);
    }
    if (inProgress === 0) {
      sendReplies();
    } else if (replies.length && !idleQueued) {
      idleQueued = true;
      idle.port2.postMessage(0);
    }
  }

  function closedIterator() {
    return coded('LSMKV_CLOSED', 'iterator is closed');
  }

  async function open(glueUrl, module, name, options) {
    glue = await import(glueUrl);
    // The page's compiled module if it sent one, else the .wasm beside the glue.
    await glue.default(module ? { module_or_path: module } : undefined);
    store = await glue.Store.open(name, options);
    return { backend: store.backend };
  }

  function dispatch(op, args) {
    switch (op) {
      case 'open': return open(...args);
      case 'snapshot': return store.snapshot().then((s) => { snapshots.set(s.id, s); return { id: s.id, seq: s.seq }; });
      case 'releaseSnapshot': {
        const s = snapshots.get(args[0]);
        snapshots.delete(args[0]);
        if (s) { s.release(); s.free(); }
        return undefined;
      }
      case 'iterator': return store.iterator(args[0]).then((it) => { const id = nextIterator++; iterators.set(id, it); return id; });
      case 'iteratorNext': return iterators.has(args[0]) ? iterators.get(args[0]).next(args[1]) : Promise.reject(closedIterator());
      case 'iteratorSeek': return iterators.has(args[0]) ? iterators.get(args[0]).seek(args[1]) : Promise.reject(closedIterator());
      case 'iteratorClose': {
        const it = iterators.get(args[0]);
        iterators.delete(args[0]);
        if (it) { it.close(); it.free(); }
        return undefined;
      }
      case 'put': case 'get': case 'delete': case 'batchPut': case 'batch': case 'range': case 'keys':
      case 'flush': case 'compact': case 'compactRange': case 'compactStep': case 'stats': case 'space':
      case 'health': case 'events': case 'explainGet': case 'inspectTable': case 'close': case 'debugCrash':
        return store[op](...args);
      default:
        return Promise.reject(coded('LSMKV_INVALID_ARGUMENT', `unknown OPFS worker call '${op}'`));
    }
  }

  function start({ id, op, args }) {
    inProgress++;
    let result;
    try {
      result = dispatch(op, args);
    } catch (error) {
      result = Promise.reject(error);
    }
    Promise.resolve(result).then(
      (ok) => reply(id, { ok }, transferables(ok)),
      (error) => reply(id, { error: { code: (error && error.code) || 'LSMKV_IO', message: String((error && error.message) || error) } }));
  }

  const size = (v) => (v instanceof Uint8Array ? v.byteLength : typeof v === 'string' ? v.length * 3 : v == null ? 0 : 64);

  /** How much a batch may write: entries and approximate bytes. */
  function weigh(calls) {
    let entries = 0;
    let bytes = 0;
    let writes = false;
    for (const { op, args } of calls) {
      if (op === 'put' || op === 'delete') {
        entries += 1;
        bytes += size(args[0]) + size(args[1]);
      } else if (op === 'batchPut' && Array.isArray(args[0])) {
        for (const pair of args[0]) { entries += 1; bytes += Array.isArray(pair) ? size(pair[0]) + size(pair[1]) : 0; }
      } else if (op === 'batch' && Array.isArray(args[0])) {
        for (const o of args[0]) { entries += 1; bytes += o ? size(o.key) + size(o.value) : 0; }
      } else if (op === 'flush' || op === 'compact' || op === 'compactRange' || op === 'compactStep') {
        writes = true;
      }
    }
    return { entries, bytes, writes: writes || entries > 0 };
  }

  /**
   * Starts each batch's calls together, in arrival order. Before a batch
   * that writes, the store's file pool gets room for everything the batch
   * may create (flushes, compactions); if that needs new files (an
   * asynchronous OPFS call), later batches wait behind it.
   */
  function drain() {
    draining = true;
    while (batches.length) {
      const calls = batches[0];
      const weight = store ? weigh(calls) : { writes: false };
      const wait = weight.writes ? store.opfsReserve(weight.entries, weight.bytes) : undefined;
      if (wait) {
        const resume = () => { for (const call of batches.shift()) start(call); drain(); };
        wait.then(resume, resume);
        return;
      }
      for (const call of batches.shift()) start(call);
    }
    draining = false;
  }

  self.onmessage = (event) => {
    batches.push(event.data.calls);
    if (!draining) drain();
  };
}

if (inDedicatedWorker() && globalThis.name === WORKER_NAME) serve();
