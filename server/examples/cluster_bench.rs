//! Cluster throughput and latency against a single node, all on loopback:
//! a single `lsmkv-server` and a three-node `--cluster`, each on fresh data
//! directories, driven by 1, 16 and 64 concurrent HTTP clients (one
//! keep-alive connection each) for a few seconds per cell. Writes are
//! `POST /api/put` of new keys (~100-byte values); reads are
//! `GET /api/get/<key>` of keys written before. Cluster clients spread
//! their requests over the three nodes (a follower forwards a write to the
//! leader, and asks it for a read index before a linearizable read), except
//! the "to the leader" row.
//!
//! ```text
//! cargo build --release -p lsmkv-server --bins --examples
//! target/release/examples/cluster_bench [--seconds 3] [--preset production]
//! ```
//!
//! The nodes and the clients share the machine: on a small one the figures
//! measure contention as much as replication.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const CLIENTS: [u64; 3] = [1, 16, 64];
/// Keys written before the read cells, read at random.
const READ_KEYS: u64 = 2000;

#[path = "../tests/common/mod.rs"]
mod common;

/// A server process, killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The release server next to this example (`target/release/examples/` →
/// `target/release/lsmkv-server`).
fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the example's path");
    exe.parent().and_then(Path::parent).expect("target/<profile>").join("lsmkv-server")
}

fn start(dir: &Path, args: &[String]) -> Server {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("create a data directory");
    let (child, base) = common::spawn_binary(&server_binary(), dir, args);
    Server { child, base }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build()
}

fn value(n: u64) -> Value {
    json!({ "n": n, "pad": "x".repeat(80) })
}

#[derive(Clone, Copy, PartialEq)]
enum Work {
    Write,
    Read { stale: bool },
}

/// One cell: `clients` threads for `seconds`; ops/s and p99 in ms.
fn run(bases: &[String], work: Work, clients: u64, seconds: f64, next_key: &Arc<AtomicU64>) -> (f64, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let (bases, stop, measuring, next_key) =
                (bases.to_vec(), stop.clone(), measuring.clone(), next_key.clone());
            thread::spawn(move || {
                let agent = agent();
                let base = &bases[(c as usize) % bases.len()];
                let mut rng = c.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                let mut latencies = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let result = match work {
                        Work::Write => {
                            let n = next_key.fetch_add(1, Ordering::Relaxed);
                            let body = json!({ "key": format!("w{n:012}"), "value": value(n) }).to_string();
                            agent
                                .post(&format!("{base}/api/put"))
                                .set("Content-Type", "application/json")
                                .send_string(&body)
                        }
                        Work::Read { stale } => {
                            rng ^= rng << 13;
                            rng ^= rng >> 7;
                            rng ^= rng << 17;
                            let query = if stale { "?stale=true" } else { "" };
                            agent.get(&format!("{base}/api/get/r{:06}{query}", rng % READ_KEYS)).call()
                        }
                    };
                    let response = result.unwrap_or_else(|e| panic!("a request failed: {e}"));
                    let _ = response.into_string();
                    if measuring.load(Ordering::Relaxed) {
                        latencies.push(t.elapsed());
                    }
                }
                latencies
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(500));
    measuring.store(true, Ordering::SeqCst);
    let started = Instant::now();
    thread::sleep(Duration::from_secs_f64(seconds));
    measuring.store(false, Ordering::SeqCst);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let mut latencies: Vec<Duration> = threads.into_iter().flat_map(|t| t.join().expect("a client")).collect();
    latencies.sort();
    let p99 = latencies.get(latencies.len().saturating_sub(1) * 99 / 100).copied().unwrap_or_default();
    (latencies.len() as f64 / elapsed.as_secs_f64(), p99.as_secs_f64() * 1e3)
}

fn fill(base: &str) {
    let agent = agent();
    for chunk in 0..READ_KEYS / 100 {
        let items: serde_json::Map<String, Value> =
            (chunk * 100..(chunk + 1) * 100).map(|n| (format!("r{n:06}"), value(n))).collect();
        agent.post(&format!("{base}/api/batch_put")).send_json(json!({ "items": items })).expect("fill");
    }
}

fn health(base: &str) -> Value {
    let response = agent().get(&format!("{base}/api/health")).call().expect("health");
    serde_json::from_reader::<_, Value>(response.into_reader()).expect("JSON")["data"]["cluster"].clone()
}

fn main() {
    let mut seconds = 3.0;
    let mut preset = "production".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--seconds", Some(v)) => seconds = v.parse().expect("--seconds N"),
            ("--preset", Some(v)) => preset = v,
            _ => panic!("usage: cluster_bench [--seconds N] [--preset teaching|production]"),
        }
    }
    let root = std::env::temp_dir().join(format!("lsmkv-cluster-bench-{}", std::process::id()));
    let preset_args = vec!["--preset".to_owned(), preset.clone()];
    let next_key = Arc::new(AtomicU64::new(0));

    let single = start(&root.join("single"), &preset_args);
    fill(&single.base);
    let single_bases = vec![single.base.clone()];
    let mut single_results = Vec::new();
    for work in [Work::Write, Work::Read { stale: false }] {
        for clients in CLIENTS {
            single_results.push(run(&single_bases, work, clients, seconds, &next_key));
        }
    }
    drop(single);

    let nodes: Vec<Server> = (1..=3)
        .map(|id| {
            let mut args = vec!["--cluster".to_owned(), "--node-id".to_owned(), id.to_string()];
            args.extend(preset_args.clone());
            start(&root.join(format!("node{id}")), &args)
        })
        .collect();
    let members: serde_json::Map<String, Value> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| ((i + 1).to_string(), json!(n.base.trim_start_matches("http://"))))
        .collect();
    agent().post(&format!("{}/cluster/init", nodes[0].base)).send_json(json!({ "nodes": members })).expect("init");
    let leader = loop {
        if let Some(id) = health(&nodes[0].base)["leader"]["id"].as_u64() {
            break id as usize - 1;
        }
        thread::sleep(Duration::from_millis(100));
    };
    fill(&nodes[leader].base);
    let all: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    let to_leader = vec![nodes[leader].base.clone()];

    println!("{} seconds per cell, preset {preset}; ratio = cluster / single", seconds);
    println!();
    println!("| workload | clients | single ops/s | single p99 ms | cluster ops/s | cluster p99 ms | ratio |");
    println!("|---|---|---|---|---|---|---|");
    let rows: [(&str, Work, &[String], usize); 4] = [
        ("write, any node", Work::Write, &all, 0),
        ("write, to the leader", Work::Write, &to_leader, 0),
        ("read, linearizable, any node", Work::Read { stale: false }, &all, 1),
        ("read, stale, any node", Work::Read { stale: true }, &all, 1),
    ];
    for (name, work, bases, single_row) in rows {
        for (i, clients) in CLIENTS.into_iter().enumerate() {
            let (single_ops, single_p99) = single_results[single_row * CLIENTS.len() + i];
            let (ops, p99) = run(bases, work, clients, seconds, &next_key);
            println!(
                "| {name} | {clients} | {single_ops:.0} | {single_p99:.1} | {ops:.0} | {p99:.1} | {:.2} |",
                ops / single_ops
            );
        }
    }
    drop(nodes);
    let _ = std::fs::remove_dir_all(&root);
}
