//! The Raft state machine: the node's data store (`data.rs`), the very one
//! the REST API reads. Its Raft metadata lives in the same store, under keys
//! that start with `0xFF 0xFF` (no REST key can: `command.rs`):
//!
//! ```text
//! FF FF "raft/applied"      the last applied log id, as JSON
//! FF FF "raft/membership"   the last applied membership (StoredMembership), as JSON
//! FF FF "raft/snapshot"     the id and last log id of the last installed snapshot, as JSON
//! ```
//!
//! Each `apply` writes its entries' data and the new applied log id (and
//! membership) in one `WriteBatch`, so after a crash the applied state read
//! back is exactly the data's. The store's writes are `Buffered`: a write
//! reaches the OS before apply returns (it survives the process being
//! killed); the Raft log is the synced copy, and openraft re-applies from it
//! what a power loss would take. Before a snapshot is reported (which lets
//! openraft purge the log up to it) the store is synced.
//!
//! The current snapshot is the store itself: `get_current_snapshot` streams
//! a consistent `Db::snapshot()` of it (data and metadata at one sequence
//! number). No second copy is kept on disk.

use std::io::Cursor;
use std::sync::Arc;

use lsmkv::{Db, RangeOptions, Snapshot as DbSnapshot, WriteBatch};
use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    BasicNode, EntryPayload, LogId, OptionalSend, RaftSnapshotBuilder, StorageError, StorageIOError, StoredMembership,
};
use serde::{Deserialize, Serialize};

use super::snapshot::{Meta, Reader, Writer};
use super::{blocking, NodeId, TypeConfig};
use crate::command::{hide_metadata, Group, Reply};
use crate::data::DataStore;

const APPLIED_KEY: &[u8] = b"\xFF\xFFraft/applied";
const MEMBERSHIP_KEY: &[u8] = b"\xFF\xFFraft/membership";
const SNAPSHOT_KEY: &[u8] = b"\xFF\xFFraft/snapshot";

/// Staged bytes after which an `apply` writes what it has and starts a new
/// batch (each with its own applied log id), keeping batches well under the
/// engine's record limit.
const APPLY_BATCH_BYTES_MAX: u64 = 32 << 20;
/// Pairs written per batch when installing a snapshot.
const INSTALL_BATCH_BYTES_MAX: usize = 4 << 20;

type StorageResult<T> = Result<T, StorageError<NodeId>>;
type Membership = StoredMembership<NodeId, BasicNode>;

/// The last installed snapshot's identity, so that the current snapshot
/// keeps its id until something is applied after it.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Installed {
    id: String,
    last_log_id: Option<LogId<NodeId>>,
}

/// The Raft metadata as of one read.
#[derive(Default)]
struct Metadata {
    applied: Option<LogId<NodeId>>,
    membership: Membership,
    installed: Option<Installed>,
}

fn read_metadata(db: &Db, at: Option<&DbSnapshot>) -> lsmkv::Result<Metadata> {
    fn field<T: serde::de::DeserializeOwned>(db: &Db, at: Option<&DbSnapshot>, key: &[u8]) -> lsmkv::Result<Option<T>> {
        let bytes = match at {
            Some(snapshot) => db.get_at(key, snapshot)?,
            None => db.get(key)?,
        };
        bytes
            .map(|b| serde_json::from_slice(&b))
            .transpose()
            .map_err(|e| lsmkv::Error::corruption("state machine metadata", 0, e.to_string()))
    }
    Ok(Metadata {
        applied: field::<Option<LogId<NodeId>>>(db, at, APPLIED_KEY)?.flatten(),
        membership: field(db, at, MEMBERSHIP_KEY)?.unwrap_or_default(),
        installed: field(db, at, SNAPSHOT_KEY)?,
    })
}

fn json<T: Serialize>(value: &T) -> lsmkv::Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| lsmkv::Error::invalid_argument(e.to_string()))
}

/// The state machine; clones share the store (a clone builds snapshots).
#[derive(Clone)]
pub struct StateMachine {
    data: Arc<DataStore>,
}

impl StateMachine {
    pub fn new(data: Arc<DataStore>) -> Self {
        StateMachine { data }
    }
}

/// Applies entries in log order, in as few atomic batches as their size
/// allows; one reply per entry.
fn apply_entries(db: &Db, entries: Vec<openraft::Entry<TypeConfig>>) -> lsmkv::Result<Vec<Reply>> {
    let mut replies = Vec::with_capacity(entries.len());
    let mut group = Group::new(db, true);
    let mut membership: Option<Membership> = None;
    let mut last = None;
    for entry in entries {
        let reply = match &entry.payload {
            EntryPayload::Blank => Reply::Applied { count: 0 },
            EntryPayload::Normal(command) => group.stage(command)?,
            EntryPayload::Membership(m) => {
                membership = Some(StoredMembership::new(Some(entry.log_id), m.clone()));
                Reply::Applied { count: 0 }
            }
        };
        replies.push(reply);
        last = Some(entry.log_id);
        if group.bytes() > APPLY_BATCH_BYTES_MAX {
            finish(group, last, membership.take())?;
            group = Group::new(db, true);
        }
    }
    if last.is_some() {
        finish(group, last, membership)?;
    }
    Ok(replies)
}

/// Adds the metadata to the group and writes it.
fn finish(mut group: Group<'_>, applied: Option<LogId<NodeId>>, membership: Option<Membership>) -> lsmkv::Result<()> {
    group.put_raw(APPLIED_KEY, &json(&applied)?);
    if let Some(membership) = membership {
        group.put_raw(MEMBERSHIP_KEY, &json(&membership)?);
    }
    group.commit()
}

/// The snapshot of the store as it is now (`None` if nothing was applied
/// and `always` is false): the metadata and data read at one lsmkv
/// snapshot, synced first so that the log may be purged up to it.
fn build(data: &DataStore, always: bool) -> lsmkv::Result<Option<(Meta, Vec<u8>)>> {
    let generation = data.current();
    let db = generation.db();
    let at = db.snapshot();
    db.sync()?;
    let metadata = read_metadata(db, Some(&at))?;
    let Some(applied) = metadata.applied else {
        if !always {
            return Ok(None);
        }
        let meta = Meta { last_membership: metadata.membership, snapshot_id: "empty".into(), ..Meta::default() };
        let bytes = Writer::begin(&meta).map_err(codec)?.finish();
        return Ok(Some((meta, bytes)));
    };
    let snapshot_id = match metadata.installed {
        Some(installed) if installed.last_log_id == Some(applied) => installed.id,
        _ => format!("{}-{}", applied.leader_id, applied.index),
    };
    let meta = Meta { last_log_id: Some(applied), last_membership: metadata.membership, snapshot_id };
    let mut writer = Writer::begin(&meta).map_err(codec)?;
    let mut range = RangeOptions { snapshot: Some(at), ..RangeOptions::default() };
    hide_metadata(&mut range);
    for pair in db.iter(&range)? {
        let (key, value) = pair?;
        writer.push(&key, &value);
    }
    Ok(Some((meta, writer.finish())))
}

fn codec(e: impl std::fmt::Display) -> lsmkv::Error {
    lsmkv::Error::invalid_argument(e.to_string())
}

/// Replaces the store with the snapshot's data and metadata.
fn install(data: &DataStore, meta: &Meta, bytes: &[u8]) -> lsmkv::Result<()> {
    let mut reader = Reader::open(bytes).map_err(|e| lsmkv::Error::corruption("snapshot", 0, e.to_string()))?;
    if reader.meta.last_log_id != meta.last_log_id || reader.meta.last_membership != meta.last_membership {
        return Err(lsmkv::Error::corruption("snapshot", 0, "the header's metadata is not the message's"));
    }
    data.replace(|db| {
        let mut batch = WriteBatch::new();
        let mut bytes = 0;
        while let Some((key, value)) = reader.next_pair().map_err(|e| lsmkv::Error::corruption("snapshot", 0, e.0))? {
            batch.put(key, value);
            bytes += key.len() + value.len();
            if bytes > INSTALL_BATCH_BYTES_MAX {
                db.write(&batch)?;
                batch.clear();
                bytes = 0;
            }
        }
        let installed = Installed { id: meta.snapshot_id.clone(), last_log_id: meta.last_log_id };
        batch.put(APPLIED_KEY, json(&meta.last_log_id)?);
        batch.put(MEMBERSHIP_KEY, json(&meta.last_membership)?);
        batch.put(SNAPSHOT_KEY, json(&installed)?);
        db.write(&batch)
    })
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> StorageResult<Snapshot<TypeConfig>> {
        let data = self.data.clone();
        let built = blocking(move || build(&data, true)).await.map_err(|e| StorageIOError::read_state_machine(&e))?;
        let (meta, bytes) = built.unwrap_or_default();
        Ok(Snapshot { meta, snapshot: Box::new(Cursor::new(bytes)) })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = Self;

    async fn applied_state(&mut self) -> StorageResult<(Option<LogId<NodeId>>, Membership)> {
        let metadata =
            read_metadata(self.data.current().db(), None).map_err(|e| StorageIOError::read_state_machine(&e))?;
        Ok((metadata.applied, metadata.membership))
    }

    async fn apply<I>(&mut self, entries: I) -> StorageResult<Vec<Reply>>
    where
        I: IntoIterator<Item = openraft::Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<_> = entries.into_iter().collect();
        let data = self.data.clone();
        let applied = blocking(move || apply_entries(data.current().db(), entries)).await;
        applied.map_err(|e| StorageIOError::write_state_machine(&e).into())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> StorageResult<Box<Cursor<Vec<u8>>>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(&mut self, meta: &Meta, snapshot: Box<Cursor<Vec<u8>>>) -> StorageResult<()> {
        let (data, owned_meta) = (self.data.clone(), meta.clone());
        let bytes = snapshot.into_inner();
        blocking(move || install(&data, &owned_meta, &bytes))
            .await
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e).into())
    }

    async fn get_current_snapshot(&mut self) -> StorageResult<Option<Snapshot<TypeConfig>>> {
        let data = self.data.clone();
        let built = blocking(move || build(&data, false)).await.map_err(|e| StorageIOError::read_snapshot(None, &e))?;
        Ok(built.map(|(meta, bytes)| Snapshot { meta, snapshot: Box::new(Cursor::new(bytes)) }))
    }
}
