'use strict'

// Node entry point: the engine from the `--target nodejs` build (wasm/pkg-node),
// loaded on first open. Node has no IndexedDB, so the default backend is
// 'memory'.

const { createLevelClass } = require('./lib/level.js')

let binding = null

function loadBinding () {
  if (binding === null) {
    binding = Promise.resolve().then(() => require('../pkg-node/lsmkv_wasm.js'))
  }
  return binding
}

const LsmkvLevel = createLevelClass(loadBinding, {
  defaultBackend: () => (typeof globalThis.indexedDB !== 'undefined' ? 'indexeddb' : 'memory')
})

exports.LsmkvLevel = LsmkvLevel
