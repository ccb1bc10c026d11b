//! One engine's phases, run inside its child process: fresh databases for
//! fillseq and fillsync, and one main database that fillrandom loads and
//! every other workload then uses, in this order: overwrite, readrandom,
//! readmissing, seekrandom, readseq, YCSB A B C F D E (each at every
//! `--threads` count), readwhilewriting (likewise), deleterandom.
//!
//! Around each workload `measure` resets the peak-memory marks, notes the
//! engine's stall counters and the process's storage writes, and — if the
//! workload wrote — flushes and waits for background work, then reports the
//! sustained rate, bytes on disk and space and write amplification.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::child::{Job, Message, Out};
use crate::clients::{run_clients, run_while_writing, Run, Tally};
use crate::config::Config;
use crate::engine::{self, Engine, Res, Settings};
use crate::histogram::Histogram;
use crate::workload::{self, Permutation, Rng, Values, KEY_BYTES};
use crate::ycsb::{self, KeySpace};
use crate::{memory, Sample, WriteInfo};

/// YCSB's recommended order: the workloads that insert (D, E) last.
const YCSB_ORDER: &[&str] = &["ycsb-a", "ycsb-b", "ycsb-c", "ycsb-f", "ycsb-d", "ycsb-e"];

pub fn run(job: &Job, out: &mut Out) -> Res<()> {
    let (_, verified) = memory::verify_reset();
    out.send(&Message::Note { text: verified });
    std::fs::create_dir_all(&job.dir)?;
    let mut phases = Phases { job, config: &job.config, out };
    phases.fresh_database_phases(false)?;
    if job.workloads.iter().any(|w| !matches!(w.as_str(), "fillseq" | "fillsync")) {
        phases.main_database_phases()?;
    }
    phases.fresh_database_phases(true)
}

struct Phases<'a> {
    job: &'a Job,
    config: &'a Config,
    out: &'a mut Out,
}

/// The engine, its directory, and how many keys it holds.
struct Db<'a> {
    engine: &'a dyn Engine,
    dir: &'a Path,
    live_keys: &'a (dyn Fn() -> u64 + Sync),
}

impl Phases<'_> {
    fn wants(&self, workload: &str) -> bool {
        self.job.workloads.iter().any(|w| w == workload)
    }

    fn seed(&self) -> u64 {
        self.config.seed
    }

    fn scratch(&self, phase: &str) -> PathBuf {
        self.job.dir.join(phase)
    }

    fn open(&self, dir: &Path, sync: bool) -> Res<Box<dyn Engine>> {
        let settings = Settings {
            cache_bytes: self.config.cache_bytes(),
            partition_cache_bytes: self.config.partition_cache_mib.map(|mib| mib << 20),
            lsmkv_pread: self.config.lsmkv_pread,
            compression: self.config.compression,
            sync,
        };
        engine::open(self.job.kind, dir, &settings)
    }

    fn remove(&self, dir: &Path) {
        if !self.config.keep {
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    fn check(&mut self, what: &str, ok: bool) {
        if !ok {
            self.out.send(&Message::Anomaly { what: what.to_string() });
        }
    }

    /// fillseq (`sync` false) or fillsync (`sync` true), each into its own fresh database.
    fn fresh_database_phases(&mut self, sync: bool) -> Res<()> {
        let workload = if sync { "fillsync" } else { "fillseq" };
        if !self.wants(workload) {
            return Ok(());
        }
        let dir = self.scratch(workload);
        let engine = self.open(&dir, sync)?;
        let num = if sync { self.config.sync_num.min(self.job.num) } else { self.job.num };
        let order = Permutation::new(num, self.seed() ^ 9);
        let db = Db { engine: &*engine, dir: &dir, live_keys: &|| num };
        // fillsync is not flushed afterwards (as before): its point is the per-write sync.
        let (seed, settle) = if sync { (self.seed() ^ 8, false) } else { (self.seed(), true) };
        let value_size = self.config.value_size;
        self.measure(&db, workload, 1, settle, || {
            fill(&db, num, seed, value_size, || |i| if sync { order.at(i) } else { i })
        })?;
        drop(engine);
        self.remove(&dir);
        Ok(())
    }

    fn main_database_phases(&mut self) -> Res<()> {
        let (num, seed, value_size) = (self.job.num, self.seed(), self.config.value_size);
        let dir = self.scratch("main");
        let engine = self.open(&dir, false)?;
        let keys = KeySpace::new(num, seed ^ 10);
        let db = Db { engine: &*engine, dir: &dir, live_keys: &|| keys.live() };

        // fillrandom also builds the data set every later workload uses, so
        // it runs (and is reported) whenever any of them is selected.
        let order = Permutation::new(num, seed ^ 2);
        self.measure(&db, "fillrandom", 1, true, || fill(&db, num, seed ^ 1, value_size, || |i| order.at(i)))?;
        if self.wants("overwrite") {
            self.measure(&db, "overwrite", 1, true, || {
                fill(&db, num, seed ^ 11, value_size, || {
                    let mut rng = Rng::new(seed ^ 3);
                    move |_| rng.below(num)
                })
            })?;
        }
        self.point_reads(&db)?;
        if self.wants("readseq") {
            self.readseq(&db)?;
        }
        let (config, job) = (self.config, self.job);
        for workload in YCSB_ORDER.iter().filter(|w| job.workloads.iter().any(|x| x == *w)) {
            for &threads in &config.threads {
                self.ycsb(&db, &keys, workload, threads)?;
            }
        }
        if self.wants("readwhilewriting") {
            for &threads in &config.threads {
                self.read_while_writing(&db, threads)?;
            }
        }
        if self.wants("deleterandom") {
            self.measure(&db, "deleterandom", 1, false, || {
                run_clients(1, num, |_| {
                    let (mut rng, mut k) = (Rng::new(seed ^ 7), [0u8; KEY_BYTES]);
                    move |_| {
                        workload::key(rng.below(num), &mut k);
                        db.engine.delete(&k)?;
                        Ok(Tally::NONE)
                    }
                })
            })?;
        }
        drop(engine);
        self.remove(&dir);
        Ok(())
    }

    /// readrandom, readmissing and seekrandom, one thread each.
    fn point_reads(&mut self, db: &Db) -> Res<()> {
        let (num, seed, value_size) = (self.job.num, self.seed(), self.config.value_size);
        let reads = if num == self.config.num { self.config.reads } else { num };
        if self.wants("readrandom") {
            let tally = self
                .measure(db, "readrandom", 1, false, || random_gets(db.engine, 1, reads, num, seed ^ 4, value_size))?;
            self.check("readrandom: every key found", tally.misses == 0);
            if let Some(stats) = db.engine.lsmkv_stats() {
                eprintln!("  {}", shape(&stats));
            }
        }
        if self.wants("readmissing") {
            let tally = self.measure(db, "readmissing", 1, false, || {
                run_clients(1, reads, |_| {
                    let (mut rng, mut k) = (Rng::new(seed ^ 5), [0u8; KEY_BYTES]);
                    move |_| {
                        workload::missing_key(rng.below(num), &mut k);
                        // A found key counts as a "miss" of the check.
                        Ok(Tally::miss(db.engine.get(&k)?.is_some()))
                    }
                })
            })?;
            self.check("readmissing: no key found", tally.misses == 0);
        }
        if self.wants("seekrandom") {
            let entries = self.config.seek_nexts + 1;
            let tally = self.measure(db, "seekrandom", 1, false, || {
                run_clients(1, reads, |_| {
                    let (mut rng, mut k) = (Rng::new(seed ^ 6), [0u8; KEY_BYTES]);
                    move |_| {
                        let i = rng.below(num);
                        workload::key(i, &mut k);
                        let read = db.engine.seek_and_read(&k, entries)?;
                        Ok(Tally::short(read != entries.min((num - i) as usize)))
                    }
                })
            })?;
            self.check("seekrandom: every seek read its entries", tally.short_reads == 0);
        }
        Ok(())
    }

    fn readseq(&mut self, db: &Db) -> Res<()> {
        let expected = (db.live_keys)();
        let tally = self.measure(db, "readseq", 1, false, || {
            let mut hist = Histogram::new();
            let started = Instant::now();
            let mut last = started;
            let read = db.engine.scan(&mut |k, v| {
                std::hint::black_box((k.len(), v.len()));
                let now = Instant::now();
                hist.record(now.duration_since(last).as_nanos() as u64);
                last = now;
            })?;
            let secs = started.elapsed().as_secs_f64();
            Ok(Run { hist, secs, tally: Tally::short(read != expected), writer_ops_per_sec: None })
        })?;
        self.check("readseq: every key read once", tally.short_reads == 0);
        Ok(())
    }

    fn ycsb(&mut self, db: &Db, keys: &KeySpace, workload: &str, threads: usize) -> Res<()> {
        let mix = ycsb::mix(workload).ok_or_else(|| format!("no YCSB mix named {workload}"))?;
        let (ops, value_size) = (self.config.ycsb_ops, self.config.value_size);
        let seed = self.seed() ^ (u64::from(workload.as_bytes()[5]) << 32) ^ ((threads as u64) << 40);
        let tally = self.measure(db, workload, threads, true, || {
            let generators = ycsb::Generators::new(mix, keys, ops);
            let run = run_clients(threads, ops, |t| {
                let mut client = generators.client(keys, seed ^ t as u64, value_size);
                move |_| client.step(db.engine)
            });
            keys.settle();
            run
        })?;
        self.check(&format!("{workload} ×{threads}: every read found its key"), tally.misses == 0);
        self.check(&format!("{workload} ×{threads}: every scan read its start key"), tally.short_reads == 0);
        Ok(())
    }

    fn read_while_writing(&mut self, db: &Db, threads: usize) -> Res<()> {
        let (num, seed, value_size) = (self.job.num, self.seed(), self.config.value_size);
        let (reads, rate) = (self.config.reads, self.config.write_rate);
        let tally = self.measure(db, "readwhilewriting", threads, true, || {
            let (mut rng, mut values, mut k) =
                (Rng::new(seed ^ 12 ^ threads as u64), Values::new(seed ^ 13, value_size), [0u8; KEY_BYTES]);
            let writer = |_| {
                workload::key(rng.below(num), &mut k);
                db.engine.put(&k, values.next())
            };
            let readers = |t: usize| {
                let (mut rng, mut k) = (Rng::new(seed ^ 14 ^ ((t as u64) << 8) ^ threads as u64), [0u8; KEY_BYTES]);
                move |_| {
                    workload::key(rng.below(num), &mut k);
                    Ok(Tally::miss(db.engine.get(&k)?.is_none_or(|len| len != value_size)))
                }
            };
            run_while_writing(threads, reads, rate, writer, readers)
        })?;
        self.check(&format!("readwhilewriting ×{threads}: every key found"), tally.misses == 0);
        Ok(())
    }

    /// Runs one workload: resets the memory peaks, runs `body`, and reports
    /// its sample; if it wrote and `settle` is set, flushes, waits for
    /// background work and reports what the writes left behind.
    fn measure(
        &mut self,
        db: &Db,
        workload: &str,
        threads: usize,
        settle: bool,
        body: impl FnOnce() -> Res<Run>,
    ) -> Res<Tally> {
        memory::reset_peak();
        let stalls_before = db.engine.stalls();
        let lsmkv_before = db.engine.lsmkv_stats();
        let written_before = process_write_bytes();
        let run = body()?;
        let mut sample = Sample::of(&run.hist, run.secs);
        sample.engine_stalls = db.engine.stalls().zip(stalls_before).map(|(after, before)| after.since(before));
        sample.writer_ops_per_sec = run.writer_ops_per_sec;
        let info = if settle && run.tally.writes > 0 {
            let started = Instant::now();
            db.engine.flush_and_settle()?;
            let settle_secs = started.elapsed().as_secs_f64();
            let written = process_write_bytes().saturating_sub(written_before);
            let puts = run.tally.writes;
            let user_bytes = puts * self.config.entry_bytes();
            let live_keys = (db.live_keys)();
            let disk_bytes = dir_bytes(db.dir);
            Some(WriteInfo {
                puts,
                puts_per_sec: puts as f64 / run.secs.max(f64::MIN_POSITIVE),
                disk_bytes,
                live_keys,
                space_amplification: disk_bytes as f64 / (live_keys * self.config.entry_bytes()).max(1) as f64,
                wchar_amplification: written as f64 / user_bytes as f64,
                // This phase only: the counters since the workload started.
                lsmkv_amplification: db.engine.lsmkv_stats().zip(lsmkv_before).map(|(after, before)| {
                    let stored = after.storage_bytes_written - before.storage_bytes_written;
                    let user = after.user_bytes_written - before.user_bytes_written;
                    stored as f64 / user.max(1) as f64
                }),
                settle_secs,
                sustained_ops_per_sec: puts as f64 / (run.secs + settle_secs),
            })
        } else {
            None
        };
        sample.memory = Some(memory::peak());
        let workload = workload.to_string();
        self.out.send(&Message::Sample { workload: workload.clone(), threads, sample });
        if let Some(info) = info {
            self.out.send(&Message::Write { workload, threads, info });
        }
        Ok(run.tally)
    }
}

/// `count` puts of key number `which(i)` with fresh values, one thread
/// (`order` makes `which`, in the client thread).
fn fill<W: FnMut(u64) -> u64>(
    db: &Db,
    count: u64,
    seed: u64,
    value_size: usize,
    order: impl Fn() -> W + Sync,
) -> Res<Run> {
    let engine = db.engine;
    run_clients(1, count, |_| {
        let (mut which, mut values, mut k) = (order(), Values::new(seed, value_size), [0u8; KEY_BYTES]);
        move |i| {
            workload::key(which(i), &mut k);
            engine.put(&k, values.next())?;
            Ok(Tally::WRITE)
        }
    })
}

/// `reads` gets of uniformly random present keys on `threads` threads; a
/// key not found or with a value of the wrong size is a miss.
fn random_gets(engine: &dyn Engine, threads: usize, reads: u64, num: u64, seed: u64, value_size: usize) -> Res<Run> {
    run_clients(threads, reads, |t| {
        let (mut rng, mut k) = (Rng::new(seed ^ ((t as u64) << 8)), [0u8; KEY_BYTES]);
        move |_| {
            workload::key(rng.below(num), &mut k);
            Ok(Tally::miss(engine.get(&k)?.is_none_or(|len| len != value_size)))
        }
    })
}

/// lsmkv's tree and read path after readrandom, for the profile notes.
fn shape(stats: &lsmkv::Stats) -> String {
    let levels: Vec<String> = stats
        .levels
        .iter()
        .filter(|l| !l.tables.is_empty())
        .map(|l| format!("L{}: {} tables {:.0} MiB", l.level, l.tables.len(), l.bytes as f64 / (1 << 20) as f64))
        .collect();
    let rate = |hits: u64, misses: u64| hits as f64 / (hits + misses).max(1) as f64 * 100.0;
    let partitions = match stats.partition_cache_capacity_bytes {
        0 => String::from("partitions in the block cache"),
        capacity => format!(
            "partition cache hit rate {:.0}% ({:.0} of {:.0} MiB held)",
            rate(stats.partition_cache_hits, stats.partition_cache_misses),
            stats.partition_cache_bytes as f64 / (1 << 20) as f64,
            capacity as f64 / (1 << 20) as f64
        ),
    };
    format!(
        "lsmkv shape: {}; gets {}, tables searched per get {:.2}, bloom negatives per get {:.2}, block cache hit rate {:.0}%, {partitions}",
        levels.join(", "),
        stats.gets,
        stats.read_amplification,
        stats.bloom_negatives as f64 / stats.gets.max(1) as f64,
        rate(stats.block_cache_hits, stats.block_cache_misses),
    )
}

/// Bytes the process sent (or queued) to storage, from `/proc/self/io`'s
/// `write_bytes` (all threads, so background flushes and compactions count;
/// pages dirtied through a memory map count too, which `wchar` — bytes
/// passed to write(2) — would miss: lsmkv appends its WAL through a map).
/// The child process holds one engine, so this is that engine's.
fn process_write_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|io| io.lines().find_map(|l| l.strip_prefix("write_bytes:").map(|v| v.trim().parse().unwrap_or(0))))
        .unwrap_or(0)
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
