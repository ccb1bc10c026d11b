//! Stores written by older builds stay readable. `fixtures/formatN/` is a
//! database directory written by the last build that wrote table format N —
//! 1: uncompressed tables, one index and one filter block per table; 2:
//! partitioned indexes and filters, an offset per block entry — with tables
//! in L0 and L1, a live WAL and the manifest; `contents.txt` lists what it
//! holds. Today's build must read each exactly, write on top of it (new
//! tables in today's format beside the old ones) and compact it all.
//!
//! `LSMKV_FIXTURE=format3 cargo test -p lsmkv --test format_compat -- --ignored write_fixture`
//! writes a fixture of the format this build writes, under the name given.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use lsmkv::{Db, MemStorage, Options, RangeOptions, Storage};

/// The stores written by older builds.
const FIXTURES: [&str; 2] = ["format1", "format2"];

fn fixture_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn options() -> Options {
    Options { background_work: false, ..Options::teaching() }
}

/// The workload the fixture holds: puts, overwrites and deletes, with a
/// compaction midway (so L1 has tables) and writes after it (L0 and WAL).
fn workload(db: &Db) {
    for i in 0..180u32 {
        let key = format!("key{:03}", (i * 37) % 120);
        if i % 11 == 0 {
            db.delete(key.as_bytes()).unwrap();
        } else {
            db.put(key.as_bytes(), format!("value {i} {}", "x".repeat((i % 40) as usize)).as_bytes()).unwrap();
        }
        if i == 100 {
            db.compact().unwrap();
        }
    }
}

fn render(entries: &[(Vec<u8>, Vec<u8>)]) -> String {
    entries.iter().map(|(k, v)| format!("{}={}\n", String::from_utf8_lossy(k), String::from_utf8_lossy(v))).collect()
}

#[test]
#[ignore = "writes a fixture of the format this build writes (LSMKV_FIXTURE names it)"]
fn write_fixture() {
    let name = std::env::var("LSMKV_FIXTURE").expect("LSMKV_FIXTURE names the fixture, e.g. format3");
    let storage = Arc::new(MemStorage::new());
    let db = Db::open_shared(storage.clone(), options()).unwrap();
    workload(&db);
    let stats = db.stats();
    assert!(!stats.levels[0].tables.is_empty() && !stats.levels[1].tables.is_empty(), "L0 and L1 hold tables");
    assert!(stats.memtable_entries > 0, "some writes live only in the WAL");
    let contents = render(&db.range(&RangeOptions::default()).unwrap());
    db.sync().unwrap();
    drop(db);
    let dir = fixture_dir(&name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for name in storage.list().unwrap() {
        std::fs::write(dir.join(&name), storage.read_all(&name).unwrap()).unwrap();
    }
    std::fs::write(dir.join("contents.txt"), contents).unwrap();
}

/// A fixture's files in memory storage (the test must not change them).
fn load_fixture(name: &str) -> (MemStorage, String) {
    let storage = MemStorage::new();
    let mut contents = String::new();
    for entry in std::fs::read_dir(fixture_dir(name)).expect("the fixture exists") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        if name == "contents.txt" {
            contents = String::from_utf8(bytes).unwrap();
        } else {
            lsmkv::testing::write_file(&storage, &name, &bytes).unwrap();
        }
    }
    (storage, contents)
}

#[test]
fn stores_of_older_formats_read_exactly_and_take_new_writes() {
    for name in FIXTURES {
        an_old_store_reads_exactly_and_takes_new_writes(name);
    }
}

fn an_old_store_reads_exactly_and_takes_new_writes(name: &str) {
    let (storage, contents) = load_fixture(name);
    assert!(!contents.is_empty(), "{name}");
    let storage = Arc::new(storage);
    let db = Db::open_shared(storage.clone(), options()).unwrap();
    let all = db.range(&RangeOptions::default()).unwrap();
    assert_eq!(render(&all), contents, "a forward scan of the old store {name}");
    let mut reversed = db.range(&RangeOptions { reverse: true, ..RangeOptions::default() }).unwrap();
    reversed.reverse();
    assert_eq!(reversed, all, "a reverse scan of the old store");
    for (key, value) in &all {
        assert_eq!(db.get(key).unwrap().as_ref(), Some(value), "get {}", String::from_utf8_lossy(key));
    }
    assert!(db.get(b"key999").unwrap().is_none());

    // New writes land in today's format beside the old tables; a full
    // compaction then rewrites everything. The model follows along.
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = all.into_iter().collect();
    for i in 0..90u32 {
        let key = format!("key{:03}", (i * 13) % 150).into_bytes();
        let value = format!("new {i}").into_bytes();
        db.put(&key, &value).unwrap();
        model.insert(key, value);
    }
    db.flush().unwrap();
    let expected: Vec<(Vec<u8>, Vec<u8>)> = model.clone().into_iter().collect();
    assert_eq!(db.range(&RangeOptions::default()).unwrap(), expected, "old and new tables together");
    db.compact().unwrap();
    assert_eq!(db.range(&RangeOptions::default()).unwrap(), expected, "after a full compaction");
    let tables: Vec<u64> = db.stats().levels.iter().flat_map(|l| l.tables.iter().map(|t| t.number)).collect();
    assert!(!tables.is_empty());
    for number in tables {
        assert_eq!(db.inspect_table(number).unwrap().format, 3, "table {number} rewritten in today's format");
    }
    db.close().unwrap();
    let db = Db::open_shared(storage, options()).unwrap();
    assert_eq!(db.range(&RangeOptions::default()).unwrap(), expected, "after a reopen");
}
