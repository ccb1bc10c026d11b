//! `Db` from several threads: writers and readers at once, group commit
//! under `Durability::Sync`, and readers that never see a batch half-applied.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use lsmkv::{Db, Durability, FsStorage, MemStorage, Options, RangeOptions, WriteBatch};

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn db_is_send_and_sync() {
    assert_send_sync::<Db>();
    assert_send_sync::<lsmkv::Snapshot>();
}

/// Each writer thread puts its own keys; afterwards every key is present.
/// Meanwhile readers check that batches (a pair of keys always written
/// together with equal values) are never seen half-applied.
#[test]
fn concurrent_writers_and_readers() {
    let db = Db::open(MemStorage::new(), Options::teaching()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (db, stop) = (db.clone(), stop.clone());
            thread::spawn(move || {
                let mut checks = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let pairs = db.range(&RangeOptions::prefix(b"pair/".to_vec())).unwrap();
                    for chunk in pairs.chunks(2) {
                        assert_eq!(chunk.len(), 2, "a batch's two keys appear together");
                        assert_eq!(chunk[0].1, chunk[1].1, "both halves of a batch carry the same value");
                    }
                    checks += 1;
                }
                checks
            })
        })
        .collect();
    let writers: Vec<_> = (0..4u32)
        .map(|t| {
            let db = db.clone();
            thread::spawn(move || {
                for i in 0..300u32 {
                    db.put(format!("t{t}/{i:04}").as_bytes(), &i.to_le_bytes()).unwrap();
                    if i % 10 == 0 {
                        let mut batch = WriteBatch::new();
                        let value = format!("{t}-{i}").into_bytes();
                        batch.put(format!("pair/{t}/{i:04}/a"), value.clone());
                        batch.put(format!("pair/{t}/{i:04}/b"), value);
                        db.write(&batch).unwrap();
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    for t in 0..4u32 {
        for i in 0..300u32 {
            assert_eq!(db.get(format!("t{t}/{i:04}").as_bytes()).unwrap(), Some(i.to_le_bytes().to_vec()));
        }
    }
    let stats = db.stats();
    assert!(stats.flushes > 10);
    assert!(stats.levels.iter().flat_map(|l| &l.tables).all(|t| t.entries <= 30));
}

/// Many threads writing with a sync per write on real files: everything
/// lands and survives reopening.
#[test]
fn synced_writes_from_many_threads_on_files() {
    let dir = std::env::temp_dir().join(format!("lsmkv-concurrency-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let options = Options { durability: Durability::Sync, ..Options::teaching() };
    {
        let db = Db::open(FsStorage::open(&dir).unwrap(), options.clone()).unwrap();
        let handles: Vec<_> = (0..4u32)
            .map(|t| {
                let db = db.clone();
                thread::spawn(move || {
                    for i in 0..50u32 {
                        db.put(format!("{t}-{i}").as_bytes(), b"v").unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }
    let db = Db::open(FsStorage::open(&dir).unwrap(), options).unwrap();
    assert_eq!(db.keys(&RangeOptions::default()).unwrap().len(), 200);
    drop(db);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A second opener of the same directory is refused while the first lives.
#[test]
fn one_process_per_directory() {
    let dir = std::env::temp_dir().join(format!("lsmkv-lock-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let first = FsStorage::open(&dir).unwrap();
    let second = FsStorage::open(&dir);
    assert!(matches!(second, Err(ref e) if e.is_io(lsmkv::IoKind::Locked)), "{:?}", second.err());
    drop(first);
    assert!(FsStorage::open(&dir).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}
