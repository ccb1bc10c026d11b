// Before/after ratios of lsmkv's own workloads, two builds of the package in
// one headless Chromium page, interleaved workload by workload: round r runs
// each workload on build A and on build B back to back (the order flips
// every round), so a change in machine load hits both sides of a ratio
// alike. Prints the median of the per-round ratios B/A and their spread.
//   bash wasm/scripts/build-baseline.sh <before-commit>            # → wasm/pkg-baseline
//   node wasm/bench/ab.mjs [--a wasm/pkg-baseline] [--b wasm/pkg] [--n 10000] [--rounds 9] [--slow 300] [--disk]
// `--only TEXT`: only the workloads whose name contains TEXT (e.g. indexeddb).
// `--disk`: a persistent on-disk profile (as users have; IndexedDB commits
// reach the disk). Without it, Playwright's off-the-record context keeps
// IndexedDB in memory, which isolates CPU costs.
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { serve } from '../scripts/serve.mjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, launchPersistent } from '../tests/browser/chromium.mjs';

const argv = process.argv.slice(2);
const option = (name, fallback) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : fallback; };
const a = option('a', 'wasm/pkg-baseline');
const b = option('b', 'wasm/pkg');
const n = Number(option('n', 10000));
const rounds = Number(option('rounds', 9));
const slow = Number(option('slow', 300));
const only = option('only', ''); // run only workloads whose name contains this

const root = fileURLToPath(new URL('../..', import.meta.url));
const { server, url } = await serve(root);
const disk = argv.includes('--disk');
const profile = disk ? mkdtempSync(join(tmpdir(), 'lsmkv-ab-')) : null;
const browser = disk ? await launchPersistent(profile) : await launch();
const page = disk ? (browser.pages()[0] ?? await browser.newPage()) : await browser.newPage();
page.on('pageerror', (e) => console.error('pageerror:', e.message));
await page.goto(`${url}/wasm/tests/browser/blank.html`);

const result = await page.evaluate(async ({ a, b, n, rounds, slow, only }) => {
  const w = await import('/wasm/bench/workloads.mjs');
  const load = async (dir) => { const m = await import(`/${dir}/lsmkv_wasm.js`); await m.default(); return m; };
  const builds = { a: await load(a), b: await load(b) };
  const vals = w.values(1000);
  const order = w.shuffled(n);
  const starts = order.slice(0, Math.min(1000, n / 10));
  const fresh = async (lsmkv, backend) => {
    const name = `ab-${backend}-${Math.random()}`;
    const store = await lsmkv.Store.open(name, { backend });
    return { store, drop: async () => { await store.close(); if (backend !== 'memory') await lsmkv.Store.destroy(name); } };
  };
  // Each: (lsmkv) => { ops, ms }, on fresh stores.
  const writes = (backend) => ({
    [`${backend}: put, each awaited`]: async (m) => { const s = await fresh(m, backend); const r = await w.lsmkvPutsAwaited(s.store, 0, backend === 'memory' ? n : slow, vals); await s.drop(); return r; },
    [`${backend}: put, 100 writers`]: async (m) => { const s = await fresh(m, backend); const r = await w.lsmkvPutsWriters(s.store, 0, n, vals, 100); await s.drop(); return r; },
    [`${backend}: put, all issued at once`]: async (m) => { const s = await fresh(m, backend); const r = await w.lsmkvPutsConcurrent(s.store, 0, n, vals); await s.drop(); return r; },
    [`${backend}: batchPut of all`]: async (m) => { const s = await fresh(m, backend); const r = await w.lsmkvBatchPut(s.store, 0, n, vals); await s.drop(); return r; },
  });
  const workloads = { ...writes('indexeddb'), ...writes('memory') };
  // Reads on one filled memory store per build (IndexedDB reads are the same in-memory path).
  const filled = {};
  for (const k of ['a', 'b']) { filled[k] = await fresh(builds[k], 'memory'); await w.lsmkvBatchPut(filled[k].store, 0, n, vals); }
  const storeOf = (m) => (m === builds.a ? filled.a.store : filled.b.store);
  Object.assign(workloads, {
    'get, random, each awaited': (m) => w.lsmkvGets(storeOf(m), order),
    'get, random, all issued at once': (m) => w.lsmkvGetsIssued(storeOf(m), order),
    'range of 100 (entries)': (m) => w.lsmkvRanges(storeOf(m), starts, 100, n),
    'scan (entries)': (m) => w.lsmkvScan(storeOf(m), n),
  });
  for (const name of Object.keys(workloads)) if (!name.includes(only)) delete workloads[name];
  const ratios = {}, rates = {};
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of Object.entries(workloads)) {
      const sides = round % 2 ? ['b', 'a'] : ['a', 'b'];
      const rate = {};
      // Each sample runs for at least READ_MS_MIN (repeated on fresh stores), so
      // one pause of another tenant cannot decide it.
      for (const side of sides) { const r = await w.repeated(() => run(builds[side])); rate[side] = r.ops / (r.ms / 1000); }
      (ratios[name] ??= []).push(rate.b / rate.a);
      (rates[name] ??= { a: [], b: [] }).a.push(rate.a);
      rates[name].b.push(rate.b);
    }
  }
  for (const k of ['a', 'b']) await filled[k].drop();
  return { ratios, rates };
}, { a, b, n, rounds, slow, only });
await browser.close();
server.close();
if (profile) rmSync(profile, { recursive: true, force: true });

const median = (xs) => { const s = [...xs].sort((x, y) => x - y); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const quartiles = (xs) => { const s = [...xs].sort((x, y) => x - y); return [s[Math.floor((s.length - 1) / 4)], s[Math.ceil((3 * (s.length - 1)) / 4)]]; };
const fmt = (x) => Math.round(x).toLocaleString('en-US');
console.log(`lsmkv before/after, interleaved in one headless Chromium page (${disk ? 'profile on disk' : 'off the record: IndexedDB in memory'}): A = ${a}, B = ${b}; n = ${n} (IndexedDB awaited puts: ${slow}); ${rounds} rounds; ops/s medians.\n`);
console.log('| workload | A ops/s | B ops/s | B/A (median of per-round ratios) | middle half of the ratios | B/A of the best rounds |');
console.log('|---|---:|---:|---:|---|---:|');
for (const [name, xs] of Object.entries(result.ratios)) {
  const [q1, q3] = quartiles(xs);
  // Interference only slows a sample down, so the best rounds are the least disturbed.
  const best = Math.max(...result.rates[name].b) / Math.max(...result.rates[name].a);
  console.log(`| ${name} | ${fmt(median(result.rates[name].a))} | ${fmt(median(result.rates[name].b))} | ${median(xs).toFixed(2)}× | ${q1.toFixed(2)}–${q3.toFixed(2)}× | ${best.toFixed(2)}× |`);
}
const out = option('json');
if (out) writeFileSync(out, JSON.stringify({ a, b, n, rounds, slow, ...result }, null, 2));
