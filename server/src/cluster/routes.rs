//! The cluster's HTTP routes, served beside the REST API on the node's one
//! address: openraft's RPCs and the two internal client calls under
//! `/raft/`, membership administration under `/cluster/` (API.md). On a
//! server started without `--cluster` each answers 409
//! `LSMKV_NOT_CLUSTERED`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodFilter;
use axum::{Json, Router};
use openraft::error::{ClientWriteError, InitializeError, RaftError};
use openraft::raft::{AppendEntriesRequest, ClientWriteResponse, InstallSnapshotRequest, VoteRequest};
use openraft::{BasicNode, ServerState};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::network::{SnapshotChunk, SNAPSHOT_HEADER};
use super::{Node, NodeId, TypeConfig};
use crate::api::{only, AppState};
use crate::command::Command;
use crate::error::{ApiError, ApiResult};

type Shared = State<Arc<AppState>>;

/// The largest body a Raft route takes: an append carries up to openraft's
/// 300 entries per message, each a client write of up to `--max-body-bytes`.
const RAFT_BODY_BYTES_MAX: usize = 1 << 30;
/// Marks an admin request one node forwarded to the leader, so that it is
/// forwarded at most once.
const FORWARDED_HEADER: &str = "x-lsmkv-forwarded";

pub fn router() -> Router<Arc<AppState>> {
    const POST: MethodFilter = MethodFilter::POST;
    Router::new()
        .route("/raft/append", only(POST, "POST", append))
        .route("/raft/vote", only(POST, "POST", vote))
        .route("/raft/snapshot", only(POST, "POST", snapshot))
        .route("/raft/client-write", only(POST, "POST", client_write))
        .route("/raft/read-index", only(POST, "POST", read_index))
        .route("/cluster/init", only(POST, "POST", init))
        .route("/cluster/add-learner", only(POST, "POST", add_learner))
        .route("/cluster/change-membership", only(POST, "POST", change_membership))
        .route("/cluster/metrics", only(MethodFilter::GET, "GET", metrics))
        .layer(DefaultBodyLimit::max(RAFT_BODY_BYTES_MAX))
}

fn node(state: &AppState) -> ApiResult<&Node> {
    state.cluster.as_deref().ok_or_else(ApiError::not_clustered)
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad(format!("bad request body: {e}")))
}

// ---------------------------------------------------------------------------
// openraft's RPCs and the internal client calls: openraft's own JSON answers

async fn append(State(state): Shared, body: Bytes) -> ApiResult<Response> {
    let request: AppendEntriesRequest<TypeConfig> = parse(&body)?;
    Ok(Json(node(&state)?.raft.append_entries(request).await).into_response())
}

async fn vote(State(state): Shared, body: Bytes) -> ApiResult<Response> {
    let request: VoteRequest<NodeId> = parse(&body)?;
    Ok(Json(node(&state)?.raft.vote(request).await).into_response())
}

async fn snapshot(State(state): Shared, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    let node = node(&state)?;
    let header = headers.get(SNAPSHOT_HEADER).and_then(|v| v.to_str().ok());
    let chunk = header
        .ok_or_else(|| ApiError::bad(format!("missing the {SNAPSHOT_HEADER} header")))
        .and_then(|h| SnapshotChunk::decode(h).map_err(|e| ApiError::bad(format!("{SNAPSHOT_HEADER}: {e}"))))?;
    let request = InstallSnapshotRequest::<TypeConfig> {
        vote: chunk.vote,
        meta: chunk.meta,
        offset: chunk.offset,
        data: body.to_vec(),
        done: chunk.done,
    };
    Ok(Json(node.raft.install_snapshot(request).await).into_response())
}

/// A write a follower forwarded: proposed here (batched with the others),
/// never forwarded again (a node that is no longer the leader answers
/// `ForwardToLeader`).
async fn client_write(State(state): Shared, body: Bytes) -> ApiResult<Response> {
    let command: Command = parse(&body)?;
    Ok(Json(node(&state)?.proposer.propose(command).await).into_response())
}

/// The read index a follower waits for before a linearizable read: the
/// leader confirms its leadership with a quorum first.
async fn read_index(State(state): Shared) -> ApiResult<Response> {
    let answer = node(&state)?.raft.get_read_log_id().await.map(|(read_log_id, _applied)| read_log_id);
    Ok(Json(answer).into_response())
}

// ---------------------------------------------------------------------------
// Administration: `{ success, ... }` answers like the REST API's

fn ok(data: Value) -> Response {
    Json(json!({ "success": true, "data": data })).into_response()
}

#[derive(Deserialize)]
struct InitBody {
    #[serde(default)]
    nodes: BTreeMap<String, String>,
}

async fn init(State(state): Shared, body: Bytes) -> ApiResult<Response> {
    let node = node(&state)?;
    let body: InitBody =
        if body.iter().all(u8::is_ascii_whitespace) { InitBody { nodes: BTreeMap::new() } } else { parse(&body)? };
    let mut members = BTreeMap::new();
    for (id, addr) in body.nodes {
        let id: NodeId = id.parse().map_err(|_| ApiError::bad(format!("node ids are whole numbers, not {id:?}")))?;
        members.insert(id, BasicNode { addr });
    }
    if members.is_empty() {
        members.insert(node.id, BasicNode { addr: node.address.clone() });
    }
    let nodes: BTreeMap<String, String> = members.iter().map(|(id, n)| (id.to_string(), n.addr.clone())).collect();
    match node.raft.initialize(members).await {
        Ok(()) => Ok(ok(json!({ "nodes": nodes }))),
        Err(RaftError::APIError(InitializeError::NotAllowed(e))) => {
            Err(ApiError::conflict(format!("the cluster is already initialized: {e}")))
        }
        Err(RaftError::APIError(e)) => Err(ApiError::bad(e.to_string())),
        Err(RaftError::Fatal(e)) => Err(ApiError::closed(e.to_string())),
    }
}

#[derive(Deserialize)]
struct LearnerBody {
    id: NodeId,
    addr: String,
}

async fn add_learner(State(state): Shared, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    let node = node(&state)?;
    let LearnerBody { id, addr } = parse(&body)?;
    if let Some(forwarded) = to_leader(node, "add-learner", &headers, &body).await {
        return forwarded;
    }
    let answer = node.raft.add_learner(id, BasicNode { addr }, true).await;
    membership_answer(node, answer, "add-learner", &headers, body).await
}

/// On a node that knows it is not the leader, the leader's answer to the
/// request. Membership changes are the leader's to check: a learner that
/// has not yet received the current membership would judge the request
/// against an older one (and refuse a valid change). `None`: handle it here.
async fn to_leader(node: &Node, route: &str, headers: &HeaderMap, body: &Bytes) -> Option<ApiResult<Response>> {
    if headers.contains_key(FORWARDED_HEADER) {
        return None;
    }
    let address = {
        let m = node.raft.metrics().borrow().clone();
        match m.current_leader {
            Some(id) if id == node.id => return None,
            Some(id) => m.membership_config.membership().get_node(&id).map(|n| n.addr.clone()),
            None => None,
        }
    };
    match address {
        Some(address) => Some(forward(node, &address, route, body.clone()).await),
        None => Some(Err(ApiError::no_leader())),
    }
}

#[derive(Deserialize)]
struct MembershipBody {
    members: BTreeSet<NodeId>,
    /// Keep the removed voters as learners (default: remove them).
    #[serde(default)]
    retain: bool,
}

async fn change_membership(State(state): Shared, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    let node = node(&state)?;
    let MembershipBody { members, retain } = parse(&body)?;
    if let Some(forwarded) = to_leader(node, "change-membership", &headers, &body).await {
        return forwarded;
    }
    let answer = node.raft.change_membership(members, retain).await;
    membership_answer(node, answer, "change-membership", &headers, body).await
}

/// The answer to a membership change; on a follower, the leader's answer to
/// the same request (forwarded once).
async fn membership_answer(
    node: &Node,
    answer: Result<ClientWriteResponse<TypeConfig>, RaftError<NodeId, ClientWriteError<NodeId, BasicNode>>>,
    route: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    match answer {
        Ok(response) => Ok(ok(json!({
            "logId": response.log_id,
            "membership": response.membership.as_ref().map(membership_json),
        }))),
        Err(RaftError::APIError(ClientWriteError::ForwardToLeader(to))) => {
            match to.leader_node.filter(|l| l.addr != node.address && !headers.contains_key(FORWARDED_HEADER)) {
                Some(leader) => forward(node, &leader.addr, route, body).await,
                None => Err(ApiError::no_leader()),
            }
        }
        Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(e))) => Err(ApiError::conflict(e.to_string())),
        Err(RaftError::Fatal(e)) => Err(ApiError::closed(e.to_string())),
    }
}

/// Relays an admin request to the leader and its answer back.
async fn forward(node: &Node, leader: &str, route: &str, body: Bytes) -> ApiResult<Response> {
    let url = format!("http://{leader}/cluster/{route}");
    let request = node.http.post(url).header(FORWARDED_HEADER, "1").header("content-type", "application/json");
    let response = request.body(body.to_vec()).timeout(super::client::LEADER_WAIT).send().await;
    let response = response.map_err(|e| ApiError::timeout(format!("the leader at {leader} did not answer ({e})")))?;
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let bytes = response.bytes().await.map_err(|e| ApiError::timeout(format!("the leader at {leader}: {e}")))?;
    Ok((status, [(header::CONTENT_TYPE, "application/json")], bytes.to_vec()).into_response())
}

async fn metrics(State(state): Shared) -> ApiResult<Response> {
    let metrics = node(&state)?.raft.metrics().borrow().clone();
    Ok(ok(serde_json::to_value(&metrics).unwrap_or(Value::Null)))
}

// ---------------------------------------------------------------------------
// The health report's cluster member

fn membership_json(membership: &openraft::Membership<NodeId, BasicNode>) -> Value {
    let nodes: serde_json::Map<String, Value> =
        membership.nodes().map(|(id, n)| (id.to_string(), Value::String(n.addr.clone()))).collect();
    json!({
        "voters": membership.voter_ids().collect::<Vec<_>>(),
        "learners": membership.learner_ids().collect::<Vec<_>>(),
        "nodes": nodes,
    })
}

fn role(state: ServerState, has_voters: bool) -> &'static str {
    match state {
        ServerState::Leader => "leader",
        ServerState::Follower => "follower",
        ServerState::Candidate => "candidate",
        ServerState::Learner if !has_voters => "uninitialized",
        ServerState::Learner => "learner",
        ServerState::Shutdown => "shutdown",
    }
}

/// `data.cluster` of `GET /api/health`: the node's role, term, leader, log
/// positions and membership (API.md).
pub fn health(node: &Node) -> Value {
    let m = node.raft.metrics().borrow().clone();
    let membership = m.membership_config.membership();
    let has_voters = membership.voter_ids().next().is_some();
    let leader = m.current_leader.map(|id| {
        let address = membership.get_node(&id).map(|n| n.addr.clone());
        json!({ "id": id, "address": address })
    });
    let replication = m.replication.as_ref().map(|r| {
        r.iter()
            .map(|(id, matched)| (id.to_string(), json!(matched.map(|l| l.index))))
            .collect::<serde_json::Map<_, _>>()
    });
    json!({
        "nodeId": node.id,
        "address": node.address,
        "role": role(m.state, has_voters),
        "term": m.current_term,
        "leader": leader,
        "lastLogIndex": m.last_log_index,
        "lastApplied": m.last_applied.map(|l| l.index),
        "committed": node.log.committed().map(|l| l.index),
        "snapshot": m.snapshot.map(|l| l.index),
        "purged": m.purged.map(|l| l.index),
        "membership": membership_json(membership),
        "replication": replication,
        "millisSinceQuorumAck": m.millis_since_quorum_ack,
    })
}
