//! Failed storage calls — an EIO, a full disk, above all a failed fsync —
//! during writes, flushes, compactions and manifest writes.
//!
//! The rule (FORMAT.md, "Failed I/O"): the first failed call of a write,
//! flush or compaction turns the database read-only with the cause in
//! `health()`; that call's operation returns the error; every pending and
//! later write is rejected; nothing is retried. A failed sync is modelled the
//! way Linux behaves (`FaultStorage::fail_at`): a retried fsync "succeeds"
//! without the data being durable, so an engine that retried and
//! acknowledged would lose writes here, and the restart shows it.

mod common;

use std::sync::{Arc, Barrier};
use std::thread;

use common::workload::{check, contents, models, options, workload, Op, TEARS};
use lsmkv::testing::{FaultStorage, Tear, INJECTED_MESSAGE};
use lsmkv::{Db, Error, HealthStatus, IoKind, Options, Result};

/// Runs every op, carrying on after failures (a caller that keeps writing).
fn run_all(db: &Db, ops: &[Op]) -> Vec<Result<()>> {
    ops.iter()
        .map(|op| match op {
            Op::Write(batch) => db.write(batch),
            Op::Flush => db.flush().map(|_| ()),
            Op::Compact => db.compact().map(|_| ()),
        })
        .collect()
}

fn is_injected(error: &Error) -> bool {
    matches!(error, Error::Io { message, .. } if message == INJECTED_MESSAGE)
}

fn is_read_only_by_injection(error: &Error) -> bool {
    matches!(error, Error::ReadOnly { reason } if reason.contains(INJECTED_MESSAGE))
}

/// Checks the rule on one run's results; returns how many ops were acknowledged.
fn check_results(db: &Db, results: &[Result<()>], what: &str) -> usize {
    let health = db.health();
    let Some(first) = results.iter().position(Result::is_err) else {
        // The failed call was one whose failure is harmless (removing a file
        // nothing needs any more): nothing failed, nothing turned read-only.
        assert_eq!(health.status, HealthStatus::Ok, "{what}: every op succeeded, yet {health:?}");
        return results.len();
    };
    // The op whose own storage call failed gets that error. A flush or
    // compaction that a write triggered after its record was durable (inline
    // or in the worker) does not un-acknowledge the write: the next op is
    // the first rejected, read-only with the cause.
    let error = results[first].as_ref().unwrap_err();
    assert!(is_injected(error) || is_read_only_by_injection(error), "{what}: op {first} failed with {error:?}");
    for (i, later) in results.iter().enumerate().skip(first + 1) {
        match later {
            Err(e) if is_read_only_by_injection(e) => {}
            other => panic!("{what}: op {i}, after the failure at op {first}, returned {other:?}"),
        }
    }
    assert_eq!(health.status, HealthStatus::ReadOnly, "{what}: {health:?}");
    assert!(health.reason.as_deref().is_some_and(|r| r.contains(INJECTED_MESSAGE)), "{what}: {health:?}");
    first
}

/// Reopens what a crash now would leave, checks it against the models, and
/// that the reopened database takes writes again.
fn check_restart(
    storage: &FaultStorage,
    tear: Tear,
    models: &[common::workload::Model],
    acknowledged: usize,
    what: &str,
) {
    let db = Db::open_shared(Arc::new(storage.after_crash(tear)), options())
        .unwrap_or_else(|e| panic!("{what}, {tear:?}: reopen failed: {e}"));
    check(&contents(&db), models, acknowledged, &format!("{what}, {tear:?}"));
    assert_eq!(db.health().status, HealthStatus::Ok);
    db.put(b"after-restart", b"ok").unwrap_or_else(|e| panic!("{what}, {tear:?}: write after reopen: {e}"));
}

/// Goal: whichever storage call fails (each in turn, across WAL appends and
/// syncs, table writes, manifest edits and file removals), the database goes
/// read-only instead of carrying on, reads still answer exactly what was
/// acknowledged, and a restart has every acknowledged write.
#[test]
fn a_failed_call_anywhere_turns_the_database_read_only_and_loses_nothing_acknowledged() {
    let mut failures = 0u64;
    let mut read_only = 0u64;
    for seed in [11u64, 12] {
        let ops = workload(seed, 120);
        let models = models(&ops);
        let clean = Arc::new(FaultStorage::new());
        let db = Db::open_shared(clean.clone(), options()).unwrap();
        assert!(run_all(&db, &ops).iter().all(Result::is_ok));
        let calls = clean.ops();
        drop(db);
        for n in 1..=calls {
            let what = format!("seed {seed}, call {n}/{calls} fails");
            let storage = Arc::new(FaultStorage::new());
            let kind = if n % 2 == 0 { IoKind::Other } else { IoKind::QuotaExceeded };
            storage.fail_at(n, kind);
            let db = match Db::open_shared(storage.clone(), options()) {
                Ok(db) => db,
                Err(e) => {
                    assert!(is_injected(&e), "{what}: open failed with {e:?}");
                    check_restart(&storage, Tear::KeepUnsynced, &models, 0, &what);
                    continue;
                }
            };
            let results = run_all(&db, &ops);
            let acknowledged = check_results(&db, &results, &what);
            failures += 1;
            read_only += u64::from(acknowledged < ops.len());
            // Reads keep working, and show only acknowledged writes.
            assert_eq!(contents(&db), models[acknowledged], "{what}: reads after the failure");
            drop(db);
            for tear in TEARS {
                check_restart(&storage, tear, &models, acknowledged, &what);
            }
        }
    }
    println!("failed calls exercised: {failures}, of which turned the database read-only: {read_only}");
    assert!(read_only > 500, "most failed calls must hit the write path ({read_only})");
}

/// Goal: the same with the background worker flushing and compacting: a
/// failure there reaches the writers (rejected with the cause) instead of
/// being swallowed while writes keep being acknowledged.
#[test]
fn a_failure_in_background_work_reaches_the_writers() {
    let background = Options { background_work: true, ..options() };
    let ops = workload(13, 120);
    let models = models(&ops);
    let mut background_failures = 0;
    for n in (1..=1200).step_by(7) {
        let what = format!("background, call {n} fails");
        let storage = Arc::new(FaultStorage::new());
        storage.fail_at(n, IoKind::Other);
        let Ok(db) = Db::open_shared(storage.clone(), background.clone()) else { continue };
        let results = run_all(&db, &ops);
        // Which op sees the failure depends on the worker's timing; that
        // every later one is rejected does not.
        let acknowledged = check_results(&db, &results, &what);
        if acknowledged < ops.len() && matches!(results[acknowledged], Err(Error::ReadOnly { .. })) {
            background_failures += 1;
        }
        drop(db);
        for tear in [Tear::DropUnsynced, Tear::KeepUnsynced] {
            let db = Db::open_shared(Arc::new(storage.after_crash(tear)), background.clone())
                .unwrap_or_else(|e| panic!("{what}, {tear:?}: reopen failed: {e}"));
            check(&contents(&db), &models, acknowledged, &format!("{what}, {tear:?}"));
        }
    }
    println!("failures first seen by a writer as read-only (from the worker): {background_failures}");
}

/// Goal: writers waiting in group commit behind a sync that failed are
/// rejected, not acknowledged by a retried sync. Four writers, one WAL (a
/// memtable large enough not to rotate), the k-th sync fails; then every
/// write that returned Ok must survive a crash that drops what the failed
/// sync did not make durable.
#[test]
fn writers_behind_a_failed_wal_sync_are_rejected_not_retried() {
    const WRITERS: usize = 4;
    const PER_WRITER: usize = 150;
    let wide = Options { memtable_max_entries: 100_000, memtable_max_bytes: 8 << 20, ..options() };
    let mut acknowledged_total = 0;
    for round in 0..40u64 {
        let storage = Arc::new(FaultStorage::new());
        let db = Arc::new(Db::open_shared(storage.clone(), wide.clone()).unwrap());
        storage.fail_nth_sync(10 + round * 3, if round % 2 == 0 { IoKind::Other } else { IoKind::QuotaExceeded });
        let start = Arc::new(Barrier::new(WRITERS));
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (db, start) = (db.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    let mut acked = Vec::new();
                    for i in 0..PER_WRITER {
                        let key = format!("w{w}-{i:04}").into_bytes();
                        match db.put(&key, &key) {
                            Ok(()) => acked.push(key),
                            Err(Error::Io { .. } | Error::ReadOnly { .. }) => break,
                            Err(e) => panic!("writer {w}: unexpected {e:?}"),
                        }
                    }
                    acked
                })
            })
            .collect();
        let acked: Vec<Vec<u8>> = writers.into_iter().flat_map(|t| t.join().unwrap()).collect();
        let health = db.health();
        assert_eq!(health.status, HealthStatus::ReadOnly, "round {round}: the failed sync must show: {health:?}");
        assert!(db.put(b"later", b"x").is_err(), "round {round}: a later write is rejected");
        drop(db);
        acknowledged_total += acked.len();
        let restarted = Db::open_shared(Arc::new(storage.after_crash(Tear::DropUnsynced)), wide.clone()).unwrap();
        for key in &acked {
            assert_eq!(
                restarted.get(key).unwrap().as_deref(),
                Some(key.as_slice()),
                "round {round}: acknowledged {} lost after a failed sync",
                String::from_utf8_lossy(key)
            );
        }
    }
    println!("writes acknowledged around a failed sync and found after restart: {acknowledged_total}");
}
