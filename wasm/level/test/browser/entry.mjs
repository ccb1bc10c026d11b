// The page's script: the upstream suite on the IndexedDB backend. TAP goes
// to the console (tape's browser output); the runner reads it from there.

import test from 'tape'
import { LsmkvLevel } from '../../browser.mjs'
import runSuite from '../suite.js'

let failed = false
test.onFailure(() => { failed = true })
test.onFinish(() => {
  globalThis.__suiteDone = { failed }
})

// ?preset=teaching: tiny memtables and tables, so the suite's reads also go
// through SSTables, bloom filters and compactions persisted in IndexedDB.
const preset = new URLSearchParams(globalThis.location.search).get('preset')
runSuite(test, LsmkvLevel, 'indexeddb', preset ? { preset } : {})
