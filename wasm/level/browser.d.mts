export { LsmkvLevel, LsmkvLevelOptions, Backend } from './index.js'

/**
 * Loads the engine (idempotent). The first open calls it with no argument,
 * which fetches `lsmkv_wasm_bg.wasm` from next to the script; call it first
 * to give the module's URL, bytes or compiled `WebAssembly.Module` yourself.
 */
export function initWasm (
  source?: string | URL | Request | Response | BufferSource | WebAssembly.Module
): Promise<unknown>
