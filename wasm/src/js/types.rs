//! TypeScript shapes of everything the JS API takes and returns. The
//! methods in `store.rs` and `handles.rs` (at the crate root) name these types through
//! `unchecked_param_type` / `unchecked_return_type`; the package's test
//! script type-checks a consumer of this file with `tsc --noEmit`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** A key: a string (stored as UTF-8) or bytes. Keys sort bytewise. */
export type Key = string | Uint8Array;

/** Anything JSON can hold without change. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * A value: bytes (stored raw after a 0x00 tag), a string (0x01 + UTF-8), or
 * any other JSON-compatible value (0x02 + JSON text). `get` returns the type
 * that was put.
 */
export type Value = Uint8Array | JsonValue;

export type Backend = 'indexeddb' | 'opfs' | 'memory';

/** Error codes carried by every rejected promise's `error.code`. */
export type ErrorCode =
  | 'LSMKV_INVALID_KEY' | 'LSMKV_INVALID_VALUE' | 'LSMKV_INVALID_OPTIONS' | 'LSMKV_INVALID_ARGUMENT'
  | 'LSMKV_CORRUPTION' | 'LSMKV_UNSUPPORTED_FORMAT' | 'LSMKV_QUOTA' | 'LSMKV_CLOSED' | 'LSMKV_LOCKED'
  | 'LSMKV_IO' | 'LSMKV_NOT_FOUND' | 'LSMKV_READ_ONLY' | 'LSMKV_UNSUPPORTED';

/** What every lsmkv promise rejects with. */
export interface LsmkvError extends Error {
  name: 'LsmkvError';
  code: ErrorCode;
}

export interface StoreOptions {
  /**
   * Where files live. Default `'indexeddb'`. `'opfs'`: the Origin Private File
   * System, run in a dedicated worker (started for the store when opened from
   * a page).
   */
  backend?: Backend;
  /** Base settings the fields below adjust. Default `'production'`; `'teaching'` = 30-entry memtables and tables. */
  preset?: 'teaching' | 'production';
  /**
   * Default `'strict'`. IndexedDB: the transactions' durability. OPFS:
   * `'strict'` flushes the WAL before a write resolves; `'relaxed'` skips the
   * flush (writes survive the browser being killed, not an OS crash).
   */
  durability?: 'strict' | 'relaxed';
  /** When another tab or worker has the store open: reject with LSMKV_LOCKED (default) or wait. */
  lock?: 'fail' | 'wait';
  /** Ask the browser for persistent storage (`navigator.storage.persist()`); see `health().persisted`. */
  persist?: boolean;
  /** How keys come back: `'utf8'` (strings when valid UTF-8, the default) or `'binary'` (always Uint8Array). */
  keyEncoding?: 'utf8' | 'binary';
  /**
   * OPFS from a page: the URL of this package's `lsmkv_wasm.js`, which the
   * store's worker imports. Found automatically; give it when a bundler
   * renamed or merged the module.
   */
  opfsGlueUrl?: string;
  memtableMaxEntries?: number;
  memtableMaxBytes?: number;
  sstableMaxEntries?: number;
  sstableMaxBytes?: number;
  blockSize?: number;
  bloomBitsPerKey?: number;
  /** How new tables store their data blocks: 'lz4' (the production preset's) or 'none' (teaching's). */
  compression?: 'none' | 'lz4';
  l0CompactionTrigger?: number;
  levelBaseBytes?: number;
  levelSizeRatio?: number;
  autoCompaction?: boolean;
  keySizeMax?: number;
  /** Counts the value's one-byte type tag. */
  valueSizeMax?: number;
  blockCacheBytes?: number;
  /** Bytes of index and filter partitions kept apart from the block cache (0: they share it). */
  partitionCacheBytes?: number;
  eventLogCapacity?: number;
}

export interface RangeOptions {
  gt?: Key; gte?: Key; lt?: Key; lte?: Key;
  /** Only keys starting with these bytes. */
  prefix?: Key;
  reverse?: boolean;
  /** At most this many entries (negative or Infinity: no limit). */
  limit?: number;
  snapshot?: Snapshot;
  keyEncoding?: 'utf8' | 'binary';
}

export interface GetOptions {
  snapshot?: Snapshot;
}

export type BatchOperation =
  | { type: 'put'; key: Key; value: Value }
  | { type: 'del' | 'delete'; key: Key };

export interface TableSummary {
  number: number; level: number; entries: number; tombstones: number; bytes: number;
  smallestKey: Key; largestKey: Key; minSeq: number; maxSeq: number;
}

export interface LevelStats {
  level: number;
  /** L0 newest first; deeper levels in key order. */
  tables: TableSummary[];
  bytes: number;
  entries: number;
  /** null for L0 (measured in tables). */
  targetBytes: number | null;
}

export interface Stats {
  memtableEntries: number; memtableBytes: number;
  memtableMaxEntries: number; memtableMaxBytes: number;
  sstableMaxEntries: number; sstableMaxBytes: number;
  /** L0 is compacted when it holds more tables than this. */
  l0CompactionTrigger: number;
  immutableMemtables: number;
  levels: LevelStats[];
  walFiles: number; walBytes: number;
  lastSeq: number; flushedSeq: number;
  flushes: number; compactions: number;
  /** Merges split into key ranges merged on several threads (native only: always 0 in the browser). */
  parallelMerges: number;
  userBytesWritten: number; storageBytesWritten: number; writeAmplification: number;
  storedBytes: number;
  gets: number; tablesProbed: number; bloomNegatives: number; readAmplification: number;
  blockCacheHits: number; blockCacheMisses: number;
  /** Memory beside the memtables: the block cache's contents and capacity, and what open tables hold outside it. */
  blockCacheBytes: number; blockCacheCapacityBytes: number;
  /** The partition cache (index and filter partitions, `partitionCacheBytes`); all 0 when they share the block cache. */
  partitionCacheHits: number; partitionCacheMisses: number;
  partitionCacheBytes: number; partitionCacheCapacityBytes: number;
  openTables: number; tableMemoryBytes: number;
  walTailTruncations: number;
  /** Writes that stopped for background flushes/compactions to catch up, and the total wait. */
  writeStalls: number; writeStallMicros: number;
  /** Writes slowed to a pace while L0 is deep, and the total time they slept. */
  writeSlowdowns: number; writeSlowdownMicros: number;
}

export interface SpaceStats {
  liveKeys: number; liveBytes: number; storedBytes: number; spaceAmplification: number;
}

export interface FlushReport {
  memtableEntries: number;
  outputs: TableSummary[];
  droppedEntries: number;
  flushedSeq: number;
  retiredWals: number[];
  /** Table numbers of every level once the flush was installed (L0 newest first). */
  levelsAfter: number[][];
}

export interface CompactionReport {
  reason: 'l0Tables' | 'levelSize' | 'manual';
  outputLevel: number;
  inputs: TableSummary[];
  outputs: TableSummary[];
  trivialMove: boolean;
  entriesIn: number; entriesOut: number;
  droppedOverwritten: number; droppedTombstones: number;
  /** Entries written with seq 0: every reader sees them and no deeper level holds their key. */
  zeroedSeqs: number;
  /** Table numbers of every level once the step was installed (L0 newest first). */
  levelsAfter: number[][];
}

export type StoreEvent = { cursor: number } & (
  | { type: 'opened'; created: boolean }
  | { type: 'walReplayed'; files: number[]; records: number; entries: number }
  | { type: 'walTailTruncated'; file: string; offset: number; droppedBytes: number }
  | { type: 'manifestTailDiscarded'; file: string; offset: number; droppedBytes: number }
  | { type: 'memtableFrozen'; entries: number; bytes: number }
  | { type: 'flushed'; report: FlushReport }
  | { type: 'compacted'; report: CompactionReport }
  | { type: 'tablesRemoved'; numbers: number[] }
  | { type: 'wentReadOnly'; reason: string }
  /** What the backend saw and the engine cannot, e.g. a detected IndexedDB wipe (also in `health().wipe`). */
  | { type: 'storageNotice'; message: string }
  | { type: 'other'; description: string });

export interface EventPage {
  events: StoreEvent[];
  /** Pass as `since` to get the events after these. */
  nextCursor: number;
  /** Events after `since` already dropped from the bounded log. */
  missed: number;
}

export interface IndexedDbHealth {
  database: string;
  durability: 'strict' | 'relaxed';
  /** Read-write transactions run (group commit makes this far fewer than writes). */
  transactions: number;
  requests: number;
  bytesWritten: number;
  /** Lost connections reopened and their batch retried. */
  reconnects: number;
  coalescedFiles: number;
  /** Why persistence stopped (the store must be reopened), or null. */
  failure: string | null;
}

export interface OpfsHealth {
  /** The store's OPFS directory. */
  directory: string;
  durability: 'strict' | 'relaxed';
  /** The engine's files, and their bytes. */
  files: number;
  dataBytes: number;
  /** Slot files in the pool (each holds one file or is free), and free ones. */
  slots: number;
  freeSlots: number;
  slotsAdded: number;
  slotsRemoved: number;
  /** WAL flushes made for writes (group commit makes this far fewer than writes). */
  walSyncs: number;
  /** Every `flush()` of any file. */
  flushes: number;
  headerWrites: number;
  bytesWritten: number;
  bytesRead: number;
  /** `write` calls that wrote buffered appends (a group commit's WAL records take one). */
  appendWrites: number;
  /** Repairs at open of what a crash left: slots of a half-done rename, leftover data of a half-done remove. */
  staleSlotsFreed: number;
  freeSlotsCleaned: number;
  /** Why the store stopped accepting writes (reopen it), or null. */
  failure: string | null;
}

/** The `detail` of the `lsmkv-wipe` event, and `StoreHealth.wipe`. */
export interface WipeReport {
  store: string;
  database: string;
  /** `Date.now()` at the open that found the database gone. */
  detectedAt: number;
  message: string;
}

export interface DestroyOptions {
  /** Which store of that name to delete. Default `'indexeddb'`. */
  backend?: 'indexeddb' | 'opfs';
}

export interface StoreHealth {
  status: 'ok' | 'readOnly' | 'closed';
  reason: string | null;
  walTailTruncations: number;
  lastSeq: number;
  backend: Backend;
  /** Whether storage is persistent (`navigator.storage.persisted()`), null if unknown. */
  persisted: boolean | null;
  /** The origin's storage use and quota in bytes (`navigator.storage.estimate()`), null if unknown. */
  storage: { usage: number | null; quota: number | null } | null;
  indexeddb: IndexedDbHealth | null;
  /** IndexedDB: where the wipe marker lives (`'unavailable'`: wipes cannot be detected here); null otherwise. */
  wipeDetection: 'opfs' | 'localStorage' | 'unavailable' | null;
  /**
   * IndexedDB: the database was deleted since the store was last opened (the
   * browser discards damaged IndexedDB data; the store started empty). Also
   * dispatched as the `lsmkv-wipe` event on `globalThis`.
   */
  wipe: WipeReport | null;
  opfs: OpfsHealth | null;
}

export type Probe =
  | { kind: 'memtable'; found: boolean }
  | { kind: 'frozenMemtable'; found: boolean }
  | { kind: 'outOfRange'; level: number; table: number }
  | { kind: 'bloomNegative'; level: number; table: number }
  | { kind: 'searched'; level: number; table: number; found: boolean };

export interface GetTrace {
  probes: Probe[];
  value: Value | undefined;
  decidedBy: { seq: number; tombstone: boolean } | null;
}

export interface TableInspection {
  fileSize: number;
  /** The table's format: 3 (partitioned index and filters, a restart point every 16 block entries); 2 or 1 (written by older builds). */
  format: number;
  /** What data blocks were compressed with when the table was written. */
  compression: 'none' | 'lz4';
  /** Index and filter partitions (1 in format 1). */
  partitions: number;
  entryCount: number; tombstoneCount: number;
  minSeq: number; maxSeq: number;
  dataBlockCount: number; rawKeyBytes: number; rawValueBytes: number;
  /** `size` as stored (compressed, if it is); `rawSize` before compression. */
  blocks: { offset: number; size: number; rawSize: number; entryCount: number; firstKey: Key; lastKey: Key }[];
  /** Formats 2 and 3: the top index; format 1: the index block. */
  index: { offset: number; size: number };
  /** The filter (formats 2 and 3: the first filter partition; `bytes`, `bits` and `bitsSet` count all of them). */
  filter: { offset: number; size: number; bytes: number; bits: number; bitsSet: number; probes: number };
  entries: { key: Key; seq: number; kind: 'put' | 'delete'; block: number; value: Value | undefined }[];
}
"#;
