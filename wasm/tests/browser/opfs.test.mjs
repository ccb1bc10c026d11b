// Browser tests of the OPFS backend and of IndexedDB wipe detection, on the
// `--target web` package in headless Chromium (Playwright): what needs a
// real page, several tabs, or the package as users load it.
// Run from the repository root after `bash wasm/scripts/build.sh web`:
//   node --test wasm/tests/browser/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, start } from './chromium.mjs';

let url, browser, stop;
const errors = [];

before(async () => ({ url, browser, stop } = await start()));
after(() => stop?.());

test('OPFS: seeded model test against a sorted Map, with closes, crashes and reopens', async () => {
  const context = await browser.newContext();
  const page = await openPage(context, url, errors);
  for (const seed of [21, 22]) {
    const result = await page.evaluate(async (seed) => {
      const { runModel } = await import('/wasm/tests/js/model.mjs');
      const { Store } = window.lsmkv;
      const name = `opfs-model-${seed}-${Math.random()}`;
      const options = { backend: 'opfs', preset: 'teaching' };
      let reopens = 0;
      const reopen = async (store) => {
        reopens++;
        await (reopens % 2 ? store.close() : store.debugCrash());
        return Store.open(name, options);
      };
      const store = await runModel({ store: await Store.open(name, options), seed, steps: 500, reopen });
      const stats = await store.stats();
      const health = await store.health();
      await store.close();
      await Store.destroy(name, { backend: 'opfs' });
      return { reopens, flushes: stats.flushes, backend: health.backend, files: health.opfs.files };
    }, seed);
    assert.equal(result.backend, 'opfs');
    assert.ok(result.flushes > 0 && result.reopens > 0, JSON.stringify(result));
  }
  await context.close();
});

test('OPFS: a second tab is locked out, and gets the store after the first closes', async () => {
  const context = await browser.newContext();
  const [first, second] = [await openPage(context, url, errors), await openPage(context, url, errors)];
  await first.evaluate(async () => {
    window.store = await window.lsmkv.Store.open('opfs-tabs', { backend: 'opfs' });
    await window.store.put('owner', 'first tab');
  });
  const refused = await second.evaluate(() => window.lsmkv.Store.open('opfs-tabs', { backend: 'opfs' })
    .then(() => null, (e) => ({ code: e.code, message: e.message, name: e.name })));
  assert.equal(refused.code, 'LSMKV_LOCKED');
  assert.equal(refused.name, 'LsmkvError');
  assert.match(refused.message, /another tab or worker/);
  const waiting = second.evaluate(async () => {
    const store = await window.lsmkv.Store.open('opfs-tabs', { backend: 'opfs', lock: 'wait' });
    const owner = await store.get('owner');
    await store.close();
    await window.lsmkv.Store.destroy('opfs-tabs', { backend: 'opfs' });
    return owner;
  });
  await first.evaluate(() => window.store.close());
  assert.equal(await waiting, 'first tab');
  await context.close();
});

test('OPFS: the worker is the package snippet, and large values round-trip', async () => {
  const context = await browser.newContext();
  const page = await openPage(context, url, errors);
  const workers = [];
  page.on('worker', (w) => workers.push(w.url()));
  const result = await page.evaluate(async () => {
    const { Store } = window.lsmkv;
    const store = await Store.open('opfs-big', { backend: 'opfs' });
    const big = new Uint8Array(3 << 20).map((_, i) => i % 251);
    await store.put('big', big);
    await store.flush();
    const back = await store.get('big');
    const same = back.length === big.length && back.every((v, i) => v === big[i]);
    await store.close();
    await Store.destroy('opfs-big', { backend: 'opfs' });
    return { same, type: back.constructor.name };
  });
  assert.deepEqual(result, { same: true, type: 'Uint8Array' });
  assert.equal(workers.length, 1);
  assert.match(workers[0], /\/wasm\/pkg\/snippets\/lsmkv-wasm-[0-9a-f]+\/js\/opfs\.js$/);
  await context.close();
});

test('IndexedDB: a database deleted outside lsmkv is reported at the next open, a destroyed one is not', async () => {
  const context = await browser.newContext();
  const page = await openPage(context, url, errors);
  const result = await page.evaluate(async () => {
    const { Store } = window.lsmkv;
    const name = `wiped-${Math.random()}`;
    const events = [];
    globalThis.addEventListener('lsmkv-wipe', (e) => events.push(e.detail));
    let store = await Store.open(name);
    await store.put('a', 1);
    const fresh = await store.health();
    const freshFeed = (await store.events()).events.map((e) => e.type);
    await store.close();
    // What Chromium does to a damaged IndexedDB: the database is gone.
    await new Promise((done, fail) => {
      const request = indexedDB.deleteDatabase(`lsmkv:${name}`);
      request.onsuccess = done;
      request.onerror = () => fail(request.error);
    });
    store = await Store.open(name);
    const wiped = await store.health();
    const wipedFeed = (await store.events()).events;
    const empty = await store.get('a');
    await store.put('b', 2);
    await store.close();
    // The next session is normal again.
    store = await Store.open(name);
    const after = await store.health();
    const afterFeed = (await store.events()).events.map((e) => e.type);
    await store.close();
    // Destroying on purpose is never reported.
    await Store.destroy(name);
    store = await Store.open(name);
    const recreated = await store.health();
    await store.close();
    await Store.destroy(name);
    return { fresh, freshFeed, wiped, wipedFeed, empty, after, afterFeed, recreated, events };
  });
  assert.equal(result.fresh.wipeDetection, 'opfs');
  assert.equal(result.fresh.wipe, null);
  assert.equal(result.wiped.status, 'ok');
  assert.ok(result.wiped.wipe, 'the wipe is reported');
  assert.match(result.wiped.wipe.message, /was deleted since the store was last opened/);
  assert.equal(result.empty, undefined);
  // The store's own event feed says so too, right after the open.
  assert.deepEqual(result.wipedFeed.map((e) => e.type), ['opened', 'storageNotice']);
  assert.equal(result.wipedFeed[1].message, result.wiped.wipe.message);
  assert.ok(!result.freshFeed.includes('storageNotice'), 'no notice without a wipe');
  assert.ok(!result.afterFeed.includes('storageNotice'), 'no notice in the next session');
  assert.equal(result.after.wipe, null);
  assert.equal(result.recreated.wipe, null);
  assert.equal(result.events.length, 1);
  assert.equal(result.events[0].database, result.wiped.wipe.database);
  await context.close();
});

test('no page errors', () => {
  assert.deepEqual(errors, []);
});
