//! `JournaledFiles`: the store's live files in memory, plus a journal of
//! every mutation not yet persisted.
//!
//! The engine is synchronous and IndexedDB is not. So the engine runs on
//! these in-memory files (implementing the core's `Storage` trait
//! synchronously), and every mutation is also queued here. The async JS
//! method that drove the engine then persists the queue in one IndexedDB
//! transaction (`backend.rs`) and resolves only after it commits. The pure parts
//! of that — turning a batch of mutations into object-store requests, and
//! rebuilding files from stored chunks — live in this module so they can be
//! tested natively.
//!
//! Stored layout (object stores of the IndexedDB database, see `backend.rs` and
//! `wasm/FORMAT.md`):
//! - `files`: key = file name, value = `{ id }`;
//! - `chunks`: key = `[id, offset]`, value = the bytes appended at `offset`.
//!
//! A file's bytes are its chunks in key (offset) order, each one first
//! cutting the file back to its offset; its length is where the last chunk
//! ends. So an append is one new chunk and nothing else (never a rewrite of
//! the file, and no record to update: the common group commit touches one
//! object store with one request), a truncate deletes the chunks past the
//! new length and writes an empty chunk there to cut the one it falls in,
//! and a rename is a change of `files` records only — every one a handful of
//! requests in one atomic transaction.
//!
//! Format 1 records were `{ id, len }`, with `len` cutting the file; a store
//! in that format is converted at open (`coalesce_plan`), off the write path.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use lsmkv::{Error, IoKind, Result, Storage};

/// A file's identity in the `chunks` store. Names change (rename); ids never
/// do, and are never reused while a chunk of the old file could remain.
pub type FileId = u64;

/// A file at load time has more chunks than this: it is rewritten as one
/// chunk (at open, never on the write path), so a long-lived WAL written one
/// small group commit at a time does not slow every later open.
pub const COALESCE_CHUNKS_MIN: usize = 64;

/// One storage mutation, as the engine made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mutation {
    Create {
        name: String,
        id: FileId,
    },
    Append {
        id: FileId,
        offset: u64,
        data: Vec<u8>,
    },
    Truncate {
        id: FileId,
        len: u64,
    },
    /// `replaced`: the id of the file `to` named before, whose chunks go.
    Rename {
        from: String,
        to: String,
        id: FileId,
        replaced: Option<FileId>,
    },
    Remove {
        name: String,
        id: FileId,
    },
}

/// One request against the object stores. A batch's requests run in one
/// transaction, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// The file's record: it exists, under this name, with this id.
    PutFile {
        name: String,
        id: FileId,
    },
    DeleteFile {
        name: String,
    },
    PutChunk {
        id: FileId,
        offset: u64,
        data: Vec<u8>,
    },
    /// Deletes every chunk of `id` whose offset is ≥ `from`.
    DeleteChunks {
        id: FileId,
        from: u64,
    },
}

/// Mutations taken from the journal to persist together.
#[derive(Debug, Default)]
pub struct Batch {
    pub mutations: Vec<Mutation>,
    /// Journal position after the last of them: persisting the batch makes
    /// every mutation up to here durable.
    pub upto: u64,
}

#[derive(Debug)]
struct File {
    id: FileId,
    data: Vec<u8>,
}

#[derive(Debug, Default)]
struct State {
    files: BTreeMap<String, File>,
    next_id: FileId,
    journal: Vec<Mutation>,
    /// Mutations ever journaled (the position of the journal's end).
    journaled: u64,
    /// For each file id, the index in `journal` of its last `Append`, while
    /// nothing else happened to that file since: a contiguous append extends
    /// it, so a table written block by block becomes one chunk.
    open_append: HashMap<FileId, usize>,
}

/// Files in memory with a journal of unpersisted mutations. `Send + Sync`
/// (the core's `Storage` requires it) because it holds only Rust data; the
/// IndexedDB connection lives elsewhere.
#[derive(Debug, Default)]
pub struct JournaledFiles {
    state: Mutex<State>,
}

fn not_found(name: &str) -> Error {
    Error::io(IoKind::NotFound, name, "no such file")
}

impl JournaledFiles {
    /// Files as loaded from storage (`(name, id, bytes)`), nothing journaled.
    pub fn from_loaded(files: Vec<(String, FileId, Vec<u8>)>, next_id: FileId) -> Self {
        let mut state = State { next_id, ..State::default() };
        for (name, id, data) in files {
            state.next_id = state.next_id.max(id + 1);
            state.files.insert(name, File { id, data });
        }
        JournaledFiles { state: Mutex::new(state) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every
        // method mutates only after its checks), so poisoning is ignored.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Journal position: mutations journaled so far.
    pub fn journaled(&self) -> u64 {
        self.lock().journaled
    }

    /// True if mutations wait to be persisted.
    pub fn has_pending(&self) -> bool {
        !self.lock().journal.is_empty()
    }

    /// Takes every journaled mutation, to persist as one batch.
    pub fn take_batch(&self) -> Batch {
        let mut state = self.lock();
        state.open_append.clear();
        Batch { mutations: std::mem::take(&mut state.journal), upto: state.journaled }
    }

    /// Total bytes of the live files.
    pub fn total_bytes(&self) -> u64 {
        self.lock().files.values().map(|f| f.data.len() as u64).sum()
    }
}

impl State {
    fn file(&self, name: &str) -> Result<&File> {
        self.files.get(name).ok_or_else(|| not_found(name))
    }

    fn push(&mut self, mutation: Mutation) {
        let id = match &mutation {
            Mutation::Create { id, .. }
            | Mutation::Append { id, .. }
            | Mutation::Truncate { id, .. }
            | Mutation::Rename { id, .. }
            | Mutation::Remove { id, .. } => *id,
        };
        self.open_append.remove(&id);
        if let Mutation::Rename { replaced: Some(old), .. } = &mutation {
            self.open_append.remove(old);
        }
        let is_append = matches!(mutation, Mutation::Append { .. });
        self.journal.push(mutation);
        self.journaled += 1;
        if is_append {
            self.open_append.insert(id, self.journal.len() - 1);
        }
    }

    /// Extends the file's open append if `offset` continues it.
    fn extend_open_append(&mut self, id: FileId, offset: u64, data: &[u8]) -> bool {
        let Some(&index) = self.open_append.get(&id) else { return false };
        match self.journal.get_mut(index) {
            Some(Mutation::Append { offset: start, data: pending, .. }) if *start + pending.len() as u64 == offset => {
                pending.extend_from_slice(data);
                // Still one more mutation: persist waiters compare positions.
                self.journaled += 1;
                true
            }
            _ => false,
        }
    }
}

impl Storage for JournaledFiles {
    fn create(&self, name: &str) -> Result<()> {
        let mut state = self.lock();
        if state.files.contains_key(name) {
            return Err(Error::io(IoKind::AlreadyExists, name, "file exists"));
        }
        let id = state.next_id;
        if id > FILE_ID_MAX {
            return Err(Error::io(IoKind::Other, name, "file ids exhausted"));
        }
        state.next_id += 1;
        state.files.insert(name.to_string(), File { id, data: Vec::new() });
        state.push(Mutation::Create { name: name.to_string(), id });
        Ok(())
    }

    fn append(&self, name: &str, data: &[u8]) -> Result<()> {
        let mut state = self.lock();
        let file = state.files.get_mut(name).ok_or_else(|| not_found(name))?;
        let (id, offset) = (file.id, file.data.len() as u64);
        file.data.extend_from_slice(data);
        if data.is_empty() || state.extend_open_append(id, offset, data) {
            return Ok(());
        }
        state.push(Mutation::Append { id, offset, data: data.to_vec() });
        Ok(())
    }

    fn read_at(&self, name: &str, offset: u64, buf: &mut [u8]) -> Result<()> {
        let state = self.lock();
        let file = state.file(name)?;
        let range = usize::try_from(offset)
            .ok()
            .and_then(|start| Some(start..start.checked_add(buf.len())?))
            .filter(|range| range.end <= file.data.len())
            .ok_or_else(|| Error::corruption(name, offset, "read past end of file"))?;
        buf.copy_from_slice(&file.data[range]);
        Ok(())
    }

    fn len(&self, name: &str) -> Result<u64> {
        Ok(self.lock().file(name)?.data.len() as u64)
    }

    /// Every mutation is persisted by the next `persist()`, synced or not;
    /// the JS method awaits that before it resolves. Nothing to do here.
    fn sync(&self, name: &str) -> Result<()> {
        self.lock().file(name).map(|_| ())
    }

    fn truncate(&self, name: &str, len: u64) -> Result<()> {
        let mut state = self.lock();
        let file = state.files.get_mut(name).ok_or_else(|| not_found(name))?;
        if len >= file.data.len() as u64 {
            return Ok(());
        }
        file.data.truncate(len as usize);
        let id = file.id;
        state.push(Mutation::Truncate { id, len });
        Ok(())
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        let mut state = self.lock();
        let file = state.files.remove(from).ok_or_else(|| not_found(from))?;
        let id = file.id;
        let replaced = state.files.insert(to.to_string(), file).map(|old| old.id);
        state.push(Mutation::Rename { from: from.to_string(), to: to.to_string(), id, replaced });
        Ok(())
    }

    fn remove(&self, name: &str) -> Result<()> {
        let mut state = self.lock();
        let file = state.files.remove(name).ok_or_else(|| not_found(name))?;
        state.push(Mutation::Remove { name: name.to_string(), id: file.id });
        Ok(())
    }

    fn list(&self) -> Result<Vec<String>> {
        Ok(self.lock().files.keys().cloned().collect())
    }

    fn read_all(&self, name: &str) -> Result<Vec<u8>> {
        Ok(self.lock().file(name)?.data.clone())
    }

    fn exists(&self, name: &str) -> Result<bool> {
        Ok(self.lock().files.contains_key(name))
    }
}

/// The requests that persist `mutations`, to run in one transaction.
///
/// Chunk requests keep the mutations' order (a truncate's delete must follow
/// the appends it cuts and precede the ones after it). File records are
/// written once per name at the end, with the batch's final state: the
/// transaction is atomic, so intermediate records would never be seen. An
/// append writes no record: a batch of appends is chunk puts only.
pub fn plan(mutations: Vec<Mutation>) -> Vec<Request> {
    let mut requests = Vec::new();
    // name -> final record (None: deleted), in first-touched order.
    let mut records: Vec<(String, Option<FileId>)> = Vec::new();
    let mut set = |name: &str, record: Option<FileId>| match records.iter_mut().find(|(n, _)| n == name) {
        Some(slot) => slot.1 = record,
        None => records.push((name.to_string(), record)),
    };
    for mutation in mutations {
        match mutation {
            Mutation::Create { name, id } => set(&name, Some(id)),
            Mutation::Append { id, offset, data } => requests.push(Request::PutChunk { id, offset, data }),
            Mutation::Truncate { id, len } => {
                // The empty chunk at `len` cuts a chunk that `len` falls in;
                // a later append at `len` replaces it.
                requests.push(Request::DeleteChunks { id, from: len });
                requests.push(Request::PutChunk { id, offset: len, data: Vec::new() });
            }
            Mutation::Rename { from, to, id, replaced } => {
                if let Some(old) = replaced {
                    requests.push(Request::DeleteChunks { id: old, from: 0 });
                }
                set(&from, None);
                set(&to, Some(id));
            }
            Mutation::Remove { name, id } => {
                requests.push(Request::DeleteChunks { id, from: 0 });
                set(&name, None);
            }
        }
    }
    for (name, record) in records {
        requests.push(match record {
            Some(id) => Request::PutFile { name, id },
            None => Request::DeleteFile { name },
        });
    }
    requests
}

/// True if `requests` touch only the `chunks` store (then the transaction
/// need not include `files`).
pub fn chunks_only(requests: &[Request]) -> bool {
    requests.iter().all(|r| matches!(r, Request::PutChunk { .. } | Request::DeleteChunks { .. }))
}

/// A stored file record: `(name, id, len)`, where `len` is present only in
/// format 1 records (`{ id, len }`), which cut the file to `len`.
pub type Record = (String, FileId, Option<u64>);

/// Files rebuilt from stored records and chunks.
#[derive(Debug, Default)]
pub struct Loaded {
    /// `(name, id, bytes)` for every file record.
    pub files: Vec<(String, FileId, Vec<u8>)>,
    /// One more than any id seen in either store.
    pub next_id: FileId,
    /// Chunk count per file id, to decide which files to coalesce.
    pub chunk_counts: HashMap<FileId, usize>,
    /// Ids with chunks but no record (left by nothing we know of; removed).
    pub orphans: Vec<FileId>,
    /// Format 1 records, to convert: `(name, id, cut)`, where `cut` is the
    /// record's `len` if the chunks held more bytes than that.
    pub legacy: Vec<(String, FileId, Option<u64>)>,
}

impl Loaded {
    /// Files with more than `COALESCE_CHUNKS_MIN` chunks (`coalesce_plan`
    /// rewrites each as one).
    pub fn fragmented(&self) -> usize {
        self.files
            .iter()
            .filter(|(_, id, _)| self.chunk_counts.get(id).copied().unwrap_or(0) > COALESCE_CHUNKS_MIN)
            .count()
    }
}

/// Ids are stored as JavaScript numbers, exact up to 2^53 - 1.
pub const FILE_ID_MAX: FileId = (1 << 53) - 1;

/// The highest id a loaded journal may hold. No writer gets near it (2^52
/// files at a million a second take 140 years), and the half of the id
/// space above it stays free, so a store that loads can always create
/// files: a higher id is damage, not history.
pub const LOADED_ID_MAX: FileId = FILE_ID_MAX / 2;

/// The id after a stored `id`; one beyond `LOADED_ID_MAX` is corruption.
fn id_after(id: FileId) -> Result<FileId> {
    if id >= LOADED_ID_MAX {
        return Err(Error::corruption(&format!("indexeddb file id {id}"), 0, "file id out of range"));
    }
    Ok(id + 1)
}

/// Rebuilds files from `records` and `chunks` (`(id, offset, bytes)` in key
/// order, as a cursor over `[id, offset]` returns them). A gap between
/// chunks, or a format 1 record longer than its chunks, is corruption, named
/// by file.
pub fn load(records: Vec<Record>, chunks: Vec<(FileId, u64, Vec<u8>)>) -> Result<Loaded> {
    let mut bodies: HashMap<FileId, Vec<u8>> = HashMap::new();
    let mut loaded = Loaded::default();
    for (id, offset, data) in chunks {
        loaded.next_id = loaded.next_id.max(id_after(id)?);
        *loaded.chunk_counts.entry(id).or_default() += 1;
        let body = bodies.entry(id).or_default();
        if offset > body.len() as u64 {
            return Err(Error::corruption(
                &format!("indexeddb file id {id}"),
                offset,
                format!("chunk at offset {offset} leaves a gap after {} bytes", body.len()),
            ));
        }
        body.truncate(offset as usize);
        body.extend_from_slice(&data);
    }
    for (name, id, len) in records {
        loaded.next_id = loaded.next_id.max(id_after(id)?);
        let mut body = bodies.remove(&id).unwrap_or_default();
        if let Some(len) = len {
            if (body.len() as u64) < len {
                return Err(Error::corruption(
                    &name,
                    body.len() as u64,
                    format!("indexeddb holds {} of the file's {len} bytes", body.len()),
                ));
            }
            let cut = (body.len() as u64 > len).then_some(len);
            body.truncate(len as usize);
            loaded.legacy.push((name.clone(), id, cut));
        }
        loaded.files.push((name, id, body));
    }
    loaded.orphans = bodies.into_keys().collect();
    loaded.orphans.sort_unstable();
    Ok(loaded)
}

/// Requests to run once after a load, in their own transaction: rewrite each
/// over-fragmented file as one chunk, drop orphaned chunks, and convert
/// format 1 records (cutting with an empty chunk where their `len` did).
pub fn coalesce_plan(loaded: &Loaded) -> Vec<Request> {
    let mut requests = Vec::new();
    let mut rewritten = Vec::new();
    for (_, id, body) in &loaded.files {
        if loaded.chunk_counts.get(id).copied().unwrap_or(0) > COALESCE_CHUNKS_MIN {
            requests.push(Request::DeleteChunks { id: *id, from: 0 });
            requests.push(Request::PutChunk { id: *id, offset: 0, data: body.clone() });
            rewritten.push(*id);
        }
    }
    for id in &loaded.orphans {
        requests.push(Request::DeleteChunks { id: *id, from: 0 });
    }
    for (name, id, cut) in &loaded.legacy {
        if let (Some(len), false) = (cut, rewritten.contains(id)) {
            requests.push(Request::DeleteChunks { id: *id, from: *len });
            requests.push(Request::PutChunk { id: *id, offset: *len, data: Vec::new() });
        }
        requests.push(Request::PutFile { name: name.clone(), id: *id });
    }
    requests
}

#[cfg(test)]
mod tests;
