'use strict'

// lsmkv-level's own tests (Node, memory backend): what the upstream suite
// does not pin down about this adapter.

const test = require('tape')
const { LsmkvLevel } = require('..')

let count = 0
const open = async (options = {}) => {
  const db = new LsmkvLevel(`extra-${++count}`, { backend: 'memory', ...options })
  await db.open()
  return db
}

const pad = (i) => String(i).padStart(5, '0')

test('clear() spans several pages and spares writes called while it runs', async (t) => {
  const db = await open()
  const batch = db.batch()
  for (let i = 0; i < 2500; i++) batch.put(`k${pad(i)}`, 'old')
  await batch.write()

  // Called, not awaited: clear() pages through 2500 keys (several Store
  // round trips); these writes come after it and must survive it.
  const cleared = db.clear()
  const written = Promise.all([db.put('k02499', 'new'), db.batch([{ type: 'put', key: 'k00000', value: 'new' }])])
  await Promise.all([cleared, written])

  t.same(await db.iterator().all(), [['k00000', 'new'], ['k02499', 'new']])
  return db.close()
})

test('clear() with a range, limit and reverse deletes exactly those keys', async (t) => {
  const db = await open()
  await db.batch(Array.from({ length: 1500 }, (_, i) => ({ type: 'put', key: `k${pad(i)}`, value: 'v' })))
  await db.clear({ gte: 'k00100', lt: 'k01400', reverse: true, limit: 1100 })
  const keys = await db.keys().all()
  t.is(keys.length, 400)
  t.is(keys[99], 'k00099')
  t.is(keys[100], 'k00100', 'the lowest 200 of the range remain')
  t.is(keys[299], 'k00299')
  t.is(keys[300], 'k01400')
  return db.close()
})

test('a memory store keeps its data across close() and open() of the same object', async (t) => {
  const db = await open()
  await db.put('a', '1')
  await db.close()
  await db.open()
  t.is(await db.get('a'), '1')
  t.is(db.supports.permanence, false, 'but not across objects or processes')
  return db.close()
})

test('empty keys, bytes that are not UTF-8, and key order across encodings', async (t) => {
  const db = await open()
  await db.put('', 'empty')
  await db.put(Uint8Array.from([0xff, 0x00]), 'ff00', { keyEncoding: 'view' })
  await db.put('\u0000', 'nul')
  await db.put('a', 'a')
  const keys = await db.keys({ keyEncoding: 'view' }).all()
  t.same(keys.map((k) => Array.from(k)), [[], [0x00], [0x61], [0xff, 0x00]])
  t.is(await db.get(Uint8Array.from([0xff, 0x00]), { keyEncoding: 'view' }), 'ff00')
  t.same(await db.values({ lt: '\u0000' }).all(), ['empty'])
  return db.close()
})

test('values round-trip byte-exact and as strings, whatever format wrote them', async (t) => {
  const db = await open()
  const bytes = Uint8Array.from([0, 1, 2, 0xfe, 0xff])
  await db.put('bytes', bytes, { valueEncoding: 'view' })
  await db.put('text', 'héllo')
  t.same(await db.get('bytes', { valueEncoding: 'view' }), bytes)
  t.same(await db.get('text', { valueEncoding: 'view' }), new TextEncoder().encode('héllo'))
  t.same(await db.get('text', { valueEncoding: 'buffer' }), Buffer.from('héllo'))
  t.is(await db.get('text'), 'héllo')
  return db.close()
})

test('keys live under the 0x00 namespace byte of the Store underneath', async (t) => {
  const db = await open()
  await db.put('k', 'v')
  t.same(await db.store.keys({ keyEncoding: 'binary' }), [Uint8Array.from([0x00, 0x6b])])
  t.is(await db.store.get('\u0000k'), 'v')
  // Keys outside the namespace (another Store user's) are invisible.
  await db.store.put('outside', 'x')
  t.same(await db.keys().all(), ['k'])
  await db.clear()
  t.is(await db.store.get('outside'), 'x', 'clear() leaves them alone')
  return db.close()
})

test('iterator seek() within a range, and after the end', async (t) => {
  const db = await open()
  await db.batch(Array.from({ length: 50 }, (_, i) => ({ type: 'put', key: `k${pad(i)}`, value: String(i) })))
  const it = db.iterator({ gte: 'k00010', lt: 'k00040' })
  t.same(await it.next(), ['k00010', '10'])
  it.seek('k00035')
  t.same(await it.nextv(3), [['k00035', '35'], ['k00036', '36'], ['k00037', '37']])
  it.seek('k00000')
  t.same(await it.next(), ['k00010', '10'], 'a target below the range starts at its start')
  it.seek('k00099')
  t.is(await it.next(), undefined)
  await it.close()
  const reverse = db.keys({ reverse: true })
  reverse.seek('k00020x')
  t.same(await reverse.nextv(2), ['k00020', 'k00019'])
  await reverse.close()
  return db.close()
})

test('the teaching preset really puts the data in SSTables', async (t) => {
  const db = await open({ store: { preset: 'teaching' } })
  await db.batch(Array.from({ length: 200 }, (_, i) => ({ type: 'put', key: `k${pad(i)}`, value: String(i) })))
  const stats = await db.store.stats()
  t.ok(stats.flushes > 0, `${stats.flushes} flushes`)
  t.ok(stats.levels.some((level) => level.tables.length > 0), 'tables exist')
  t.is((await db.keys().all()).length, 200)
  return db.close()
})

test('getSync() sees writes called before it, and reads at a snapshot', async (t) => {
  const db = await open({ store: { preset: 'teaching' } })
  t.is(db.supports.getSync, true)
  const put = db.put('a', '1') // called, not awaited
  t.is(db.getSync('a'), '1')
  t.is(db.getSync('missing'), undefined)
  await put
  // Enough to flush and compact (30-entry memtables): found in tables too.
  await db.batch(Array.from({ length: 100 }, (_, i) => ({ type: 'put', key: `k${pad(i)}`, value: String(i) })))
  t.is(db.getSync('k00042'), '42')
  t.same(db.getSync('k00042', { valueEncoding: 'buffer' }), Buffer.from('42'))
  const snapshot = db.snapshot()
  const change = db.put('k00042', 'changed')
  t.is(db.getSync('k00042', { snapshot }), '42')
  t.is(db.getSync('k00042'), 'changed')
  await change
  await snapshot.close()
  return db.close()
})

test('explicit snapshots: reads see the state at snapshot() time', async (t) => {
  const db = await open()
  await db.put('a', '1')
  const snapshot = db.snapshot()
  // Called right after snapshot(), not awaited before it.
  const put = db.put('a', '2')
  t.is(await db.get('a', { snapshot }), '1')
  await put
  t.same(await db.iterator({ snapshot }).all(), [['a', '1']])
  t.same(await db.getMany(['a', 'b'], { snapshot }), ['1', undefined])
  t.same(await db.hasMany(['a', 'b'], { snapshot }), [true, false])
  t.is(await db.get('a'), '2')
  await snapshot.close()
  return db.close()
})
