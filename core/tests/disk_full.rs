//! A full disk, for real: `FsStorage` on a tmpfs of a few MiB (mounted by
//! this test, which needs root; `scripts/test.sh` requires it to run when it
//! is root, elsewhere it says it skipped). The WAL is appended through a
//! memory map, and a store through a map into a hole on a full filesystem
//! is SIGBUS — the process dies. With its blocks reserved first, the write
//! that meets the full disk gets `QuotaExceeded`, later writes are rejected,
//! reads keep working, and once space is freed a reopen has every
//! acknowledged write.

use std::path::{Path, PathBuf};
use std::process::Command;

use lsmkv::{Db, Error, FsStorage, HealthStatus, IoKind, Options};

/// A tmpfs mounted for the test's lifetime.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = std::env::temp_dir().join(format!("lsmkv-disk-full-{}-{size}", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        let status =
            Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(&dir).status();
        if status.is_ok_and(|s| s.success()) {
            Some(Tmpfs { dir })
        } else {
            let _ = std::fs::remove_dir(&dir);
            None
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        let _ = std::fs::remove_dir(&self.dir);
    }
}

fn mount_or_skip(size: &str) -> Option<Tmpfs> {
    let mounted = Tmpfs::mount(size);
    if mounted.is_none() {
        assert!(
            std::env::var_os("LSMKV_REQUIRE_DISK_FULL_TEST").is_none(),
            "LSMKV_REQUIRE_DISK_FULL_TEST is set but a tmpfs could not be mounted"
        );
        eprintln!("skipped: mounting a tmpfs needs root (CAP_SYS_ADMIN)");
    }
    mounted
}

/// Small tables, so flushes and compactions write while the disk fills;
/// or (`memtable_max_bytes` large) only the mapped WAL does.
fn options(memtable_max_bytes: usize, background_work: bool) -> Options {
    Options {
        memtable_max_bytes,
        sstable_max_bytes: 256 << 10,
        level_base_bytes: 1 << 20,
        value_size_max: 4096,
        background_work,
        ..Options::production()
    }
}

fn key(i: usize) -> Vec<u8> {
    format!("key{i:06}").into_bytes()
}

fn value(i: usize) -> Vec<u8> {
    (0..2048).map(|j| (i * 31 + j * 7) as u8).collect()
}

/// The cause must be the full disk, directly or as the read-only reason.
fn is_disk_full(error: &Error) -> bool {
    match error {
        Error::Io { kind, .. } => *kind == IoKind::QuotaExceeded,
        Error::ReadOnly { reason } => reason.contains("QuotaExceeded"),
        _ => false,
    }
}

fn fill_until_full(dir: &Path, options: &Options) -> usize {
    let db = Db::open(FsStorage::open(dir).unwrap(), options.clone()).unwrap();
    let mut acknowledged = 0;
    let error = loop {
        assert!(acknowledged < 20_000, "40 MB went into a 8 MiB filesystem");
        match db.put(&key(acknowledged), &value(acknowledged)) {
            Ok(()) => acknowledged += 1,
            Err(e) => break e,
        }
    };
    assert!(is_disk_full(&error), "the first failed write says the disk is full: {error:?}");
    let health = db.health();
    assert_eq!(health.status, HealthStatus::ReadOnly, "{health:?}");
    assert!(health.reason.as_deref().is_some_and(|r| r.contains("QuotaExceeded")), "{health:?}");
    for i in 0..20 {
        let later = db.put(&key(100_000 + i), b"v").unwrap_err();
        assert!(matches!(later, Error::ReadOnly { .. }), "later writes keep failing cleanly: {later:?}");
    }
    for i in 0..acknowledged {
        assert_eq!(db.get(&key(i)).unwrap(), Some(value(i)), "reads keep working");
    }
    db.close().unwrap();
    acknowledged
}

fn reopen_and_check(dir: &Path, options: &Options, acknowledged: usize) {
    let db = Db::open(FsStorage::open(dir).unwrap(), options.clone()).unwrap();
    for i in 0..acknowledged {
        assert_eq!(db.get(&key(i)).unwrap(), Some(value(i)), "acknowledged key {i} after freeing space");
    }
    assert_eq!(db.health().status, HealthStatus::Ok);
    for i in 0..50 {
        db.put(&key(200_000 + i), &value(i)).unwrap();
    }
    db.close().unwrap();
}

/// Goal: a full disk is an error on the write that hit it, never SIGBUS;
/// nothing acknowledged is lost; freeing space and reopening recovers.
#[test]
fn a_full_disk_is_an_error_and_loses_nothing_acknowledged() {
    for (memtable_max_bytes, background_work) in [(64 << 20, false), (512 << 10, false), (512 << 10, true)] {
        let Some(fs) = mount_or_skip("8m") else { return };
        let store = fs.dir.join("store");
        let filler = fs.dir.join("filler");
        std::fs::write(&filler, vec![1u8; 3 << 20]).unwrap();
        let options = options(memtable_max_bytes, background_work);
        let acknowledged = fill_until_full(&store, &options);
        assert!(acknowledged > 500, "a few MiB of writes went in first ({acknowledged})");
        std::fs::remove_file(&filler).unwrap();
        reopen_and_check(&store, &options, acknowledged);
        println!("memtable {memtable_max_bytes} B, background_work {background_work}: {acknowledged} writes acknowledged before the disk was full, all back");
    }
}
