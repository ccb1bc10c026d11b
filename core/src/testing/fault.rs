//! `FaultStorage`: an in-memory storage that simulates crashes and injects
//! I/O errors, for crash-consistency tests (no_std).
//!
//! It tracks, per file, every byte appended and how many of them are synced,
//! following the durability model of FORMAT.md ("Storage assumptions"):
//! appended bytes are at risk until `sync` returns; `create`, `truncate`,
//! `rename` and `remove` are durable on return.
//!
//! Every trait call is numbered from 1 (reads included). A test arms a fault
//! at a call number, runs the engine until it fails, then asks what a
//! restarted process would find:
//!
//! ```
//! use lsmkv::testing::{FaultStorage, Tear};
//! use lsmkv::Storage;
//!
//! let storage = FaultStorage::new();
//! storage.create("000001.wal").unwrap(); // call 1
//! storage.append("000001.wal", b"synced").unwrap(); // call 2
//! storage.sync("000001.wal").unwrap(); // call 3
//! storage.crash_at(storage.ops() + 2); // call 5 will crash
//! storage.append("000001.wal", b"-kept").unwrap(); // call 4: works, unsynced
//! assert!(storage.sync("000001.wal").is_err()); // call 5: the crash
//! assert!(storage.len("000001.wal").is_err()); // dead from now on
//!
//! let lost = storage.after_crash(Tear::DropUnsynced);
//! assert_eq!(lost.read_all("000001.wal").unwrap(), b"synced");
//! let kept = storage.after_crash(Tear::KeepUnsynced);
//! assert_eq!(kept.read_all("000001.wal").unwrap(), b"synced-kept");
//! ```
//!
//! To crash at every point of an operation, run it once to count its calls
//! (`ops()` before and after), then for each n rebuild the same starting
//! state, `crash_at(n)`, run it again and check what
//! `after_crash(Tear::RandomPrefix { seed })` recovers to, for several seeds.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::error::{Error, IoKind, Result};
use crate::storage::Storage;
use crate::sync::Mutex;
use crate::testing::Rng;

/// The message of every error returned by a crashed `FaultStorage`.
pub const CRASH_MESSAGE: &str = "simulated crash";
/// The message of an error injected by `fail_at`.
pub const INJECTED_MESSAGE: &str = "injected failure";

/// What happens to each file's unsynced bytes when a crash is simulated.
/// Synced bytes always survive, and survivors are always a prefix (storage
/// does not invent or reorder bytes: FORMAT.md, assumption 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tear {
    /// Every unsynced byte is lost: power failed before any write-back.
    DropUnsynced,
    /// Every unsynced byte survives, including all of an `append` the
    /// crash interrupted: the process died but the OS kept its writes.
    KeepUnsynced,
    /// Each file keeps a prefix of its unsynced bytes drawn from `seed`
    /// (the torn last write). For each file in name order: a quarter of the
    /// time none, a quarter all, otherwise a uniform length in between, so
    /// record boundaries and mid-record tears are both exercised.
    RandomPrefix { seed: u64 },
}

/// One file: every byte appended and not truncated, and how many of them
/// (a prefix) are durable.
#[derive(Clone, Debug, Default)]
struct FaultFile {
    data: Vec<u8>,
    synced_len: usize,
    /// Set by a failed `sync`: no byte from here on is ever known durable,
    /// whatever later syncs return (a crash keeps a prefix of them, as of
    /// unsynced bytes). Linux marks the dirty pages of a failed fsync clean
    /// and reports the error once, so a retried fsync "succeeds" whether or
    /// not the data reached the disk ("fsyncgate"); an engine that retries
    /// and acknowledges may lose writes, and `after_crash` shows it.
    durable_cap: Option<usize>,
}

/// The mutable state behind the lock.
#[derive(Default)]
struct State {
    files: BTreeMap<String, FaultFile>,
    /// Trait calls made so far (the number of the last call).
    ops: u64,
    /// The call that crashes, if armed.
    crash_at: Option<u64>,
    /// True once the crash happened: every later call fails.
    crashed: bool,
    /// Calls that fail with an injected error, by number.
    fail_at: BTreeMap<u64, IoKind>,
    /// Syncs left until one fails (1: the next), and how (`fail_nth_sync`).
    sync_fail: Option<(u64, IoKind)>,
}

/// What the fault plan decides for a call.
enum Fate {
    Run,
    /// This call is the crash (`first` = true) or comes after it.
    Crash {
        first: bool,
    },
    Fail(IoKind),
}

/// A crash- and fault-injecting in-memory storage. See the module docs.
/// With no fault armed it behaves exactly like `MemStorage` (and passes the
/// conformance suite).
#[derive(Default)]
pub struct FaultStorage {
    state: Mutex<State>,
}

impl FaultStorage {
    /// An empty storage with no fault armed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trait calls made so far, every method counted (including reads and
    /// calls that failed). The next call is number `ops() + 1`.
    pub fn ops(&self) -> u64 {
        self.state.lock().ops
    }

    /// Arms a crash at call number `n` (1-based, counted by `ops`). That call
    /// has no effect — except an `append`, whose bytes are kept as unsynced
    /// so `after_crash` can keep a prefix of them — and it and every later
    /// call return `Error::Io { kind: Other, message: "simulated crash" }`.
    /// Replaces an earlier `crash_at`. A number already past never fires.
    pub fn crash_at(&self, n: u64) {
        assert!(n >= 1, "calls are numbered from 1");
        self.state.lock().crash_at = Some(n);
    }

    /// Arms an injected I/O error at call number `n`: that call returns
    /// `Error::Io { kind, message: "injected failure" }` without any effect
    /// (a failed `append` appends nothing) and later calls work normally.
    /// A failed `sync` syncs nothing, and more: the file's unsynced bytes
    /// and any appended later stay at risk in a crash even if a later `sync`
    /// of it succeeds (see `FaultFile::durable_cap`). Several calls may be
    /// armed; `fail_nth_sync` arms a sync by its count instead.
    pub fn fail_at(&self, n: u64, kind: IoKind) {
        assert!(n >= 1, "calls are numbered from 1");
        self.state.lock().fail_at.insert(n, kind);
    }

    /// Arms an injected error at the `n`-th `sync` call from now (1: the
    /// next), whatever the file; it fails as a `fail_at` sync does.
    pub fn fail_nth_sync(&self, n: u64, kind: IoKind) {
        assert!(n >= 1, "syncs are numbered from 1");
        self.state.lock().sync_fail = Some((n, kind));
    }

    /// Disarms every pending crash and injected error. A crash that already
    /// happened stays (use `after_crash` to restart).
    pub fn clear_faults(&self) {
        let mut state = self.state.lock();
        state.crash_at = None;
        state.fail_at.clear();
        state.sync_fail = None;
    }

    /// True once the armed crash has happened.
    pub fn is_crashed(&self) -> bool {
        self.state.lock().crashed
    }

    /// The durable state a restarted process would see: each file keeps its
    /// synced bytes plus, per `tear`, none, all or a prefix of the rest. The
    /// result is a new storage with everything in it synced, no fault armed
    /// and `ops() == 0`. Works whether or not a crash happened (without one,
    /// it is a power cut at this instant). Does not change `self`.
    pub fn after_crash(&self, tear: Tear) -> FaultStorage {
        let state = self.state.lock();
        let mut rng = Rng::new(match tear {
            Tear::RandomPrefix { seed } => seed,
            _ => 0,
        });
        let files = state
            .files
            .iter()
            .map(|(name, file)| {
                // Past a failed sync nothing is known durable: a prefix of
                // it may have reached the medium, like any unsynced bytes.
                let durable = file.durable_cap.map_or(file.synced_len, |cap| cap.min(file.synced_len));
                let unsynced = file.data.len() - durable;
                let kept = durable + surviving_unsynced(tear, unsynced, &mut rng);
                let data = file.data[..kept].to_vec();
                (name.clone(), FaultFile { synced_len: data.len(), data, durable_cap: None })
            })
            .collect();
        FaultStorage { state: Mutex::new(State { files, ..State::default() }) }
    }

    /// Every file name, sorted. Not a trait call: not counted, never fails.
    pub fn file_names(&self) -> Vec<String> {
        self.state.lock().files.keys().cloned().collect()
    }

    /// A file's bytes, synced or not. Not counted, never fails.
    pub fn raw_bytes(&self, name: &str) -> Option<Vec<u8>> {
        self.state.lock().files.get(name).map(|file| file.data.clone())
    }

    /// How many leading bytes of a file are synced. Not counted.
    pub fn synced_len(&self, name: &str) -> Option<u64> {
        self.state.lock().files.get(name).map(|file| file.synced_len as u64)
    }

    /// Flips bit `bit` (0 = lowest bit of byte 0) of a file in place, as
    /// silent media damage would; durability is unchanged. Returns false if
    /// the file or the bit does not exist. Not counted.
    pub fn flip_bit(&self, name: &str, bit: u64) -> bool {
        let mut state = self.state.lock();
        let Some(file) = state.files.get_mut(name) else {
            return false;
        };
        let byte = usize::try_from(bit / 8).ok().and_then(|index| file.data.get_mut(index));
        match byte {
            Some(byte) => {
                *byte ^= 1 << (bit % 8);
                true
            }
            None => false,
        }
    }

    /// Replaces a file's bytes (all synced), creating it if needed: for tests
    /// that build damaged files by hand. Not counted.
    pub fn set_raw_bytes(&self, name: &str, data: Vec<u8>) {
        let file = FaultFile { synced_len: data.len(), data, durable_cap: None };
        self.state.lock().files.insert(name.to_string(), file);
    }

    /// Counts a call and decides its fate, then runs `body` on the files if
    /// the call goes ahead. `name` is the file the error names.
    fn call<T>(&self, name: &str, body: impl FnOnce(&mut BTreeMap<String, FaultFile>) -> Result<T>) -> Result<T> {
        let mut state = self.state.lock();
        match decide(&mut state) {
            Fate::Run => body(&mut state.files),
            Fate::Crash { .. } => Err(Error::io(IoKind::Other, name, CRASH_MESSAGE)),
            Fate::Fail(kind) => Err(Error::io(kind, name, INJECTED_MESSAGE)),
        }
    }
}

/// Numbers the call and applies the fault plan to it.
fn decide(state: &mut State) -> Fate {
    state.ops += 1;
    let n = state.ops;
    if state.crashed {
        return Fate::Crash { first: false };
    }
    if state.crash_at == Some(n) {
        state.crashed = true;
        return Fate::Crash { first: true };
    }
    match state.fail_at.remove(&n) {
        Some(kind) => Fate::Fail(kind),
        None => Fate::Run,
    }
}

/// How many of `unsynced` bytes survive a crash under `tear`.
fn surviving_unsynced(tear: Tear, unsynced: usize, rng: &mut Rng) -> usize {
    match tear {
        Tear::DropUnsynced => 0,
        Tear::KeepUnsynced => unsynced,
        Tear::RandomPrefix { .. } => {
            // Draw for every file, even fully synced ones, so one file's
            // outcome does not depend on whether another had unsynced bytes.
            let choice = rng.next_u64();
            match choice % 4 {
                0 => 0,
                1 => unsynced,
                _ => (rng.next_u64() % (unsynced as u64 + 1)) as usize,
            }
        }
    }
}

fn not_found(name: &str) -> Error {
    Error::io(IoKind::NotFound, name, "no such file")
}

fn file_mut<'a>(files: &'a mut BTreeMap<String, FaultFile>, name: &str) -> Result<&'a mut FaultFile> {
    files.get_mut(name).ok_or_else(|| not_found(name))
}

fn file<'a>(files: &'a BTreeMap<String, FaultFile>, name: &str) -> Result<&'a FaultFile> {
    files.get(name).ok_or_else(|| not_found(name))
}

impl Storage for FaultStorage {
    fn create(&self, name: &str) -> Result<()> {
        self.call(name, |files| {
            if files.contains_key(name) {
                return Err(Error::io(IoKind::AlreadyExists, name, "file exists"));
            }
            files.insert(name.to_string(), FaultFile::default());
            Ok(())
        })
    }

    fn append(&self, name: &str, data: &[u8]) -> Result<()> {
        let mut state = self.state.lock();
        match decide(&mut state) {
            Fate::Run => {
                file_mut(&mut state.files, name)?.data.extend_from_slice(data);
                Ok(())
            }
            Fate::Crash { first } => {
                // The interrupted append may have landed in part: keep its
                // bytes as unsynced and let `after_crash` choose the prefix.
                if first {
                    if let Some(file) = state.files.get_mut(name) {
                        file.data.extend_from_slice(data);
                    }
                }
                Err(Error::io(IoKind::Other, name, CRASH_MESSAGE))
            }
            Fate::Fail(kind) => Err(Error::io(kind, name, INJECTED_MESSAGE)),
        }
    }

    fn read_at(&self, name: &str, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.call(name, |files| {
            let data = &file(files, name)?.data;
            let range = usize::try_from(offset)
                .ok()
                .and_then(|start| Some(start..start.checked_add(buf.len())?))
                .filter(|range| range.end <= data.len())
                .ok_or_else(|| Error::corruption(name, offset, "read past end of file"))?;
            buf.copy_from_slice(&data[range]);
            Ok(())
        })
    }

    fn len(&self, name: &str) -> Result<u64> {
        self.call(name, |files| Ok(file(files, name)?.data.len() as u64))
    }

    fn sync(&self, name: &str) -> Result<()> {
        let mut state = self.state.lock();
        let mut fate = decide(&mut state);
        if let (Fate::Run, Some((left, kind))) = (&fate, state.sync_fail) {
            state.sync_fail = if left == 1 { None } else { Some((left - 1, kind)) };
            if left == 1 {
                fate = Fate::Fail(kind);
            }
        }
        match fate {
            Fate::Run => {
                let file = file_mut(&mut state.files, name)?;
                file.synced_len = file.data.len();
                Ok(())
            }
            Fate::Crash { .. } => Err(Error::io(IoKind::Other, name, CRASH_MESSAGE)),
            Fate::Fail(kind) => {
                if let Some(file) = state.files.get_mut(name) {
                    let cap = file.durable_cap.unwrap_or(usize::MAX).min(file.synced_len);
                    file.durable_cap = Some(cap);
                }
                Err(Error::io(kind, name, INJECTED_MESSAGE))
            }
        }
    }

    fn truncate(&self, name: &str, len: u64) -> Result<()> {
        self.call(name, |files| {
            let file = file_mut(files, name)?;
            if len < file.data.len() as u64 {
                // Durable on return: the cut is permanent, and bytes past it
                // can no longer count as synced.
                file.data.truncate(len as usize);
                file.synced_len = file.synced_len.min(file.data.len());
            }
            // Bytes appended after a cut at or below the cap are new pages.
            if file.durable_cap.is_some_and(|cap| file.data.len() <= cap) {
                file.durable_cap = None;
            }
            Ok(())
        })
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        self.call(from, |files| {
            // The name change is durable; the file's unsynced bytes stay
            // unsynced under the new name.
            let moved = files.remove(from).ok_or_else(|| not_found(from))?;
            files.insert(to.to_string(), moved);
            Ok(())
        })
    }

    fn remove(&self, name: &str) -> Result<()> {
        self.call(name, |files| files.remove(name).map(|_| ()).ok_or_else(|| not_found(name)))
    }

    fn list(&self) -> Result<Vec<String>> {
        self.call("(list)", |files| Ok(files.keys().cloned().collect()))
    }

    fn read_all(&self, name: &str) -> Result<Vec<u8>> {
        self.call(name, |files| Ok(file(files, name)?.data.clone()))
    }

    fn exists(&self, name: &str) -> Result<bool> {
        self.call(name, |files| Ok(files.contains_key(name)))
    }
}

#[cfg(test)]
mod tests;
