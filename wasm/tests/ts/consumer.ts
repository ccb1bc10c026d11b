// Type-checked (never run) by `tsc --noEmit -p wasm/tests/ts`: a consumer
// of the generated declarations, proving the API is typed precisely — no
// `any` for options, reports or events — and that misuse does not compile.
import {
  Store, Snapshot, StoreIterator,
  type StoreOptions, type Stats, type StoreHealth, type EventPage, type StoreEvent,
  type Value, type Key, type LsmkvError, type ErrorCode, type GetTrace, type TableInspection,
  type OpfsHealth, type WipeReport,
} from '../../pkg/lsmkv_wasm.js';

async function use(): Promise<void> {
  const options: StoreOptions = { backend: 'indexeddb', preset: 'teaching', durability: 'relaxed', lock: 'wait', persist: true };
  const store: Store = await Store.open('typed', options);
  await Store.open('defaults');
  await store.put('k', { nested: [1, 'two', null, true] });
  await store.put(new Uint8Array([1]), new Uint8Array([2]));
  const value: Value | undefined = await store.get('k');
  await store.get('k', { snapshot: await store.snapshot() });
  const now: Value | undefined = store.getSync('k', { snapshot: store.snapshotSync() });
  const rows: Array<[Key, Value]> = await store.range({ gte: 'a', lt: 'z', reverse: true, limit: 10 });
  const keys: Key[] = await store.keys();
  await store.batch([{ type: 'put', key: 'a', value: 1 }, { type: 'del', key: 'b' }]);
  await store.batchPut([['a', 'x']]);
  await store.batchPut({ 'product:1': { name: 'Lamp' }, 'product:2': 'x' });
  await store.batchPut(new Map<Key, Value>([['a', 1], [new Uint8Array([1]), null]]));
  const stats: Stats = await store.stats();
  const cap: number = stats.memtableMaxEntries + stats.levels[0].tables.length;
  const health: StoreHealth = await store.health();
  const quota: number | null | undefined = health.storage?.quota;
  const wiped: WipeReport | null = health.wipe;
  const onOpfs: Store = await Store.open('on-opfs', { backend: 'opfs', opfsGlueUrl: '/pkg/lsmkv_wasm.js' });
  const opfsHealth: OpfsHealth | null = (await onOpfs.health()).opfs;
  await Store.destroy('on-opfs', { backend: 'opfs' });
  await Store.destroy('on-idb');
  void [wiped, opfsHealth];
  const page: EventPage = await store.events(0);
  for (const event of page.events) describe(event);
  const trace: GetTrace = await store.explainGet('k');
  const table: TableInspection = await store.inspectTable(1);
  const it: StoreIterator = await store.iterator({ prefix: 'a' });
  const batch: Array<[Key, Value]> = await it.next(50);
  await it.seek('b');
  it.close();
  const snapshot: Snapshot = await store.snapshot();
  snapshot.release();
  try {
    await store.close();
  } catch (e) {
    const code: ErrorCode = (e as LsmkvError).code;
    void code;
  }
  void [value, now, rows, keys, cap, quota, trace, table, batch];

  // @ts-expect-error: unknown backend
  await Store.open('bad', { backend: 'floppy' });
  // @ts-expect-error: destroy deletes durable stores only
  await Store.destroy('bad', { backend: 'memory' });
  // @ts-expect-error: options are typed, not any
  await Store.open('bad', { memtableMaxEntries: 'thirty' });
  // @ts-expect-error: keys are strings or bytes
  await store.put(42, 'v');
  // @ts-expect-error: undefined is not a value
  await store.put('k', undefined);
  // @ts-expect-error: batch ops have a type
  await store.batch([{ key: 'a' }]);
}

function describe(event: StoreEvent): string {
  switch (event.type) {
    case 'flushed': return `flush of ${event.report.memtableEntries} entries`;
    case 'compacted': return `compaction to L${event.report.outputLevel}`;
    case 'walTailTruncated': return `${event.file}: ${event.droppedBytes} bytes cut`;
    case 'storageNotice': return event.message;
    default: return `${event.type} #${event.cursor}`;
  }
}

void use;
