//! The cluster's storage under openraft: openraft's own storage test suite
//! against the lsmkv log store and state machine, then what that suite does
//! not test: the log across a reopen, applying client commands, the applied
//! state after a reopen, and a snapshot built on one node and installed on
//! another reproducing data and metadata exactly.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use lsmkv::{Options, RangeOptions};
use lsmkv_server::cluster::log_store::LogStore;
use lsmkv_server::cluster::state_machine::StateMachine;
use lsmkv_server::cluster::{open_stores, NodeId, Stores, TypeConfig};
use lsmkv_server::command::{Command, Op, Reply};
use openraft::storage::{RaftLogStorage, RaftStateMachine};
use openraft::testing::{log_id, StoreBuilder, Suite};
use openraft::{Entry, EntryPayload, LogId, RaftLogReader, RaftSnapshotBuilder, StorageError, StorageIOError, Vote};

/// A directory removed when dropped.
struct TempDir(PathBuf);

static NEXT: AtomicU64 = AtomicU64::new(0);

impl TempDir {
    fn new() -> Self {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("lsmkv-raft-storage-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn open(dir: &Path) -> Stores {
    open_stores(dir, Options::teaching()).unwrap()
}

struct Builder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, TempDir> for Builder {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachine), StorageError<NodeId>> {
        let dir = TempDir::new();
        let stores = open_stores(&dir.0, Options::teaching()).map_err(|e| StorageIOError::write(&e))?;
        Ok((dir, stores.log, StateMachine::new(stores.data)))
    }
}

/// openraft's suite: log state, purge and truncate edge cases, vote,
/// membership from log and state machine, initial state, snapshot transfer.
/// A plain test: the suite makes its own runtimes.
#[test]
fn openraft_storage_suite_passes() {
    Suite::test_all(Builder).unwrap_or_else(|e| panic!("openraft's storage suite: {e}"));
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn normal(index: u64, command: Command) -> Entry<TypeConfig> {
    Entry { log_id: log_id(1, 1, index), payload: EntryPayload::Normal(command) }
}

fn put(index: u64, key: &str, value: &str) -> Entry<TypeConfig> {
    normal(index, Command::Put { key: key.into(), value: value.as_bytes().to_vec() })
}

async fn indexes(log: &mut LogStore) -> Vec<u64> {
    log.try_get_log_entries(0..).await.unwrap().iter().map(|e| e.log_id.index).collect()
}

/// The log keeps its entries, vote, committed id and purge point across a
/// reopen; truncation removes the whole tail and purge the whole head.
#[test]
fn the_log_survives_a_reopen_after_truncate_and_purge() {
    let dir = TempDir::new();
    runtime().block_on(async {
        let mut log = open(&dir.0).log;
        log.append_synced((1..=10).map(|i| put(i, &format!("k{i}"), "v"))).await.unwrap();
        log.save_vote(&Vote::new_committed(3, 2)).await.unwrap();
        log.save_committed(Some(log_id(1, 1, 6))).await.unwrap();
        log.truncate(log_id(1, 1, 8)).await.unwrap();
        log.purge(log_id(1, 1, 3)).await.unwrap();
        assert_eq!(indexes(&mut log).await, vec![4, 5, 6, 7]);
        log.close().unwrap();
    });
    runtime().block_on(async {
        let mut log = open(&dir.0).log;
        let state = log.get_log_state().await.unwrap();
        assert_eq!(state.last_purged_log_id, Some(log_id(1, 1, 3)));
        assert_eq!(state.last_log_id, Some(log_id(1, 1, 7)));
        assert_eq!(indexes(&mut log).await, vec![4, 5, 6, 7]);
        assert_eq!(log.read_vote().await.unwrap(), Some(Vote::new_committed(3, 2)));
        // The committed id rode along with the truncation's batch.
        assert_eq!(log.read_committed().await.unwrap(), Some(log_id(1, 1, 6)));
        let entry = &log.try_get_log_entries(5..6).await.unwrap()[0];
        assert!(matches!(&entry.payload, EntryPayload::Normal(Command::Put { key, .. }) if key == "k5"));
        // Purging past the end leaves no entry, and the purge point is the last log id.
        log.purge(log_id(1, 1, 9)).await.unwrap();
        let state = log.get_log_state().await.unwrap();
        assert_eq!((state.last_purged_log_id, state.last_log_id), (Some(log_id(1, 1, 9)), Some(log_id(1, 1, 9))));
        assert!(indexes(&mut log).await.is_empty());
    });
}

fn user_data(stores: &Stores) -> Vec<(Vec<u8>, Vec<u8>)> {
    let generation = stores.data.current();
    let mut range = RangeOptions::default();
    lsmkv_server::command::hide_metadata(&mut range);
    generation.db().range(&range).unwrap()
}

fn membership_entry(index: u64, voters: &[NodeId]) -> Entry<TypeConfig> {
    openraft::testing::membership_ent::<TypeConfig>(1, 1, index, vec![voters.iter().copied().collect::<BTreeSet<_>>()])
}

/// Applying commands answers per command (a delete says whether the key was
/// there, a range delete counts what it removed, seeing the entries applied
/// with it), and the applied log id and membership read back after a
/// reopen are exactly those of the last entry applied.
#[test]
fn apply_answers_per_command_and_its_state_survives_a_reopen() {
    let dir = TempDir::new();
    let entries = vec![
        membership_entry(1, &[1, 2, 3]),
        put(2, "a", "1"),
        put(3, "b", "2"),
        normal(4, Command::Delete { key: "a".into() }),
        normal(5, Command::Delete { key: "a".into() }),
        normal(
            6,
            Command::Batch {
                ops: vec![
                    Op::Put { key: "c1".into(), value: b"3".to_vec() },
                    Op::Put { key: "c2".into(), value: b"4".to_vec() },
                    Op::Delete { key: "b".into() },
                ],
            },
        ),
        normal(7, Command::delete_range(&RangeOptions::prefix(b"c".to_vec()))),
        put(8, "d", "5"),
        Entry { log_id: log_id(1, 1, 9), payload: EntryPayload::Blank },
    ];
    runtime().block_on(async {
        let stores = open(&dir.0);
        let mut sm = StateMachine::new(stores.data.clone());
        let replies = sm.apply(entries).await.unwrap();
        let counts: Vec<u64> = replies
            .iter()
            .map(|r| match r {
                Reply::Applied { count } => *count,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(counts, vec![0, 1, 1, 1, 0, 3, 2, 1, 0]);
        assert_eq!(user_data(&stores), vec![(b"d".to_vec(), b"5".to_vec())]);
        stores.data.close().unwrap();
        stores.log.close().unwrap();
    });
    runtime().block_on(async {
        let stores = open(&dir.0);
        let mut sm = StateMachine::new(stores.data.clone());
        let (applied, membership) = sm.applied_state().await.unwrap();
        assert_eq!(applied, Some(log_id(1, 1, 9)));
        assert_eq!(membership.log_id(), &Some(log_id(1, 1, 1)));
        assert_eq!(membership.membership().voter_ids().collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(user_data(&stores), vec![(b"d".to_vec(), b"5".to_vec())]);
    });
}

/// A snapshot built on one state machine and installed on another (which
/// held other data) leaves the second with exactly the first's data, applied
/// log id and membership, also after a reopen; the current snapshot of both
/// then has the same metadata.
#[test]
fn a_snapshot_installed_elsewhere_reproduces_data_and_metadata() {
    let (leader_dir, follower_dir) = (TempDir::new(), TempDir::new());
    let built_meta = runtime().block_on(async {
        let leader = open(&leader_dir.0);
        let mut sm = StateMachine::new(leader.data.clone());
        let mut entries = vec![membership_entry(1, &[1, 2])];
        entries.extend((2..=200).map(|i| put(i, &format!("key{i:04}"), &"v".repeat(i as usize % 50))));
        entries.push(normal(201, Command::Delete { key: "key0100".into() }));
        sm.apply(entries).await.unwrap();
        let snapshot = sm.get_snapshot_builder().await.build_snapshot().await.unwrap();
        assert_eq!(snapshot.meta.last_log_id, Some(log_id(1, 1, 201)));

        let follower = open(&follower_dir.0);
        let mut other = StateMachine::new(follower.data.clone());
        other.apply(vec![membership_entry(1, &[9]), put(2, "stale", "x")]).await.unwrap();
        let mut received = other.begin_receiving_snapshot().await.unwrap();
        *received = *snapshot.snapshot;
        other.install_snapshot(&snapshot.meta, received).await.unwrap();

        assert_eq!(user_data(&follower), user_data(&leader));
        assert_eq!(user_data(&follower).len(), 198);
        assert_eq!(other.applied_state().await.unwrap(), sm.applied_state().await.unwrap());
        let current = other.get_current_snapshot().await.unwrap().unwrap();
        assert_eq!(current.meta, snapshot.meta);
        assert_eq!(
            current.snapshot.into_inner(),
            sm.get_current_snapshot().await.unwrap().unwrap().snapshot.into_inner()
        );
        follower.data.close().unwrap();
        snapshot.meta
    });
    runtime().block_on(async {
        let follower = open(&follower_dir.0);
        let mut sm = StateMachine::new(follower.data.clone());
        let (applied, membership): (Option<LogId<NodeId>>, _) = sm.applied_state().await.unwrap();
        assert_eq!(applied, built_meta.last_log_id);
        assert_eq!(membership, built_meta.last_membership);
        assert_eq!(user_data(&follower).len(), 198);
        let generations: Vec<_> = std::fs::read_dir(follower_dir.0.join("state"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("gen-"))
            .collect();
        assert_eq!(generations, vec!["gen-000002"], "the replaced generation is gone");
    });
}
