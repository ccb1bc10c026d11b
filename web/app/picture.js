// The LSM picture: the memtable filling to its cap, the frozen memtable
// being flushed, and the levels as rows of SSTables. At rest it shows exactly
// what `stats()` reports. When the engine reports flushes and compactions
// (its event feed), the picture replays them one at a time — inputs
// highlighted, outputs appearing, dropped entries counted — using only the
// tables and numbers in the engine's own reports, then settles on `stats()`
// again. In step mode each replayed event waits for "Next step".

import { h, replace, keyText, shorten, fmtBytes, fmtNum, plural, errorText, messageBox, showMessage, valuePreview, valueKind } from './dom.js';
import { describeEvent, tablesText } from './narration.js';

const LEVELS = 7;
const SLOT_CELLS_MAX = 120;

function rangeText(t, max = 18) {
  return `${shorten(keyText(t.smallestKey), max)} … ${shorten(keyText(t.largestKey), max)}`;
}

/** Events the picture replays as steps. */
const STEPS = new Set(['memtableFrozen', 'flushed', 'compacted', 'walReplayed', 'walTailTruncated', 'wentReadOnly', 'opened', 'storageNotice']);

export class Picture {
  constructor(session, inspector) {
    this.session = session;
    this.inspector = inspector;
    this.levels = Array.from({ length: LEVELS }, () => []);
    this.memtable = { entries: 0, max: 30, bytes: 0 };
    this.frozen = null;
    this.highlights = new Map(); // table number → class
    this.probes = new Map(); // table number → probe class (explain get)
    this.queue = [];
    this.playing = false;
    this.stepMode = false;
    this.waiter = null;
    this.latest = null;
    this.signature = '';
    this.caption = 'Waiting for the engine…';
    this.stepNumber = 0;
    this.build();
    session.subscribe((update) => this.onUpdate(update));
  }

  build() {
    this.flushButton = h('button', { attrs: { type: 'button', 'data-testid': 'picture-flush' }, text: 'Flush memtable', on: { click: () => this.engineStep('flush') } });
    this.compactButton = h('button', { attrs: { type: 'button', 'data-testid': 'picture-compact-step' }, text: 'Compaction step', on: { click: () => this.engineStep('compactStep') } });
    this.stepToggle = h('input', { attrs: { type: 'checkbox', 'data-testid': 'step-mode' }, on: { change: () => this.setStepMode(this.stepToggle.checked) } });
    this.nextButton = h('button', { class: 'primary', attrs: { type: 'button', 'data-testid': 'step-next', disabled: true }, text: 'Next step ▸', on: { click: () => this.next() } });
    this.skipButton = h('button', { attrs: { type: 'button', 'data-testid': 'step-skip', disabled: true }, text: 'Skip to now', on: { click: () => this.skip() } });
    this.message = messageBox();
    this.captionEl = h('p', { class: 'caption', attrs: { 'aria-live': 'polite', 'data-testid': 'picture-caption' } });
    this.memtableEl = h('div', { class: 'memtable', attrs: { 'data-testid': 'memtable' } });
    this.frozenEl = h('div', { class: 'frozen-slot' });
    this.walEl = h('p', { class: 'wal', attrs: { 'data-testid': 'wal' } });
    this.levelsEl = h('div', { class: 'levels', attrs: { 'data-testid': 'levels' } });
    this.explain = this.buildExplain();
    this.el = h(
      'aside',
      { class: 'picture', attrs: { 'aria-label': 'The LSM tree, live' } },
      h('div', { class: 'picture-head' }, h('h2', { text: 'The LSM tree' }), h('span', { class: 'badge', attrs: { 'data-testid': 'picture-state' } })),
      h(
        'div',
        { class: 'picture-controls' },
        this.flushButton,
        this.compactButton,
        h('label', { class: 'check', attrs: { title: 'Replay each flush and compaction one at a time' } }, this.stepToggle, ' Step mode'),
        this.nextButton,
        this.skipButton,
      ),
      this.message,
      this.captionEl,
      this.memtableEl,
      this.frozenEl,
      this.walEl,
      this.levelsEl,
      this.explain.el,
    );
    this.stateBadge = this.el.querySelector('[data-testid="picture-state"]');
  }

  // ---- engine buttons ----

  async engineStep(kind) {
    showMessage(this.message, '');
    try {
      const result = await this.session.run((store) => store[kind](), kind);
      if (result === null) {
        showMessage(this.message, kind === 'flush' ? 'The memtable is empty: nothing to flush.' : 'No compaction is needed now: every level is within its limits.', 'info');
      }
    } catch (error) {
      showMessage(this.message, errorText(error));
    }
  }

  // ---- explain get ----

  buildExplain() {
    const input = h('input', { attrs: { type: 'text', 'aria-label': 'Key to explain', placeholder: 'a key', 'data-testid': 'explain-key', autocomplete: 'off' } });
    const message = messageBox();
    const out = h('div', { class: 'trace', attrs: { 'data-testid': 'explain-result' } });
    const form = h(
      'form',
      { class: 'explain-form', on: { submit: (e) => { e.preventDefault(); this.runExplain(input.value, message, out); } } },
      h('label', { attrs: { for: 'explain-key' }, text: 'Explain get' }),
      input,
      h('button', { attrs: { type: 'submit' }, text: 'Explain' }),
    );
    input.id = 'explain-key';
    return { el: h('section', { class: 'explain', attrs: { 'aria-label': 'Explain get' } }, form, message, out), input, message, out };
  }

  /** Shows the read path of a get for `key` (also used by other views). */
  async explainKey(key) {
    this.explain.input.value = key;
    await this.runExplain(key, this.explain.message, this.explain.out);
  }

  async runExplain(key, message, out) {
    showMessage(message, '');
    if (key === '') {
      showMessage(message, 'Type a key to see where a get for it looks.');
      return;
    }
    let trace;
    try {
      trace = await this.session.run((store) => store.explainGet(key), 'explain');
    } catch (error) {
      showMessage(message, errorText(error));
      return;
    }
    this.probes.clear();
    const items = trace.probes.map((p, i) => {
      let text;
      let cls;
      switch (p.kind) {
        case 'memtable':
          text = `memtable: ${p.found ? 'found' : 'not there'}`;
          cls = p.found ? 'found' : 'miss';
          break;
        case 'frozenMemtable':
          text = `frozen memtable: ${p.found ? 'found' : 'not there'}`;
          cls = p.found ? 'found' : 'miss';
          break;
        case 'outOfRange':
          text = `L${p.level} table #${p.table}: key outside its range — skipped without reading`;
          cls = 'range';
          break;
        case 'bloomNegative':
          text = `L${p.level} table #${p.table}: bloom filter says absent — skipped`;
          cls = 'bloom';
          break;
        case 'searched':
          text = `L${p.level} table #${p.table}: bloom filter says maybe — searched its block: ${p.found ? 'found' : 'not there (a false positive)'}`;
          cls = p.found ? 'found' : 'miss';
          break;
        default:
          text = JSON.stringify(p);
          cls = 'miss';
      }
      if (p.table !== undefined) this.probes.set(p.table, `probe-${cls}`);
      return h('li', { class: `probe probe-${cls}`, data: { step: i + 1 } }, text);
    });
    let verdict;
    if (!trace.decidedBy) verdict = 'Result: not found anywhere — the key was never written (or its tombstone was compacted away).';
    else if (trace.decidedBy.tombstone) verdict = `Result: deleted — a tombstone with seq ${fmtNum(trace.decidedBy.seq)} decides it; older versions below are not read.`;
    else verdict = `Result: found, seq ${fmtNum(trace.decidedBy.seq)} (${valueKind(trace.value)}): ${valuePreview(trace.value, 120)}`;
    replace(out, h('p', { class: 'trace-key' }, 'get ', h('code', { text: key })), h('ol', {}, items.length ? items : h('li', { text: 'no probe' })), h('p', { class: 'verdict', text: verdict }));
    this.render(true);
  }

  // ---- the event replay ----

  onUpdate(update) {
    if (update.reason === 'crashed') {
      this.queue = [];
      this.wake();
      this.caption = 'Crashed: every in-memory state is gone — the memtable included. Reopening…';
      this.latest = null;
      this.memtable.entries = 0;
      this.frozen = null;
      this.render(true);
      return;
    }
    if (update.reason === 'opening' || update.reason === 'failed') {
      this.render(true);
      return;
    }
    if (!update.stats) return;
    this.latest = update.stats;
    const steps = update.events.filter((e) => STEPS.has(e.type));
    if (steps.length) {
      this.probes.clear();
      if (!this.playing) this.highlights.clear();
      this.queue.push(...steps);
      this.play();
    } else if (!this.playing) {
      if (update.reason !== 'sample' && update.reason !== 'explain') this.probes.clear();
      this.settle();
    } else {
      this.render();
    }
  }

  settle() {
    const s = this.latest;
    if (!s) return;
    for (let i = 0; i < LEVELS; i++) this.levels[i] = (s.levels[i] && s.levels[i].tables) || [];
    this.memtable = { entries: s.memtableEntries, max: s.memtableMaxEntries, bytes: s.memtableBytes };
    this.frozen = s.immutableMemtables > 0 ? { entries: null, bytes: null } : null;
    this.render();
  }

  setStepMode(on) {
    this.stepMode = on;
    this.stepToggle.checked = on;
    if (!on) this.wake();
    this.render(true);
  }

  next() {
    this.wake();
  }

  skip() {
    this.queue = [];
    this.skipping = true;
    this.wake();
  }

  wake() {
    if (this.waiter) {
      const resolve = this.waiter;
      this.waiter = null;
      resolve();
    }
  }

  pause(ms) {
    return new Promise((resolve) => {
      const done = () => {
        if (this.waiter === done) this.waiter = null;
        resolve();
      };
      this.waiter = done;
      setTimeout(done, ms);
    });
  }

  waitForNext() {
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  delay() {
    if (this.skipping) return 0;
    const n = this.queue.length;
    return n > 12 ? 60 : n > 4 ? 250 : 800;
  }

  async play() {
    if (this.playing) return;
    this.playing = true;
    this.skipping = false;
    try {
      while (this.queue.length) {
        if (this.stepMode && !this.skipping) {
          this.caption = `${this.caption} — ${plural(this.queue.length, 'step')} waiting: press “Next step”.`;
          this.render(true);
          await this.waitForNext();
          if (!this.queue.length) break;
        }
        const event = this.queue.shift();
        await this.apply(event);
      }
    } finally {
      this.playing = false;
      this.skipping = false;
      this.settle();
      this.render(true);
    }
  }

  async apply(e) {
    this.stepNumber += 1;
    const text = describeEvent(e);
    switch (e.type) {
      case 'memtableFrozen':
        // First the memtable as it was when it hit its cap, then frozen.
        this.memtable = { ...this.memtable, entries: e.entries, bytes: e.bytes };
        this.caption = `The memtable is full: ${plural(e.entries, 'entry', 'entries')}.`;
        this.render(true);
        await this.pause(this.delay() / 2);
        this.frozen = { entries: e.entries, bytes: e.bytes };
        this.memtable = { ...this.memtable, entries: 0, bytes: 0 };
        this.caption = text;
        this.render(true);
        await this.pause(this.delay());
        break;
      case 'flushed': {
        const outputs = e.report.outputs;
        this.frozen = null;
        this.levels[0] = [...outputs, ...this.levels[0].filter((t) => !outputs.some((o) => o.number === t.number))];
        this.highlights.clear();
        for (const t of outputs) this.highlights.set(t.number, 'is-new');
        this.caption = text;
        this.render(true);
        await this.pause(this.delay());
        break;
      }
      case 'compacted': {
        const r = e.report;
        this.highlights.clear();
        for (const t of r.inputs) this.highlights.set(t.number, 'is-input');
        this.caption = `${text.split(':')[0]}: merging ${tablesText(r.inputs)}…`;
        this.render(true);
        await this.pause(this.delay());
        const inputs = new Set(r.inputs.map((t) => t.number));
        const target = this.levels[r.outputLevel];
        let at = target.findIndex((t) => inputs.has(t.number));
        for (let i = 0; i < LEVELS; i++) this.levels[i] = this.levels[i].filter((t) => !inputs.has(t.number));
        const rest = this.levels[r.outputLevel];
        if (at < 0) at = rest.length;
        at = Math.min(at, rest.length);
        this.levels[r.outputLevel] = [...rest.slice(0, at), ...r.outputs, ...rest.slice(at)];
        this.highlights.clear();
        for (const t of r.outputs) this.highlights.set(t.number, 'is-new');
        this.caption = text;
        this.render(true);
        await this.pause(this.delay());
        break;
      }
      default:
        // Recovery replays the WAL before the store reports itself open: say both.
        this.caption = e.type === 'opened' && this.lastApplied && this.lastApplied.type === 'walReplayed' ? `${text} ${describeEvent(this.lastApplied)}` : text;
        this.render(true);
        await this.pause(Math.min(this.delay(), 500));
    }
    this.lastApplied = e;
  }

  // ---- drawing ----

  render(force = false) {
    const state = this.session.state;
    const signature = JSON.stringify([
      state, this.levels.map((l) => l.map((t) => t.number)), this.memtable, this.frozen, this.caption,
      [...this.highlights], [...this.probes], this.queue.length, this.playing, this.stepMode,
      this.latest && [this.latest.walBytes, this.latest.walFiles, this.latest.lastSeq],
    ]);
    if (!force && signature === this.signature) return;
    this.signature = signature;

    this.stateBadge.textContent = { open: this.playing ? 'replaying' : 'live', opening: 'opening…', crashed: 'crashed', failed: 'not open', closed: 'closed' }[state] || state;
    this.stateBadge.className = `badge badge-${state}`;
    const waiting = this.playing && this.stepMode;
    this.nextButton.disabled = !waiting;
    this.nextButton.textContent = waiting ? `Next step ▸ (${this.queue.length} left)` : 'Next step ▸';
    this.skipButton.disabled = !this.playing;
    this.flushButton.disabled = state !== 'open';
    this.compactButton.disabled = state !== 'open';

    this.captionEl.textContent = state === 'failed' ? `The store could not be opened: ${this.session.openError}` : this.caption;
    this.drawMemtable();
    this.drawFrozen();
    const s = this.latest;
    this.walEl.textContent = s
      ? `WAL: ${plural(s.walFiles, 'file')}, ${fmtBytes(s.walBytes)} · last seq ${fmtNum(s.lastSeq)} · in tables through seq ${fmtNum(s.flushedSeq)}`
      : 'WAL: –';
    this.drawLevels();
  }

  drawMemtable() {
    const { entries, max, bytes } = this.memtable;
    const label = h('div', { class: 'slot-label' }, h('strong', { text: 'Memtable' }), ' ', h('span', { attrs: { 'data-testid': 'memtable-fill' }, text: `${fmtNum(entries)} / ${fmtNum(max)} entries` }), bytes ? ` · ${fmtBytes(bytes)}` : '');
    let slot;
    if (max <= SLOT_CELLS_MAX) {
      slot = h('div', { class: 'slot cells', attrs: { role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': max, 'aria-valuenow': entries, 'aria-label': 'memtable fill' } });
      for (let i = 0; i < max; i++) slot.append(h('span', { class: i < entries ? 'cell full' : 'cell' }));
      if (max > 40) slot.classList.add('dense');
    } else {
      const fill = h('span', { class: 'bar-fill' });
      fill.style.width = `${Math.min(100, (100 * entries) / max)}%`;
      slot = h('div', { class: 'slot bar', attrs: { role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': max, 'aria-valuenow': entries, 'aria-label': 'memtable fill' } }, fill);
    }
    replace(this.memtableEl, label, slot);
  }

  drawFrozen() {
    if (!this.frozen) {
      replace(this.frozenEl);
      this.frozenEl.hidden = true;
      return;
    }
    this.frozenEl.hidden = false;
    const entries = this.frozen.entries === null ? '' : ` · ${plural(this.frozen.entries, 'entry', 'entries')}`;
    replace(this.frozenEl, h('div', { class: 'frozen', attrs: { 'data-testid': 'frozen-memtable' } }, h('strong', { text: 'Frozen memtable' }), entries, ' → flushing to L0'));
  }

  drawLevels() {
    const deepest = this.levels.reduce((d, l, i) => (l.length ? i : d), 0);
    const shownLevels = Math.min(LEVELS, Math.max(3, deepest + 2));
    const rows = [];
    for (let level = 0; level < shownLevels; level++) {
      const tables = this.levels[level];
      const stats = this.latest && this.latest.levels[level];
      // At rest the engine's level totals; while replaying, those of the tables shown.
      const atRest = !this.playing && stats;
      const entries = atRest ? stats.entries : tables.reduce((n, t) => n + t.entries, 0);
      const bytes = atRest ? stats.bytes : tables.reduce((n, t) => n + t.bytes, 0);
      let meta = `${plural(tables.length, 'table')} · ${plural(entries, 'entry', 'entries')} · ${fmtBytes(bytes)}`;
      if (level === 0) meta += ` · compacted above ${plural(this.session.settings.l0CompactionTrigger, 'table')}`;
      else if (stats && stats.targetBytes) meta += ` of ${fmtBytes(stats.targetBytes)} target`;
      const boxes = tables.map((t) => this.tableBox(t, level));
      rows.push(
        h(
          'div',
          { class: 'level', attrs: { 'data-testid': `level-${level}` } },
          h('div', { class: 'level-label' }, h('strong', { text: `L${level}` }), h('span', { class: 'level-meta', text: meta })),
          h('div', { class: 'tables' }, boxes.length ? boxes : h('span', { class: 'empty', text: level === 0 ? 'empty — flushes land here' : 'empty' })),
        ),
      );
    }
    if (shownLevels < LEVELS) rows.push(h('p', { class: 'levels-more', text: `L${shownLevels}–L${LEVELS - 1}: empty` }));
    replace(this.levelsEl, rows);
  }

  tableBox(t, level) {
    const classes = ['sst'];
    const hl = this.highlights.get(t.number);
    if (hl) classes.push(hl);
    const probe = this.probes.get(t.number);
    if (probe) classes.push(probe);
    const title = `Table #${t.number} at L${level}: keys ${keyText(t.smallestKey)} … ${keyText(t.largestKey)}, ${t.entries} entries (${t.tombstones} tombstones), seq ${t.minSeq}–${t.maxSeq}, ${t.bytes} bytes. Click to inspect.`;
    return h(
      'button',
      {
        class: classes.join(' '),
        attrs: { type: 'button', title, 'data-testid': 'sst', 'data-number': t.number, 'data-level': level, 'data-entries': t.entries },
        on: { click: () => this.inspector.open(t.number, level) },
      },
      h('span', { class: 'sst-no', text: `#${t.number}` }),
      h('span', { class: 'sst-range', text: rangeText(t) }),
      h('span', { class: 'sst-count', text: `${plural(t.entries, 'entry', 'entries')}` }),
      t.tombstones ? h('span', { class: 'sst-tomb', text: `${t.tombstones} ✝` }) : null,
    );
  }
}
