'use strict'

// The upstream suite in Node, on the memory backend. Optional argument: a
// Store preset ('teaching' makes tiny memtables and tables, so the suite's
// reads go through SSTables, bloom filters and compactions too).

const test = require('tape')
const { LsmkvLevel } = require('..')
const preset = process.argv[2]

require('./suite.js')(test, LsmkvLevel, 'memory', preset ? { preset } : {})
