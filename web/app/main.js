// The playground's entry point: loads the wasm engine (the glue's and the
// module's hashed names are in <meta> tags Trunk writes — no inline
// script), makes the parts, lays out the five views beside the LSM picture,
// and opens the store. Each step below is one function; main() runs them.

import { h, replace, errorText } from './dom.js';
import { backendLabel } from './settings.js';
import { Session } from './session.js';
import { History } from './history.js';
import { Picture } from './picture.js';
import { TableInspector } from './inspector.js';
import { SettingsDialog } from './settings-dialog.js';
import { Dashboard } from './views/dashboard.js';
import { DataBrowser } from './views/browser.js';
import { Operations } from './views/operations.js';
import { Demo } from './views/demo.js';
import { Analytics } from './views/analytics.js';

const root = document.getElementById('app');

function meta(name) {
  const el = document.querySelector(`meta[name="${name}"]`);
  return el ? el.getAttribute('content') : null;
}

function fatal(text) {
  root.className = 'fatal';
  replace(root, h('h1', { text: 'The playground could not start' }), h('p', { attrs: { role: 'alert' }, text }));
}

/** The wasm engine's JS glue, initialised; null (and the page says why) if it cannot load. */
async function loadEngine() {
  try {
    const glueUrl = meta('lsmkv-glue');
    const wasmUrl = meta('lsmkv-wasm');
    if (!glueUrl || !wasmUrl) throw new Error('this page was not built by Trunk (the lsmkv-glue and lsmkv-wasm meta tags are missing): run `trunk serve` or `trunk build`');
    const glue = await import(glueUrl);
    await glue.default({ module_or_path: wasmUrl });
    return glue;
  } catch (error) {
    fatal(`Loading the lsmkv WebAssembly engine failed: ${errorText(error)}`);
    return null;
  }
}

/** The session and everything that shows it. */
function makeParts(Store) {
  const session = new Session(Store);
  const history = new History(session);
  const inspector = new TableInspector(session);
  const picture = new Picture(session, inspector);
  const explainKey = (key) => picture.explainKey(key);
  const views = {
    dashboard: new Dashboard(session),
    browser: new DataBrowser(session, explainKey),
    operations: new Operations(session, explainKey),
    demo: new Demo(session),
    analytics: new Analytics(history),
  };
  return { session, inspector, picture, settings: new SettingsDialog(session), views };
}

/** The page: header (tabs, store label, Settings), banner, the views beside the picture, the dialogs. */
function layOut({ picture, inspector, settings, views }) {
  const banner = h('div', { class: 'banner', attrs: { role: 'alert', 'data-testid': 'banner', hidden: true } });
  const storeLabel = h('span', { class: 'store-label', attrs: { 'data-testid': 'store-label' } });
  const tabs = Object.entries(views).map(([id, view]) => h('a', { class: 'tab', attrs: { href: `#${id}`, 'data-testid': `tab-${id}` }, text: view.title }));
  const host = h('main', { class: 'view-host', attrs: { id: 'main' } });
  for (const view of Object.values(views)) {
    view.el.hidden = true;
    host.append(view.el);
  }
  const header = h(
    'header',
    { class: 'top' },
    h('div', { class: 'brand' }, h('strong', { text: 'lsmkv' }), ' playground'),
    h('nav', { class: 'tabs', attrs: { 'aria-label': 'Views' } }, tabs),
    storeLabel,
    h('button', { attrs: { type: 'button', 'data-testid': 'open-settings' }, text: 'Settings', on: { click: () => settings.open() } }),
  );
  root.className = 'app';
  replace(root, h('a', { class: 'skip', attrs: { href: '#main' }, text: 'Skip to the view' }), header, banner, h('div', { class: 'layout' }, host, picture.el), inspector.dialog, settings.dialog);
  const showBanner = (text, action) => {
    replace(banner, h('span', { text }), action || null);
    banner.hidden = !text;
  };
  return { banner, showBanner, storeLabel, tabs };
}

/** Shows the view the location's hash names (the Dashboard by default); returns the function that does. */
function routeTabs(views, tabs) {
  const route = () => {
    const id = (location.hash || '#dashboard').slice(1);
    const current = views[id] ? id : 'dashboard';
    for (const [name, view] of Object.entries(views)) {
      const on = name === current;
      view.el.hidden = !on;
      view.visible = on;
    }
    for (const tab of tabs) {
      if (tab.getAttribute('href') === `#${current}`) tab.setAttribute('aria-current', 'page');
      else tab.removeAttribute('aria-current');
    }
    document.title = `${views[current].title} · lsmkv playground`;
    if (typeof views[current].shown === 'function') views[current].shown();
  };
  window.addEventListener('hashchange', route);
  return route;
}

/** The header's store label, and the banner when the store cannot open or the engine reports an error. */
function showStoreState(session, { banner, showBanner, storeLabel }) {
  session.subscribe((u) => {
    const s = session.settings;
    // On the server the caps are its --preset's: shown as the engine reports them.
    const caps = s.backend === 'server' ? (session.stats ? `${session.stats.memtableMaxEntries}/${session.stats.sstableMaxEntries}` : '…') : `${s.memtableMaxEntries}/${s.sstableMaxEntries}`;
    storeLabel.textContent = s.backend === 'server' ? `${backendLabel(s.backend)} · caps ${caps}` : `“${s.name}” · ${backendLabel(s.backend)} · caps ${caps}`;
    if (u.reason === 'failed') {
      const locked = u.error && u.error.code === 'LSMKV_LOCKED';
      showBanner(
        locked ? `The store “${s.name}” is open in another tab. Close it there, or pick another store name in Settings.` : `The store could not be opened: ${errorText(u.error)}`,
        h('button', { attrs: { type: 'button' }, text: 'Try again', on: { click: () => session.open().catch(() => {}) } }),
      );
    } else if (u.reason === 'error' && u.error) {
      showBanner(`The engine reported an error: ${errorText(u.error)}`);
    } else if (session.state === 'open' && !banner.hidden && u.reason !== 'sample') {
      showBanner('');
    }
  });
}

/**
 * A last resort: anything that escaped a view's own error handling is
 * shown (and still reported on the console, where it belongs).
 */
function showStrayErrors({ showBanner }) {
  window.addEventListener('unhandledrejection', (e) => showBanner(`Unexpected error: ${errorText(e.reason)}`));
  window.addEventListener('error', (e) => showBanner(`Unexpected error: ${e.message}`));
}

/** Releases the IndexedDB connection and the lock promptly when the page goes (writes are already durable). */
function closeOnPageHide(session) {
  window.addEventListener('pagehide', () => {
    if (session.store) session.store.close().catch(() => {});
  });
}

async function openStore(session) {
  try {
    await session.open();
  } catch {
    /* shown in the banner */
  }
}

async function main() {
  const glue = await loadEngine();
  if (!glue) return;
  const parts = makeParts(glue.Store);
  const shell = layOut(parts);
  const route = routeTabs(parts.views, shell.tabs);
  showStoreState(parts.session, shell);
  showStrayErrors(shell);
  closeOnPageHide(parts.session);
  route();
  await openStore(parts.session);
  document.body.dataset.ready = 'true';
  route();
}

main();
