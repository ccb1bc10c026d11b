// The open store and everything the views share: the settings it was
// opened with (settings.js), one engine call at a time for whatever may
// reopen the store, the event feed (polled from the engine's cursor), and a history of
// engine counters for the Analytics view. It computes nothing about the LSM:
// it only calls the wasm `Store` (or, on the server backend, the same
// methods over HTTP: remote.js) and passes on what it returns.

import { RemoteStore } from './remote.js';
import { SERVER_API, loadSettings, saveSettings, storeOptions } from './settings.js';

const HISTORY_MAX = 600;
const EVENTS_KEPT = 300;

export class Session {
  constructor(Store) {
    this.Store = Store;
    this.settings = loadSettings();
    this.store = null;
    /** Set while the store is closed or being reopened: why. */
    this.state = 'closed';
    this.openError = null;
    this.stats = null;
    this.cursor = 0;
    /** The latest events, oldest first, each with `at` (ms) and `epoch` (which open it belongs to). */
    this.events = [];
    this.epoch = 0;
    /** Events received since the page loaded (for `mark` / `since`). */
    this.eventTotal = 0;
    this.history = [];
    this.listeners = new Set();
    this.lock = Promise.resolve();
    this.sampling = null;
    this.remotePending = false;
  }

  /** `listener({ stats, events, reason })`: `events` are the new ones since the last call. */
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(update) {
    for (const listener of this.listeners) {
      try {
        listener(update);
      } catch (error) {
        console.error('playground view failed to update', error);
      }
    }
  }

  /** Runs `fn(store)` after every earlier call finished; then refreshes. */
  run(fn, reason = 'operation') {
    const result = this.lock.then(async () => {
      if (!this.store) throw Object.assign(new Error(this.openError || 'the store is not open'), { code: 'LSMKV_CLOSED' });
      try {
        return await fn(this.store);
      } finally {
        await this.refresh(reason);
      }
    });
    this.lock = result.catch(() => {});
    return result;
  }

  /** Like `run`, for changes of the store itself (reopen, crash). */
  exclusive(fn) {
    const result = this.lock.then(fn);
    this.lock = result.catch(() => {});
    return result;
  }

  async open() {
    return this.exclusive(() => this.openNow('opened'));
  }

  async openNow(reason) {
    this.state = 'opening';
    this.emit({ stats: this.stats, events: [], reason: 'opening' });
    try {
      this.store = this.settings.backend === 'server' ? await RemoteStore.open(SERVER_API) : await this.Store.open(this.settings.name, storeOptions(this.settings));
      this.state = 'open';
      this.openError = null;
      this.epoch += 1;
      this.cursor = 0;
    } catch (error) {
      this.store = null;
      this.state = 'failed';
      this.openError = error && error.message ? error.message : String(error);
      this.emit({ stats: null, events: [], reason: 'failed', error });
      throw error;
    }
    await this.refresh(reason);
    this.startSampling();
    // The server's engine also changes on its own (background flushes and
    // compactions, other clients): its event stream says when to refresh.
    if (typeof this.store.watch === 'function') this.store.watch(this.cursor, () => this.remoteChanged());
  }

  /** One refresh for however many server events arrive while one is pending. */
  remoteChanged() {
    if (this.remotePending) return;
    this.remotePending = true;
    this.exclusive(async () => {
      this.remotePending = false;
      await this.refresh('remote');
    });
  }

  /** What the current backend cannot do from the page, as an error (or null). */
  unsupported(what) {
    if (this.settings.backend !== 'server') return null;
    const why = {
      erase: 'The server’s data directory cannot be erased from the page: stop lsmkv-server and delete its --data-dir.',
      crash: 'A crash cannot be simulated on the server from the page: kill -9 the lsmkv-server process and start it again (its kill tests do, 22 times per CI run).',
    }[what];
    return why ? Object.assign(new Error(why), { code: 'LSMKV_UNSUPPORTED' }) : null;
  }

  /** Closes the store and opens it with `settings` (falling back to the old ones if that fails). */
  async reopen(settings) {
    return this.exclusive(async () => {
      const previous = this.settings;
      await this.closeNow();
      this.settings = { ...settings };
      try {
        await this.openNow('reopened');
        saveSettings(this.settings);
      } catch (error) {
        this.settings = previous;
        try {
          await this.openNow('reopened');
        } catch {
          /* reported by openNow */
        }
        throw error;
      }
    });
  }

  /** Deletes the store's data (IndexedDB or OPFS) and opens it empty. */
  async erase() {
    const refused = this.unsupported('erase');
    if (refused) throw refused;
    return this.exclusive(async () => {
      await this.closeNow();
      if (this.settings.backend !== 'memory') await this.Store.destroy(this.settings.name, { backend: this.settings.backend });
      this.history = [];
      await this.openNow('erased');
    });
  }

  /**
   * Simulates a crash: the store drops its memtable and everything else in
   * memory without flushing or syncing (`debugCrash`), then is reopened,
   * recovering from what was persisted. Resolves to the events of the reopen.
   */
  async crashAndRecover(onCrashed) {
    const refused = this.unsupported('crash');
    if (refused) throw refused;
    return this.exclusive(async () => {
      const store = this.store;
      if (!store) throw new Error('the store is not open');
      this.store = null;
      this.state = 'crashed';
      await store.debugCrash();
      store.free();
      this.emit({ stats: null, events: [], reason: 'crashed' });
      if (onCrashed) await onCrashed();
      const before = this.mark();
      await this.openNow('recovered');
      return this.since(before);
    });
  }

  async closeNow() {
    this.stopSampling();
    const store = this.store;
    this.store = null;
    this.state = 'closed';
    if (store) {
      try {
        await store.close();
      } finally {
        store.free();
      }
    }
  }

  /** A position in the event feed, for `since`. */
  mark() {
    return this.eventTotal;
  }

  /** The events received after `mark` (as many as are still kept). */
  since(mark) {
    const count = Math.min(this.eventTotal - mark, this.events.length);
    return count > 0 ? this.events.slice(this.events.length - count) : [];
  }

  /** Reads stats and new events; tells the listeners. Never throws. */
  async refresh(reason = 'refresh') {
    const store = this.store;
    if (!store) return;
    let fresh = [];
    try {
      for (;;) {
        const page = await store.events(this.cursor, 500);
        const now = Date.now();
        for (const event of page.events) fresh.push({ ...event, at: now, epoch: this.epoch });
        if (page.missed > 0) fresh.push({ type: 'missed', count: page.missed, cursor: this.cursor, at: now, epoch: this.epoch });
        const done = page.nextCursor === this.cursor || page.events.length < 500;
        this.cursor = page.nextCursor;
        if (done) break;
      }
      this.stats = await store.stats();
    } catch (error) {
      if (store !== this.store) return; // replaced while reading
      this.emit({ stats: this.stats, events: [], reason: 'error', error });
      return;
    }
    this.events.push(...fresh);
    this.eventTotal += fresh.length;
    if (this.events.length > EVENTS_KEPT) this.events.splice(0, this.events.length - EVENTS_KEPT);
    this.sample(this.stats);
    this.emit({ stats: this.stats, events: fresh, reason });
  }

  // ---- history for Analytics: engine counters over time ----

  sample(stats, space) {
    if (!stats) return;
    const last = this.history[this.history.length - 1];
    const point = {
      t: Date.now(),
      epoch: this.epoch,
      lastSeq: stats.lastSeq,
      gets: stats.gets,
      tablesProbed: stats.tablesProbed,
      bloomNegatives: stats.bloomNegatives,
      writeAmplification: stats.writeAmplification,
      readAmplification: stats.readAmplification,
      levels: stats.levels.map((l) => ({ tables: l.tables.length, bytes: l.bytes })),
      spaceAmplification: space ? space.spaceAmplification : last && last.epoch === this.epoch ? last.spaceAmplification : null,
    };
    // Several samples within 250 ms: keep the newest only.
    if (last && point.t - last.t < 250 && last.epoch === point.epoch) this.history[this.history.length - 1] = point;
    else this.history.push(point);
    if (this.history.length > HISTORY_MAX) this.history.splice(0, this.history.length - HISTORY_MAX);
  }

  startSampling() {
    this.stopSampling();
    let ticks = 0;
    this.sampling = setInterval(async () => {
      const store = this.store;
      if (!store || document.hidden) return;
      ticks += 1;
      try {
        const stats = await store.stats();
        // A space measurement scans every entry: every 3 seconds is plenty here.
        const space = ticks % 3 === 1 ? await store.space() : null;
        if (store !== this.store) return;
        this.stats = stats;
        this.sample(stats, space);
        this.emit({ stats, events: [], reason: 'sample' });
      } catch {
        /* closed meanwhile: the next tick reads the new store */
      }
    }, 1000);
  }

  stopSampling() {
    if (this.sampling) clearInterval(this.sampling);
    this.sampling = null;
  }
}
