// The open store: opening, reopening, closing and crashing it (one at a
// time), running the views' calls on it one after another, and telling
// subscribers what changed — after every call, every second, and whenever
// the server's engine reports something. It computes nothing about the LSM:
// it only calls the wasm `Store` (or, on the server backend, the same
// methods over HTTP: remote.js) and passes on what it returns.

import { RemoteStore } from './remote.js';
import { SERVER_API, loadSettings, saveSettings, storeOptions } from './settings.js';
import { EventFeed } from './feed.js';

export class Session {
  constructor(Store) {
    this.Store = Store;
    this.settings = loadSettings();
    this.store = null;
    /** Set while the store is closed or being reopened: why. */
    this.state = 'closed';
    this.openError = null;
    this.stats = null;
    this.feed = new EventFeed();
    /** Which open of the store this is (counted from 1). */
    this.epoch = 0;
    this.listeners = new Set();
    this.lock = Promise.resolve();
    this.ticker = null;
    this.remotePending = false;
  }

  /**
   * `listener({ stats, events, reason, space?, error? })`: `events` are the
   * feed's new ones since the last call; `space` comes with some 'sample's.
   */
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
      this.feed.restart();
    } catch (error) {
      this.store = null;
      this.state = 'failed';
      this.openError = error && error.message ? error.message : String(error);
      this.emit({ stats: null, events: [], reason: 'failed', error });
      throw error;
    }
    await this.refresh(reason);
    this.startTicking();
    // The server's engine also changes on its own (background flushes and
    // compactions, other clients): its event stream says when to refresh.
    if (typeof this.store.watch === 'function') this.store.watch(this.feed.cursor, () => this.remoteChanged());
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
      const before = this.feed.mark();
      await this.openNow('recovered');
      return this.feed.since(before);
    });
  }

  async closeNow() {
    this.stopTicking();
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

  /** Reads stats and new events; tells the listeners. Never throws. */
  async refresh(reason = 'refresh') {
    const store = this.store;
    if (!store) return;
    let fresh;
    try {
      fresh = await this.feed.read(store, this.epoch);
      this.stats = await store.stats();
    } catch (error) {
      if (store !== this.store) return; // replaced while reading
      this.emit({ stats: this.stats, events: [], reason: 'error', error });
      return;
    }
    this.feed.keep(fresh);
    this.emit({ stats: this.stats, events: fresh, reason });
  }

  /** Once a second while the page is visible: stats, and every 3 s space (a scan of every entry). */
  startTicking() {
    this.stopTicking();
    let ticks = 0;
    this.ticker = setInterval(async () => {
      const store = this.store;
      if (!store || document.hidden) return;
      ticks += 1;
      try {
        const stats = await store.stats();
        const space = ticks % 3 === 1 ? await store.space() : null;
        if (store !== this.store) return;
        this.stats = stats;
        this.emit({ stats, events: [], reason: 'sample', space });
      } catch {
        /* closed meanwhile: the next tick reads the new store */
      }
    }, 1000);
  }

  stopTicking() {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
  }
}
