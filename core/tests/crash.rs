//! Crash test for the whole engine: a fault-injecting storage crashes the
//! database at every storage call of a workload (the crashing call has no
//! effect, or for an append, any prefix of it lands), then the process
//! "restarts" under several tear modes — unsynced bytes all lost, all kept,
//! or cut at random points — and the database is reopened.
//!
//! Checked after every crash: the open succeeds; the recovered contents are
//! exactly the model after every acknowledged operation, possibly plus the
//! one operation in flight (its WAL record may have landed); so every write
//! whose call returned Ok under `Durability::Sync` is present, a batch is all
//! or nothing, and no read returns a value that was never written. A second
//! crash during recovery is exercised too.

mod common;

use std::sync::Arc;

use common::workload::{check, contents, models, options, run, workload, TEARS};
use common::Rng;
use lsmkv::testing::{FaultStorage, Tear};
use lsmkv::{Compression, Db, Durability, Options};

#[test]
fn crash_at_every_storage_call_loses_nothing_acknowledged() {
    let mut crash_points = 0u64;
    let mut recoveries = 0u64;
    // Seed 2 writes production's table format at test scale: compressed data
    // blocks, several index and filter partitions per table. Seed 3 splits
    // merges across threads, so a crash may land in any range's writes.
    for (seed, options) in [
        (1u64, options()),
        (2, Options { compression: Compression::Lz4, block_size: 128, ..options() }),
        (3, Options { compaction_threads: 2, ..options() }),
    ] {
        let ops = workload(seed, 120);
        let models = models(&ops);
        // A clean run tells how many storage calls the workload makes.
        let clean = Arc::new(FaultStorage::new());
        let db = Db::open_shared(clean.clone(), options.clone()).unwrap();
        assert_eq!(run(&db, &ops), ops.len());
        assert_eq!(contents(&db), models[ops.len()]);
        if options.compaction_threads > 1 {
            assert!(db.stats().parallel_merges > 0, "seed {seed}: no merge was split");
        }
        let calls = clean.ops();
        drop(db);
        for n in 1..=calls {
            let storage = Arc::new(FaultStorage::new());
            storage.crash_at(n);
            let acknowledged = match Db::open_shared(storage.clone(), options.clone()) {
                Ok(db) => run(&db, &ops),
                Err(_) => 0,
            };
            crash_points += 1;
            for tear in TEARS {
                let restarted = Arc::new(storage.after_crash(tear));
                let db = Db::open_shared(restarted, options.clone())
                    .unwrap_or_else(|e| panic!("seed {seed}: reopen after crash at call {n} ({tear:?}) failed: {e}"));
                check(
                    &contents(&db),
                    &models,
                    acknowledged,
                    &format!("seed {seed}, crash at call {n}/{calls}, {tear:?}"),
                );
                recoveries += 1;
            }
        }
    }
    println!("crash points exercised: {crash_points}, recoveries checked: {recoveries}");
    assert!(crash_points > 500, "the workload must make many storage calls ({crash_points})");
}

#[test]
fn a_second_crash_during_recovery_loses_nothing_either() {
    let ops = workload(3, 80);
    let models = models(&ops);
    let mut points = 0u64;
    let mut rng = Rng::new(42);
    for _ in 0..25 {
        // First crash somewhere in the workload.
        let storage = Arc::new(FaultStorage::new());
        storage.crash_at(1 + rng.below(700));
        let acknowledged = Db::open_shared(storage.clone(), options()).map(|db| run(&db, &ops)).unwrap_or(0);
        let first = storage.after_crash(Tear::RandomPrefix { seed: rng.next_u64() });
        // Count the calls a clean recovery makes, then crash at each of them.
        let probe = Arc::new(first.after_crash(Tear::KeepUnsynced));
        drop(Db::open_shared(probe.clone(), options()).unwrap());
        for m in 1..=probe.ops() {
            let second = Arc::new(first.after_crash(Tear::KeepUnsynced));
            second.crash_at(m);
            let _ = Db::open_shared(second.clone(), options());
            let restarted = Arc::new(second.after_crash(Tear::RandomPrefix { seed: m }));
            let db = Db::open_shared(restarted, options()).expect("reopen after a crash during recovery");
            check(&contents(&db), &models, acknowledged, &format!("crash during recovery at call {m}"));
            points += 1;
        }
    }
    println!("crash points during recovery: {points}");
    assert!(points > 100);
}

#[test]
fn buffered_writes_survive_a_crash_once_synced() {
    // With Durability::Buffered, a write is durable after `sync()`, a flush,
    // or `close()`; the model check uses sync points as acknowledgements.
    let ops = workload(4, 100);
    let models = models(&ops);
    let buffered = Options { durability: Durability::Buffered, ..Options::teaching() };
    let probe = Arc::new(FaultStorage::new());
    {
        let db = Db::open_shared(probe.clone(), buffered.clone()).unwrap();
        for op in &ops {
            run(&db, std::slice::from_ref(op));
            db.sync().unwrap();
        }
    }
    for n in (1..=probe.ops()).step_by(3) {
        let storage = Arc::new(FaultStorage::new());
        storage.crash_at(n);
        let mut synced = 0;
        if let Ok(db) = Db::open_shared(storage.clone(), buffered.clone()) {
            for (i, op) in ops.iter().enumerate() {
                if run(&db, std::slice::from_ref(op)) == 0 || db.sync().is_err() {
                    break;
                }
                synced = i + 1;
            }
        }
        let db = Db::open_shared(Arc::new(storage.after_crash(Tear::DropUnsynced)), buffered.clone()).unwrap();
        check(&contents(&db), &models, synced, &format!("buffered, crash at call {n}"));
    }
}

#[test]
fn close_makes_buffered_writes_durable() {
    let buffered = Options { durability: Durability::Buffered, ..Options::teaching() };
    let storage = Arc::new(FaultStorage::new());
    let db = Db::open_shared(storage.clone(), buffered.clone()).unwrap();
    for i in 0..10u8 {
        db.put(&[b'k', i], &[i]).unwrap();
    }
    db.close().expect("close syncs the WAL");
    let db = Db::open_shared(Arc::new(storage.after_crash(Tear::DropUnsynced)), buffered).unwrap();
    assert_eq!(contents(&db).len(), 10, "every buffered write is durable once close returned");
}

#[test]
fn crashes_with_background_flush_and_compaction_lose_nothing_acknowledged() {
    // The worker thread makes the order of storage calls vary from run to
    // run; whatever it is, the guarantees must hold.
    let background = Options { background_work: true, ..options() };
    let ops = workload(5, 100);
    let models = models(&ops);
    let mut points = 0;
    for n in (1..=900).step_by(3) {
        let storage = Arc::new(FaultStorage::new());
        storage.crash_at(n);
        let acknowledged = Db::open_shared(storage.clone(), background.clone()).map(|db| run(&db, &ops)).unwrap_or(0);
        for tear in [Tear::DropUnsynced, Tear::RandomPrefix { seed: n }] {
            let db = Db::open_shared(Arc::new(storage.after_crash(tear)), background.clone())
                .unwrap_or_else(|e| panic!("reopen after crash at call {n} ({tear:?}) failed: {e}"));
            check(&contents(&db), &models, acknowledged, &format!("background, crash at call {n}, {tear:?}"));
        }
        points += 1;
    }
    println!("background crash points: {points}");
}
