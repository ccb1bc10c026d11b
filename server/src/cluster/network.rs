//! Node-to-node calls over HTTP: openraft's `RaftNetwork` (append, vote,
//! snapshot) and the two internal calls a follower makes to the leader on a
//! client's behalf (`/raft/client-write`, `/raft/read-index`). Bodies are
//! JSON, except a snapshot chunk: its bytes are the raw body and the rest of
//! openraft's message rides, as base64 JSON, in the `x-lsmkv-snapshot`
//! header (a JSON array of numbers would be three to four times larger).

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::RPCOption;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest,
    VoteResponse,
};
use openraft::{BasicNode, RaftNetwork, RaftNetworkFactory, Vote};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::snapshot::Meta;
use super::{NodeId, TypeConfig};

/// The header carrying a snapshot chunk's metadata.
pub const SNAPSHOT_HEADER: &str = "x-lsmkv-snapshot";

/// An `InstallSnapshotRequest` without its data.
#[derive(Serialize, Deserialize)]
pub struct SnapshotChunk {
    pub vote: Vote<NodeId>,
    pub meta: Meta,
    pub offset: u64,
    pub done: bool,
}

impl SnapshotChunk {
    pub fn encode(&self) -> Result<String, serde_json::Error> {
        Ok(BASE64.encode(serde_json::to_vec(self)?))
    }

    pub fn decode(header: &str) -> Result<Self, String> {
        let json = BASE64.decode(header).map_err(|e| e.to_string())?;
        serde_json::from_slice(&json).map_err(|e| e.to_string())
    }
}

/// The HTTP client every node-to-node call goes through (its connections
/// are pooled). No proxy: the addresses are the cluster's own.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default()
}

/// Makes a `Connection` per target node.
#[derive(Clone)]
pub struct HttpNetwork {
    pub client: reqwest::Client,
}

pub struct Connection {
    client: reqwest::Client,
    target: NodeId,
    addr: String,
}

impl RaftNetworkFactory<TypeConfig> for HttpNetwork {
    type Network = Connection;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> Connection {
        Connection { client: self.client.clone(), target, addr: node.addr.clone() }
    }
}

type RpcResult<T, E = openraft::error::Infallible> = Result<T, RPCError<NodeId, BasicNode, RaftError<NodeId, E>>>;

/// Sends a request; a refused connection is `Unreachable` (openraft backs
/// off), any other failure `Network`, the remote's own error `RemoteError`.
async fn call<T, E>(target: NodeId, request: reqwest::RequestBuilder, option: &RPCOption) -> RpcResult<T, E>
where
    T: DeserializeOwned,
    E: std::error::Error + DeserializeOwned,
{
    let response = request.timeout(option.hard_ttl()).send().await.map_err(|e| {
        if e.is_connect() {
            RPCError::Unreachable(Unreachable::new(&e))
        } else {
            RPCError::Network(NetworkError::new(&e))
        }
    })?;
    let answer: Result<T, RaftError<NodeId, E>> =
        response.json().await.map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
    answer.map_err(|e| RPCError::RemoteError(RemoteError::new(target, e)))
}

impl Connection {
    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(format!("http://{}/raft/{path}", self.addr))
    }
}

impl RaftNetwork<TypeConfig> for Connection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>> {
        call(self.target, self.post("append").json(&rpc), &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
        let chunk = SnapshotChunk { vote: rpc.vote, meta: rpc.meta, offset: rpc.offset, done: rpc.done };
        let header = chunk.encode().map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let request = self
            .post("snapshot")
            .header(SNAPSHOT_HEADER, header)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(rpc.data);
        call(self.target, request, &option).await
    }

    async fn vote(&mut self, rpc: VoteRequest<NodeId>, option: RPCOption) -> RpcResult<VoteResponse<NodeId>> {
        call(self.target, self.post("vote").json(&rpc), &option).await
    }
}
