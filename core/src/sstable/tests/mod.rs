//! Whole-table tests over `MemStorage`: every table is checked against a
//! plain sorted `Vec` model of its entries. Randomness comes from a seeded
//! splitmix64, so every run sees the same tables.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::cmp::Ordering;

use super::*;

mod corruption;
mod sizes;
use crate::error::Error;
use crate::iterator::{Direction, EntryIter};
use crate::key::{self, SEQ_MAX};
use crate::storage::{MemStorage, Storage};
use crate::testing::Rng;

/// One entry of the model: (user key, seq, kind, value).
type ModelEntry = (Vec<u8>, u64, ValueKind, Vec<u8>);

/// A value length: empty, small, medium, or (rarely) larger than a block.
fn value_len(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0..=14 => 0,
        15..=69 => 1 + rng.below(20) as usize,
        70..=94 => 20 + rng.below(100) as usize,
        _ => 300 + rng.below(3000) as usize,
    }
}

/// Random entries in internal-key order: `user_keys` distinct keys (some
/// long), each with 1 to 4 versions at distinct sequence numbers, with
/// tombstones, empty values and values larger than a small block.
fn random_entries(rng: &mut Rng, user_keys: usize) -> Vec<ModelEntry> {
    let mut keys: Vec<Vec<u8>> = (0..user_keys * 2)
        .map(|_| {
            let mut key = format!("k{:05}", rng.below(user_keys as u64 * 4)).into_bytes();
            if rng.chance(10) {
                key.extend((0..rng.below(40)).map(|i| b'a' + (i % 26) as u8));
            }
            key
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys.truncate(user_keys);
    let mut next_seq = 1 + rng.below(1000);
    let mut entries = Vec::new();
    for key in keys {
        let versions = 1 + rng.below(4);
        for _ in 0..versions {
            next_seq += 1 + rng.below(3);
            let kind = if rng.chance(15) { ValueKind::Delete } else { ValueKind::Put };
            let value = if kind == ValueKind::Delete {
                Vec::new()
            } else {
                let len = value_len(rng);
                (0..len).map(|i| (i as u8).wrapping_mul(31) ^ next_seq as u8).collect()
            };
            entries.push((key.clone(), next_seq, kind, value));
        }
    }
    sort_model(&mut entries);
    entries
}

fn sort_model(entries: &mut [ModelEntry]) {
    entries.sort_by(|a, b| key::compare(&a.0, a.1, &b.0, b.1));
}

/// Writes `entries` as table `name` (LZ4-compressed), checking `size_if_added` on the way.
fn write_table(storage: &dyn Storage, name: &str, entries: &[ModelEntry], block_size: usize) -> TableInfo {
    write_table_with(storage, name, entries, block_size, Compression::Lz4)
}

fn write_table_with(
    storage: &dyn Storage,
    name: &str,
    entries: &[ModelEntry],
    block_size: usize,
    compression: Compression,
) -> TableInfo {
    let mut writer = TableWriter::create(storage, name, block_size, 10, compression).unwrap();
    let mut bound = 0;
    for (user_key, seq, kind, value) in entries {
        bound = writer.size_if_added(user_key.len(), value.len());
        writer.add(user_key, *seq, *kind, value).unwrap();
    }
    assert_eq!(writer.entry_count(), entries.len());
    let info = writer.finish().unwrap();
    assert!(info.file_size <= bound);
    assert_eq!(info.file_size, storage.len(name).unwrap());
    info
}

fn open(storage: &dyn Storage, name: &str, number: u64) -> Arc<Table> {
    let file_size = storage.len(name).unwrap();
    Arc::new(Table::open(storage, name, number, file_size).unwrap())
}

/// Collects the rest of an iterator's entries.
fn drain(iter: &mut TableIter) -> Result<Vec<ModelEntry>, Error> {
    let mut out = Vec::new();
    while iter.valid() {
        out.push((iter.user_key().to_vec(), iter.seq(), iter.kind(), iter.value().to_vec()));
        iter.next()?;
    }
    Ok(out)
}

fn scan(
    table: &Arc<Table>,
    storage: &Arc<MemStorage>,
    cache: &Arc<BlockCache>,
    direction: Direction,
) -> Result<Vec<ModelEntry>, Error> {
    let storage: Arc<dyn Storage> = Arc::clone(storage) as Arc<dyn Storage>;
    let mut iter = table.iter(storage, Arc::clone(cache), direction);
    iter.seek(None)?;
    drain(&mut iter)
}

/// The model's answer to `get`: the newest version with seq ≤ snapshot.
fn model_get(entries: &[ModelEntry], user_key: &[u8], snapshot: u64) -> Option<Found> {
    entries.iter().filter(|e| e.0 == user_key && e.1 <= snapshot).max_by_key(|e| e.1).map(|e| Found {
        seq: e.1,
        kind: e.2,
        value: e.3.clone(),
    })
}

/// Keys and snapshots worth asking about: every version's seq and its
/// neighbours, 0 and "latest", plus keys that are absent, between keys,
/// before the first and after the last.
fn probe_targets(entries: &[ModelEntry]) -> Vec<(Vec<u8>, u64)> {
    let mut targets = Vec::new();
    for (user_key, seq, _, _) in entries {
        for snapshot in [seq - 1, *seq, seq + 1, 0, SEQ_MAX, u64::MAX] {
            targets.push((user_key.clone(), snapshot));
        }
        let mut between = user_key.clone();
        between.push(0);
        targets.push((between, SEQ_MAX));
        let mut shorter = user_key.clone();
        shorter.pop();
        if !shorter.is_empty() {
            targets.push((shorter, 5));
        }
    }
    for outside in [&b"a"[..], b"k", b"\x00", b"z", b"\xff\xff"] {
        targets.push((outside.to_vec(), SEQ_MAX));
        targets.push((outside.to_vec(), 0));
    }
    targets
}

/// What `Table::get` answered, as the model's `Option` (a filtered key is absent).
fn found(lookup: Lookup) -> Option<Found> {
    match lookup {
        Lookup::Found(found) => Some(found),
        Lookup::Absent | Lookup::Filtered => None,
    }
}

fn check_gets(table: &Table, storage: &dyn Storage, cache: &BlockCache, entries: &[ModelEntry]) -> Result<(), Error> {
    for (user_key, snapshot) in probe_targets(entries) {
        let got = found(table.get(storage, cache, &user_key, snapshot)?);
        assert_eq!(got, model_get(entries, &user_key, snapshot), "get({user_key:?}, {snapshot})");
    }
    Ok(())
}

/// Goal: a table returns exactly what was written. Method: random tables at
/// block sizes from 64 bytes (about one entry per block, values larger than
/// a block) to 4 KiB; full scans both ways, gets at many snapshots, the
/// properties and the inspector are compared with the model.
#[test]
fn random_tables_round_trip() {
    let storage = Arc::new(MemStorage::new());
    let cache = Arc::new(BlockCache::new(1 << 16));
    let mut number = 0;
    for (block_size, compression) in
        (0..10).map(|i| ([64, 100, 256, 1024, 4096][i % 5], [Compression::None, Compression::Lz4][i / 5]))
    {
        for seed in 0..4u64 {
            number += 1;
            let mut rng = Rng::new(seed * 1000 + block_size as u64);
            let user_keys = [1, 7, 60, 300][seed as usize];
            let entries = random_entries(&mut rng, user_keys);
            let name = format!("{number:06}.sst");
            let info = write_table_with(&*storage, &name, &entries, block_size, compression);
            let first = entries.first().unwrap();
            let last = entries.last().unwrap();
            assert_eq!(info.smallest, InternalKey::new(first.0.clone(), first.1, first.2));
            assert_eq!(info.largest, InternalKey::new(last.0.clone(), last.1, last.2));

            let table = open(&*storage, &name, number);
            assert_eq!(table.properties(), &info.properties);
            assert_eq!(table.properties().entry_count, entries.len() as u64);
            let tombstones = entries.iter().filter(|e| e.2 == ValueKind::Delete).count() as u64;
            assert_eq!(table.properties().tombstone_count, tombstones);
            assert_eq!(table.properties().min_seq, entries.iter().map(|e| e.1).min().unwrap());
            assert_eq!(table.properties().max_seq, entries.iter().map(|e| e.1).max().unwrap());

            assert_eq!(scan(&table, &storage, &cache, Direction::Forward).unwrap(), entries);
            let mut reversed = entries.clone();
            reversed.reverse();
            assert_eq!(scan(&table, &storage, &cache, Direction::Reverse).unwrap(), reversed);
            check_gets(&table, &*storage, &cache, &entries).unwrap();

            let inspection = table.inspect(&*storage).unwrap();
            let inspected: Vec<ModelEntry> =
                inspection.entries.iter().map(|e| (e.user_key.clone(), e.seq, e.kind, e.value.clone())).collect();
            assert_eq!(inspected, entries);
            assert_eq!(inspection.blocks.len() as u64, info.properties.data_block_count);
            assert_eq!(inspection.file_size, info.file_size);
            let block_entries: u32 = inspection.blocks.iter().map(|b| b.entry_count).sum();
            assert_eq!(u64::from(block_entries), info.properties.entry_count);
            if block_size == 64 && entries.len() > 1 {
                assert!(inspection.blocks.len() > 1, "small blocks split the table");
            }
            if block_size <= 100 && entries.len() > 40 {
                assert!(inspection.partitions > 1, "small blocks split the index into partitions");
            }
            assert_eq!(inspection.format, 3);
            assert_eq!(inspection.properties.compression, compression);
        }
    }
}

/// Goal: index searches stay exact when index keys share a long prefix,
/// differ only beyond the 8 bytes an index word holds, are shorter than the
/// shared prefix's extent, or repeat one user key across blocks. Method:
/// tiny blocks (about one entry each) so every key is an index key; gets and
/// forward seeks at every probe target are compared with the model.
#[test]
fn index_search_is_exact_for_prefix_heavy_keys() {
    let storage = Arc::new(MemStorage::new());
    let cache = Arc::new(BlockCache::new(1 << 20));
    let shared = b"tenant/0042/objects/".to_vec();
    let mut keys: Vec<Vec<u8>> = Vec::new();
    for i in 0..40u32 {
        let mut key = shared.clone();
        key.extend_from_slice(format!("{:03}", i / 4).as_bytes());
        match i % 4 {
            0 => {}
            // Same first 8 bytes after the prefix, differing at byte 9 and later.
            1 => key.extend_from_slice(b"-aaaaaaaaX"),
            2 => key.extend_from_slice(b"-aaaaaaaaY"),
            _ => key.extend_from_slice(b"\x00\x00"),
        }
        keys.push(key);
    }
    keys.sort();
    keys.dedup();
    let mut entries = Vec::new();
    let mut seq = 10;
    for (i, key) in keys.iter().enumerate() {
        // Every fifth key has several versions, spanning blocks.
        let versions = if i % 5 == 0 { 4 } else { 1 };
        for _ in 0..versions {
            seq += 1;
            entries.push((key.clone(), seq, ValueKind::Put, vec![i as u8; 3]));
        }
    }
    sort_model(&mut entries);
    write_table(&*storage, "000001.sst", &entries, 64);
    let table = open(&*storage, "000001.sst", 1);
    check_gets(&table, &*storage, &cache, &entries).unwrap();
    let mut targets = probe_targets(&entries);
    for extra in [&b"tenant/"[..], b"tenant/0042/objects", b"tenant/0042/objects/", b"tenant/0043", b"tenant/0041/z"] {
        targets.push((extra.to_vec(), SEQ_MAX));
    }
    let dyn_storage: Arc<dyn Storage> = Arc::clone(&storage) as Arc<dyn Storage>;
    let mut forward = table.iter(dyn_storage, Arc::clone(&cache), Direction::Forward);
    for (target_key, target_seq) in targets {
        let from = entries
            .iter()
            .position(|e| key::compare(&e.0, e.1, &target_key, target_seq) != Ordering::Less)
            .unwrap_or(entries.len());
        forward.seek(Some((&target_key, target_seq))).unwrap();
        assert_eq!(drain(&mut forward).unwrap(), entries[from..], "seek {target_key:?}@{target_seq}");
        let got = found(table.get(&*storage, &cache, &target_key, target_seq).unwrap());
        assert_eq!(got, model_get(&entries, &target_key, target_seq), "get {target_key:?}@{target_seq}");
    }
}

/// Goal: the seek contract of `EntryIter` in both directions. Method: seek to
/// every key and neighbouring targets (between keys, before the first, after
/// the last, at block boundaries: 64-byte blocks hold one or two entries),
/// and compare the position and the whole remaining walk with the model.
#[test]
fn seeks_follow_the_contract_in_both_directions() {
    let storage = Arc::new(MemStorage::new());
    let cache = Arc::new(BlockCache::new(1 << 20));
    for (number, block_size) in [(1u64, 64usize), (2, 512)] {
        let mut rng = Rng::new(77 + number);
        let entries = random_entries(&mut rng, 80);
        let name = format!("{number:06}.sst");
        write_table(&*storage, &name, &entries, block_size);
        let table = open(&*storage, &name, number);
        let dyn_storage: Arc<dyn Storage> = Arc::clone(&storage) as Arc<dyn Storage>;
        let mut forward = table.iter(Arc::clone(&dyn_storage), Arc::clone(&cache), Direction::Forward);
        let mut reverse = table.iter(Arc::clone(&dyn_storage), Arc::clone(&cache), Direction::Reverse);
        for (target_key, target_seq) in probe_targets(&entries) {
            let order = |e: &ModelEntry| key::compare(&e.0, e.1, &target_key, target_seq);
            let from = entries.iter().position(|e| order(e) != Ordering::Less).unwrap_or(entries.len());
            forward.seek(Some((&target_key, target_seq))).unwrap();
            assert_eq!(drain(&mut forward).unwrap(), entries[from..], "forward seek {target_key:?}@{target_seq}");
            let through = entries.iter().rposition(|e| order(e) != Ordering::Greater).map_or(0, |i| i + 1);
            let mut expected: Vec<ModelEntry> = entries[..through].to_vec();
            expected.reverse();
            reverse.seek(Some((&target_key, target_seq))).unwrap();
            assert_eq!(drain(&mut reverse).unwrap(), expected, "reverse seek {target_key:?}@{target_seq}");
        }
        // Seeking again after exhaustion repositions the cursor.
        forward.seek(None).unwrap();
        assert_eq!(forward.user_key(), &entries[0].0[..]);
        reverse.seek(None).unwrap();
        assert_eq!(reverse.user_key(), &entries.last().unwrap().0[..]);
    }
}

/// Goal: the iterator owns what it needs. Method: make one, drop every other
/// handle on the table, storage and cache, then walk it; and check it can be
/// sent to another thread.
#[test]
fn iterator_outlives_its_creators() {
    fn assert_send<T: Send>() {}
    assert_send::<TableIter>();
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Table>();

    let entries = random_entries(&mut Rng::new(5), 20);
    let mut iter = {
        let storage = Arc::new(MemStorage::new());
        write_table(&*storage, "000001.sst", &entries, 64);
        let table = open(&*storage, "000001.sst", 1);
        table.iter(storage, Arc::new(BlockCache::new(0)), Direction::Forward)
    };
    iter.seek(None).unwrap();
    assert_eq!(drain(&mut iter).unwrap(), entries);
}

/// Goal: the table's filter never denies a present key and rarely admits an
/// absent one. Method: 10,000 seeded keys in a table at 10 bits per key,
/// 10,000 other seeded keys probed; under 2% may be present.
#[test]
fn table_bloom_filter_has_no_false_negatives() {
    let storage = MemStorage::new();
    let mut rng = Rng::new(1234);
    let mut keys: Vec<Vec<u8>> = (0..10_000).map(|_| rng.next_u64().to_be_bytes().to_vec()).collect();
    keys.sort();
    keys.dedup();
    let entries: Vec<ModelEntry> = keys.iter().map(|k| (k.clone(), 1, ValueKind::Put, Vec::new())).collect();
    write_table(&storage, "000001.sst", &entries, 256);
    let table = open(&storage, "000001.sst", 1);
    let cache = BlockCache::new(1 << 20);
    let filtered = |key: &[u8]| table.get(&storage, &cache, key, SEQ_MAX).unwrap() == Lookup::Filtered;
    assert!(!keys.iter().any(|k| filtered(k)), "no present key is filtered out");
    // Absent keys inside the table's key range, so each reaches a filter.
    let absent: Vec<Vec<u8>> = (0..10_000).map(|_| rng.next_u64().to_be_bytes().to_vec()).collect();
    let passed = absent.iter().filter(|k| keys.binary_search(k).is_err() && !filtered(k)).count();
    assert!(passed < 200, "{passed} false positives in 10,000");
    let inspection = table.inspect(&storage).unwrap();
    assert_eq!(inspection.filter.probes, 7);
    // Each partition's filter is sized for its own keys: together about the
    // whole table's, plus up to 63 bytes of rounding (to whole 64-byte blocks)
    // and the probe byte per partition.
    let whole = (keys.len() * 10).div_ceil(8);
    let partitions = inspection.partitions as usize;
    assert!(partitions > 1, "a 10,000-key table has several partitions");
    assert!(
        (whole..=whole + 64 * partitions).contains(&(inspection.filter.bytes as usize)),
        "{} bytes in {partitions} partitions",
        inspection.filter.bytes
    );
}

/// Goal: gets go through the block cache: repeated gets hit it, the cache
/// stays within its capacity, and a zero-capacity cache still answers right.
#[test]
fn gets_use_the_block_cache() {
    let storage = MemStorage::new();
    let entries = random_entries(&mut Rng::new(21), 200);
    write_table(&storage, "000001.sst", &entries, 256);
    let table = open(&storage, "000001.sst", 1);
    let blocks = table.properties().data_block_count;
    let small = BlockCache::new(1024);
    for _ in 0..3 {
        check_gets(&table, &storage, &small, &entries).unwrap();
        assert!(small.used_bytes() <= 1024);
    }
    assert!(small.hits() > 0 && small.misses() > 0);
    let large = BlockCache::new(1 << 20);
    check_gets(&table, &storage, &large, &entries).unwrap();
    let partitions = u64::from(table.inspect(&storage).unwrap().partitions);
    // Each data block, index partition and filter partition is read once.
    assert_eq!(large.misses(), blocks + 2 * partitions, "each block is read once, then served from the cache");
    let none = BlockCache::new(0);
    check_gets(&table, &storage, &none, &entries).unwrap();
    assert_eq!((none.hits(), none.used_bytes()), (0, 0));
}

/// Goal: a scan that does not fill the cache (a compaction's inputs) reads
/// every entry, uses blocks already cached, and adds no data block: the
/// cache then holds only the index and filter partitions.
#[test]
fn scans_without_filling_the_cache_add_no_data_blocks() {
    let storage = Arc::new(MemStorage::new());
    let entries = random_entries(&mut Rng::new(22), 300);
    write_table(&*storage, "000001.sst", &entries, 256);
    let table = open(&*storage, "000001.sst", 1);
    let dyn_storage: Arc<dyn Storage> = Arc::clone(&storage) as Arc<dyn Storage>;
    let partitions = table.inspect(&*storage).unwrap().partitions;
    let cache = Arc::new(BlockCache::new(1 << 20));
    let scan = |fill: bool| {
        let iter = table.iter(Arc::clone(&dyn_storage), Arc::clone(&cache), Direction::Forward);
        let mut iter = if fill { iter } else { iter.without_filling_cache() };
        iter.seek(None).unwrap();
        drain(&mut iter).unwrap()
    };
    assert_eq!(scan(false), entries);
    assert_eq!(cache.block_count(), partitions as usize, "only index partitions (no filter is read by a scan)");
    assert_eq!(scan(true), entries);
    let with_data = cache.block_count();
    assert_eq!(with_data as u64, partitions as u64 + table.properties().data_block_count);
    let misses = cache.misses();
    assert_eq!(scan(false), entries);
    assert_eq!(cache.misses(), misses, "cached blocks are still used");
}

/// Goal: the writer refuses misuse (programmer errors are assertions).
#[test]
#[should_panic(expected = "strictly increase")]
fn writer_rejects_out_of_order_entries() {
    let storage = MemStorage::new();
    let mut writer = TableWriter::create(&storage, "000001.sst", 4096, 10, Compression::None).unwrap();
    writer.add(b"b", 5, ValueKind::Put, b"").unwrap();
    writer.add(b"b", 6, ValueKind::Put, b"").unwrap();
}

/// Goal: an empty table is a programmer error, caught at `finish`.
#[test]
#[should_panic(expected = "at least one entry")]
fn writer_rejects_an_empty_table() {
    let storage = MemStorage::new();
    let _ = TableWriter::create(&storage, "000001.sst", 4096, 10, Compression::None).unwrap().finish();
}

/// Not a test of behaviour: a rough native `get` throughput figure for a
/// 100,000-entry table with 4 KiB blocks, with a warm cache and with none. Run with
/// `cargo test --release -p lsmkv sstable::tests::get_throughput -- --ignored --nocapture`.
#[cfg(feature = "std")]
#[test]
#[ignore = "prints a throughput figure; asserts nothing about speed"]
fn get_throughput() {
    extern crate std;
    use std::println;
    use std::time::Instant;

    let storage = MemStorage::new();
    let entries: Vec<ModelEntry> = (0..100_000u32)
        .map(|i| (format!("user{i:010}").into_bytes(), u64::from(i) + 1, ValueKind::Put, vec![7; 100]))
        .collect();
    write_table(&storage, "000001.sst", &entries, 4096);
    let table = open(&storage, "000001.sst", 1);
    // Warm: every block cached. Cold: every get reads, checks and parses its block.
    for (label, cache_bytes, rounds) in [("warm cache", 64 << 20, 1_000_000), ("no cache", 0, 100_000)] {
        let cache = BlockCache::new(cache_bytes);
        let mut rng = Rng::new(1);
        let start = Instant::now();
        let mut found = 0;
        for _ in 0..rounds {
            let i = rng.below(entries.len() as u64) as usize;
            found +=
                usize::from(matches!(table.get(&storage, &cache, &entries[i].0, SEQ_MAX).unwrap(), Lookup::Found(_)));
        }
        let elapsed = start.elapsed();
        assert_eq!(found, rounds);
        println!("{label}: {rounds} gets in {elapsed:?}: {:.0} gets/s", rounds as f64 / elapsed.as_secs_f64());
    }
}
