// Data Browser: every live key, paginated; search by prefix (a range scan
// the engine does) and by substring (a filter over the keys it returns);
// view a value (JSON pretty-printed), edit it, delete it.

import { h, replace, keyText, valueText, valuePreview, valueKind, errorText, messageBox, showMessage, field, fmtNum, plural } from '../dom.js';
import { parseValue } from '../parse.js';

const PAGE_SIZE = 20;

export class DataBrowser {
  /** `explainKey(key)`: shows the read path of a get for `key` in the picture. */
  constructor(session, explainKey) {
    this.session = session;
    this.explainKey = explainKey;
    this.title = 'Data Browser';
    this.entries = [];
    this.page = 0;
    this.selected = null;

    this.prefix = field('Key prefix', h('input', { attrs: { type: 'search', autocomplete: 'off', 'data-testid': 'browse-prefix', placeholder: 'e.g. user:' } }));
    this.substring = field('Key contains', h('input', { attrs: { type: 'search', autocomplete: 'off', 'data-testid': 'browse-substring', placeholder: 'any part of the key' } }));
    this.message = messageBox();
    this.summary = h('p', { class: 'summary', attrs: { 'data-testid': 'browse-summary', 'aria-live': 'polite' } });
    this.rows = h('tbody', { attrs: { 'data-testid': 'browse-rows' } });
    this.prev = h('button', { attrs: { type: 'button' }, text: '◂ Previous', on: { click: () => this.goto(this.page - 1) } });
    this.next = h('button', { attrs: { type: 'button', 'data-testid': 'browse-next' }, text: 'Next ▸', on: { click: () => this.goto(this.page + 1) } });
    this.pageLabel = h('span', { class: 'page-label' });
    this.detail = h('section', { class: 'detail', attrs: { 'aria-label': 'Selected entry', 'data-testid': 'browse-detail' } });

    const form = h(
      'form',
      { class: 'inline-form', attrs: { role: 'search' }, on: { submit: (e) => { e.preventDefault(); this.page = 0; this.load(); } } },
      this.prefix.field,
      this.substring.field,
      h('button', { attrs: { type: 'submit', 'data-testid': 'browse-search' }, text: 'Search' }),
      h('button', { attrs: { type: 'button' }, text: 'Clear', on: { click: () => { this.prefix.input.value = ''; this.substring.input.value = ''; this.page = 0; this.load(); } } }),
    );
    let timer;
    const live = () => {
      clearTimeout(timer);
      timer = setTimeout(() => { this.page = 0; this.load(); }, 200);
    };
    this.prefix.input.addEventListener('input', live);
    this.substring.input.addEventListener('input', live);

    this.el = h(
      'section',
      { class: 'view', attrs: { 'aria-labelledby': 'browser-title' } },
      h('h1', { attrs: { id: 'browser-title' }, text: 'Data Browser' }),
      h('p', { class: 'lede', text: 'Every live key in key order. Deleted keys are gone at once: a get meets the tombstone first, long before compaction removes the old versions.' }),
      form,
      this.message,
      this.summary,
      h('div', { class: 'table-wrap' }, h('table', { class: 'browse' },
        h('thead', {}, h('tr', {}, ['Key', 'Type', 'Value'].map((t) => h('th', { attrs: { scope: 'col' }, text: t })))),
        this.rows,
      )),
      h('div', { class: 'pager' }, this.prev, this.pageLabel, this.next),
      this.detail,
    );
    session.subscribe((u) => {
      if (this.visible && u.reason !== 'sample' && u.reason !== 'explain' && u.reason !== 'inspect' && u.reason !== 'browse' && u.stats) this.load();
    });
  }

  shown() {
    this.load();
  }

  async load() {
    const prefix = this.prefix.input.value;
    const substring = this.substring.input.value;
    const seq = (this.loadSeq = (this.loadSeq || 0) + 1);
    let entries;
    try {
      entries = await this.session.run((store) => store.range(prefix ? { prefix } : {}), 'browse');
    } catch (error) {
      showMessage(this.message, errorText(error));
      return;
    }
    if (seq !== this.loadSeq) return; // a newer search is on its way
    showMessage(this.message, '');
    this.total = entries.length;
    this.entries = substring ? entries.filter(([k]) => keyText(k).includes(substring)) : entries;
    const pages = Math.max(1, Math.ceil(this.entries.length / PAGE_SIZE));
    this.page = Math.min(Math.max(0, this.page), pages - 1);
    this.draw();
    if (this.selected !== null) {
      const found = this.entries.find(([k]) => keyText(k) === keyText(this.selected));
      if (found) this.showDetail(found[0], found[1]);
      else this.clearDetail();
    }
  }

  goto(page) {
    this.page = page;
    this.draw();
  }

  draw() {
    const pages = Math.max(1, Math.ceil(this.entries.length / PAGE_SIZE));
    const slice = this.entries.slice(this.page * PAGE_SIZE, (this.page + 1) * PAGE_SIZE);
    const filtered = this.prefix.input.value || this.substring.input.value;
    this.summary.textContent = filtered
      ? `${plural(this.entries.length, 'key')} match (of ${fmtNum(this.total)} with this prefix).`
      : `${plural(this.entries.length, 'live key')}.`;
    replace(this.rows, slice.length ? slice.map(([key, value]) => {
      const open = h('button', { class: 'link', attrs: { type: 'button', 'data-testid': 'browse-key' }, text: keyText(key), on: { click: () => { this.selected = key; this.showDetail(key, value); } } });
      return h('tr', { class: this.selected !== null && keyText(this.selected) === keyText(key) ? 'selected' : null },
        h('td', { class: 'key' }, open),
        h('td', { text: valueKind(value) }),
        h('td', { class: 'value', attrs: { 'data-testid': 'browse-value' }, text: valuePreview(value) }));
    }) : h('tr', {}, h('td', { attrs: { colspan: 3 }, text: filtered ? 'No key matches.' : 'The store is empty. Put something in Operations, or run a Demo.' })));
    this.pageLabel.textContent = `Page ${this.page + 1} of ${pages}`;
    this.prev.disabled = this.page === 0;
    this.next.disabled = this.page >= pages - 1;
  }

  clearDetail() {
    this.selected = null;
    replace(this.detail);
  }

  showDetail(key, value) {
    const message = messageBox();
    const editor = h('textarea', { attrs: { rows: 8, spellcheck: 'false', 'data-testid': 'edit-value' } });
    const as = h('select', { attrs: { 'data-testid': 'edit-as' } }, h('option', { attrs: { value: 'text' }, text: 'text' }), h('option', { attrs: { value: 'json' }, text: 'JSON' }));
    const kind = valueKind(value);
    if (kind === 'json') {
      editor.value = JSON.stringify(value, null, 2);
      as.value = 'json';
    } else if (kind === 'text') {
      editor.value = value;
    }
    const isBytes = kind === 'bytes';
    const save = h('button', { class: 'primary', attrs: { type: 'submit', 'data-testid': 'edit-save', disabled: isBytes }, text: 'Save' });
    const del = h('button', { class: 'danger', attrs: { type: 'button', 'data-testid': 'edit-delete' }, text: 'Delete key' });
    const explain = h('button', { attrs: { type: 'button' }, text: 'Explain get', on: { click: () => this.explainKey(keyText(key)) } });
    const form = h(
      'form',
      {
        class: 'edit-form',
        on: {
          submit: async (e) => {
            e.preventDefault();
            const parsed = parseValue(editor.value, as.value);
            if (parsed.error) {
              showMessage(message, parsed.error);
              return;
            }
            try {
              await this.session.run((store) => store.put(key, parsed.value), 'put');
              showMessage(message, 'Saved.', 'ok');
            } catch (error) {
              showMessage(message, errorText(error));
            }
          },
        },
      },
      h('label', { attrs: { for: 'edit-value' }, text: 'New value' }),
      editor,
      h('div', { class: 'row' }, h('label', { attrs: { for: 'edit-as' }, text: 'Store as' }), as, save, del, explain),
      message,
    );
    editor.id = 'edit-value';
    as.id = 'edit-as';
    del.addEventListener('click', async () => {
      if (del.dataset.confirm !== 'yes') {
        del.dataset.confirm = 'yes';
        del.textContent = 'Really delete?';
        showMessage(message, 'Press again to delete this key (the engine writes a tombstone).', 'info');
        return;
      }
      try {
        await this.session.run((store) => store.delete(key), 'delete');
        this.clearDetail();
        showMessage(this.message, `Deleted ${keyText(key)}.`, 'ok');
      } catch (error) {
        showMessage(message, errorText(error));
      }
    });
    replace(
      this.detail,
      h('h2', { text: 'Entry' }),
      h('p', { class: 'detail-key' }, 'Key: ', h('code', { attrs: { 'data-testid': 'detail-key' }, text: keyText(key) })),
      h('p', { text: `Type: ${kind}` }),
      h('pre', { class: 'value-view', attrs: { 'data-testid': 'detail-value' }, text: valueText(value) }),
      isBytes ? h('p', { class: 'hint', text: 'Byte values cannot be edited here.' }) : null,
      form,
    );
  }
}
