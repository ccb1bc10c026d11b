//! `Options::footprint` is the one bound backends reserve storage by (the
//! OPFS file pool tops itself up to it before each call): no call may hold
//! more files or bytes at once, beyond those live when it started. Checked
//! here by measuring the peak of every call of random workloads, including
//! batches spanning several memtables, flushes, compactions and reopens.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use lsmkv::storage::{Change, Hook, Hooked};
use lsmkv::testing::Rng;
use lsmkv::{Db, Footprint, MemStorage, Options, WriteBatch};

/// Tracks how many files and bytes a storage holds, and the peak of both
/// since the last `start`.
#[derive(Default)]
struct Tally(Mutex<Sizes>);

#[derive(Default)]
struct Sizes {
    files: BTreeMap<String, u64>,
    peak_files: usize,
    peak_bytes: u64,
}

impl Sizes {
    fn bytes(&self) -> u64 {
        self.files.values().sum()
    }
}

impl Tally {
    /// Files and bytes now; resets the peaks to them.
    fn start(&self) -> (usize, u64) {
        let mut t = self.0.lock().unwrap();
        t.peak_files = t.files.len();
        t.peak_bytes = t.bytes();
        (t.peak_files, t.peak_bytes)
    }

    /// Peak files and bytes since `start`.
    fn peak(&self) -> (usize, u64) {
        let t = self.0.lock().unwrap();
        (t.peak_files, t.peak_bytes)
    }
}

impl Hook for Tally {
    fn after(&self, change: &Change<'_>) {
        let mut t = self.0.lock().unwrap();
        match *change {
            Change::Create(name) | Change::CreateLog(name) => {
                t.files.insert(name.into(), 0);
            }
            Change::Append(name, data) => *t.files.entry(name.into()).or_default() += data.len() as u64,
            Change::Truncate(name, len) => {
                t.files.insert(name.into(), len);
            }
            Change::Rename(from, to) => {
                let len = t.files.remove(from).unwrap_or(0);
                t.files.insert(to.into(), len);
            }
            Change::Remove(name) => {
                t.files.remove(name);
            }
            Change::Sync(_) => {}
        }
        t.peak_files = t.peak_files.max(t.files.len());
        t.peak_bytes = t.peak_bytes.max(t.bytes());
    }
}

type Measured = Hooked<MemStorage, Tally>;

/// Runs `call`, checking its peak against `bound` (computed from the state
/// it starts in). Returns the call's result.
fn within<T>(
    storage: &Measured,
    what: &str,
    bound: impl FnOnce(usize, u64) -> Footprint,
    call: impl FnOnce() -> T,
) -> T {
    let (files, bytes) = storage.hook.start();
    let footprint = bound(files, bytes);
    let result = call();
    let (peak_files, peak_bytes) = storage.hook.peak();
    assert!(
        peak_files - files <= footprint.files,
        "{what}: {} files beyond the {files} live, bound {}",
        peak_files - files,
        footprint.files
    );
    assert!(
        peak_bytes - bytes <= footprint.bytes,
        "{what}: {} bytes beyond the {bytes} live, bound {}",
        peak_bytes - bytes,
        footprint.bytes
    );
    result
}

fn run(options: Options, seed: u64, steps: usize) {
    let storage: Arc<Measured> = Arc::new(Hooked::new(MemStorage::new(), Tally::default()));
    let mut db = within(
        &storage,
        "open (new)",
        |f, b| options.open_footprint(f, b),
        || Db::open_shared(storage.clone(), options.clone()).unwrap(),
    );
    let mut rng = Rng::new(seed);
    let value_max = options.value_size_max.min(300) as u64;
    for step in 0..steps {
        let what = format!("seed {seed} step {step}");
        match rng.below(100) {
            0..=59 => {
                let key = format!("key{:05}", rng.below(2000)).into_bytes();
                let len = rng.below(value_max) as usize;
                let value = rng.bytes(len);
                let bytes = key.len() + value.len();
                within(&storage, &what, |f, b| options.footprint(f, b, 1, bytes), || db.put(&key, &value)).unwrap();
            }
            60..=74 => {
                let mut batch = WriteBatch::new();
                let (mut entries, mut bytes) = (0, 0);
                for _ in 0..1 + rng.below(150) {
                    let key = format!("key{:05}", rng.below(2000)).into_bytes();
                    let len = rng.below(value_max) as usize;
                    let value = rng.bytes(len);
                    entries += 1;
                    bytes += key.len() + value.len();
                    if rng.chance(20) {
                        batch.delete(key);
                    } else {
                        batch.put(key, value);
                    }
                }
                within(&storage, &what, |f, b| options.footprint(f, b, entries, bytes), || db.write(&batch)).unwrap();
            }
            75..=84 => {
                let key = format!("key{:05}", rng.below(2000)).into_bytes();
                let bytes = key.len();
                within(&storage, &what, |f, b| options.footprint(f, b, 1, bytes), || db.delete(&key)).unwrap();
            }
            85..=89 => {
                within(&storage, &what, |f, b| options.footprint(f, b, 0, 0), || db.flush()).unwrap();
            }
            90..=93 => {
                within(&storage, &what, |f, b| options.footprint(f, b, 0, 0), || db.compact_step()).unwrap();
            }
            94..=95 => {
                within(&storage, &what, |f, b| options.footprint(f, b, 0, 0), || db.compact()).unwrap();
            }
            _ => {
                // A reopen without close: recovery replays the WAL.
                drop(db);
                db = within(
                    &storage,
                    &format!("{what} (reopen)"),
                    |f, b| options.open_footprint(f, b),
                    || Db::open_shared(storage.clone(), options.clone()).unwrap(),
                );
            }
        }
    }
}

#[test]
fn no_call_holds_more_than_its_footprint_under_entry_caps() {
    for seed in 0..4 {
        run(Options::teaching(), seed, 600);
    }
}

#[test]
fn no_call_holds_more_than_its_footprint_under_byte_caps() {
    let options = Options {
        memtable_max_entries: 10_000,
        memtable_max_bytes: 8 << 10,
        sstable_max_entries: 10_000,
        sstable_max_bytes: 4 << 10,
        key_size_max: 64,
        value_size_max: 1 << 10,
        level_base_bytes: 16 << 10,
        ..Options::teaching()
    };
    for seed in 10..14 {
        run(options.clone(), seed, 600);
    }
}

#[test]
fn a_call_that_fills_more_memtables_may_need_more() {
    let options = Options::teaching();
    let small = options.footprint(10, 1000, 1, 10);
    let large = options.footprint(10, 1000, 1000, 10_000);
    assert!(large.files > small.files && large.bytes > small.bytes);
    assert!(options.footprint(100, 0, 0, 0).files >= 200, "a full compaction may write twice its inputs");
    assert_eq!(options.memtables_filled(30, 0), 2, "30 entries can fill one memtable and start another");
}
