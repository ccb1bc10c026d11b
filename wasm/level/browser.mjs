// Browser entry point: the engine from the `--target web` build (wasm/pkg),
// initialized on first open. By default the .wasm file is fetched from next to
// lsmkv_wasm.js (or next to your bundle, if a bundler inlined that file);
// call `initWasm(urlOrBytesOrModule)` before the first open to say otherwise.

import init, * as wasm from '../pkg/lsmkv_wasm.js'
import { createLevelClass } from './lib/level.js'

let initialized = null

/** Loads the engine (idempotent); `source` as wasm-bindgen's init takes it. */
export function initWasm (source) {
  if (initialized === null) {
    initialized = init(source === undefined ? undefined : { module_or_path: source }).then(() => wasm)
  }
  return initialized
}

export const LsmkvLevel = createLevelClass(() => initWasm(), {
  defaultBackend: () => (typeof globalThis.indexedDB !== 'undefined' ? 'indexeddb' : 'memory')
})
