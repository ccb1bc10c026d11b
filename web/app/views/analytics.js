// Analytics: the engine's counters over time, drawn as SVG line charts by
// the page itself, from history.js's samples (every second and after every
// operation); rates are differences of the engine's cumulative counters
// between samples.

import { h, svg, replace, fmtNum, fmtBytes } from '../dom.js';

const WIDTH = 560;
const HEIGHT = 150;
const PAD = { left: 46, right: 10, top: 10, bottom: 22 };
const COLORS = ['#2b6cb0', '#c05621', '#2f855a', '#9b2c2c', '#6b46c1', '#b7791f', '#4a5568'];

/** A multi-series line chart. `series`: [{ name, points: [[t, y|null], ...] }]. */
function lineChart({ title, series, format = (v) => fmtNum(Math.round(v * 100) / 100), t0, t1, testid, note }) {
  const values = series.flatMap((s) => s.points.map((p) => p[1])).filter((v) => v !== null && Number.isFinite(v));
  let max = values.length ? Math.max(...values) : 1;
  if (max <= 0) max = 1;
  const nice = niceMax(max);
  const x = (t) => PAD.left + ((t - t0) / Math.max(1, t1 - t0)) * (WIDTH - PAD.left - PAD.right);
  const y = (v) => HEIGHT - PAD.bottom - (v / nice) * (HEIGHT - PAD.top - PAD.bottom);
  const grid = [];
  for (let i = 0; i <= 4; i++) {
    const v = (nice * i) / 4;
    grid.push(svg('line', { class: 'grid', attrs: { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(v), y2: y(v) } }));
    grid.push(svg('text', { class: 'axis', attrs: { x: PAD.left - 4, y: y(v) + 3, 'text-anchor': 'end' }, text: format(v) }));
  }
  const span = Math.round((t1 - t0) / 1000);
  grid.push(svg('text', { class: 'axis', attrs: { x: PAD.left, y: HEIGHT - 6 }, text: `${span}s ago` }));
  grid.push(svg('text', { class: 'axis', attrs: { x: WIDTH - PAD.right, y: HEIGHT - 6, 'text-anchor': 'end' }, text: 'now' }));
  const lines = series.map((s, i) => {
    // Break the line where a value is missing.
    const parts = [];
    let current = [];
    for (const [t, v] of s.points) {
      if (v === null || !Number.isFinite(v)) {
        if (current.length) parts.push(current);
        current = [];
      } else current.push(`${x(t).toFixed(1)},${y(v).toFixed(1)}`);
    }
    if (current.length) parts.push(current);
    const color = COLORS[i % COLORS.length];
    return parts.map((p) => (p.length === 1
      ? svg('circle', { attrs: { cx: p[0].split(',')[0], cy: p[0].split(',')[1], r: 2.5, fill: color } })
      : svg('polyline', { attrs: { points: p.join(' '), fill: 'none', stroke: color, 'stroke-width': 2, 'stroke-linejoin': 'round' } })));
  });
  const latest = series.map((s, i) => {
    const last = [...s.points].reverse().find((p) => p[1] !== null && Number.isFinite(p[1]));
    const swatch = svg('svg', { class: 'swatch', attrs: { viewBox: '0 0 10 10', width: 10, height: 10, 'aria-hidden': 'true' } }, svg('rect', { attrs: { width: 10, height: 10, fill: COLORS[i % COLORS.length] } }));
    return h('li', {}, swatch, ` ${s.name}: `, h('strong', { text: last ? format(last[1]) : '–' }));
  });
  return h(
    'figure',
    { class: 'chart card', attrs: { 'data-testid': testid } },
    h('figcaption', {}, h('h2', { text: title }), h('ul', { class: 'legend' }, latest)),
    svg('svg', { attrs: { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': title } }, grid, lines),
    note ? h('p', { class: 'hint', text: note }) : null,
  );
}

function niceMax(max) {
  const exp = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * exp >= max) return m * exp;
  return 10 * exp;
}

export class Analytics {
  constructor(history) {
    this.history = history;
    this.title = 'Analytics';
    this.window = 300;
    const windowSelect = h('select', { attrs: { id: 'analytics-window' }, on: { change: () => { this.window = Number(windowSelect.value); this.draw(); } } },
      [[60, 'last minute'], [300, 'last 5 minutes'], [600, 'last 10 minutes']].map(([v, t]) => h('option', { attrs: { value: v, selected: v === 300 }, text: t })));
    this.charts = h('div', { class: 'charts' });
    this.el = h(
      'section',
      { class: 'view', attrs: { 'aria-labelledby': 'analytics-title' } },
      h('h1', { attrs: { id: 'analytics-title' }, text: 'Analytics' }),
      h('p', { class: 'lede', text: 'The engine’s counters over time, sampled every second while the page is visible. Run a demo to see them move.' }),
      h('div', { class: 'row' }, h('label', { attrs: { for: 'analytics-window' }, text: 'Show' }), windowSelect),
      this.charts,
    );
    history.subscribe(() => {
      if (this.visible) this.draw();
    });
  }

  shown() {
    this.draw();
  }

  draw() {
    const now = Date.now();
    const t0 = now - this.window * 1000;
    const all = this.history.points;
    const points = all.filter((p) => p.t >= t0 - 1000);
    if (points.length < 2) {
      replace(this.charts, h('p', { text: 'Collecting samples…' }));
      return;
    }
    const rate = (field) => points.map((p, i) => {
      const prev = points[i - 1];
      if (!prev || prev.epoch !== p.epoch) return [p.t, null];
      const dt = (p.t - prev.t) / 1000;
      return [p.t, dt > 0 ? Math.max(0, p[field] - prev[field]) / dt : null];
    });
    const probedPerGet = points.map((p, i) => {
      const prev = points[i - 1];
      if (!prev || prev.epoch !== p.epoch) return [p.t, null];
      const gets = p.gets - prev.gets;
      return [p.t, gets > 0 ? (p.tablesProbed - prev.tablesProbed) / gets : null];
    });
    const levelCount = Math.max(...points.map((p) => p.levels.length));
    const used = [];
    for (let l = 0; l < levelCount; l++) if (points.some((p) => p.levels[l] && p.levels[l].tables > 0)) used.push(l);
    if (!used.length) used.push(0);
    const perLevel = (field) => used.map((l) => ({ name: `L${l}`, points: points.map((p) => [p.t, p.levels[l] ? p.levels[l][field] : 0]) }));
    const ratio = (v) => `${(Math.round(v * 100) / 100).toFixed(2)}`;
    replace(
      this.charts,
      lineChart({ title: 'Operations per second', testid: 'chart-ops', t0, t1: now, series: [
        { name: 'writes/s', points: rate('lastSeq') },
        { name: 'gets/s', points: rate('gets') },
      ], note: 'Writes: growth of the last sequence number (one per put or delete, batches included). Gets: the engine’s get counter.' }),
      lineChart({ title: 'Write amplification', testid: 'chart-wamp', t0, t1: now, format: ratio, series: [
        { name: 'bytes stored / bytes written', points: points.map((p) => [p.t, p.writeAmplification]) },
      ], note: 'Everything the engine appended (WAL, tables, manifest) over the key and value bytes handed to it, since the store was opened.' }),
      lineChart({ title: 'Space amplification', testid: 'chart-samp', t0, t1: now, format: ratio, series: [
        { name: 'stored / live bytes', points: points.map((p) => [p.t, p.spaceAmplification]) },
      ], note: 'Bytes in tables and WAL over the bytes of live keys and values (measured every 3 s: it scans everything). Compaction brings it down.' }),
      lineChart({ title: 'Tables per level', testid: 'chart-tables', t0, t1: now, series: perLevel('tables') }),
      lineChart({ title: 'Bytes per level', testid: 'chart-bytes', t0, t1: now, format: (v) => fmtBytes(Math.round(v)), series: perLevel('bytes') }),
      lineChart({ title: 'Tables probed per get', testid: 'chart-probes', t0, t1: now, format: ratio, series: [
        { name: 'in the interval', points: probedPerGet },
        { name: 'since open', points: points.map((p) => [p.t, p.readAmplification]) },
      ], note: 'Tables whose blocks a get had to read — the bloom filter lets it skip the others.' }),
    );
  }
}
