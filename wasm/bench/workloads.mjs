// Benchmark workloads, run inside the page by bench.mjs. Keys: 16 bytes
// ("key" + 13 digits); values: 100 random bytes (a Uint8Array).
//
// A *system* is `{ name, run(ctx) }`; `run` does every workload it supports
// on fresh databases and returns `{ [workloadId]: { ops, ms } }`. Workload
// ids (WORKLOADS below) are the table's rows; a system that lacks one leaves
// its cell empty. To add a backend, add a system (lsmkvSystem takes any
// `backend` option Store.open accepts).
//
// ctx: { n, slow, writers, ranges, vals, order }, where `order` is a shuffle
// of 0..n and `slow` caps the workloads that cost one IndexedDB transaction
// per operation (they run at ~1–2k ops/s, so 100k of them would take
// minutes per system per run).

export const WORKLOADS = [
  ['put-each', 'put, each awaited (one commit per put)'],
  ['put-writers', 'put, {writers} concurrent writers, each awaiting its put'],
  ['put-issued', 'put, all issued at once, then awaited'],
  ['put-batch', 'put, all in one batch / transaction'],
  ['get-each', 'get, random, each awaited'],
  ['get-issued', 'get, random, all issued at once / one transaction'],
  ['get-sync', 'get, random, getSync() (no promise)'],
  ['range-100', 'range of 100 from a random key (entries/s)'],
  ['scan', 'scan all (entries/s)'],
  ['get-each-compacted', 'get, random, each awaited, after compact()'],
  ['range-100-compacted', 'range of 100 after compact() (entries/s)'],
  ['scan-compacted', 'scan all after compact() (entries/s)'],
];

/** Workloads that cost one IndexedDB transaction per operation on that system. */
export const SLOW = {
  'lsmkv IndexedDB': ['put-each'],
  // OPFS: each awaited call is a round trip to its worker (writers and
  // puts issued together share one message and one flush: not capped).
  'lsmkv OPFS': ['put-each', 'get-each', 'get-each-compacted'],
  'raw IndexedDB': ['put-each', 'put-writers', 'put-issued', 'get-each'],
  'idb-keyval': ['put-each', 'put-writers', 'put-issued', 'get-each'],
};

export const key = (i) => `key${String(i).padStart(13, '0')}`;

export function values(count) {
  const out = [];
  for (let i = 0; i < count; i++) out.push(crypto.getRandomValues(new Uint8Array(100)));
  return out;
}

export function shuffled(count, seed = 1) {
  const order = Array.from({ length: count }, (_, i) => i);
  let a = seed;
  for (let i = count - 1; i > 0; i--) {
    a = (Math.imul(a, 1103515245) + 12345) & 0x7fffffff;
    const j = a % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

async function timed(ops, body) {
  const start = performance.now();
  const counted = await body();
  return { ops: typeof counted === 'number' ? counted : ops, ms: performance.now() - start };
}

/** Minimum time of a read workload: short ones are repeated (reads change nothing) until then. */
export const READ_MS_MIN = 300;

/** Runs `once` (returning { ops, ms }) until READ_MS_MIN has passed; sums. */
export async function repeated(once) {
  let ops = 0, ms = 0;
  do {
    const r = await once();
    ops += r.ops;
    ms += r.ms;
  } while (ms < READ_MS_MIN);
  return { ops, ms };
}

/** `writers` async loops share keys from..from+count, each awaiting its own op. */
async function concurrently(from, count, writers, op) {
  let next = from;
  const end = from + count;
  const writer = async () => {
    while (next < end) await op(next++);
  };
  await Promise.all(Array.from({ length: Math.min(writers, count) }, writer));
}

const value = (vals, i) => vals[i % vals.length];

// ---- lsmkv ----

export async function lsmkvPutsAwaited(store, from, count, vals) {
  return timed(count, async () => {
    for (let i = from; i < from + count; i++) await store.put(key(i), value(vals, i));
  });
}

export async function lsmkvPutsWriters(store, from, count, vals, writers) {
  return timed(count, () => concurrently(from, count, writers, (i) => store.put(key(i), value(vals, i))));
}

/** `concurrency` puts issued without awaiting, then awaited, round after round. */
export async function lsmkvPutsConcurrent(store, from, count, vals, concurrency = count) {
  return timed(count, async () => {
    for (let i = from; i < from + count; i += concurrency) {
      const round = [];
      for (let j = i; j < Math.min(i + concurrency, from + count); j++) round.push(store.put(key(j), value(vals, j)));
      await Promise.all(round);
    }
  });
}

export async function lsmkvBatchPut(store, from, count, vals, batch = count) {
  return timed(count, async () => {
    for (let i = from; i < from + count; i += batch) {
      const entries = [];
      for (let j = i; j < Math.min(i + batch, from + count); j++) entries.push([key(j), value(vals, j)]);
      await store.batchPut(entries);
    }
  });
}

export async function lsmkvGets(store, order) {
  return timed(order.length, async () => {
    for (const i of order) {
      if ((await store.get(key(i))) === undefined) throw new Error(`lsmkv lost ${key(i)}`);
    }
  });
}

export async function lsmkvGetsIssued(store, order) {
  return timed(order.length, async () => {
    const found = await Promise.all(order.map((i) => store.get(key(i))));
    if (found.some((v) => v === undefined)) throw new Error('lsmkv lost a key');
  });
}

export async function lsmkvGetsSync(store, order) {
  return timed(order.length, () => {
    for (const i of order) {
      if (store.getSync(key(i)) === undefined) throw new Error(`lsmkv lost ${key(i)}`);
    }
  });
}

export async function lsmkvRanges(store, starts, size, n) {
  return timed(0, async () => {
    let seen = 0;
    for (const i of starts) {
      const page = await store.range({ gte: key(i), limit: size });
      if (page.length !== Math.min(size, n - i)) throw new Error(`lsmkv range from ${i} saw ${page.length}`);
      seen += page.length;
    }
    return seen;
  });
}

export async function lsmkvScan(store, expected) {
  let seen = 0;
  const result = await timed(expected, async () => {
    const it = await store.iterator();
    for (let page = await it.next(1000); page.length; page = await it.next(1000)) seen += page.length;
    it.close();
  });
  if (seen !== expected) throw new Error(`lsmkv scan saw ${seen} of ${expected}`);
  return result;
}

/**
 * lsmkv through the package module `lsmkv` (the `Store` class), on `backend`
 * ('indexeddb', 'opfs', 'memory', or any other Store.open accepts). `durable`:
 * the store is destroyed after use; `capped`: workloads that run `slow` ops.
 */
export function lsmkvSystem(name, lsmkv, backend, { durable = backend !== 'memory', capped = SLOW[name] ?? [] } = {}) {
  const { Store } = lsmkv;
  const fresh = async () => {
    const id = `bench-${backend}-${Math.random()}`;
    const store = await Store.open(id, { backend, durability: 'strict' });
    return {
      store,
      drop: async () => {
        await store.close();
        if (durable) await Store.destroy(id, { backend });
      },
    };
  };
  return {
    name,
    async run({ n, slow, writers, ranges, vals, order }) {
      // Workloads in `capped` run `slow` ops (see SLOW).
      const count = (id) => (capped.includes(id) ? Math.min(slow, n) : n);
      const r = {};
      let s = await fresh();
      r['put-each'] = await lsmkvPutsAwaited(s.store, 0, count('put-each'), vals);
      await s.drop();
      s = await fresh();
      r['put-writers'] = await lsmkvPutsWriters(s.store, 0, count('put-writers'), vals, writers);
      await s.drop();
      s = await fresh();
      r['put-issued'] = await lsmkvPutsConcurrent(s.store, 0, count('put-issued'), vals);
      await s.drop();
      s = await fresh();
      r['put-batch'] = await lsmkvBatchPut(s.store, 0, n, vals);
      const starts = order.slice(0, ranges);
      for (const suffix of ['', '-compacted']) {
        if (suffix) await s.store.compact();
        const gets = order.slice(0, count(`get-each${suffix}`));
        r[`get-each${suffix}`] = await repeated(() => lsmkvGets(s.store, gets));
        if (!suffix) r['get-issued'] = await repeated(() => lsmkvGetsIssued(s.store, order));
        // getSync: IndexedDB and memory stores (an OPFS store's engine is in its worker).
        if (!suffix && backend !== 'opfs' && typeof s.store.getSync === 'function') {
          r['get-sync'] = await repeated(() => lsmkvGetsSync(s.store, order));
        }
        r[`range-100${suffix}`] = await repeated(() => lsmkvRanges(s.store, starts, 100, n));
        r[`scan${suffix}`] = await repeated(() => lsmkvScan(s.store, n));
      }
      await s.drop();
      return r;
    },
  };
}

// ---- raw IndexedDB ----

export function rawOpen(name) {
  return new Promise((done, fail) => {
    const request = indexedDB.open(name, 1);
    request.onupgradeneeded = () => request.result.createObjectStore('kv');
    request.onsuccess = () => done(request.result);
    request.onerror = () => fail(request.error);
  });
}

const committed = (tx) => new Promise((done, fail) => { tx.oncomplete = done; tx.onabort = () => fail(tx.error); });
const requested = (request) => new Promise((done, fail) => { request.onsuccess = () => done(request.result); request.onerror = () => fail(request.error); });
const deleted = (name) => new Promise((done) => { const r = indexedDB.deleteDatabase(name); r.onsuccess = r.onerror = r.onblocked = done; });

function rawPut(db, i, vals) {
  const tx = db.transaction('kv', 'readwrite', { durability: 'strict' });
  tx.objectStore('kv').put(value(vals, i), key(i));
  return committed(tx);
}

export async function rawPutsPerTransaction(db, from, count, vals, perTx) {
  return timed(count, async () => {
    for (let i = from; i < from + count; i += perTx) {
      const tx = db.transaction('kv', 'readwrite', { durability: 'strict' });
      const store = tx.objectStore('kv');
      for (let j = i; j < Math.min(i + perTx, from + count); j++) store.put(value(vals, j), key(j));
      await committed(tx);
    }
  });
}

export async function rawGetsPerTransaction(db, order, perTx) {
  return timed(order.length, async () => {
    for (let i = 0; i < order.length; i += perTx) {
      const tx = db.transaction('kv', 'readonly');
      const store = tx.objectStore('kv');
      const gets = order.slice(i, i + perTx).map((k) => requested(store.get(key(k))));
      for (const found of await Promise.all(gets)) if (found === undefined) throw new Error('raw lost a key');
    }
  });
}

/** One read-only transaction per range: `getAllKeys` + `getAll` of `size` from a key. */
export async function rawRanges(db, starts, size, n) {
  return timed(0, async () => {
    let seen = 0;
    for (const i of starts) {
      const store = db.transaction('kv', 'readonly').objectStore('kv');
      const range = IDBKeyRange.lowerBound(key(i));
      const [keys, vals] = await Promise.all([requested(store.getAllKeys(range, size)), requested(store.getAll(range, size))]);
      if (keys.length !== Math.min(size, n - i) || vals.length !== keys.length) throw new Error(`raw range from ${i} saw ${keys.length}`);
      seen += keys.length;
    }
    return seen;
  });
}

export async function rawScanCursor(db, expected) {
  let seen = 0;
  const result = await timed(expected, () => new Promise((done, fail) => {
    const request = db.transaction('kv', 'readonly').objectStore('kv').openCursor();
    request.onsuccess = () => {
      const cursor = request.result;
      if (!cursor) { done(); return; }
      seen++;
      cursor.continue();
    };
    request.onerror = () => fail(request.error);
  }));
  if (seen !== expected) throw new Error(`cursor saw ${seen} of ${expected}`);
  return result;
}

/** Keys and values in pages of 1000 (`getAllKeys` + `getAll`), the fastest plain scan. */
export async function rawScanPages(db, expected) {
  let seen = 0;
  const result = await timed(expected, async () => {
    let range = null;
    for (;;) {
      const store = db.transaction('kv', 'readonly').objectStore('kv');
      const [keys, vals] = await Promise.all([requested(store.getAllKeys(range, 1000)), requested(store.getAll(range, 1000))]);
      seen += vals.length;
      if (keys.length < 1000) break;
      range = IDBKeyRange.lowerBound(keys[keys.length - 1], true);
    }
  });
  if (seen !== expected) throw new Error(`getAll pages saw ${seen} of ${expected}`);
  return result;
}

/** Raw IndexedDB, strict durability: one object store, key → Uint8Array. */
export function rawSystem() {
  const fresh = async () => {
    const name = `bench-raw-${Math.random()}`;
    const db = await rawOpen(name);
    return { db, drop: async () => { db.close(); await deleted(name); } };
  };
  return {
    name: 'raw IndexedDB',
    async run({ n, slow, writers, ranges, vals, order }) {
      const r = {};
      const few = Math.min(slow, n);
      let s = await fresh();
      r['put-each'] = await rawPutsPerTransaction(s.db, 0, few, vals, 1);
      r['put-writers'] = await timed(few, () => concurrently(few, few, writers, (i) => rawPut(s.db, i, vals)));
      r['put-issued'] = await timed(few, () => Promise.all(Array.from({ length: few }, (_, j) => rawPut(s.db, 2 * few + j, vals))));
      await s.drop();
      s = await fresh();
      r['put-batch'] = await rawPutsPerTransaction(s.db, 0, n, vals, n);
      r['get-each'] = await rawGetsPerTransaction(s.db, order.slice(0, few), 1);
      r['get-issued'] = await repeated(() => rawGetsPerTransaction(s.db, order, n));
      r['range-100'] = await repeated(() => rawRanges(s.db, order.slice(0, ranges), 100, n));
      r.scan = await repeated(() => rawScanPages(s.db, n));
      await s.drop();
      return r;
    },
  };
}

// ---- idb-keyval ----

/** idb-keyval (npm), as a web developer would use it: `set`, `setMany`, `get`, `getMany`, `entries`. */
export function idbKeyvalSystem(kv) {
  const fresh = () => {
    const name = `bench-keyval-${Math.random()}`;
    const store = kv.createStore(name, 'kv');
    return { store, drop: async () => { await store('readonly', (s) => s.transaction.db.close()); await deleted(name); } };
  };
  return {
    name: 'idb-keyval',
    async run({ n, slow, writers, vals, order }) {
      const r = {};
      const few = Math.min(slow, n);
      let s = fresh();
      r['put-each'] = await timed(few, async () => {
        for (let i = 0; i < few; i++) await kv.set(key(i), value(vals, i), s.store);
      });
      r['put-writers'] = await timed(few, () => concurrently(few, few, writers, (i) => kv.set(key(i), value(vals, i), s.store)));
      r['put-issued'] = await timed(few, () => Promise.all(Array.from({ length: few }, (_, j) => kv.set(key(2 * few + j), value(vals, j), s.store))));
      await s.drop();
      s = fresh();
      r['put-batch'] = await timed(n, () => kv.setMany(Array.from({ length: n }, (_, i) => [key(i), value(vals, i)]), s.store));
      r['get-each'] = await timed(few, async () => {
        for (const i of order.slice(0, few)) if ((await kv.get(key(i), s.store)) === undefined) throw new Error('idb-keyval lost a key');
      });
      r['get-issued'] = await repeated(() => timed(n, async () => {
        const found = await kv.getMany(order.map(key), s.store);
        if (found.some((v) => v === undefined)) throw new Error('idb-keyval lost a key');
      }));
      r.scan = await repeated(() => timed(n, async () => {
        const all = await kv.entries(s.store);
        if (all.length !== n) throw new Error(`idb-keyval entries saw ${all.length}`);
      }));
      await s.drop();
      return r;
    },
  };
}
