//! A cluster of real `lsmkv-server --cluster` processes for tests: started
//! on ephemeral 127.0.0.1 ports over fresh data directories, joined with
//! `POST /cluster/init`, killed (SIGKILL) and restarted on their old
//! addresses, and removed when dropped.

#![allow(dead_code)]

pub mod linearizability;

use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::spawn;

/// Raft timing for tests: quicker elections than the defaults, still loose
/// enough for a busy two-core machine.
pub const FAST_RAFT: [&str; 4] = ["--raft-heartbeat-ms", "200", "--raft-election-ms", "800"];

pub struct Node {
    pub id: u64,
    pub dir: PathBuf,
    child: Option<Child>,
    /// `http://host:port`
    pub base: String,
    args: Vec<String>,
}

impl Node {
    /// `host:port`, as the other nodes know it.
    pub fn address(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    pub fn is_up(&self) -> bool {
        self.child.is_some()
    }

    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the node again on its directory; it binds its old address.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "restart a stopped node");
        let (child, base) = spawn(&self.dir, &self.args);
        assert_eq!(base, self.base, "a restarted node keeps its address");
        self.child = Some(child);
    }
}

pub struct Cluster {
    pub nodes: Vec<Node>,
}

pub fn agent() -> ureq::Agent {
    // No pooled connections: a pooled connection to a node killed since
    // would fail a request that was never delivered.
    ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).max_idle_connections(0).build()
}

/// Status and JSON body of any answer (errors included); `None` if the
/// request got no answer.
pub fn call(method: &str, url: &str, body: Option<&Value>) -> Option<(u16, Value)> {
    let request = agent().request(method, url);
    let result = match body {
        Some(body) => request.set("Content-Type", "application/json").send_string(&body.to_string()),
        None => request.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(_) => return None,
    };
    let status = response.status();
    let text = response.into_string().ok()?;
    Some((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
}

/// A call that must succeed.
pub fn ok(method: &str, url: &str, body: Option<&Value>) -> Value {
    match call(method, url, body) {
        Some((200, body)) => body,
        other => panic!("{method} {url}: {other:?}"),
    }
}

/// Polls `probe` every 50 ms until it gives a value, at most `limit / 50 ms`
/// times: a bound against a hang, counted in attempts, not a clock check.
pub fn eventually<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    const PAUSE: Duration = Duration::from_millis(50);
    let attempts = (limit.as_millis() / PAUSE.as_millis()).max(1);
    for _ in 0..attempts {
        if let Some(found) = probe() {
            return found;
        }
        std::thread::sleep(PAUSE);
    }
    panic!("gave up waiting for {what} after {attempts} attempts")
}

static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Cluster {
    /// `size` nodes (ids 1..=size) with `args`, joined by one
    /// `POST /cluster/init` on node 1, with a leader every node knows.
    pub fn start(size: u64, args: &[&str]) -> Cluster {
        let mut cluster = Cluster { nodes: Vec::new() };
        for _ in 0..size {
            cluster.add_node(args);
        }
        let members: serde_json::Map<String, Value> =
            cluster.nodes.iter().map(|n| (n.id.to_string(), json!(n.address()))).collect();
        ok("POST", &format!("{}/cluster/init", cluster.nodes[0].base), Some(&json!({ "nodes": members })));
        cluster.wait_for_leader(&[]);
        cluster
    }

    /// Starts one more node (the next id), not yet a member of anything.
    pub fn add_node(&mut self, args: &[&str]) -> u64 {
        let id = self.nodes.len() as u64 + 1;
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("lsmkv-cluster-test-{}-{n}-node{id}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut all: Vec<String> = vec!["--cluster".into(), "--node-id".into(), id.to_string()];
        all.extend(args.iter().map(|a| a.to_string()));
        let (child, base) = spawn(&dir, &all);
        self.nodes.push(Node { id, dir, child: Some(child), base, args: all });
        id
    }

    pub fn node(&self, id: u64) -> &Node {
        &self.nodes[(id - 1) as usize]
    }

    pub fn node_mut(&mut self, id: u64) -> &mut Node {
        &mut self.nodes[(id - 1) as usize]
    }

    /// `data.cluster` of a node's health report, if it answers.
    pub fn health(&self, id: u64) -> Option<Value> {
        let node = self.node(id);
        if !node.is_up() {
            return None;
        }
        match call("GET", &format!("{}/api/health", node.base), None) {
            Some((200, body)) => Some(body["data"]["cluster"].clone()),
            _ => None,
        }
    }

    /// The leader every live node (but those in `except`) agrees on, once
    /// there is one; returns its id.
    pub fn wait_for_leader(&self, except: &[u64]) -> u64 {
        eventually("a leader every live node knows", Duration::from_secs(60), || {
            let mut leader = None;
            for node in self.nodes.iter().filter(|n| n.is_up() && !except.contains(&n.id)) {
                let health = self.health(node.id)?;
                let seen = health["leader"]["id"].as_u64()?;
                if leader.is_some_and(|l| l != seen) {
                    return None;
                }
                leader = Some(seen);
            }
            let leader = leader?;
            (self.health(leader)?["role"] == "leader").then_some(leader)
        })
    }

    /// Waits until every live node has applied everything the leader has
    /// committed; returns that index.
    pub fn wait_converged(&self) -> u64 {
        eventually("every live node applying the leader's log", Duration::from_secs(60), || {
            let leader = self.wait_for_leader(&[]);
            let committed = self.health(leader)?["committed"].as_u64()?;
            let all = self
                .nodes
                .iter()
                .filter(|n| n.is_up())
                .all(|n| self.health(n.id).and_then(|h| h["lastApplied"].as_u64()).is_some_and(|a| a >= committed));
            all.then_some(committed)
        })
    }

    /// Every key and value of a node's store, read without a barrier.
    pub fn dump(&self, id: u64) -> Value {
        ok("GET", &format!("{}/api/range?stale=true", self.node(id).base), None)["items"].clone()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill9();
            let _ = std::fs::remove_dir_all(&node.dir);
        }
    }
}
