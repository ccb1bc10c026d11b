//! The workload of the crash and failure tests: a deterministic mix of
//! writes (single puts, deletes, batches that span memtables), flushes and
//! compactions, its model after every step, and the recovery check.

use std::collections::BTreeMap;

use lsmkv::testing::Tear;
use lsmkv::{Db, Durability, Options, RangeOptions, Result, WriteBatch};

use super::Rng;

pub type Model = BTreeMap<Vec<u8>, Vec<u8>>;

pub const TEARS: [Tear; 4] =
    [Tear::DropUnsynced, Tear::KeepUnsynced, Tear::RandomPrefix { seed: 7 }, Tear::RandomPrefix { seed: 99 }];

/// One step of the workload.
#[derive(Clone, Debug)]
pub enum Op {
    Write(WriteBatch),
    Flush,
    Compact,
}

/// A deterministic workload that fills several memtables, splits batches
/// across memtables, flushes, and compacts (automatically and by hand).
pub fn workload(seed: u64, ops: usize) -> Vec<Op> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    for _ in 0..ops {
        let roll = rng.below(100);
        let op = match roll {
            0..=2 => Op::Flush,
            3 => Op::Compact,
            _ => {
                let mut batch = WriteBatch::new();
                let size = if roll < 12 { 1 + rng.below(45) } else { 1 };
                for _ in 0..size {
                    let key = format!("k{:03}", rng.below(80)).into_bytes();
                    if rng.chance(20) {
                        batch.delete(key);
                    } else {
                        let len = rng.below(40) as usize;
                        batch.put(key, vec![rng.below(256) as u8; len]);
                    }
                }
                Op::Write(batch)
            }
        };
        out.push(op);
    }
    out
}

pub fn apply(model: &mut Model, op: &Op) {
    if let Op::Write(batch) = op {
        for o in batch.ops() {
            match o.kind {
                lsmkv::ValueKind::Put => model.insert(o.key.clone(), o.value.clone()),
                lsmkv::ValueKind::Delete => model.remove(&o.key),
            };
        }
    }
}

/// Runs ops until one fails; returns how many returned Ok.
pub fn run(db: &Db, ops: &[Op]) -> usize {
    for (i, op) in ops.iter().enumerate() {
        let result: Result<()> = match op {
            Op::Write(batch) => db.write(batch),
            Op::Flush => db.flush().map(|_| ()),
            Op::Compact => db.compact().map(|_| ()),
        };
        if result.is_err() {
            return i;
        }
    }
    ops.len()
}

pub fn contents(db: &Db) -> Model {
    db.range(&RangeOptions::default()).expect("scan after recovery").into_iter().collect()
}

pub fn options() -> Options {
    Options { durability: Durability::Sync, ..Options::teaching() }
}

/// Models after 0, 1, ..., n operations.
pub fn models(ops: &[Op]) -> Vec<Model> {
    let mut model = Model::new();
    let mut out = vec![model.clone()];
    for op in ops {
        apply(&mut model, op);
        out.push(model.clone());
    }
    out
}

/// The recovered state must be the model after the acknowledged ops, or
/// after one more (the op in flight when the crash hit).
pub fn check(recovered: &Model, models: &[Model], acknowledged: usize, what: &str) {
    let ok = recovered == &models[acknowledged] || models.get(acknowledged + 1).is_some_and(|m| recovered == m);
    if !ok {
        let want = &models[acknowledged];
        let missing: Vec<_> = want.keys().filter(|k| !recovered.contains_key(*k)).take(5).collect();
        let extra: Vec<_> = recovered.keys().filter(|k| !want.contains_key(*k)).take(5).collect();
        panic!("{what}: {acknowledged} ops acknowledged; recovered {} keys, want {} (missing {missing:?}, extra {extra:?})", recovered.len(), want.len());
    }
}
