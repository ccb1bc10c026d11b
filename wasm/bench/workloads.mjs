// Benchmark workloads, run inside the page. Each returns { ops, ms }.
// Keys: 16 bytes ("key" + 13 digits, ascending); values: 100 random bytes.

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
    a = (a * 1103515245 + 12345) & 0x7fffffff;
    const j = a % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

async function timed(ops, body) {
  const start = performance.now();
  await body();
  return { ops, ms: performance.now() - start };
}

// ---- lsmkv ----

export async function lsmkvPutsAwaited(store, from, count, vals) {
  return timed(count, async () => {
    for (let i = from; i < from + count; i++) await store.put(key(i), vals[i % vals.length]);
  });
}

/** `concurrency` puts in flight at once: writes of one tick share a transaction. */
export async function lsmkvPutsConcurrent(store, from, count, vals, concurrency) {
  return timed(count, async () => {
    for (let i = from; i < from + count; i += concurrency) {
      const round = [];
      for (let j = i; j < Math.min(i + concurrency, from + count); j++) round.push(store.put(key(j), vals[j % vals.length]));
      await Promise.all(round);
    }
  });
}

export async function lsmkvBatchPut(store, from, count, vals, batch) {
  return timed(count, async () => {
    for (let i = from; i < from + count; i += batch) {
      const entries = [];
      for (let j = i; j < Math.min(i + batch, from + count); j++) entries.push([key(j), vals[j % vals.length]]);
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

export async function rawPutsPerTransaction(db, from, count, vals, perTx) {
  return timed(count, async () => {
    for (let i = from; i < from + count; i += perTx) {
      const tx = db.transaction('kv', 'readwrite', { durability: 'strict' });
      const store = tx.objectStore('kv');
      for (let j = i; j < Math.min(i + perTx, from + count); j++) store.put(vals[j % vals.length], key(j));
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
      for (const value of await Promise.all(gets)) if (value === undefined) throw new Error('raw lost a key');
    }
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
