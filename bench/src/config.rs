//! The command line: options, their defaults, counts like `10M`, and what a
//! run will need on disk.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::engine::{Compression, Kind};
use crate::workload::{KEY_BYTES, VALUE_BYTES};
use crate::WORKLOADS;

/// From this many keys up, the default compression is LZ4 (the
/// production-scale runs); below it, none (the 1M figures' setting).
pub const LZ4_FROM_NUM: u64 = 10_000_000;
/// Default and cap of `--ycsb-ops`.
pub const YCSB_OPS_MAX: u64 = 10_000_000;
/// Free space a run needs, as a multiple of one database's user data: the
/// database at its largest (WAL, L0, compaction inputs and outputs side by
/// side, fjall's preallocated journal), one engine at a time.
pub const DISK_FACTOR: f64 = 2.5;

#[derive(Clone, Debug, Serialize, Deserialize)]
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
    pub value_size: usize,
    pub cache_mib: usize,
    /// lsmkv's partition cache (`Options::partition_cache_bytes`) in MiB;
    /// `None`: the production preset's.
    pub partition_cache_mib: Option<usize>,
    /// lsmkv's tables read by `pread` instead of through a map (`pread::PreadStorage`).
    pub lsmkv_pread: bool,
    pub compression: Compression,
    pub ycsb_ops: u64,
    pub threads: Vec<usize>,
    pub write_rate: u64,
}

impl Config {
    pub fn cache_bytes(&self) -> usize {
        self.cache_mib << 20
    }

    /// Bytes of keys and values one entry holds.
    pub fn entry_bytes(&self) -> u64 {
        (KEY_BYTES + self.value_size) as u64
    }

    pub fn wants(&self, workload: &str) -> bool {
        self.workloads.iter().any(|w| w == workload)
    }
}

pub const USAGE: &str = "\
lsmkv-bench: db_bench-style workloads, YCSB A-F and readwhilewriting on lsmkv, fjall and RocksDB

Counts accept 1000000, 1_000_000, 200k, 10M, 2.5M, 1G.

Options:
  --num N              keys in the data set and ops per fill [1M]
  --value-size B       value bytes (keys are 16 bytes) [100]
  --reads N            ops of readrandom/readmissing/seekrandom, and reader gets of readwhilewriting [= --num]
  --ycsb-ops N         ops per YCSB workload run (all its client threads together) [= --num, at most 10M]
  --threads LIST       client threads of YCSB and readers of readwhilewriting, comma-separated [1,2]
  --write-rate N       puts/s of readwhilewriting's writer [10000]
  --cache-mib M        block cache of every engine, MiB [64]
  --partition-cache-mib M  lsmkv's index and filter partition cache, MiB, 0 to share the block cache [256]
  --lsmkv-table-reads R    map (FsStorage's) or pread (tables read into a buffer, bench/src/pread.rs) [map]
  --compression C      lz4 or none, for every engine [lz4 from --num 10M up, none below]
  --sync-num N         ops of fillsync [2000]
  --teaching-num N     N for the teaching-preset line, 0 to skip [20000]
  --seek-nexts N       entries read after each seek [10]
  --repeat R           run everything R times, report medians [1]
  --engines LIST       comma-separated: lsmkv,fjall,rocksdb [all built in]
  --benchmarks LIST    comma-separated workloads [all]: fillseq, fillrandom, overwrite, readrandom,
                       readmissing, seekrandom, readseq, ycsb-a … ycsb-f, readwhilewriting,
                       deleterandom, fillsync
  --dir PATH           where databases go (a fresh subdirectory each) [$TMPDIR/lsmkv-bench-PID]
  --keep               keep the databases afterwards
  --seed N             seed of every key order [301]

Each engine's phases run in a child process (peak RSS per engine); the run refuses to start
when the disk under --dir has less free space than it needs (2.5x one database's data).
";

/// `1000000`, `1_000_000`, `200k`, `10M`, `2.5M`, `1G` (k = 10^3, M = 10^6,
/// G = 10^9), in exact decimal arithmetic: a fraction must come out whole.
pub fn parse_count(text: &str) -> Option<u64> {
    let clean = text.trim().replace('_', "");
    let (number, exponent) = match clean.chars().last()? {
        'k' | 'K' => (&clean[..clean.len() - 1], 3),
        'm' | 'M' => (&clean[..clean.len() - 1], 6),
        'g' | 'G' | 'b' | 'B' => (&clean[..clean.len() - 1], 9),
        _ => (clean.as_str(), 0u32),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) {
        return None;
    }
    // 2.5M: 25 with one fraction digit, × 10^(6 − 1).
    let fraction = fraction.trim_end_matches('0');
    let shift = exponent.checked_sub(fraction.len() as u32)?;
    let mantissa: u64 = format!("{whole}{fraction}").parse().ok()?;
    mantissa.checked_mul(10u64.checked_pow(shift)?)
}

pub fn parse_args(args: &[String]) -> Result<Config, String> {
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
        value_size: VALUE_BYTES,
        cache_mib: 64,
        partition_cache_mib: None,
        lsmkv_pread: false,
        compression: Compression::None,
        ycsb_ops: 0,
        threads: vec![1, 2],
        write_rate: 10_000,
    };
    let (mut reads, mut ycsb_ops, mut compression) = (None, None, None);
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().cloned().ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}"));
        let number = |v: String| parse_count(&v).ok_or_else(|| format!("{flag}: not a count: {v}"));
        match flag.as_str() {
            "--num" => config.num = number(value()?)?,
            "--reads" => reads = Some(number(value()?)?),
            "--value-size" => config.value_size = number(value()?)? as usize,
            "--ycsb-ops" => ycsb_ops = Some(number(value()?)?),
            "--write-rate" => config.write_rate = number(value()?)?,
            "--cache-mib" => config.cache_mib = number(value()?)? as usize,
            "--partition-cache-mib" => config.partition_cache_mib = Some(number(value()?)? as usize),
            "--lsmkv-table-reads" => {
                config.lsmkv_pread = match value()?.as_str() {
                    "map" => false,
                    "pread" => true,
                    other => return Err(format!("--lsmkv-table-reads: map or pread, not {other}")),
                }
            }
            "--sync-num" => config.sync_num = number(value()?)?,
            "--teaching-num" => config.teaching_num = number(value()?)?,
            "--seek-nexts" => config.seek_nexts = number(value()?)? as usize,
            "--repeat" => config.repeat = number(value()?)?.max(1) as usize,
            "--seed" => config.seed = number(value()?)?,
            "--dir" => config.dir = PathBuf::from(value()?).join(format!("lsmkv-bench-{}", std::process::id())),
            "--keep" => config.keep = true,
            "--compression" => {
                compression = Some(match value()?.as_str() {
                    "lz4" => Compression::Lz4,
                    "none" => Compression::None,
                    other => return Err(format!("--compression: lz4 or none, not {other:?}")),
                })
            }
            "--threads" => {
                config.threads = value()?
                    .split(',')
                    .map(|t| match t.parse::<usize>() {
                        Ok(n @ 1..=64) => Ok(n),
                        _ => Err(format!("--threads: not a thread count between 1 and 64: {t:?}")),
                    })
                    .collect::<Result<_, _>>()?
            }
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
    if config.value_size == 0 || config.value_size > 1 << 20 {
        return Err("--value-size must be between 1 and 1048576".into());
    }
    if config.cache_mib == 0 {
        return Err("--cache-mib must be at least 1".into());
    }
    if config.write_rate == 0 {
        return Err("--write-rate must be at least 1".into());
    }
    config.reads = reads.unwrap_or(config.num);
    config.ycsb_ops = ycsb_ops.unwrap_or(config.num.min(YCSB_OPS_MAX)).max(1);
    config.compression =
        compression.unwrap_or(if config.num >= LZ4_FROM_NUM { Compression::Lz4 } else { Compression::None });
    config.threads.sort_unstable();
    config.threads.dedup();
    Ok(config)
}

/// What a run will need on disk.
pub struct DiskPlan {
    /// num × (16 + value size): one database's user data.
    pub data_bytes: u64,
    /// Free space needed at once.
    pub need_bytes: u64,
    /// Free space where the databases go, if `df` could tell.
    pub free_bytes: Option<u64>,
}

/// Free space one database of `num` keys needs at its largest.
pub fn database_need_bytes(config: &Config, num: u64) -> u64 {
    (num as f64 * config.entry_bytes() as f64 * DISK_FACTOR) as u64
}

impl DiskPlan {
    pub fn of(config: &Config) -> DiskPlan {
        let data_bytes = config.num * config.entry_bytes();
        // One database at a time (each removed after its phases); with
        // --keep, every engine's every database of every round stays.
        let databases = if config.keep {
            let per_engine = usize::from(config.wants("fillseq"))
                + usize::from(config.workloads.iter().any(|w| w != "fillseq" && w != "fillsync"));
            (per_engine.max(1) * config.engines.len() * config.repeat) as f64
        } else {
            1.0
        };
        DiskPlan {
            data_bytes,
            need_bytes: (database_need_bytes(config, config.num) as f64 * databases) as u64,
            free_bytes: free_bytes(&config.dir),
        }
    }

    pub fn fits(&self) -> bool {
        self.free_bytes.is_none_or(|free| free >= self.need_bytes)
    }
}

/// Free bytes on the filesystem that holds `path` (or its nearest existing parent).
pub fn free_bytes(path: &Path) -> Option<u64> {
    let existing = path.ancestors().find(|p| p.exists())?;
    let output = Command::new("df").args(["-B1", "--output=avail"]).arg(existing).output().ok()?;
    String::from_utf8(output.stdout).ok()?.lines().nth(1)?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts with separators, suffixes and fractions; nonsense is refused.
    #[test]
    fn counts_parse() {
        assert_eq!(parse_count("1000000"), Some(1_000_000));
        assert_eq!(parse_count("1_000_000"), Some(1_000_000));
        assert_eq!(parse_count("200k"), Some(200_000));
        assert_eq!(parse_count("10M"), Some(10_000_000));
        assert_eq!(parse_count("100M"), Some(100_000_000));
        assert_eq!(parse_count("2.5M"), Some(2_500_000));
        assert_eq!(parse_count("1G"), Some(1_000_000_000));
        assert_eq!(parse_count("1.1M"), Some(1_100_000));
        assert_eq!(parse_count("0.5k"), Some(500));
        assert_eq!(parse_count("1.0000005k"), None);
        assert_eq!(parse_count("ten"), None);
        assert_eq!(parse_count("-1M"), None);
        assert_eq!(parse_count(""), None);
    }

    /// Compression defaults to LZ4 from 10M keys; an explicit choice wins.
    #[test]
    fn compression_default_follows_the_scale() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(parse_args(&args(&["--num", "1M"])).map(|c| c.compression).ok(), Some(Compression::None));
        assert_eq!(parse_args(&args(&["--num", "10M"])).map(|c| c.compression).ok(), Some(Compression::Lz4));
        let explicit = parse_args(&args(&["--num", "100M", "--compression", "none"])).map(|c| c.compression);
        assert_eq!(explicit.ok(), Some(Compression::None));
        let capped = parse_args(&args(&["--num", "100M"])).map(|c| c.ycsb_ops);
        assert_eq!(capped.ok(), Some(YCSB_OPS_MAX));
    }
}
