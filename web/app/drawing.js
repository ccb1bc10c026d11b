// Drawing the LSM picture: DOM for the memtable, the frozen memtable, the
// WAL line, the levels and their table boxes, and an explain-get trace with
// its probes. Each function draws what it is given — the picture decides
// what that is (picture.js), and every number in it is the engine's.

import { h, replace, keyText, shorten, fmtBytes, fmtNum, plural, valuePreview, valueKind } from './dom.js';

/** Above this cap the memtable is a bar, not a row of slots. */
const SLOT_CELLS_MAX = 120;
/** At least this many level rows, even when the deeper ones are empty. */
const LEVEL_ROWS_MIN = 3;

function rangeText(t, max = 18) {
  return `${shorten(keyText(t.smallestKey), max)} … ${shorten(keyText(t.largestKey), max)}`;
}

/** The memtable `{ entries, max, bytes }`: a row of `max` slots, `entries` of them full. */
export function drawMemtable(el, { entries, max, bytes }) {
  const label = h('div', { class: 'slot-label' }, h('strong', { text: 'Memtable' }), ' ', h('span', { attrs: { 'data-testid': 'memtable-fill' }, text: `${fmtNum(entries)} / ${fmtNum(max)} entries` }), bytes ? ` · ${fmtBytes(bytes)}` : '');
  const meter = { role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': max, 'aria-valuenow': entries, 'aria-label': 'memtable fill' };
  let slot;
  if (max <= SLOT_CELLS_MAX) {
    slot = h('div', { class: 'slot cells', attrs: meter });
    for (let i = 0; i < max; i++) slot.append(h('span', { class: i < entries ? 'cell full' : 'cell' }));
    if (max > 40) slot.classList.add('dense');
  } else {
    const fill = h('span', { class: 'bar-fill' });
    fill.style.width = `${Math.min(100, (100 * entries) / max)}%`;
    slot = h('div', { class: 'slot bar', attrs: meter }, fill);
  }
  replace(el, label, slot);
}

/** The frozen memtable being flushed (`{ entries }`, entries null when unknown), or nothing. */
export function drawFrozen(el, frozen) {
  if (!frozen) {
    replace(el);
    el.hidden = true;
    return;
  }
  el.hidden = false;
  const entries = frozen.entries === null ? '' : ` · ${plural(frozen.entries, 'entry', 'entries')}`;
  replace(el, h('div', { class: 'frozen', attrs: { 'data-testid': 'frozen-memtable' } }, h('strong', { text: 'Frozen memtable' }), entries, ' → flushing to L0'));
}

/** The WAL line, from `stats()` (or null). */
export function drawWal(el, stats) {
  el.textContent = stats
    ? `WAL: ${plural(stats.walFiles, 'file')}, ${fmtBytes(stats.walBytes)} · last seq ${fmtNum(stats.lastSeq)} · in tables through seq ${fmtNum(stats.flushedSeq)}`
    : 'WAL: –';
}

/**
 * The levels: `rows[level]` is that level's tables (summaries, or a bare
 * `{ number }` for a table the page has no summary of). `levelStats` is
 * `stats().levels` (or null): its totals are shown when `atRest`, else the
 * totals of the tables drawn. `marks(number)` gives a table box's extra
 * classes (highlights, probes); `open(number, level)` inspects a table.
 */
export function drawLevels(el, { rows, levelStats, atRest, l0Trigger, marks, open }) {
  if (!rows.length) {
    replace(el, h('p', { class: 'levels-more', text: 'Levels: –' }));
    return;
  }
  const deepest = rows.reduce((d, l, i) => (l.length ? i : d), 0);
  const shown = Math.min(rows.length, Math.max(LEVEL_ROWS_MIN, deepest + 2));
  const out = [];
  for (let level = 0; level < shown; level++) {
    const tables = rows[level];
    const stats = levelStats && levelStats[level];
    out.push(
      h(
        'div',
        { class: 'level', attrs: { 'data-testid': `level-${level}` } },
        h('div', { class: 'level-label' }, h('strong', { text: `L${level}` }), h('span', { class: 'level-meta', text: levelMeta(level, tables, atRest && stats, stats, l0Trigger) })),
        h('div', { class: 'tables' }, tables.length ? tables.map((t) => tableBox(t, level, marks(t.number), open)) : h('span', { class: 'empty', text: level === 0 ? 'empty — flushes land here' : 'empty' })),
      ),
    );
  }
  if (shown < rows.length) out.push(h('p', { class: 'levels-more', text: `L${shown}–L${rows.length - 1}: empty` }));
  replace(el, out);
}

/** "3 tables · 90 entries · 4.1 KiB" and the level's limit: the engine's totals when given (`totals`), else those of `tables`. */
function levelMeta(level, tables, totals, stats, l0Trigger) {
  const summed = tables.every((t) => t.entries !== undefined);
  const entries = totals ? plural(totals.entries, 'entry', 'entries') : summed ? plural(tables.reduce((n, t) => n + t.entries, 0), 'entry', 'entries') : 'entries unknown';
  const bytes = totals ? fmtBytes(totals.bytes) : summed ? fmtBytes(tables.reduce((n, t) => n + t.bytes, 0)) : '–';
  let meta = `${plural(tables.length, 'table')} · ${entries} · ${bytes}`;
  if (level === 0 && l0Trigger) meta += ` · compacted above ${plural(l0Trigger, 'table')}`;
  else if (stats && stats.targetBytes) meta += ` of ${fmtBytes(stats.targetBytes)} target`;
  return meta;
}

/** One SSTable: its number, key range and entry count (tombstones too); a bare number when no summary is known. */
function tableBox(t, level, extra, open) {
  const known = t.entries !== undefined;
  const title = known
    ? `Table #${t.number} at L${level}: keys ${keyText(t.smallestKey)} … ${keyText(t.largestKey)}, ${t.entries} entries (${t.tombstones} tombstones), seq ${t.minSeq}–${t.maxSeq}, ${t.bytes} bytes. Click to inspect.`
    : `Table #${t.number} at L${level}. Click to inspect.`;
  return h(
    'button',
    {
      class: ['sst', ...extra].join(' '),
      attrs: { type: 'button', title, 'data-testid': 'sst', 'data-number': t.number, 'data-level': level, 'data-entries': known ? t.entries : null },
      on: { click: () => open(t.number, level) },
    },
    h('span', { class: 'sst-no', text: `#${t.number}` }),
    known ? h('span', { class: 'sst-range', text: rangeText(t) }) : null,
    known ? h('span', { class: 'sst-count', text: `${plural(t.entries, 'entry', 'entries')}` }) : null,
    t.tombstones ? h('span', { class: 'sst-tomb', text: `${t.tombstones} ✝` }) : null,
  );
}

/** One probe of an explain-get trace: its words and its class (found, miss, range, bloom). */
function probeView(p) {
  switch (p.kind) {
    case 'memtable':
      return { text: `memtable: ${p.found ? 'found' : 'not there'}`, cls: p.found ? 'found' : 'miss' };
    case 'frozenMemtable':
      return { text: `frozen memtable: ${p.found ? 'found' : 'not there'}`, cls: p.found ? 'found' : 'miss' };
    case 'outOfRange':
      return { text: `L${p.level} table #${p.table}: key outside its range — skipped without reading`, cls: 'range' };
    case 'bloomNegative':
      return { text: `L${p.level} table #${p.table}: bloom filter says absent — skipped`, cls: 'bloom' };
    case 'searched':
      return { text: `L${p.level} table #${p.table}: bloom filter says maybe — searched its block: ${p.found ? 'found' : 'not there (a false positive)'}`, cls: p.found ? 'found' : 'miss' };
    default:
      return { text: JSON.stringify(p), cls: 'miss' };
  }
}

/**
 * The read path of a get for `key` (`explainGet`'s trace): each probe in
 * order, then what decided the answer. Returns the probed tables' classes
 * (table number → `probe-…`), for outlining them in the levels.
 */
export function drawTrace(out, key, trace) {
  const probes = new Map();
  const items = trace.probes.map((p, i) => {
    const { text, cls } = probeView(p);
    if (p.table !== undefined) probes.set(p.table, `probe-${cls}`);
    return h('li', { class: `probe probe-${cls}`, data: { step: i + 1 } }, text);
  });
  let verdict;
  if (!trace.decidedBy) verdict = 'Result: not found anywhere — the key was never written (or its tombstone was compacted away).';
  else if (trace.decidedBy.tombstone) verdict = `Result: deleted — a tombstone with seq ${fmtNum(trace.decidedBy.seq)} decides it; older versions below are not read.`;
  else verdict = `Result: found, seq ${fmtNum(trace.decidedBy.seq)} (${valueKind(trace.value)}): ${valuePreview(trace.value, 120)}`;
  replace(out, h('p', { class: 'trace-key' }, 'get ', h('code', { text: key })), h('ol', {}, items.length ? items : h('li', { text: 'no probe' })), h('p', { class: 'verdict', text: verdict }));
  return probes;
}
