// The table inspector: one SSTable's entries (keys, sequence numbers,
// tombstones), its data blocks, index and bloom filter, as the engine's
// `inspectTable` reports them — the playground's sst_dump.

import { h, replace, keyText, fmtBytes, fmtNum, plural, errorText, facts, table, valuePreview, valueKind } from './dom.js';

export class TableInspector {
  constructor(session) {
    this.session = session;
    this.title = h('h2', { attrs: { id: 'inspector-title' }, text: 'Table' });
    this.body = h('div', { class: 'inspector-body', attrs: { 'data-testid': 'inspector-body' } });
    this.closeButton = h('button', { attrs: { type: 'button', 'data-testid': 'inspector-close' }, text: 'Close', on: { click: () => this.dialog.close() } });
    this.dialog = h(
      'dialog',
      { class: 'inspector', attrs: { 'aria-labelledby': 'inspector-title', 'data-testid': 'table-inspector' } },
      h('div', { class: 'dialog-head' }, this.title, this.closeButton),
      this.body,
    );
    this.dialog.addEventListener('click', (e) => {
      if (e.target === this.dialog) this.dialog.close(); // a click on the backdrop
    });
  }

  async open(number, level) {
    this.title.textContent = `Table #${number} · L${level}`;
    replace(this.body, h('p', { text: 'Reading the table…' }));
    if (!this.dialog.open) this.dialog.showModal();
    this.closeButton.focus();
    let t;
    try {
      t = await this.session.run((store) => store.inspectTable(number), 'inspect');
    } catch (error) {
      replace(this.body, h('p', { class: 'message error', attrs: { role: 'alert' }, text: `Cannot inspect table #${number}: ${errorText(error)}. It may have been compacted away since the picture was drawn.` }));
      return;
    }
    const filterFill = t.filter.bits ? (100 * t.filter.bitsSet) / t.filter.bits : 0;
    replace(
      this.body,
      h(
        'div',
        { class: 'inspector-summary' },
        h('section', {}, h('h3', { text: 'Properties' }), facts([
          ['File size', fmtBytes(t.fileSize)],
          ['Format', `${t.format}${t.format >= 2 ? ` · ${plural(t.partitions, 'index partition')}` : ''}${t.format >= 3 ? ' · a restart point every 16 entries' : ''} · compression ${t.compression}`],
          ['Entries', fmtNum(t.entryCount), 'inspector-entries'],
          ['Tombstones', fmtNum(t.tombstoneCount)],
          ['Sequence numbers', `${fmtNum(t.minSeq)} – ${fmtNum(t.maxSeq)}`],
          ['Data blocks', fmtNum(t.dataBlockCount)],
          ['Raw keys / values', `${fmtBytes(t.rawKeyBytes)} / ${fmtBytes(t.rawValueBytes)}`],
          [t.format >= 2 ? 'Top index' : 'Index block', `offset ${fmtNum(t.index.offset)}, ${fmtBytes(t.index.size)}`],
        ])),
        h('section', {}, h('h3', { text: 'Bloom filter' }), facts([
          ['Bits', fmtNum(t.filter.bits)],
          ['Bits set', `${fmtNum(t.filter.bitsSet)} (${filterFill.toFixed(1)}%)`],
          ['Hash probes per key', fmtNum(t.filter.probes)],
          [t.partitions > 1 ? 'Partitions' : 'Block', t.partitions > 1 ? `${plural(t.partitions, 'filter')}, ${fmtBytes(t.filter.bytes)} in all` : `offset ${fmtNum(t.filter.offset)}, ${fmtBytes(t.filter.size)}`],
        ]), h('p', { class: 'hint', text: 'A get first asks the filter (of the one partition that can hold the key); "absent" skips this table without reading a block.' })),
      ),
      h('h3', { text: `Blocks (${t.blocks.length})` }),
      table(['#', 'Offset', 'Stored', 'Raw', 'Entries', 'First key', 'Last key'], t.blocks.map((b, i) => [
        String(i), fmtNum(b.offset), fmtBytes(b.size), b.rawSize === b.size ? '=' : fmtBytes(b.rawSize), fmtNum(b.entryCount), keyText(b.firstKey), keyText(b.lastKey),
      ])),
      h('h3', { text: `Entries (${plural(t.entries.length, 'version')}, in stored order)` }),
      t.entries.some((e) => e.seq === 0)
        ? h('p', { class: 'hint', text: 'Seq 0: a compaction into the bottom of the tree wrote this version without its sequence number. Every reader sees it and no deeper level holds its key, so the number no longer orders it against anything (and zeros compress to almost nothing).' })
        : null,
      table(['Key', 'Seq', 'Kind', 'Block', 'Value'], t.entries.map((e) => ({
        cls: e.kind === 'delete' ? 'tombstone' : '',
        cells: [keyText(e.key), fmtNum(e.seq), e.kind === 'delete' ? 'tombstone' : 'put', String(e.block), e.kind === 'delete' ? '—' : `${valueKind(e.value)}: ${valuePreview(e.value, 60)}`],
      })), 'inspector-entries-table'),
    );
  }
}
