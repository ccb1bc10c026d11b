// DOM helpers. Every piece of text reaches the page through text nodes
// (textContent), never through HTML parsing: keys and values are user data,
// and a key like `<img src=x onerror=alert(1)>` must show literally.

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * Creates an element. `props`: `class`, `text`, `attrs` (plain attributes,
 * set with setAttribute — never `on*`), `data` (dataset), `on` (listeners),
 * `props` (element properties such as `value`, `checked`, `disabled`).
 * Children: nodes, strings (become text nodes), arrays, null/false (skipped).
 */
export function h(tag, props = {}, ...children) {
  return build(document.createElement(tag), props, children);
}

/** Like `h`, for SVG elements. */
export function svg(tag, props = {}, ...children) {
  return build(document.createElementNS(SVG_NS, tag), props, children);
}

function build(el, props, children) {
  if (props.class) el.setAttribute('class', props.class);
  if (props.text !== undefined && props.text !== null) el.textContent = String(props.text);
  for (const [name, value] of Object.entries(props.attrs || {})) {
    if (/^on/i.test(name)) throw new Error(`refusing to set event attribute ${name}`);
    if (value === false || value === null || value === undefined) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const [name, value] of Object.entries(props.data || {})) el.dataset[name] = String(value);
  for (const [name, value] of Object.entries(props.props || {})) el[name] = value;
  for (const [type, listener] of Object.entries(props.on || {})) el.addEventListener(type, listener);
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces every child of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// ---- formatting (presentation only; every number comes from the engine) ----

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function hex(bytes, max = 64) {
  let out = '';
  for (let i = 0; i < Math.min(bytes.length, max); i++) out += HEX[bytes[i]];
  return bytes.length > max ? `${out}…` : out;
}

/** A key as text: strings as they are, bytes as `0x…`. */
export function keyText(key) {
  if (key instanceof Uint8Array) return `0x${hex(key)}`;
  return String(key);
}

/** The type of a stored value, as `get` returned it. */
export function valueKind(value) {
  if (value === undefined) return 'absent';
  if (value instanceof Uint8Array) return 'bytes';
  if (typeof value === 'string') return 'text';
  return 'json';
}

/** A value in full, for reading: JSON pretty-printed (also a string holding JSON), bytes as hex. */
export function valueText(value) {
  if (value === undefined) return '';
  if (value instanceof Uint8Array) return `${value.length} bytes: ${hex(value, 4096)}`;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (/^[[{]/.test(trimmed)) {
      try {
        return JSON.stringify(JSON.parse(trimmed), null, 2);
      } catch {
        /* not JSON: shown as it is */
      }
    }
    return value;
  }
  return JSON.stringify(value, null, 2);
}

/** A value on one line, shortened. */
export function valuePreview(value, max = 80) {
  let text;
  if (value === undefined) text = '';
  else if (value instanceof Uint8Array) text = `0x${hex(value, 24)}`;
  else if (typeof value === 'string') text = value;
  else text = JSON.stringify(value);
  text = text.replace(/\s+/g, ' ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function shorten(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function fmtBytes(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  do {
    v /= 1024;
    u++;
  } while (v >= 1024 && u < units.length - 1);
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}

export function fmtNum(n) {
  if (n === null || n === undefined) return '–';
  return Number(n).toLocaleString('en-US');
}

export function fmtRatio(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  return x === 0 ? '0' : x.toFixed(2);
}

export function plural(n, one, many = `${one}s`) {
  return `${fmtNum(n)} ${n === 1 ? one : many}`;
}

/** An error as one line of text: the lsmkv code when there is one. */
export function errorText(error) {
  if (error && typeof error === 'object') {
    const message = error.message || String(error);
    return error.code ? `${message} (${error.code})` : message;
  }
  return String(error);
}

/** An inline message element for a form (role=alert so screen readers hear it). */
export function messageBox() {
  return h('p', { class: 'message', attrs: { role: 'status', 'aria-live': 'polite' } });
}

export function showMessage(box, text, kind = 'error') {
  box.textContent = text;
  box.className = `message ${text ? kind : ''}`;
  box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let uid = 0;
/** A unique id for label/input pairs. */
export function nextId(prefix = 'f') {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A labelled input: returns { field, input }. */
export function field(label, input, hint) {
  const id = input.id || nextId();
  input.id = id;
  return {
    input,
    field: h('div', { class: 'field' }, h('label', { attrs: { for: id }, text: label }), input, hint ? h('small', { class: 'hint', text: hint }) : null),
  };
}

export function checkbox(label, checked = false, attrs = {}) {
  const input = h('input', { attrs: { type: 'checkbox', ...attrs }, props: { checked } });
  return { input, field: h('label', { class: 'check' }, input, ` ${label}`) };
}

/** A definition list of [term, value] pairs; values are text or nodes. */
export function facts(pairs, cls = 'facts') {
  return h('dl', { class: cls }, pairs.filter(Boolean).map(([term, value, testid]) => [
    h('dt', { text: term }),
    h('dd', testid ? { attrs: { 'data-testid': testid } } : {}, value instanceof Node ? value : String(value)),
  ]));
}

/** A table of text cells. `rows`: arrays of strings, or { cls, cells }. */
export function table(headers, rows, testid) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { attrs: testid ? { 'data-testid': testid } : {} },
      h('thead', {}, h('tr', {}, headers.map((text) => h('th', { attrs: { scope: 'col' }, text })))),
      h('tbody', {}, rows.map((row) => {
        const { cls, cells } = Array.isArray(row) ? { cls: '', cells: row } : row;
        return h('tr', { class: cls || null }, cells.map((cell) => h('td', {}, cell)));
      })),
    ),
  );
}
