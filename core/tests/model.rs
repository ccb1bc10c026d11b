//! Model test: seeded random sequences of puts, deletes, batches, gets,
//! ranges in both directions, snapshots, flushes, compactions and reopens,
//! checked after every step against a `BTreeMap`. Also checks the caps: no
//! memtable and no table ever exceeds them.

mod common;

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use common::{byte_capped, random_key, random_value, Rng};
use lsmkv::testing::seeds;
use lsmkv::{Compression, Db, MemStorage, Options, RangeOptions, Snapshot, Storage, WriteBatch};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

struct Harness {
    storage: Arc<MemStorage>,
    options: Options,
    /// Always `Some` between steps; `None` only while reopening, because a
    /// store has one owner at a time (a real backend would lock it).
    db: Option<Db>,
    model: Model,
    /// Live snapshots with the model as it was when each was taken.
    snapshots: Vec<(Snapshot, Model)>,
    rng: Rng,
    max_value: u64,
    /// Flushes and compactions of earlier opens (stats count since open).
    /// Flushes, compactions and parallel merges of the databases closed so far.
    work_before_reopen: (u64, u64, u64),
}

impl Harness {
    fn db(&self) -> &Db {
        self.db.as_ref().expect("open between steps")
    }

    fn new(seed: u64, options: Options) -> Self {
        let storage = Arc::new(MemStorage::new());
        let db = Db::open_shared(storage.clone(), options.clone()).unwrap();
        let max_value = (options.value_size_max as u64).min(200);
        Harness {
            storage,
            options,
            db: Some(db),
            model: Model::new(),
            snapshots: Vec::new(),
            rng: Rng::new(seed),
            max_value,
            work_before_reopen: (0, 0, 0),
        }
    }

    fn step(&mut self, step: usize) {
        let roll = self.rng.below(1000);
        if std::env::var("LSMKV_MODEL_TRACE").is_ok() {
            // Debugging aid: verify everything before each step, to find the
            // first step after which the database and the model disagree.
            eprintln!("step {step}: roll {roll}");
            self.verify_everything(step);
        }
        match roll {
            0..=399 => {
                let (k, v) = (random_key(&mut self.rng, 300), random_value(&mut self.rng, self.max_value));
                self.db().put(&k, &v).unwrap();
                self.model.insert(k, v);
            }
            400..=519 => {
                let k = random_key(&mut self.rng, 300);
                self.db().delete(&k).unwrap();
                self.model.remove(&k);
            }
            520..=569 => self.batch(),
            570..=769 => {
                let k = random_key(&mut self.rng, 320);
                assert_eq!(self.db().get(&k).unwrap(), self.model.get(&k).cloned(), "get {k:?} at step {step}");
            }
            770..=899 => self.range(step),
            900..=929 => self.snapshot_check(step),
            930..=954 => {
                self.db().flush().unwrap();
            }
            955..=969 => {
                self.db().compact_step().unwrap();
            }
            970..=979 => {
                let (a, b) = (random_key(&mut self.rng, 300), random_key(&mut self.rng, 300));
                let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
                self.db().compact_range(Some(&lo), Some(&hi)).unwrap();
            }
            980..=984 => {
                self.db().compact().unwrap();
            }
            _ => self.reopen(),
        }
        self.check_caps(step);
    }

    fn batch(&mut self) {
        let mut batch = WriteBatch::new();
        let mut next = self.model.clone();
        for _ in 0..=self.rng.below(60) {
            let k = random_key(&mut self.rng, 300);
            if self.rng.chance(25) {
                batch.delete(k.clone());
                next.remove(&k);
            } else {
                let v = random_value(&mut self.rng, self.max_value);
                batch.put(k.clone(), v.clone());
                next.insert(k, v);
            }
        }
        self.db().write(&batch).unwrap();
        self.model = next;
    }

    fn random_bounds(&mut self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        let bound = |rng: &mut Rng| match rng.below(3) {
            0 => Bound::Unbounded,
            1 => Bound::Included(random_key(rng, 320)),
            _ => Bound::Excluded(random_key(rng, 320)),
        };
        (bound(&mut self.rng), bound(&mut self.rng))
    }

    fn range(&mut self, step: usize) {
        let (start, end) = self.random_bounds();
        let reverse = self.rng.chance(50);
        let limit = self.rng.chance(30).then(|| self.rng.below(20) as usize);
        let prefix = self.rng.chance(15).then(|| {
            let k = random_key(&mut self.rng, 300);
            k[..1 + self.rng.below(k.len() as u64) as usize].to_vec()
        });
        let options = RangeOptions { start, end, prefix, reverse, limit, snapshot: None };
        let expected = expect_range(&self.model, &options);
        let got = self.db().range(&options).unwrap();
        if got != expected {
            let at = got.iter().zip(&expected).position(|(a, b)| a != b).unwrap_or(got.len().min(expected.len()));
            panic!(
                "range {options:?} at step {step}: {} entries, want {}; first difference at {at}:\n got {:?}\nwant {:?}",
                got.len(),
                expected.len(),
                got.get(at),
                expected.get(at)
            );
        }
    }

    fn snapshot_check(&mut self, step: usize) {
        if self.snapshots.len() < 3 && self.rng.chance(60) {
            self.snapshots.push((self.db().snapshot(), self.model.clone()));
            return;
        }
        if self.snapshots.is_empty() {
            return;
        }
        let i = self.rng.below(self.snapshots.len() as u64) as usize;
        let k = random_key(&mut self.rng, 300);
        let (snap, model) = &self.snapshots[i];
        assert_eq!(self.db().get_at(&k, snap).unwrap(), model.get(&k).cloned(), "get_at at step {step}");
        let reverse = self.rng.chance(50);
        let options = RangeOptions { reverse, snapshot: Some(snap.clone()), ..RangeOptions::default() };
        assert_eq!(self.db().range(&options).unwrap(), expect_range(model, &options), "snapshot range at step {step}");
        if self.rng.chance(40) {
            self.snapshots.swap_remove(i);
        }
    }

    fn reopen(&mut self) {
        self.snapshots.clear();
        let stats = self.db().stats();
        self.work_before_reopen.0 += stats.flushes;
        self.work_before_reopen.1 += stats.compactions;
        self.work_before_reopen.2 += stats.parallel_merges;
        if self.rng.chance(50) {
            self.db().close().unwrap();
        }
        drop(self.db.take());
        self.db = Some(Db::open_shared(self.storage.clone(), self.options.clone()).unwrap());
    }

    /// No memtable beyond its caps; no table file beyond the SSTable caps.
    fn check_caps(&self, step: usize) {
        let stats = self.db().stats();
        assert!(stats.memtable_entries <= self.options.memtable_max_entries as u64, "step {step}");
        assert!(stats.memtable_bytes <= self.options.memtable_max_bytes as u64, "step {step}");
        for table in stats.levels.iter().flat_map(|l| &l.tables) {
            assert!(table.entries <= self.options.sstable_max_entries as u64, "table {table:?} at step {step}");
            assert!(table.bytes <= self.options.sstable_max_bytes as u64, "table {table:?} at step {step}");
            // A background compaction may have removed the table since `stats`.
            if let Ok(on_disk) = self.storage.len(&format!("{:06}.sst", table.number)) {
                assert_eq!(on_disk, table.bytes);
            }
        }
    }

    fn verify_everything(&self, step: usize) {
        for (k, v) in &self.model {
            assert_eq!(self.db().get(k).unwrap().as_ref(), Some(v), "before step {step}: get {k:?}");
        }
        for reverse in [false, true] {
            let options = RangeOptions { reverse, ..RangeOptions::default() };
            assert!(
                self.db().range(&options).unwrap() == expect_range(&self.model, &options),
                "before step {step}: scan"
            );
        }
    }

    fn final_check(&self) {
        let everything: Vec<_> = self.model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        assert_eq!(self.db().range(&RangeOptions::default()).unwrap(), everything);
    }
}

/// What a range read must return, computed from the model.
fn expect_range(model: &Model, o: &RangeOptions) -> Vec<(Vec<u8>, Vec<u8>)> {
    let in_start = |k: &Vec<u8>| match &o.start {
        Bound::Included(s) => k >= s,
        Bound::Excluded(s) => k > s,
        Bound::Unbounded => true,
    };
    let in_end = |k: &Vec<u8>| match &o.end {
        Bound::Included(e) => k <= e,
        Bound::Excluded(e) => k < e,
        Bound::Unbounded => true,
    };
    let in_prefix = |k: &Vec<u8>| o.prefix.as_ref().is_none_or(|p| k.starts_with(p));
    let mut out: Vec<_> = model
        .iter()
        .filter(|(k, _)| in_start(k) && in_end(k) && in_prefix(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if o.reverse {
        out.reverse();
    }
    if let Some(limit) = o.limit {
        out.truncate(limit);
    }
    out
}

/// Runs the model; returns how many merges were split across threads.
fn run(seed: u64, options: Options, steps: usize) -> u64 {
    eprintln!("model seed {seed}");
    let mut h = Harness::new(seed, options);
    for step in 0..steps {
        h.step(step);
    }
    h.final_check();
    let stats = h.db().stats();
    let (flushes, compactions) = (h.work_before_reopen.0 + stats.flushes, h.work_before_reopen.1 + stats.compactions);
    assert!(
        flushes > 10 && compactions > 10,
        "the workload exercised flush ({flushes}) and compaction ({compactions})"
    );
    h.work_before_reopen.2 + stats.parallel_merges
}

#[test]
fn model_with_the_specification_caps_of_30_entries() {
    for seed in seeds(0, 6) {
        run(seed, Options::teaching(), 3000);
    }
}

#[test]
fn model_with_byte_caps() {
    for seed in seeds(100, 6) {
        run(seed, byte_capped(), 3000);
    }
}

/// Production's table format choices at test scale: LZ4-compressed data
/// blocks (about half of these compress) and blocks small enough that
/// tables have several index and filter partitions.
#[test]
fn model_with_compression_and_partitions() {
    for seed in seeds(400, 4) {
        let small_blocks = Options { compression: Compression::Lz4, block_size: 256, ..byte_capped() };
        run(seed, small_blocks, 3000);
    }
}

#[test]
fn model_with_background_flush_and_compaction() {
    for seed in seeds(300, 4) {
        run(seed, Options { background_work: true, ..byte_capped() }, 3000);
        run(seed, Options { background_work: true, ..Options::teaching() }, 2000);
    }
}

/// Merges split into key ranges, each merged on its own thread
/// (`compaction_threads`), inline and on the background worker.
#[test]
fn model_with_merges_split_across_threads() {
    for seed in seeds(500, 4) {
        for background_work in [false, true] {
            let options = Options { compaction_threads: 3, background_work, ..byte_capped() };
            let parallel = run(seed, options, 3000);
            assert!(parallel > 0, "seed {seed}: no merge was split (background {background_work})");
        }
    }
}

#[test]
fn model_without_auto_compaction() {
    for seed in seeds(200, 3) {
        run(seed, Options { auto_compaction: false, ..Options::teaching() }, 2000);
    }
}
