//! The Raft log, in an lsmkv store of its own (`<data-dir>/raft-log`) whose
//! writes return only once synced (`Durability::Sync`). Keys:
//!
//! ```text
//! "e" + index (u64, big-endian)   an entry, as JSON (big-endian: key order is index order)
//! "m/vote"                        the vote, as JSON
//! "m/purged"                      the last purged log id, as JSON
//! "m/committed"                   the last committed log id known, as JSON (a hint)
//! ```
//!
//! Every change is one atomic `WriteBatch`: `append` writes all its entries
//! in one and reports them flushed only after it returns; `purge` writes the
//! new last-purged id in the same batch as the deletions, so the two cannot
//! part in a crash; `truncate` deletes the whole tail in one batch, so it
//! never leaves a hole. BENCHMARKS.md compares this store with an
//! append-only file.

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::{Arc, Mutex};

use lsmkv::{Db, Durability, FsStorage, Options, RangeOptions, WriteBatch};
use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{Entry, LogId, OptionalSend, RaftLogReader, StorageError, StorageIOError, Vote};

use super::{blocking, NodeId, TypeConfig};

const ENTRY_PREFIX: u8 = b'e';
const VOTE_KEY: &[u8] = b"m/vote";
const PURGED_KEY: &[u8] = b"m/purged";
const COMMITTED_KEY: &[u8] = b"m/committed";

/// The largest entry the log takes: a client command is refused (413) before
/// it is proposed if its entry could be larger. A memtable must hold the
/// largest entry, so this also sets the log's memtable size.
pub const ENTRY_BYTES_MAX: usize = 32 << 20;

fn entry_key(index: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(9);
    key.push(ENTRY_PREFIX);
    key.extend_from_slice(&index.to_be_bytes());
    key
}

/// What the log holds, kept in memory so that `get_log_state` and
/// `read_vote` read nothing.
#[derive(Default)]
struct Cached {
    last_log_id: Option<LogId<NodeId>>,
    last_purged: Option<LogId<NodeId>>,
    vote: Option<Vote<NodeId>>,
    /// The newest committed log id openraft reported.
    committed: Option<LogId<NodeId>>,
    /// Whether `committed` has changed since it was last written.
    committed_unsaved: bool,
}

/// The log store; clones share it (the clone openraft's replication tasks
/// read through is `LogReader`).
#[derive(Clone)]
pub struct LogStore {
    db: Db,
    cached: Arc<Mutex<Cached>>,
}

type StorageResult<T> = Result<T, StorageError<NodeId>>;

impl LogStore {
    /// The engine options of the log's store: synced writes, entries up to
    /// `ENTRY_BYTES_MAX`, and a small block cache that index and filter
    /// partitions share (entries are read back mostly from the memtable, by
    /// followers catching up).
    pub fn options() -> Options {
        Options {
            durability: Durability::Sync,
            value_size_max: ENTRY_BYTES_MAX,
            memtable_max_bytes: ENTRY_BYTES_MAX + (8 << 20),
            block_cache_bytes: 4 << 20,
            partition_cache_bytes: 0,
            ..Options::production()
        }
    }

    /// Opens (or creates) the log in `dir`.
    pub fn open(dir: &Path) -> lsmkv::Result<Self> {
        Self::with_db(Db::open(FsStorage::open(dir)?, Self::options())?)
    }

    /// The log over an open store (the tests give it one in memory).
    pub fn with_db(db: Db) -> lsmkv::Result<Self> {
        let read = |key: &[u8]| -> lsmkv::Result<Option<Vec<u8>>> { db.get(key) };
        let last_purged = decode(read(PURGED_KEY)?, "the last purged log id")?;
        let cached = Cached {
            last_log_id: last_entry(&db)?.map(|e| e.log_id).or(last_purged),
            last_purged,
            vote: decode(read(VOTE_KEY)?, "the vote")?,
            committed: decode(read(COMMITTED_KEY)?, "the committed log id")?,
            committed_unsaved: false,
        };
        Ok(LogStore { db, cached: Arc::new(Mutex::new(cached)) })
    }

    /// Appends `entries` in one batch and returns once it is synced: what
    /// `append` does before it reports the entries flushed.
    pub async fn append_synced(&self, entries: impl IntoIterator<Item = Entry<TypeConfig>>) -> lsmkv::Result<()> {
        let mut batch = WriteBatch::new();
        let mut last = None;
        for entry in entries {
            let bytes = serde_json::to_vec(&entry).map_err(|e| lsmkv::Error::invalid_argument(e.to_string()))?;
            batch.put(entry_key(entry.log_id.index), bytes);
            last = Some(entry.log_id);
        }
        self.write(batch).await?;
        if let Some(last) = last {
            self.lock().last_log_id = Some(last);
        }
        Ok(())
    }

    /// The newest committed log id this node knows of.
    pub fn committed(&self) -> Option<LogId<NodeId>> {
        self.lock().committed
    }

    pub fn close(&self) -> lsmkv::Result<()> {
        self.db.close()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cached> {
        self.cached.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds the committed log id to `batch` if it changed since last written,
    /// and returns what it added: it rides along with the log's own writes
    /// instead of costing a sync of its own. A committed id that lags behind
    /// is harmless: at startup openraft re-applies up to it and learns the
    /// rest from the leader.
    fn with_committed(&self, batch: &mut WriteBatch) -> Result<Option<Option<LogId<NodeId>>>, serde_json::Error> {
        let cached = self.lock();
        if !cached.committed_unsaved {
            return Ok(None);
        }
        batch.put(COMMITTED_KEY, serde_json::to_vec(&cached.committed)?);
        Ok(Some(cached.committed))
    }

    /// Writes `batch` (plus the committed id) and waits for its sync.
    async fn write(&self, mut batch: WriteBatch) -> Result<(), lsmkv::Error> {
        let committed = self.with_committed(&mut batch).map_err(|e| lsmkv::Error::invalid_argument(e.to_string()))?;
        if batch.is_empty() {
            return Ok(());
        }
        let db = self.db.clone();
        blocking(move || db.write(&batch)).await?;
        let mut cached = self.lock();
        if committed.is_some_and(|written| written == cached.committed) {
            cached.committed_unsaved = false;
        }
        Ok(())
    }
}

fn decode<T: serde::de::DeserializeOwned>(bytes: Option<Vec<u8>>, what: &str) -> lsmkv::Result<Option<T>> {
    match bytes {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| lsmkv::Error::corruption("raft-log", 0, format!("{what}: {e}"))),
    }
}

fn entries_range(start: Bound<u64>, end: Bound<u64>) -> RangeOptions {
    let start = match start {
        Bound::Included(i) => Bound::Included(entry_key(i)),
        Bound::Excluded(i) => Bound::Excluded(entry_key(i)),
        Bound::Unbounded => Bound::Unbounded,
    };
    let end = match end {
        Bound::Included(i) => Bound::Included(entry_key(i)),
        Bound::Excluded(i) => Bound::Excluded(entry_key(i)),
        Bound::Unbounded => Bound::Unbounded,
    };
    RangeOptions { start, end, prefix: Some(vec![ENTRY_PREFIX]), ..RangeOptions::default() }
}

fn last_entry(db: &Db) -> lsmkv::Result<Option<Entry<TypeConfig>>> {
    let options = RangeOptions { reverse: true, limit: Some(1), ..entries_range(Bound::Unbounded, Bound::Unbounded) };
    match db.range(&options)?.pop() {
        None => Ok(None),
        Some((_, bytes)) => decode(Some(bytes), "a log entry"),
    }
}

fn keys_in(db: &Db, start: Bound<u64>, end: Bound<u64>) -> lsmkv::Result<Vec<Vec<u8>>> {
    db.keys(&entries_range(start, end))
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> StorageResult<Vec<Entry<TypeConfig>>> {
        let options = entries_range(range.start_bound().cloned(), range.end_bound().cloned());
        let pairs = self.db.range(&options).map_err(|e| StorageIOError::read_logs(&e))?;
        let mut entries = Vec::with_capacity(pairs.len());
        for (_, bytes) in pairs {
            entries.push(serde_json::from_slice(&bytes).map_err(|e| StorageIOError::read_logs(&e))?);
        }
        Ok(entries)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> StorageResult<LogState<TypeConfig>> {
        let cached = self.lock();
        Ok(LogState { last_purged_log_id: cached.last_purged, last_log_id: cached.last_log_id })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> StorageResult<()> {
        let mut batch = WriteBatch::new();
        batch.put(VOTE_KEY, serde_json::to_vec(vote).map_err(|e| StorageIOError::write_vote(&e))?);
        self.write(batch).await.map_err(|e| StorageIOError::write_vote(&e))?;
        self.lock().vote = Some(*vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> StorageResult<Option<Vote<NodeId>>> {
        Ok(self.lock().vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> StorageResult<()> {
        let mut cached = self.lock();
        if cached.committed != committed {
            cached.committed = committed;
            cached.committed_unsaved = true;
        }
        Ok(())
    }

    async fn read_committed(&mut self) -> StorageResult<Option<LogId<NodeId>>> {
        Ok(self.lock().committed)
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> StorageResult<()>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        self.append_synced(entries).await.map_err(|e| StorageIOError::write_logs(&e))?;
        // Synced: only now may openraft count the entries as on disk (it
        // waits for this callback).
        callback.log_io_completed(Ok(()));
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> StorageResult<()> {
        let keys = keys_in(&self.db, Bound::Included(log_id.index), Bound::Unbounded)
            .map_err(|e| StorageIOError::write_logs(&e))?;
        let mut batch = WriteBatch::new();
        for key in keys {
            batch.delete(key);
        }
        self.write(batch).await.map_err(|e| StorageIOError::write_logs(&e))?;
        let before = self.db.range(&RangeOptions {
            reverse: true,
            limit: Some(1),
            ..entries_range(Bound::Unbounded, Bound::Excluded(log_id.index))
        });
        let before = before.map_err(|e| StorageIOError::read_logs(&e))?;
        let last = match before.into_iter().next() {
            Some((_, bytes)) => {
                let entry: Entry<TypeConfig> =
                    serde_json::from_slice(&bytes).map_err(|e| StorageIOError::read_logs(&e))?;
                Some(entry.log_id)
            }
            None => None,
        };
        let mut cached = self.lock();
        cached.last_log_id = last.or(cached.last_purged);
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> StorageResult<()> {
        let keys = keys_in(&self.db, Bound::Unbounded, Bound::Included(log_id.index))
            .map_err(|e| StorageIOError::write_logs(&e))?;
        let mut batch = WriteBatch::new();
        batch.put(PURGED_KEY, serde_json::to_vec(&Some(log_id)).map_err(|e| StorageIOError::write_logs(&e))?);
        for key in keys {
            batch.delete(key);
        }
        self.write(batch).await.map_err(|e| StorageIOError::write_logs(&e))?;
        let mut cached = self.lock();
        cached.last_purged = Some(log_id);
        if cached.last_log_id < Some(log_id) {
            cached.last_log_id = Some(log_id);
        }
        Ok(())
    }
}
