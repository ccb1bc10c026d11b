// Profiles one benchmark workload in headless Chromium with the DevTools
// protocol's sampling profiler and prints where the main thread spent its
// time (self and inclusive, by function; wasm functions by name when the
// module keeps its name section: `bash wasm/scripts/build-profiling.sh`, then
// `--pkg wasm/pkg-prof`; see BENCHMARKS.md, "Browser").
//   node wasm/bench/profile.mjs --workload put-awaited [--backend indexeddb] [--n 2000] [--pkg wasm/pkg] [--top 30]
// Workloads: put-awaited, put-inflight, batch-put, get, range, scan, raw-put.
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { serve } from '../scripts/serve.mjs';
import { launch } from '../tests/browser/chromium.mjs';

const argv = process.argv.slice(2);
const option = (name, fallback) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : fallback; };
const workload = option('workload', 'put-awaited');
const backend = option('backend', 'indexeddb');
const n = Number(option('n', 2000));
const pkg = option('pkg', 'wasm/pkg');
const top = Number(option('top', 30));

const root = fileURLToPath(new URL('../..', import.meta.url));
const { server, url } = await serve(root);
const browser = await launch();
const page = await browser.newPage();
page.on('pageerror', (e) => console.error('pageerror:', e.message));
await page.goto(`${url}/wasm/tests/browser/blank.html`);
await page.evaluate(async ({ pkg, backend, n, workload }) => {
  const w = await import('/wasm/bench/workloads.mjs');
  const lsmkv = await import(`/${pkg}/lsmkv_wasm.js`);
  await lsmkv.default();
  const vals = w.values(1000);
  const store = await lsmkv.Store.open(`profile-${Math.random()}`, { backend });
  // Reads need data; writes start on a store that already holds n keys.
  await w.lsmkvBatchPut(store, 0, n, vals, 1000);
  const order = w.shuffled(n);
  const raw = workload === 'raw-put' ? await w.rawOpen(`profile-raw-${Math.random()}`) : null;
  const bodies = {
    'put-awaited': () => w.lsmkvPutsAwaited(store, n, n, vals),
    'put-inflight': () => w.lsmkvPutsConcurrent(store, n, n, vals, n),
    'batch-put': () => w.lsmkvBatchPut(store, n, n, vals, 1000),
    get: () => w.lsmkvGets(store, order),
    range: () => w.lsmkvRanges(store, order.slice(0, Math.ceil(n / 100)), 100, n),
    scan: () => w.lsmkvScan(store, n),
    'raw-put': () => w.rawPutsPerTransaction(raw, 0, n, vals, 1),
  };
  window.runWorkload = async () => { const r = await bodies[workload](); return r; };
}, { pkg, backend, n, workload });

const cdp = await page.context().newCDPSession(page);
await cdp.send('Profiler.enable');
await cdp.send('Profiler.setSamplingInterval', { interval: 50 });
await cdp.send('Profiler.start');
const timing = await page.evaluate(() => window.runWorkload());
const { profile } = await cdp.send('Profiler.stop');
await browser.close();
server.close();
const out = option('out');
if (out) writeFileSync(out, JSON.stringify(profile));

// Self time per node from the samples, then per function name; inclusive
// time counts each function once per sample stack.
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const label = (node) => {
  const f = node.callFrame;
  return f.functionName || (f.url ? `(anonymous ${f.url.split('/').pop()}:${f.lineNumber + 1})` : '(anonymous)');
};
const self = new Map();
const inclusive = new Map();
let total = 0;
const deltas = profile.timeDeltas;
for (let i = 0; i < profile.samples.length; i++) {
  const dt = (deltas[i + 1] ?? 0) / 1000; // ms until the next sample
  total += dt;
  let node = byId.get(profile.samples[i]);
  self.set(label(node), (self.get(label(node)) ?? 0) + dt);
  const seen = new Set();
  for (let id = node.id; id !== undefined; id = parent.get(id)) {
    const name = label(byId.get(id));
    if (!seen.has(name)) { seen.add(name); inclusive.set(name, (inclusive.get(name) ?? 0) + dt); }
  }
}
const rows = (map) => [...map].sort((a, b) => b[1] - a[1]).slice(0, top)
  .map(([name, ms]) => `${ms.toFixed(1).padStart(9)} ms ${(100 * ms / total).toFixed(1).padStart(5)}%  ${name.slice(0, 110)}`);
console.log(`${workload} on ${backend}, n = ${n}: ${timing.ops} ops in ${timing.ms.toFixed(1)} ms (${Math.round(timing.ops / timing.ms * 1000)} ops/s); ${total.toFixed(1)} ms sampled\n`);
console.log('self time:');
console.log(rows(self).join('\n'));
console.log('\ninclusive time:');
console.log(rows(inclusive).join('\n'));
