//! What the benchmark prints: the machine and configuration first, then one
//! markdown table of medians (pasteable into BENCHMARKS.md), the spread of
//! the runs, what the fills left on disk, and the teaching-preset line.

use std::process::Command;

use crate::{Config, FillInfo, Results, Sample, WORKLOADS};

pub fn print_header(config: &Config) {
    println!("# lsmkv-bench");
    println!();
    println!("machine: {}", machine());
    println!(
        "config: N = {}, reads = {}, fillsync ops = {}, key {} B, value {} B, seek + {} next, {} run(s) (medians), seed {}",
        config.num,
        config.reads,
        config.sync_num.min(config.num),
        crate::workload::KEY_BYTES,
        crate::workload::VALUE_BYTES,
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
        "all engines: {} MiB block cache, 64 MiB memtable, 4 KiB blocks, 10-bit bloom filters, no compression",
        crate::engine::CACHE_BYTES >> 20
    );
    println!("dir: {}", config.dir.display());
    println!();
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

pub fn print_results(config: &Config, results: &Results) {
    let engines: Vec<String> = config.engines.iter().map(|k| k.name().to_string()).collect();
    let workloads: Vec<&str> = WORKLOADS
        .iter()
        .map(|(w, _)| *w)
        .filter(|w| results.samples.keys().any(|(e, wl)| engines.contains(e) && wl == w))
        .collect();

    println!("## Throughput and latency (median of {} run(s))", config.repeat);
    println!();
    let mut head = String::from("| workload |");
    let mut rule = String::from("|---|");
    for engine in &engines {
        head += &format!(" {engine} ops/s | p50 | p99 |");
        rule += "---:|---:|---:|";
    }
    let others: Vec<&String> = engines.iter().filter(|e| *e != "lsmkv").collect();
    if engines.iter().any(|e| e == "lsmkv") {
        for other in &others {
            head += &format!(" lsmkv / {other} |");
            rule += "---:|";
        }
    }
    println!("{head}\n{rule}");
    for workload in &workloads {
        let mut row = format!("| {workload} |");
        for engine in &engines {
            match median(results.samples.get(&(engine.clone(), workload.to_string()))) {
                Some(m) => row += &format!(" {} | {} | {} |", rate(m.ops_per_sec), nanos(m.p50_ns), nanos(m.p99_ns)),
                None => row += " – | – | – |",
            }
        }
        if engines.iter().any(|e| e == "lsmkv") {
            let ours = median(results.samples.get(&("lsmkv".into(), workload.to_string())));
            for other in &others {
                let theirs = median(results.samples.get(&((*other).clone(), workload.to_string())));
                match (ours, theirs) {
                    (Some(a), Some(b)) if b.ops_per_sec > 0.0 => {
                        row += &format!(" {:.2}× |", a.ops_per_sec / b.ops_per_sec)
                    }
                    _ => row += " – |",
                }
            }
        }
        println!("{row}");
    }
    println!();

    if config.repeat > 1 {
        println!("## Spread of ops/s across runs ((max − min) / median)");
        println!();
        println!("| workload |{}", engines.iter().map(|e| format!(" {e} |")).collect::<String>());
        println!("|---|{}", "---:|".repeat(engines.len()));
        for workload in &workloads {
            let mut row = format!("| {workload} |");
            for engine in &engines {
                row += &match results.samples.get(&(engine.clone(), workload.to_string())) {
                    Some(samples) if !samples.is_empty() => {
                        let rates: Vec<f64> = samples.iter().map(|s| s.ops_per_sec).collect();
                        let (min, max) = rates.iter().fold((f64::MAX, 0f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
                        let mid = median(Some(samples)).map_or(1.0, |m| m.ops_per_sec);
                        format!(" {:.0}% |", (max - min) / mid * 100.0)
                    }
                    _ => " – |".into(),
                };
            }
            println!("{row}");
        }
        println!();
    }

    println!("## After each fill (flush + wait for background work; medians)");
    println!();
    println!("| fill | engine | bytes on disk | write amp. (bytes written to storage / user bytes) | lsmkv write amp. (Stats) | flush + settle |");
    println!("|---|---|---:|---:|---:|---:|");
    for fill in ["fillseq", "fillrandom", "overwrite"] {
        for engine in &engines {
            if let Some(infos) = results.fills.get(&(engine.clone(), fill.to_string())) {
                let pick = |f: fn(&FillInfo) -> f64| median_f64(infos.iter().map(f).collect());
                let ours = if infos.iter().all(|i| i.lsmkv_amplification.is_some()) {
                    format!("{:.2}", pick(|i| i.lsmkv_amplification.unwrap_or(0.0)))
                } else {
                    "–".into()
                };
                println!(
                    "| {fill} | {engine} | {} | {:.2} | {ours} | {:.2} s |",
                    bytes(pick(|i| i.disk_bytes as f64)),
                    pick(|i| i.wchar_amplification),
                    pick(|i| i.settle_secs)
                );
            }
        }
    }
    println!();

    if config.teaching_num > 0 {
        let n = config.teaching_num;
        println!("## Teaching preset (30-entry memtable, 30-entry tables) vs production, N = {n}, Buffered");
        println!();
        println!("| workload | teaching ops/s | production ops/s | teaching / production |");
        println!("|---|---:|---:|---:|");
        for workload in WORKLOADS.iter().map(|(w, _)| *w) {
            let teaching = median(results.samples.get(&(format!("lsmkv-teaching@{n}"), workload.to_string())));
            let production = median(results.samples.get(&(format!("lsmkv@{n}"), workload.to_string())));
            if let (Some(t), Some(p)) = (teaching, production) {
                println!(
                    "| {workload} | {} | {} | {:.3}× |",
                    rate(t.ops_per_sec),
                    rate(p.ops_per_sec),
                    t.ops_per_sec / p.ops_per_sec
                );
            }
        }
        let teaching_fill = results.fills.get(&(format!("lsmkv-teaching@{n}"), "fillrandom".to_string()));
        if let Some(infos) = teaching_fill {
            let amp = median_f64(infos.iter().filter_map(|i| i.lsmkv_amplification).collect());
            println!();
            println!("teaching preset after fillrandom: write amplification {amp:.2} (Stats)");
        }
        println!();
    }

    if results.anomalies.is_empty() {
        println!(
            "result checks: all passed (every readrandom key found, no readmissing key found, full seeks and scans)"
        );
    } else {
        println!("result checks FAILED:");
        for a in &results.anomalies {
            println!("- {a}");
        }
    }
}

/// Median per field (ops/s, p50, p99 each taken separately).
fn median(samples: Option<&Vec<Sample>>) -> Option<Sample> {
    let samples = samples.filter(|s| !s.is_empty())?;
    Some(Sample {
        ops: samples[0].ops,
        ops_per_sec: median_f64(samples.iter().map(|s| s.ops_per_sec).collect()),
        p50_ns: median_f64(samples.iter().map(|s| s.p50_ns as f64).collect()) as u64,
        p99_ns: median_f64(samples.iter().map(|s| s.p99_ns as f64).collect()) as u64,
    })
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
    if ns >= 10_000_000 {
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

fn bytes(b: f64) -> String {
    if b >= (1u64 << 30) as f64 {
        format!("{:.2} GiB", b / (1u64 << 30) as f64)
    } else if b >= (1u64 << 20) as f64 {
        format!("{:.1} MiB", b / (1u64 << 20) as f64)
    } else {
        format!("{:.0} KiB", b / 1024.0)
    }
}
