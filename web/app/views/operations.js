// Operations: every call of the store API as a form — put, get, delete,
// batch put, range query — and the engine's maintenance calls: flush,
// compact, one compaction step. Each shows what the engine returned.

import { h, replace, keyText, valueText, valuePreview, valueKind, errorText, messageBox, showMessage, field, checkbox, fmtNum, plural, table } from '../dom.js';
import { describeEvent } from '../narration.js';
import { parseValue, parseBatch } from '../parse.js';

function card(title, testid, ...body) {
  return h('section', { class: 'card op', attrs: { 'data-testid': testid, 'aria-label': title } }, h('h2', { text: title }), ...body);
}

function asSelect(id) {
  const select = h('select', { attrs: { id } }, h('option', { attrs: { value: 'text' }, text: 'text' }), h('option', { attrs: { value: 'json' }, text: 'JSON' }));
  return select;
}

export class Operations {
  /** `explainKey(key)`: shows the read path of a get for `key` in the picture. */
  constructor(session, explainKey) {
    this.session = session;
    this.explainKey = explainKey;
    this.title = 'Operations';
    this.el = h(
      'section',
      { class: 'view', attrs: { 'aria-labelledby': 'ops-title' } },
      h('h1', { attrs: { id: 'ops-title' }, text: 'Operations' }),
      h('p', { class: 'lede', text: 'Call the engine directly. Watch the picture: every put lands in the memtable; at its cap the memtable is frozen and flushed to an L0 table.' }),
      h('div', { class: 'ops-grid' }, this.putCard(), this.getCard(), this.deleteCard(), this.batchCard(), this.rangeCard(), this.maintenanceCard()),
    );
  }

  shown() {}

  keyInput(testid) {
    return h('input', { attrs: { type: 'text', autocomplete: 'off', spellcheck: 'false', 'data-testid': testid } });
  }

  /** Checks a key typed in a form; returns an error message or ''. */
  keyError(key) {
    if (key === '') return 'Type a key: keys must not be empty.';
    return '';
  }

  putCard() {
    const key = field('Key', this.keyInput('put-key'));
    const value = field('Value', h('textarea', { attrs: { rows: 2, spellcheck: 'false', 'data-testid': 'put-value' } }), 'Enter puts; Shift+Enter for a new line.');
    const as = asSelect('put-as');
    const message = messageBox();
    const form = h('form', { attrs: { 'data-testid': 'put-form', novalidate: true } }, key.field, value.field,
      h('div', { class: 'row' }, h('label', { attrs: { for: 'put-as' }, text: 'Store as' }), as, h('button', { class: 'primary', attrs: { type: 'submit', 'data-testid': 'put-submit' }, text: 'Put' })),
      message);
    value.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const k = key.input.value;
      const err = this.keyError(k);
      if (err) return showMessage(message, err);
      const parsed = parseValue(value.input.value, as.value);
      if (parsed.error) return showMessage(message, parsed.error);
      try {
        await this.session.run((store) => store.put(k, parsed.value), 'put');
        const s = this.session.stats;
        showMessage(message, `Put ${k} — seq ${fmtNum(s.lastSeq)}; memtable ${fmtNum(s.memtableEntries)}/${fmtNum(s.memtableMaxEntries)}.`, 'ok');
      } catch (error) {
        showMessage(message, errorText(error));
      }
    });
    return card('Put', 'op-put', form);
  }

  getCard() {
    const key = field('Key', this.keyInput('get-key'));
    const message = messageBox();
    const out = h('div', { class: 'result', attrs: { 'data-testid': 'get-result' } });
    const form = h('form', { attrs: { novalidate: true } }, key.field, h('div', { class: 'row' },
      h('button', { class: 'primary', attrs: { type: 'submit', 'data-testid': 'get-submit' }, text: 'Get' }),
      h('button', { attrs: { type: 'button', 'data-testid': 'get-explain' }, text: 'Explain in the picture', on: { click: () => {
        const k = key.input.value;
        const err = this.keyError(k);
        if (err) return showMessage(message, err);
        showMessage(message, '');
        this.explainKey(k);
      } } })), message, out);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const k = key.input.value;
      const err = this.keyError(k);
      if (err) return showMessage(message, err);
      showMessage(message, '');
      try {
        const value = await this.session.run((store) => store.get(k), 'get');
        replace(out, value === undefined
          ? h('p', { text: 'Not found.' })
          : [h('p', { text: `Found (${valueKind(value)}):` }), h('pre', { class: 'value-view', text: valueText(value) })]);
      } catch (error) {
        showMessage(message, errorText(error));
      }
    });
    return card('Get', 'op-get', form);
  }

  deleteCard() {
    const key = field('Key', this.keyInput('delete-key'));
    const message = messageBox();
    const form = h('form', { attrs: { novalidate: true } }, key.field, h('button', { class: 'danger', attrs: { type: 'submit', 'data-testid': 'delete-submit' }, text: 'Delete' }), message,
      h('p', { class: 'hint', text: 'A delete writes a tombstone; compaction drops it once no older version can exist below.' }));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const k = key.input.value;
      const err = this.keyError(k);
      if (err) return showMessage(message, err);
      try {
        await this.session.run((store) => store.delete(k), 'delete');
        showMessage(message, `Tombstone for ${k} written at seq ${fmtNum(this.session.stats.lastSeq)}.`, 'ok');
      } catch (error) {
        showMessage(message, errorText(error));
      }
    });
    return card('Delete', 'op-delete', form);
  }

  batchCard() {
    const text = field('Entries', h('textarea', { attrs: { rows: 5, spellcheck: 'false', 'data-testid': 'batch-text', placeholder: '{"fruit:apple": "red", "fruit:kiwi": {"color": "green"}}\n— or —\nfruit:apple=red\nfruit:kiwi=green' } }), 'A JSON object (values stored as JSON) or one key=value per line (values stored as text). Applied atomically.');
    const message = messageBox();
    const form = h('form', { attrs: { novalidate: true } }, text.field, h('button', { class: 'primary', attrs: { type: 'submit', 'data-testid': 'batch-submit' }, text: 'Batch put' }), message);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const parsed = parseBatch(text.input.value);
      if (parsed.error) return showMessage(message, parsed.error);
      try {
        const before = this.session.stats ? this.session.stats.lastSeq : 0;
        await this.session.run((store) => store.batchPut(parsed.entries), 'batch');
        showMessage(message, `Put ${plural(parsed.entries.length, 'entry', 'entries')} atomically (seq ${fmtNum(before + 1)}–${fmtNum(this.session.stats.lastSeq)}).`, 'ok');
      } catch (error) {
        showMessage(message, errorText(error));
      }
    });
    return card('Batch put', 'op-batch', form);
  }

  rangeCard() {
    const start = field('Start', this.keyInput('range-start'), 'empty: from the first key');
    const end = field('End', this.keyInput('range-end'), 'empty: to the last key');
    const startInc = checkbox('start inclusive', true, { 'data-testid': 'range-start-inclusive' });
    const endInc = checkbox('end inclusive', false, { 'data-testid': 'range-end-inclusive' });
    const reverse = checkbox('reverse', false, { 'data-testid': 'range-reverse' });
    const limit = field('Limit', h('input', { attrs: { type: 'number', min: 0, step: 1, value: 50, 'data-testid': 'range-limit' } }), 'empty: no limit');
    const message = messageBox();
    const out = h('div', { class: 'result', attrs: { 'data-testid': 'range-result' } });
    const form = h('form', { attrs: { novalidate: true } }, h('div', { class: 'row2' }, start.field, end.field), h('div', { class: 'row' }, startInc.field, endInc.field, reverse.field), limit.field,
      h('button', { class: 'primary', attrs: { type: 'submit', 'data-testid': 'range-submit' }, text: 'Query range' }), message, out);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const options = {};
      const s = start.input.value;
      const en = end.input.value;
      if (s !== '') options[startInc.input.checked ? 'gte' : 'gt'] = s;
      if (en !== '') options[endInc.input.checked ? 'lte' : 'lt'] = en;
      if (reverse.input.checked) options.reverse = true;
      const l = limit.input.value.trim();
      if (l !== '') {
        const n = Number(l);
        if (!Number.isInteger(n) || n < 0) return showMessage(message, 'The limit must be a whole number, 0 or more (or empty for no limit).');
        options.limit = n;
      }
      try {
        const rows = await this.session.run((store) => store.range(options), 'range');
        showMessage(message, `${plural(rows.length, 'entry', 'entries')}${options.limit !== undefined && rows.length === options.limit ? ' (limit reached)' : ''}.`, 'ok');
        replace(out, rows.length ? table(['Key', 'Value'], rows.map(([k, v]) => [keyText(k), valuePreview(v, 60)]), 'range-table') : null);
      } catch (error) {
        showMessage(message, errorText(error));
      }
    });
    return card('Range query', 'op-range', form);
  }

  maintenanceCard() {
    const message = messageBox();
    const out = h('div', { class: 'result', attrs: { 'data-testid': 'maintenance-result' } });
    const act = (label, testid, call, describe) => h('button', { attrs: { type: 'button', 'data-testid': testid }, text: label, on: { click: async () => {
      showMessage(message, '');
      try {
        const before = this.session.feed.mark();
        const result = await this.session.run(call, testid);
        const events = this.session.feed.since(before).filter((e) => e.type === 'flushed' || e.type === 'compacted');
        showMessage(message, describe(result), 'ok');
        replace(out, events.length ? h('ol', { class: 'reports' }, events.map((e) => h('li', { text: describeEvent(e) }))) : null);
      } catch (error) {
        showMessage(message, errorText(error));
      }
    } } });
    return card('Flush & compaction', 'op-maintenance',
      h('div', { class: 'row' },
        act('Flush', 'op-flush', (s) => s.flush(), (r) => (r ? `Flushed ${plural(r.memtableEntries, 'entry', 'entries')} into ${plural(r.outputs.length, 'L0 table')}.` : 'The memtable is empty: nothing to flush.')),
        act('Compaction step', 'op-compact-step', (s) => s.compactStep(), (r) => (r ? `One compaction ran into L${r.outputLevel}.` : 'No compaction is needed now.')),
        act('Compact everything', 'op-compact', (s) => s.compact(), (r) => `Ran ${plural(r.length, 'compaction')}: flushed, then merged every table into one sorted run.`)),
      message, out,
      h('p', { class: 'hint', text: 'Compaction step runs the one compaction the engine would pick next (L0 over its trigger, or a level over its target). Compact everything flushes and merges all levels into the last one, dropping overwritten versions and tombstones.' }));
  }
}

