'use strict'

// Runs abstract-level's own test suite, unmodified, against LsmkvLevel.
// `LsmkvLevel` and `backend` come from the environment's entry point.

const suite = require('abstract-level/test')

module.exports = function run (test, LsmkvLevel, backend, store) {
  const run = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
  let count = 0
  suite({
    test,
    factory (options) {
      return new LsmkvLevel(`abstract-level-suite-${run}-${++count}`, { ...options, backend, store })
    }
  })
}
