// Launches Debian's Chromium headless through playwright-core (which
// downloads no browser), with the flags toolchain.md found to work here.
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from '../../scripts/serve.mjs';

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/**
 * The same Chromium with a persistent profile in `dir` (a BrowserContext):
 * IndexedDB and OPFS on disk, as in a user's browser. `launch()`'s contexts
 * are off the record, where Chromium keeps both in memory.
 */
export async function launchPersistent(dir) {
  return chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/** A page on the test server with the package loaded as `window.lsmkv`. */
export async function openPage(context, url, errors) {
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  await page.goto(`${url}/wasm/tests/browser/blank.html`);
  await page.evaluate(async () => {
    const lsmkv = await import('/wasm/pkg/lsmkv_wasm.js');
    await lsmkv.default();
    window.lsmkv = lsmkv;
  });
  return page;
}

/**
 * A static server over the repository and one headless Chromium, for a test
 * file's `before` hook: `{ url, browser, stop }`.
 */
export async function start() {
  const { server, url } = await serve(fileURLToPath(new URL('../../..', import.meta.url)));
  const browser = await launch();
  const stop = async () => {
    await browser.close();
    server.close();
  };
  return { url, browser, stop };
}
