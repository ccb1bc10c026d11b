//! What the benchmark prints: the machine, the configuration and what the run
//! will cost first, then markdown tables of medians (pasteable into
//! BENCHMARKS.md), each with a column per engine and lsmkv's ratio to every
//! other engine on every row: throughput and latency, YCSB, readwhilewriting,
//! sustained writes, stalls, space and write amplification, peak memory, the
//! spread of the runs, and the teaching-preset line.

use std::collections::BTreeMap;
use std::process::Command;

use crate::config::{Config, DiskPlan, DISK_FACTOR};
use crate::engine::{lsmkv_applies, Compression};
use crate::histogram::SLOW_NANOS;
use crate::{Key, Results, Sample, WriteInfo, WORKLOADS};

pub fn print_header(config: &Config, plan: &DiskPlan) {
    println!("# lsmkv-bench");
    println!();
    println!("machine: {}", machine());
    println!(
        "config: N = {}, reads = {}, YCSB ops = {} per run, client threads {:?}, readwhilewriting writer {} puts/s, \
         fillsync ops = {}, key {} B, value {} B, seek + {} next, {} run(s) (medians), seed {}",
        config.num,
        config.reads,
        config.ycsb_ops,
        config.threads,
        config.write_rate,
        config.sync_num.min(config.num),
        crate::workload::KEY_BYTES,
        config.value_size,
        config.seek_nexts,
        config.repeat,
        config.seed
    );
    println!("engines: {}", config.engines.iter().map(|k| k.name()).collect::<Vec<_>>().join(", "));
    println!(
        "durability: no fsync per write except fillsync. lsmkv: production preset, Durability::Buffered \
         (WAL written to the OS per write); fjall: PersistMode::Buffer (its default); RocksDB: WAL on, sync=false \
         (its default). fillsync: lsmkv Durability::Sync, fjall persist(SyncData), RocksDB sync=true."
    );
    println!(
        "all engines: {} MiB block cache, 64 MiB memtable, 4 KiB blocks, 10-bit bloom filters, compression {}",
        config.cache_mib,
        compression_line(config.compression)
    );
    let partition_cache = match config.partition_cache_mib {
        None => format!("{} MiB (the production preset's)", lsmkv::Options::production().partition_cache_bytes >> 20),
        Some(0) => String::from("none (they share the block cache)"),
        Some(mib) => format!("{mib} MiB"),
    };
    if config.lsmkv_pread {
        println!("lsmkv table reads: pread into a buffer (--lsmkv-table-reads pread), not FsStorage's map");
    }
    println!(
        "index and filter blocks: lsmkv in a partition cache of their own, {partition_cache}; RocksDB in table \
         readers outside the block cache, unbounded (cache_index_and_filter_blocks=false, its default); fjall: L0 and L1 index blocks and L0 filters \
         pinned, the rest in its block cache (its defaults)"
    );
    println!(
        "cost: data = {} keys × ({} + {}) B = {} per database; needs about {} free at a time ({}×{}); free under {}: {}",
        config.num,
        crate::workload::KEY_BYTES,
        config.value_size,
        bytes(plan.data_bytes as f64),
        bytes(plan.need_bytes as f64),
        DISK_FACTOR,
        if config.keep { ", every database kept (--keep)" } else { ", one engine at a time, removed after it" },
        config.dir.display(),
        plan.free_bytes.map_or("unknown (df failed)".into(), |b| bytes(b as f64)),
    );
    println!("dir: {}", config.dir.display());
    println!();
}

fn compression_line(compression: Compression) -> String {
    match compression {
        Compression::None => "none".into(),
        Compression::Lz4 => format!(
            "LZ4 (fjall: CompressionPolicy::all(Lz4), data blocks of every level; RocksDB: kLZ4Compression, \
             every level; lsmkv: {})",
            if lsmkv_applies(Compression::Lz4) {
                "Options::compression = Lz4, data blocks that shrink by an eighth"
            } else {
                "NOT APPLIED: this lsmkv has no block compression, so it runs uncompressed"
            }
        ),
    }
}

/// CPU model, cores, kernel, memory, free space, load.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_string()))
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().map(|l| l.split_whitespace().nth(1).unwrap_or("0").parse::<u64>().unwrap_or(0)))
        .map_or(String::new(), |kib| format!("{:.0} GiB RAM", kib as f64 / (1 << 20) as f64));
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    let disk = Command::new("df")
        .args(["-h", "--output=avail,fstype,source", &std::env::temp_dir().display().to_string()])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().nth(1).map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")))
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {memory}, kernel {}, disk free {disk}, load {}", kernel.trim(), load.join(" "))
}

/// A table with a group of columns per engine and, on every row, lsmkv's
/// ratio to each other engine for each of `ratios` (named metrics).
struct Table<'a> {
    title: String,
    first: &'a str,
    columns: &'a [&'a str],
    /// Metric names; each row gives one value per metric and engine.
    ratios: &'a [&'a str],
    note: &'a str,
}

/// One engine's cells on one row and its values of the ratio metrics.
struct Cells {
    text: Vec<String>,
    metrics: Vec<f64>,
}

struct Row {
    label: String,
    /// Engine label → its cells (absent: the engine has no result here).
    cells: BTreeMap<String, Cells>,
}

impl Table<'_> {
    fn print(&self, engines: &[String], rows: &[Row]) {
        if rows.is_empty() {
            return;
        }
        println!("## {}", self.title);
        println!();
        let mut head = format!("| {} |", self.first);
        let mut rule = String::from("|---|");
        for engine in engines {
            for (i, column) in self.columns.iter().enumerate() {
                head += &match (i, column.is_empty()) {
                    (0, true) => format!(" {engine} |"),
                    (0, false) => format!(" {engine} {column} |"),
                    _ => format!(" {column} |"),
                };
                rule += "---:|";
            }
        }
        let others: Vec<&String> = engines.iter().filter(|e| *e != "lsmkv").collect();
        let with_ratios = engines.iter().any(|e| e == "lsmkv");
        if with_ratios {
            for metric in self.ratios {
                for other in &others {
                    let what = if self.ratios.len() > 1 { format!(" ({metric})") } else { String::new() };
                    head += &format!(" lsmkv / {other}{what} |");
                    rule += "---:|";
                }
            }
        }
        println!("{head}\n{rule}");
        for row in rows {
            let mut line = format!("| {} |", row.label);
            for engine in engines {
                match row.cells.get(engine) {
                    Some(cells) => cells.text.iter().for_each(|c| line += &format!(" {c} |")),
                    None => line += &" – |".repeat(self.columns.len()),
                }
            }
            if with_ratios {
                for m in 0..self.ratios.len() {
                    for other in &others {
                        let value = |e: &String| row.cells.get(e).and_then(|c| c.metrics.get(m).copied());
                        line += &match (value(&"lsmkv".to_string()), value(other)) {
                            (Some(a), Some(b)) if b > 0.0 && a.is_finite() => format!(" {:.2}× |", a / b),
                            _ => " – |".into(),
                        };
                    }
                }
            }
            println!("{line}");
        }
        if !self.note.is_empty() {
            println!();
            println!("{}", self.note);
        }
        println!();
    }
}

fn is_multi_threaded(workload: &str) -> bool {
    workload.starts_with("ycsb-") || workload == "readwhilewriting"
}

fn row_label(workload: &str, threads: usize) -> String {
    match (is_multi_threaded(workload), threads) {
        (false, _) => workload.to_string(),
        (true, 1) => format!("{workload}, 1 thread"),
        (true, t) => format!("{workload}, {t} threads"),
    }
}

/// (workload, threads) pairs with results for any of `engines`, in report order.
fn row_keys<T>(map: &BTreeMap<Key, T>, engines: &[String], keep: impl Fn(&str) -> bool) -> Vec<(String, usize)> {
    let mut keys = Vec::new();
    for (workload, _) in WORKLOADS.iter().filter(|(w, _)| keep(w)) {
        let mut threads: Vec<usize> =
            map.keys().filter(|(e, w, _)| engines.contains(e) && w == workload).map(|(_, _, t)| *t).collect();
        threads.sort_unstable();
        threads.dedup();
        keys.extend(threads.into_iter().map(|t| (workload.to_string(), t)));
    }
    keys
}

/// Rows of `map`'s medians: `cells` turns one engine's values into its cells.
fn rows<T, M>(
    map: &BTreeMap<Key, Vec<T>>,
    engines: &[String],
    keep: impl Fn(&str) -> bool,
    median: impl Fn(&[T]) -> M,
    cells: impl Fn(&M, &str) -> Cells,
) -> Vec<Row> {
    row_keys(map, engines, keep)
        .into_iter()
        .map(|(workload, threads)| Row {
            label: row_label(&workload, threads),
            cells: engines
                .iter()
                .filter_map(|e| {
                    let values = map.get(&(e.clone(), workload.clone(), threads)).filter(|v| !v.is_empty())?;
                    Some((e.clone(), cells(&median(values), e)))
                })
                .collect(),
        })
        .collect()
}

fn reader_writer_cells(m: &Sample, _engine: &str) -> Cells {
    let mut text = latency_cells(m);
    text.push(rate(m.writer_ops_per_sec.unwrap_or(0.0)));
    Cells { text, metrics: vec![m.ops_per_sec] }
}

fn memory_cells(m: &Sample, _engine: &str) -> Cells {
    let peak = m.memory.unwrap_or_default();
    Cells {
        text: vec![bytes(peak.hwm_bytes as f64), bytes(peak.anon_bytes as f64)],
        metrics: vec![peak.hwm_bytes as f64],
    }
}

fn latency_cells(m: &Sample) -> Vec<String> {
    vec![rate(m.ops_per_sec), nanos(m.p50_ns), nanos(m.p99_ns), nanos(m.p999_ns), nanos(m.max_ns)]
}

const LATENCY_COLUMNS: &[&str] = &["ops/s", "p50", "p99", "p99.9", "max"];

/// Workloads that write (their stalls are reported).
fn writes(workload: &str) -> bool {
    !matches!(workload, "readrandom" | "readmissing" | "seekrandom" | "readseq" | "ycsb-c")
}

/// Workloads where at least half the operations are puts: their sustained
/// rate and amplification are worth a row. (The others — YCSB B, D, E,
/// readwhilewriting — flush and settle too, so the next workload starts
/// from a settled tree, but their few puts would make those ratios noise.)
fn write_heavy(workload: &str) -> bool {
    matches!(workload, "fillseq" | "fillrandom" | "overwrite" | "ycsb-a" | "ycsb-f")
}

pub fn print_results(config: &Config, results: &Results) {
    let engines: Vec<String> = config.engines.iter().map(|k| k.name().to_string()).collect();
    let samples = &results.samples;
    let throughput = |m: &Sample, _: &str| Cells { text: latency_cells(m), metrics: vec![m.ops_per_sec] };

    Table {
        title: format!("Throughput and latency (median of {} run(s))", config.repeat),
        first: "workload",
        columns: LATENCY_COLUMNS,
        ratios: &["ops/s"],
        note: "",
    }
    .print(&engines, &rows(samples, &engines, |w| !is_multi_threaded(w), median_sample, throughput));

    Table {
        title: format!(
            "YCSB (Zipfian θ = 0.99, {} ops per run, all client threads together; median of {} run(s))",
            config.ycsb_ops, config.repeat
        ),
        first: "workload",
        columns: LATENCY_COLUMNS,
        ratios: &["ops/s"],
        note: "",
    }
    .print(&engines, &rows(samples, &engines, |w| w.starts_with("ycsb-"), median_sample, throughput));

    Table {
        title: format!(
            "readwhilewriting (random gets while one writer puts at {} puts/s; median of {} run(s))",
            config.write_rate, config.repeat
        ),
        first: "readers",
        columns: &["reader ops/s", "p50", "p99", "p99.9", "max", "writer puts/s"],
        ratios: &["reader ops/s"],
        note: "",
    }
    .print(&engines, &rows(samples, &engines, |w| w == "readwhilewriting", median_sample, reader_writer_cells));

    print_write_tables(config, results, &engines);

    Table {
        title: "Peak memory of the engine's process by workload (median of the runs)".into(),
        first: "workload",
        columns: &["peak RSS (VmHWM)", "peak anon (sampled)"],
        ratios: &["VmHWM"],
        note: &memory_note(results, &engines),
    }
    .print(&engines, &rows(samples, &engines, |_| true, median_sample, memory_cells));

    if config.repeat > 1 {
        Table {
            title: "Spread of ops/s across runs ((max − min) / median)".into(),
            first: "workload",
            columns: &[""],
            ratios: &[],
            note: "",
        }
        .print(
            &engines,
            &rows(
                samples,
                &engines,
                |_| true,
                |s: &[Sample]| s.to_vec(),
                |all, _| {
                    let rates: Vec<f64> = all.iter().map(|s| s.ops_per_sec).collect();
                    let (min, max) = rates.iter().fold((f64::MAX, 0f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
                    let mid = median_f64(rates).max(f64::MIN_POSITIVE);
                    Cells { text: vec![format!("{:.0}%", (max - min) / mid * 100.0)], metrics: vec![] }
                },
            ),
        );
    }

    print_teaching(config, results);

    let total: f64 = results.durations.values().sum();
    let per_engine: Vec<String> = results
        .durations
        .iter()
        .map(|((label, round), secs)| format!("{label} (round {}) {}", round + 1, minutes(*secs)))
        .collect();
    println!("run time: {} in all; {}", minutes(total), per_engine.join(", "));
    println!();

    if results.anomalies.is_empty() {
        println!(
            "result checks: all passed (every readrandom, YCSB and readwhilewriting read found its key, no \
             readmissing key found, full seeks and scans)"
        );
    } else {
        println!("result checks FAILED:");
        for a in &results.anomalies {
            println!("- {a}");
        }
    }
}

/// Sustained writes, stalls, and space and write amplification.
fn print_write_tables(config: &Config, results: &Results, engines: &[String]) {
    let writes_map = &results.writes;
    Table {
        title: "Sustained writes (puts / (workload time + flush and settle time); medians)".into(),
        first: "workload",
        columns: &["puts/s (workload only)", "flush + settle", "sustained puts/s"],
        ratios: &["sustained"],
        note: "",
    }
    .print(
        engines,
        &rows(writes_map, engines, write_heavy, median_write, |m, _| Cells {
            text: vec![rate(m.puts_per_sec), seconds(m.settle_secs), rate(m.sustained_ops_per_sec)],
            metrics: vec![m.sustained_ops_per_sec],
        }),
    );

    Table {
        title: "Write stalls (medians)".into(),
        first: "workload",
        columns: &["engine stalls", "ops > 1 ms", "time in ops > 1 ms"],
        ratios: &["time in ops > 1 ms"],
        note: &format!(
            "\"engine stalls\": what the engine counted while the workload ran — lsmkv `Stats::write_stalls` (writes \
             that stopped) / `write_stall_micros` + `write_slowdown_micros` (time writers were stopped or paced); RocksDB `rocksdb.cfstats` \"Stalls(count)\" total (stop and \
             slowdown conditions RocksDB entered, not writes) / `rocksdb.dbstats` \"Cumulative stall\" (time writers \
             were delayed or stopped, ms resolution); fjall exposes none (n/a). \"ops > {} ms\": operations of any kind slower than that, timed by the bench, \
             the same for every engine (readwhilewriting: the readers' gets; its writer is not timed per op).",
            SLOW_NANOS / 1_000_000
        ),
    }
    .print(
        engines,
        &rows(&results.samples, engines, writes, median_sample, |m, _| Cells {
            text: vec![
                m.engine_stalls.map_or("n/a".into(), |s| {
                    let time = if s.micros == 0 { "0".into() } else { nanos(s.micros * 1000) };
                    format!("{} / {time}", s.count.map_or("–".into(), |c| c.to_string()))
                }),
                m.slow_ops.to_string(),
                nanos(m.slow_nanos),
            ],
            metrics: vec![m.slow_nanos as f64],
        }),
    );

    Table {
        title: "Space and write amplification after each writing workload (after flush + settle; medians)".into(),
        first: "workload",
        columns: &["bytes on disk", "space amp.", "write amp."],
        ratios: &["space amp.", "write amp."],
        note: &format!(
            "Space amp. = bytes on disk (allocated blocks, st_blocks × 512) / (live keys × ({} + {}) B). Write amp. = \
             bytes the engine's process wrote to storage (`/proc/self/io` write_bytes, all threads, pages dirtied \
             through a map included) during the workload and its flush + settle / bytes of keys and values it put; \
             lsmkv's own `Stats` figure over the same span in parentheses.",
            crate::workload::KEY_BYTES,
            config.value_size
        ),
    }
    .print(
        engines,
        &rows(writes_map, engines, write_heavy, median_write, |m, engine| {
            let stats =
                m.lsmkv_amplification.filter(|_| engine == "lsmkv").map_or(String::new(), |a| format!(" ({a:.2})"));
            Cells {
                text: vec![
                    bytes(m.disk_bytes as f64),
                    format!("{:.2}", m.space_amplification),
                    format!("{:.2}{stats}", m.wchar_amplification),
                ],
                metrics: vec![m.space_amplification, m.wchar_amplification],
            }
        }),
    );
}

fn memory_note(results: &Results, engines: &[String]) -> String {
    let mut lines =
        vec!["Each engine runs in its own process. VmHWM: the kernel's exact peak resident set, reset before each \
         workload (`echo 5 > /proc/self/clear_refs`) and read after it (and its flush + settle); it includes file \
         pages mapped into the process (an engine reading its tables through mmap counts the mapped page cache it \
         touched). Peak anon: the largest RssAnon (heap, caches, memtables) sampled every 20 ms."
            .to_string()];
    let notes: Vec<String> = results
        .notes
        .iter()
        .filter(|(engine, _)| engines.contains(engine))
        .map(|(engine, note)| format!("{engine}: {note}"))
        .collect();
    lines.extend(notes);
    lines.join("\n")
}

fn print_teaching(config: &Config, results: &Results) {
    if config.teaching_num == 0 {
        return;
    }
    let n = config.teaching_num;
    let teaching_sample = |label: String, workload: &str| {
        results.samples.get(&(label, workload.to_string(), 1)).filter(|s| !s.is_empty()).map(|s| median_sample(s))
    };
    println!("## Teaching preset (30-entry memtable, 30-entry tables) vs production, N = {n}, Buffered");
    println!();
    println!("| workload | teaching ops/s | production ops/s | teaching / production |");
    println!("|---|---:|---:|---:|");
    for workload in WORKLOADS.iter().map(|(w, _)| *w) {
        let teaching = teaching_sample(format!("lsmkv-teaching@{n}"), workload);
        let production = teaching_sample(format!("lsmkv@{n}"), workload);
        if let (Some(t), Some(p)) = (teaching, production) {
            println!(
                "| {workload} | {} | {} | {:.3}× |",
                rate(t.ops_per_sec),
                rate(p.ops_per_sec),
                t.ops_per_sec / p.ops_per_sec
            );
        }
    }
    let teaching_fill = results.writes.get(&(format!("lsmkv-teaching@{n}"), "fillrandom".to_string(), 1));
    if let Some(infos) = teaching_fill {
        let amp = median_f64(infos.iter().filter_map(|i| i.lsmkv_amplification).collect());
        println!();
        println!("teaching preset after fillrandom: write amplification {amp:.2} (Stats)");
    }
    println!();
}

/// Median per field (each taken separately).
fn median_sample(samples: &[Sample]) -> Sample {
    let of = |f: fn(&Sample) -> f64| median_f64(samples.iter().map(f).collect());
    let of_u64 = |f: fn(&Sample) -> u64| median_f64(samples.iter().map(|s| f(s) as f64).collect()) as u64;
    let first = samples[0];
    Sample {
        ops: first.ops,
        secs: of(|s| s.secs),
        ops_per_sec: of(|s| s.ops_per_sec),
        p50_ns: of_u64(|s| s.p50_ns),
        p99_ns: of_u64(|s| s.p99_ns),
        p999_ns: of_u64(|s| s.p999_ns),
        max_ns: of_u64(|s| s.max_ns),
        slow_ops: of_u64(|s| s.slow_ops),
        slow_nanos: of_u64(|s| s.slow_nanos),
        engine_stalls: first.engine_stalls.map(|stalls| crate::engine::Stalls {
            count: stalls.count.map(|_| of_u64(|s| s.engine_stalls.and_then(|e| e.count).unwrap_or(0))),
            micros: of_u64(|s| s.engine_stalls.map_or(0, |e| e.micros)),
        }),
        memory: first.memory.map(|_| crate::memory::Peak {
            hwm_bytes: of_u64(|s| s.memory.map_or(0, |m| m.hwm_bytes)),
            anon_bytes: of_u64(|s| s.memory.map_or(0, |m| m.anon_bytes)),
        }),
        writer_ops_per_sec: first.writer_ops_per_sec.map(|_| of(|s| s.writer_ops_per_sec.unwrap_or(0.0))),
    }
}

fn median_write(infos: &[WriteInfo]) -> WriteInfo {
    let of = |f: fn(&WriteInfo) -> f64| median_f64(infos.iter().map(f).collect());
    WriteInfo {
        puts: infos[0].puts,
        puts_per_sec: of(|i| i.puts_per_sec),
        disk_bytes: of(|i| i.disk_bytes as f64) as u64,
        live_keys: infos[0].live_keys,
        space_amplification: of(|i| i.space_amplification),
        wchar_amplification: of(|i| i.wchar_amplification),
        lsmkv_amplification: infos[0].lsmkv_amplification.map(|_| of(|i| i.lsmkv_amplification.unwrap_or(0.0))),
        settle_secs: of(|i| i.settle_secs),
        sustained_ops_per_sec: of(|i| i.sustained_ops_per_sec),
    }
}

fn median_f64(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

pub fn rate(per_sec: f64) -> String {
    if per_sec >= 1e6 {
        format!("{:.2}M", per_sec / 1e6)
    } else if per_sec >= 1e4 {
        format!("{:.0}k", per_sec / 1e3)
    } else if per_sec >= 1e3 {
        format!("{:.1}k", per_sec / 1e3)
    } else {
        format!("{per_sec:.0}")
    }
}

pub fn nanos(ns: u64) -> String {
    if ns >= 10_000_000_000 {
        format!("{:.0} s", ns as f64 / 1e9)
    } else if ns >= 1_000_000_000 {
        format!("{:.2} s", ns as f64 / 1e9)
    } else if ns >= 10_000_000 {
        format!("{:.0} ms", ns as f64 / 1e6)
    } else if ns >= 1_000_000 {
        format!("{:.1} ms", ns as f64 / 1e6)
    } else if ns >= 10_000 {
        format!("{:.0} µs", ns as f64 / 1e3)
    } else if ns >= 1_000 {
        format!("{:.1} µs", ns as f64 / 1e3)
    } else {
        format!("{ns} ns")
    }
}

fn minutes(secs: f64) -> String {
    if secs >= 600.0 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{secs:.0} s")
    }
}

fn seconds(secs: f64) -> String {
    format!("{secs:.2} s")
}

pub fn bytes(b: f64) -> String {
    if b >= (1u64 << 30) as f64 {
        format!("{:.2} GiB", b / (1u64 << 30) as f64)
    } else if b >= (1u64 << 20) as f64 {
        format!("{:.1} MiB", b / (1u64 << 20) as f64)
    } else {
        format!("{:.0} KiB", b / 1024.0)
    }
}
