//! Three `lsmkv-server --cluster` processes on ephemeral loopback ports.
//! The first test writes through every node, reads from every node
//! (linearizable and stale), SIGKILLs the leader, sees a new one elected and
//! writes go on, restarts the killed node on its old address and sees it
//! catch up from the log, until all three hold the same data. The second
//! makes a node miss more than the leader keeps in its log, so that it can
//! only catch up from a snapshot, and checks that it installed one. The
//! third grows a one-node cluster to three through the admin routes (sent
//! to followers, which forward them) and shrinks it again.

mod common;
mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{call, eventually, ok, Cluster, FAST_RAFT};

fn post(base: &str, route: &str, body: Value) -> Value {
    ok("POST", &format!("{base}{route}"), Some(&body))
}

fn put(base: &str, key: &str, value: Value) {
    ok("POST", &format!("{base}/api/put"), Some(&json!({ "key": key, "value": value })));
}

fn read(base: &str, key: &str, stale: bool) -> Value {
    let query = if stale { "?stale=true" } else { "" };
    ok("GET", &format!("{base}/api/get/{key}{query}"), None)["value"].clone()
}

/// Every node answers every key of `expected` with its value, through a
/// linearizable read.
fn every_node_reads(cluster: &Cluster, expected: &[(String, Value)]) {
    for node in cluster.nodes.iter().filter(|n| n.is_up()) {
        for (key, value) in expected {
            assert_eq!(&read(&node.base, key, false), value, "node {} key {key}", node.id);
        }
    }
}

/// All live nodes hold exactly the same keys and values (metadata hidden).
fn all_agree(cluster: &Cluster) -> Value {
    cluster.wait_converged();
    let first = cluster.dump(cluster.nodes.iter().find(|n| n.is_up()).unwrap().id);
    for node in cluster.nodes.iter().filter(|n| n.is_up()) {
        assert_eq!(cluster.dump(node.id), first, "node {} differs", node.id);
    }
    first
}

#[test]
fn writes_survive_a_leader_kill_and_the_killed_node_catches_up() {
    let mut cluster = Cluster::start(3, &FAST_RAFT);
    let leader = cluster.wait_for_leader(&[]);
    let mut expected = Vec::new();
    // Writes through every node: a follower forwards to the leader.
    for i in 0..30u64 {
        let node = cluster.node(1 + i % 3);
        put(&node.base, &format!("k{i:02}"), json!({ "i": i }));
        expected.push((format!("k{i:02}"), json!({ "i": i })));
    }
    let base = cluster.node(1 + (leader % 3)).base.clone();
    let batch = json!({ "ops": [
        { "type": "put", "key": "b1", "value": "one" },
        { "type": "put", "key": "b2", "value": "two" },
        { "type": "delete", "key": "k00" },
    ] });
    assert_eq!(ok("POST", &format!("{base}/api/batch"), Some(&batch))["count"], 3);
    assert_eq!(ok("DELETE", &format!("{base}/api/delete/k01"), None)["deleted"], true);
    assert_eq!(ok("DELETE", &format!("{base}/api/delete/k01"), None)["deleted"], false);
    assert_eq!(ok("DELETE", &format!("{base}/api/range?prefix=k2"), None)["deleted"], 10);
    expected.retain(|(k, _)| k != "k00" && k != "k01" && !k.starts_with("k2"));
    expected.push(("b1".into(), json!("one")));
    expected.push(("b2".into(), json!("two")));
    expected.push(("k00".into(), Value::Null));
    every_node_reads(&cluster, &expected);

    // A stale read answers from the node's own store: once it has applied
    // the leader's log, it has everything.
    cluster.wait_converged();
    for node in &cluster.nodes {
        assert_eq!(read(&node.base, "b2", true), json!("two"), "node {}", node.id);
        let keys = ok("GET", &format!("{}/api/keys", node.base), None);
        assert_eq!(keys["count"], 20, "node {}: only client keys, never the Raft metadata: {keys}", node.id);
    }

    // Every node reports the same leader and term.
    let term = cluster.health(leader).unwrap()["term"].clone();
    for node in &cluster.nodes {
        let health = cluster.health(node.id).unwrap();
        assert_eq!(health["leader"]["id"], leader, "{health}");
        assert_eq!(health["term"], term, "{health}");
        assert_eq!(health["membership"]["voters"], json!([1, 2, 3]), "{health}");
        let role = if node.id == leader { "leader" } else { "follower" };
        assert_eq!(health["role"], role, "{health}");
    }

    // SIGKILL the leader: the two others elect a new one and writes go on.
    cluster.node_mut(leader).kill9();
    let new_leader = cluster.wait_for_leader(&[]);
    assert_ne!(new_leader, leader);
    for i in 30..50u64 {
        let id = [1, 2, 3].into_iter().filter(|&id| id != leader).nth((i % 2) as usize).unwrap();
        put(&cluster.node(id).base, &format!("k{i:02}"), json!({ "i": i }));
        expected.push((format!("k{i:02}"), json!({ "i": i })));
    }
    every_node_reads(&cluster, &expected);

    // The killed node comes back on its address and catches up from the log.
    cluster.node_mut(leader).restart();
    let applied = cluster.wait_converged();
    let health = cluster.health(leader).unwrap();
    assert!(health["lastApplied"].as_u64().unwrap() >= applied, "{health}");
    let current = std::fs::read_to_string(cluster.node(leader).dir.join("state/CURRENT")).unwrap();
    assert_eq!(current.trim(), "gen-000001", "caught up from the log, without installing a snapshot");
    every_node_reads(&cluster, &expected);
    let data = all_agree(&cluster);
    assert_eq!(data.as_array().unwrap().len(), expected.iter().filter(|(_, v)| !v.is_null()).count());
}

#[test]
fn a_node_that_fell_behind_the_log_catches_up_from_a_snapshot() {
    // A snapshot every 20 entries, and no entry kept behind it.
    let mut args = FAST_RAFT.to_vec();
    args.extend(["--raft-snapshot-logs", "20", "--raft-keep-logs", "0"]);
    let mut cluster = Cluster::start(3, &args);
    let leader = cluster.wait_for_leader(&[]);
    let follower = [1, 2, 3].into_iter().find(|&id| id != leader).unwrap();
    put(&cluster.node(leader).base, "before", json!(0));
    cluster.wait_converged();
    cluster.node_mut(follower).kill9();

    for i in 0..120u64 {
        put(&cluster.node(leader).base, &format!("s{i:03}"), json!(i));
    }
    ok("DELETE", &format!("{}/api/range?prefix=s00", cluster.node(leader).base), None);
    let purged = eventually("the leader to purge its log", Duration::from_secs(30), || {
        cluster.health(leader)?["purged"].as_u64().filter(|&p| p > 100)
    });
    assert!(purged > 100);

    cluster.node_mut(follower).restart();
    all_agree(&cluster);
    let health = cluster.health(follower).unwrap();
    assert!(health["snapshot"].as_u64().unwrap() > 100, "{health}");
    // Installing a snapshot switches the state machine to a new generation.
    let current = std::fs::read_to_string(cluster.node(follower).dir.join("state/CURRENT")).unwrap();
    assert_ne!(current.trim(), "gen-000001", "the follower installed a snapshot");
    assert_eq!(read(&cluster.node(follower).base, "s119", false), json!(119));
    assert_eq!(read(&cluster.node(follower).base, "s005", false), Value::Null);
    assert_eq!(read(&cluster.node(follower).base, "before", true), json!(0));

    // A write through the restarted node still works, and reaches everyone.
    put(&cluster.node(follower).base, "after", json!("snapshot"));
    for node in &cluster.nodes {
        assert_eq!(read(&node.base, "after", false), json!("snapshot"));
    }
    let _ = call("GET", &format!("{}/cluster/metrics", cluster.node(follower).base), None).unwrap();
}

#[test]
fn nodes_join_and_leave_through_the_admin_routes() {
    let mut cluster = Cluster::start(1, &FAST_RAFT);
    let first = cluster.node(1).base.clone();
    put(&first, "early", json!("before the others joined"));
    match call("POST", &format!("{first}/cluster/init"), Some(&json!({}))) {
        Some((409, body)) => assert_eq!(body["error"]["code"], "LSMKV_CONFLICT", "{body}"),
        other => panic!("a second init: {other:?}"),
    }

    let two = cluster.add_node(&FAST_RAFT);
    let three = cluster.add_node(&FAST_RAFT);
    assert_eq!(cluster.health(two).unwrap()["role"], "uninitialized");
    let learner = |id: u64| json!({ "id": id, "addr": cluster.node(id).address() });
    post(&first, "/cluster/add-learner", learner(two));
    // Node 2 now follows (as a learner) and, once the leader's first
    // heartbeat has reached it, forwards to the leader (before that it
    // answers LSMKV_NO_LEADER: no leader is known to it yet).
    eventually("node 2 knows the leader", Duration::from_secs(30), || {
        cluster.health(two).filter(|h| h["leader"]["id"] == 1)
    });
    post(&cluster.node(two).base, "/cluster/add-learner", learner(three));
    eventually("node 3 knows the leader", Duration::from_secs(30), || {
        cluster.health(three).filter(|h| h["leader"]["id"] == 1)
    });
    let answer = post(&cluster.node(three).base, "/cluster/change-membership", json!({ "members": [1, two, three] }));
    assert_eq!(answer["data"]["membership"]["voters"], json!([1, two, three]), "{answer}");
    for id in [1, two, three] {
        let health = eventually("the new membership everywhere", Duration::from_secs(30), || {
            cluster.health(id).filter(|h| h["membership"]["voters"] == json!([1, two, three]))
        });
        assert_eq!(health["leader"]["id"], 1, "{health}");
        assert_eq!(read(&cluster.node(id).base, "early", false), json!("before the others joined"));
    }

    // Node 1 (the leader) leaves; the two others go on without it.
    post(&cluster.node(two).base, "/cluster/change-membership", json!({ "members": [two, three] }));
    let leader = eventually("a leader among the two left", Duration::from_secs(30), || {
        cluster.health(two)?["leader"]["id"].as_u64().filter(|&l| l != 1)
    });
    put(&cluster.node(three).base, "late", json!("after node 1 left"));
    for id in [two, three] {
        assert_eq!(read(&cluster.node(id).base, "late", false), json!("after node 1 left"));
        assert_eq!(cluster.health(id).unwrap()["membership"]["voters"], json!([two, three]));
    }
    assert!(leader == two || leader == three);
}
