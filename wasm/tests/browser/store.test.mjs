// Browser tests of the `--target web` package in headless Chromium, driven
// by Playwright: what needs several tabs or a real page. (Quota failures are
// injected in the wasm-bindgen tests: Chromium 156 headless ignored CDP's
// Storage.overrideQuotaForOrigin here, so a real quota could not be forced.)
// Run from the repository root after `bash wasm/scripts/build.sh web`:
//   node --test wasm/tests/browser/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, start } from './chromium.mjs';

let url, browser, stop;
const errors = [];

before(async () => ({ url, browser, stop } = await start()));
after(() => stop?.());

test('seeded model test against a sorted Map on IndexedDB, with reopens', async () => {
  const context = await browser.newContext();
  const page = await openPage(context, url, errors);
  for (const seed of [11, 12]) {
    const result = await page.evaluate(async (seed) => {
      const { runModel } = await import('/wasm/tests/js/model.mjs');
      const { Store } = window.lsmkv;
      const name = `model-${seed}-${Math.random()}`;
      const options = { backend: 'indexeddb', preset: 'teaching' };
      let reopens = 0;
      const reopen = async (store) => { reopens++; await store.close(); return Store.open(name, options); };
      const store = await runModel({ store: await Store.open(name, options), seed, steps: 500, reopen });
      const stats = await store.stats();
      await store.close();
      return { reopens, flushes: stats.flushes };
    }, seed);
    assert.ok(result.flushes > 0, JSON.stringify(result));
  }
  await context.close();
});

test('a second tab is locked out, and gets the store after the first closes', async () => {
  const context = await browser.newContext();
  const [first, second] = [await openPage(context, url, errors), await openPage(context, url, errors)];
  await first.evaluate(async () => {
    window.store = await window.lsmkv.Store.open('tabs', { backend: 'indexeddb' });
    await window.store.put('owner', 'first tab');
  });
  const code = await second.evaluate(() => window.lsmkv.Store.open('tabs').then(() => 'opened', (e) => e.code));
  assert.equal(code, 'LSMKV_LOCKED');
  // A waiting opener in the second tab gets it once the first closes.
  const waiting = second.evaluate(async () => {
    const store = await window.lsmkv.Store.open('tabs', { lock: 'wait' });
    const owner = await store.get('owner');
    await store.close();
    return owner;
  });
  await first.evaluate(() => window.store.close());
  assert.equal(await waiting, 'first tab');
  await context.close();
});

test('a database deleted by another tab fails the next write clearly', async () => {
  // IndexedDB's versionchange: the store lets go of its connection; the
  // next write must not land in a fresh empty database, nor vanish silently.
  const context = await browser.newContext();
  const [owner, other] = [await openPage(context, url, errors), await openPage(context, url, errors)];
  await owner.evaluate(async () => {
    window.store = await window.lsmkv.Store.open('deleted', { backend: 'indexeddb' });
    await window.store.put('a', 1);
  });
  await other.evaluate(() => new Promise((done, fail) => {
    const request = indexedDB.deleteDatabase('lsmkv:deleted');
    request.onsuccess = done;
    request.onerror = () => fail(request.error);
  }));
  const code = await owner.evaluate(() => window.store.put('b', 2).then(() => 'resolved', (e) => e.code));
  assert.equal(code, 'LSMKV_IO');
  const health = await owner.evaluate(() => window.store.health());
  assert.equal(health.status, 'readOnly');
  await owner.evaluate(() => window.store.close());
  await context.close();
});

test('relaxed durability and persistent-storage requests work', async () => {
  const context = await browser.newContext();
  const page = await openPage(context, url, errors);
  const health = await page.evaluate(async () => {
    const store = await window.lsmkv.Store.open('relaxed', { durability: 'relaxed', persist: true });
    await Promise.all(Array.from({ length: 100 }, (_, i) => store.put(`r${i}`, i)));
    const health = await store.health();
    await store.close();
    return health;
  });
  assert.equal(health.indexeddb.durability, 'relaxed');
  assert.equal(typeof health.persisted, 'boolean');
  assert.ok(health.storage && typeof health.storage.quota === 'number');
  assert.ok(health.indexeddb.transactions <= 3, `100 same-tick puts used ${health.indexeddb.transactions} transactions`);
  await context.close();
});

test('examples/embed.html works when served statically, and remembers visits', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  for (const visit of [1, 2]) {
    await page.goto(`${url}/examples/embed.html`);
    await page.waitForFunction(() => document.getElementById('out').textContent.includes('done')
      || document.getElementById('out').textContent.includes('error'));
    const text = await page.textContent('#out');
    assert.match(text, new RegExp(`visits: ${visit}\\b`), text);
  }
  await context.close();
});

test('a store in IndexedDB format 1 ({ id, len } records) opens with its data and is converted', async () => {
  // Format 1 cut each file to its record's `len`, so bytes past it (here a
  // junk chunk after the WAL's end) were not part of the file. Opening must
  // honour that, then rewrite the records as { id } with the cut in chunks.
  const context = await browser.newContext();
  const page = await openPage(context, url, errors);
  const result = await page.evaluate(async () => {
    const { Store } = window.lsmkv;
    const name = `format1-${Math.random()}`;
    let store = await Store.open(name);
    for (let i = 0; i < 20; i++) await store.put(`k${i}`, `v${i}`);
    await store.close();
    const request = (r) => new Promise((ok, fail) => { r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
    const idb = () => request(indexedDB.open(`lsmkv:${name}`));
    let db = await idb();
    let tx = db.transaction(['files', 'chunks'], 'readwrite');
    const [names, records, keys, chunks] = await Promise.all([
      request(tx.objectStore('files').getAllKeys()), request(tx.objectStore('files').getAll()),
      request(tx.objectStore('chunks').getAllKeys()), request(tx.objectStore('chunks').getAll())]);
    const lengths = new Map();
    keys.forEach(([id, offset], i) => lengths.set(id, offset + chunks[i].length));
    names.forEach((file, i) => {
      const { id } = records[i];
      const len = lengths.get(id) ?? 0;
      tx.objectStore('files').put({ id, len }, file);
      if (file.endsWith('.wal')) tx.objectStore('chunks').put(new Uint8Array(7).fill(0xff), [id, len]);
    });
    await new Promise((ok) => { tx.oncomplete = ok; });
    db.close();
    store = await Store.open(name);
    const reopened = (await store.range()).length;
    await store.put('k20', 'v20');
    await store.close();
    db = await idb();
    tx = db.transaction(['files'], 'readonly');
    const converted = (await request(tx.objectStore('files').getAll())).every((r) => !('len' in r));
    db.close();
    store = await Store.open(name);
    const entries = await store.range();
    await store.close();
    await Store.destroy(name);
    return { reopened, converted, count: entries.length, last: await Promise.resolve(entries.find(([k]) => k === 'k20')?.[1]) };
  });
  assert.deepEqual(result, { reopened: 20, converted: true, count: 21, last: 'v20' });
  await context.close();
});

test('no page errors', () => {
  assert.deepEqual(errors, []);
});
