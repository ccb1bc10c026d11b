'use strict'

// Bundles the upstream suite + the adapter for the browser (esbuild), serves
// the page on 127.0.0.1, runs it in headless Chromium (playwright-core with
// Debian's /usr/bin/chromium), and prints tape's TAP output. Exits 1 on any
// failure, on a page error, or if the suite does not finish.
//
//   node test/browser/run.js [--preset teaching] [--timeout SECONDS]

const fs = require('fs')
const http = require('http')
const path = require('path')
const esbuild = require('esbuild')
const { chromium } = require('playwright-core')
const { Tally } = require('../tally.js')

const here = __dirname
const root = path.resolve(here, '../..')
const out = path.join(root, 'build', 'browser')
const pkg = path.resolve(root, '../pkg')
function option (name, fallback) {
  const at = process.argv.indexOf(name)
  return at > 0 ? process.argv[at + 1] : fallback
}
const timeoutSeconds = Number(option('--timeout', '1200'))
const preset = option('--preset', '')
const label = `chromium-indexeddb${preset ? '-' + preset : ''}`

const chromiumArgs = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'
]

const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.map': 'application/json' }

async function bundle () {
  fs.rmSync(out, { recursive: true, force: true })
  fs.mkdirSync(out, { recursive: true })
  await esbuild.build({
    entryPoints: [path.join(here, 'entry.mjs')],
    outfile: path.join(out, 'suite.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    logLevel: 'warning',
    alias: { path: 'path-browserify', stream: 'stream-browserify' },
    // wasm-bindgen's glue lists its inline JS snippet twice in one import object.
    logOverride: { 'duplicate-object-key': 'silent' },
    inject: [path.join(here, 'process-shim.js')],
    // tape reads __dirname (to shorten stack paths in failure reports).
    define: { global: 'globalThis', __dirname: '"/"' }
  })
  // pkg's init fetches the module from next to the script (import.meta.url).
  fs.copyFileSync(path.join(pkg, 'lsmkv_wasm_bg.wasm'), path.join(out, 'lsmkv_wasm_bg.wasm'))
  fs.copyFileSync(path.join(here, 'index.html'), path.join(out, 'index.html'))
}

function serve () {
  const server = http.createServer((req, res) => {
    const name = path.normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^[/\\]+/, '')
    const file = path.join(out, name || 'index.html')
    if (!file.startsWith(out) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' })
    fs.createReadStream(file).pipe(res)
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

async function main () {
  await bundle()
  const server = await serve()
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: chromiumArgs })
  const tally = new Tally()
  let pageError = null
  let failed = true
  try {
    const page = await browser.newPage()
    page.on('console', (message) => {
      const text = message.text()
      if (message.type() === 'error' || message.type() === 'warning') process.stderr.write(`[console.${message.type()}] ${text}\n`)
      else {
        for (const line of text.split('\n')) tally.line(line)
        process.stdout.write(text + '\n')
      }
    })
    // An uncaught error or rejection in the page fails the run at once.
    const crashed = new Promise((resolve) => page.on('pageerror', (error) => {
      pageError = error
      process.stderr.write(`[pageerror] ${error.stack || error}\n`)
      resolve()
    }))
    const { port } = server.address()
    await page.goto(`http://127.0.0.1:${port}/index.html${preset ? '?preset=' + encodeURIComponent(preset) : ''}`)
    const done = page.waitForFunction(() => globalThis.__suiteDone, null, {
      timeout: timeoutSeconds * 1000,
      polling: 250
    })
    done.catch(() => {}) // settled below, or moot once the page crashed
    const finished = await Promise.race([done, crashed])
    if (finished !== undefined) failed = (await finished.jsonValue()).failed
  } catch (error) {
    process.stderr.write(`browser suite did not finish: ${error.stack || error}\n`)
  } finally {
    await browser.close()
    server.close()
  }
  process.stdout.write(tally.summary(label) + '\n')
  if (failed || pageError !== null || !tally.good) process.exitCode = 1
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`)
  process.exitCode = 1
})
