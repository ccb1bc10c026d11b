//! Cluster mode (`--cluster --node-id N`): the node is one member of a Raft
//! group built on openraft 0.9. The Raft log is an lsmkv store of its own
//! (`log_store.rs`), the state machine is the node's data store
//! (`state_machine.rs`, `data.rs`), nodes talk over HTTP on the same address
//! as the REST API (`network.rs`, `routes.rs`), and the REST API's writes go
//! through the leader while its reads are linearizable (`client.rs`).
//!
//! A node's data directory:
//!
//! ```text
//! node.json    {"nodeId": N, "address": "host:port"}: who this directory belongs to, and
//!              the address it was bound to (a restart binds it again)
//! raft-log/    the Raft log (an lsmkv store, synced writes)
//! state/       the state machine: CURRENT and gen-NNNNNN/ (data.rs)
//! ```

pub mod client;
pub mod log_store;
pub mod network;
pub mod proposer;
pub mod routes;
pub mod snapshot;
pub mod state_machine;

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use lsmkv::IoKind;
use openraft::{BasicNode, Config, SnapshotPolicy};
use serde::{Deserialize, Serialize};

use crate::command::{Command, Reply};
use crate::data::DataStore;
use log_store::LogStore;
use network::HttpNetwork;
use state_machine::StateMachine;

pub type NodeId = u64;

openraft::declare_raft_types!(
    /// The cluster's Raft types: log entries carry `Command`s, applying one
    /// gives a `Reply`; nodes are known by their `host:port`.
    pub TypeConfig:
        D = Command,
        R = Reply,
        NodeId = NodeId,
        Node = BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

pub type Raft = openraft::Raft<TypeConfig>;

/// Runs a blocking engine call on tokio's blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> lsmkv::Result<T> + Send + 'static,
) -> lsmkv::Result<T> {
    tokio::task::spawn_blocking(call).await.map_err(|e| lsmkv::Error::io(IoKind::Other, "task", e.to_string()))?
}

/// Raft timing and log retention. The defaults suit synced writes and JSON
/// RPCs on a small, busy machine: openraft's own (a 50 ms heartbeat, and
/// append RPCs that time out after one heartbeat) would time out under load.
#[derive(Clone, Debug)]
pub struct Tuning {
    pub heartbeat_ms: u64,
    pub election_min_ms: u64,
    pub election_max_ms: u64,
    /// Build a snapshot after this many applied entries.
    pub snapshot_logs: u64,
    /// Entries kept in the log behind the snapshot, for followers that lag
    /// a little (one that lags more is sent the snapshot).
    pub keep_logs: u64,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning { heartbeat_ms: 250, election_min_ms: 1000, election_max_ms: 2000, snapshot_logs: 5000, keep_logs: 1000 }
    }
}

impl Tuning {
    pub fn raft_config(&self) -> Result<Config, String> {
        Config {
            cluster_name: "lsmkv".into(),
            heartbeat_interval: self.heartbeat_ms,
            election_timeout_min: self.election_min_ms,
            election_timeout_max: self.election_max_ms,
            // A snapshot chunk carries up to 3 MiB (openraft's default) to a
            // node that must write it out; give it time.
            install_snapshot_timeout: 20_000,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(self.snapshot_logs),
            max_in_snapshot_log_to_keep: self.keep_logs,
            ..Config::default()
        }
        .validate()
        .map_err(|e| format!("bad Raft timing: {e}"))
    }
}

/// What `node.json` holds.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Identity {
    node_id: NodeId,
    address: String,
}

const IDENTITY_FILE: &str = "node.json";

/// Whether `dir` holds a cluster node's data (single mode refuses it).
pub fn is_node_dir(dir: &Path) -> bool {
    dir.join(IDENTITY_FILE).exists()
}

/// Checks that `dir` belongs to node `id` (or to no node yet, and holds no
/// single-node store), and returns the address it was last bound to.
pub fn claim_dir(dir: &Path, id: NodeId) -> Result<Option<String>, String> {
    let path = dir.join(IDENTITY_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let identity: Identity =
                serde_json::from_slice(&bytes).map_err(|e| format!("{} is damaged: {e}", path.display()))?;
            if identity.node_id != id {
                return Err(format!("{} belongs to node {}, not node {id}", dir.display(), identity.node_id));
            }
            Ok(Some(identity.address))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if dir.join("LOCK").exists() {
                return Err(format!(
                    "{} holds a single-node store; a cluster node needs its own directory",
                    dir.display()
                ));
            }
            Ok(None)
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Records the node's id and address in `dir` (written whole, then renamed).
pub fn save_identity(dir: &Path, id: NodeId, address: &str) -> std::io::Result<()> {
    let identity = Identity { node_id: id, address: address.to_owned() };
    let tmp = dir.join(format!("{IDENTITY_FILE}.tmp"));
    let bytes = serde_json::to_vec(&identity).map_err(std::io::Error::other)?;
    {
        use std::io::Write as _;
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join(IDENTITY_FILE))?;
    std::fs::File::open(dir)?.sync_all()
}

/// The stores of a node's directory, opened before the runtime starts.
pub struct Stores {
    pub log: LogStore,
    pub data: Arc<DataStore>,
}

/// Opens `dir/raft-log` and `dir/state` (the latter with `options`, its
/// writes buffered: see `state_machine.rs`).
pub fn open_stores(dir: &Path, options: lsmkv::Options) -> lsmkv::Result<Stores> {
    let log = LogStore::open(&dir.join("raft-log"))?;
    let options = lsmkv::Options { durability: lsmkv::Durability::Buffered, ..options };
    let data = Arc::new(DataStore::open_generations(&dir.join("state"), options)?);
    Ok(Stores { log, data })
}

/// A running member.
pub struct Node {
    pub id: NodeId,
    /// The address this node serves on (the REST API and the Raft routes).
    pub address: String,
    pub raft: Raft,
    /// Client writes go to Raft through it (group commit).
    pub proposer: proposer::Proposer,
    /// Linearizable reads wait on it.
    pub reads: client::ReadBarriers,
    pub log: LogStore,
    pub http: reqwest::Client,
}

impl Node {
    /// Starts Raft over the stores. A node whose log holds a membership
    /// resumes in it; a new one waits for `POST /cluster/init` (or to be
    /// added as a learner).
    pub async fn start(id: NodeId, address: String, stores: &Stores, tuning: &Tuning) -> Result<Node, String> {
        let config = Arc::new(tuning.raft_config()?);
        let http = network::http_client();
        let network = HttpNetwork { client: http.clone() };
        let state_machine = StateMachine::new(stores.data.clone());
        let raft = Raft::new(id, config, network, stores.log.clone(), state_machine)
            .await
            .map_err(|e| format!("cannot start Raft: {e}"))?;
        let proposer = proposer::Proposer::start(raft.clone());
        let barrier = client::Barrier { raft: raft.clone(), http: http.clone(), address: address.clone() };
        let reads = client::ReadBarriers::start(barrier);
        Ok(Node { id, address, raft, proposer, reads, log: stores.log.clone(), http })
    }
}
