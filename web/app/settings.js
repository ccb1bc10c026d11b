// The playground's settings: which store, on which backend, with which caps.
// Their defaults, how they are kept (localStorage), the `Store.open` options
// they make, and how a backend is named on screen. Nothing here opens a
// store (session.js does) or draws a form (settings-dialog.js does).

import { serverApiPath } from './remote.js';

/** The REST API's path when lsmkv-server serves this page (then its backend is preselected); null elsewhere. */
export const SERVER_API = serverApiPath();

/** True where the OPFS backend can run (module workers and OPFS). */
export const OPFS_SUPPORTED = typeof Worker === 'function' && !!(globalThis.navigator && navigator.storage && navigator.storage.getDirectory);

export const DEFAULT_SETTINGS = Object.freeze({
  name: 'playground',
  backend: SERVER_API ? 'server' : 'indexeddb',
  memtableMaxEntries: 30,
  sstableMaxEntries: 30,
  l0CompactionTrigger: 4,
  autoCompaction: true,
  durability: 'strict',
});

const SETTINGS_KEY = 'lsmkv-playground-settings';

/** How a backend is named on screen. */
export function backendLabel(backend) {
  return { indexeddb: 'IndexedDB', opfs: 'OPFS', memory: 'memory', server: 'lsmkv-server', fs: 'lsmkv-server (files on disk)' }[backend] ?? backend;
}

/** The saved settings (each one checked against the defaults' type), or the defaults. */
export function loadSettings() {
  try {
    const saved = JSON.parse(localStorage.getItem(SETTINGS_KEY) || 'null');
    if (saved && typeof saved === 'object') {
      const merged = { ...DEFAULT_SETTINGS };
      for (const key of Object.keys(DEFAULT_SETTINGS)) {
        if (typeof saved[key] === typeof DEFAULT_SETTINGS[key]) merged[key] = saved[key];
      }
      // Saved on a page that lsmkv-server served, opened where none does.
      if (merged.backend === 'server' && !SERVER_API) merged.backend = 'indexeddb';
      return merged;
    }
  } catch {
    /* unreadable settings: defaults */
  }
  return { ...DEFAULT_SETTINGS };
}

export function saveSettings(settings) {
  try {
    localStorage.setItem(SETTINGS_KEY, JSON.stringify(settings));
  } catch {
    /* private mode: settings last for this page only */
  }
}

/** `Store.open` options for these settings (the teaching preset, adjusted). */
export function storeOptions(settings) {
  return {
    backend: settings.backend,
    preset: 'teaching',
    memtableMaxEntries: settings.memtableMaxEntries,
    sstableMaxEntries: settings.sstableMaxEntries,
    l0CompactionTrigger: settings.l0CompactionTrigger,
    autoCompaction: settings.autoCompaction,
    ...(settings.backend !== 'memory' ? { durability: settings.durability } : {}),
  };
}
