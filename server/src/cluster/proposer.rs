//! Group commit for client writes. openraft 0.9 writes each proposal to the
//! leader's log, and waits for that write's sync, before it takes the next
//! one: a log entry per client write would cost a sync per write, whatever
//! the number of clients. The proposer instead gathers the writes that
//! arrive while earlier proposals are in flight (at most `IN_FLIGHT_MAX`)
//! into one log entry (`Command::Many`), applied in order as one atomic
//! batch, and gives each caller its own reply. Every command of a batch was
//! sent and none answered before the entry applies, so the batch's order is
//! as good as any for linearizability.

use std::sync::Arc;

use openraft::error::{ClientWriteError, Fatal, RaftError};
use openraft::BasicNode;
use tokio::sync::{mpsc, oneshot, Semaphore};

use super::{NodeId, Raft};
use crate::command::{Command, Reply};

/// What a proposal comes to: the command's reply, or Raft's error (a
/// `ForwardToLeader`: this node does not lead; nothing was written).
pub type Answer = Result<Reply, RaftError<NodeId, ClientWriteError<NodeId, BasicNode>>>;

/// Proposals in flight at once; the writes arriving meanwhile form the next.
const IN_FLIGHT_MAX: usize = 2;
/// A batch's size limits, so that its entry stays far below the log's.
const BATCH_COMMANDS_MAX: usize = 1024;
const BATCH_BYTES_MAX: usize = 8 << 20;

type Pending = (Command, oneshot::Sender<Answer>);

pub struct Proposer {
    queue: mpsc::UnboundedSender<Pending>,
}

impl Proposer {
    /// Starts the batching task (on the current tokio runtime).
    pub fn start(raft: Raft) -> Proposer {
        let (queue, pending) = mpsc::unbounded_channel();
        tokio::spawn(run(raft, pending));
        Proposer { queue }
    }

    /// Proposes `command` (with whatever else is waiting) and returns its
    /// reply once applied.
    pub async fn propose(&self, command: Command) -> Answer {
        let (reply, answer) = oneshot::channel();
        if self.queue.send((command, reply)).is_err() {
            return Err(RaftError::Fatal(Fatal::Stopped));
        }
        answer.await.unwrap_or(Err(RaftError::Fatal(Fatal::Stopped)))
    }
}

async fn run(raft: Raft, mut pending: mpsc::UnboundedReceiver<Pending>) {
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT_MAX));
    let mut carried: Option<Pending> = None;
    loop {
        // Wait for a free slot first: what arrives meanwhile joins the batch.
        let Ok(slot) = in_flight.clone().acquire_owned().await else { return };
        let first = match carried.take() {
            Some(first) => first,
            None => match pending.recv().await {
                Some(first) => first,
                None => return,
            },
        };
        let mut bytes = first.0.approx_bytes();
        let mut batch = vec![first];
        while batch.len() < BATCH_COMMANDS_MAX {
            let Ok(next) = pending.try_recv() else { break };
            bytes += next.0.approx_bytes();
            if bytes > BATCH_BYTES_MAX {
                carried = Some(next);
                break;
            }
            batch.push(next);
        }
        let raft = raft.clone();
        tokio::spawn(async move {
            propose(&raft, batch).await;
            drop(slot);
        });
    }
}

async fn propose(raft: &Raft, mut batch: Vec<Pending>) {
    if batch.len() == 1 {
        let Some((command, reply)) = batch.pop() else { return };
        let _ = reply.send(raft.client_write(command).await.map(|r| r.data));
        return;
    }
    let (commands, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
    let count = commands.len();
    match raft.client_write(Command::Many { commands }).await {
        Ok(response) => match response.data {
            Reply::Many { replies: answers } if answers.len() == count => {
                for (reply, answer) in replies.into_iter().zip(answers) {
                    let _ = reply.send(Ok(answer));
                }
            }
            // Applying a Many gives a Many of its length: anything else is a bug.
            other => {
                for reply in replies {
                    let message = format!("a batch of {count} writes applied as {other:?}");
                    let _ = reply.send(Ok(Reply::Rejected { code: "IO".into(), message }));
                }
            }
        },
        Err(e) => {
            for reply in replies {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}
