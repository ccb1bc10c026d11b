// lsmkv-wasm's page side of an OPFS store: the proxy through which a page
// talks to the dedicated worker running its store (`js/opfs.js`). Every call
// is one message entry and one promise; calls of one tick travel together.
// The Rust side (`src/opfs/remote.rs`) checks each call's arguments first
// and names it by the operations table (`src/ops.rs`): nothing here knows
// what the operations are.
//
// A wasm-bindgen snippet (`#[wasm_bindgen(module = "/js/opfs-proxy.js")]`):
// it ships inside every build of the package, next to the glue.

/** The worker's name (`js/opfs.js` serves only in a worker of this name). */
export const WORKER_NAME = 'lsmkv-opfs';

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

export function coded(code, message) {
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
export function transferables(value, out = new Set(), depth = 0) {
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

  /**
   * Sends `op(...args)` to the worker; resolves or rejects with its reply.
   * A write carries its `weight` (`[entries, bytes]`, measured by Rust).
   */
  call(op, args, weight) {
    if (this.failure) return Promise.reject(coded(this.failure.code, this.failure.message));
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.enqueue(id, op, args, weight);
    });
  }

  /** Sends `op(...args)` without waiting for a reply (releases, closes of handles). */
  post(op, args) {
    if (!this.failure) this.enqueue(0, op, args);
  }

  enqueue(id, op, args, weight) {
    let copied;
    const transfer = [];
    try {
      copied = snapshotArgs(args, transfer);
    } catch (error) {
      this.settle(id, { error: { code: 'LSMKV_INVALID_ARGUMENT', message: `an argument cannot be sent to the OPFS worker: ${error.message}` } });
      return;
    }
    this.calls.push(weight === undefined ? { id, op, args: copied } : { id, op, args: copied, weight });
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
 * Starts the worker script at `url` for a store. Throws a coded error if
 * the browser refuses to; the page then sends the open call.
 */
export function lsmkv_opfs_spawn(url) {
  let worker;
  try {
    worker = new Worker(new URL(url), { type: 'module', name: WORKER_NAME });
  } catch (error) {
    throw coded('LSMKV_UNSUPPORTED', `cannot start the OPFS worker (${url}): ${error.message}`);
  }
  return new LsmkvRemote(worker);
}
