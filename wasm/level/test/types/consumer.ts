// Type-checked, never run: the declarations let a TypeScript user do what
// the README shows.
import { LsmkvLevel } from '../../index.js'

async function main (): Promise<void> {
  const db = new LsmkvLevel<string, { n: number }>('example', {
    backend: 'memory',
    valueEncoding: 'json',
    store: { preset: 'teaching', durability: 'relaxed' }
  })
  await db.put('a', { n: 1 })
  const value: { n: number } | undefined = await db.get('a')
  const entries: Array<[string, { n: number }]> = await db.iterator({ gte: 'a', limit: 10 }).all()
  const bytes: Uint8Array | undefined = await db.get('a', { valueEncoding: 'view' })
  const snapshot = db.snapshot()
  const many = await db.getMany(['a', 'b'], { snapshot })
  await snapshot.close()
  const has: boolean = await db.has('a')
  await db.clear({ gt: 'a' })
  const sub = db.sublevel<string, string>('sub', { valueEncoding: 'utf8' })
  await sub.put('x', 'y')
  const store = db.store
  if (store !== null) await store.stats()
  const backend: 'indexeddb' | 'memory' = db.backend
  console.log(value, entries, bytes, many, has, backend)
  await db.close()
}

void main()

// The browser entry point: the same class, plus initWasm.
import { initWasm, LsmkvLevel as BrowserLevel } from '../../browser.mjs'
void initWasm(new URL('https://example.invalid/lsmkv_wasm_bg.wasm')).then(() => new BrowserLevel('b').close())
