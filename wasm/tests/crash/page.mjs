// The page crash.mjs opens in each Chromium it launches and kills
// (?backend=opfs|indexeddb&cycle=N&lanes=L&write=0|1): opens the
// store, reads every entry back (checking each value), sends the keys to the
// test server, then writes until the browser is killed, logging each
// acknowledged write to the console (Chromium copies console messages to
// its stderr, which the test reads).
import init, { Store } from '/wasm/pkg/lsmkv_wasm.js';

const params = new URLSearchParams(location.search);
const backend = params.get('backend');
const cycle = Number(params.get('cycle'));
// Small memtables and tables: flushes, compactions and manifest switches
// every few hundred writes, so kills land in them too.
const options = { backend, memtableMaxEntries: 400, sstableMaxEntries: 400, l0CompactionTrigger: 3 };
const valueOf = (key) => `value:${key}:${'x'.repeat(40)}`;

async function report(body) {
  await fetch(`/crash/report?cycle=${cycle}`, { method: 'POST', body: JSON.stringify(body) });
}

async function main() {
  await init();
  const store = await Store.open('crash', options);
  const health = await store.health();
  const keys = [];
  const bad = [];
  const it = await store.iterator();
  for (let page = await it.next(5000); page.length; page = await it.next(5000)) {
    for (const [key, value] of page) {
      keys.push(key);
      if (value !== valueOf(key)) bad.push([key, value]);
    }
  }
  it.close();
  const stats = await store.stats();
  const notices = (await store.events()).events.filter((e) => e.type === 'storageNotice').length;
  await report({
    keys, bad: bad.slice(0, 10), badCount: bad.length, wipe: health.wipe, notices, status: health.status,
    health: { walTailTruncations: health.walTailTruncations, lastSeq: health.lastSeq, opfs: health.opfs, flushedSeq: stats.flushedSeq },
  });
  if (params.get('write') === '0') {
    await store.close();
    console.log('CLOSED');
    return;
  }
  console.log('WRITING');
  // Keep the store small (every relaunch reads it all): delete what cycle
  // `cycle - 10` wrote, in one atomic batch, while the writes below run.
  const old = cycle - 10;
  if (old >= 0) {
    const keys = await store.keys({ prefix: `c${old}-` });
    if (keys.length) {
      // The test must know before the delete can land: from here on those
      // keys may be absent (and must be, once the delete is acknowledged).
      await fetch(`/crash/deleting?cycle=${cycle}&old=${old}`, { method: 'POST' });
      store.batch(keys.map((key) => ({ type: 'del', key })))
        .then(() => console.log(`ACK d ${old} ${keys.length}`), (e) => console.log(`WRITE-ERROR ${e.code} ${e.message}`));
    }
  }
  let n = 0;
  let batches = 0;
  const one = () => {
    const i = n++;
    if (i % 5 === 4) {
      const b = batches++;
      const size = 2 + (b % 5);
      const ops = [];
      for (let m = 0; m < size; m++) {
        const key = `c${cycle}-b${b}-${m}`;
        ops.push({ type: 'put', key, value: valueOf(key) });
      }
      return store.batch(ops).then(() => console.log(`ACK b ${cycle} ${b} ${size}`));
    }
    const key = `c${cycle}-p${i}`;
    return store.put(key, valueOf(key)).then(() => console.log(`ACK p ${key}`));
  };
  const lane = () => one().then(lane, (e) => console.log(`WRITE-ERROR ${e.code} ${e.message}`));
  // `lanes` writes in flight: 1 is one commit per write (one IndexedDB
  // transaction, one WAL flush each); more share commits (group commit).
  for (let l = 0; l < Number(params.get('lanes') ?? 8); l++) lane();
}

main().catch((e) => {
  console.log(`PAGE-ERROR ${e.code ?? ''} ${e.message}`);
  report({ error: `${e.code ?? ''} ${e.message}` });
});
