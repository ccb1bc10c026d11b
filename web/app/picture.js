// The LSM picture: the memtable filling to its cap, the frozen memtable
// being flushed, the WAL, and the levels as rows of SSTables. At rest it
// shows exactly what `stats()` reports. When the engine reports flushes and
// compactions (its event feed), the picture replays them one at a time
// (replay.js) — inputs highlighted, then the engine's own levels after the
// step (`levelsAfter`, levels.js) with its outputs marked — captioned in the
// engine's numbers (narration.js), drawn by drawing.js; then it settles on
// `stats()` again. In step mode each replayed event waits for "Next step".

import { h, plural, errorText, messageBox, showMessage } from './dom.js';
import { describeEvent, tablesText } from './narration.js';
import { Replay } from './replay.js';
import { Levels } from './levels.js';
import { ExplainGet } from './explain.js';
import { drawMemtable, drawFrozen, drawWal, drawLevels } from './drawing.js';

/** Events the picture replays as steps. */
const STEPS = new Set(['memtableFrozen', 'flushed', 'compacted', 'walReplayed', 'walTailTruncated', 'wentReadOnly', 'opened', 'storageNotice']);

export class Picture {
  constructor(session, inspector) {
    this.session = session;
    this.inspector = inspector;
    this.levels = new Levels();
    this.memtable = { entries: 0, max: 30, bytes: 0 };
    this.frozen = null;
    this.highlights = new Map(); // table number → class
    this.probes = new Map(); // table number → probe class (explain get)
    this.latest = null;
    this.signature = '';
    this.caption = 'Waiting for the engine…';
    this.lastShown = null; // the event replayed last
    this.replay = new Replay({
      show: (event) => this.show(event),
      waiting: (count) => {
        this.caption = `${this.caption} — ${plural(count, 'step')} waiting: press “Next step”.`;
        this.render(true);
      },
      done: () => {
        this.settle();
        this.render(true);
      },
    });
    this.explain = new ExplainGet(session, (probes) => {
      this.probes = probes;
      this.render(true);
    });
    this.build();
    session.subscribe((update) => this.onUpdate(update));
  }

  build() {
    this.flushButton = h('button', { attrs: { type: 'button', 'data-testid': 'picture-flush' }, text: 'Flush memtable', on: { click: () => this.engineStep('flush') } });
    this.compactButton = h('button', { attrs: { type: 'button', 'data-testid': 'picture-compact-step' }, text: 'Compaction step', on: { click: () => this.engineStep('compactStep') } });
    this.stepToggle = h('input', { attrs: { type: 'checkbox', 'data-testid': 'step-mode' }, on: { change: () => this.setStepMode(this.stepToggle.checked) } });
    this.nextButton = h('button', { class: 'primary', attrs: { type: 'button', 'data-testid': 'step-next', disabled: true }, text: 'Next step ▸', on: { click: () => this.replay.next() } });
    this.skipButton = h('button', { attrs: { type: 'button', 'data-testid': 'step-skip', disabled: true }, text: 'Skip to now', on: { click: () => this.replay.skip() } });
    this.message = messageBox();
    this.stateBadge = h('span', { class: 'badge', attrs: { 'data-testid': 'picture-state' } });
    this.captionEl = h('p', { class: 'caption', attrs: { 'aria-live': 'polite', 'data-testid': 'picture-caption' } });
    this.memtableEl = h('div', { class: 'memtable', attrs: { 'data-testid': 'memtable' } });
    this.frozenEl = h('div', { class: 'frozen-slot' });
    this.walEl = h('p', { class: 'wal', attrs: { 'data-testid': 'wal' } });
    this.levelsEl = h('div', { class: 'levels', attrs: { 'data-testid': 'levels' } });
    this.el = h(
      'aside',
      { class: 'picture', attrs: { 'aria-label': 'The LSM tree, live' } },
      h('div', { class: 'picture-head' }, h('h2', { text: 'The LSM tree' }), this.stateBadge),
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
  }

  /** Shows the read path of a get for `key` (the views' "Explain get"). */
  explainKey(key) {
    return this.explain.explainKey(key);
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

  // ---- what the session reports ----

  onUpdate(update) {
    if (update.reason === 'crashed') {
      this.replay.clear();
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
    this.levels.learnFrom(update.stats, steps);
    if (steps.length) {
      this.probes.clear();
      if (!this.replay.playing) this.highlights.clear();
      this.replay.add(steps);
    } else if (!this.replay.playing) {
      if (update.reason !== 'sample' && update.reason !== 'explain') this.probes.clear();
      this.settle();
    } else {
      this.render();
    }
  }

  /** The picture at rest: exactly the latest `stats()`. */
  settle() {
    const s = this.latest;
    if (!s) return;
    this.levels.settle(s);
    this.memtable = { entries: s.memtableEntries, max: s.memtableMaxEntries, bytes: s.memtableBytes };
    this.frozen = s.immutableMemtables > 0 ? { entries: null, bytes: null } : null;
    this.render();
  }

  setStepMode(on) {
    this.replay.setStepMode(on);
    this.stepToggle.checked = on;
    this.render(true);
  }

  // ---- one replayed event ----

  /** Draws a frame with `caption`, then holds it for `ms`. */
  async frame(caption, ms) {
    this.caption = caption;
    this.render(true);
    await this.replay.pause(ms);
  }

  /** Marks `tables` with `cls` (and nothing else). */
  highlight(tables, cls) {
    this.highlights.clear();
    for (const t of tables) this.highlights.set(t.number, cls);
  }

  async show(e) {
    const text = describeEvent(e);
    const replay = this.replay;
    switch (e.type) {
      case 'memtableFrozen':
        // First the memtable as it was when it hit its cap, then frozen.
        this.memtable = { ...this.memtable, entries: e.entries, bytes: e.bytes };
        await this.frame(`The memtable is full: ${plural(e.entries, 'entry', 'entries')}.`, replay.delay() / 2);
        this.frozen = { entries: e.entries, bytes: e.bytes };
        this.memtable = { ...this.memtable, entries: 0, bytes: 0 };
        await this.frame(text, replay.delay());
        break;
      case 'flushed':
        this.frozen = null;
        this.levels.after(e.report);
        this.highlight(e.report.outputs, 'is-new');
        await this.frame(text, replay.delay());
        break;
      case 'compacted':
        this.highlight(e.report.inputs, 'is-input');
        await this.frame(`${text.split(':')[0]}: merging ${tablesText(e.report.inputs)}…`, replay.delay());
        this.levels.after(e.report);
        this.highlight(e.report.outputs, 'is-new');
        await this.frame(text, replay.delay());
        break;
      default:
        // Recovery replays the WAL before the store reports itself open: say both.
        await this.frame(e.type === 'opened' && this.lastShown && this.lastShown.type === 'walReplayed' ? `${text} ${describeEvent(this.lastShown)}` : text, Math.min(replay.delay(), 500));
    }
    this.lastShown = e;
  }

  // ---- drawing ----

  render(force = false) {
    const state = this.session.state;
    const replay = this.replay;
    const signature = JSON.stringify([
      state, this.levels.numbers(), this.memtable, this.frozen, this.caption,
      [...this.highlights], [...this.probes], replay.queue.length, replay.playing, replay.stepMode,
      this.latest && [this.latest.walBytes, this.latest.walFiles, this.latest.lastSeq],
    ]);
    if (!force && signature === this.signature) return;
    this.signature = signature;

    this.stateBadge.textContent = { open: replay.playing ? 'replaying' : 'live', opening: 'opening…', crashed: 'crashed', failed: 'not open', closed: 'closed' }[state] || state;
    this.stateBadge.className = `badge badge-${state}`;
    const waiting = replay.waitsForNext;
    this.nextButton.disabled = !waiting;
    this.nextButton.textContent = waiting ? `Next step ▸ (${replay.queue.length} left)` : 'Next step ▸';
    this.skipButton.disabled = !replay.playing;
    this.flushButton.disabled = state !== 'open';
    this.compactButton.disabled = state !== 'open';

    this.captionEl.textContent = state === 'failed' ? `The store could not be opened: ${this.session.openError}` : this.caption;
    drawMemtable(this.memtableEl, this.memtable);
    drawFrozen(this.frozenEl, this.frozen);
    drawWal(this.walEl, this.latest);
    drawLevels(this.levelsEl, {
      rows: this.levels.rows,
      levelStats: this.latest && this.latest.levels,
      atRest: !replay.playing,
      l0Trigger: this.latest && this.latest.l0CompactionTrigger,
      marks: (number) => [this.highlights.get(number), this.probes.get(number)].filter(Boolean),
      open: (number, level) => this.inspector.open(number, level),
    });
  }
}
