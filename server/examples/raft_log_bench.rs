//! The Raft log store, measured: the cluster's log (an lsmkv store of its
//! own, `server/src/cluster/log_store.rs`) against the simplest durable
//! alternative, an append-only file that is `fdatasync`ed after each append,
//! fed the same serialized entries — growing the file with each append, and
//! writing into space allocated beforehand (as lsmkv's WAL does: then a sync
//! has no file size to record). openraft writes its log one append at a
//! time (each waits for the previous one's sync), with as many entries per
//! append as client writes arrived meanwhile, so the rows vary that number;
//! a last row adds openraft's default purging (every 5000 entries, keeping
//! 1000), the LSM's compaction overhead the issue asks about.
//!
//! ```text
//! cargo run --release -p lsmkv-server --example raft_log_bench [-- DIR]
//! ```
//!
//! DIR (default: a fresh directory under the system's temporary directory)
//! must be on the disk being measured: not a tmpfs, where a sync is free.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lsmkv_server::cluster::log_store::LogStore;
use lsmkv_server::cluster::TypeConfig;
use lsmkv_server::command::Command;
use openraft::storage::RaftLogStorage;
use openraft::testing::log_id;
use openraft::{Entry, EntryPayload};

/// A client put as the cluster logs it: a 16-byte key and a 100-byte JSON value.
fn entry(index: u64) -> Entry<TypeConfig> {
    let value = format!("{{\"n\":{index},\"pad\":\"{}\"}}", "x".repeat(80));
    let mut stored = vec![0x02];
    stored.extend_from_slice(value.as_bytes());
    Entry {
        log_id: log_id(1, 1, index),
        payload: EntryPayload::Normal(Command::Put { key: format!("key{index:013}"), value: stored }),
    }
}

struct Row {
    what: String,
    entries: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
    bytes: u64,
}

impl Row {
    fn print(&mut self) {
        self.latencies.sort();
        let at = |q: f64| self.latencies[((self.latencies.len() - 1) as f64 * q) as usize];
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.1} |",
            self.what,
            self.entries as f64 / self.elapsed.as_secs_f64(),
            at(0.5).as_secs_f64() * 1e3,
            at(0.99).as_secs_f64() * 1e3,
            self.bytes as f64 / (1 << 20) as f64
        );
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map_or(0, |entries| entries.filter_map(Result::ok).filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
}

/// `appends` appends of `per_append` entries to the lsmkv log; with
/// `purge`, openraft's default purging along the way.
async fn lsmkv_log(dir: &Path, appends: u64, per_append: u64, purge: bool) -> Row {
    let _ = std::fs::remove_dir_all(dir);
    let mut log = LogStore::open(dir).expect("open the log");
    let mut latencies = Vec::new();
    let started = Instant::now();
    let mut next = 1;
    for _ in 0..appends {
        let entries: Vec<_> = (next..next + per_append).map(entry).collect();
        next += per_append;
        let t = Instant::now();
        log.append_synced(entries).await.expect("append");
        latencies.push(t.elapsed());
        if purge && (next - 1) % 5000 < per_append && next > 1000 {
            log.purge(log_id(1, 1, next - 1000)).await.expect("purge");
        }
    }
    let elapsed = started.elapsed();
    log.close().expect("close");
    let what = format!("lsmkv log, {per_append} per append{}", if purge { ", purging" } else { "" });
    Row { what, entries: appends * per_append, elapsed, latencies, bytes: dir_bytes(dir) }
}

/// Bytes written ahead of the appends when preallocating.
const PREALLOCATED_BYTES: usize = 16 << 20;

/// The same entries, length-prefixed in one file, `fdatasync` per append;
/// with `preallocate`, into zeros written and synced beforehand.
fn append_only(dir: &Path, appends: u64, per_append: u64, preallocate: bool) -> Row {
    use std::os::unix::fs::FileExt as _;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("create");
    let path = dir.join("log");
    let mut file = File::create(&path).expect("create the log");
    if preallocate {
        file.write_all(&vec![0; PREALLOCATED_BYTES]).and_then(|()| file.sync_all()).expect("preallocate");
    }
    File::open(dir).and_then(|d| d.sync_all()).expect("sync the directory");
    let mut offset = 0;
    let mut latencies = Vec::new();
    let started = Instant::now();
    let mut next = 1;
    for _ in 0..appends {
        let t = Instant::now();
        let mut buffer = Vec::new();
        for index in next..next + per_append {
            let bytes = serde_json::to_vec(&entry(index)).expect("encode");
            buffer.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            buffer.extend_from_slice(&crc32fast::hash(&bytes).to_le_bytes());
            buffer.extend_from_slice(&bytes);
        }
        next += per_append;
        let written = if preallocate { file.write_all_at(&buffer, offset) } else { file.write_all(&buffer) };
        written.and_then(|()| file.sync_data()).expect("append");
        offset += buffer.len() as u64;
        latencies.push(t.elapsed());
    }
    let elapsed = started.elapsed();
    let how = if preallocate { "preallocated" } else { "growing" };
    let what = format!("append-only file ({how}) + fdatasync, {per_append} per append");
    Row { what, entries: appends * per_append, elapsed, latencies, bytes: dir_bytes(dir) }
}

fn main() {
    let root = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join(format!("lsmkv-raft-log-bench-{}", std::process::id())));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    println!("| log | entries/s | append p50 ms | append p99 ms | MiB on disk |");
    println!("|---|---|---|---|---|");
    for (appends, per_append) in [(2000, 1), (600, 16), (200, 64)] {
        runtime.block_on(lsmkv_log(&root.join("lsmkv"), appends, per_append, false)).print();
        append_only(&root.join("file"), appends, per_append, false).print();
        append_only(&root.join("file"), appends, per_append, true).print();
    }
    runtime.block_on(lsmkv_log(&root.join("lsmkv"), 1500, 16, true)).print();
    let _ = std::fs::remove_dir_all(&root);
}
