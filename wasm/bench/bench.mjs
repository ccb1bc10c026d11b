// The browser benchmark: lsmkv (IndexedDB and memory backends) beside raw
// IndexedDB and idb-keyval in one headless Chromium run, and lsmkv's memory
// backend natively (wasm/examples/native_bench.rs) on the same workloads.
// Run from anywhere after `bash wasm/scripts/build.sh web` (or use
// `bash wasm/scripts/bench.sh`, which builds first):
//
//   node wasm/bench/bench.mjs [--sizes 10000,100000] [--runs 3] [--slow 2000]
//        [--writers 100] [--pkg wasm/pkg] [--baseline wasm/pkg-baseline]
//        [--native-tree DIR] [--json out.json] [--no-native] [--no-opfs] [--off-the-record]
//
// The page runs in a persistent profile on disk (a temporary directory), as a
// user's browser does. `--off-the-record` runs it in Playwright's default
// context instead, which is off the record: Chromium then keeps IndexedDB and
// OPFS in memory (strict durability reaches no disk, and each OPFS
// sync-handle call is an IPC round trip instead of a file call) — useful to
// isolate CPU costs, not what users get. (`--disk`, the former opt-in, is
// accepted and changes nothing.)
//
// Prints one markdown table: ops/s per workload (rows) per system (columns),
// the median of `runs` runs; each run visits the systems in a rotated order
// so that a drift in machine load does not always hit the same one.
// `--baseline DIR` also loads another build of the package (e.g. the commit
// before an optimization, built with `bash wasm/scripts/build-baseline.sh`)
// and adds its lsmkv columns and after/before ratios, measured in the same run.
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '../scripts/serve.mjs';
import { launch, launchPersistent } from '../tests/browser/chromium.mjs';
import { WORKLOADS, SLOW } from './workloads.mjs';

const argv = process.argv.slice(2);
const option = (name, fallback) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : fallback; };
const sizes = String(option('sizes', '10000,100000')).split(',').map(Number);
const runs = Number(option('runs', 3));
const slow = Number(option('slow', 2000));
const writers = Number(option('writers', 100));
const baseline = option('baseline');
const pkg = option('pkg', 'wasm/pkg'); // the package under test, relative to the repository root
const nativeTree = option('native-tree'); // where to `cargo run` the native example (default: this repository)
const native = !argv.includes('--no-native');

const root = fileURLToPath(new URL('../..', import.meta.url));
const { server, url } = await serve(root);
const disk = !argv.includes('--off-the-record');
const profile = disk ? mkdtempSync(join(tmpdir(), 'lsmkv-bench-')) : null;
const browser = disk ? await launchPersistent(profile) : await launch();
const page = disk ? (browser.pages()[0] ?? await browser.newPage()) : await browser.newPage();
page.on('pageerror', (e) => console.error('pageerror:', e.message));
page.on('console', (m) => { if (m.type() === 'error') console.error('console:', m.text()); });
await page.goto(`${url}/wasm/tests/browser/blank.html`);

// Systems, in column order. Add a backend here (and in the page below).
const opfs = !argv.includes('--no-opfs');
const columns = ['lsmkv IndexedDB', ...(opfs ? ['lsmkv OPFS'] : []), 'raw IndexedDB', 'idb-keyval', 'lsmkv memory (wasm)'];
if (native) columns.push('lsmkv memory (native)');
if (baseline) columns.push('lsmkv IndexedDB (baseline)', 'lsmkv memory (baseline)');

const runPage = (n, run) => page.evaluate(async ({ n, run, slow, writers, baseline, pkg, opfs }) => {
  const w = await import('/wasm/bench/workloads.mjs');
  const lsmkv = await import(`/${pkg}/lsmkv_wasm.js`);
  await lsmkv.default();
  const kv = await import('/wasm/node_modules/idb-keyval/dist/index.js');
  const systems = [
    w.lsmkvSystem('lsmkv IndexedDB', lsmkv, 'indexeddb'),
    ...(opfs ? [w.lsmkvSystem('lsmkv OPFS', lsmkv, 'opfs')] : []),
    w.rawSystem(),
    w.idbKeyvalSystem(kv),
    w.lsmkvSystem('lsmkv memory (wasm)', lsmkv, 'memory'),
  ];
  if (baseline) {
    const before = await import(`/${baseline}/lsmkv_wasm.js`);
    await before.default();
    systems.push(w.lsmkvSystem('lsmkv IndexedDB (baseline)', before, 'indexeddb'));
    systems.push(w.lsmkvSystem('lsmkv memory (baseline)', before, 'memory'));
  }
  const ctx = { n, slow, writers, ranges: Math.min(1000, n / 10), vals: w.values(1000), order: w.shuffled(n, run + 1) };
  const results = {};
  for (let i = 0; i < systems.length; i++) {
    const system = systems[(i + run) % systems.length];
    results[system.name] = await system.run(ctx);
  }
  return { results, userAgent: navigator.userAgent };
}, { n, run, slow, writers, baseline, pkg, opfs });

const runNative = (n) => {
  const out = execFileSync('cargo', ['run', '--quiet', '--release', '-p', 'lsmkv-wasm', '--example', 'native_bench', '--', '--n', String(n)],
    { cwd: nativeTree ?? root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return Object.fromEntries(JSON.parse(out).rows.map((r) => [r.workload, r]));
};

// A discarded warm-up pass, so that no system pays for the JIT alone.
await runPage(Math.min(1000, ...sizes), 0);

// all[n][system][workload] = [ops/s of each run]
const all = {};
let userAgent = '';
for (let run = 0; run < runs; run++) {
  for (const n of sizes) {
    const started = Date.now();
    const { results, userAgent: ua } = await runPage(n, run);
    userAgent = ua;
    if (native) results['lsmkv memory (native)'] = runNative(n);
    for (const [system, rows] of Object.entries(results)) {
      for (const [workload, { ops, ms }] of Object.entries(rows)) {
        ((((all[n] ??= {})[system] ??= {})[workload]) ??= []).push(ops / (ms / 1000));
      }
    }
    console.error(`run ${run + 1}/${runs}, n = ${n}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}
await browser.close();
server.close();
if (profile) rmSync(profile, { recursive: true, force: true });

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const fmt = (x) => (x === undefined ? '—' : x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1));
const cell = (n, system, workload) => {
  const xs = all[n]?.[system]?.[workload];
  return xs ? median(xs) : undefined;
};
const label = (n, id, text) => {
  const capped = Object.entries(SLOW).filter(([s, ids]) => ids.includes(id) && columns.includes(s)).map(([s]) => s);
  const note = n > slow && capped.length ? ` ¹` : '';
  return `${text.replace('{writers}', writers)}${note}`;
};

const lines = [];
lines.push(`lsmkv-wasm browser benchmark: 16-byte keys, 100-byte values, strict durability (idb-keyval: the browser's default), median of ${runs} runs; ${disk ? 'profile on disk' : 'off-the-record profile (IndexedDB and OPFS in memory)'}.`);
lines.push(`${userAgent}; ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}; ops/s.`);
lines.push('');
const ratioColumns = baseline ? ['IndexedDB after/before', 'memory after/before'] : [];
lines.push(`| n | workload | ${columns.join(' | ')}${ratioColumns.map((c) => ` | ${c}`).join('')} |`);
lines.push(`|---:|---|${columns.map(() => '---:').join('|')}|${ratioColumns.map(() => '---:|').join('')}`);
for (const n of sizes) {
  for (const [id, text] of WORKLOADS) {
    if (!columns.some((s) => cell(n, s, id) !== undefined)) continue;
    const cells = columns.map((s) => fmt(cell(n, s, id)));
    const ratio = (a, b) => (cell(n, a, id) && cell(n, b, id) ? `${(cell(n, a, id) / cell(n, b, id)).toFixed(2)}×` : '—');
    const ratios = baseline ? [ratio('lsmkv IndexedDB', 'lsmkv IndexedDB (baseline)'), ratio('lsmkv memory (wasm)', 'lsmkv memory (baseline)')] : [];
    lines.push(`| ${n.toLocaleString('en-US')} | ${label(n, id, text)} | ${cells.join(' | ')}${ratios.map((r) => ` | ${r}`).join('')} |`);
  }
}
lines.push('');
lines.push(`¹ Where n > ${slow.toLocaleString('en-US')}, workloads that cost one transaction (or one worker round trip) per operation ran ${slow.toLocaleString('en-US')} ops: ` +
  Object.entries(SLOW).filter(([s]) => columns.includes(s)).map(([s, ids]) => `${s}: ${ids.join(', ')}`).join('; ') + '.');
for (const n of sizes) {
  const durable = ['put-writers', 'put-issued'].map((id) => cell(n, 'lsmkv IndexedDB', id));
  const raw = cell(n, 'raw IndexedDB', 'put-each');
  if (raw && durable[0]) {
    lines.push(`n = ${n.toLocaleString('en-US')}: durable lsmkv puts vs raw IndexedDB one put per transaction: ` +
      `${(durable[0] / raw).toFixed(1)}× (${writers} writers), ${(durable[1] / raw).toFixed(1)}× (all issued at once); ` +
      `an awaited put alone: ${(cell(n, 'lsmkv IndexedDB', 'put-each') / raw).toFixed(2)}×.`);
  }
}
// Noise: the largest max/min spread across runs of any cell.
let spread = { ratio: 1 };
for (const n of sizes) for (const s of columns) for (const [id] of WORKLOADS) {
  const xs = all[n]?.[s]?.[id];
  if (xs && xs.length > 1 && Math.max(...xs) / Math.min(...xs) > spread.ratio) spread = { ratio: Math.max(...xs) / Math.min(...xs), n, s, id };
}
if (spread.n) lines.push(`Noise: the widest spread between runs was ${spread.ratio.toFixed(2)}× (max/min), ${spread.s}, ${spread.id}, n = ${spread.n}.`);
console.log(lines.join('\n'));

const out = option('json');
if (out) writeFileSync(out, JSON.stringify({ userAgent, runs, slow, writers, sizes, columns, results: all }, null, 2));
