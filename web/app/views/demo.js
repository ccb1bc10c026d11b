// Demo: guided scenarios on sample data, narrated step by step from what the
// engine reports. Long scenarios show their progress and can be paused.

import { h, replace, keyText, errorText, plural, fmtNum, fmtBytes } from '../dom.js';
import { describeEvent } from '../narration.js';

class Stopped extends Error {}

const USERS = [
  { id: 1, name: 'Ada Lovelace', email: 'ada@example.com', role: 'admin' },
  { id: 2, name: 'Alan Turing', email: 'alan@example.com', role: 'editor' },
  { id: 3, name: 'Grace Hopper', email: 'grace@example.com', role: 'editor' },
  { id: 4, name: 'Edsger Dijkstra', email: 'edsger@example.com', role: 'viewer' },
  { id: 5, name: 'Barbara Liskov', email: 'barbara@example.com', role: 'viewer' },
];

const CATEGORIES = ['books', 'garden', 'kitchen', 'music', 'outdoor', 'toys'];
const NOUNS = ['lamp', 'kettle', 'chair', 'guitar', 'tent', 'puzzle', 'spade', 'novel', 'mug', 'kite', 'drum', 'rake'];

function product(i) {
  return {
    sku: `P${String(i).padStart(4, '0')}`,
    name: `${NOUNS[i % NOUNS.length]} model ${i}`,
    category: CATEGORIES[(i * 7) % CATEGORIES.length],
    price: Math.round((5 + ((i * 37) % 200) + (i % 100) / 100) * 100) / 100,
    stock: (i * 13) % 50,
  };
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** The scenarios. Each gets a context: { session, say, note, progress, checkpoint, wait }. */
const SCENARIOS = [
  {
    id: 'users',
    title: 'Users: create, read, update, delete',
    text: 'Five user records stored as JSON under user:1 … user:5; one read, one update, one delete, then a prefix scan.',
    async run({ session, say, progress, checkpoint, wait }) {
      const total = USERS.length + 4;
      let done = 0;
      for (const user of USERS) {
        await session.run((s) => s.put(`user:${user.id}`, user), 'demo');
        say(`put user:${user.id} → ${JSON.stringify(user)} (seq ${fmtNum(session.stats.lastSeq)})`);
        progress(++done, total);
        await wait(250);
        await checkpoint();
      }
      const grace = await session.run((s) => s.get('user:3'), 'demo');
      say(`get user:3 → ${JSON.stringify(grace)}`);
      progress(++done, total);
      await checkpoint();
      await session.run((s) => s.put('user:3', { ...grace, email: 'grace.hopper@example.com' }), 'demo');
      say('update user:3: a put of the new version with a higher sequence number; the old version stays until compaction drops it.');
      progress(++done, total);
      await checkpoint();
      await session.run((s) => s.delete('user:5'), 'demo');
      say('delete user:5: a tombstone, itself a write with its own sequence number.');
      progress(++done, total);
      await checkpoint();
      const rows = await session.run((s) => s.range({ prefix: 'user:' }), 'demo');
      say(`range prefix "user:" → ${rows.map(([k, v]) => `${keyText(k)} (${v.name}, ${v.email})`).join('; ')}`);
      progress(++done, total);
    },
  },
  {
    id: 'catalog',
    title: 'Product catalog loaded in batches',
    text: '120 products written by batchPut, 30 per atomic batch. Each batch fills a memtable: watch the flushes, and the compaction once L0 has too many tables.',
    async run({ session, say, progress, checkpoint, wait }) {
      const BATCH = 30;
      const COUNT = 120;
      for (let start = 1; start <= COUNT; start += BATCH) {
        const entries = [];
        for (let i = start; i < start + BATCH && i <= COUNT; i++) entries.push([`product:${pad(i, 4)}`, product(i)]);
        const before = session.feed.mark();
        await session.run((s) => s.batchPut(entries), 'demo');
        const events = session.feed.since(before);
        const flushes = events.filter((e) => e.type === 'flushed').length;
        const compactions = events.filter((e) => e.type === 'compacted').length;
        say(`batchPut product:${pad(start, 4)} … product:${pad(start + entries.length - 1, 4)}: ${plural(entries.length, 'entry', 'entries')} in one atomic write; ${plural(flushes, 'flush', 'flushes')}, ${plural(compactions, 'compaction')}.`);
        for (const e of events) if (e.type === 'flushed' || e.type === 'compacted') say(describeEvent(e), 'engine');
        progress(start + entries.length - 1, COUNT);
        await wait(400);
        await checkpoint();
      }
      const s = session.stats;
      say(`The catalog is in: last seq ${fmtNum(s.lastSeq)}, ${plural(s.levels.reduce((n, l) => n + l.tables.length, 0), 'table')} in ${plural(s.levels.filter((l) => l.tables.length).length, 'level')}, memtable ${fmtNum(s.memtableEntries)}/${fmtNum(s.memtableMaxEntries)}.`);
    },
  },
  {
    id: 'ranges',
    title: 'Range queries',
    text: 'Ordered scans over the catalog (loaded first if missing): a bounded range, a prefix, the same in reverse, a limit.',
    async run(context) {
      const { session, say, progress, checkpoint } = context;
      const have = await session.run((s) => s.keys({ prefix: 'product:', limit: 1 }), 'demo');
      if (!have.length) {
        say('No catalog yet: loading 120 products first.');
        await SCENARIOS[1].run(context);
      }
      const queries = [
        ['gte product:0010, lt product:0015', { gte: 'product:0010', lt: 'product:0015' }],
        ['gt product:0010, lte product:0015', { gt: 'product:0010', lte: 'product:0015' }],
        ['prefix product:011', { prefix: 'product:011' }],
        ['prefix product:, reverse, limit 4', { prefix: 'product:', reverse: true, limit: 4 }],
        ['gte product:0100, limit 3', { gte: 'product:0100', limit: 3 }],
      ];
      let done = 0;
      for (const [label, options] of queries) {
        const rows = await session.run((s) => s.range(options), 'demo');
        say(`range ${label} → ${plural(rows.length, 'entry', 'entries')}: ${rows.map(([k, v]) => `${keyText(k)} (${v.name}, $${v.price})`).join('; ') || '—'}`);
        progress(++done, queries.length);
        await checkpoint();
      }
      say('A range merges the memtable and every overlapping table in key order, newest version first; tombstones hide deleted keys.');
    },
  },
  {
    id: 'flush',
    title: 'Watch a flush',
    text: 'Empties the memtable, fills it one put at a time up to its cap, then one more put: the memtable is frozen and written out as an L0 table.',
    async run({ session, say, progress, checkpoint, wait }) {
      const first = await session.run((s) => s.flush(), 'demo');
      say(first ? `Flushed the ${plural(first.memtableEntries, 'entry', 'entries')} already in the memtable, to start empty.` : 'The memtable is empty: starting.');
      await wait(600);
      await checkpoint();
      const cap = session.stats.memtableMaxEntries;
      const total = cap + 1;
      const step = cap > 60 ? Math.ceil(cap / 30) : 1;
      let written = 0;
      while (written < cap) {
        const n = Math.min(step, cap - written);
        const entries = [];
        for (let i = 0; i < n; i++) entries.push([`flush:${pad(written + i + 1, 4)}`, `value ${written + i + 1}`]);
        await session.run((s) => (n === 1 ? s.put(entries[0][0], entries[0][1]) : s.batchPut(entries)), 'demo');
        written += n;
        progress(written, total);
        await wait(cap > 60 ? 60 : 180);
        await checkpoint();
      }
      say(`The memtable holds ${fmtNum(session.stats.memtableEntries)} of ${fmtNum(cap)} entries: full. Every one of them is also in the WAL (${fmtBytes(session.stats.walBytes)}), so a crash now loses nothing.`);
      await wait(800);
      await checkpoint();
      const before = session.feed.mark();
      await session.run((s) => s.put(`flush:${pad(cap + 1, 4)}`, `value ${cap + 1}`), 'demo');
      progress(total, total);
      for (const e of session.feed.since(before)) say(describeEvent(e), 'engine');
      say(`The new put went into a fresh memtable (${fmtNum(session.stats.memtableEntries)} entry); the old WAL was retired once its entries were safely in the table.`);
    },
  },
  {
    id: 'compaction',
    title: 'Watch compaction drop overwritten values and tombstones',
    text: 'Writes cmp:00 … cmp:59, overwrites cmp:00 … cmp:29, deletes cmp:40 … cmp:49, flushes, then compacts everything: the report counts the versions and tombstones dropped.',
    async run({ session, say, progress, checkpoint, wait }) {
      const total = 12;
      let done = 0;
      const tick = async () => {
        progress(++done, total);
        await wait(350);
        await checkpoint();
      };
      const start = session.feed.mark();
      const first = await session.run((s) => s.flush(), 'demo');
      say(first ? 'Flushed the memtable, to start empty.' : 'The memtable is empty: starting.');
      await tick();
      for (let b = 0; b < 6; b++) {
        const entries = [];
        for (let i = b * 10; i < b * 10 + 10; i++) entries.push([`cmp:${pad(i)}`, `v1 of cmp:${pad(i)}`]);
        await session.run((s) => s.batchPut(entries), 'demo');
        say(`put cmp:${pad(b * 10)} … cmp:${pad(b * 10 + 9)} = "v1"`);
        await tick();
      }
      for (let b = 0; b < 3; b++) {
        const entries = [];
        for (let i = b * 10; i < b * 10 + 10; i++) entries.push([`cmp:${pad(i)}`, `v2 of cmp:${pad(i)}`]);
        await session.run((s) => s.batchPut(entries), 'demo');
        say(`overwrite cmp:${pad(b * 10)} … cmp:${pad(b * 10 + 9)} = "v2" — the "v1" versions are still stored, shadowed`);
        await tick();
      }
      const deletes = [];
      for (let i = 40; i < 50; i++) deletes.push({ type: 'del', key: `cmp:${pad(i)}` });
      await session.run((s) => s.batch(deletes), 'demo');
      say('delete cmp:40 … cmp:49 — ten tombstones');
      const flushed = await session.run((s) => s.flush(), 'demo');
      if (flushed) say(describeEvent({ type: 'flushed', report: flushed }), 'engine');
      await tick();
      const s = session.stats;
      const stored = s.levels.reduce((n, l) => n + l.entries, 0);
      say(`Before compaction: ${plural(s.levels.reduce((n, l) => n + l.tables.length, 0), 'table')} holding ${plural(stored, 'entry', 'entries')} (versions and tombstones).`);
      await wait(600);
      await checkpoint();
      const automatic = session.feed.since(start).filter((e) => e.type === 'compacted').length;
      if (automatic) say(`(Along the way, the engine already ran ${plural(automatic, 'automatic compaction')}: L0 had more tables than its trigger.)`);
      say('Now compact everything: flush, then merge every table into one sorted run.');
      const reports = await session.run((st) => st.compact(), 'demo');
      for (const r of reports) say(describeEvent({ type: 'compacted', report: r }), 'engine');
      // Every compaction of this scenario, automatic ones included, as the engine reported them.
      let overwritten = 0;
      let tombstones = 0;
      for (const e of session.feed.since(start)) {
        if (e.type !== 'compacted') continue;
        overwritten += e.report.droppedOverwritten;
        tombstones += e.report.droppedTombstones;
      }
      await tick();
      const after = session.stats;
      const tables = after.levels.flatMap((l) => l.tables);
      const biggest = tables.reduce((m, t) => Math.max(m, t.entries), 0);
      const live = await session.run((st) => st.keys({ prefix: 'cmp:' }), 'demo');
      const deleted = live.filter((k) => /^cmp:4\d$/.test(keyText(k)));
      say(`After: ${plural(tables.length, 'table')}, the largest holding ${fmtNum(biggest)} entries (cap ${fmtNum(after.sstableMaxEntries)}); compactions in this scenario dropped ${plural(overwritten, 'overwritten version')} and ${plural(tombstones, 'tombstone')}. ${plural(live.length, 'cmp: key')} live, ${deleted.length ? `but ${deleted.length} deleted ones are still visible!` : 'none of the deleted ones.'}`, deleted.length ? 'error' : 'result');
    },
  },
  {
    id: 'crash',
    title: 'Crash & recover',
    text: 'Writes 45 keys one by one — each acknowledged only once durable — then crashes: the memtable and every other in-memory state is dropped without a flush. Reopening replays the WAL; every acknowledged write is checked.',
    async run({ session, say, progress, checkpoint, wait }) {
      if (session.settings.backend === 'memory') {
        say('This scenario needs a durable backend (IndexedDB or OPFS): a memory store keeps nothing across a crash, by design. Switch the backend in Settings.', 'error');
        return;
      }
      const refused = session.unsupported('crash');
      if (refused) {
        say(refused.message, 'error');
        return;
      }
      const COUNT = 45;
      const run = Date.now().toString(36);
      const acknowledged = new Map();
      for (let i = 1; i <= COUNT; i++) {
        const key = `crash:${pad(i)}`;
        const value = `written in run ${run}, #${i}`;
        await session.run((s) => s.put(key, value), 'demo');
        acknowledged.set(key, value); // the put's promise resolved: the write is acknowledged
        progress(i, COUNT + 2);
        await wait(40);
        await checkpoint();
      }
      const s = session.stats;
      say(`${plural(COUNT, 'put')} acknowledged. Right now ${plural(s.memtableEntries, 'entry', 'entries')} live only in the memtable — and in the WAL (${plural(s.walFiles, 'file')}, ${fmtBytes(s.walBytes)}); tables hold everything up to seq ${fmtNum(s.flushedSeq)} of ${fmtNum(s.lastSeq)}.`);
      await wait(900);
      await checkpoint();
      const events = await session.crashAndRecover(async () => {
        say('Crash! The store dropped its memtable, caches and open files without flushing or syncing anything.', 'error');
        await wait(1200);
      });
      progress(COUNT + 1, COUNT + 2);
      for (const e of events) if (e.type !== 'tablesRemoved') say(describeEvent(e), 'engine');
      const replay = events.find((e) => e.type === 'walReplayed');
      if (!replay) say('No WAL needed replaying.', 'engine');
      let back = 0;
      const lost = [];
      for (const [key, value] of acknowledged) {
        const got = await session.run((st) => st.get(key), 'demo');
        if (got === value) back++;
        else lost.push(key);
      }
      progress(COUNT + 2, COUNT + 2);
      say(lost.length
        ? `${back} of ${COUNT} acknowledged writes are back; lost: ${lost.join(', ')}`
        : `${back} of ${COUNT} acknowledged writes are back — every one.`, lost.length ? 'error' : 'result');
    },
  },
];

export class Demo {
  constructor(session) {
    this.session = session;
    this.title = 'Demo';
    this.running = null;
    this.paused = false;
    this.stopped = false;
    this.resume = null;

    this.buttons = [];
    const list = h('div', { class: 'scenarios' }, SCENARIOS.map((sc) => {
      const button = h('button', { class: 'primary', attrs: { type: 'button', 'data-testid': `demo-run-${sc.id}` }, text: 'Run', on: { click: () => this.start(sc) } });
      this.buttons.push(button);
      return h('section', { class: 'card scenario', attrs: { 'aria-label': sc.title } }, h('h2', { text: sc.title }), h('p', { text: sc.text }), button);
    }));
    this.runTitle = h('h2', { text: 'No scenario running' });
    this.progressBar = h('progress', { attrs: { max: 1, value: 0, 'data-testid': 'demo-progress', 'aria-label': 'scenario progress' } });
    this.progressText = h('span', { class: 'progress-text', attrs: { 'data-testid': 'demo-progress-text' } });
    this.pauseButton = h('button', { attrs: { type: 'button', disabled: true, 'data-testid': 'demo-pause' }, text: 'Pause', on: { click: () => this.togglePause() } });
    this.stopButton = h('button', { attrs: { type: 'button', disabled: true, 'data-testid': 'demo-stop' }, text: 'Stop', on: { click: () => this.stop() } });
    this.log = h('ol', { class: 'narration', attrs: { 'data-testid': 'demo-log', 'aria-live': 'polite' } });
    this.status = h('p', { class: 'demo-status', attrs: { 'data-testid': 'demo-status' } });
    this.el = h(
      'section',
      { class: 'view', attrs: { 'aria-labelledby': 'demo-title' } },
      h('h1', { attrs: { id: 'demo-title' }, text: 'Demo' }),
      h('p', { class: 'lede', text: 'Guided scenarios on sample data. They write to the open store; the picture replays every flush and compaction (turn on step mode to go one step at a time).' }),
      list,
      h('section', { class: 'card runner', attrs: { 'aria-label': 'Running scenario' } },
        this.runTitle,
        h('div', { class: 'row' }, this.progressBar, this.progressText, this.pauseButton, this.stopButton),
        this.status,
        this.log),
    );
  }

  shown() {}

  say(text, kind = 'step') {
    this.log.append(h('li', { class: `say say-${kind}`, text }));
    this.log.lastChild.scrollIntoView({ block: 'nearest' });
  }

  async checkpoint() {
    if (this.stopped) throw new Stopped();
    if (this.paused) {
      await new Promise((resolve) => {
        this.resume = resolve;
      });
      if (this.stopped) throw new Stopped();
    }
  }

  async wait(ms) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    await this.checkpoint();
  }

  togglePause() {
    if (!this.running) return;
    this.paused = !this.paused;
    this.pauseButton.textContent = this.paused ? 'Resume' : 'Pause';
    this.status.textContent = this.paused ? 'Paused.' : 'Running…';
    if (!this.paused && this.resume) {
      this.resume();
      this.resume = null;
    }
  }

  stop() {
    this.stopped = true;
    if (this.resume) {
      this.resume();
      this.resume = null;
    }
  }

  async start(scenario) {
    if (this.running) return;
    this.running = scenario;
    this.paused = false;
    this.stopped = false;
    for (const b of this.buttons) b.disabled = true;
    this.pauseButton.disabled = false;
    this.pauseButton.textContent = 'Pause';
    this.stopButton.disabled = false;
    this.runTitle.textContent = scenario.title;
    this.progressBar.max = 1;
    this.progressBar.value = 0;
    this.progressText.textContent = '';
    this.status.textContent = 'Running…';
    this.status.className = 'demo-status';
    replace(this.log);
    const context = {
      session: this.session,
      say: (text, kind) => this.say(text, kind),
      progress: (done, total) => {
        this.progressBar.max = total;
        this.progressBar.value = done;
        this.progressText.textContent = `${fmtNum(done)} / ${fmtNum(total)}`;
      },
      checkpoint: () => this.checkpoint(),
      wait: (ms) => this.wait(ms),
    };
    try {
      await scenario.run(context);
      this.status.textContent = 'Done.';
      this.status.className = 'demo-status done';
    } catch (error) {
      if (error instanceof Stopped) {
        this.status.textContent = 'Stopped.';
      } else {
        this.status.textContent = `Failed: ${errorText(error)}`;
        this.status.className = 'demo-status error';
      }
    } finally {
      this.running = null;
      this.paused = false;
      for (const b of this.buttons) b.disabled = false;
      this.pauseButton.disabled = true;
      this.pauseButton.textContent = 'Pause';
      this.stopButton.disabled = true;
    }
  }
}

