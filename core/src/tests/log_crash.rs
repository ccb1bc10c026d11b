//! Crash tests for the logs: crash the WAL writer and the manifest/CURRENT
//! protocol at every storage call, restart under every tear mode, and check
//! that what is read back is exactly what the durability contract promises.
//!
//! Method: run a workload once on `FaultStorage` to count its calls; then for
//! each call number n, run it again on a fresh storage with `crash_at(n)`,
//! noting which operations returned Ok, and read the state `after_crash`
//! gives for each `Tear`.

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use crate::key::{InternalKey, ValueKind};
use crate::manifest::{install_current, read_current, read_manifest, ManifestWriter, VersionEdit};
use crate::storage::Storage;
use crate::testing::{FaultStorage, Tear};
use crate::version::TableMeta;
use crate::wal::{read_wal, WalWriter};
use crate::{Result, WriteBatch};

const TEARS: [Tear; 6] = [
    Tear::DropUnsynced,
    Tear::KeepUnsynced,
    Tear::RandomPrefix { seed: 1 },
    Tear::RandomPrefix { seed: 2 },
    Tear::RandomPrefix { seed: 3 },
    Tear::RandomPrefix { seed: 4 },
];

/// Batches with increasing sequence numbers and varied sizes.
fn batches() -> Vec<(u64, WriteBatch)> {
    let mut seq = 1;
    (0..12u64)
        .map(|i| {
            let mut batch = WriteBatch::new();
            for j in 0..=(i % 3) {
                let key = format!("key-{i}-{j}").into_bytes();
                if (i + j) % 4 == 0 {
                    batch.delete(key);
                } else {
                    batch.put(key, vec![i as u8; (i * 37 % 300) as usize]);
                }
            }
            let first = seq;
            seq += batch.len() as u64;
            (first, batch)
        })
        .collect()
}

/// What the WAL workload got done before the crash.
#[derive(Default)]
struct WalProgress {
    /// Appends that returned Ok.
    appended: usize,
    /// Batches covered by the last sync that returned Ok.
    synced: usize,
    /// True if an append was the call that crashed.
    crashed_in_append: bool,
}

/// Creates a WAL and appends every batch, syncing after every third.
fn wal_workload(storage: &dyn Storage, batches: &[(u64, WriteBatch)], progress: &mut WalProgress) -> Result<()> {
    let mut wal = WalWriter::create(storage, 1)?;
    for (i, (first_seq, batch)) in batches.iter().enumerate() {
        progress.crashed_in_append = true;
        wal.append(storage, *first_seq, &batch.as_ops())?;
        progress.crashed_in_append = false;
        progress.appended = i + 1;
        if i % 3 == 2 {
            storage.sync(wal.name())?;
            progress.synced = i + 1;
        }
    }
    Ok(())
}

/// Goal: a crash anywhere while writing a WAL loses no synced batch, never
/// yields a partial or wrong batch, and never makes the WAL unreadable.
#[test]
fn wal_survives_a_crash_at_every_call() {
    let batches = batches();
    let dry = FaultStorage::new();
    wal_workload(&dry, &batches, &mut WalProgress::default()).unwrap();
    let total_calls = dry.ops();
    assert!(total_calls > 12);
    for n in 1..=total_calls {
        let storage = FaultStorage::new();
        storage.crash_at(n);
        let mut progress = WalProgress::default();
        assert!(wal_workload(&storage, &batches, &mut progress).is_err(), "call {n} crashes");
        for tear in TEARS {
            let restarted = storage.after_crash(tear);
            let context = format!("crash at call {n}, {tear:?}");
            if !restarted.exists("000001.wal").unwrap() {
                assert_eq!(progress.synced, 0, "{context}: the WAL was created");
                continue;
            }
            let contents = read_wal(&restarted, "000001.wal").unwrap_or_else(|e| panic!("{context}: {e}"));
            let recovered = contents.batches.len();
            assert_eq!(contents.batches, batches[..recovered].to_vec(), "{context}: a prefix of the batches");
            assert!(recovered >= progress.synced, "{context}: synced batches survive");
            let attempted = progress.appended + usize::from(progress.crashed_in_append);
            assert!(recovered <= attempted, "{context}: nothing invented");
            match tear {
                Tear::DropUnsynced => assert_eq!(recovered, progress.synced, "{context}"),
                Tear::KeepUnsynced => assert_eq!(recovered, attempted, "{context}"),
                Tear::RandomPrefix { .. } => {}
            }
        }
    }
}

fn table(number: u64) -> TableMeta {
    TableMeta {
        number,
        file_size: 4096 + number,
        entry_count: 10,
        tombstone_count: 1,
        min_seq: number * 10,
        max_seq: number * 10 + 9,
        smallest: InternalKey::new(format!("a{number}").into_bytes(), number * 10 + 9, ValueKind::Put),
        largest: InternalKey::new(format!("z{number}").into_bytes(), number * 10, ValueKind::Delete),
    }
}

fn snapshot(next_file_number: u64) -> VersionEdit {
    VersionEdit {
        next_file_number: Some(next_file_number),
        flushed_seq: Some(0),
        last_seq: Some(0),
        ..Default::default()
    }
}

fn flush_edit(i: u64) -> VersionEdit {
    VersionEdit {
        next_file_number: Some(10 + i),
        flushed_seq: Some(i * 10 + 9),
        last_seq: Some(i * 10 + 9),
        added: vec![(0, table(i))],
        ..Default::default()
    }
}

/// What the manifest workload got done before the crash.
#[derive(Default)]
struct ManifestProgress {
    /// Edits to manifest 1 whose append returned Ok (committed).
    committed: usize,
    /// True once `install_current(2)` returned Ok.
    switched: bool,
}

/// Starting state: manifest 1 with a snapshot, CURRENT naming it.
fn manifest_setup(storage: &dyn Storage) -> ManifestWriter {
    let writer = ManifestWriter::create(storage, 1, &snapshot(2)).unwrap();
    install_current(storage, 1).unwrap();
    writer
}

/// Appends three edits, then rolls over to manifest 2 (as open does):
/// write it, switch CURRENT, remove manifest 1.
fn manifest_workload(
    storage: &dyn Storage,
    writer: &mut ManifestWriter,
    progress: &mut ManifestProgress,
) -> Result<()> {
    for i in 1..=3 {
        writer.append(storage, &flush_edit(i))?;
        progress.committed = i as usize;
    }
    ManifestWriter::create(storage, 2, &snapshot(20))?;
    install_current(storage, 2)?;
    progress.switched = true;
    storage.remove("MANIFEST-000001")
}

/// Goal: a crash anywhere in manifest appends or a CURRENT switch leaves
/// CURRENT naming a complete manifest that holds every committed edit and
/// no uncommitted one beyond the torn tail.
#[test]
fn manifest_and_current_survive_a_crash_at_every_call() {
    let dry = FaultStorage::new();
    let mut writer = manifest_setup(&dry);
    let start = dry.ops();
    manifest_workload(&dry, &mut writer, &mut ManifestProgress::default()).unwrap();
    let end = dry.ops();
    for n in start + 1..=end {
        let storage = FaultStorage::new();
        let mut writer = manifest_setup(&storage);
        storage.crash_at(n);
        let mut progress = ManifestProgress::default();
        assert!(manifest_workload(&storage, &mut writer, &mut progress).is_err(), "call {n} crashes");
        for tear in TEARS {
            let restarted = storage.after_crash(tear);
            let context = format!("crash at call {n}, {tear:?}");
            let current = read_current(&restarted).unwrap_or_else(|e| panic!("{context}: {e}"));
            let current = current.unwrap_or_else(|| panic!("{context}: CURRENT exists"));
            let (edits, _tail) = read_manifest(&restarted, current).unwrap_or_else(|e| panic!("{context}: {e}"));
            if current == 2 {
                assert_eq!(edits, vec![snapshot(20)], "{context}");
                continue;
            }
            assert!(!progress.switched, "{context}: a returned install is durable");
            let mut want = vec![snapshot(2)];
            want.extend((1..=3).map(flush_edit));
            assert!(edits.len() > progress.committed, "{context}: committed edits survive");
            assert!(edits.len() <= progress.committed + 2, "{context}: at most the in-flight edit more");
            assert_eq!(edits, want[..edits.len()].to_vec(), "{context}");
        }
    }
}
