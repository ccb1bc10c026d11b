'use strict'

// An abstract-level database on an lsmkv `Store` (the wasm build of the
// engine). Environment-neutral: the entry points (index.js for Node,
// browser.mjs for browsers) say how to load the wasm module.
//
// How abstract-level's contract maps onto the Store:
//
// - Keys live under a one-byte namespace, KEY_PREFIX (0x00): the engine
//   refuses empty keys and abstract-level allows them, and a fixed first byte
//   keeps the order of the keys it prefixes. Values are stored as they come
//   (a Uint8Array or a string, which the Store tags as such).
// - Ordering: every Store method does its engine work when it is called
//   (a write's promise then settles once the write is durable). A read or an
//   iterator therefore sees exactly the writes *called* before it and none
//   called after: the implicit snapshot abstract-level asks for. Reads never
//   await before calling the Store, and getSync() is the Store's getSync().
// - clear() pages through the range (deleting in batches); writes called
//   while a clear() runs wait for it, so they are never deleted by it.

const {
  AbstractLevel,
  AbstractIterator,
  AbstractKeyIterator,
  AbstractValueIterator,
  AbstractChainedBatch,
  AbstractSnapshot
} = require('abstract-level')
const ModuleError = require('module-error')

const KEY_PREFIX = 0x00
const KEY_PREFIX_STRING = '\u0000'
/** The first key after the namespace (exclusive upper bound of every range). */
const KEY_SPACE_END = '\u0001'

/** Entries fetched per round trip by all() and clear(). */
const PAGE = 1000
/** next() fetches ahead: first this many entries, doubling up to PAGE. */
const FIRST_FETCH = 4

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()
const noop = () => {}

function storeKey (key) {
  if (typeof key === 'string') return KEY_PREFIX_STRING + key
  const out = new Uint8Array(key.byteLength + 1)
  out[0] = KEY_PREFIX
  out.set(key, 1)
  return out
}

/** A key from the Store (string or bytes, namespace byte first) in `format`. */
function levelKey (key, format) {
  if (typeof key === 'string') {
    key = key.slice(1)
    return format === 'utf8' ? key : textEncoder.encode(key)
  }
  key = key.subarray(1)
  return format === 'utf8' ? textDecoder.decode(key) : key
}

/**
 * A value from the Store in `format`. The Store gives back the type that was
 * put (bytes or string); a value some other Store user wrote as JSON comes
 * back as its JSON text.
 */
function levelValue (value, format) {
  if (value === undefined) return undefined
  if (format === 'utf8') {
    if (typeof value === 'string') return value
    return value instanceof Uint8Array ? textDecoder.decode(value) : JSON.stringify(value)
  }
  if (value instanceof Uint8Array) return value
  return textEncoder.encode(typeof value === 'string' ? value : JSON.stringify(value))
}

/** The Store's per-call key format for a level format. */
function storeKeyEncoding (format) {
  return format === 'utf8' ? 'utf8' : 'binary'
}

/**
 * Store range options for abstract-level range options: prefixed bounds,
 * closed to the namespace on any side the caller left open.
 */
function storeRange (options) {
  const range = { reverse: options.reverse === true }
  // Given both, the inclusive bound wins (as in abstract-level's own rangeOptions).
  if (options.gte !== undefined) range.gte = storeKey(options.gte)
  else if (options.gt !== undefined) range.gt = storeKey(options.gt)
  else range.gte = KEY_PREFIX_STRING
  if (options.lte !== undefined) range.lte = storeKey(options.lte)
  else if (options.lt !== undefined) range.lt = storeKey(options.lt)
  else range.lt = KEY_SPACE_END
  if (Number.isInteger(options.limit) && options.limit >= 0) range.limit = options.limit
  return range
}

function abortError (cause) {
  const error = new ModuleError('Operation has been aborted', { code: 'LEVEL_ABORTED', cause })
  Object.defineProperty(error, 'name', { value: 'AbortError' })
  return error
}

/** `promise`, rejected with LEVEL_ABORTED as soon as `signal` aborts. */
function abortable (promise, signal) {
  if (signal == null) return promise
  if (signal.aborted) return Promise.reject(abortError(signal.reason))
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(abortError(signal.reason))
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then((value) => {
      signal.removeEventListener('abort', onAbort)
      resolve(value)
    }, (error) => {
      signal.removeEventListener('abort', onAbort)
      reject(error)
    })
  })
}

/** Store batch operations for abstract-level ones (which carry encodings too). */
function storeOperations (operations) {
  const out = new Array(operations.length)
  for (let i = 0; i < operations.length; i++) {
    const op = operations[i]
    out[i] = op.type === 'put'
      ? { type: 'put', key: storeKey(op.key), value: op.value }
      : { type: 'del', key: storeKey(op.key) }
  }
  return out
}

/**
 * A snapshot: a Store snapshot, asked for synchronously (so it holds every
 * write called before it), released on close.
 */
/** Store get options for abstract-level read options (the explicit snapshot, if any). */
function readOptions (options) {
  return options.snapshot != null ? { snapshot: options.snapshot.handle } : undefined
}

class LsmkvSnapshot extends AbstractSnapshot {
  constructor (options, store) {
    super(options)
    /** The Store's snapshot, taken now, synchronously. */
    this.handle = store.snapshotSync()
  }

  async _close () {
    this.handle.release()
  }
}

/**
 * The Store cursor behind an iterator, shared by the entry, key and value
 * iterator classes (which abstract-level keeps separate).
 */
class Cursor {
  #cursor
  #buffer = []
  #index = 0
  #ended = false
  #seekTarget
  #fetch = FIRST_FETCH
  #signal

  constructor (store, options) {
    const range = storeRange(options)
    range.keyEncoding = storeKeyEncoding(options.keyEncoding)
    this.keyFormat = options.keyEncoding
    this.valueFormat = options.valueEncoding
    this.#signal = options.signal != null ? options.signal : null
    if (options.snapshot != null) range.snapshot = options.snapshot.handle
    // Called now, so the cursor sees no write called after this.
    this.#cursor = store.iterator(range)
    this.#cursor.catch(noop)
  }

  /** Up to `count` more raw `[key, value]` pairs from the Store. */
  async #pull (count) {
    const cursor = await this.#cursor
    if (this.#seekTarget !== undefined) {
      const target = this.#seekTarget
      this.#seekTarget = undefined
      await cursor.seek(target)
    }
    const entries = await cursor.next(count)
    if (entries.length < count) this.#ended = true
    return entries
  }

  #buffered () {
    return this.#buffer.length - this.#index
  }

  #take (count) {
    const out = this.#buffer.slice(this.#index, this.#index + count)
    this.#index += out.length
    if (this.#index === this.#buffer.length) {
      this.#buffer = []
      this.#index = 0
    }
    return out
  }

  /** One raw entry, or undefined at the end. */
  async next () {
    if (this.#buffered() === 0) {
      if (this.#ended) return undefined
      const count = this.#fetch
      this.#fetch = Math.min(this.#fetch * 2, PAGE)
      this.#buffer = await abortable(this.#pull(count), this.#signal)
      this.#index = 0
      if (this.#buffer.length === 0) return undefined
    }
    return this.#take(1)[0]
  }

  /** At most `size` raw entries; [] at the end. */
  async nextv (size) {
    if (this.#buffered() > 0) return this.#take(size)
    if (this.#ended) return []
    return abortable(this.#pull(size), this.#signal)
  }

  /** Every remaining raw entry. */
  async all () {
    const out = this.#take(this.#buffered())
    while (!this.#ended) {
      if (this.#signal !== null && this.#signal.aborted) throw abortError(this.#signal.reason)
      const page = await abortable(this.#pull(PAGE), this.#signal)
      for (const entry of page) out.push(entry)
    }
    return out
  }

  seek (target) {
    this.#buffer = []
    this.#index = 0
    this.#ended = false
    this.#fetch = FIRST_FETCH
    this.#seekTarget = storeKey(target)
  }

  async close () {
    const cursor = await this.#cursor.catch(() => null)
    if (cursor !== null) cursor.close()
  }

  key (entry) {
    return levelKey(entry[0], this.keyFormat)
  }

  value (entry) {
    return levelValue(entry[1], this.valueFormat)
  }

  entry (entry) {
    return [this.key(entry), this.value(entry)]
  }
}

function mapAll (entries, fn) {
  for (let i = 0; i < entries.length; i++) entries[i] = fn(entries[i])
  return entries
}

/**
 * The three iterator kinds differ only in their base class and in what they
 * make of an entry (`Cursor#entry`, `#key` or `#value`), so one factory
 * builds them.
 */
function cursorIterator (Base, pick) {
  return class extends Base {
    #cursor

    constructor (db, options, store) {
      super(db, options)
      this.#cursor = new Cursor(store, options)
    }

    async _next () {
      const entry = await this.#cursor.next()
      return entry === undefined ? undefined : pick(this.#cursor, entry)
    }

    async _nextv (size, options) {
      return mapAll(await this.#cursor.nextv(size), (e) => pick(this.#cursor, e))
    }

    async _all (options) {
      return mapAll(await this.#cursor.all(), (e) => pick(this.#cursor, e))
    }

    _seek (target, options) {
      this.#cursor.seek(target)
    }

    async _close () {
      return this.#cursor.close()
    }
  }
}

const LsmkvIterator = cursorIterator(AbstractIterator, (c, e) => c.entry(e))
const LsmkvKeyIterator = cursorIterator(AbstractKeyIterator, (c, e) => c.key(e))
const LsmkvValueIterator = cursorIterator(AbstractValueIterator, (c, e) => c.value(e))

/** A chained batch: collects Store operations, writes them as one atomic batch. */
class LsmkvChainedBatch extends AbstractChainedBatch {
  #operations = []
  #write

  constructor (db, write) {
    super(db, { add: true })
    this.#write = write
  }

  _add (op) {
    this.#operations.push(op.type === 'put'
      ? { type: 'put', key: storeKey(op.key), value: op.value }
      : { type: 'del', key: storeKey(op.key) })
  }

  _clear () {
    this.#operations = []
  }

  async _write (options) {
    return this.#write(this.#operations)
  }

  async _close () {
    this.#operations = []
  }
}

/**
 * Makes the LsmkvLevel class for a way of loading the wasm module:
 * `loadBinding()` resolves to the module's exports (`{ Store }`).
 */
function createLevelClass (loadBinding, { defaultBackend }) {
  class LsmkvLevel extends AbstractLevel {
    #name
    #backend
    #storeOptions
    /** The open Store, or null. */
    #store = null
    /** Settles when the clear() calls in progress are done (null: none). */
    #clearing = null

    /**
     * @param {string} location the store's name (an IndexedDB database, and a Web Lock)
     * @param {object} [options] abstract-level options, plus `backend`
     *   ('indexeddb' | 'memory') and `store` (lsmkv StoreOptions: preset,
     *   durability, lock, memtableMaxEntries, ...)
     */
    constructor (location, options) {
      if (typeof location !== 'string' || location === '') {
        throw new TypeError("The first argument 'location' must be a non-empty string")
      }
      const { backend = defaultBackend(), store = {}, ...rest } = options || {}
      if (backend !== 'indexeddb' && backend !== 'memory') {
        throw new TypeError("The 'backend' option must be 'indexeddb' or 'memory'")
      }
      super({
        encodings: { view: true, utf8: true },
        implicitSnapshots: true,
        explicitSnapshots: true,
        has: true,
        seek: true,
        getSync: true,
        permanence: backend === 'indexeddb',
        createIfMissing: false,
        errorIfExists: false,
        signals: { iterators: true },
        additionalMethods: {}
      }, rest)
      this.#name = location
      this.#backend = backend
      this.#storeOptions = { ...store, backend, keyEncoding: 'binary' }
    }

    get location () {
      return this.#name
    }

    /** 'indexeddb' or 'memory'. */
    get backend () {
      return this.#backend
    }

    /**
     * The lsmkv Store underneath (stats, flush, compact, health, events), or
     * null while closed. Its keys carry the 0x00 namespace byte.
     */
    get store () {
      return this.#store
    }

    async _open (options) {
      // A memory store keeps its data across close() and open() of this
      // object, as memory-level does: it is only dropped with the object.
      if (this.#store !== null) return
      const { Store } = await loadBinding()
      this.#store = await Store.open(this.#name, this.#storeOptions)
    }

    async _close () {
      if (this.#clearing !== null) await this.#clearing
      if (this.#backend === 'memory') return
      const store = this.#store
      this.#store = null
      await store.close()
    }

    /** Runs a write now, or after the clear() calls in progress. */
    #write (fn) {
      if (this.#clearing === null) return fn(this.#store)
      return this.#clearing.then(() => fn(this.#store))
    }

    async _put (key, value, options) {
      return this.#write((store) => store.put(storeKey(key), value))
    }

    async _del (key, options) {
      return this.#write((store) => store.delete(storeKey(key)))
    }

    async _batch (operations, options) {
      const ops = storeOperations(operations)
      return this.#write((store) => store.batch(ops))
    }

    _chainedBatch () {
      return new LsmkvChainedBatch(this, (ops) => this.#write((store) => store.batch(ops)))
    }

    async _get (key, options) {
      return levelValue(await this.#store.get(storeKey(key), readOptions(options)), options.valueEncoding)
    }

    _getSync (key, options) {
      return levelValue(this.#store.getSync(storeKey(key), readOptions(options)), options.valueEncoding)
    }

    async _getMany (keys, options) {
      const store = this.#store
      const getOptions = readOptions(options)
      // All issued in one go: nothing can be applied between them.
      const values = await Promise.all(keys.map((key) => store.get(storeKey(key), getOptions)))
      return mapAll(values, (value) => levelValue(value, options.valueEncoding))
    }

    async _has (key, options) {
      const store = this.#store
      const getOptions = readOptions(options)
      return (await store.get(storeKey(key), getOptions)) !== undefined
    }

    async _hasMany (keys, options) {
      const store = this.#store
      const getOptions = readOptions(options)
      const values = await Promise.all(keys.map((key) => store.get(storeKey(key), getOptions)))
      return values.map((value) => value !== undefined)
    }

    _iterator (options) {
      return new LsmkvIterator(this, options, this.#store)
    }

    _keys (options) {
      return new LsmkvKeyIterator(this, options, this.#store)
    }

    _values (options) {
      return new LsmkvValueIterator(this, options, this.#store)
    }

    _snapshot (options) {
      return new LsmkvSnapshot(options, this.#store)
    }

    async _clear (options) {
      const previous = this.#clearing
      const run = previous === null ? this.#clearNow(options) : previous.then(() => this.#clearNow(options))
      const settled = run.then(noop, noop)
      this.#clearing = settled
      settled.then(() => {
        if (this.#clearing === settled) this.#clearing = null
      })
      return run
    }

    /** Deletes the range page by page (each page one atomic batch). */
    async #clearNow (options) {
      const store = this.#store
      const range = storeRange(options)
      range.keyEncoding = 'binary'
      if (options.snapshot != null) range.snapshot = options.snapshot.handle
      let remaining = range.limit === undefined ? Infinity : range.limit
      while (remaining > 0) {
        const count = Math.min(PAGE, remaining)
        const keys = await store.keys({ ...range, limit: count })
        if (keys.length === 0) break
        await store.batch(keys.map((key) => ({ type: 'del', key })))
        remaining -= keys.length
        if (keys.length < count) break
        const last = keys[keys.length - 1]
        if (range.reverse) {
          delete range.lte
          range.lt = last
        } else {
          delete range.gte
          range.gt = last
        }
      }
    }
  }

  return LsmkvLevel
}

module.exports = { createLevelClass }
