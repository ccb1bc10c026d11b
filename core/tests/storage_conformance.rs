//! Runs the backend conformance suite (`lsmkv::testing::conformance`) against
//! every native backend: `MemStorage`, `FaultStorage` with no fault armed,
//! and `FsStorage` in a fresh temporary directory. The browser backends run
//! the same suite from the wasm crate.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use lsmkv::testing::conformance;
use lsmkv::testing::FaultStorage;
use lsmkv::FsStorage;
use lsmkv::{MemStorage, Storage};

/// A directory under the system temp dir, unique to this process and call,
/// removed (with its contents) on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("lsmkv-{label}-{}-{unique}", std::process::id()));
        assert!(!path.exists(), "temp dir {path:?} already exists");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn mem_storage_conforms() {
    conformance::run_all(&MemStorage::new());
}

#[test]
fn fault_storage_without_faults_conforms() {
    let storage = FaultStorage::new();
    conformance::run_all(&storage);
    assert!(storage.ops() > 0, "every call is counted");
    assert!(!storage.is_crashed());
}

#[test]
fn fs_storage_conforms() {
    let dir = TempDir::new("conformance");
    {
        let storage = FsStorage::open(&dir.0).expect("open a fresh temp dir");
        conformance::run_all(&storage);
    }
    assert!(dir.0.exists());
}

/// Storage behind `Arc` and `Box` forwards every method, so it conforms too.
#[test]
fn shared_and_boxed_storage_conforms() {
    conformance::run_all(&Arc::new(MemStorage::new()));
    let boxed: Box<dyn Storage> = Box::new(FaultStorage::new());
    conformance::run_all(&boxed);
}

/// Each named check also runs alone on a fresh storage (how the browser
/// harness reports them one by one).
#[test]
fn each_check_runs_alone() {
    for (name, check) in conformance::CHECKS {
        let storage = MemStorage::new();
        check(&storage);
        assert!(storage.list().unwrap().is_empty(), "check {name} cleans up after itself");
    }
}
