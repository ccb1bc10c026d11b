// lsmkv-wasm's OPFS worker: the dedicated worker in which a page's OPFS
// store runs (sync access handles exist only in dedicated workers).
//
// A wasm-bindgen snippet (`#[wasm_bindgen(module = "/js/opfs.js")]`), so it
// ships inside every build of the package, next to the glue:
// `snippets/lsmkv-wasm-<hash>/js/opfs.js` in `wasm-pack build --target web`
// output and in Trunk's `dist/`. `Store.open(name, { backend: 'opfs' })` in a
// page starts `new Worker(<this file>, { type: 'module', name: 'lsmkv-opfs' })`
// (`js/opfs-proxy.js`) and sends it, as its first call, the URL of the glue
// module that called in and, with the default feature `transfer-module`,
// the already compiled `WebAssembly.Module`; the worker imports that same
// glue, instantiates the module (or, for `--target bundler` builds, lets the
// glue fetch the .wasm beside itself), and opens the store on OPFS. Nothing
// else has to be served or configured; with a bundler that renames or
// merges the glue, pass `opfsGlueUrl` (the URL of the package's
// `lsmkv_wasm.js`).
//
// What each call does is Rust's business (`Store.opfsServe`, by the table in
// `src/ops.rs`), and so is how much room a batch needs (`Store.opfsReserve`):
// this file batches, schedules and replies.

import { transferables, WORKER_NAME } from './opfs-proxy.js';
import { inDedicatedWorker } from './opfs-files.js';

/** This file's URL: where the page starts the worker. */
export function lsmkv_opfs_worker_url() {
  return import.meta.url;
}

/** Serves the page's calls: runs from the worker's first message to its end. */
function serve() {
  let store = null;
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

  /** The first call: imports the page's glue, instantiates it, opens the store. */
  async function open(glueUrl, module, name, options) {
    const glue = await import(glueUrl);
    // The page's compiled module if it sent one, else the .wasm beside the glue.
    await glue.default(module ? { module_or_path: module } : undefined);
    store = await glue.Store.open(name, options);
    return { backend: store.backend };
  }

  // Until the store is open, the call is the open call (the page sends it
  // first, alone); then Rust runs each call by the operations table.
  const dispatch = (op, args) => (store ? store.opfsServe(op, args) : open(...args));

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

  /**
   * Starts each batch's calls together, in arrival order. Before a batch
   * that writes, the store's file pool gets room for everything the batch
   * may create (flushes, compactions); if that needs new files (an
   * asynchronous OPFS call), later batches wait behind it.
   */
  function drain() {
    draining = true;
    while (batches.length) {
      // Rust weighs the batch by the table and the weights the page measured.
      const wait = store ? store.opfsReserve(batches[0]) : undefined;
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
