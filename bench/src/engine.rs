//! The engines under test behind one small trait, each configured as close
//! to the others as their options allow (see BENCHMARKS.md, "Configuration"):
//! WAL/journal on, no fsync per write (except `fillsync`), 64 MiB block
//! cache, 64 MiB memtable, 4 KiB blocks, 10-bit bloom filters, no compression.

use std::error::Error;
use std::ops::Bound;
use std::path::Path;
use std::time::{Duration, Instant};

pub type Res<T> = Result<T, Box<dyn Error>>;

/// Bytes of block cache every engine gets.
pub const CACHE_BYTES: usize = 64 << 20;
/// Longest wait for an engine's background flushes and compactions to finish.
const SETTLE_MAX: Duration = Duration::from_secs(120);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// One open database.
pub trait Engine {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Res<()>;
    fn delete(&mut self, key: &[u8]) -> Res<()>;
    /// The value's length if the key is present.
    fn get(&mut self, key: &[u8]) -> Res<Option<usize>>;
    /// Seeks to the first key ≥ `key` and reads up to `entries` entries
    /// (key and value) from there; returns how many it read.
    fn seek_and_read(&mut self, key: &[u8], entries: usize) -> Res<usize>;
    /// Reads every entry in key order, calling `visit` for each.
    fn scan(&mut self, visit: &mut dyn FnMut(&[u8], &[u8])) -> Res<u64>;
    /// Writes the memtable to tables and waits until background flushes and
    /// compactions are idle (lsmkv has none: it compacts in the flush call).
    fn flush_and_settle(&mut self) -> Res<()>;
    /// lsmkv's own `Stats` (write amplification), if this is lsmkv.
    fn lsmkv_stats(&self) -> Option<lsmkv::Stats> {
        None
    }
}

/// Opens a fresh database of `kind` in `dir`. With `sync`, every write is
/// synced before it returns (fdatasync of the WAL/journal); otherwise writes
/// reach the OS but are not synced.
pub fn open(kind: Kind, dir: &Path, sync: bool) -> Res<Box<dyn Engine>> {
    Ok(match kind {
        Kind::Lsmkv => Box::new(Lsmkv::open(dir, lsmkv::Options::production(), sync)?),
        Kind::LsmkvTeaching => Box::new(Lsmkv::open(dir, lsmkv::Options::teaching(), sync)?),
        Kind::Fjall => Box::new(Fjall::open(dir, sync)?),
        #[cfg(feature = "rocksdb")]
        Kind::Rocksdb => Box::new(Rocks::open(dir, sync)?),
    })
}

/// Polls `idle` until it holds three times in a row, 20 ms apart.
fn wait_until_idle(mut idle: impl FnMut() -> Res<bool>) -> Res<()> {
    let started = Instant::now();
    let mut quiet = 0;
    while quiet < 3 {
        if started.elapsed() > SETTLE_MAX {
            return Err("background work did not settle within the limit".into());
        }
        quiet = if idle()? { quiet + 1 } else { 0 };
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

// ---------------------------------------------------------------------------

struct Lsmkv {
    db: lsmkv::Db,
}

impl Lsmkv {
    fn open(dir: &Path, mut options: lsmkv::Options, sync: bool) -> Res<Self> {
        options.durability = if sync { lsmkv::Durability::Sync } else { lsmkv::Durability::Buffered };
        let storage = lsmkv::FsStorage::open(dir)?;
        Ok(Lsmkv { db: lsmkv::Db::open(storage, options)? })
    }
}

impl Engine for Lsmkv {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Res<()> {
        Ok(self.db.put(key, value)?)
    }
    fn delete(&mut self, key: &[u8]) -> Res<()> {
        Ok(self.db.delete(key)?)
    }
    fn get(&mut self, key: &[u8]) -> Res<Option<usize>> {
        Ok(self.db.get(key)?.map(|v| v.len()))
    }
    fn seek_and_read(&mut self, key: &[u8], entries: usize) -> Res<usize> {
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
    fn scan(&mut self, visit: &mut dyn FnMut(&[u8], &[u8])) -> Res<u64> {
        let mut read = 0;
        for item in self.db.iter(&lsmkv::RangeOptions::default())? {
            let (k, v) = item?;
            visit(&k, &v);
            read += 1;
        }
        Ok(read)
    }
    fn flush_and_settle(&mut self) -> Res<()> {
        self.db.flush()?;
        Ok(())
    }
    fn lsmkv_stats(&self) -> Option<lsmkv::Stats> {
        Some(self.db.stats())
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
    fn open(dir: &Path, sync: bool) -> Res<Self> {
        // Defaults otherwise: journal written to the OS after every write
        // (PersistMode::Buffer), 64 MiB memtable, 4 KiB blocks, bloom filters,
        // leveled compaction on background threads.
        let db = fjall::Database::builder(dir).cache_size(CACHE_BYTES as u64).open()?;
        let keyspace = db.keyspace("bench", || {
            fjall::KeyspaceCreateOptions::default()
                .data_block_compression_policy(fjall::config::CompressionPolicy::disabled())
        })?;
        Ok(Fjall { db, keyspace, sync })
    }
}

impl Engine for Fjall {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Res<()> {
        self.keyspace.insert(key, value)?;
        if self.sync {
            self.db.persist(fjall::PersistMode::SyncData)?;
        }
        Ok(())
    }
    fn delete(&mut self, key: &[u8]) -> Res<()> {
        self.keyspace.remove(key)?;
        Ok(())
    }
    fn get(&mut self, key: &[u8]) -> Res<Option<usize>> {
        Ok(self.keyspace.get(key)?.map(|v| v.len()))
    }
    fn seek_and_read(&mut self, key: &[u8], entries: usize) -> Res<usize> {
        let mut read = 0;
        for guard in self.keyspace.range(key..).take(entries) {
            let (k, v) = guard.into_inner()?;
            std::hint::black_box((k.len(), v.len()));
            read += 1;
        }
        Ok(read)
    }
    fn scan(&mut self, visit: &mut dyn FnMut(&[u8], &[u8])) -> Res<u64> {
        let mut read = 0;
        for guard in self.keyspace.iter() {
            let (k, v) = guard.into_inner()?;
            visit(&k, &v);
            read += 1;
        }
        Ok(read)
    }
    fn flush_and_settle(&mut self) -> Res<()> {
        // `rotate_memtable_and_wait` is public but doc-hidden: fjall has no
        // documented "flush now"; this seals the memtable and waits for the
        // flush worker to write it.
        self.keyspace.rotate_memtable_and_wait()?;
        let db = &self.db;
        wait_until_idle(|| Ok(db.outstanding_flushes() == 0 && db.active_compactions() == 0))
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
    fn open(dir: &Path, sync: bool) -> Res<Self> {
        let mut table = rocksdb::BlockBasedOptions::default();
        table.set_block_cache(&rocksdb::Cache::new_lru_cache(CACHE_BYTES)?);
        table.set_block_size(4096);
        table.set_bloom_filter(10.0, false);
        let mut options = rocksdb::Options::default();
        options.create_if_missing(true);
        options.set_block_based_table_factory(&table);
        options.set_compression_type(rocksdb::DBCompressionType::None);
        // Defaults otherwise: WAL on, 64 MiB write buffer, leveled compaction,
        // 2 background jobs.
        let db = rocksdb::DB::open(&options, dir)?;
        let mut write = rocksdb::WriteOptions::default();
        write.set_sync(sync);
        Ok(Rocks { db, write })
    }

    fn property(&self, name: &str) -> Res<u64> {
        Ok(self.db.property_int_value(name)?.unwrap_or(0))
    }
}

#[cfg(feature = "rocksdb")]
impl Engine for Rocks {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Res<()> {
        Ok(self.db.put_opt(key, value, &self.write)?)
    }
    fn delete(&mut self, key: &[u8]) -> Res<()> {
        Ok(self.db.delete_opt(key, &self.write)?)
    }
    fn get(&mut self, key: &[u8]) -> Res<Option<usize>> {
        Ok(self.db.get_pinned(key)?.map(|v| v.len()))
    }
    fn seek_and_read(&mut self, key: &[u8], entries: usize) -> Res<usize> {
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
    fn scan(&mut self, visit: &mut dyn FnMut(&[u8], &[u8])) -> Res<u64> {
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
    fn flush_and_settle(&mut self) -> Res<()> {
        self.db.flush()?;
        wait_until_idle(|| {
            Ok(self.property("rocksdb.num-running-flushes")? == 0
                && self.property("rocksdb.num-running-compactions")? == 0
                && self.property("rocksdb.compaction-pending")? == 0)
        })
    }
}
