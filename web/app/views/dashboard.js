// Dashboard: the store at a glance — health, keys, sequence numbers, the
// memtable's fill, tables per level, WAL, amplification, the latest events;
// and, connected to a cluster node (lsmkv-server --cluster), the cluster:
// its nodes, their roles, the leader, the term, the log positions.

import { h, replace, fmtBytes, fmtNum, fmtRatio, plural, facts, table, errorText } from '../dom.js';
import { describeEvent } from '../narration.js';
import { backendLabel } from '../settings.js';

export class Dashboard {
  constructor(session) {
    this.session = session;
    this.title = 'Dashboard';
    this.health = null;
    this.space = null;
    this.cards = h('div', { class: 'cards' });
    this.eventsEl = h('ol', { class: 'events', attrs: { 'data-testid': 'dashboard-events', reversed: true } });
    this.el = h(
      'section',
      { class: 'view', attrs: { 'aria-labelledby': 'dashboard-title' } },
      h('h1', { attrs: { id: 'dashboard-title' }, text: 'Dashboard' }),
      h('p', { class: 'lede', text: 'The store at a glance. Every number is the engine’s own (stats(), space(), health(), events()).' }),
      this.cards,
      h('h2', { text: 'Latest events' }),
      this.eventsEl,
    );
    session.subscribe((u) => this.onUpdate(u));
  }

  shown() {
    this.fetchSlow();
    this.draw();
  }

  /**
   * A cluster changes without this page doing anything (an election, a
   * node catching up): while it is shown, its health is asked for again
   * every two seconds.
   */
  pollCluster() {
    clearTimeout(this.clusterTimer);
    if (!this.visible || !this.health || !this.health.cluster) return;
    this.clusterTimer = setTimeout(() => this.fetchSlow(), 2000);
  }

  onUpdate(u) {
    if (!this.visible) return;
    if (u.reason !== 'sample' || !this.space) this.fetchSlow();
    this.draw();
  }

  /** health() and space() are async (space scans every entry): fetched after changes. */
  async fetchSlow() {
    if (this.fetching) {
      this.again = true;
      return;
    }
    this.fetching = true;
    try {
      do {
        this.again = false;
        const store = this.session.store;
        if (!store) break;
        try {
          const [health, space] = await Promise.all([store.health(), store.space()]);
          if (store === this.session.store) {
            this.health = health;
            this.space = space;
            this.spaceError = null;
          }
        } catch (error) {
          this.spaceError = errorText(error);
        }
      } while (this.again);
    } finally {
      this.fetching = false;
    }
    if (this.visible) this.draw();
    this.pollCluster();
  }

  draw() {
    const s = this.session.stats;
    const hl = this.health;
    const sp = this.space;
    const state = this.session.state;
    if (!s) {
      replace(this.cards, h('p', { text: state === 'failed' ? `The store is not open: ${this.session.openError}` : 'Opening the store…' }));
      return;
    }
    let status = state === 'open' ? (hl ? hl.status : 'ok') : state;
    if (hl && hl.reason) status = `${status}: ${hl.reason}`;
    const storage = hl && hl.storage && hl.storage.usage !== null ? `${fmtBytes(hl.storage.usage)} of ${fmtBytes(hl.storage.quota)}` : '–';
    const levels = s.levels.filter((l, i) => i === 0 || l.tables.length);
    replace(
      this.cards,
      card('Health', facts([
        ['Status', status, 'dash-status'],
        ['Store', this.session.settings.backend === 'server' && hl && hl.server ? hl.server.dataDir : this.session.settings.name],
        ['Backend', backendLabel(hl ? hl.backend : this.session.settings.backend), 'dash-backend'],
        hl && hl.wipe ? ['IndexedDB wipe', `detected at this open: ${hl.wipe.message}`, 'dash-wipe'] : null,
        hl && hl.indexeddb ? ['Durability', hl.indexeddb.durability] : null,
        hl && hl.indexeddb ? ['IDB transactions', fmtNum(hl.indexeddb.transactions)] : null,
        hl && hl.opfs ? ['Durability', hl.opfs.durability] : null,
        hl && hl.opfs ? ['OPFS files', `${fmtNum(hl.opfs.files)} in ${fmtNum(hl.opfs.slots)} slot files (${fmtNum(hl.opfs.freeSlots)} free)`, 'dash-opfs'] : null,
        hl && hl.opfs ? ['WAL flushes', fmtNum(hl.opfs.walSyncs)] : null,
        ['Storage used', storage],
        hl && hl.server ? ['Server', `lsmkv-server ${hl.server.version}, preset ${hl.server.preset}; ${hl.cluster ? 'a cluster node: a write is acknowledged once in the synced log of a majority' : 'every write synced before it is acknowledged'}`, 'dash-server'] : null,
        ['Persistent storage', hl && hl.persisted != null ? (hl.persisted ? 'granted' : 'not granted') : '–'],
        ['WAL tails truncated', fmtNum(s.walTailTruncations)],
        s.writeStalls ? ['Write stalls', `${fmtNum(s.writeStalls)} (${fmtNum(Math.round(s.writeStallMicros / 1000))} ms waiting for flushes and compactions)`] : null,
        s.writeSlowdowns ? ['Write slowdowns', `${fmtNum(s.writeSlowdowns)} (${fmtNum(Math.round(s.writeSlowdownMicros / 1000))} ms paced while L0 was deep)`] : null,
      ])),
      hl && hl.cluster ? clusterCard(hl.cluster) : null,
      card('Data', facts([
        ['Live keys', sp ? fmtNum(sp.liveKeys) : '…', 'dash-keys'],
        ['Live bytes', sp ? fmtBytes(sp.liveBytes) : '…'],
        ['Last sequence number', fmtNum(s.lastSeq), 'dash-last-seq'],
        ['In tables through seq', fmtNum(s.flushedSeq)],
        ['Flushes / compactions since open', `${fmtNum(s.flushes)} / ${fmtNum(s.compactions)}`],
      ])),
      card('Memtable & WAL', [
        facts([
          ['Memtable fill', `${fmtNum(s.memtableEntries)} / ${fmtNum(s.memtableMaxEntries)} entries`, 'dash-memtable'],
          ['Memtable bytes', fmtBytes(s.memtableBytes)],
          ['WAL', `${plural(s.walFiles, 'file')}, ${fmtBytes(s.walBytes)}`, 'dash-wal'],
          ['SSTable cap', `${fmtNum(s.sstableMaxEntries)} entries`],
        ]),
        meter(s.memtableEntries, s.memtableMaxEntries),
      ]),
      card('Amplification', facts([
        ['Write amplification since open', `${fmtRatio(s.writeAmplification)}×`, 'dash-wamp'],
        ['Tables probed per get since open', fmtRatio(s.readAmplification)],
        ['Space amplification', sp ? `${fmtRatio(sp.spaceAmplification)}×` : '…'],
        ['Stored bytes', fmtBytes(s.storedBytes)],
        ['Bloom filter skips', fmtNum(s.bloomNegatives)],
        ['Block cache hits / misses', `${fmtNum(s.blockCacheHits)} / ${fmtNum(s.blockCacheMisses)}`],
        // Only stores opened with a partition cache of their own (the production preset) have one.
        ...(s.partitionCacheCapacityBytes > 0
          ? [['Partition cache hits / misses', `${fmtNum(s.partitionCacheHits)} / ${fmtNum(s.partitionCacheMisses)}`]]
          : []),
      ])),
      card('Tables per level', h('table', { class: 'mini', attrs: { 'data-testid': 'dash-levels' } },
        h('thead', {}, h('tr', {}, ['Level', 'Tables', 'Entries', 'Bytes', 'Target'].map((t) => h('th', { attrs: { scope: 'col' }, text: t })))),
        h('tbody', {}, levels.map((l) => h('tr', {},
          h('th', { attrs: { scope: 'row' }, text: `L${l.level}` }),
          h('td', { text: fmtNum(l.tables.length) }),
          h('td', { text: fmtNum(l.entries) }),
          h('td', { text: fmtBytes(l.bytes) }),
          h('td', { text: l.targetBytes ? fmtBytes(l.targetBytes) : '–' }),
        ))),
      ), 'wide'),
    );
    const events = this.session.feed.events.slice(-12).reverse();
    replace(this.eventsEl, events.length ? events.map((e) => h('li', {},
      h('time', { text: new Date(e.at).toLocaleTimeString() }), ' ', h('span', { class: `event-type t-${e.type}`, text: e.type }), ' ', describeEvent(e),
    )) : h('li', { text: 'No events yet.' }));
  }
}

const index = (i) => (i === null || i === undefined ? '–' : fmtNum(i));

/** The cluster as this node sees it (`data.cluster` of /api/health, server/API.md). */
function clusterCard(c) {
  const leader = c.leader ? `node ${c.leader.id}${c.leader.address ? ` at ${c.leader.address}` : ''}` : 'none known (an election is under way, or no majority is up)';
  const members = c.membership || { voters: [], learners: [], nodes: {} };
  const ids = Object.keys(members.nodes).map(Number).sort((a, b) => a - b);
  const rows = ids.map((id) => {
    const voterRole = c.leader ? 'follower' : 'voter';
    const role = c.leader && c.leader.id === id ? 'leader' : id === c.nodeId ? c.role : members.voters.includes(id) ? voterRole : 'learner';
    const log = c.replication ? index(c.replication[id]) : id === c.nodeId ? index(c.lastLogIndex) : '–';
    return { cls: id === c.nodeId ? 'this-node' : '', cells: [`${id}${id === c.nodeId ? ' (this page)' : ''}`, members.nodes[id], role, log] };
  });
  return card('Cluster', [
    facts([
      ['This node', `node ${c.nodeId} at ${c.address}: ${c.role}`, 'dash-cluster-role'],
      ['Leader', leader, 'dash-cluster-leader'],
      ['Term', fmtNum(c.term), 'dash-cluster-term'],
      ['Log', `last index ${index(c.lastLogIndex)}, committed ${index(c.committed)}, applied ${index(c.lastApplied)}`, 'dash-cluster-log'],
      ['Snapshot / purged', `${index(c.snapshot)} / ${index(c.purged)}`],
    ]),
    ids.length
      ? table(['Node', 'Address', 'Role', c.replication ? 'Log held (leader’s view)' : 'Log'], rows, 'dash-cluster-nodes')
      : h('p', { text: 'Not initialized: POST /cluster/init on one node joins the nodes.' }),
  ], 'wide');
}

function card(title, body, cls = '') {
  return h('section', { class: `card ${cls}` }, h('h2', { text: title }), body);
}

function meter(value, max) {
  const fill = h('span', { class: 'bar-fill' });
  fill.style.width = `${max ? Math.min(100, (100 * value) / max) : 0}%`;
  return h('div', { class: 'slot bar', attrs: { role: 'meter', 'aria-label': 'memtable fill', 'aria-valuemin': 0, 'aria-valuemax': max, 'aria-valuenow': value } }, fill);
}
