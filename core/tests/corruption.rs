//! Bit flips in every kind of file: tables, the WAL, the manifest, CURRENT.
//! Each flip must end in `Error::Corruption` (or `UnsupportedFormat`) naming
//! the damaged file — at open or at the first read that touches the damage —
//! or, for the WAL's last record only, in a reported truncation of the tail.
//! Never wrong data.

use std::collections::BTreeMap;
use std::sync::Arc;

use lsmkv::{Compression, Db, Error, EventKind, MemStorage, Options, RangeOptions, Storage};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// A database with tables in two levels, a live WAL and a manifest, and the
/// model after each write (for recognising a truncated WAL tail).
fn build() -> (MemStorage, Vec<Model>) {
    let storage = Arc::new(MemStorage::new());
    // Compressed data blocks and several partitions per table: every part
    // of the table format gets flipped.
    let options = Options { compression: Compression::Lz4, block_size: 128, ..Options::teaching() };
    let db = Db::open_shared(storage.clone(), options).unwrap();
    let mut model = Model::new();
    let mut history = vec![model.clone()];
    for i in 0..140u32 {
        let key = format!("key{:03}", (i * 7) % 90).into_bytes();
        if i % 9 == 0 {
            db.delete(&key).unwrap();
            model.remove(&key);
        } else {
            let value = format!("value-{i}").into_bytes();
            db.put(&key, &value).unwrap();
            model.insert(key, value);
        }
        history.push(model.clone());
        if i == 100 {
            db.compact().unwrap();
        }
    }
    let stats = db.stats();
    assert!(stats.levels[0].tables.len() + stats.levels[1].tables.len() >= 2);
    assert!(stats.memtable_entries > 0, "some writes live only in the WAL");
    drop(db);
    (clone_storage(&storage), history)
}

fn clone_storage(from: &MemStorage) -> MemStorage {
    let to = MemStorage::new();
    for name in from.list().unwrap() {
        lsmkv::testing::write_file(&to, &name, &from.read_all(&name).unwrap()).unwrap();
    }
    to
}

/// Opens and reads everything: a full scan both ways and a get of every key
/// ever written.
fn read_all(storage: MemStorage, keys: &[Vec<u8>]) -> Result<(Model, bool), Error> {
    let db = Db::open(storage, Options::teaching())?;
    let forward: Model = db.range(&RangeOptions::default())?.into_iter().collect();
    let reverse: Model = db.range(&RangeOptions { reverse: true, ..Default::default() })?.into_iter().collect();
    assert_eq!(forward, reverse, "both directions agree");
    for key in keys {
        assert_eq!(db.get(key)?.as_ref(), forward.get(key), "get agrees with the scan");
    }
    let truncated = db.events(0, 1000).events.iter().any(|e| matches!(e.kind, EventKind::WalTailTruncated { .. }));
    Ok((forward, truncated))
}

fn names_file(error: &Error, name: &str) -> bool {
    match error {
        Error::Corruption { file, .. } | Error::UnsupportedFormat { file, .. } => file == name,
        _ => false,
    }
}

#[test]
fn every_flip_is_detected_or_a_reported_wal_tail_cut() {
    let (pristine, history) = build();
    let final_model = history.last().unwrap().clone();
    let keys: Vec<Vec<u8>> = (0..90).map(|i| format!("key{i:03}").into_bytes()).collect();
    let mut flips = 0;
    let mut outcomes: BTreeMap<&'static str, u32> = BTreeMap::new();
    for name in pristine.list().unwrap() {
        let len = pristine.len(&name).unwrap();
        // Every byte of small files; a spread of bytes in larger ones.
        let step = (len / 400).max(1);
        for byte in (0..len).step_by(step as usize) {
            let bit = (byte * 5 + 3) % 8;
            let storage = clone_storage(&pristine);
            storage.with_file_mut(&name, |f| f[byte as usize] ^= 1 << bit).unwrap();
            flips += 1;
            let outcome = match read_all(storage, &keys) {
                Err(e) if names_file(&e, &name) => "detected",
                Err(e) => panic!("{name} byte {byte}: error names the wrong file: {e}"),
                Ok((data, _)) if data == final_model => "harmless",
                Ok((data, truncated)) => {
                    assert!(name.ends_with(".wal"), "{name} byte {byte}: wrong data returned");
                    assert!(truncated, "{name} byte {byte}: data lost without a reported truncation");
                    if !history.contains(&data) {
                        let diff: Vec<_> = final_model
                            .iter()
                            .filter(|(k, v)| data.get(*k) != Some(v))
                            .map(|(k, v)| {
                                (
                                    String::from_utf8_lossy(k).to_string(),
                                    String::from_utf8_lossy(v).to_string(),
                                    data.get(k).map(|v| String::from_utf8_lossy(v).to_string()),
                                )
                            })
                            .collect();
                        panic!(
                            "{name} ({len} bytes) byte {byte}: recovered state is no prefix of the writes: {diff:?}"
                        );
                    }
                    "wal tail cut"
                }
            };
            *outcomes.entry(outcome).or_default() += 1;
        }
    }
    println!("bit flips: {flips}, outcomes: {outcomes:?}");
    assert!(outcomes.get("detected").copied().unwrap_or(0) > flips / 2);
}

/// Two tables of one level swapped with each other (same sizes, valid
/// checksums: nothing at open can tell): a scan crossing them must not go
/// backwards, and no read may answer with another key's value.
#[test]
fn tables_swapped_under_the_manifest_are_corruption_in_a_scan() {
    let storage = Arc::new(MemStorage::new());
    let db = Db::open_shared(storage.clone(), Options::teaching()).unwrap();
    // Equal-sized keys and values: the 30-entry tables come out equal in size.
    for i in 0..90u32 {
        db.put(format!("key{i:03}").as_bytes(), b"same-sized value").unwrap();
    }
    db.compact().unwrap();
    let tables: Vec<(u64, u64)> = db.stats().levels[1].tables.iter().map(|t| (t.number, t.bytes)).collect();
    assert_eq!(tables.len(), 3, "{tables:?}");
    assert_eq!(tables[0].1, tables[2].1, "the first and last tables are the same size");
    db.close().unwrap();
    drop(db);
    let name = |n: u64| format!("{n:06}.sst");
    let (first, last) = (storage.read_all(&name(tables[0].0)).unwrap(), storage.read_all(&name(tables[2].0)).unwrap());
    for (number, bytes) in [(tables[0].0, &last), (tables[2].0, &first)] {
        storage.remove(&name(number)).unwrap();
        storage.create(&name(number)).unwrap();
        storage.append(&name(number), bytes).unwrap();
    }

    let db = Db::open_shared(storage.clone(), Options::teaching()).unwrap();
    for reverse in [false, true] {
        let scan = db.range(&RangeOptions { reverse, ..RangeOptions::default() });
        assert!(matches!(scan, Err(Error::Corruption { .. })), "reverse {reverse}: {:?}", scan.map(|s| s.len()));
    }
    for i in 0..90u32 {
        let got = db.get(format!("key{i:03}").as_bytes()).unwrap();
        assert!(got.is_none() || got.as_deref() == Some(&b"same-sized value"[..]), "key{i:03}: {got:?}");
    }
}
