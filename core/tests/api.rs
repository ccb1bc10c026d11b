//! The public API, behaviour by behaviour, on `MemStorage`.

use std::ops::Bound;
use std::sync::Arc;

use lsmkv::{Db, Durability, Error, EventKind, MemStorage, Options, RangeOptions, Storage, WriteBatch};

fn teaching() -> Options {
    Options::teaching()
}

fn open(options: Options) -> (Arc<MemStorage>, Db) {
    let storage = Arc::new(MemStorage::new());
    let db = Db::open_shared(storage.clone(), options).expect("open");
    (storage, db)
}

/// Puts `key(i)` = `value` for every i in `keys`.
fn put_all(db: &Db, keys: core::ops::Range<u32>, value: &[u8]) {
    for i in keys {
        db.put(&key(i), value).unwrap();
    }
}

fn key(i: u32) -> Vec<u8> {
    format!("key{i:05}").into_bytes()
}

#[test]
fn put_get_delete_round_trip() {
    let (_, db) = open(teaching());
    db.put(b"alice", b"1").unwrap();
    db.put(b"bob", b"2").unwrap();
    assert_eq!(db.get(b"alice").unwrap(), Some(b"1".to_vec()));
    db.put(b"alice", b"3").unwrap();
    assert_eq!(db.get(b"alice").unwrap(), Some(b"3".to_vec()));
    db.delete(b"alice").unwrap();
    assert_eq!(db.get(b"alice").unwrap(), None);
    assert_eq!(db.get(b"carol").unwrap(), None);
    assert_eq!(db.get(b"bob").unwrap(), Some(b"2".to_vec()));
}

#[test]
fn thirty_one_puts_flush_one_table_of_thirty_entries() {
    let (_, db) = open(teaching());
    put_all(&db, 0..31, b"v");
    let stats = db.stats();
    assert_eq!(stats.levels[0].tables.len(), 1);
    assert_eq!(stats.levels[0].tables[0].entries, 30);
    assert_eq!(stats.memtable_entries, 1);
    assert_eq!(stats.flushes, 1);
    for i in 0..31 {
        assert_eq!(db.get(&key(i)).unwrap(), Some(b"v".to_vec()), "key {i}");
    }
}

#[test]
fn data_survives_reopen_with_and_without_flush() {
    let storage = Arc::new(MemStorage::new());
    {
        let db = Db::open_shared(storage.clone(), teaching()).unwrap();
        for i in 0..100 {
            db.put(&key(i), &key(i * 2)).unwrap();
        }
        db.delete(&key(7)).unwrap();
    }
    let db = Db::open_shared(storage.clone(), teaching()).unwrap();
    for i in 0..100 {
        let expected = if i == 7 { None } else { Some(key(i * 2)) };
        assert_eq!(db.get(&key(i)).unwrap(), expected, "key {i}");
    }
    let replayed = db.events(0, 100).events.iter().any(|e| matches!(e.kind, EventKind::WalReplayed { .. }));
    assert!(replayed, "reopen replays the WAL");
    db.close().unwrap();
    assert_eq!(db.put(b"x", b"y"), Err(Error::Closed));
    let db = Db::open_shared(storage, teaching()).unwrap();
    assert_eq!(db.keys(&RangeOptions::default()).unwrap().len(), 99);
}

#[test]
fn ranges_forward_reverse_bounds_limit_prefix() {
    let (_, db) = open(teaching());
    for i in 0..100 {
        db.put(&key(i), &i.to_le_bytes()).unwrap();
    }
    let keys = |options: RangeOptions| -> Vec<Vec<u8>> { db.keys(&options).unwrap() };
    assert_eq!(keys(RangeOptions::default()).len(), 100);
    let r = keys(RangeOptions { start: Bound::Excluded(key(10)), end: Bound::Included(key(20)), ..Default::default() });
    assert_eq!(r, (11..=20).map(key).collect::<Vec<_>>());
    let r = keys(RangeOptions {
        start: Bound::Included(key(10)),
        end: Bound::Excluded(key(20)),
        reverse: true,
        limit: Some(3),
        ..Default::default()
    });
    assert_eq!(r, vec![key(19), key(18), key(17)]);
    let r = keys(RangeOptions::prefix(b"key0009".to_vec()));
    assert_eq!(r, (90..100).map(key).collect::<Vec<_>>());
    let r = keys(RangeOptions { start: Bound::Included(key(50)), end: Bound::Included(key(40)), ..Default::default() });
    assert!(r.is_empty(), "an inverted range is empty");
}

#[test]
fn prefix_of_ff_bytes_finds_every_matching_key() {
    let (_, db) = open(teaching());
    let keys: Vec<Vec<u8>> = vec![
        b"\xfe".to_vec(),
        b"\xff".to_vec(),
        b"\xff\x00".to_vec(),
        b"\xff\xff".to_vec(),
        b"\xff\xff\xff".to_vec(),
        b"a\xff".to_vec(),
        b"a\xff\xff".to_vec(),
        b"b".to_vec(),
    ];
    for k in &keys {
        db.put(k, b"v").unwrap();
    }
    db.flush().unwrap();
    let found = |p: &[u8]| db.keys(&RangeOptions::prefix(p.to_vec())).unwrap();
    assert_eq!(found(b"\xff"), keys[1..5].to_vec());
    assert_eq!(found(b"\xff\xff"), keys[3..5].to_vec());
    assert_eq!(found(b"a\xff"), keys[5..7].to_vec());
    let reversed = db.keys(&RangeOptions { reverse: true, ..RangeOptions::prefix(b"\xff".to_vec()) }).unwrap();
    assert_eq!(reversed, keys[1..5].iter().rev().cloned().collect::<Vec<_>>());
}

#[test]
fn snapshots_see_the_past_through_flush_and_compaction() {
    let (_, db) = open(teaching());
    put_all(&db, 0..50, b"old");
    let snap = db.snapshot();
    put_all(&db, 0..50, b"new");
    db.delete(&key(3)).unwrap();
    db.compact().unwrap();
    assert_eq!(db.get_at(&key(3), &snap).unwrap(), Some(b"old".to_vec()));
    assert_eq!(db.get(&key(3)).unwrap(), None);
    let old: Vec<_> = db.range(&RangeOptions { snapshot: Some(snap.clone()), ..Default::default() }).unwrap();
    assert_eq!(old.len(), 50);
    assert!(old.iter().all(|(_, v)| v == b"old"));
    drop(snap);
    db.compact().unwrap();
    let stats = db.stats();
    let entries: u64 = stats.levels.iter().map(|l| l.entries).sum();
    assert_eq!(entries, 49, "without the snapshot, old versions and the tombstone are gone");
}

#[test]
fn batches_are_atomic_and_may_exceed_the_memtable() {
    let (storage, db) = open(teaching());
    let mut batch = WriteBatch::new();
    for i in 0..75 {
        batch.put(key(i), b"b".to_vec());
    }
    batch.delete(key(0));
    db.write(&batch).unwrap();
    assert_eq!(db.get(&key(0)).unwrap(), None);
    assert_eq!(db.keys(&RangeOptions::default()).unwrap().len(), 74);
    let stats = db.stats();
    assert!(stats.memtable_entries <= 30);
    assert!(stats.levels.iter().flat_map(|l| &l.tables).all(|t| t.entries <= 30));
    drop(db);
    let db = Db::open_shared(storage, teaching()).unwrap();
    assert_eq!(db.keys(&RangeOptions::default()).unwrap().len(), 74);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let (_, db) = open(teaching());
    assert!(matches!(db.put(b"", b"v"), Err(Error::InvalidKey { .. })));
    assert!(matches!(db.put(&vec![b'k'; 1025], b"v"), Err(Error::InvalidKey { .. })));
    assert!(matches!(db.put(b"k", &vec![0; 64 * 1024 + 1]), Err(Error::InvalidValue { .. })));
    assert!(matches!(db.write(&WriteBatch::new()), Err(Error::InvalidArgument { .. })));
    assert!(matches!(db.get(b""), Err(Error::InvalidKey { .. })));
    assert!(matches!(db.compact_range(Some(b"z"), Some(b"a")), Err(Error::InvalidArgument { .. })));
    let bad = Options { memtable_max_entries: 0, ..teaching() };
    assert!(matches!(Db::open(MemStorage::new(), bad), Err(Error::InvalidOptions { .. })));
    db.put(b"k", b"fine").unwrap();
    let reversed = RangeOptions {
        start: Bound::Included(b"z".to_vec()),
        end: Bound::Excluded(b"a".to_vec()),
        ..Default::default()
    };
    assert_eq!(db.range(&reversed).unwrap(), vec![], "a reversed range is empty, not an error");
    assert!(matches!(db.inspect_table(999_999), Err(Error::InvalidArgument { .. })));
}

#[test]
fn compaction_drops_overwritten_values_and_tombstones() {
    let (_, db) = open(teaching());
    for round in 0..3 {
        for i in 0..40 {
            db.put(&key(i), format!("round{round}").as_bytes()).unwrap();
        }
    }
    for i in 0..10 {
        db.delete(&key(i)).unwrap();
    }
    let reports = db.compact().unwrap();
    assert_eq!(reports.len(), 1);
    let report = &reports[0];
    assert!(report.dropped_overwritten > 0);
    assert!(report.dropped_tombstones >= 10);
    assert_eq!(report.entries_out, 30);
    assert!(report.outputs.iter().all(|t| t.entries <= 30));
    assert_eq!(db.keys(&RangeOptions::default()).unwrap(), (10..40).map(key).collect::<Vec<_>>());
}

/// Every version in the tables, as (key, seq, value), in stored order.
fn table_entries(db: &Db) -> Vec<(Vec<u8>, u64, Vec<u8>)> {
    let numbers: Vec<u64> = db.stats().levels.iter().flat_map(|l| l.tables.iter().map(|t| t.number)).collect();
    let tables = numbers.into_iter().map(|n| db.inspect_table(n).unwrap());
    tables.flat_map(|t| t.entries).map(|e| (e.user_key, e.seq, e.value)).collect()
}

#[test]
fn compaction_to_the_bottom_zeroes_the_seqs_no_snapshot_needs() {
    let (_, db) = open(Options { sstable_max_entries: 1000, memtable_max_entries: 1000, ..teaching() });
    put_all(&db, 0..20, b"v1");
    db.flush().unwrap();
    let old = db.snapshot();
    put_all(&db, 0..10, b"v2");
    let reports = db.compact().unwrap();
    assert_eq!(reports.iter().map(|r| r.zeroed_seqs).sum::<u64>(), 20, "{reports:?}");
    // The snapshot still needs v1 of keys 0..10, kept beside v2. Each key's
    // oldest version (every reader sees it) lost its number; v2, newer than
    // the snapshot, kept its own.
    let entries = table_entries(&db);
    assert_eq!(entries.len(), 30);
    for (k, seq, value) in &entries {
        assert_eq!(*seq == 0, value == b"v1", "{k:?} at seq {seq}: {value:?}");
    }
    assert_eq!(db.get_at(&key(5), &old).unwrap().as_deref(), Some(&b"v1"[..]));
    assert_eq!(db.get(&key(5)).unwrap().as_deref(), Some(&b"v2"[..]));
    assert_eq!(db.get(&key(15)).unwrap().as_deref(), Some(&b"v1"[..]));

    // Once the snapshot is gone, the next merge drops v1 of keys 0..10 and
    // zeroes v2; newer writes go above and win over seq 0.
    drop(old);
    db.compact().unwrap();
    let entries = table_entries(&db);
    assert_eq!(entries.len(), 20);
    assert!(entries.iter().all(|(_, seq, _)| *seq == 0), "{entries:?}");
    db.put(&key(15), b"v3").unwrap();
    db.compact().unwrap();
    assert_eq!(db.get(&key(15)).unwrap().as_deref(), Some(&b"v3"[..]));
    assert_eq!(db.get(&key(5)).unwrap().as_deref(), Some(&b"v2"[..]));
    assert_eq!(table_entries(&db).len(), 20);
}

#[test]
fn explain_get_walks_memtable_then_tables() {
    let (_, db) = open(teaching());
    put_all(&db, 0..30, b"v");
    db.flush().unwrap();
    db.put(b"zzz", b"mem").unwrap();
    let trace = db.explain_get(&key(5)).unwrap();
    assert!(matches!(trace.probes[0], lsmkv::Probe::Memtable { found: false }));
    assert!(matches!(trace.probes.last(), Some(lsmkv::Probe::Searched { level: 0, found: true, .. })));
    assert_eq!(trace.value, Some(b"v".to_vec()));
    let trace = db.explain_get(b"zzz").unwrap();
    assert_eq!(trace.probes, vec![lsmkv::Probe::Memtable { found: true }]);
}

#[test]
fn table_inspector_shows_entries_and_blocks() {
    let (_, db) = open(teaching());
    for i in 0..29 {
        db.put(&key(i), &[b'x'; 40]).unwrap();
    }
    db.delete(&key(1)).unwrap();
    db.flush().unwrap();
    let number = db.stats().levels[0].tables[0].number;
    let inspection = db.inspect_table(number).unwrap();
    // The delete shadows key 1's put, which the flush drops: 29 entries.
    assert_eq!(inspection.entries.len(), 29);
    assert!(inspection.blocks.len() > 1, "512-byte blocks split 29 entries of ~60 bytes");
    assert!(inspection.entries.iter().any(|e| e.kind == lsmkv::ValueKind::Delete));
    assert!(db.inspect_table(999_999).is_err());
}

#[test]
fn buffered_durability_syncs_on_demand() {
    let (_, db) = open(Options { durability: Durability::Buffered, ..teaching() });
    db.put(b"a", b"1").unwrap();
    db.sync().unwrap();
    assert_eq!(db.stats().durability, Durability::Buffered);
}

#[test]
fn unknown_files_are_left_alone_and_leftovers_removed() {
    let storage = Arc::new(MemStorage::new());
    storage.create("notes.txt").unwrap();
    {
        let db = Db::open_shared(storage.clone(), teaching()).unwrap();
        db.put(b"a", b"1").unwrap();
    }
    storage.create("000999.sst").unwrap();
    storage.create("CURRENT.tmp").unwrap();
    let _db = Db::open_shared(storage.clone(), teaching()).unwrap();
    let files = storage.list().unwrap();
    assert!(files.contains(&"notes.txt".to_string()));
    assert!(!files.contains(&"000999.sst".to_string()));
    assert!(!files.contains(&"CURRENT.tmp".to_string()));
}

#[test]
fn missing_current_with_data_is_corruption() {
    let storage = Arc::new(MemStorage::new());
    {
        let db = Db::open_shared(storage.clone(), teaching()).unwrap();
        db.put(b"a", b"1").unwrap();
    }
    storage.remove("CURRENT").unwrap();
    assert!(matches!(Db::open_shared(storage, teaching()), Err(Error::Corruption { .. })));
}

#[test]
fn a_recorded_notice_follows_the_open_in_the_event_feed() {
    let (_, db) = open(teaching());
    db.record_notice("the host deleted this store's data since the last session");
    db.put(b"k", b"v").unwrap();
    let kinds: Vec<EventKind> = db.events(0, 100).events.into_iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Opened { created: true },
            EventKind::StorageNotice { message: "the host deleted this store's data since the last session".into() },
        ]
    );
    assert_eq!(db.health().status, lsmkv::HealthStatus::Ok, "a notice is information, not a failure");
}

/// A store of 40k keys in several 1 MiB tables, read back at every 7th key:
/// the stats before the reads and after them.
fn read_back_40k(block_cache_bytes: usize, partition_cache_bytes: usize) -> (lsmkv::Stats, lsmkv::Stats) {
    let options = Options {
        memtable_max_bytes: 1 << 20,
        sstable_max_bytes: 1 << 20,
        block_cache_bytes,
        partition_cache_bytes,
        background_work: false,
        value_size_max: 1024,
        key_size_max: 64,
        ..Options::production()
    };
    let (_, db) = open(options);
    let mut rng = lsmkv::testing::Rng::new(5);
    for i in 0..40_000u32 {
        db.put(format!("key{i:08}").as_bytes(), &rng.bytes(80)).unwrap();
    }
    db.compact().unwrap();
    let before = db.stats();
    for i in (0..40_000u32).step_by(7) {
        assert!(db.get(format!("key{i:08}").as_bytes()).unwrap().is_some());
    }
    (before, db.stats())
}

/// Memory is bounded by configuration: an open table keeps only its top
/// index outside the caches (formats 2 and 3), and each cache never holds more
/// than its capacity, whatever the data's size.
#[test]
fn memory_beside_the_cache_stays_small() {
    let (_, stats) = read_back_40k(64 << 10, 16 << 10);
    let data: u64 = stats.levels.iter().map(|l| l.bytes).sum();
    assert!(stats.open_tables >= 3, "several tables were read: {}", stats.open_tables);
    assert!(stats.block_cache_bytes <= stats.block_cache_capacity_bytes);
    assert_eq!(stats.block_cache_capacity_bytes, 64 << 10);
    assert_eq!(stats.partition_cache_capacity_bytes, 16 << 10);
    assert!(stats.partition_cache_bytes > 0 && stats.partition_cache_bytes <= 16 << 10);
    assert!(
        stats.table_memory_bytes * 100 < data,
        "{} bytes beside the cache for {data} of tables",
        stats.table_memory_bytes
    );
}

/// With a partition cache, every get's filter and index lookups go there
/// (at least two per get: a filter, then an index) and only data blocks to
/// the block cache (one per get); without one, all of them share the block cache.
#[test]
fn partitions_go_to_a_cache_of_their_own_when_given_one() {
    let gets = (0..40_000u32).step_by(7).count() as u64;
    // Lookups the gets made (the compaction before them made some too).
    let data = |(before, after): &(lsmkv::Stats, lsmkv::Stats)| {
        after.block_cache_hits + after.block_cache_misses - before.block_cache_hits - before.block_cache_misses
    };
    let partitions = |(before, after): &(lsmkv::Stats, lsmkv::Stats)| {
        after.partition_cache_hits + after.partition_cache_misses
            - before.partition_cache_hits
            - before.partition_cache_misses
    };
    let apart = read_back_40k(64 << 10, 1 << 20);
    let (before, after) = &apart;
    assert_eq!(after.gets - before.gets, gets);
    assert_eq!(data(&apart), after.tables_probed - before.tables_probed, "one data block per table searched");
    assert!(partitions(&apart) >= 2 * gets);
    let misses = after.partition_cache_misses - before.partition_cache_misses;
    assert!(misses * 10 < partitions(&apart), "the partitions fit: {misses} misses of {}", partitions(&apart));
    let shared = read_back_40k(64 << 10, 0);
    let after_shared = &shared.1;
    assert_eq!(
        [
            after_shared.partition_cache_hits,
            after_shared.partition_cache_misses,
            after_shared.partition_cache_capacity_bytes
        ],
        [0; 3]
    );
    assert_eq!(data(&shared), data(&apart) + partitions(&apart), "the same lookups, in one pool");
}
