// Benchmark: lsmkv (IndexedDB and memory backends) beside raw IndexedDB, in
// one headless Chromium run. Run from the repository root after
// `bash wasm/scripts/build.sh web`:
//   node wasm/bench/bench.mjs [--n 20000] [--json out.json]
// Prints ops/s for puts, random gets and a full scan.
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { serve } from '../scripts/serve.mjs';
import { launch } from '../tests/browser/chromium.mjs';

const argv = process.argv.slice(2);
const option = (name, fallback) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : fallback; };
const n = Number(option('n', 20000));
const slow = Number(option('slow', 1000)); // ops for the one-commit-per-op workloads
const runs = Number(option('runs', 3)); // the table shows the median of the runs

const root = fileURLToPath(new URL('../..', import.meta.url));
const { server, url } = await serve(root);
const browser = await launch();
const page = await browser.newPage();
page.on('pageerror', (e) => console.error('pageerror:', e.message));
await page.goto(`${url}/wasm/tests/browser/blank.html`);

const runOnce = () => page.evaluate(async ({ n, slow }) => {
  const w = await import('/wasm/bench/workloads.mjs');
  const lsmkv = await import('/wasm/pkg/lsmkv_wasm.js');
  await lsmkv.default();
  const { Store } = lsmkv;
  const vals = w.values(1000);
  const order = w.shuffled(n).slice(0, Math.min(n, 10000));
  const slowOrder = order.slice(0, slow);
  const rows = [];
  const row = (system, workload, { ops, ms }) => rows.push({ system, workload, ops, ms, opsPerSec: Math.round(ops / (ms / 1000)) });

  for (const backend of ['indexeddb', 'memory']) {
    const name = `bench-${backend}-${Math.random()}`;
    const store = await Store.open(name, { backend, durability: 'strict' });
    const system = `lsmkv ${backend}`;
    row(system, `put, awaited one by one (${slow})`, await w.lsmkvPutsAwaited(store, 0, slow, vals));
    row(system, `put, 1000 in flight (${n - slow})`, await w.lsmkvPutsConcurrent(store, slow, n - slow, vals, 1000));
    row(system, `batchPut of 1000 (${n})`, await w.lsmkvBatchPut(store, 0, n, vals, 1000));
    row(system, `get, random, awaited (${slow})`, await w.lsmkvGets(store, slowOrder));
    row(system, `get, random, awaited (${order.length})`, await w.lsmkvGets(store, order));
    row(system, `scan, iterator next(1000) (${n})`, await w.lsmkvScan(store, n));
    // The reads above hit the memtable (the production preset holds 64 MiB);
    // compact everything into tables and read again.
    await store.compact();
    row(system, `get, random, from tables after compact() (${order.length})`, await w.lsmkvGets(store, order));
    row(system, `scan, from tables after compact() (${n})`, await w.lsmkvScan(store, n));
    const health = await store.health();
    rows.push({ system, workload: 'indexeddb transactions used', ops: health.indexeddb?.transactions ?? 0 });
    await store.close();
    if (backend === 'indexeddb') await Store.destroy(name);
  }

  const rawName = `bench-raw-${Math.random()}`;
  const db = await w.rawOpen(rawName);
  row('raw IndexedDB', `put, 1 per transaction (${slow})`, await w.rawPutsPerTransaction(db, 0, slow, vals, 1));
  row('raw IndexedDB', `put, 1000 per transaction (${n})`, await w.rawPutsPerTransaction(db, 0, n, vals, 1000));
  row('raw IndexedDB', `get, random, 1 per transaction (${slow})`, await w.rawGetsPerTransaction(db, slowOrder, 1));
  row('raw IndexedDB', `get, random, 1000 per transaction (${order.length})`, await w.rawGetsPerTransaction(db, order, 1000));
  row('raw IndexedDB', `scan, cursor (${n})`, await w.rawScanCursor(db, n));
  row('raw IndexedDB', `scan, getAll pages of 1000 (${n})`, await w.rawScanPages(db, n));
  db.close();
  indexedDB.deleteDatabase(rawName);
  return { rows, userAgent: navigator.userAgent };
}, { n, slow });

const all = [];
for (let run = 0; run < runs; run++) all.push(await runOnce());
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = {
  userAgent: all[0].userAgent,
  runs,
  rows: all[0].rows.map((row, i) => ({
    ...row,
    opsPerSec: row.opsPerSec === undefined ? undefined : median(all.map((r) => r.rows[i].opsPerSec)),
    eachRun: all.map((r) => r.rows[i].opsPerSec ?? r.rows[i].ops),
  })),
};

await browser.close();
server.close();

console.log(`lsmkv-wasm benchmark: ${n} keys of 16 bytes, 100-byte values, strict durability, median of ${runs} runs; ${results.userAgent}\n`);
console.log('| system | workload | ops/s (median) | each run |');
console.log('|---|---|---:|---|');
for (const r of results.rows) {
  console.log(`| ${r.system} | ${r.workload} | ${r.opsPerSec !== undefined ? r.opsPerSec.toLocaleString('en-US') : r.ops} | ${r.eachRun.join(', ')} |`);
}
const out = option('json');
if (out) writeFileSync(out, JSON.stringify(results, null, 2));
