// Node tests of the package built with `--target nodejs` (memory backend):
// the JS API end to end, error codes, and the seeded model test.
// Run: node --test wasm/tests/node/ (after `bash wasm/scripts/build.sh node`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { runModel } from '../js/model.mjs';

const require = createRequire(import.meta.url);
const { Store, version } = require('../../pkg-node/lsmkv_wasm.js');

const memory = (extra = {}) => ({ backend: 'memory', preset: 'teaching', ...extra });

async function rejectsWith(promise, code) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof Error, 'a real Error');
    assert.equal(typeof error.stack, 'string');
    assert.equal(error.code, code, error.message);
    return true;
  });
}

test('version is the crate version', () => {
  assert.equal(version(), '0.1.0');
});

test('put, get, delete, batch, range and keys', async () => {
  const store = await Store.open('crud', memory());
  await store.put('b', 'two');
  await store.put('a', { n: 1 });
  await store.put(new Uint8Array([0xff]), new Uint8Array([1, 2, 3]));
  assert.deepEqual(await store.get('a'), { n: 1 });
  assert.equal(await store.get('missing'), undefined);
  assert.deepEqual(await store.get(new Uint8Array([0xff])), new Uint8Array([1, 2, 3]));
  await store.batch([{ type: 'put', key: 'c', value: 3 }, { type: 'del', key: 'b' }]);
  await store.batchPut([['d', true], ['e', null]]);
  assert.deepEqual(await store.keys({ lt: 'z' }), ['a', 'c', 'd', 'e']);
  assert.deepEqual(await store.range({ gt: 'a', lte: 'd', reverse: true }), [['d', true], ['c', 3]]);
  const [last] = await store.keys({ reverse: true, limit: 1, keyEncoding: 'binary' });
  assert.deepEqual(last, new Uint8Array([0xff]));
  await store.close();
});

test('the teaching preset flushes at 30 entries and stats show it', async () => {
  const store = await Store.open('caps', memory());
  for (let i = 0; i < 100; i++) await store.put(`k${i}`, i);
  const stats = await store.stats();
  assert.equal(stats.memtableMaxEntries, 30);
  assert.equal(stats.sstableMaxEntries, 30);
  assert.ok(stats.memtableEntries <= 30);
  assert.ok(stats.flushes >= 3);
  for (const level of stats.levels) for (const t of level.tables) assert.ok(t.entries <= 30);
  const page = await store.events(0);
  assert.ok(page.events.some((e) => e.type === 'flushed'));
  await store.close();
});

test('bad input rejects with a coded Error', async () => {
  const store = await Store.open('bad', memory());
  await rejectsWith(store.put(42, 'v'), 'LSMKV_INVALID_KEY');
  await rejectsWith(store.put('', 'v'), 'LSMKV_INVALID_KEY');
  await rejectsWith(store.put('k', undefined), 'LSMKV_INVALID_VALUE');
  await rejectsWith(store.put('k', new Map()), 'LSMKV_INVALID_VALUE');
  await rejectsWith(store.put('k', { when: new Date() }), 'LSMKV_INVALID_VALUE');
  await rejectsWith(store.put('k', 10n), 'LSMKV_INVALID_VALUE');
  const cyclic = {}; cyclic.self = cyclic;
  await rejectsWith(store.put('k', cyclic), 'LSMKV_INVALID_VALUE');
  await rejectsWith(store.range({ gt: 'a', gte: 'a' }), 'LSMKV_INVALID_ARGUMENT');
  await rejectsWith(store.range({ limit: 1.5 }), 'LSMKV_INVALID_ARGUMENT');
  await rejectsWith(store.batch('nope'), 'LSMKV_INVALID_ARGUMENT');
  await rejectsWith(Store.open('x', memory({ sstableMaxEntries: 0 })), 'LSMKV_INVALID_OPTIONS');
  await rejectsWith(Store.open('x', memory({ memtableMaxEntrys: 5 })), 'LSMKV_INVALID_OPTIONS');
  await rejectsWith(Store.open('x', { durability: 'sometimes', backend: 'memory' }), 'LSMKV_INVALID_OPTIONS');
  // No IndexedDB in Node: the default backend says so.
  await rejectsWith(Store.open('x'), 'LSMKV_UNSUPPORTED');
  await store.close();
  await rejectsWith(store.get('a'), 'LSMKV_CLOSED');
});

test('a key buffer reused after put does not change the write', async () => {
  const store = await Store.open('reuse', memory());
  const key = new Uint8Array([1, 2]);
  const pending = store.put(key, 'first');
  key[0] = 9;
  await pending;
  assert.equal(await store.get(new Uint8Array([1, 2])), 'first');
  await store.close();
});

test('snapshots, iterators, explainGet, inspectTable, space', async () => {
  const store = await Store.open('views', memory());
  for (let i = 0; i < 40; i++) await store.put(`i${String(i).padStart(2, '0')}`, i);
  const snap = await store.snapshot();
  await store.put('i00', 'changed');
  assert.equal(await store.get('i00', { snapshot: snap }), 0);
  assert.equal(await store.get('i00'), 'changed');
  const it = await store.iterator({ gte: 'i30', snapshot: snap });
  assert.equal((await it.next(4)).length, 4);
  await it.seek('i38');
  assert.deepEqual(await it.next(), [['i38', 38], ['i39', 39]]);
  assert.deepEqual(await it.next(), []);
  it.close();
  snap.release();
  await rejectsWith(store.get('i00', { snapshot: snap }), 'LSMKV_INVALID_ARGUMENT');
  const flushed = await store.flush();
  assert.ok(flushed === null || Array.isArray(flushed.outputs));
  const trace = await store.explainGet('i05');
  assert.equal(trace.value, 5);
  assert.ok(trace.probes.length >= 1);
  const stats = await store.stats();
  const table = stats.levels.flatMap((l) => l.tables)[0];
  const inspected = await store.inspectTable(table.number);
  assert.equal(inspected.entries.length, inspected.entryCount);
  const space = await store.space();
  assert.equal(space.liveKeys, 40);
  await store.compact();
  assert.equal((await store.keys()).length, 40);
  await store.close();
});

for (const seed of [1, 2, 3]) {
  test(`seeded model test against a sorted Map (seed ${seed})`, async () => {
    const store = await Store.open(`model${seed}`, memory());
    const last = await runModel({ store, seed, steps: 600 });
    await last.close();
  });
}

test('calls take effect in call order, even when not awaited', async () => {
  // Each method does its engine work when called (polled once at call
  // time); that must keep the order of calls, as queued tasks did.
  const store = await Store.open('order', memory());
  const oldValue = store.get('k');
  const put = store.put('k', 'v1');
  const newValue = store.get('k');
  const snapshot = store.snapshot();
  const overwrite = store.put('k', 'v2');
  await Promise.all([put, overwrite]);
  assert.equal(await oldValue, undefined);
  assert.equal(await newValue, 'v1');
  const snap = await snapshot;
  assert.equal(await store.get('k', { snapshot: snap }), 'v1', 'the snapshot predates the second put');
  snap.release();
  const closing = store.close();
  await rejectsWith(store.put('late', 'x'), 'LSMKV_CLOSED');
  await closing;
});
