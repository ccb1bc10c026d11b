//! The engines under test behind one small trait, each configured as close
//! to the others as their options allow (see BENCHMARKS.md, "Configuration"):
//! WAL/journal on, no fsync per write (except `fillsync`), the same block
//! cache (`--cache-mib`, 64 MiB by default), 64 MiB memtable, 4 KiB blocks,
//! 10-bit bloom filters, and the same block compression (`--compression`).
//! Every method takes `&self`, and every engine is `Send + Sync`, so client
//! threads share one open database.

use std::error::Error;
use std::ops::Bound;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// Longest wait for an engine's background flushes and compactions to finish
/// (a 100M-key overwrite can leave many gigabytes of compaction behind).
const SETTLE_MAX: Duration = Duration::from_secs(3600);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// lsmkv, `Options::production()`.
    Lsmkv,
    /// lsmkv, `Options::teaching()` (30-entry memtable and tables).
    LsmkvTeaching,
    Fjall,
    #[cfg(feature = "rocksdb")]
    Rocksdb,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Lsmkv => "lsmkv",
            Kind::LsmkvTeaching => "lsmkv-teaching",
            Kind::Fjall => "fjall",
            #[cfg(feature = "rocksdb")]
            Kind::Rocksdb => "rocksdb",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        match name {
            "lsmkv" => Some(Kind::Lsmkv),
            "lsmkv-teaching" => Some(Kind::LsmkvTeaching),
            "fjall" => Some(Kind::Fjall),
            #[cfg(feature = "rocksdb")]
            "rocksdb" => Some(Kind::Rocksdb),
            _ => None,
        }
    }
}

/// Block compression, the same for every engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Compression {
    None,
    Lz4,
}

/// How every engine is opened in one run.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Settings {
    pub cache_bytes: usize,
    /// lsmkv's `Options::partition_cache_bytes`, if not the preset's.
    pub partition_cache_bytes: Option<usize>,
    /// lsmkv reads its tables with `pread` (`pread::PreadStorage`).
    pub lsmkv_pread: bool,
    pub compression: Compression,
    /// Sync every write before it returns (fdatasync of the WAL/journal).
    pub sync: bool,
}

/// Writers held back by the engine itself, as the engine counts them
/// (cumulative since open; the bench reports differences).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stalls {
    /// How many times writers were held back, if the engine counts them.
    pub count: Option<u64>,
    pub micros: u64,
}

impl Stalls {
    pub fn since(self, before: Stalls) -> Stalls {
        Stalls {
            count: self.count.zip(before.count).map(|(a, b)| a.saturating_sub(b)),
            micros: self.micros.saturating_sub(before.micros),
        }
    }
}

/// One open database.
pub trait Engine: Send + Sync {
    fn put(&self, key: &[u8], value: &[u8]) -> Res<()>;
    fn delete(&self, key: &[u8]) -> Res<()>;
    /// The value's length if the key is present.
    fn get(&self, key: &[u8]) -> Res<Option<usize>>;
    /// Seeks to the first key ≥ `key` and reads up to `entries` entries
    /// (key and value) from there; returns how many it read.
    fn seek_and_read(&self, key: &[u8], entries: usize) -> Res<usize>;
    /// Reads every entry in key order, calling `visit` for each.
    fn scan(&self, visit: &mut dyn FnMut(&[u8], &[u8])) -> Res<u64>;
    /// Writes the memtable to tables and waits until background flushes and
    /// compactions are idle (lsmkv's flush also runs the compactions due).
    fn flush_and_settle(&self) -> Res<()>;
    /// lsmkv's own `Stats` (write amplification), if this is lsmkv.
    fn lsmkv_stats(&self) -> Option<lsmkv::Stats> {
        None
    }
    /// The engine's own write-stall counters, if it exposes any.
    fn stalls(&self) -> Option<Stalls>;
}

/// Opens a fresh database of `kind` in `dir`.
pub fn open(kind: Kind, dir: &Path, settings: &Settings) -> Res<Box<dyn Engine>> {
    Ok(match kind {
        Kind::Lsmkv => Box::new(Lsmkv::open(dir, lsmkv::Options::production(), settings)?),
        Kind::LsmkvTeaching => Box::new(Lsmkv::open(dir, lsmkv::Options::teaching(), settings)?),
        Kind::Fjall => Box::new(Fjall::open(dir, settings)?),
        #[cfg(feature = "rocksdb")]
        Kind::Rocksdb => Box::new(Rocks::open(dir, settings)?),
    })
}

/// Polls `idle` until it holds three times in a row, 20 ms apart.
fn wait_until_idle(mut idle: impl FnMut() -> Res<bool>) -> Res<()> {
    let started = Instant::now();
    let mut quiet = 0;
    while quiet < 3 {
        if started.elapsed() > SETTLE_MAX {
            return Err(format!("background work did not settle within {} s", SETTLE_MAX.as_secs()).into());
        }
        quiet = if idle()? { quiet + 1 } else { 0 };
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

// ---------------------------------------------------------------------------

/// The one place lsmkv's block compression is set. Returns whether lsmkv
/// runs with `compression` (it always can).
fn set_lsmkv_compression(options: &mut lsmkv::Options, compression: Compression) -> bool {
    options.compression = match compression {
        Compression::None => lsmkv::Compression::None,
        Compression::Lz4 => lsmkv::Compression::Lz4,
    };
    true
}

/// Whether lsmkv applies `compression` (for the report's configuration lines).
pub fn lsmkv_applies(compression: Compression) -> bool {
    set_lsmkv_compression(&mut lsmkv::Options::production(), compression)
}

struct Lsmkv {
    db: lsmkv::Db,
}

impl Lsmkv {
    fn open(dir: &Path, mut options: lsmkv::Options, settings: &Settings) -> Res<Self> {
        options.durability = if settings.sync { lsmkv::Durability::Sync } else { lsmkv::Durability::Buffered };
        if options.block_cache_bytes > 1 << 20 {
            // The production preset; the teaching preset keeps its 1 MiB cache.
            options.block_cache_bytes = settings.cache_bytes;
            if let Some(bytes) = settings.partition_cache_bytes {
                options.partition_cache_bytes = bytes;
            }
        }
        set_lsmkv_compression(&mut options, settings.compression);
        let storage = lsmkv::FsStorage::open(dir)?;
        let db = match settings.lsmkv_pread {
            true => lsmkv::Db::open(crate::pread::PreadStorage::new(storage, dir.to_path_buf()), options)?,
            false => lsmkv::Db::open(storage, options)?,
        };
        Ok(Lsmkv { db })
    }
}

impl Engine for Lsmkv {
    fn put(&self, key: &[u8], value: &[u8]) -> Res<()> {
        Ok(self.db.put(key, value)?)
    }
    fn delete(&self, key: &[u8]) -> Res<()> {
        Ok(self.db.delete(key)?)
    }
    fn get(&self, key: &[u8]) -> Res<Option<usize>> {
        Ok(self.db.get(key)?.map(|v| v.len()))
    }
    fn seek_and_read(&self, key: &[u8], entries: usize) -> Res<usize> {
        let range = lsmkv::RangeOptions {
            start: Bound::Included(key.to_vec()),
            limit: Some(entries),
            ..lsmkv::RangeOptions::default()
        };
        let mut read = 0;
        for item in self.db.iter(&range)? {
            let (k, v) = item?;
            std::hint::black_box((k.len(), v.len()));
            read += 1;
        }
        Ok(read)
    }
    fn scan(&self, visit: &mut dyn FnMut(&[u8], &[u8])) -> Res<u64> {
        let mut read = 0;
        for item in self.db.iter(&lsmkv::RangeOptions::default())? {
            let (k, v) = item?;
            visit(&k, &v);
            read += 1;
        }
        Ok(read)
    }
    fn flush_and_settle(&self) -> Res<()> {
        self.db.flush()?;
        Ok(())
    }
    fn lsmkv_stats(&self) -> Option<lsmkv::Stats> {
        Some(self.db.stats())
    }
    fn stalls(&self) -> Option<Stalls> {
        let stats = self.db.stats();
        // Time stopped and time paced, as RocksDB's figure counts both.
        Some(Stalls { count: Some(stats.write_stalls), micros: stats.write_stall_micros + stats.write_slowdown_micros })
    }
}

impl Drop for Lsmkv {
    fn drop(&mut self) {
        let _ = self.db.close();
    }
}

// ---------------------------------------------------------------------------

struct Fjall {
    db: fjall::Database,
    keyspace: fjall::Keyspace,
    sync: bool,
}

impl Fjall {
    fn open(dir: &Path, settings: &Settings) -> Res<Self> {
        // Defaults otherwise: journal written to the OS after every write
        // (PersistMode::Buffer), 64 MiB memtable, 4 KiB blocks, bloom filters,
        // leveled compaction on background threads.
        let db = fjall::Database::builder(dir).cache_size(settings.cache_bytes as u64).open()?;
        // fjall's own default compresses L2 and deeper with LZ4 only; `all`
        // compresses every level's data blocks, as the other two engines do.
        let policy = match settings.compression {
            Compression::None => fjall::config::CompressionPolicy::disabled(),
            Compression::Lz4 => fjall::config::CompressionPolicy::all(fjall::CompressionType::Lz4),
        };
        let keyspace =
            db.keyspace("bench", || fjall::KeyspaceCreateOptions::default().data_block_compression_policy(policy))?;
        Ok(Fjall { db, keyspace, sync: settings.sync })
    }
}

impl Engine for Fjall {
    fn put(&self, key: &[u8], value: &[u8]) -> Res<()> {
        self.keyspace.insert(key, value)?;
        if self.sync {
            self.db.persist(fjall::PersistMode::SyncData)?;
        }
        Ok(())
    }
    fn delete(&self, key: &[u8]) -> Res<()> {
        self.keyspace.remove(key)?;
        Ok(())
    }
    fn get(&self, key: &[u8]) -> Res<Option<usize>> {
        Ok(self.keyspace.get(key)?.map(|v| v.len()))
    }
    fn seek_and_read(&self, key: &[u8], entries: usize) -> Res<usize> {
        let mut read = 0;
        for guard in self.keyspace.range(key..).take(entries) {
            let (k, v) = guard.into_inner()?;
            std::hint::black_box((k.len(), v.len()));
            read += 1;
        }
        Ok(read)
    }
    fn scan(&self, visit: &mut dyn FnMut(&[u8], &[u8])) -> Res<u64> {
        let mut read = 0;
        for guard in self.keyspace.iter() {
            let (k, v) = guard.into_inner()?;
            visit(&k, &v);
            read += 1;
        }
        Ok(read)
    }
    fn flush_and_settle(&self) -> Res<()> {
        // `rotate_memtable_and_wait` is public but doc-hidden: fjall has no
        // documented "flush now"; this seals the memtable and waits for the
        // flush worker to write it.
        self.keyspace.rotate_memtable_and_wait()?;
        let db = &self.db;
        wait_until_idle(|| Ok(db.outstanding_flushes() == 0 && db.active_compactions() == 0))
    }
    /// fjall 3.1 throttles writers (a spin when L0 holds 20+ runs, 10 ms
    /// sleeps at 30+, 100 ms sleeps with 4+ sealed memtables) but counts
    /// none of it publicly: the bench's slow-op counts stand in.
    fn stalls(&self) -> Option<Stalls> {
        None
    }
}

// ---------------------------------------------------------------------------

#[cfg(feature = "rocksdb")]
struct Rocks {
    db: rocksdb::DB,
    write: rocksdb::WriteOptions,
}

#[cfg(feature = "rocksdb")]
impl Rocks {
    fn open(dir: &Path, settings: &Settings) -> Res<Self> {
        let mut table = rocksdb::BlockBasedOptions::default();
        table.set_block_cache(&rocksdb::Cache::new_lru_cache(settings.cache_bytes)?);
        table.set_block_size(4096);
        table.set_bloom_filter(10.0, false);
        let mut options = rocksdb::Options::default();
        options.create_if_missing(true);
        options.set_block_based_table_factory(&table);
        options.set_compression_type(match settings.compression {
            Compression::None => rocksdb::DBCompressionType::None,
            Compression::Lz4 => rocksdb::DBCompressionType::Lz4,
        });
        // Defaults otherwise: WAL on, 64 MiB write buffer, leveled compaction,
        // 2 background jobs.
        let db = rocksdb::DB::open(&options, dir).map_err(|e| match settings.compression {
            Compression::Lz4 => format!(
                "RocksDB did not open with LZ4 compression (is this librocksdb built with lz4? \
                 rerun with --compression none to compare without it): {e}"
            ),
            Compression::None => e.to_string(),
        })?;
        let mut write = rocksdb::WriteOptions::default();
        write.set_sync(settings.sync);
        Ok(Rocks { db, write })
    }

    fn property(&self, name: &str) -> Res<u64> {
        Ok(self.db.property_int_value(name)?.unwrap_or(0))
    }

    fn text_property(&self, name: &str) -> Res<String> {
        Ok(self.db.property_value(name)?.unwrap_or_default())
    }
}

#[cfg(feature = "rocksdb")]
impl Engine for Rocks {
    fn put(&self, key: &[u8], value: &[u8]) -> Res<()> {
        Ok(self.db.put_opt(key, value, &self.write)?)
    }
    fn delete(&self, key: &[u8]) -> Res<()> {
        Ok(self.db.delete_opt(key, &self.write)?)
    }
    fn get(&self, key: &[u8]) -> Res<Option<usize>> {
        Ok(self.db.get_pinned(key)?.map(|v| v.len()))
    }
    fn seek_and_read(&self, key: &[u8], entries: usize) -> Res<usize> {
        let mut iter = self.db.raw_iterator();
        iter.seek(key);
        let mut read = 0;
        while read < entries && iter.valid() {
            std::hint::black_box((iter.key().map(<[u8]>::len), iter.value().map(<[u8]>::len)));
            read += 1;
            iter.next();
        }
        iter.status()?;
        Ok(read)
    }
    fn scan(&self, visit: &mut dyn FnMut(&[u8], &[u8])) -> Res<u64> {
        let mut iter = self.db.raw_iterator();
        iter.seek_to_first();
        let mut read = 0;
        while iter.valid() {
            visit(iter.key().unwrap_or_default(), iter.value().unwrap_or_default());
            read += 1;
            iter.next();
        }
        iter.status()?;
        Ok(read)
    }
    fn flush_and_settle(&self) -> Res<()> {
        self.db.flush()?;
        wait_until_idle(|| {
            Ok(self.property("rocksdb.num-running-flushes")? == 0
                && self.property("rocksdb.num-running-compactions")? == 0
                && self.property("rocksdb.compaction-pending")? == 0)
        })
    }
    /// Time from the `rocksdb.dbstats` property's "Cumulative stall" line
    /// (the write controller's delays and stops, millisecond resolution; no
    /// `Statistics` object, whose timers would slow RocksDB down), and the
    /// count from `rocksdb.cfstats`' "Stalls(count)" line: how many times
    /// the write controller started slowing or stopping writes.
    fn stalls(&self) -> Option<Stalls> {
        let db_stats = self.text_property("rocksdb.dbstats").ok()?;
        let cf_stats = self.text_property("rocksdb.cfstats").ok()?;
        Some(Stalls { count: rocks_stall_count(&cf_stats), micros: rocks_stall_micros(&db_stats)? })
    }
}

/// "Cumulative stall: 00:00:1.234 H:M:S, 0.5 percent" → microseconds.
#[cfg_attr(not(feature = "rocksdb"), allow(dead_code))]
fn rocks_stall_micros(db_stats: &str) -> Option<u64> {
    let line = db_stats.lines().find_map(|l| l.trim().strip_prefix("Cumulative stall:"))?;
    let hms = line.split_whitespace().next()?;
    let mut parts = hms.split(':');
    let (hours, minutes, seconds) = (parts.next()?, parts.next()?, parts.next()?);
    let secs =
        hours.parse::<f64>().ok()? * 3600.0 + minutes.parse::<f64>().ok()? * 60.0 + seconds.parse::<f64>().ok()?;
    Some((secs * 1e6).round() as u64)
}

/// "Stalls(count): 0 level0_slowdown, …, 0 memtable_slowdown, interval 3 total count"
/// → the sum of the per-cause counts, as RocksDB's own total adds them: the
/// `*_with_compaction` ones are subsets of their cause, and the "interval …
/// total count" is only since the property was last read.
#[cfg_attr(not(feature = "rocksdb"), allow(dead_code))]
fn rocks_stall_count(cf_stats: &str) -> Option<u64> {
    let line = cf_stats.lines().find_map(|l| l.trim().strip_prefix("Stalls(count):"))?;
    Some(
        line.split(',')
            .filter(|cause| !cause.contains("with_compaction") && !cause.contains("total count"))
            .filter_map(|cause| cause.split_whitespace().next()?.parse::<u64>().ok())
            .sum(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stall lines of RocksDB 7.8's `rocksdb.dbstats` and `rocksdb.cfstats` parse.
    #[test]
    fn rocksdb_stall_lines_parse() {
        let db_stats = "Uptime(secs): 3.0 total, 3.0 interval\nCumulative stall: 00:01:2.500 H:M:S, 4.1 percent\n\
                        Interval stall: 00:00:0.000 H:M:S, 0.0 percent\n";
        assert_eq!(rocks_stall_micros(db_stats), Some(62_500_000));
        let cf_stats = "Stalls(count): 2 level0_slowdown, 1 level0_slowdown_with_compaction, 0 level0_numfiles, \
                        0 memtable_compaction, 3 memtable_slowdown, interval 6 total count\n";
        assert_eq!(rocks_stall_count(cf_stats), Some(5));
        assert_eq!(rocks_stall_micros("nothing"), None);
    }

    /// The parsers read what Debian's librocksdb really prints: with a tiny
    /// write buffer and a low L0 stop trigger, writers stall, and both the
    /// stall time and the stall count come out above zero.
    #[cfg(feature = "rocksdb")]
    #[test]
    fn rocksdb_stalls_are_read_from_the_real_library() {
        let dir = std::env::temp_dir().join(format!("lsmkv-bench-stall-test-{}", std::process::id()));
        let mut options = rocksdb::Options::default();
        options.create_if_missing(true);
        options.set_write_buffer_size(64 << 10);
        options.set_level_zero_slowdown_writes_trigger(2);
        options.set_level_zero_stop_writes_trigger(3);
        let db = rocksdb::DB::open(&options, &dir).expect("open");
        let value = [7u8; 100];
        for i in 0..30_000u64 {
            db.put(format!("{i:016}"), value).expect("put");
        }
        let text = |name: &str| db.property_value(name).ok().flatten().unwrap_or_default();
        let micros = rocks_stall_micros(&text("rocksdb.dbstats"));
        let count = rocks_stall_count(&text("rocksdb.cfstats"));
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(micros.is_some_and(|m| m > 0), "stall time {micros:?}");
        assert!(count.is_some_and(|c| c > 0), "stall count {count:?}");
    }
}
