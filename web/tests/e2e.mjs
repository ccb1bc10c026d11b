// End-to-end tests of the playground in real headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core), against a static server
// serving the output of `trunk build --release`. Run by web/scripts/test.sh:
//
//   node web/tests/e2e.mjs --base http://127.0.0.1:PORT/ --artifacts artifacts
//
// The tests share one browser context (so IndexedDB persists across the
// reload test) and run in order. A screenshot of each view is saved under
// --artifacts. Any console error, page error, CSP violation or alert() fails
// the run.

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith('--') ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []),
);
const BASE = args.base || process.env.PLAYGROUND_URL || 'http://127.0.0.1:8080/';
const ARTIFACTS = resolve(args.artifacts || 'artifacts');
const ONLY = args.only ? new RegExp(args.only) : null;
// --server yes: BASE is an lsmkv-server serving the playground; only the server tests run.
const SERVER = args.server === 'yes';
mkdirSync(ARTIFACTS, { recursive: true });

const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

// ---- a minimal runner ----

const tests = [];
const test = (name, fn) => tests.push({ name, fn });
const serverTests = [];
const serverTest = (name, fn) => serverTests.push({ name, fn });

class AssertionError extends Error {}
function assert(condition, message) {
  if (!condition) throw new AssertionError(message);
}
function equal(actual, expected, message) {
  if (actual !== expected) throw new AssertionError(`${message}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

/** Polls `fn` until it returns a truthy value (returned) or times out. */
async function until(fn, message, timeout = 15000, interval = 100) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new AssertionError(`timed out after ${timeout} ms: ${message} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

// ---- page helpers ----

const problems = []; // console errors, page errors, dialogs: each fails the run
const warnings = [];

async function ready(page) {
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30000 });
}

async function view(page, id) {
  await page.click(`[data-testid="tab-${id}"]`);
  await page.waitForSelector(`[data-testid="tab-${id}"][aria-current="page"]`);
}

/** Waits until the picture has replayed every event and shows the engine's state. */
async function settled(page) {
  await until(async () => (await page.textContent('[data-testid="picture-state"]')) === 'live', 'the picture settles (badge "live")', 30000);
}

async function tables(page, level) {
  const sel = level === undefined ? '[data-testid="sst"]' : `[data-testid="level-${level}"] [data-testid="sst"]`;
  return page.$$eval(sel, (els) => els.map((e) => ({ number: Number(e.dataset.number), level: Number(e.dataset.level), entries: Number(e.dataset.entries), text: e.textContent, title: e.title })));
}

async function put(page, key, value, as = 'text') {
  await page.fill('[data-testid="put-key"]', key);
  await page.fill('[data-testid="put-value"]', value);
  await page.selectOption('#put-as', as);
  const form = page.locator('[data-testid="op-put"]');
  await page.focus('[data-testid="put-value"]');
  await page.keyboard.press('Enter'); // forms work by keyboard: Enter in the value field puts
  return form;
}

async function putMessage(page) {
  return page.locator('[data-testid="op-put"] .message').textContent();
}

/** 31 puts through the Operations form, each acknowledged; then the picture settles. */
async function put31(page) {
  for (let i = 1; i <= 31; i++) {
    const key = `key:${String(i).padStart(2, '0')}`;
    await put(page, key, `value ${i}`);
    await until(async () => (await putMessage(page)).startsWith(`Put ${key} `), `put ${key} acknowledged`);
  }
  await settled(page);
}

async function browse(page, prefix = '', substring = '') {
  await view(page, 'browser');
  await page.fill('[data-testid="browse-prefix"]', prefix);
  await page.fill('[data-testid="browse-substring"]', substring);
  await page.click('[data-testid="browse-search"]');
  // A search is done when the summary names the prefix's count.
  await page.waitForTimeout(300);
  return {
    summary: await page.textContent('[data-testid="browse-summary"]'),
    keys: await page.$$eval('[data-testid="browse-key"]', (els) => els.map((e) => e.textContent)),
  };
}

async function runDemo(page, id, timeout = 90000) {
  await view(page, 'demo');
  await page.click(`[data-testid="demo-run-${id}"]`);
  await until(async () => {
    const status = await page.textContent('[data-testid="demo-status"]');
    if (status.startsWith('Failed')) throw new AssertionError(`demo ${id}: ${status}`);
    return status === 'Done.';
  }, `demo ${id} finishes`, timeout, 200);
  return page.$$eval('[data-testid="demo-log"] li', (els) => els.map((e) => e.textContent));
}

async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: false });
}

// ---- the tests ----

const XSS_KEY = '<img src=x onerror="window.__pwned=1">';
const XSS_VALUE = '<script>window.__pwned=2</script><b>bold?</b>';

/** Loads the page and checks the store it opened: its label names `backend`, caps 30/30, an empty memtable. */
async function opens(page, backend) {
  await page.goto(BASE);
  await ready(page);
  const label = await page.textContent('[data-testid="store-label"]');
  assert(label.includes(backend) && label.includes('caps 30/30'), `store label: ${label}`);
  equal(await page.textContent('[data-testid="memtable-fill"]'), '0 / 30 entries', 'memtable fill');
}

test('the page loads the engine and opens an IndexedDB store, with no inline script', async (page) => {
  await opens(page, 'IndexedDB');
  equal(await page.$$eval('script:not([src])', (s) => s.length), 0, 'inline scripts');
  const csp = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content');
  assert(/script-src 'self' 'wasm-unsafe-eval'/.test(csp) && !/unsafe-inline/.test(csp), `CSP: ${csp}`);
  await shot(page, 'dashboard-empty');
});

test('31 puts through the Operations form → one L0 table with 30 entries', async (page) => {
  await view(page, 'operations');
  await put31(page);
  const l0 = await tables(page, 0);
  equal(l0.length, 1, 'L0 tables');
  equal(l0[0].entries, 30, 'entries in the L0 table');
  assert(l0[0].text.includes('30 entries'), `the box says 30 entries: ${l0[0].text}`);
  equal((await tables(page)).length, 1, 'tables in the whole tree');
  equal(await page.textContent('[data-testid="memtable-fill"]'), '1 / 30 entries', 'memtable after the flush');
  const caption = await page.textContent('[data-testid="picture-caption"]');
  assert(/Flush: 30 memtable entries → L0 table #\d+ \(30 entries\)/.test(caption), `caption: ${caption}`);
  await shot(page, 'operations');
});

test('bad input gets a clear inline message, never an exception', async (page) => {
  await view(page, 'operations');
  const message = (card) => page.locator(`[data-testid="${card}"] .message`).textContent();
  await page.fill('[data-testid="put-key"]', '');
  await page.click('[data-testid="put-submit"]');
  assert((await message('op-put')).includes('keys must not be empty'), 'empty key');
  await put(page, 'json:bad', '{"name": ', 'json');
  assert((await message('op-put')).startsWith('Not valid JSON'), `invalid JSON: ${await message('op-put')}`);
  await put(page, 'big', 'x'.repeat(70 * 1024), 'text');
  await until(async () => (await message('op-put')).includes('LSMKV_INVALID_VALUE'), 'oversized value rejected by the engine');
  assert((await message('op-put')).includes('maximum'), `oversized value message: ${await message('op-put')}`);
  await page.fill('[data-testid="batch-text"]', 'a=1\nthis line has no equals sign');
  await page.click('[data-testid="batch-submit"]');
  assert((await message('op-batch')).includes('Line 2: expected key=value'), `batch lines: ${await message('op-batch')}`);
  await page.fill('[data-testid="batch-text"]', '{"a": 1,}');
  await page.click('[data-testid="batch-submit"]');
  assert((await message('op-batch')).startsWith('Not valid JSON'), 'batch JSON');
  await page.fill('[data-testid="batch-text"]', '[1, 2]');
  await page.click('[data-testid="batch-submit"]');
  assert((await message('op-batch')).includes('must be an object'), 'batch JSON array');
  await page.fill('[data-testid="range-limit"]', '-3');
  await page.click('[data-testid="range-submit"]');
  assert((await message('op-range')).includes('whole number'), 'negative limit');
  await page.fill('[data-testid="range-limit"]', '50');
  await page.fill('[data-testid="get-key"]', '');
  await page.click('[data-testid="get-submit"]');
  assert((await message('op-get')).includes('keys must not be empty'), 'get with an empty key');
  // Nothing was written by any of these.
  equal(await page.textContent('[data-testid="memtable-fill"]'), '1 / 30 entries', 'memtable unchanged');
});

test('range query, get and batch put through the forms', async (page) => {
  await view(page, 'operations');
  await page.fill('[data-testid="batch-text"]', 'fruit:apple=red\nfruit:kiwi=green\nfruit:plum=purple');
  await page.click('[data-testid="batch-submit"]');
  await until(async () => (await page.locator('[data-testid="op-batch"] .message').textContent()).startsWith('Put 3 entries atomically'), 'batch put');
  await page.fill('[data-testid="range-start"]', 'key:05');
  await page.fill('[data-testid="range-end"]', 'key:09');
  await page.check('[data-testid="range-end-inclusive"]');
  await page.check('[data-testid="range-reverse"]');
  await page.fill('[data-testid="range-limit"]', '3');
  await page.click('[data-testid="range-submit"]');
  await page.waitForSelector('[data-testid="range-table"]');
  const keys = await page.$$eval('[data-testid="range-table"] tbody tr td:first-child', (tds) => tds.map((t) => t.textContent));
  equal(keys.join(','), 'key:09,key:08,key:07', 'reverse range with an inclusive end and a limit');
  await page.uncheck('[data-testid="range-reverse"]');
  await page.uncheck('[data-testid="range-end-inclusive"]');
  await page.fill('[data-testid="range-limit"]', '50');
  await page.fill('[data-testid="get-key"]', 'fruit:kiwi');
  await page.click('[data-testid="get-submit"]');
  await until(async () => (await page.textContent('[data-testid="get-result"]')).includes('green'), 'get fruit:kiwi');
});

test('table inspector: entries with sequence numbers, blocks and filter', async (page) => {
  const [table] = await tables(page, 0);
  await page.click(`[data-testid="sst"][data-number="${table.number}"]`);
  await page.waitForSelector('[data-testid="inspector-entries-table"]');
  equal(await page.textContent('[data-testid="inspector-entries"]'), '30', 'entry count');
  const rows = await page.$$eval('[data-testid="inspector-entries-table"] tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  equal(rows.length, 30, 'entry rows');
  equal(rows[0][0], 'key:01', 'first key');
  assert(/^\d+$/.test(rows[0][1]), `a sequence number: ${rows[0][1]}`);
  const body = await page.textContent('[data-testid="inspector-body"]');
  assert(body.includes('Bloom filter') && body.includes('Blocks ('), 'blocks and filter shown');
  await shot(page, 'table-inspector');
  await page.keyboard.press('Escape');
  await until(async () => !(await page.$eval('[data-testid="table-inspector"]', (d) => d.open)), 'Escape closes the inspector');
});

test('explain get shows the read path', async (page) => {
  await page.fill('[data-testid="explain-key"]', 'key:07');
  await page.press('[data-testid="explain-key"]', 'Enter');
  await until(async () => (await page.textContent('[data-testid="explain-result"]')).includes('Result:'), 'explain result');
  const text = await page.textContent('[data-testid="explain-result"]');
  assert(text.includes('memtable: not there'), `memtable probed first: ${text}`);
  assert(/L0 table #\d+: bloom filter says maybe — searched its block: found/.test(text), `found in L0: ${text}`);
  assert(text.includes('Result: found'), text);
  await page.fill('[data-testid="explain-key"]', 'nope');
  await page.press('[data-testid="explain-key"]', 'Enter');
  await until(async () => (await page.textContent('[data-testid="explain-result"]')).includes('not found anywhere'), 'explain a missing key');
});

test('HTML and script markup in a key and a value are shown literally and execute nothing', async (page) => {
  await view(page, 'operations');
  await put(page, XSS_KEY, XSS_VALUE);
  await until(async () => (await putMessage(page)).startsWith(`Put ${XSS_KEY} `), 'markup put acknowledged');
  await page.click('[data-testid="picture-flush"]');
  // The picture: the flushed table's key range, as text.
  const withMarkup = await until(async () => (await tables(page, 0)).find((t) => t.title.includes(XSS_KEY)), 'a table box whose title names the markup key literally');
  assert(withMarkup.text.includes('<img src=x'), `the box shows the key range literally: ${withMarkup.text}`);
  await settled(page);
  // Data Browser: the row and the value view.
  const found = await browse(page, '<img');
  assert(found.keys.includes(XSS_KEY), `Data Browser shows the key literally: ${JSON.stringify(found.keys)}`);
  const values = await page.$$eval('[data-testid="browse-value"]', (tds) => tds.map((t) => t.textContent));
  assert(values.includes(XSS_VALUE), `Data Browser shows the value literally: ${JSON.stringify(values)}`);
  await page.click('[data-testid="browse-key"]');
  equal(await page.textContent('[data-testid="detail-key"]'), XSS_KEY, 'detail key');
  equal(await page.textContent('[data-testid="detail-value"]'), XSS_VALUE, 'detail value');
  // Explain get and the table inspector.
  await page.fill('[data-testid="explain-key"]', XSS_KEY);
  await page.press('[data-testid="explain-key"]', 'Enter');
  await until(async () => (await page.textContent('[data-testid="explain-result"]')).includes(XSS_VALUE), 'explain shows the value literally');
  await page.click(`[data-testid="sst"][data-number="${withMarkup.number}"]`);
  await page.waitForSelector('[data-testid="inspector-entries-table"]');
  const cells = await page.$$eval('[data-testid="inspector-entries-table"] td', (tds) => tds.map((t) => t.textContent));
  assert(cells.includes(XSS_KEY), 'inspector shows the key literally');
  await page.keyboard.press('Escape');
  // The dashboard's events name the table's key range.
  await view(page, 'dashboard');
  await page.waitForTimeout(300);
  // Nothing ran, nothing was parsed as HTML.
  equal(await page.evaluate(() => window.__pwned), undefined, 'window.__pwned');
  equal(await page.$$eval('img', (imgs) => imgs.length), 0, '<img> elements in the page');
  equal(await page.$$eval('b', (bs) => bs.length), 0, '<b> elements in the page');
  equal(await page.$$eval('script:not([src])', (s) => s.length), 0, 'inline scripts');
});

test('the compaction demo merges tables, caps them at 30 entries, and drops tombstoned keys', async (page) => {
  await view(page, 'demo');
  await shot(page, 'demo-before');
  const log = await runDemo(page, 'compaction');
  const text = log.join('\n');
  assert(/dropped \d+ overwritten versions? and \d+ tombstones?/.test(text), `the report counts dropped entries:\n${text}`);
  const summary = log[log.length - 1];
  assert(summary.includes('none of the deleted ones'), `summary: ${summary}`);
  const m = /dropped (\d+) overwritten versions? and (\d+) tombstones?\. /.exec(summary);
  assert(m && Number(m[1]) >= 40 && Number(m[2]) >= 10, `at least 40 overwritten versions and 10 tombstones dropped: ${summary}`);
  await settled(page);
  const all = await tables(page);
  assert(all.length > 0, 'tables exist');
  for (const t of all) assert(t.entries <= 30, `table #${t.number} has ${t.entries} entries (> 30)`);
  equal((await tables(page, 0)).length, 0, 'L0 tables after compacting everything');
  await shot(page, 'demo');
  const deleted = await browse(page, 'cmp:4');
  equal(deleted.keys.length, 0, 'tombstoned keys cmp:40…49 in the Data Browser');
  assert(deleted.summary.startsWith('0 keys match'), `summary: ${deleted.summary}`);
  const live = await browse(page, 'cmp:');
  assert(live.summary.startsWith('50 keys match'), `cmp: keys live: ${live.summary}`);
});

test('reload: the data is still there (IndexedDB)', async (page) => {
  await page.reload();
  await ready(page);
  await settled(page);
  const caption = await page.textContent('[data-testid="picture-caption"]');
  assert(!caption.includes('new, empty store'), `reopened, not created: ${caption}`);
  const keys = await browse(page, 'key:');
  assert(keys.summary.startsWith('31 keys match'), `key:01…31 after reload: ${keys.summary}`);
  const cmp = await browse(page, 'cmp:');
  assert(cmp.summary.startsWith('50 keys match'), `cmp: after reload: ${cmp.summary}`);
  const xss = await browse(page, '<img');
  assert(xss.keys.includes(XSS_KEY), 'the markup key after reload');
  await view(page, 'operations');
  await page.fill('[data-testid="get-key"]', 'key:31');
  await page.click('[data-testid="get-submit"]');
  await until(async () => (await page.textContent('[data-testid="get-result"]')).includes('value 31'), 'key:31 (it was in the memtable: replayed from the WAL)');
});

test('crash & recover: every acknowledged key is back', async (page) => {
  const log = await runDemo(page, 'crash');
  const text = log.join('\n');
  assert(text.includes('Crash!'), 'crashed');
  assert(/Recovery: replayed \d+ WAL records? \(\d+ entr(y|ies)\)/.test(text), `WAL replay shown:\n${text}`);
  assert(log[log.length - 1].startsWith('45 of 45 acknowledged writes are back'), `verdict: ${log[log.length - 1]}`);
  await settled(page);
  const keys = await browse(page, 'crash:');
  assert(keys.summary.startsWith('45 keys match'), `crash: keys in the Data Browser: ${keys.summary}`);
  await view(page, 'dashboard');
  const events = await page.textContent('[data-testid="dashboard-events"]');
  assert(events.includes('walReplayed'), 'the dashboard lists the WAL replay');
});

test('the other scenarios run: users, catalog, range queries, watch a flush (with pause)', async (page) => {
  let log = await runDemo(page, 'users');
  assert(log.some((l) => l.includes('range prefix "user:"') && l.includes('grace.hopper@example.com') && !l.includes('user:5')), `users:\n${log.join('\n')}`);
  // Pause the catalog load, check that nothing advances, resume.
  await view(page, 'demo');
  await page.click('[data-testid="demo-run-catalog"]');
  await until(async () => Number(await page.getAttribute('[data-testid="demo-progress"]', 'value')) > 0, 'catalog started');
  await page.click('[data-testid="demo-pause"]');
  const at = await page.getAttribute('[data-testid="demo-progress"]', 'value');
  await page.waitForTimeout(1200);
  equal(await page.getAttribute('[data-testid="demo-progress"]', 'value'), at, 'progress while paused');
  equal(await page.textContent('[data-testid="demo-status"]'), 'Paused.', 'status while paused');
  await page.click('[data-testid="demo-pause"]');
  await until(async () => (await page.textContent('[data-testid="demo-status"]')) === 'Done.', 'catalog finishes after resume', 60000);
  log = await runDemo(page, 'ranges');
  assert(log.some((l) => l.startsWith('range prefix product:, reverse, limit 4 → 4 entries: product:0120')), `ranges:\n${log.join('\n')}`);
  log = await runDemo(page, 'flush');
  assert(log.some((l) => /^Flush: 30 memtable entries → L0 table #\d+ \(30 entries\)/.test(l)), `flush:\n${log.join('\n')}`);
  await settled(page);
});

test('step mode replays one flush or compaction step at a time', async (page) => {
  await page.check('[data-testid="step-mode"]');
  await view(page, 'operations');
  const lines = Array.from({ length: 40 }, (_, i) => `step:${String(i).padStart(2, '0')}=${i}`).join('\n');
  await page.fill('[data-testid="batch-text"]', lines);
  await page.click('[data-testid="batch-submit"]');
  await until(async () => !(await page.isDisabled('[data-testid="step-next"]')), 'a step waits for "Next step"');
  let steps = 0;
  const waiting = async () => (await page.textContent('[data-testid="picture-caption"]')).includes('waiting: press “Next step”');
  while (!(await page.isDisabled('[data-testid="step-next"]'))) {
    assert(await waiting(), `the caption asks for "Next step": ${await page.textContent('[data-testid="picture-caption"]')}`);
    const before = await page.textContent('[data-testid="step-next"]');
    await page.waitForTimeout(700);
    equal(await page.textContent('[data-testid="step-next"]'), before, 'nothing advances without "Next step"');
    if (steps === 0) await shot(page, 'picture-step-mode');
    await page.click('[data-testid="step-next"]');
    steps += 1;
    if ((await page.textContent('[data-testid="picture-caption"]')).includes('merging')) await shot(page, 'picture-compaction-inputs');
    // The step plays, then the next one waits (or the replay ends).
    await until(async () => (await page.isDisabled('[data-testid="step-next"]')) || (await waiting()), 'the step is shown', 10000);
    assert(steps < 30, 'too many steps');
  }
  assert(steps >= 2, `a freeze and a flush, at least: ${steps} steps`);
  await page.uncheck('[data-testid="step-mode"]');
  await settled(page);
});

test('a second tab is told the store is open in another tab', async (page) => {
  const other = await page.context().newPage();
  watch(other);
  try {
    await other.goto(BASE);
    await ready(other);
    await until(async () => (await other.isVisible('[data-testid="banner"]')) && (await other.textContent('[data-testid="banner"]')).includes('is open in another tab'), 'the banner explains the lock');
    equal(await other.textContent('[data-testid="picture-state"]'), 'not open', 'the second tab\'s picture');
  } finally {
    await other.close();
  }
  // The first tab still works.
  await view(page, 'operations');
  await page.fill('[data-testid="get-key"]', 'key:01');
  await page.click('[data-testid="get-submit"]');
  await until(async () => (await page.textContent('[data-testid="get-result"]')).includes('value 1'), 'the first tab still reads');
});

test('settings: validated inline, applied by reopening; memory backend selectable', async (page) => {
  await page.click('[data-testid="open-settings"]');
  await page.fill('[data-testid="set-memtable"]', '0');
  await page.click('[data-testid="set-apply"]');
  assert((await page.textContent('[data-testid="settings"] .message')).includes('The memtable cap must be a whole number'), 'cap 0 rejected');
  await page.fill('[data-testid="set-memtable"]', '10');
  await page.click('[data-testid="set-apply"]');
  await until(async () => !(await page.$eval('[data-testid="settings"]', (d) => d.open)), 'dialog closes');
  await until(async () => (await page.textContent('[data-testid="memtable-fill"]')).endsWith('/ 10 entries'), 'memtable cap 10 in the picture');
  // Memory backend: a separate, empty store.
  await page.click('[data-testid="open-settings"]');
  await page.selectOption('[data-testid="set-backend"]', 'memory');
  await page.click('[data-testid="set-apply"]');
  await until(async () => (await page.textContent('[data-testid="store-label"]')).includes('memory'), 'memory backend');
  const empty = await browse(page, '');
  assert(empty.summary.startsWith('0 live keys'), `memory store starts empty: ${empty.summary}`);
  // Back to the specification's defaults on IndexedDB: the data is there.
  await page.click('[data-testid="open-settings"]');
  await page.click('text=Spec defaults');
  await page.click('[data-testid="set-apply"]');
  await until(async () => (await page.textContent('[data-testid="store-label"]')).includes('IndexedDB · caps 30/30'), 'back on IndexedDB with 30/30');
  const keys = await browse(page, 'key:');
  assert(keys.summary.startsWith('31 keys match'), `data back: ${keys.summary}`);
});

test('OPFS backend: selectable, shown on the Dashboard, its data kept across a reload', async (page) => {
  await page.click('[data-testid="open-settings"]');
  await page.selectOption('[data-testid="set-backend"]', 'opfs');
  await page.click('[data-testid="set-apply"]');
  await until(async () => (await page.textContent('[data-testid="store-label"]')).includes('OPFS'), 'OPFS backend');
  await view(page, 'operations');
  await put(page, 'opfs:1', 'on a file');
  await until(async () => (await putMessage(page)).startsWith('Put opfs:1 '), 'the put is acknowledged');
  await page.reload();
  await ready(page);
  await until(async () => (await page.textContent('[data-testid="store-label"]')).includes('OPFS'), 'still OPFS after a reload');
  await view(page, 'dashboard');
  await until(async () => (await page.textContent('[data-testid="dash-backend"]')) === 'OPFS', 'the Dashboard names OPFS');
  assert(/slot files/.test(await page.textContent('[data-testid="dash-opfs"]')), 'the Dashboard shows the OPFS files');
  const kept = await browse(page, 'opfs:');
  assert(kept.summary.startsWith('1 key'), `OPFS data after a reload: ${kept.summary}`);
  // Back to the specification's defaults on IndexedDB.
  await page.click('[data-testid="open-settings"]');
  await page.click('text=Spec defaults');
  await page.click('[data-testid="set-apply"]');
  await until(async () => (await page.textContent('[data-testid="store-label"]')).includes('IndexedDB · caps 30/30'), 'back on IndexedDB');
});

test('usable at 1024 px: no horizontal scrolling; a screenshot of each view', async (page) => {
  await page.setViewportSize({ width: 1024, height: 768 });
  for (const id of ['dashboard', 'browser', 'operations', 'demo', 'analytics']) {
    await view(page, id);
    await page.waitForTimeout(300);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert(overflow <= 0, `${id} scrolls horizontally by ${overflow}px at 1024 px`);
  }
  await shot(page, 'analytics-1024');
  await page.setViewportSize({ width: 1366, height: 900 });
  await view(page, 'dashboard');
  await page.waitForTimeout(500);
  await shot(page, 'dashboard');
  await browse(page, '');
  await page.click('[data-testid="browse-key"] >> nth=0');
  await shot(page, 'browser');
  await view(page, 'operations');
  await shot(page, 'operations');
  await view(page, 'demo');
  await shot(page, 'demo');
  await view(page, 'analytics');
  await page.waitForTimeout(1500);
  const charts = await page.$$('[data-testid^="chart-"]');
  equal(charts.length, 6, 'charts');
  await shot(page, 'analytics');
});

/** Records every console error, page error, dialog and failed or foreign request of `page`. */
function watch(page) {
  page.setDefaultTimeout(15000);
  page.on('console', (m) => {
    const line = `console.${m.type()}: ${m.text()}`;
    if (m.type() === 'error') problems.push(line);
    else if (m.type() === 'warning') warnings.push(line);
  });
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
  page.on('dialog', (d) => {
    problems.push(`a ${d.type()} dialog opened: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  page.on('requestfailed', (r) => {
    const why = (r.failure() && r.failure().errorText) || '';
    // A reload closes the page's event stream (server backend): not a failure.
    if (/\/api\/events\b/.test(r.url()) && why.includes('ERR_ABORTED')) return;
    problems.push(`request failed: ${r.url()} ${why}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`);
    else if (!r.url().startsWith(BASE)) problems.push(`a request left the origin: ${r.url()}`);
  });
}

// ---- the server backend (BASE is lsmkv-server with --web-root) ----

/** A call to the server's REST API from outside the page (another client). */
async function api(method, path, body) {
  const response = await fetch(new URL(`api${path}`, BASE), {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json();
  assert(response.ok && answer.success === true, `${method} /api${path}: HTTP ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

serverTest('served by lsmkv-server: the server backend is preselected, 31 puts → one L0 table on disk', async (page) => {
  await opens(page, 'lsmkv-server');
  await view(page, 'operations');
  await put31(page);
  const l0 = await tables(page, 0);
  equal(l0.length, 1, 'L0 tables in the picture');
  equal(l0[0].entries, 30, 'entries in the L0 table');
  equal(await page.textContent('[data-testid="memtable-fill"]'), '1 / 30 entries', 'memtable after the flush');
  const caption = await page.textContent('[data-testid="picture-caption"]');
  assert(/Flush: 30 memtable entries → L0 table #\d+ \(30 entries\)/.test(caption), `caption: ${caption}`);
  // The picture shows the server's engine: its own stats say the same.
  const stats = (await api('GET', '/stats')).data;
  equal(stats.levels[0].tables.length, 1, 'L0 tables in the server engine');
  equal(stats.levels[0].tables[0].number, l0[0].number, 'the table number');
  await shot(page, 'server-operations');
});

serverTest('server backend: reload, the data is still there; the Dashboard names the server', async (page) => {
  await page.reload();
  await ready(page);
  await settled(page);
  const keys = await browse(page, 'key:');
  assert(keys.summary.startsWith('31 keys match'), `key:01…31 after reload: ${keys.summary}`);
  await view(page, 'operations');
  await page.fill('[data-testid="get-key"]', 'key:31');
  await page.click('[data-testid="get-submit"]');
  await until(async () => (await page.textContent('[data-testid="get-result"]')).includes('value 31'), 'key:31 (in the memtable on the server)');
  await view(page, 'dashboard');
  await until(async () => (await page.textContent('[data-testid="dash-backend"]')).includes('lsmkv-server'), 'the Dashboard names the backend');
  assert((await page.textContent('[data-testid="dash-server"]')).includes('preset teaching'), 'the server row');
  await shot(page, 'server-dashboard');
});

serverTest('server backend: another client’s writes reach the picture through /api/events', async (page) => {
  // The memtable holds key:31; 30 more entries from outside the page flush it again.
  const items = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`curl:${String(i).padStart(2, '0')}`, { i }]));
  await api('POST', '/batch_put', { items });
  await until(async () => (await tables(page, 0)).length === 2, 'a second L0 table appears without any action in the page');
  await settled(page);
  const browsed = await browse(page, 'curl:');
  assert(browsed.summary.startsWith('30 keys match'), `the other client's keys: ${browsed.summary}`);
});

serverTest('server backend: the crash scenario and erasing say why they cannot run here', async (page) => {
  const log = await runDemo(page, 'crash');
  assert(log.some((line) => line.includes('kill -9 the lsmkv-server process')), `demo log: ${log.join(' | ')}`);
  await page.click('[data-testid="open-settings"]');
  assert(await page.isDisabled('[data-testid="set-erase"]'), 'erase is disabled');
  assert(await page.isDisabled('[data-testid="set-memtable"]'), 'caps are the server\'s');
  await page.keyboard.press('Escape');
});

/** The engine's events after `since`, read from outside the page (the JSON pages of /api/events). */
async function apiEvents(since) {
  const events = [];
  let cursor = since;
  for (;;) {
    const response = await fetch(new URL(`api/events?since=${cursor}`, BASE), { headers: { Accept: 'application/json' } });
    const answer = await response.json();
    assert(response.ok && answer.success === true, `GET /api/events: HTTP ${response.status} ${JSON.stringify(answer)}`);
    events.push(...answer.data.events);
    const done = answer.data.nextCursor === cursor || !answer.data.events.length;
    cursor = answer.data.nextCursor;
    if (done) return { events, cursor };
  }
}

/** Levels of table numbers without the empty levels at the bottom (the picture folds those into one line). */
function trimLevels(levels) {
  const out = levels.map((tables) => [...tables]);
  while (out.length && !out[out.length - 1].length) out.pop();
  return out;
}

/** The table numbers the picture draws, per level. */
async function pictureLevels(page) {
  const rows = await page.$$eval('[data-testid^="level-"]', (els) => els.map((row) => Array.from(row.querySelectorAll('[data-testid="sst"]'), (e) => Number(e.dataset.number))));
  return trimLevels(rows);
}

serverTest('server backend: step by step, the picture shows the engine’s own levels after every flush and compaction (levelsAfter)', async (page) => {
  await settled(page);
  const { cursor } = await apiEvents(0);
  await page.check('[data-testid="step-mode"]');
  try {
    // Compact everything (a flush, then compactions), then one more flush: every compaction is replayed before the end.
    const reports = (await api('POST', '/compact')).data;
    assert(reports.length >= 1, 'compacting everything ran a compaction');
    await api('POST', '/put', { key: 'after:compact', value: 1 });
    assert((await api('POST', '/flush')).data, 'the put is flushed');
    const { events } = await apiEvents(cursor);
    const replayed = new Set(['memtableFrozen', 'flushed', 'compacted', 'walReplayed', 'walTailTruncated', 'wentReadOnly', 'opened', 'storageNotice']);
    const steps = events.filter((e) => replayed.has(e.type));
    const changes = steps.filter((e) => e.report);
    equal(changes.filter((e) => e.type === 'compacted').length, reports.length, `compactions in the event feed (${steps.map((e) => e.type).join(', ')})`);
    equal(changes[changes.length - 1].type, 'flushed', 'the last step');
    await until(async () => (await page.textContent('[data-testid="step-next"]')) === `Next step ▸ (${steps.length} left)`, `the page queued the engine's ${steps.length} steps`);
    const caption = () => page.textContent('[data-testid="picture-caption"]');
    const shown = [];
    for (let i = 0; i < steps.length; i++) {
      const before = await caption();
      await page.click('[data-testid="step-next"]');
      if (i === steps.length - 1) break;
      await until(async () => {
        const now = await caption();
        return now !== before && now.includes('waiting: press “Next step”');
      }, `step ${i + 1} of ${steps.length} (${steps[i].type}) is shown and the next one waits`, 10000);
      if (steps[i].report) shown.push(await pictureLevels(page));
      if (steps[i].type === 'compacted') {
        await page.waitForTimeout(700); // the outputs' fade-in
        await shot(page, 'server-picture-compaction');
      }
    }
    // The last step's picture is the settled one: the engine's stats, its levels as the last step left them.
    await settled(page);
    shown.push(await pictureLevels(page));
    equal(shown.length, changes.length, 'pictures of flushes and compactions');
    changes.forEach((e, i) => equal(JSON.stringify(shown[i]), JSON.stringify(trimLevels(e.report.levelsAfter)), `the picture after step ${i + 1} (${e.type}) against the engine's levelsAfter`));
    const stats = (await api('GET', '/stats')).data;
    equal(JSON.stringify(shown[shown.length - 1]), JSON.stringify(trimLevels(stats.levels.map((l) => l.tables.map((t) => t.number)))), 'the settled picture against GET /api/stats');
  } finally {
    await page.uncheck('[data-testid="step-mode"]');
  }
});

// ---- main ----

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
let failed = 0;
try {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  watch(page);
  const chosen = SERVER ? serverTests : tests;
  for (const { name, fn } of chosen) {
    if (ONLY && !ONLY.test(name)) continue;
    const started = Date.now();
    const before = problems.length;
    try {
      await fn(page);
      if (problems.length > before) throw new AssertionError(`console/page problems:\n  ${problems.slice(before).join('\n  ')}`);
      console.log(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
    } catch (error) {
      failed += 1;
      console.log(`FAIL ${name} (${((Date.now() - started) / 1000).toFixed(1)}s)\n     ${(error.stack || String(error)).split('\n').slice(0, 4).join('\n     ')}`);
      await page.screenshot({ path: join(ARTIFACTS, `failed-${SERVER ? 'server-' : ''}${chosen.findIndex((t) => t.name === name)}.png`) }).catch(() => {});
    }
  }
  const name = 'no console errors, page errors, dialogs or failed requests during the whole run';
  if (problems.length) {
    failed += 1;
    console.log(`FAIL ${name}\n     ${problems.join('\n     ')}`);
  } else {
    console.log(`ok   ${name}`);
  }
  if (warnings.length) console.log(`(console warnings, not failures:\n  ${warnings.join('\n  ')})`);
} finally {
  await browser.close();
}
console.log(failed ? `\n${failed} failed; screenshots in ${ARTIFACTS}` : `\nall passed; screenshots in ${ARTIFACTS}`);
process.exit(failed ? 1 : 0);
