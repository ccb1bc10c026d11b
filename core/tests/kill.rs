//! kill -9: a child process writes to a database on real files and reports
//! each write the moment its call returns Ok; the parent kills it with
//! SIGKILL at a random instant, reopens the database and checks that every
//! acknowledged write is there and every batch is all or nothing. Run under
//! `Durability::Buffered` (WAL appends are memory copies into a mapped file:
//! they must survive the process dying) and `Durability::Sync`, with
//! background flushes and compactions going on.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Rng;
use lsmkv::{Db, Durability, FsStorage, Options, RangeOptions, WriteBatch};

const CHILD_DIR: &str = "LSMKV_KILL_CHILD_DIR";
const CHILD_DURABILITY: &str = "LSMKV_KILL_CHILD_DURABILITY";
const CHILD_START: &str = "LSMKV_KILL_CHILD_START";

fn options(durability: Durability) -> Options {
    // Small memtables, so flushes and compactions run while the child dies.
    Options {
        durability,
        background_work: true,
        memtable_max_bytes: 96 << 10,
        sstable_max_bytes: 64 << 10,
        level_base_bytes: 256 << 10,
        key_size_max: 64,
        value_size_max: 1024,
        ..Options::production()
    }
}

fn value(i: u64) -> Vec<u8> {
    format!("value-{i}-{}", "x".repeat((i % 90) as usize)).into_bytes()
}

/// Writes forever from `start`: op i puts key i, and every fifth op is a
/// batch that also puts `pair/i/a` and `pair/i/b`. Prints `ack i` after each
/// Ok. Runs only as the child of `kill_9_loses_nothing_acknowledged`.
#[test]
fn child_writer() {
    let Ok(dir) = std::env::var(CHILD_DIR) else { return };
    let durability = match std::env::var(CHILD_DURABILITY).as_deref() {
        Ok("sync") => Durability::Sync,
        _ => Durability::Buffered,
    };
    let start: u64 = std::env::var(CHILD_START).unwrap().parse().unwrap();
    let db = Db::open(FsStorage::open(&dir).unwrap(), options(durability)).unwrap();
    let mut out = std::io::stdout().lock();
    for i in start.. {
        let key = format!("key/{i:010}");
        if i % 5 == 0 {
            let mut batch = WriteBatch::new();
            batch.put(key, value(i)).put(format!("pair/{i:010}/a"), value(i)).put(format!("pair/{i:010}/b"), value(i));
            db.write(&batch).unwrap();
        } else {
            db.put(key.as_bytes(), &value(i)).unwrap();
        }
        writeln!(out, "ack {i}").unwrap();
        out.flush().unwrap();
    }
}

/// The op an `ack i` line acknowledges. libtest prints the test's name
/// before its output, so the first line is `test child_writer ... ack i`.
fn acked(line: &str) -> Option<u64> {
    let at = line.find("ack ")?;
    Some(line[at + 4..].trim().parse().expect("ack lines end in a number"))
}

/// Runs one child until a random moment, SIGKILLs it, returns the highest acknowledged op.
fn run_child_and_kill(dir: &std::path::Path, durability: &str, start: u64, rng: &mut Rng) -> Option<u64> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .env(CHILD_DURABILITY, durability)
        .env(CHILD_START, start.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let kill_after = Duration::from_millis(40 + rng.below(400));
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = Instant::now();
    let mut last_ack = None;
    // Read acknowledgements until it is time, then kill mid-stream.
    while started.elapsed() < kill_after {
        match lines.next() {
            Some(Ok(line)) => last_ack = acked(&line).or(last_ack),
            _ => break,
        }
    }
    child.kill().unwrap(); // SIGKILL
                           // Lines already printed were acknowledged before the kill.
    for line in lines.map_while(Result::ok) {
        last_ack = acked(&line).or(last_ack);
    }
    child.wait().unwrap();
    last_ack
}

#[test]
fn kill_9_loses_nothing_acknowledged() {
    let mut rng = Rng::new(2026);
    let mut kills = 0;
    let mut acknowledged_total = 0usize;
    for durability in ["buffered", "sync"] {
        let dir = std::env::temp_dir().join(format!("lsmkv-kill-{durability}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut next = 0u64;
        // Every op acknowledged so far, and the ops that were in flight at a kill.
        let mut acknowledged: Vec<u64> = Vec::new();
        let mut in_flight: Vec<u64> = Vec::new();
        for _ in 0..8 {
            let last = run_child_and_kill(&dir, durability, next, &mut rng);
            kills += 1;
            let end = last.map_or(next, |last| last + 1);
            acknowledged.extend(next..end);
            in_flight.push(end);
            let db = Db::open(FsStorage::open(&dir).unwrap(), options(Durability::Buffered)).unwrap();
            let contents: BTreeMap<Vec<u8>, Vec<u8>> =
                db.range(&RangeOptions::default()).unwrap().into_iter().collect();
            for &i in &acknowledged {
                let key = format!("key/{i:010}").into_bytes();
                assert_eq!(contents.get(&key), Some(&value(i)), "{durability}: acknowledged op {i} lost");
            }
            for (key, _) in contents.iter().filter(|(k, _)| k.starts_with(b"key/")) {
                let i: u64 = std::str::from_utf8(&key[4..]).unwrap().parse().unwrap();
                assert!(
                    acknowledged.binary_search(&i).is_ok() || in_flight.contains(&i),
                    "{durability}: op {i} never ran"
                );
            }
            for i in acknowledged.iter().chain(&in_flight).filter(|i| *i % 5 == 0) {
                let a = contents.contains_key(format!("pair/{i:010}/a").as_bytes());
                let b = contents.contains_key(format!("pair/{i:010}/b").as_bytes());
                let k = contents.contains_key(format!("key/{i:010}").as_bytes());
                assert!(a == b && b == k, "{durability}: batch {i} is partial");
            }
            drop(db);
            // The op in flight gets its own number; the next child starts after it.
            next = end + 1;
        }
        acknowledged_total += acknowledged.len();
        std::fs::remove_dir_all(&dir).unwrap();
    }
    println!("kills: {kills}, acknowledged writes: {acknowledged_total}, lost: 0");
}
