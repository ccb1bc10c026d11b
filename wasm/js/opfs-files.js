// lsmkv-wasm's OPFS file layer: the asynchronous OPFS calls the Rust side
// awaits (the OPFS backend in a worker, `src/opfs/backend.rs`, and the
// IndexedDB backend's wipe marker, `src/idb/wipe.rs`), and where they can
// run. The synchronous calls on open files (read, write, truncate, flush)
// go through web-sys's `FileSystemSyncAccessHandle` directly.
//
// A wasm-bindgen snippet (`#[wasm_bindgen(module = "/js/opfs-files.js")]`):
// it ships inside every build of the package, next to the glue.

export async function lsmkv_opfs_directory(path, create) {
  let dir = await navigator.storage.getDirectory();
  for (const name of path) dir = await dir.getDirectoryHandle(name, { create });
  return dir;
}

export async function lsmkv_opfs_file_names(dir) {
  const names = [];
  for await (const [name, handle] of dir.entries()) if (handle.kind === 'file') names.push(name);
  return names;
}

/** Opens sync access handles in parallel; on any failure closes the rest and rethrows. */
export async function lsmkv_opfs_open_handles(dir, names, create) {
  const results = await Promise.allSettled(
    names.map(async (name) => (await dir.getFileHandle(name, { create })).createSyncAccessHandle()));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) {
    for (const r of results) if (r.status === 'fulfilled') r.value.close();
    throw failed.reason;
  }
  return results.map((r) => r.value);
}

export async function lsmkv_opfs_remove(dir, name, recursive) {
  await dir.removeEntry(name, { recursive });
}

/** A file's existence as a marker (the IndexedDB backend's wipe detection). */
export async function lsmkv_opfs_marker(path, name, action) {
  const storage = globalThis.navigator && globalThis.navigator.storage;
  if (!storage || !storage.getDirectory) return null;
  let dir;
  try {
    dir = await lsmkv_opfs_directory(path, action === 'create');
  } catch (error) {
    if (error && error.name === 'NotFoundError') return false;
    throw error;
  }
  try {
    if (action === 'remove') {
      await dir.removeEntry(name);
      return true;
    }
    await dir.getFileHandle(name, { create: action === 'create' });
    return true;
  } catch (error) {
    if (error && error.name === 'NotFoundError') return false;
    throw error;
  }
}

export function inDedicatedWorker() {
  return typeof DedicatedWorkerGlobalScope === 'function' && globalThis instanceof DedicatedWorkerGlobalScope;
}

/** True where a store can open OPFS files itself: a dedicated worker. */
export function lsmkv_opfs_sync_capable() {
  return inDedicatedWorker() && typeof FileSystemSyncAccessHandle === 'function'
    && !!(globalThis.navigator && navigator.storage && navigator.storage.getDirectory);
}
