//! lsmkv-bench: RocksDB db_bench's classic workloads, YCSB A–F and
//! readwhilewriting, run against lsmkv, fjall and RocksDB, printed as tables.
//!
//! ```text
//! cargo run --release --manifest-path bench/Cargo.toml -- [--num N] [--repeat R] ...
//! ```
//! `--help` lists the options; BENCHMARKS.md describes every workload.
//!
//! The parent process plans the run, checks the disk, and starts one child
//! process per engine and round (the same binary with a hidden `--child JOB`
//! argument), so each engine's peak memory is its own; a child runs that
//! engine's phases and sends its results back as JSON lines on stdout.

mod child;
mod clients;
mod config;
mod engine;
mod histogram;
mod memory;
mod phases;
mod pread;
mod report;
mod workload;
mod ycsb;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use config::{Config, DiskPlan};
use engine::{Kind, Res, Stalls};
use histogram::Histogram;

/// Every workload, in the order the report lists them. (They run in the
/// order `phases` gives: the YCSB workloads as YCSB orders them, A B C F D E,
/// so the inserting ones come last.)
pub const WORKLOADS: &[(&str, &str)] = &[
    ("fillseq", "N puts in key order into a fresh database"),
    ("fillrandom", "N puts, every key once, in a seeded random order, into a fresh database"),
    ("overwrite", "N puts of uniformly random existing keys (after fillrandom + flush)"),
    ("readrandom", "--reads gets of uniformly random keys, all present (after overwrite + flush)"),
    ("readmissing", "--reads gets of absent keys that fall between present ones"),
    ("seekrandom", "--reads seeks to a random key, each reading it and --seek-nexts more entries"),
    ("readseq", "one forward scan over the whole database; one op = one entry"),
    ("ycsb-a", "YCSB A: 50% reads, 50% updates, Zipfian keys"),
    ("ycsb-b", "YCSB B: 95% reads, 5% updates, Zipfian keys"),
    ("ycsb-c", "YCSB C: 100% reads, Zipfian keys"),
    ("ycsb-d", "YCSB D: 95% reads of the latest keys, 5% inserts of new keys"),
    ("ycsb-e", "YCSB E: 95% scans of 1-100 entries from a Zipfian key, 5% inserts"),
    ("ycsb-f", "YCSB F: 50% reads, 50% read-modify-writes, Zipfian keys"),
    ("readwhilewriting", "--reads random gets on 1 or 2 threads while one writer puts at --write-rate"),
    ("deleterandom", "N deletes of uniformly random keys"),
    ("fillsync", "--sync-num puts in random order into a fresh database, each synced (fdatasync)"),
];

/// Workloads of the teaching-preset comparison line.
const TEACHING_WORKLOADS: &[&str] = &["fillseq", "fillrandom", "readrandom", "seekrandom"];

/// One measured run of one workload on one engine.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Sample {
    pub ops: u64,
    pub secs: f64,
    pub ops_per_sec: f64,
    pub p50_ns: u64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    pub max_ns: u64,
    /// Operations slower than 1 ms, and their total time.
    pub slow_ops: u64,
    pub slow_nanos: u64,
    /// What the engine itself counted as write stalls during the workload.
    pub engine_stalls: Option<Stalls>,
    /// Peak memory of the engine's process during the workload.
    pub memory: Option<memory::Peak>,
    /// readwhilewriting: the writer's achieved puts per second.
    pub writer_ops_per_sec: Option<f64>,
}

impl Sample {
    pub fn of(hist: &Histogram, secs: f64) -> Sample {
        let (slow_ops, slow_nanos) = hist.slow();
        Sample {
            ops: hist.count(),
            secs,
            ops_per_sec: if secs > 0.0 { hist.count() as f64 / secs } else { 0.0 },
            p50_ns: hist.percentile(0.50),
            p99_ns: hist.percentile(0.99),
            p999_ns: hist.percentile(0.999),
            max_ns: hist.max(),
            slow_ops,
            slow_nanos,
            ..Sample::default()
        }
    }
}

/// What a writing workload left behind (after its flush and settle).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct WriteInfo {
    pub puts: u64,
    /// puts / workload seconds (for a fill, its ops/s).
    pub puts_per_sec: f64,
    pub disk_bytes: u64,
    /// Keys present after the workload.
    pub live_keys: u64,
    /// disk bytes / (live keys × (16 + value size)).
    pub space_amplification: f64,
    /// Bytes the whole process wrote to storage during the workload and its
    /// flush + settle, over the user bytes (keys + values) it put.
    pub wchar_amplification: f64,
    /// lsmkv's own `Stats` (storage / user bytes), over the same span.
    pub lsmkv_amplification: Option<f64>,
    pub settle_secs: f64,
    /// puts / (workload seconds + flush-and-settle seconds).
    pub sustained_ops_per_sec: f64,
}

/// (engine label, workload, client threads).
pub type Key = (String, String, usize);

#[derive(Default)]
pub struct Results {
    /// One sample per round.
    pub samples: BTreeMap<Key, Vec<Sample>>,
    pub writes: BTreeMap<Key, Vec<WriteInfo>>,
    /// Result checks that failed (a bug in an engine or in the bench), and engines that failed.
    pub anomalies: Vec<String>,
    /// Engine label → what its child process said about itself (e.g. the VmHWM reset check).
    pub notes: BTreeMap<String, String>,
    /// (engine label, round) → wall-clock seconds its child process took.
    pub durations: BTreeMap<(String, usize), f64>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, job] = args.as_slice() {
        if flag == child::FLAG {
            child::main(job);
        }
    }
    let config = match config::parse_args(&args) {
        Ok(c) => c,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    match run(&config) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("lsmkv-bench: {e}");
            std::process::exit(1);
        }
    }
}

/// Runs every round; returns whether every engine ran to the end.
fn run(config: &Config) -> Res<bool> {
    let plan = DiskPlan::of(config);
    report::print_header(config, &plan);
    if !plan.fits() {
        return Err(format!(
            "not enough free disk space under {}: this run needs about {} ({}× one database's {} of data{}), \
             and {} are free. Use --dir on a larger disk, or a smaller --num or --value-size.",
            config.dir.display(),
            report::bytes(plan.need_bytes as f64),
            config::DISK_FACTOR,
            report::bytes(plan.data_bytes as f64),
            if config.keep { ", every database kept (--keep)" } else { ", one engine at a time" },
            report::bytes(plan.free_bytes.unwrap_or(0) as f64),
        )
        .into());
    }
    std::fs::create_dir_all(&config.dir)?;
    let mut results = Results::default();
    let mut all_ran = true;
    for round in 0..config.repeat {
        // Rotate the engine order each round, so no engine always runs
        // first (cold page cache, other tenants' load) or last.
        let mut order = config.engines.clone();
        let shift = round % order.len().max(1);
        order.rotate_left(shift);
        for kind in order {
            let label = kind.name().to_string();
            eprintln!("# round {}/{}: {label}, N = {}", round + 1, config.repeat, config.num);
            all_ran &= run_job(config, kind, label, config.num, config.workloads.clone(), round, &mut results);
        }
        if config.teaching_num > 0 {
            let workloads: Vec<String> =
                TEACHING_WORKLOADS.iter().filter(|w| config.wants(w)).map(|w| w.to_string()).collect();
            for kind in [Kind::LsmkvTeaching, Kind::Lsmkv] {
                let label = format!("{}@{}", kind.name(), config.teaching_num);
                eprintln!("# round {}/{}: {label}", round + 1, config.repeat);
                all_ran &= run_job(config, kind, label, config.teaching_num, workloads.clone(), round, &mut results);
            }
        }
    }
    report::print_results(config, &results);
    if !config.keep {
        let _ = std::fs::remove_dir_all(&config.dir);
    }
    Ok(all_ran)
}

/// Runs one engine's phases in a child process; a failure is reported and
/// the run goes on with the next engine.
fn run_job(
    config: &Config,
    kind: Kind,
    label: String,
    num: u64,
    workloads: Vec<String>,
    round: usize,
    results: &mut Results,
) -> bool {
    let dir = config.dir.join(format!("r{round}-{label}"));
    // Checked again before every engine: another tenant may have filled the disk meanwhile.
    let need = config::database_need_bytes(config, num);
    if let Some(free) = config::free_bytes(&config.dir).filter(|&free| free < need) {
        let why = format!(
            "skipped: {} free under {}, needs {}",
            report::bytes(free as f64),
            config.dir.display(),
            report::bytes(need as f64)
        );
        eprintln!("  !! {label} {why}");
        results.anomalies.push(format!("{label} (round {}) {why}", round + 1));
        return false;
    }
    let job = child::Job { config: config.clone(), kind, label: label.clone(), num, workloads, dir: dir.clone() };
    let started = std::time::Instant::now();
    let outcome = child::run(&job, results);
    let secs = started.elapsed().as_secs_f64();
    eprintln!("# {label}: {secs:.0} s");
    results.durations.insert((label.clone(), round), secs);
    if !config.keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    match outcome {
        Ok(()) => true,
        Err(e) => {
            eprintln!("  !! {label} failed: {e}");
            results.anomalies.push(format!("{label} did not finish: {e}"));
            false
        }
    }
}
