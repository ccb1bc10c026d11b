//! The data engine a node serves. In single mode it is one `Db` in the data
//! directory. In cluster mode it is the Raft state machine, and a snapshot
//! from the leader must be able to replace the whole of it crash-safely, so
//! it lives in one of a sequence of *generation* directories named by a
//! pointer file, under `<data-dir>/state/`:
//!
//! ```text
//! CURRENT        the live generation's directory name and a newline
//! gen-000001/    an lsmkv store
//! ```
//!
//! `DataStore::replace` fills a fresh `gen-<n+1>/`, syncs it, writes
//! `CURRENT.tmp`, syncs it, renames it over `CURRENT` and syncs the
//! directory; only then does it switch the handle readers get and retire the
//! old generation, which is closed and removed when its last reader lets go.
//! A crash before the rename leaves the old generation current, after it the
//! new one; `open_generations` removes every directory `CURRENT` does not
//! name.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use lsmkv::{Db, FsStorage, IoKind, Options};

/// The pointer file's name, and the name it is written under first.
const POINTER: &str = "CURRENT";
const POINTER_TMP: &str = "CURRENT.tmp";
const GENERATION_PREFIX: &str = "gen-";

/// One open store. Readers hold an `Arc` of it for the length of a request,
/// so a snapshot install never closes a store under a reader.
pub struct Generation {
    db: Db,
    /// The generation's directory (None in single mode: never removed).
    dir: Option<PathBuf>,
    /// Set once a newer generation is current: the last holder closes the
    /// store and removes its directory.
    retired: AtomicBool,
}

impl Generation {
    pub fn db(&self) -> &Db {
        &self.db
    }
}

impl Drop for Generation {
    fn drop(&mut self) {
        if self.retired.load(Ordering::SeqCst) {
            let _ = self.db.close();
            if let Some(dir) = &self.dir {
                let _ = fs::remove_dir_all(dir);
            }
        }
    }
}

/// The node's data store: the current generation, and how to make the next.
pub struct DataStore {
    current: RwLock<Arc<Generation>>,
    /// `<data-dir>/state` in cluster mode; None in single mode.
    root: Option<PathBuf>,
    options: Options,
    /// Serializes `replace` (openraft installs one snapshot at a time; this
    /// makes it a property of the type rather than of the caller).
    replacing: Mutex<()>,
}

fn io_error(path: &Path, e: std::io::Error) -> lsmkv::Error {
    lsmkv::Error::io(IoKind::Other, &path.display().to_string(), e.to_string())
}

fn sync_dir(dir: &Path) -> lsmkv::Result<()> {
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_error(dir, e))
}

fn generation_name(number: u64) -> String {
    format!("{GENERATION_PREFIX}{number:06}")
}

fn generation_number(name: &str) -> Option<u64> {
    name.strip_prefix(GENERATION_PREFIX)?.parse().ok()
}

impl DataStore {
    /// Single mode: the store is `db`, for good.
    pub fn fixed(db: Db) -> Self {
        let generation = Generation { db, dir: None, retired: AtomicBool::new(false) };
        DataStore {
            current: RwLock::new(Arc::new(generation)),
            root: None,
            options: Options::default(),
            replacing: Mutex::new(()),
        }
    }

    /// Cluster mode: opens the generation `root/CURRENT` names (creating the
    /// first one if there is none), and removes every other generation.
    pub fn open_generations(root: &Path, options: Options) -> lsmkv::Result<Self> {
        fs::create_dir_all(root).map_err(|e| io_error(root, e))?;
        let pointer = root.join(POINTER);
        let name = match fs::read_to_string(&pointer) {
            Ok(text) => text.trim().to_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let name = generation_name(1);
                fs::create_dir_all(root.join(&name)).map_err(|e| io_error(root, e))?;
                write_pointer(root, &name)?;
                name
            }
            Err(e) => return Err(io_error(&pointer, e)),
        };
        if generation_number(&name).is_none() {
            return Err(lsmkv::Error::corruption(&pointer.display().to_string(), 0, "not a generation name"));
        }
        for entry in fs::read_dir(root).map_err(|e| io_error(root, e))? {
            let entry = entry.map_err(|e| io_error(root, e))?;
            let other = entry.file_name().to_string_lossy().into_owned();
            if other != name && (generation_number(&other).is_some() || other == POINTER_TMP) {
                let _ = fs::remove_dir_all(entry.path()).or_else(|_| fs::remove_file(entry.path()));
            }
        }
        let dir = root.join(&name);
        let db = Db::open(FsStorage::open(&dir)?, options.clone())?;
        let generation = Generation { db, dir: Some(dir), retired: AtomicBool::new(false) };
        Ok(DataStore {
            current: RwLock::new(Arc::new(generation)),
            root: Some(root.to_owned()),
            options,
            replacing: Mutex::new(()),
        })
    }

    /// The live generation; hold it for the length of one request.
    pub fn current(&self) -> Arc<Generation> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the whole store with what `fill` writes into a fresh one
    /// (see the module comment for the crash-safe order of steps).
    pub fn replace(&self, fill: impl FnOnce(&Db) -> lsmkv::Result<()>) -> lsmkv::Result<()> {
        let _one_at_a_time = self.replacing.lock().unwrap_or_else(|e| e.into_inner());
        let root = self.root.as_ref().ok_or_else(|| lsmkv::Error::invalid_argument("a fixed store is not replaced"))?;
        let old = self.current();
        let old_number = old
            .dir
            .as_ref()
            .and_then(|d| d.file_name())
            .and_then(|n| generation_number(&n.to_string_lossy()))
            .unwrap_or(0);
        let name = generation_name(old_number + 1);
        let dir = root.join(&name);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        sync_dir(root)?;
        let db = Db::open(FsStorage::open(&dir)?, self.options.clone())?;
        let filled = fill(&db).and_then(|()| db.sync());
        if let Err(e) = filled {
            let _ = db.close();
            let _ = fs::remove_dir_all(&dir);
            return Err(e);
        }
        write_pointer(root, &name)?;
        let generation = Arc::new(Generation { db, dir: Some(dir), retired: AtomicBool::new(false) });
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = generation;
        old.retired.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Closes the live store (syncs its WAL); later calls see `Closed`.
    pub fn close(&self) -> lsmkv::Result<()> {
        self.current().db.close()
    }
}

/// Points `root/CURRENT` at `name`, atomically and durably.
fn write_pointer(root: &Path, name: &str) -> lsmkv::Result<()> {
    let tmp = root.join(POINTER_TMP);
    let mut file = fs::File::create(&tmp).map_err(|e| io_error(&tmp, e))?;
    file.write_all(format!("{name}\n").as_bytes()).and_then(|()| file.sync_all()).map_err(|e| io_error(&tmp, e))?;
    fs::rename(&tmp, root.join(POINTER)).map_err(|e| io_error(root, e))?;
    sync_dir(root)
}
