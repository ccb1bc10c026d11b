import { AbstractLevel, AbstractDatabaseOptions } from 'abstract-level'
import type { Store, StoreOptions } from '../pkg/lsmkv_wasm.js'

export type Backend = 'indexeddb' | 'memory'

export interface LsmkvLevelOptions<K, V> extends AbstractDatabaseOptions<K, V> {
  /**
   * Where the data lives. Default: `'indexeddb'` where `indexedDB` exists
   * (browsers, workers), else `'memory'` (Node).
   */
  backend?: Backend | undefined

  /**
   * Settings of the lsmkv Store underneath (preset, durability, lock,
   * memtable and table sizes, ...). `backend` and `keyEncoding` are set by
   * the adapter.
   */
  store?: Omit<StoreOptions, 'backend' | 'keyEncoding'> | undefined
}

/**
 * An abstract-level database on lsmkv, an LSM tree written in Rust and run
 * as WebAssembly. Private (stored) formats: `Uint8Array` ('view') and
 * `string` ('utf8'); every other encoding is transcoded by abstract-level.
 */
export class LsmkvLevel<KDefault = string, VDefault = string>
  extends AbstractLevel<Uint8Array | string, KDefault, VDefault> {
  /**
   * @param location The store's name: its IndexedDB database and Web Lock
   * (1 to 256 bytes). Memory stores with the same name are independent.
   */
  constructor (location: string, options?: LsmkvLevelOptions<KDefault, VDefault> | undefined)

  get location (): string
  get backend (): Backend

  /**
   * The lsmkv Store underneath (stats, flush, compact, health, events), or
   * `null` before the first open. Its keys carry a `0x00` namespace byte in
   * front of the database's keys.
   */
  get store (): Store | null
}
