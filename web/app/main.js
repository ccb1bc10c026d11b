// The playground's entry point: loads the wasm engine (the glue's and the
// module's hashed names are in <meta> tags Trunk writes — no inline
// script), opens the store, and lays out the five views beside the LSM
// picture.

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

async function loadEngine() {
  const glueUrl = meta('lsmkv-glue');
  const wasmUrl = meta('lsmkv-wasm');
  if (!glueUrl || !wasmUrl) throw new Error('this page was not built by Trunk (the lsmkv-glue and lsmkv-wasm meta tags are missing): run `trunk serve` or `trunk build`');
  const glue = await import(glueUrl);
  await glue.default({ module_or_path: wasmUrl });
  return glue;
}

async function main() {
  let glue;
  try {
    glue = await loadEngine();
  } catch (error) {
    fatal(`Loading the lsmkv WebAssembly engine failed: ${errorText(error)}`);
    return;
  }

  const session = new Session(glue.Store);
  const history = new History(session);
  const inspector = new TableInspector(session);
  const picture = new Picture(session, inspector);
  const settings = new SettingsDialog(session);
  const explainKey = (key) => picture.explainKey(key);
  const views = {
    dashboard: new Dashboard(session),
    browser: new DataBrowser(session, explainKey),
    operations: new Operations(session, explainKey),
    demo: new Demo(session),
    analytics: new Analytics(history),
  };

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

  function showBanner(text, action) {
    replace(banner, h('span', { text }), action || null);
    banner.hidden = !text;
  }

  function route() {
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
  }
  window.addEventListener('hashchange', route);

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

  // A last resort: anything that escaped a view's own error handling is
  // shown (and still reported on the console, where it belongs).
  window.addEventListener('unhandledrejection', (e) => showBanner(`Unexpected error: ${errorText(e.reason)}`));
  window.addEventListener('error', (e) => showBanner(`Unexpected error: ${e.message}`));
  window.addEventListener('pagehide', () => {
    // Release the IndexedDB connection and the lock promptly (writes are already durable).
    if (session.store) session.store.close().catch(() => {});
  });

  route();
  try {
    await session.open();
  } catch {
    /* shown in the banner */
  }
  document.body.dataset.ready = 'true';
  route();
}

main();
