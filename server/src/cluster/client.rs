//! The REST API in cluster mode. A write becomes a `Command` proposed to
//! Raft: on the leader directly, on a follower by forwarding it to the
//! leader's `/raft/client-write` and relaying the answer. A read is
//! linearizable: the leader confirms its leadership with a quorum
//! (`ensure_linearizable`); a follower asks the leader for a read index
//! (`/raft/read-index`) and waits until it has applied that far. Both then
//! read the local store. Concurrent reads share these barriers, and
//! concurrent writes share log entries (`proposer.rs`).
//!
//! While there is no leader (an election), a request waits for one, up to
//! `LEADER_WAIT`, then fails with `LSMKV_NO_LEADER`: nothing was written. A
//! write whose fate cannot be known (the leader vanished after taking it,
//! or it was taken but not committed in time) fails with `LSMKV_TIMEOUT`:
//! it may or may not have taken effect.

use std::time::Duration;

use openraft::error::{CheckIsLeaderError, ClientWriteError, RaftError};
use openraft::{BasicNode, LogId};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::log_store::ENTRY_BYTES_MAX;
use super::proposer::Answer;
use super::{Node, NodeId, Raft};
use crate::command::{Command, Reply};
use crate::error::{ApiError, ApiResult};

/// How long a request waits for a leader (elections take one to two
/// election timeouts), and for its write to commit.
pub const LEADER_WAIT: Duration = Duration::from_secs(10);
/// The pause between two tries while the leader is unknown or moving.
const RETRY_PAUSE: Duration = Duration::from_millis(50);
/// Room in a log entry beyond its command (log id, JSON framing).
const ENTRY_OVERHEAD_BYTES: usize = 4096;

pub type ReadIndexAnswer = Result<Option<LogId<NodeId>>, RaftError<NodeId, CheckIsLeaderError<NodeId, BasicNode>>>;

/// What became of a write forwarded to the leader.
enum Forwarded {
    Applied(Reply),
    /// Certainly not applied: the connection was refused, or the node was
    /// no longer the leader (it had not taken the entry, or dropped it).
    NotApplied,
    /// Sent, but no answer: it may or may not have taken effect.
    Unknown(String),
}

/// Proposes `command` through the leader; the reply of applying it.
pub async fn write(node: &Node, command: Command) -> ApiResult<Reply> {
    let size = serde_json::to_vec(&command).map(|b| b.len()).unwrap_or(usize::MAX);
    if size > ENTRY_BYTES_MAX - ENTRY_OVERHEAD_BYTES {
        return Err(ApiError::payload_too_large(format!(
            "the write encodes to {size} bytes; a Raft log entry holds at most {}",
            ENTRY_BYTES_MAX - ENTRY_OVERHEAD_BYTES
        )));
    }
    let deadline = Instant::now() + LEADER_WAIT;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(ApiError::no_leader());
        }
        let leader = match tokio::time::timeout(remaining, node.proposer.propose(command.clone())).await {
            Err(_) => return Err(ApiError::timeout("the write was not committed in time")),
            Ok(Ok(reply)) => return Ok(reply),
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(to)))) => to.leader_node,
            Ok(Err(e)) => return Err(ApiError::closed(e.to_string())),
        };
        match leader {
            Some(leader) if leader.addr != node.address => {
                match forward_write(node, &leader.addr, &command, remaining).await {
                    Forwarded::Applied(reply) => return Ok(reply),
                    Forwarded::NotApplied => {}
                    Forwarded::Unknown(why) => return Err(ApiError::timeout(why)),
                }
            }
            _ => {}
        }
        tokio::time::sleep(RETRY_PAUSE).await;
    }
}

async fn forward_write(node: &Node, leader: &str, command: &Command, wait: Duration) -> Forwarded {
    let url = format!("http://{leader}/raft/client-write");
    let sent = node.http.post(url).timeout(wait).json(command).send().await;
    let response = match sent {
        Ok(response) => response,
        Err(e) if e.is_connect() => return Forwarded::NotApplied,
        Err(e) => return Forwarded::Unknown(format!("the leader at {leader} did not answer: {e}")),
    };
    match response.json::<Answer>().await {
        Ok(Ok(reply)) => Forwarded::Applied(reply),
        Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_)))) => Forwarded::NotApplied,
        Ok(Err(e)) => Forwarded::Unknown(format!("the leader at {leader} failed: {e}")),
        Err(e) => Forwarded::Unknown(format!("the leader at {leader} did not answer: {e}")),
    }
}

/// Returns once a read of the local store is linearizable: it sees every
/// write acknowledged before this call began.
pub async fn read_barrier(node: &Node) -> ApiResult<()> {
    match node.reads.wait().await {
        Ok(()) => Ok(()),
        Err(Unavailable::NoLeader) => Err(ApiError::no_leader()),
        Err(Unavailable::Closed(why)) => Err(ApiError::closed(why)),
    }
}

/// Why a read barrier failed.
#[derive(Clone, Debug)]
pub enum Unavailable {
    NoLeader,
    Closed(String),
}

type Waiter = oneshot::Sender<Result<(), Unavailable>>;

/// Read barriers, coalesced: the reads that arrive while one barrier is
/// under way share the next one (each began before it did, so it serves
/// them all), instead of a quorum round each.
pub struct ReadBarriers {
    queue: mpsc::UnboundedSender<Waiter>,
}

impl ReadBarriers {
    pub fn start(barrier: Barrier) -> ReadBarriers {
        let (queue, mut waiting) = mpsc::unbounded_channel::<Waiter>();
        tokio::spawn(async move {
            while let Some(first) = waiting.recv().await {
                let mut waiters = vec![first];
                while let Ok(next) = waiting.try_recv() {
                    waiters.push(next);
                }
                let result = barrier.run().await;
                for waiter in waiters {
                    let _ = waiter.send(result.clone());
                }
            }
        });
        ReadBarriers { queue }
    }

    async fn wait(&self) -> Result<(), Unavailable> {
        let (waiter, done) = oneshot::channel();
        self.queue.send(waiter).map_err(|_| Unavailable::Closed("the node is stopping".into()))?;
        done.await.unwrap_or_else(|_| Err(Unavailable::Closed("the node is stopping".into())))
    }
}

/// What a read barrier needs of the node.
pub struct Barrier {
    pub raft: Raft,
    pub http: reqwest::Client,
    pub address: String,
}

impl Barrier {
    /// On the leader: `ensure_linearizable` (a quorum confirms it leads, and
    /// it has applied what it committed). On a follower: the leader's read
    /// index, then waiting until this node has applied that far.
    async fn run(&self) -> Result<(), Unavailable> {
        let deadline = Instant::now() + LEADER_WAIT;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(Unavailable::NoLeader);
            }
            let leader = match tokio::time::timeout(remaining, self.raft.ensure_linearizable()).await {
                Err(_) => return Err(Unavailable::NoLeader),
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(to)))) => to.leader_node,
                // The leader could not hear from a quorum: try again.
                Ok(Err(RaftError::APIError(CheckIsLeaderError::QuorumNotEnough(_)))) => None,
                Ok(Err(e)) => return Err(Unavailable::Closed(e.to_string())),
            };
            if let Some(leader) = leader.filter(|l| l.addr != self.address) {
                if let Some(index) = self.read_index(&leader.addr, remaining).await {
                    let wait = deadline.saturating_duration_since(Instant::now());
                    let caught_up = match index {
                        None => true,
                        Some(log_id) => self
                            .raft
                            .wait(Some(wait))
                            .applied_index_at_least(Some(log_id.index), "read index")
                            .await
                            .is_ok(),
                    };
                    return if caught_up { Ok(()) } else { Err(Unavailable::NoLeader) };
                }
            }
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }

    /// The leader's read index (`Some(None)`: nothing committed yet), or
    /// `None` if it could not give one.
    async fn read_index(&self, leader: &str, wait: Duration) -> Option<Option<LogId<NodeId>>> {
        let url = format!("http://{leader}/raft/read-index");
        let response = self.http.post(url).timeout(wait).send().await.ok()?;
        response.json::<ReadIndexAnswer>().await.ok()?.ok()
    }
}
