// Browser crash test: kills the whole browser (SIGKILL of Chromium's process
// group) while a page writes to a store, relaunches Chromium on the same
// profile, and checks that every acknowledged write is there, byte for byte,
// and that every batch is all-or-nothing. Run from the repository root after
// `bash wasm/scripts/build.sh web`:
//
//   node wasm/tests/crash/crash.mjs --backend opfs --kills 100
//   node wasm/tests/crash/crash.mjs --backend indexeddb --kills 100
//
// Options: --backend opfs|indexeddb (default opfs), --kills N (default 100),
// --wipe-every K (IndexedDB: before every K-th relaunch, delete the origin's
// IndexedDB directory from the profile, as Chromium does when it finds the
// data damaged, and require the wipe to be reported; default 0: only
// Chromium's own wipes), --corrupt-every K (IndexedDB: before every K-th
// relaunch, append a record with a bad checksum to the origin's IndexedDB
// LevelDB log — what a torn write leaves — so that Chromium itself finds the
// corruption, logs its recovery and deletes the data; the wipe must be
// reported), --seed S (kill timing), --json FILE (write the
// summary), --keep (keep the profile directory).
//
// Method (docs/anchors.md, "Browser crash facts measured here"): Chromium is
// spawned detached (its own process group) with a persistent --user-data-dir
// and --enable-logging=stderr, on page.html of this directory. The page
// opens the store, reads every entry back (checking each value), POSTs the
// keys to this script's server, then writes (8 writes in flight: puts of
// fresh keys, and every fifth write a batch of 2-6 puts; and one batch that
// deletes every key cycle N-10 wrote, so the store stays small) and logs each
// resolved write to the console, which Chromium copies to its stderr. A
// write counts as acknowledged once its promise resolved *and* its line
// reached this script before the kill. Even cycles keep 8 writes in flight
// (group commit), odd ones 1 (one commit per write, as in the raw IndexedDB
// measurement). After a random 150-650 ms of writing:
// process.kill(-pid, 'SIGKILL'), and the next launch verifies. (No DevTools
// connection: the page drives itself, which keeps a kill cycle near 1.5 s.)
//
// Checked at every relaunch: every acknowledged key is present with its
// value; every batch present is complete; no value differs from what was
// written; no key of an acknowledged delete is back. IndexedDB: in a few percent of kills Chromium finds its IndexedDB
// log torn, logs "IndexedDB recovering from a corrupted (and deleted)
// database" and deletes the data. lsmkv cannot prevent that; the test then
// requires that the wipe was *detected* (health().wipe at that open, and
// one storageNotice in the store's event feed; neither without a wipe) and
// that no acknowledged write is ever lost without one. OPFS: zero lost.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { appendFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
const option = (name, fallback) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : fallback; };
const backend = option('backend', 'opfs');
const kills = Number(option('kills', 100));
const seed = Number(option('seed', Date.now() % 100000));
const wipeEvery = Number(option('wipe-every', 0));
const corruptEvery = Number(option('corrupt-every', 0));
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
if (!['opfs', 'indexeddb'].includes(backend)) throw new Error(`--backend must be opfs or indexeddb, got ${backend}`);

/** mulberry32 */
function rng(s) {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(seed);

// ---- a static server for the repository, plus the page's report ----
const root = fileURLToPath(new URL('../../..', import.meta.url));
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };
const reports = new Map(); // cycle -> resolve
const server = createServer(async (request, response) => {
  const address = new URL(request.url, 'http://x');
  if (request.method === 'POST' && address.pathname === '/crash/deleting') {
    // Before the page deletes cycle `old`'s keys: they are no longer
    // required (the delete may land before its acknowledgement arrives).
    const prefix = `c${address.searchParams.get('old')}-`;
    for (const key of acked) if (key.startsWith(prefix)) acked.delete(key);
    response.writeHead(204).end();
    return;
  }
  if (request.method === 'POST' && address.pathname === '/crash/report') {
    let body = '';
    request.setEncoding('utf8');
    for await (const chunk of request) body += chunk;
    response.writeHead(204).end();
    reports.get(Number(address.searchParams.get('cycle')))?.(JSON.parse(body));
    return;
  }
  const file = join(root, normalize(decodeURIComponent(address.pathname)));
  if (!file.startsWith(root)) { response.writeHead(403).end(); return; }
  try {
    const body = await readFile(file);
    response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    response.end(body);
  } catch {
    response.writeHead(404).end();
  }
});
// One origin for the whole run (storage is per origin, port included).
await new Promise((done) => server.listen(0, '127.0.0.1', done));
const origin = `http://127.0.0.1:${server.address().port}`;
const profile = mkdtempSync(join(tmpdir(), `lsmkv-crash-${backend}-`));

const CORRUPTION_LOG = /IndexedDB recovering from a corrupted/;
const CONSOLE_LINE = /:CONSOLE[^\]]*\] "(.*)", source: /;

/**
 * Starts Chromium on the page in its own process group. `onConsole` gets
 * each console message, in order; `log.corruption` counts Chromium's
 * IndexedDB corruption-recovery lines.
 */
function launch(cycle, write, onConsole) {
  const lanes = cycle % 2 ? 1 : 8;
  const page = `${origin}/wasm/tests/crash/page.html?backend=${backend}&cycle=${cycle}&lanes=${lanes}&write=${write ? 1 : 0}`;
  const args = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-breakpad',
    '--no-default-browser-check', `--user-data-dir=${profile}`, '--enable-logging=stderr', '--v=0', page,
  ];
  const child = spawn(chromiumPath, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  const log = { corruption: 0, tail: '' };
  let partial = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop();
    for (const line of lines) {
      if (CORRUPTION_LOG.test(line)) log.corruption++;
      const match = CONSOLE_LINE.exec(line);
      if (match) onConsole(match[1]);
      log.tail = (log.tail + line + '\n').slice(-4000);
    }
  });
  return { child, log };
}

function killGroup(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
    child.once('exit', () => resolve());
    try { process.kill(-child.pid, 'SIGKILL'); } catch { resolve(); }
  });
}

function timeout(ms, what) {
  let timer;
  const promise = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms); });
  return { promise, cancel: () => clearTimeout(timer) };
}

// ---- what the test knows ----
const acked = new Set(); // acknowledged keys (values derive from keys)
const deletedCycles = new Set(); // cycles whose keys a later cycle deleted, acknowledged
const totals = {
  backend, seed, kills: 0, acknowledgedWrites: 0, acknowledgedBatches: 0, lost: 0, lostWithoutWipe: 0,
  tornBatches: 0, badValues: 0, wipesDetected: 0, chromiumCorruptionLogs: 0, undetectedChromiumWipes: 0,
  simulatedWipes: 0, undetectedSimulatedWipes: 0, corruptionsMade: 0, corruptionsIgnored: 0, acknowledgedDeletes: 0, resurrected: 0,
  acknowledgedLostInWipes: 0, keysAtEnd: 0, failures: [],
};
const cycleMs = [];

/** Deletes the origin's IndexedDB data from the (stopped) browser's profile. */
function wipeIndexedDb() {
  const dir = join(profile, 'Default', 'IndexedDB');
  let removed = 0;
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith(`http_127.0.0.1_${server.address().port}.indexeddb`)) {
      rmSync(join(dir, entry), { recursive: true, force: true });
      removed++;
    }
  }
  if (!removed) throw new Error(`no IndexedDB data to wipe in ${dir}`);
}

/**
 * Appends a log record whose checksum does not match its body to the
 * origin's IndexedDB LevelDB log, as a write torn by the kill would leave.
 */
function corruptIndexedDb() {
  const dir = join(profile, 'Default', 'IndexedDB', `http_127.0.0.1_${server.address().port}.indexeddb.leveldb`);
  const log = readdirSync(dir).filter((f) => f.endsWith('.log')).sort().pop();
  if (!log) throw new Error(`no LevelDB log in ${dir}`);
  // checksum (4 bytes, wrong), length 100 (little-endian), type FULL, body.
  appendFileSync(join(dir, log), Buffer.concat([Buffer.from([0xde, 0xad, 0xbe, 0xef, 100, 0, 1]), Buffer.alloc(100, 0x41)]));
}

function verify(cycle, result, log, simulated) {
  if (result.error) {
    totals.failures.push(`cycle ${cycle}: the page failed: ${result.error}`);
    return { lost: 0, wiped: false, present: 0 };
  }
  const present = new Set(result.keys);
  const wiped = !!result.wipe;
  if (wiped) totals.wipesDetected++;
  if (result.notices !== (wiped ? 1 : 0)) {
    totals.failures.push(`cycle ${cycle}: health().wipe is ${wiped ? 'set' : 'null'} but the event feed holds ${result.notices} storage notices`);
  }
  if (simulated && !wiped) {
    totals.undetectedSimulatedWipes++;
    totals.failures.push(`cycle ${cycle}: the IndexedDB data was deleted before this launch but no wipe was reported`);
  }
  totals.chromiumCorruptionLogs += log.corruption;
  if (log.corruption > 0 && !wiped) {
    totals.undetectedChromiumWipes++;
    totals.failures.push(`cycle ${cycle}: Chromium logged IndexedDB corruption but no wipe was reported`);
  }
  if (result.badCount) {
    totals.badValues += result.badCount;
    totals.failures.push(`cycle ${cycle}: ${result.badCount} values differ, e.g. ${JSON.stringify(result.bad)}`);
  }
  let lost = 0;
  const lostKeys = [];
  for (const key of acked) {
    if (!present.has(key)) {
      lost++;
      if (lostKeys.length < 5) lostKeys.push(key);
    }
  }
  if (lost && !wiped) console.log(`cycle ${cycle}: lost e.g. ${lostKeys.join(', ')}; health ${JSON.stringify(result.health ?? null)}`);
  totals.lost += lost;
  if (lost && wiped) totals.acknowledgedLostInWipes += lost;
  if (lost && !wiped) {
    totals.lostWithoutWipe += lost;
    totals.failures.push(`cycle ${cycle}: ${lost} acknowledged writes lost with no wipe reported`);
  }
  // An acknowledged delete stays deleted.
  let resurrected = 0;
  for (const key of present) {
    const m = /^c(\d+)-/.exec(key);
    if (m && deletedCycles.has(Number(m[1]))) resurrected++;
  }
  if (resurrected) {
    totals.resurrected += resurrected;
    totals.failures.push(`cycle ${cycle}: ${resurrected} keys present after their deletion was acknowledged`);
  }
  // A batch is all or nothing: any of its keys present means all are.
  const batches = new Map();
  for (const key of present) {
    const m = /^c(\d+)-b(\d+)-\d+$/.exec(key);
    if (m) batches.set(`${m[1]}-${m[2]}`, (batches.get(`${m[1]}-${m[2]}`) ?? 0) + 1);
  }
  for (const [id, count] of batches) {
    const size = 2 + (Number(id.split('-')[1]) % 5);
    if (count !== size) {
      totals.tornBatches++;
      totals.failures.push(`cycle ${cycle}: batch ${id} has ${count} of ${size} keys`);
    }
  }
  // After a wipe the store starts over (reported, as the test requires).
  if (wiped) acked.clear();
  totals.keysAtEnd = present.size;
  return { lost, wiped, present: present.size };
}

const started = Date.now();
for (let cycle = 0; cycle <= kills; cycle++) {
  const t0 = Date.now();
  const last = cycle === kills; // the last launch only verifies, then closes
  let acks = 0;
  let writing;
  const startedWriting = new Promise((resolve) => { writing = resolve; });
  const reported = new Promise((resolve) => reports.set(cycle, resolve));
  const corrupt = backend === 'indexeddb' && corruptEvery > 0 && cycle > 0 && cycle % corruptEvery === 0;
  const simulated = !corrupt && backend === 'indexeddb' && wipeEvery > 0 && cycle > 0 && cycle % wipeEvery === 0;
  if (corrupt) {
    corruptIndexedDb();
    totals.corruptionsMade++;
  }
  if (simulated) {
    wipeIndexedDb();
    totals.simulatedWipes++;
  }
  const { child, log } = launch(cycle, !last, (message) => {
    if (message.startsWith('ACK p ')) {
      acked.add(message.slice(6));
      totals.acknowledgedWrites++;
      acks++;
    } else if (message.startsWith('ACK b ')) {
      const [, , c, b, size] = message.split(' ');
      for (let m = 0; m < Number(size); m++) acked.add(`c${c}-b${b}-${m}`);
      totals.acknowledgedWrites += Number(size);
      totals.acknowledgedBatches++;
      acks++;
    } else if (message.startsWith('ACK d ')) {
      const [, , old, count] = message.split(' ');
      deletedCycles.add(Number(old));
      totals.acknowledgedDeletes += Number(count);
    } else if (message === 'WRITING' || message === 'CLOSED') {
      writing();
    } else if (message.startsWith('WRITE-ERROR') || message.startsWith('PAGE-ERROR')) {
      totals.failures.push(`cycle ${cycle}: ${message}`);
    }
  });
  const limit = timeout(30000, `cycle ${cycle}: the page did not report and start writing`);
  try {
    const result = await Promise.race([reported, limit.promise]);
    const checked = verify(cycle, result, log, simulated);
    // LevelDB may read the appended record as a torn tail and ignore it: then
    // nothing is wiped, and the checks above saw every acknowledged write.
    if (corrupt && !log.corruption) totals.corruptionsIgnored++;
    await Promise.race([startedWriting, limit.promise]);
    limit.cancel();
    if (last) {
      await new Promise((r) => setTimeout(r, 200));
      await killGroup(child);
      console.log(`after the last kill: ${checked.present} keys present, ${acked.size} acknowledged checked, lost ${checked.lost}`
        + `${checked.wiped ? ' (wipe detected)' : ''}`);
      break;
    }
    // Kill at a random moment while writes are in flight.
    await new Promise((r) => setTimeout(r, 150 + Math.floor(random() * 500)));
    await killGroup(child);
    totals.kills++;
    cycleMs.push(Date.now() - t0);
    if (cycle % 10 === 0 || checked.wiped || checked.lost) {
      console.log(`kill ${cycle + 1}/${kills}: ${checked.present} keys verified, lost ${checked.lost}`
        + `${checked.wiped ? ', WIPE DETECTED' : ''}; then ${acks} writes acknowledged before the kill; ${Date.now() - t0} ms`);
    }
  } catch (error) {
    limit.cancel();
    totals.failures.push(`cycle ${cycle}: ${error.message}\n${log.tail.slice(-1500)}`);
    await killGroup(child);
    if (totals.failures.length > 10) break;
  } finally {
    reports.delete(cycle);
  }
}
server.close();
if (!argv.includes('--keep')) rmSync(profile, { recursive: true, force: true });

const sorted = [...cycleMs].sort((a, b) => a - b);
const summary = {
  ...totals,
  msPerKill: { median: sorted[Math.floor(sorted.length / 2)] ?? 0, max: sorted[sorted.length - 1] ?? 0 },
  seconds: Math.round((Date.now() - started) / 1000),
  failures: totals.failures.slice(0, 10),
  failureCount: totals.failures.length,
};
const out = option('json');
if (out) writeFileSync(out, JSON.stringify(summary, null, 2));
const pass = summary.failureCount === 0 && summary.kills === kills
  && (backend === 'opfs'
    ? summary.lost === 0 && summary.wipesDetected === 0
    : summary.lostWithoutWipe === 0 && summary.undetectedChromiumWipes === 0 && summary.undetectedSimulatedWipes === 0
      && summary.wipesDetected >= summary.simulatedWipes + summary.corruptionsMade - summary.corruptionsIgnored);
if (!pass) console.log(JSON.stringify(summary, null, 2));
console.log(`crash test, ${backend}: ${summary.kills} kills, ${summary.acknowledgedWrites} acknowledged writes `
  + `(${summary.acknowledgedBatches} batches), ${summary.lost} lost (${summary.lostWithoutWipe} without a reported wipe), `
  + `${summary.acknowledgedDeletes} acknowledged deletes (${summary.resurrected} back), `
  + `${summary.tornBatches} torn batches, ${summary.badValues} bad values, ${summary.wipesDetected} wipes detected `
  + `(Chromium logged ${summary.chromiumCorruptionLogs} IndexedDB corruption recoveries; the test corrupted its log `
  + `${summary.corruptionsMade} times (${summary.corruptionsIgnored} ignored by Chromium) and deleted its data `
  + `${summary.simulatedWipes} times), `
  + `median ${summary.msPerKill.median} ms per kill, ${summary.seconds} s: ${pass ? 'PASS' : 'FAIL'}`);
process.exit(pass ? 0 : 1);
