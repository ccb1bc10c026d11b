//! lsmkv-bench: RocksDB db_bench's classic workloads, run against lsmkv,
//! fjall and RocksDB in one process, printed as one table.
//!
//! ```text
//! cargo run --release --manifest-path bench/Cargo.toml -- [--num N] [--repeat R] ...
//! ```
//! `--help` lists the options; BENCHMARKS.md describes every workload.

mod engine;
mod histogram;
mod report;
mod workload;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use engine::{Engine, Kind, Res};
use histogram::Histogram;
use workload::{Rng, Values, KEY_BYTES, VALUE_BYTES};

/// Every workload, in the order they run against one engine.
pub const WORKLOADS: &[(&str, &str)] = &[
    ("fillseq", "N puts in key order into a fresh database"),
    ("fillrandom", "N puts, every key once, in a seeded random order, into a fresh database"),
    ("overwrite", "N puts of uniformly random existing keys (after fillrandom + flush)"),
    ("readrandom", "--reads gets of uniformly random keys, all present (after overwrite + flush)"),
    ("readmissing", "--reads gets of absent keys that fall between present ones"),
    ("seekrandom", "--reads seeks to a random key, each reading it and --seek-nexts more entries"),
    ("readseq", "one forward scan over the whole database; one op = one entry"),
    ("deleterandom", "N deletes of uniformly random keys"),
    ("fillsync", "--sync-num puts in random order into a fresh database, each synced (fdatasync)"),
];

/// Workloads of the teaching-preset comparison line.
const TEACHING_WORKLOADS: &[&str] = &["fillseq", "fillrandom", "readrandom", "seekrandom"];

pub struct Config {
    pub num: u64,
    pub reads: u64,
    pub sync_num: u64,
    pub teaching_num: u64,
    pub seek_nexts: usize,
    pub repeat: usize,
    pub engines: Vec<Kind>,
    pub workloads: Vec<String>,
    pub dir: PathBuf,
    pub keep: bool,
    pub seed: u64,
}

/// One measured run of one workload on one engine.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub ops: u64,
    pub ops_per_sec: f64,
    pub p50_ns: u64,
    pub p99_ns: u64,
}

/// What a fill left behind (after its flush and settle).
#[derive(Clone, Copy, Debug)]
pub struct FillInfo {
    pub disk_bytes: u64,
    /// Bytes the whole process passed to write(2) during fill + flush +
    /// settle, over the user bytes (keys + values) written.
    pub wchar_amplification: f64,
    /// lsmkv's own `Stats::write_amplification` (storage / user bytes).
    pub lsmkv_amplification: Option<f64>,
    pub settle_secs: f64,
}

#[derive(Default)]
pub struct Results {
    /// (engine label, workload) → one sample per round.
    pub samples: BTreeMap<(String, String), Vec<Sample>>,
    pub fills: BTreeMap<(String, String), Vec<FillInfo>>,
    /// Result checks that failed (a bug in an engine or in the bench).
    pub anomalies: Vec<String>,
}

fn main() {
    let config = match parse_args() {
        Ok(c) => c,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&config) {
        eprintln!("lsmkv-bench: {e}");
        std::process::exit(1);
    }
}

fn run(config: &Config) -> Res<()> {
    report::print_header(config);
    std::fs::create_dir_all(&config.dir)?;
    let mut results = Results::default();
    for round in 0..config.repeat {
        // Rotate the engine order each round, so no engine always runs
        // first (cold page cache, other tenants' load) or last.
        let mut order = config.engines.clone();
        let shift = round % order.len().max(1);
        order.rotate_left(shift);
        for kind in order {
            let label = kind.name().to_string();
            eprintln!("# round {}/{}: {label}, N = {}", round + 1, config.repeat, config.num);
            let workloads: Vec<&str> = config.workloads.iter().map(String::as_str).collect();
            run_engine(config, kind, &label, config.num, &workloads, round, &mut results)?;
        }
        if config.teaching_num > 0 {
            let workloads: Vec<&str> =
                TEACHING_WORKLOADS.iter().copied().filter(|w| config.workloads.iter().any(|c| c == w)).collect();
            for kind in [Kind::LsmkvTeaching, Kind::Lsmkv] {
                let label = format!("{}@{}", kind.name(), config.teaching_num);
                eprintln!("# round {}/{}: {label}", round + 1, config.repeat);
                run_engine(config, kind, &label, config.teaching_num, &workloads, round, &mut results)?;
            }
        }
    }
    report::print_results(config, &results);
    if !config.keep {
        let _ = std::fs::remove_dir_all(&config.dir);
    }
    Ok(())
}

/// Runs the selected workloads against fresh databases of one engine.
fn run_engine(
    config: &Config,
    kind: Kind,
    label: &str,
    num: u64,
    workloads: &[&str],
    round: usize,
    results: &mut Results,
) -> Res<()> {
    let wants = |name: &str| workloads.contains(&name);
    let reads = if num == config.num { config.reads } else { num };
    let seed = config.seed;
    let record = |results: &mut Results, workload: &str, sample: Sample| {
        eprintln!(
            "  {workload:<12} {:>10.0} ops/s  p50 {:>8}  p99 {:>8}",
            sample.ops_per_sec,
            report::nanos(sample.p50_ns),
            report::nanos(sample.p99_ns)
        );
        results.samples.entry((label.to_string(), workload.to_string())).or_default().push(sample);
    };
    let scratch = |phase: &str| config.dir.join(format!("r{round}-{label}-{phase}"));

    if wants("fillseq") {
        let dir = scratch("fillseq");
        let mut db = engine::open(kind, &dir, false)?;
        let mut values = Values::new(seed);
        let before = db.lsmkv_stats();
        let sample = fill(&mut *db, num, |i| i, &mut values)?;
        record(results, "fillseq", sample);
        let info = settle_after_fill(&mut *db, &dir, num, before)?;
        results.fills.entry((label.to_string(), "fillseq".into())).or_default().push(info);
        drop(db);
        remove(config, &dir);
    }

    let needs_main_db = workloads.iter().any(|w| !matches!(*w, "fillseq" | "fillsync"));
    if needs_main_db {
        let dir = scratch("main");
        let mut db = engine::open(kind, &dir, false)?;
        let mut values = Values::new(seed ^ 1);
        // fillrandom also builds the data set the read workloads use, so it
        // runs (and is reported) whenever any of them is selected.
        let order = workload::permutation(num, seed ^ 2);
        let before = db.lsmkv_stats();
        let sample = fill(&mut *db, num, |i| u64::from(order[i as usize]), &mut values)?;
        drop(order);
        record(results, "fillrandom", sample);
        let info = settle_after_fill(&mut *db, &dir, num, before)?;
        results.fills.entry((label.to_string(), "fillrandom".into())).or_default().push(info);

        if wants("overwrite") {
            let mut rng = Rng::new(seed ^ 3);
            let before = db.lsmkv_stats();
            let sample = fill(&mut *db, num, |_| rng.below(num), &mut values)?;
            record(results, "overwrite", sample);
            let info = settle_after_fill(&mut *db, &dir, num, before)?;
            results.fills.entry((label.to_string(), "overwrite".into())).or_default().push(info);
        }
        if wants("readrandom") {
            let mut rng = Rng::new(seed ^ 4);
            let mut found = 0u64;
            let mut k = [0u8; KEY_BYTES];
            let sample = timed(reads, |_| {
                workload::key(rng.below(num), &mut k);
                found += u64::from(db.get(&k)?.is_some_and(|len| len == VALUE_BYTES));
                Ok(())
            })?;
            check(results, label, "readrandom: every key found", found == reads);
            record(results, "readrandom", sample);
            if let Some(stats) = db.lsmkv_stats() {
                eprintln!("  {}", shape(&stats));
            }
        }
        if wants("readmissing") {
            let mut rng = Rng::new(seed ^ 5);
            let mut found = 0u64;
            let mut k = [0u8; KEY_BYTES];
            let sample = timed(reads, |_| {
                workload::missing_key(rng.below(num), &mut k);
                found += u64::from(db.get(&k)?.is_some());
                Ok(())
            })?;
            check(results, label, "readmissing: no key found", found == 0);
            record(results, "readmissing", sample);
        }
        if wants("seekrandom") {
            let mut rng = Rng::new(seed ^ 6);
            let mut k = [0u8; KEY_BYTES];
            let entries = config.seek_nexts + 1;
            let mut short = 0u64;
            let sample = timed(reads, |_| {
                let i = rng.below(num);
                workload::key(i, &mut k);
                let read = db.seek_and_read(&k, entries)?;
                short += u64::from(read != entries.min((num - i) as usize));
                Ok(())
            })?;
            check(results, label, "seekrandom: every seek read its entries", short == 0);
            record(results, "seekrandom", sample);
        }
        if wants("readseq") {
            let mut hist = Histogram::new();
            let started = Instant::now();
            let mut last = started;
            let read = db.scan(&mut |k, v| {
                std::hint::black_box((k.len(), v.len()));
                let now = Instant::now();
                hist.record(now.duration_since(last).as_nanos() as u64);
                last = now;
            })?;
            check(results, label, "readseq: every key read once", read == num);
            record(results, "readseq", sample_of(&hist, started.elapsed().as_secs_f64()));
        }
        if wants("deleterandom") {
            let mut rng = Rng::new(seed ^ 7);
            let mut k = [0u8; KEY_BYTES];
            let sample = timed(num, |_| {
                workload::key(rng.below(num), &mut k);
                db.delete(&k)
            })?;
            record(results, "deleterandom", sample);
        }
        drop(db);
        remove(config, &dir);
    }

    if wants("fillsync") {
        let dir = scratch("fillsync");
        let mut db = engine::open(kind, &dir, true)?;
        let mut values = Values::new(seed ^ 8);
        let sync_num = config.sync_num.min(num);
        let order = workload::permutation(sync_num, seed ^ 9);
        let sample = fill(&mut *db, sync_num, |i| u64::from(order[i as usize]), &mut values)?;
        record(results, "fillsync", sample);
        drop(db);
        remove(config, &dir);
    }
    Ok(())
}

/// lsmkv's tree and read path after readrandom, for the profile notes.
fn shape(stats: &lsmkv::Stats) -> String {
    let levels: Vec<String> = stats
        .levels
        .iter()
        .filter(|l| !l.tables.is_empty())
        .map(|l| format!("L{}: {} tables {:.0} MiB", l.level, l.tables.len(), l.bytes as f64 / (1 << 20) as f64))
        .collect();
    let lookups = (stats.block_cache_hits + stats.block_cache_misses).max(1);
    format!(
        "lsmkv shape: {}; gets {}, tables searched per get {:.2}, bloom negatives per get {:.2}, block cache hit rate {:.0}%",
        levels.join(", "),
        stats.gets,
        stats.read_amplification,
        stats.bloom_negatives as f64 / stats.gets.max(1) as f64,
        stats.block_cache_hits as f64 / lookups as f64 * 100.0
    )
}

/// `count` puts of key number `which(i)` with fresh values.
fn fill(db: &mut dyn Engine, count: u64, mut which: impl FnMut(u64) -> u64, values: &mut Values) -> Res<Sample> {
    let mut k = [0u8; KEY_BYTES];
    timed(count, |i| {
        workload::key(which(i), &mut k);
        db.put(&k, values.next())
    })
}

/// Flushes, waits for background work, and measures what the fill left on disk.
/// Must follow the fill's `timed` call directly: write(2) bytes are counted
/// from the mark `timed` set when the fill started.
fn settle_after_fill(db: &mut dyn Engine, dir: &Path, num: u64, before: Option<lsmkv::Stats>) -> Res<FillInfo> {
    let started = Instant::now();
    db.flush_and_settle()?;
    let settle_secs = started.elapsed().as_secs_f64();
    let written = WCHAR_SPAN.with(|span| span.take_since_mark());
    let user_bytes = num * (KEY_BYTES + VALUE_BYTES) as u64;
    Ok(FillInfo {
        disk_bytes: dir_bytes(dir),
        wchar_amplification: written as f64 / user_bytes as f64,
        // This phase only: the counters since the fill started.
        lsmkv_amplification: db.lsmkv_stats().zip(before).map(|(after, before)| {
            let stored = after.storage_bytes_written - before.storage_bytes_written;
            let user = after.user_bytes_written - before.user_bytes_written;
            stored as f64 / user.max(1) as f64
        }),
        settle_secs,
    })
}

thread_local! {
    /// The process's storage-write byte counter at the start of the current fill.
    static WCHAR_SPAN: WcharSpan = const { WcharSpan { mark: std::cell::Cell::new(0) } };
}

/// Bytes the process sent (or queued) to storage, from `/proc/self/io`'s
/// `write_bytes` (all threads, so background flushes and compactions count;
/// pages dirtied through a memory map count too, which `wchar` — bytes
/// passed to write(2) — would miss: lsmkv appends its WAL through a map).
struct WcharSpan {
    mark: std::cell::Cell<u64>,
}

impl WcharSpan {
    fn set_mark(&self) {
        self.mark.set(process_wchar());
    }
    fn take_since_mark(&self) -> u64 {
        process_wchar().saturating_sub(self.mark.get())
    }
}

fn process_wchar() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|io| io.lines().find_map(|l| l.strip_prefix("write_bytes:").map(|v| v.trim().parse().unwrap_or(0))))
        .unwrap_or(0)
}

/// Times `count` calls of `op`, one clock read per op.
fn timed(count: u64, mut op: impl FnMut(u64) -> Res<()>) -> Res<Sample> {
    WCHAR_SPAN.with(WcharSpan::set_mark);
    let mut hist = Histogram::new();
    let started = Instant::now();
    let mut last = started;
    for i in 0..count {
        op(i)?;
        let now = Instant::now();
        hist.record(now.duration_since(last).as_nanos() as u64);
        last = now;
    }
    Ok(sample_of(&hist, last.duration_since(started).as_secs_f64()))
}

fn sample_of(hist: &Histogram, secs: f64) -> Sample {
    Sample {
        ops: hist.count(),
        ops_per_sec: if secs > 0.0 { hist.count() as f64 / secs } else { 0.0 },
        p50_ns: hist.percentile(0.50),
        p99_ns: hist.percentile(0.99),
    }
}

fn check(results: &mut Results, label: &str, what: &str, ok: bool) {
    if !ok {
        eprintln!("  !! {label}: check failed: {what}");
        results.anomalies.push(format!("{label}: {what}"));
    }
}

/// Bytes allocated on disk to every file under `dir` (st_blocks × 512, so a
/// preallocated but unwritten journal counts as what it really occupies).
fn dir_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}

fn remove(config: &Config, dir: &Path) {
    if !config.keep {
        let _ = std::fs::remove_dir_all(dir);
    }
}

// ---------------------------------------------------------------------------

const USAGE: &str = "\
lsmkv-bench: db_bench-style workloads on lsmkv, fjall and RocksDB

Options:
  --num N              keys in the data set and ops per fill [1000000]
  --reads N            ops of readrandom/readmissing/seekrandom [= --num]
  --sync-num N         ops of fillsync [2000]
  --teaching-num N     N for the teaching-preset line, 0 to skip [20000]
  --seek-nexts N       entries read after each seek [10]
  --repeat R           run everything R times, report medians [1]
  --engines LIST       comma-separated: lsmkv,fjall,rocksdb [all built in]
  --benchmarks LIST    comma-separated workloads [all]
  --dir PATH           where databases go (a fresh subdirectory each) [$TMPDIR/lsmkv-bench-PID]
  --keep               keep the databases afterwards
  --seed N             seed of every key order [301]
";

fn parse_args() -> Result<Config, String> {
    let mut config = Config {
        num: 1_000_000,
        reads: 0,
        sync_num: 2_000,
        teaching_num: 20_000,
        seek_nexts: 10,
        repeat: 1,
        engines: vec![
            Kind::Lsmkv,
            Kind::Fjall,
            #[cfg(feature = "rocksdb")]
            Kind::Rocksdb,
        ],
        workloads: WORKLOADS.iter().map(|(w, _)| w.to_string()).collect(),
        dir: std::env::temp_dir().join(format!("lsmkv-bench-{}", std::process::id())),
        keep: false,
        seed: 301,
    };
    let mut reads = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}"));
        let number = |v: String| v.replace('_', "").parse::<u64>().map_err(|_| format!("{flag}: not a number: {v}"));
        match flag.as_str() {
            "--num" => config.num = number(value()?)?,
            "--reads" => reads = Some(number(value()?)?),
            "--sync-num" => config.sync_num = number(value()?)?,
            "--teaching-num" => config.teaching_num = number(value()?)?,
            "--seek-nexts" => config.seek_nexts = number(value()?)? as usize,
            "--repeat" => config.repeat = number(value()?)?.max(1) as usize,
            "--seed" => config.seed = number(value()?)?,
            "--dir" => config.dir = PathBuf::from(value()?).join(format!("lsmkv-bench-{}", std::process::id())),
            "--keep" => config.keep = true,
            "--engines" => {
                config.engines = value()?
                    .split(',')
                    .map(|name| Kind::parse(name).ok_or_else(|| format!("unknown engine {name:?} (not built in?)")))
                    .collect::<Result<_, _>>()?
            }
            "--benchmarks" => {
                let list = value()?;
                for name in list.split(',') {
                    if !WORKLOADS.iter().any(|(w, _)| *w == name) {
                        return Err(format!("unknown workload {name:?}"));
                    }
                }
                config.workloads = list.split(',').map(str::to_string).collect();
            }
            "--help" | "-h" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown option {other}\n\n{USAGE}")),
        }
    }
    if config.num == 0 {
        return Err("--num must be at least 1".into());
    }
    config.reads = reads.unwrap_or(config.num);
    Ok(config)
}
