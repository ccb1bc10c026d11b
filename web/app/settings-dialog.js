// The Settings dialog: a form over settings.js's settings. Applying closes
// the store and opens it again with the new options (the engine validates
// them; a rejected option leaves the previous settings in place).

import { h, errorText, messageBox, showMessage, field, checkbox } from './dom.js';
import { DEFAULT_SETTINGS, OPFS_SUPPORTED, SERVER_API } from './settings.js';

const LIMITS = {
  memtableMaxEntries: [1, 100000],
  sstableMaxEntries: [1, 100000],
  l0CompactionTrigger: [1, 64],
};

export class SettingsDialog {
  constructor(session) {
    this.session = session;
    const number = (testid, [min, max]) => h('input', { attrs: { type: 'number', min, max, step: 1, required: true, 'data-testid': testid } });
    this.name = field('Store name', h('input', { attrs: { type: 'text', required: true, maxlength: 64, autocomplete: 'off', 'data-testid': 'set-name' } }), 'Each name is a separate store (an IndexedDB database, or an OPFS directory).');
    this.backend = field('Backend', h('select', { attrs: { 'data-testid': 'set-backend' } },
      h('option', { attrs: { value: 'indexeddb' }, text: 'IndexedDB — survives reloads' }),
      h('option', { attrs: OPFS_SUPPORTED ? { value: 'opfs' } : { value: 'opfs', disabled: true }, text: OPFS_SUPPORTED ? 'OPFS — real files, in a worker; survives reloads' : 'OPFS — not available in this browser' }),
      h('option', { attrs: { value: 'memory' }, text: 'Memory — gone on reload' }),
      SERVER_API ? h('option', { attrs: { value: 'server' }, text: 'Server — the native engine of the lsmkv-server that serves this page' }) : null));
    this.backend.input.addEventListener('change', () => this.showBackend());
    this.memtable = field('Memtable cap (entries)', number('set-memtable', LIMITS.memtableMaxEntries), 'The memtable is frozen and flushed before it would hold more.');
    this.sstable = field('SSTable cap (entries)', number('set-sstable', LIMITS.sstableMaxEntries), 'No table a flush or compaction writes holds more.');
    this.trigger = field('L0 compaction trigger (tables)', number('set-trigger', LIMITS.l0CompactionTrigger), 'L0 is compacted when it holds more tables than this.');
    this.auto = checkbox('Compact automatically after flushes', true, { 'data-testid': 'set-auto' });
    this.durability = field('Durability (IndexedDB, OPFS)', h('select', { attrs: { 'data-testid': 'set-durability' } },
      h('option', { attrs: { value: 'strict' }, text: 'strict — on disk before a write is acknowledged' }),
      h('option', { attrs: { value: 'relaxed' }, text: 'relaxed — faster; an OS crash may lose the last writes' })));
    this.message = messageBox();
    this.apply = h('button', { class: 'primary', attrs: { type: 'submit', 'data-testid': 'set-apply' }, text: 'Apply and reopen' });
    this.eraseButton = h('button', { class: 'danger', attrs: { type: 'button', 'data-testid': 'set-erase' }, text: 'Erase this store…', on: { click: () => this.erase() } });
    this.form = h(
      'form',
      { attrs: { novalidate: true }, on: { submit: (e) => { e.preventDefault(); this.submit(); } } },
      this.name.field,
      this.backend.field,
      h('div', { class: 'row3' }, this.memtable.field, this.sstable.field, this.trigger.field),
      this.auto.field,
      this.durability.field,
      this.message,
      h('div', { class: 'row dialog-actions' },
        this.apply,
        h('button', { attrs: { type: 'button' }, text: 'Spec defaults', on: { click: () => this.fill(DEFAULT_SETTINGS) } }),
        this.eraseButton,
        h('button', { attrs: { type: 'button' }, text: 'Cancel', on: { click: () => this.dialog.close() } })),
    );
    this.dialog = h(
      'dialog',
      { class: 'settings', attrs: { 'aria-labelledby': 'settings-title', 'data-testid': 'settings' } },
      h('h2', { attrs: { id: 'settings-title' }, text: 'Settings' }),
      h('p', { class: 'hint', text: 'Defaults follow the specification: memtables and SSTables of at most 30 entries. Applying closes the store and opens it again.' }),
      this.form,
    );
  }

  fill(s) {
    this.name.input.value = s.name;
    this.backend.input.value = s.backend;
    this.memtable.input.value = s.memtableMaxEntries;
    this.sstable.input.value = s.sstableMaxEntries;
    this.trigger.input.value = s.l0CompactionTrigger;
    this.auto.input.checked = s.autoCompaction;
    this.durability.input.value = s.durability;
    this.showBackend();
  }

  /**
   * On the server backend the store, its caps and its durability are the
   * server's (`--data-dir`, `--preset`; every write is synced): those fields
   * are disabled, and say so.
   */
  showBackend() {
    const server = this.backend.input.value === 'server';
    for (const f of [this.name, this.memtable, this.sstable, this.trigger, this.auto, this.durability]) {
      f.input.disabled = server;
      f.input.title = server ? 'Set by the server (its --data-dir and --preset), not by the page' : '';
    }
    this.eraseButton.disabled = server;
    this.eraseButton.title = server ? 'Stop lsmkv-server and delete its --data-dir to erase it' : '';
  }

  open() {
    this.fill(this.session.settings);
    showMessage(this.message, '');
    delete this.eraseButton.dataset.confirm;
    this.eraseButton.textContent = 'Erase this store…';
    this.dialog.showModal();
    this.name.input.focus();
  }

  read() {
    if (this.backend.input.value === 'server') return { settings: { ...this.session.settings, backend: 'server' } };
    const name = this.name.input.value.trim();
    if (!name) return { error: 'Give the store a name.', input: this.name.input };
    const ints = {};
    for (const [key, f, label] of [['memtableMaxEntries', this.memtable, 'The memtable cap'], ['sstableMaxEntries', this.sstable, 'The SSTable cap'], ['l0CompactionTrigger', this.trigger, 'The L0 trigger']]) {
      const [min, max] = LIMITS[key];
      const text = f.input.value.trim();
      const n = Number(text);
      if (text === '' || !Number.isInteger(n) || n < min || n > max) return { error: `${label} must be a whole number from ${min} to ${max}.`, input: f.input };
      ints[key] = n;
    }
    return {
      settings: {
        name,
        backend: this.backend.input.value,
        ...ints,
        autoCompaction: this.auto.input.checked,
        durability: this.durability.input.value,
      },
    };
  }

  async submit() {
    const { settings, error, input } = this.read();
    if (error) {
      showMessage(this.message, error);
      input.focus();
      return;
    }
    this.apply.disabled = true;
    showMessage(this.message, 'Reopening…', 'info');
    try {
      await this.session.reopen(settings);
      showMessage(this.message, '');
      this.dialog.close();
    } catch (err) {
      showMessage(this.message, `The engine refused these settings: ${errorText(err)}. The previous ones are still in use.`);
    } finally {
      this.apply.disabled = false;
    }
  }

  async erase() {
    if (this.eraseButton.dataset.confirm !== 'yes') {
      this.eraseButton.dataset.confirm = 'yes';
      this.eraseButton.textContent = 'Really erase all its data?';
      showMessage(this.message, `Press again to delete every key of “${this.session.settings.name}”.`, 'info');
      return;
    }
    try {
      await this.session.erase();
      showMessage(this.message, 'Erased: the store is empty.', 'ok');
    } catch (err) {
      showMessage(this.message, errorText(err));
    } finally {
      delete this.eraseButton.dataset.confirm;
      this.eraseButton.textContent = 'Erase this store…';
    }
  }
}
