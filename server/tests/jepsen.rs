//! A Jepsen-style test of the three-node cluster. Concurrent clients put,
//! get, delete and batch-put a handful of contended keys, and put keys of
//! their own that nothing overwrites, each request to a node picked at
//! random, while a nemesis SIGKILLs a node (half the time the leader) and
//! restarts it, again and again: at least `KILLS_MIN` kills, never more than
//! one node down. Every operation's call and return times and result are
//! recorded; one whose fate is unknown (a timeout, a dropped connection, a
//! `LSMKV_TIMEOUT`) is recorded as such, one that certainly did nothing (a
//! refused connection, `LSMKV_NO_LEADER`) is left out. At the end the
//! history, with a final read of every key from every node, is checked for
//! linearizability key by key (`support::linearizability`, itself tested
//! below on known-good and known-bad histories), every acknowledged write of
//! a key of its own must be there and every certainly failed one absent,
//! and the three nodes must hold the same data.

mod common;
mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use lsmkv::testing::Rng;
use serde_json::{json, Value};
use support::linearizability::{check, check_register, Action, Operation};
use support::{ok, Cluster, FAST_RAFT};

const CLIENTS: u64 = 6;
const KEYS: u64 = 5;
const KILLS_MIN: u64 = 22;
const NODES: u64 = 3;

/// How a request ended.
enum Outcome {
    Ok(Value),
    /// Certainly not applied.
    Failed,
    /// May or may not have been applied.
    Unknown,
}

fn request(method: &str, url: &str, body: Option<&Value>) -> Outcome {
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(20)).max_idle_connections(0).build();
    let request = agent.request(method, url);
    let result = match body {
        Some(body) => request.set("Content-Type", "application/json").send_string(&body.to_string()),
        None => request.call(),
    };
    match result {
        Ok(response) => Outcome::Ok(serde_json::from_reader(response.into_reader()).unwrap_or(Value::Null)),
        Err(ureq::Error::Status(status, response)) => {
            let body: Value = serde_json::from_reader(response.into_reader()).unwrap_or(Value::Null);
            let code = body["error"]["code"].as_str().unwrap_or("");
            match (status, code) {
                (503, "LSMKV_NO_LEADER") => Outcome::Failed,
                (s, _) if s >= 500 => Outcome::Unknown,
                _ => panic!("{method} {url}: {status} {body}"),
            }
        }
        Err(ureq::Error::Transport(t)) if t.kind() == ureq::ErrorKind::ConnectionFailed => Outcome::Failed,
        Err(_) => Outcome::Unknown,
    }
}

#[derive(Default)]
struct Counts {
    ok: u64,
    failed: u64,
    unknown: u64,
}

/// The shared record of what happened.
struct Recorder {
    start: Instant,
    history: Mutex<Vec<Operation>>,
    /// Keys of their own: write id and outcome (true: acknowledged).
    own: Mutex<BTreeMap<String, (u64, Option<bool>)>>,
    counts: Mutex<Counts>,
    next_id: AtomicU64,
}

impl Recorder {
    fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// Records writes of `values` (key, value id) made by one request.
    fn writes(&self, values: &[(String, Option<u64>)], call: u64, outcome: &Outcome) {
        let ret = self.now();
        let ret = match outcome {
            Outcome::Ok(_) => Some(ret),
            Outcome::Unknown => None,
            Outcome::Failed => {
                self.counts.lock().unwrap().failed += 1;
                return;
            }
        };
        let mut counts = self.counts.lock().unwrap();
        if ret.is_some() {
            counts.ok += 1
        } else {
            counts.unknown += 1
        }
        let mut history = self.history.lock().unwrap();
        for (key, value) in values {
            history.push(Operation { key: key.clone(), action: Action::Write(*value), call, ret });
        }
    }

    fn read(&self, key: &str, call: u64, outcome: &Outcome) {
        let ret = self.now();
        let mut counts = self.counts.lock().unwrap();
        match outcome {
            Outcome::Ok(body) => {
                counts.ok += 1;
                let value = body["value"]["id"].as_u64();
                assert!(value.is_some() || body["value"].is_null(), "{body}");
                let op = Operation { key: key.into(), action: Action::Read(value), call, ret: Some(ret) };
                self.history.lock().unwrap().push(op);
            }
            Outcome::Failed => counts.failed += 1,
            Outcome::Unknown => counts.unknown += 1,
        }
    }
}

fn client(id: u64, bases: Vec<String>, recorder: Arc<Recorder>, stop: Arc<AtomicBool>) {
    let mut rng = Rng::new(0x5eed ^ id);
    let mut own = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let base = &bases[rng.below(NODES) as usize];
        let key = format!("c{}", rng.below(KEYS));
        let value_id = recorder.next_id.fetch_add(1, Ordering::SeqCst);
        let call = recorder.now();
        match rng.below(100) {
            0..=34 => {
                let body = json!({ "key": key, "value": { "id": value_id } });
                let outcome = request("POST", &format!("{base}/api/put"), Some(&body));
                recorder.writes(&[(key, Some(value_id))], call, &outcome);
            }
            35..=59 => {
                let outcome = request("GET", &format!("{base}/api/get/{key}"), None);
                recorder.read(&key, call, &outcome);
            }
            60..=67 => {
                let outcome = request("DELETE", &format!("{base}/api/delete/{key}"), None);
                recorder.writes(&[(key, None)], call, &outcome);
            }
            68..=81 => {
                // Two or three keys written atomically.
                let other = format!("c{}", (rng.below(KEYS - 1) + 1 + key[1..].parse::<u64>().unwrap()) % KEYS);
                let third = recorder.next_id.fetch_add(1, Ordering::SeqCst);
                let items = json!({ key.clone(): { "id": value_id }, other.clone(): { "id": third } });
                let outcome = request("POST", &format!("{base}/api/batch_put"), Some(&items));
                recorder.writes(&[(key, Some(value_id)), (other, Some(third))], call, &outcome);
            }
            _ => {
                let key = format!("own/{id}/{own:05}");
                own += 1;
                let body = json!({ "key": key, "value": { "id": value_id } });
                let outcome = request("POST", &format!("{base}/api/put"), Some(&body));
                let acknowledged = match outcome {
                    Outcome::Ok(_) => Some(true),
                    Outcome::Failed => Some(false),
                    Outcome::Unknown => None,
                };
                recorder.own.lock().unwrap().insert(key.clone(), (value_id, acknowledged));
                recorder.writes(&[(key, Some(value_id))], call, &outcome);
            }
        }
    }
}

/// Kills a node (half the time the leader), waits, restarts it; returns
/// when `KILLS_MIN` kills are done. One node at most is ever down.
fn nemesis(cluster: &mut Cluster, rng: &mut Rng) -> u64 {
    let mut kills = 0;
    while kills < KILLS_MIN {
        thread::sleep(Duration::from_millis(400 + rng.below(1100)));
        let leader = (1..=NODES).find_map(|id| cluster.health(id)?["leader"]["id"].as_u64());
        let victim = match leader {
            Some(leader) if rng.chance(50) => leader,
            _ => 1 + rng.below(NODES),
        };
        cluster.node_mut(victim).kill9();
        kills += 1;
        thread::sleep(Duration::from_millis(200 + rng.below(1000)));
        cluster.node_mut(victim).restart();
    }
    kills
}

#[test]
fn random_kills_keep_the_history_linearizable_and_lose_no_acknowledged_write() {
    let seed = std::env::var("LSMKV_JEPSEN_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(2026);
    let mut rng = Rng::new(seed);
    // Frequent snapshots: a restarted node sometimes catches up from one.
    let mut args = FAST_RAFT.to_vec();
    args.extend(["--raft-snapshot-logs", "300", "--raft-keep-logs", "100"]);
    let mut cluster = Cluster::start(NODES, &args);
    let bases: Vec<String> = cluster.nodes.iter().map(|n| n.base.clone()).collect();
    let recorder = Arc::new(Recorder {
        start: Instant::now(),
        history: Mutex::new(Vec::new()),
        own: Mutex::new(BTreeMap::new()),
        counts: Mutex::new(Counts::default()),
        next_id: AtomicU64::new(1),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|id| {
            let (bases, recorder, stop) = (bases.clone(), recorder.clone(), stop.clone());
            thread::spawn(move || client(id ^ seed, bases, recorder, stop))
        })
        .collect();

    let kills = nemesis(&mut cluster, &mut rng);
    thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
    }

    // Everyone up: every node catches up, then every key is read from every node.
    cluster.wait_converged();
    for node in &cluster.nodes {
        for k in 0..KEYS {
            let key = format!("c{k}");
            let call = recorder.now();
            let outcome = request("GET", &format!("{}/api/get/{key}", node.base), None);
            assert!(matches!(outcome, Outcome::Ok(_)), "a final read from node {}", node.id);
            recorder.read(&key, call, &outcome);
        }
    }
    let first = cluster.dump(1);
    for node in &cluster.nodes {
        assert_eq!(cluster.dump(node.id), first, "node {} holds different data", node.id);
    }

    // Keys of their own: acknowledged ones there, failed ones absent.
    let own = recorder.own.lock().unwrap();
    let found: BTreeMap<String, u64> = ok("GET", &format!("{}/api/range?prefix=own/", bases[0]), None)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["key"].as_str().unwrap().to_owned(), i["value"]["id"].as_u64().unwrap()))
        .collect();
    let mut acknowledged = 0;
    for (key, (id, outcome)) in own.iter() {
        match outcome {
            Some(true) => {
                acknowledged += 1;
                assert_eq!(found.get(key), Some(id), "{key}: an acknowledged write is lost");
            }
            Some(false) => assert_eq!(found.get(key), None, "{key}: a write reported as not done is there"),
            None => assert!(found.get(key).is_none_or(|f| f == id), "{key}"),
        }
    }
    assert!(found.keys().all(|k| own.contains_key(k)), "a key nobody wrote");

    let history = recorder.history.lock().unwrap();
    let started = Instant::now();
    let keys = check(&history).unwrap_or_else(|e| panic!("not linearizable: {e}"));
    let counts = recorder.counts.lock().unwrap();
    println!(
        "jepsen: {kills} kills; {} requests ({} ok, {} certainly failed, {} unknown); {} operations in the history; \
         {keys} per-key histories checked linearizable in {:?}; {acknowledged} acknowledged writes of keys of their own all present",
        counts.ok + counts.failed + counts.unknown,
        counts.ok,
        counts.failed,
        counts.unknown,
        history.len(),
        started.elapsed()
    );
    assert!(kills >= KILLS_MIN && counts.ok > 0);
}

// ---------------------------------------------------------------------------
// The checker on known histories

fn op(action: Action, call: u64, ret: Option<u64>) -> Operation {
    Operation { key: "k".into(), action, call, ret }
}

fn linearizable(ops: &[Operation]) -> bool {
    check_register(&ops.iter().collect::<Vec<_>>()).unwrap()
}

use Action::{Read as R, Write as W};

#[test]
fn checker_accepts_linearizable_histories() {
    // Sequential: write, then read it.
    assert!(linearizable(&[op(W(Some(1)), 0, Some(10)), op(R(Some(1)), 20, Some(30))]));
    // A read overlapping a write may see either value.
    assert!(linearizable(&[op(W(Some(1)), 0, Some(10)), op(R(None), 5, Some(15))]));
    assert!(linearizable(&[op(W(Some(1)), 0, Some(10)), op(R(Some(1)), 5, Some(15))]));
    // Two overlapping writes, then reads that agree on the order 2 then 1.
    assert!(linearizable(&[
        op(W(Some(1)), 0, Some(10)),
        op(W(Some(2)), 1, Some(11)),
        op(R(Some(1)), 20, Some(21)),
        op(R(Some(1)), 22, Some(23)),
    ]));
    // An unknown write may take effect late, or never.
    assert!(linearizable(&[op(W(Some(1)), 0, None), op(R(None), 5, Some(6)), op(R(Some(1)), 50, Some(60))]));
    assert!(linearizable(&[op(W(Some(1)), 0, None), op(R(None), 50, Some(60))]));
    // A delete makes the key absent again.
    assert!(linearizable(&[op(W(Some(1)), 0, Some(1)), op(W(None), 2, Some(3)), op(R(None), 4, Some(5))]));
}

#[test]
fn checker_rejects_histories_that_are_not_linearizable() {
    // A stale read: the write had returned before the read began.
    assert!(!linearizable(&[op(W(Some(1)), 0, Some(10)), op(R(None), 20, Some(30))]));
    // A value never written.
    assert!(!linearizable(&[op(R(Some(7)), 0, Some(1))]));
    // A lost write: 1 then 2 in sequence, then a read of 1.
    assert!(!linearizable(&[op(W(Some(1)), 0, Some(10)), op(W(Some(2)), 20, Some(30)), op(R(Some(1)), 40, Some(50)),]));
    // Two sequential reads that see two overlapping writes in opposite orders.
    assert!(!linearizable(&[
        op(W(Some(1)), 0, Some(100)),
        op(W(Some(2)), 0, Some(100)),
        op(R(Some(1)), 10, Some(20)),
        op(R(Some(2)), 30, Some(40)),
        op(R(Some(1)), 50, Some(60)),
    ]));
    // An unknown write, once seen, cannot vanish.
    assert!(!linearizable(&[op(W(Some(1)), 0, None), op(R(Some(1)), 5, Some(6)), op(R(None), 10, Some(11))]));
    // And the whole-history check names the key.
    let history = vec![
        Operation { key: "fine".into(), action: W(Some(1)), call: 0, ret: Some(1) },
        Operation { key: "bad".into(), action: R(Some(3)), call: 0, ret: Some(1) },
    ];
    assert!(check(&history).unwrap_err().starts_with("key bad"));
}
