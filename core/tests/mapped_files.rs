//! Files under a running engine (FsStorage reads tables through maps and
//! appends the WAL through one). The `LOCK` file keeps a second lsmkv
//! process out; files replaced or removed by other code keep serving from
//! the inode the engine holds, and a reopen then reports the damage. What
//! cannot be made safe — another process truncating a mapped file in place —
//! is documented in `storage/fs.rs` and FORMAT.md, and not exercised here
//! (it is a SIGBUS by design of mapped reads).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use lsmkv::{Db, Error, FsStorage, IoKind, Options, RangeOptions};

const HOLDER_DIR: &str = "LSMKV_MAPPED_HOLDER_DIR";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lsmkv-mapped-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// What the holder prints once its database is open (libtest prints it
/// after the test's name, on the same line).
const OPENED: &str = "holder: database open";

/// Opens the database in `$LSMKV_MAPPED_HOLDER_DIR`, says `OPENED`, and holds
/// it until stdin closes. Runs only as the child of
/// `a_second_process_gets_locked`.
#[test]
fn holder() {
    let Ok(dir) = std::env::var(HOLDER_DIR) else { return };
    let db = Db::open(FsStorage::open(&dir).unwrap(), Options::production()).unwrap();
    db.put(b"held", b"by the child").unwrap();
    println!("{OPENED}");
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    db.close().unwrap();
}

#[test]
fn a_second_process_gets_locked() {
    let dir = scratch("locked");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "holder", "--nocapture", "--test-threads=1"])
        .env(HOLDER_DIR, &dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.any(|line| line.unwrap().contains(OPENED)), "the child opened the database");

    let second = FsStorage::open(&dir);
    let error = second.err().expect("a second process cannot open the directory");
    assert!(error.is_io(IoKind::Locked), "{error:?}");
    assert_eq!(error.code(), "LOCKED");
    assert!(error.to_string().contains("another process"), "the message says why: {error}");

    drop(child.stdin.take()); // the child closes and exits
    assert!(child.wait().unwrap().success());
    let db = Db::open(FsStorage::open(&dir).unwrap(), Options::production()).unwrap();
    assert_eq!(db.get(b"held").unwrap().as_deref(), Some(&b"by the child"[..]));
    db.close().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    files
}

fn value(i: u32) -> Vec<u8> {
    format!("value {i} {}", "v".repeat(i as usize % 50)).into_bytes()
}

/// Another program replaces every table by rename and deletes the WAL while
/// the engine runs (no block cache, so every read goes to the files): reads
/// and writes carry on from the files the engine holds, and a reopen names
/// the replaced table as corrupt instead of serving its bytes.
#[test]
fn files_replaced_or_removed_under_the_engine() {
    let dir = scratch("replaced");
    let options = Options { block_cache_bytes: 0, background_work: false, ..Options::teaching() };
    let db = Db::open(FsStorage::open(&dir).unwrap(), options.clone()).unwrap();
    for i in 0..100u32 {
        db.put(format!("key{i:03}").as_bytes(), &value(i)).unwrap();
    }
    db.flush().unwrap();
    let tables = files_ending(&dir, ".sst");
    assert!(tables.len() > 1, "the 30-entry caps made several tables");
    for i in 0..100u32 {
        assert_eq!(db.get(format!("key{i:03}").as_bytes()).unwrap(), Some(value(i)), "read before");
    }

    for table in &tables {
        let impostor = table.with_extension("tmp");
        std::fs::write(&impostor, vec![0xa5; 4096]).unwrap();
        std::fs::rename(&impostor, table).unwrap();
    }
    for wal in files_ending(&dir, ".wal") {
        std::fs::remove_file(wal).unwrap();
    }

    let all = db.range(&RangeOptions::default()).unwrap();
    assert_eq!(all.len(), 100);
    for (i, (key, got)) in all.iter().enumerate() {
        assert_eq!(key, format!("key{i:03}").as_bytes());
        assert_eq!(got, &value(i as u32), "served from the inode the engine holds");
    }
    db.put(b"after", b"replacement").unwrap();
    assert_eq!(db.get(b"after").unwrap().as_deref(), Some(&b"replacement"[..]));
    drop(db);

    match Db::open(FsStorage::open(&dir).unwrap(), options) {
        Err(Error::Corruption { file, .. }) => {
            assert!(file.ends_with(".sst"), "the replaced table is named: {file}");
        }
        Err(other) => panic!("reopen over replaced tables: {other:?}, not Corruption"),
        Ok(db) => {
            // A table may be opened lazily: then the first read names it.
            let read = db.range(&RangeOptions::default());
            assert!(matches!(read, Err(Error::Corruption { .. })), "{read:?}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
