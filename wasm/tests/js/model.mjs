// A seeded random model test of the JS API against a JS Map with sorted
// keys. Shared by the Node test (memory backend) and the browser test
// (IndexedDB, with reopens). A failure names its seed and step, and the same
// seed replays the same operations.

/** mulberry32: a small deterministic generator. */
export function rng(seed) {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296 * n) | 0;
  };
}

const sortedKeys = (model) => [...model.keys()].sort();
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

function expectSame(got, want, where) {
  if (!same(got, want)) {
    throw new Error(`${where}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
}

/**
 * Runs `steps` random operations on `store` and a Map model, checking reads
 * as it goes. `reopen` (optional) closes and reopens the store, returning
 * the new one; it is called now and then to prove nothing acknowledged is lost.
 */
export async function runModel({ store, seed, steps = 500, keySpace = 80, reopen }) {
  const next = rng(seed);
  const model = new Map();
  const key = () => `k${String(next(keySpace)).padStart(3, '0')}`;
  const value = (step) => {
    switch (next(4)) {
      case 0: return `s${step}`;
      case 1: return step;
      case 2: return { step, tags: ['a', step % 3 === 0] };
      default: return new Uint8Array([step & 0xff, 0, 0xff]);
    }
  };
  const plain = (v) => (v instanceof Uint8Array ? { bytes: [...v] } : v);
  for (let step = 0; step < steps; step++) {
    const where = `seed ${seed} step ${step}`;
    const op = next(12);
    if (op < 5) {
      const k = key(), v = value(step);
      await store.put(k, v);
      model.set(k, v);
    } else if (op === 5) {
      const k = key();
      await store.delete(k);
      model.delete(k);
    } else if (op === 6) {
      const k = key();
      expectSame(plain(await store.get(k)), plain(model.get(k)), `${where} get ${k}`);
    } else if (op === 7) {
      let lo = key(), hi = key();
      if (lo > hi) [lo, hi] = [hi, lo];
      const reverse = next(2) === 1;
      const limit = next(3) === 0 ? next(10) : undefined;
      let want = sortedKeys(model).filter((k) => k >= lo && k < hi);
      if (reverse) want.reverse();
      if (limit !== undefined) want = want.slice(0, limit);
      const got = await store.range({ gte: lo, lt: hi, reverse, limit });
      expectSame(got.map(([k, v]) => [k, plain(v)]), want.map((k) => [k, plain(model.get(k))]),
        `${where} range ${lo}..${hi} reverse=${reverse} limit=${limit}`);
    } else if (op === 8) {
      // Several writes in one tick: one atomic batch and loose puts.
      const ops = [];
      for (let i = 0; i < 1 + next(5); i++) {
        const k = key();
        if (next(3) === 0) { ops.push({ type: 'del', key: k }); } else { ops.push({ type: 'put', key: k, value: value(step) }); }
      }
      const loose = [key(), key()];
      await Promise.all([store.batch(ops), ...loose.map((k) => store.put(k, `loose${step}`))]);
      for (const o of ops) { if (o.type === 'del') model.delete(o.key); else model.set(o.key, o.value); }
      for (const k of loose) model.set(k, `loose${step}`);
    } else if (op === 9 && reopen && next(10) === 0) {
      store = await reopen(store);
    } else if (op === 10) {
      const prefix = `k0${next(8)}`;
      const want = sortedKeys(model).filter((k) => k.startsWith(prefix));
      expectSame(await store.keys({ prefix }), want, `${where} keys prefix ${prefix}`);
    } else {
      const entries = [];
      for (let i = 0; i < 1 + next(4); i++) entries.push([key(), `bp${step}`]);
      await store.batchPut(entries);
      for (const [k, v] of entries) model.set(k, v);
    }
  }
  expectSame(await store.keys(), sortedKeys(model), `seed ${seed} final keys`);
  return store;
}
