// The playground's "server" backend: an object with the methods of the wasm
// `Store` that the views call, each one request to lsmkv-server's REST API
// (server/API.md) on this page's origin. The server answers with the same
// report shapes as the wasm engine (both come from `lsmkv::report`), so the
// views and the picture cannot tell the backends apart; nothing about the
// LSM is computed here.
//
// Differences a user sees: keys are strings (the REST API's keys are UTF-8
// text); binary values travel as `{ "$base64": … }` and come back as
// `Uint8Array`; the caps are the server's `--preset`, not the page's
// settings; a crash cannot be simulated from the page (kill -9 the server).

/** The API's path, from the `<meta name="lsmkv-server">` the server adds to index.html; null elsewhere. */
export function serverApiPath() {
  const el = globalThis.document && document.querySelector('meta[name="lsmkv-server"]');
  const path = el ? el.getAttribute('content') : null;
  return path && path.startsWith('/') ? path.replace(/\/+$/, '') : null;
}

function coded(code, message) {
  return Object.assign(new Error(message), { code });
}

function base64(bytes) {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

/** A value as JSON for the API: bytes as `{ $base64 }`. */
function wireValue(value) {
  if (value instanceof Uint8Array) return { $base64: base64(value) };
  if (value === undefined) throw coded('LSMKV_INVALID_VALUE', 'a value cannot be undefined');
  return value;
}

/** A value from the API: `{ $base64 }` (and only that member) back to bytes. */
function fromWire(value) {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const names = Object.keys(value);
    if (names.length === 1 && names[0] === '$base64' && typeof value.$base64 === 'string') {
      return Uint8Array.from(atob(value.$base64), (c) => c.charCodeAt(0));
    }
  }
  return value;
}

function textKey(key, what = 'key') {
  if (typeof key !== 'string') throw coded('LSMKV_INVALID_KEY', `the server backend takes string keys: ${what} is ${key instanceof Uint8Array ? 'a Uint8Array' : typeof key}`);
  return key;
}

const RANGE_PARAMS = ['gt', 'gte', 'lt', 'lte', 'prefix'];

/** `range`/`keys` options as the API's query string. */
function rangeQuery(options = {}) {
  const query = new URLSearchParams();
  for (const name of RANGE_PARAMS) {
    if (options[name] !== undefined) query.set(name, textKey(options[name], name));
  }
  if (options.limit !== undefined) query.set('limit', String(options.limit));
  if (options.reverse) query.set('reverse', 'true');
  const text = query.toString();
  return text ? `?${text}` : '';
}

/** Event types the engine reports (`lsmkv::report::EventView::type_name`), for the SSE listeners. */
const EVENT_TYPES = ['opened', 'walReplayed', 'walTailTruncated', 'manifestTailDiscarded', 'memtableFrozen', 'flushed', 'compacted', 'tablesRemoved', 'wentReadOnly', 'storageNotice', 'other'];

export class RemoteStore {
  /** Connects to the server at `api` (a path on this origin) and checks that it answers. */
  static async open(api) {
    const store = new RemoteStore(api);
    const health = await store.health();
    if (health.status === 'closed') throw coded('LSMKV_CLOSED', 'the server is shutting down');
    return store;
  }

  constructor(api) {
    this.api = api;
    this.source = null;
  }

  /** One API call: the parsed `{ success: true, … }` body, or a rejection with the server's `error.code`. */
  async request(method, path, body) {
    const init = { method, headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(`${this.api}${path}`, init);
    } catch (error) {
      throw coded('LSMKV_IO', `lsmkv-server did not answer ${method} ${this.api}${path}: ${error.message}`);
    }
    let answer;
    try {
      answer = await response.json();
    } catch {
      throw coded('LSMKV_IO', `lsmkv-server answered ${method} ${path} with HTTP ${response.status} and no JSON`);
    }
    if (!response.ok || !answer || answer.success !== true) {
      const error = (answer && answer.error) || {};
      throw coded(error.code || 'LSMKV_IO', error.message || `HTTP ${response.status} for ${method} ${path}`);
    }
    return answer;
  }

  async data(method, path, body) {
    return (await this.request(method, path, body)).data;
  }

  path(prefix, key) {
    return `${prefix}/${encodeURIComponent(textKey(key))}`;
  }

  // ---- data ----

  async put(key, value) {
    await this.request('POST', '/put', { key: textKey(key), value: wireValue(value) });
  }

  async get(key) {
    const answer = await this.request('GET', this.path('/get', key));
    return answer.exists ? fromWire(answer.value) : undefined;
  }

  async delete(key) {
    await this.request('DELETE', this.path('/delete', key));
  }

  /** Pairs, a plain object or a Map, as the wasm `Store.batchPut`; one atomic batch (`POST /api/batch`, in order). */
  async batchPut(entries) {
    let pairs;
    if (Array.isArray(entries)) pairs = entries;
    else if (entries instanceof Map) pairs = [...entries];
    else if (entries && typeof entries === 'object') pairs = Object.entries(entries);
    else throw coded('LSMKV_INVALID_ARGUMENT', 'entries must be an array of [key, value] pairs, a plain object or a Map');
    const ops = pairs.map((pair, index) => {
      if (!Array.isArray(pair) || pair.length !== 2) throw coded('LSMKV_INVALID_ARGUMENT', `entries[${index}] must be a [key, value] pair`);
      return { type: 'put', key: textKey(pair[0]), value: wireValue(pair[1]) };
    });
    if (ops.length) await this.request('POST', '/batch', { ops });
  }

  /** `[{ type: 'put' | 'del', key, value }]`, atomically. */
  async batch(operations) {
    if (!Array.isArray(operations)) throw coded('LSMKV_INVALID_ARGUMENT', 'operations must be an array');
    const ops = operations.map((op) => (op && op.type === 'put' ? { type: 'put', key: textKey(op.key), value: wireValue(op.value) } : { type: op && op.type, key: textKey(op && op.key) }));
    if (ops.length) await this.request('POST', '/batch', { ops });
  }

  async range(options) {
    const answer = await this.request('GET', `/range${rangeQuery(options)}`);
    return answer.items.map((item) => [item.key, fromWire(item.value)]);
  }

  async keys(options) {
    return this.data('GET', `/keys${rangeQuery(options)}`);
  }

  // ---- the engine at work ----

  async flush() {
    return this.data('POST', '/flush');
  }

  async compact() {
    return this.data('POST', '/compact');
  }

  async stats() {
    return this.data('GET', '/stats');
  }

  async space() {
    return this.data('GET', '/space');
  }

  async health() {
    return this.data('GET', '/health');
  }

  async explainGet(key) {
    const trace = await this.data('GET', this.path('/explain', key));
    return { ...trace, value: trace.value === null ? undefined : fromWire(trace.value) };
  }

  async inspectTable(number) {
    const inspection = await this.data('GET', `/inspect/${encodeURIComponent(String(number))}`);
    for (const entry of inspection.entries) entry.value = entry.value === null ? undefined : fromWire(entry.value);
    return inspection;
  }

  /** One page of the event feed after `cursor`, as the wasm `store.events(cursor)`. */
  async events(cursor = 0) {
    return this.data('GET', `/events?since=${encodeURIComponent(String(cursor))}`);
  }

  /**
   * Calls `onEvent()` whenever the server's engine reports an event (its
   * background flushes and compactions, other clients' writes that caused
   * them), from the Server-Sent Events stream at `/api/events`.
   */
  watch(cursor, onEvent) {
    this.unwatch();
    if (typeof EventSource !== 'function') return;
    const source = new EventSource(`${this.api}/events?since=${encodeURIComponent(String(cursor))}`);
    for (const type of EVENT_TYPES) source.addEventListener(type, () => onEvent());
    this.source = source;
  }

  unwatch() {
    if (this.source) this.source.close();
    this.source = null;
  }

  /** The server's engine stays open for its other clients: closing here only stops watching. */
  async close() {
    this.unwatch();
  }

  free() {
    this.unwatch();
  }

  async debugCrash() {
    throw coded('LSMKV_UNSUPPORTED', 'a crash cannot be simulated on the server from the page: kill -9 the lsmkv-server process and start it again');
  }
}
