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

/// Writes `entries` as table `name`, checking `size_if_added` on the way.
fn write_table(storage: &dyn Storage, name: &str, entries: &[ModelEntry], block_size: usize) -> TableInfo {
    let mut writer = TableWriter::create(storage, name, block_size, 10).unwrap();
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

fn check_gets(table: &Table, storage: &dyn Storage, cache: &BlockCache, entries: &[ModelEntry]) -> Result<(), Error> {
    for (user_key, snapshot) in probe_targets(entries) {
        let found = table.get(storage, cache, &user_key, snapshot)?;
        assert_eq!(found, model_get(entries, &user_key, snapshot), "get({user_key:?}, {snapshot})");
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
    for block_size in [64, 100, 256, 1024, 4096] {
        for seed in 0..4u64 {
            number += 1;
            let mut rng = Rng::new(seed * 1000 + block_size as u64);
            let user_keys = [1, 7, 60, 300][seed as usize];
            let entries = random_entries(&mut rng, user_keys);
            let name = format!("{number:06}.sst");
            let info = write_table(&*storage, &name, &entries, block_size);
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
            assert!(entries.iter().all(|e| table.may_contain(&e.0)), "bloom false negative");

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
        let found = table.get(&*storage, &cache, &target_key, target_seq).unwrap();
        assert_eq!(found, model_get(&entries, &target_key, target_seq), "get {target_key:?}@{target_seq}");
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

/// Random workloads for the size bound: key lengths 1..=64, values from empty
/// to several blocks.
fn random_sizes(rng: &mut Rng, count: usize) -> Vec<ModelEntry> {
    let mut entries = Vec::new();
    let mut seq = 1;
    let mut previous_key: Vec<u8> = Vec::new();
    while entries.len() < count {
        // Keys grow: a random suffix on a counter keeps them increasing.
        let mut user_key = format!("{:08}", entries.len()).into_bytes();
        user_key.extend((0..rng.below(56)).map(|_| b'a' + rng.below(26) as u8));
        // Sometimes another version of the previous key instead.
        let repeat = !previous_key.is_empty() && rng.chance(20);
        if repeat {
            user_key = previous_key.clone();
        }
        let value = vec![0x5a; value_len(rng)];
        entries.push((user_key.clone(), seq, ValueKind::Put, value));
        seq += 1;
        previous_key = user_key;
    }
    // Versions of one key must be newest first.
    sort_model(&mut entries);
    entries
}

/// Goal: `size_if_added` is a true upper bound, and a tight one. Method: for
/// random workloads and block sizes, record the bound before each add; after
/// `finish` the file must not exceed the last bound (and be within a few
/// filter bytes of it, since the bound is exact but for the filter).
#[test]
fn size_if_added_is_an_upper_bound() {
    let storage = MemStorage::new();
    for seed in 0..30u64 {
        let mut rng = Rng::new(seed);
        let block_size = [64, 200, 512, 4096][seed as usize % 4];
        let bits_per_key = 1 + (seed as u32 % 32);
        let count = 1 + rng.below(200) as usize;
        let entries = random_sizes(&mut rng, count);
        let name = format!("{seed:06}.sst");
        let mut writer = TableWriter::create(&storage, &name, block_size, bits_per_key).unwrap();
        let mut bound = 0;
        for (user_key, seq, kind, value) in &entries {
            // Not monotonic: a shorter next key shrinks the projected index entry.
            bound = writer.size_if_added(user_key.len(), value.len());
            writer.add(user_key, *seq, *kind, value).unwrap();
        }
        let info = writer.finish().unwrap();
        assert!(info.file_size <= bound, "seed {seed}: {} > {bound}", info.file_size);
        assert!(bound - info.file_size <= 8, "seed {seed}: bound {bound} is loose for {}", info.file_size);
    }
}

/// Goal: `single_entry_table_size` bounds a one-entry table. Method: write
/// one-entry tables of many key and value sizes.
#[test]
fn single_entry_table_size_is_an_upper_bound() {
    let storage = MemStorage::new();
    let mut rng = Rng::new(9);
    for i in 0..60u32 {
        let key_len = 1 + rng.below(300) as usize;
        let value_len = [0, 1, 127, 128, 16_383, 16_384, 70_000][i as usize % 7] + rng.below(3) as usize;
        let bits_per_key = 1 + rng.below(32) as u32;
        let name = format!("{i:06}.sst");
        let mut writer = TableWriter::create(&storage, &name, 4096, bits_per_key).unwrap();
        writer.add(&vec![b'k'; key_len], 1, ValueKind::Put, &vec![1; value_len]).unwrap();
        let info = writer.finish().unwrap();
        let bound = single_entry_table_size(key_len, value_len, bits_per_key) as u64;
        assert!(info.file_size <= bound, "{key_len}/{value_len}: {} > {bound}", info.file_size);
    }
}

/// Goal: the product guarantee. Method: split a long random stream into
/// tables the way flush and compaction do (start a new table when the next
/// entry's bound would pass the cap); no table exceeds the cap, and together
/// they hold every entry.
#[test]
fn splitting_by_the_bound_never_exceeds_the_cap() {
    let storage = MemStorage::new();
    let entries = random_sizes(&mut Rng::new(42), 3000);
    for (cap, block_size) in [(8 << 10, 64usize), (20 << 10, 512), (64 << 10, 4096)] {
        let largest = entries.iter().map(|e| single_entry_table_size(e.0.len(), e.3.len(), 10)).max().unwrap();
        assert!(largest as u64 <= cap, "every entry fits a table");
        let mut tables: Vec<(String, u64)> = Vec::new();
        let mut writer: Option<TableWriter<'_>> = None;
        let mut written = 0;
        for (user_key, seq, kind, value) in &entries {
            let full = writer.as_ref().is_some_and(|w| w.size_if_added(user_key.len(), value.len()) > cap);
            if full {
                let info = writer.take().unwrap().finish().unwrap();
                tables.push((format!("{}", tables.len()), info.file_size));
            }
            let writer = writer.get_or_insert_with(|| {
                TableWriter::create(&storage, &format!("cap{cap}-{:06}.sst", tables.len()), block_size, 10).unwrap()
            });
            writer.add(user_key, *seq, *kind, value).unwrap();
            written += 1;
        }
        let info = writer.take().unwrap().finish().unwrap();
        tables.push((String::new(), info.file_size));
        assert_eq!(written, entries.len());
        assert!(tables.len() > 2, "the stream needed several tables");
        for (_, size) in &tables {
            assert!(*size <= cap, "a table of {size} bytes exceeds the cap {cap}");
        }
        let names: Vec<String> =
            storage.list().unwrap().into_iter().filter(|n| n.starts_with(&format!("cap{cap}-"))).collect();
        let total: u64 = names.iter().map(|name| open(&storage, name, 1).properties().entry_count).sum();
        assert_eq!(total, entries.len() as u64);
    }
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
    write_table(&storage, "000001.sst", &entries, 4096);
    let table = open(&storage, "000001.sst", 1);
    assert!(keys.iter().all(|k| table.may_contain(k)));
    let absent: Vec<Vec<u8>> = (0..10_000).map(|_| format!("absent-{}", rng.next_u64()).into_bytes()).collect();
    let false_positives = absent.iter().filter(|k| table.may_contain(k)).count();
    assert!(false_positives < 200, "{false_positives} false positives in 10,000");
    let filter = table.inspect(&storage).unwrap().filter;
    assert_eq!(filter.probes, 7);
    assert_eq!(filter.bytes as usize, (keys.len() * 10).div_ceil(8));
}

/// Reads everything a table offers: open, both scans, gets at every probe
/// target, and the inspector. Returns the first error.
fn read_everything(storage: &Arc<MemStorage>, name: &str, file_size: u64, entries: &[ModelEntry]) -> Result<(), Error> {
    let table = Arc::new(Table::open(&**storage, name, 1, file_size)?);
    let cache = Arc::new(BlockCache::new(1 << 20));
    let forward = scan(&table, storage, &cache, Direction::Forward)?;
    let reverse = scan(&table, storage, &cache, Direction::Reverse)?;
    assert_eq!(forward, entries, "a damaged table returned different data");
    assert!(reverse.iter().rev().eq(entries.iter()), "a damaged table returned different data");
    // A fresh cache, so gets read (and check) the blocks themselves.
    check_gets(&table, &**storage, &BlockCache::new(0), entries)?;
    table.inspect(&**storage)?;
    Ok(())
}

/// Goal: damage is always detected, never returned as data and never a
/// panic. Method: flip every bit of every byte of a small table (data
/// blocks, filter, index, properties, footer) one at a time and read
/// everything; each flip must give `Corruption` (or `UnsupportedFormat`)
/// naming the file. CRC-32 catches every single-bit error, so none may pass.
#[test]
fn every_bit_flip_is_detected() {
    let storage = Arc::new(MemStorage::new());
    let name = "000009.sst";
    let entries: Vec<ModelEntry> = random_entries(&mut Rng::new(3), 12)
        .into_iter()
        .map(|(k, s, kind, v)| (k, s, kind, v.into_iter().take(40).collect()))
        .collect();
    write_table(&*storage, name, &entries, 128);
    let original = storage.read_all(name).unwrap();
    assert!((600..=2500).contains(&original.len()), "table is {} bytes", original.len());
    read_everything(&storage, name, original.len() as u64, &entries).unwrap();
    for byte in 0..original.len() {
        for bit in 0..8 {
            storage.with_file_mut(name, |file| file[byte] ^= 1 << bit).unwrap();
            let result = read_everything(&storage, name, original.len() as u64, &entries);
            match result {
                Err(Error::Corruption { file, offset, .. }) => {
                    assert_eq!(file, name);
                    assert!(offset < original.len() as u64, "offset {offset} lies outside the file");
                }
                Err(Error::UnsupportedFormat { file, .. }) => assert_eq!(file, name),
                other => panic!("flip of bit {bit} in byte {byte} gave {other:?}"),
            }
            storage.with_file_mut(name, |file| file[byte] ^= 1 << bit).unwrap();
        }
    }
}

/// Applies `change` to the block at `handle` and recomputes its crc, making
/// damage that checksums cannot see (a writer bug, a crafted file).
fn rewrite_block(storage: &MemStorage, name: &str, handle: BlockHandle, change: impl FnOnce(&mut [u8])) {
    storage
        .with_file_mut(name, |file| {
            let start = handle.offset as usize;
            let end = start + handle.size as usize;
            change(&mut file[start..end]);
            let crc = crate::coding::crc32(&file[start..end]);
            file[end..end + BLOCK_TRAILER_SIZE].copy_from_slice(&crc.to_le_bytes());
        })
        .unwrap();
}

/// Goal: structure is checked, not only checksums. Method: make
/// crc-valid tables that lie (properties that disagree with the entries, an
/// unknown kind, a data block whose last key is not its index key, handles
/// that do not tile the file) and expect `Corruption` naming the file.
#[test]
fn crc_valid_inconsistencies_are_corruption() {
    type Damage = fn(&MemStorage, &str, &TableInspection);
    let damages: [(&str, Damage); 4] = [
        ("properties disagree", |storage, name, inspection| {
            let properties = BlockHandle { offset: inspection.index_handle.end_with_crc().unwrap(), size: 56 };
            rewrite_block(storage, name, properties, |block| block[0] += 1);
        }),
        ("unknown value kind", |storage, name, inspection| {
            // The first entry's kind byte follows its two one-byte varints.
            rewrite_block(storage, name, inspection.blocks[1].handle, |block| block[2] = 7);
        }),
        ("last key differs", |storage, name, inspection| {
            let handle = inspection.blocks[1].handle;
            let key_len = inspection.blocks[1].last_key.len();
            rewrite_block(storage, name, handle, |block| {
                // The last entry's last key byte: just before its value, found
                // from the offsets array.
                let count = block.len() - 4;
                let entries = u32::from_le_bytes(block[count..].try_into().unwrap()) as usize;
                let last_offset_at = count - 4;
                let last = u32::from_le_bytes(block[last_offset_at..count].try_into().unwrap()) as usize;
                let value_len = block[last + 1] as usize;
                assert!(entries >= 1 && value_len < 128);
                block[last + 2 + 8 + key_len - 1] ^= 0x01;
            });
        }),
        ("handles do not tile", |storage, name, inspection| {
            // The first index entry's handle size is the last 4 bytes of its value.
            let first_key_len = inspection.blocks[0].last_key.len();
            rewrite_block(storage, name, inspection.index_handle, |block| block[2 + 8 + first_key_len + 8] ^= 0x01);
        }),
    ];
    // Each damage names the reason the reader must give.
    for (expected_reason, damage) in damages {
        let storage = Arc::new(MemStorage::new());
        let entries: Vec<ModelEntry> = (0..30u32)
            .map(|i| (format!("key{i:03}").into_bytes(), 100 - u64::from(i), ValueKind::Put, vec![1; 20]))
            .collect();
        let info = write_table(&*storage, "000001.sst", &entries, 64);
        let inspection = open(&*storage, "000001.sst", 1).inspect(&*storage).unwrap();
        damage(&storage, "000001.sst", &inspection);
        let result = read_everything(&storage, "000001.sst", info.file_size, &entries);
        let named = matches!(&result, Err(Error::Corruption { file, reason, .. })
            if file == "000001.sst" && reason.contains(expected_reason));
        assert!(named, "{expected_reason}: {result:?}");
    }
}

/// Goal: a wrong size from the manifest, a truncated file, or garbage is
/// corruption naming the file, not a panic.
#[test]
fn short_or_missized_files_are_corruption() {
    let storage = Arc::new(MemStorage::new());
    let entries = random_entries(&mut Rng::new(8), 10);
    let info = write_table(&*storage, "000001.sst", &entries, 64);
    for size in [0, 1, 51, 52, 53, info.file_size - 1, info.file_size / 2] {
        let result = Table::open(&*storage, "000001.sst", 1, size);
        assert!(matches!(&result, Err(Error::Corruption { file, .. }) if file == "000001.sst"), "size {size}");
    }
    // Past the end of the file: the storage's own read error, still corruption.
    assert!(matches!(Table::open(&*storage, "000001.sst", 1, info.file_size + 10), Err(Error::Corruption { .. })));
    storage.create("garbage.sst").unwrap();
    storage.append("garbage.sst", &[0xab; 300]).unwrap();
    assert!(matches!(Table::open(&*storage, "garbage.sst", 2, 300), Err(Error::Corruption { .. })));
}

/// Goal: a table written by another format version is `UnsupportedFormat`.
/// Method: rewrite the footer's version with a valid crc.
#[test]
fn another_format_version_is_unsupported() {
    let storage = MemStorage::new();
    let entries = random_entries(&mut Rng::new(11), 5);
    let info = write_table(&storage, "000001.sst", &entries, 4096);
    let footer_start = (info.file_size as usize) - FOOTER_SIZE;
    storage
        .with_file_mut("000001.sst", |file| {
            let footer = &mut file[footer_start..];
            footer[36..40].copy_from_slice(&2u32.to_le_bytes());
            let crc = crate::coding::crc32(&footer[..40]);
            footer[40..44].copy_from_slice(&crc.to_le_bytes());
        })
        .unwrap();
    assert_eq!(
        Table::open(&storage, "000001.sst", 1, info.file_size).err(),
        Some(Error::UnsupportedFormat { file: "000001.sst".into(), found: 2, supported: TABLE_FORMAT_VERSION })
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
    assert_eq!(large.misses(), blocks, "each block is read once, then served from the cache");
    let none = BlockCache::new(0);
    check_gets(&table, &storage, &none, &entries).unwrap();
    assert_eq!((none.hits(), none.used_bytes()), (0, 0));
}

/// Goal: the writer refuses misuse (programmer errors are assertions).
#[test]
#[should_panic(expected = "strictly increase")]
fn writer_rejects_out_of_order_entries() {
    let storage = MemStorage::new();
    let mut writer = TableWriter::create(&storage, "000001.sst", 4096, 10).unwrap();
    writer.add(b"b", 5, ValueKind::Put, b"").unwrap();
    writer.add(b"b", 6, ValueKind::Put, b"").unwrap();
}

/// Goal: an empty table is a programmer error, caught at `finish`.
#[test]
#[should_panic(expected = "at least one entry")]
fn writer_rejects_an_empty_table() {
    let storage = MemStorage::new();
    let _ = TableWriter::create(&storage, "000001.sst", 4096, 10).unwrap().finish();
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
            found += usize::from(table.get(&storage, &cache, &entries[i].0, SEQ_MAX).unwrap().is_some());
        }
        let elapsed = start.elapsed();
        assert_eq!(found, rounds);
        println!("{label}: {rounds} gets in {elapsed:?}: {:.0} gets/s", rounds as f64 / elapsed.as_secs_f64());
    }
}
