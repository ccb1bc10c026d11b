//! The slot pool against simulated files that can crash: the core's
//! conformance suite, reloads, and every crash point of every name-level
//! operation (create, remove, rename to a new name and over an existing one,
//! truncate), under two crash models: a killed process (every issued write
//! survives, as when the browser is killed) and a power loss (each file keeps
//! a prefix of its unflushed writes, the last one possibly torn).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::*;
use lsmkv::{IoKind, Result, Storage};

#[derive(Clone, Debug)]
enum Op {
    Write { at: u64, data: Vec<u8> },
    Truncate { size: u64 },
}

fn apply(bytes: &mut Vec<u8>, op: &Op) {
    match op {
        Op::Write { at, data } => {
            let end = *at as usize + data.len();
            if bytes.len() < end {
                bytes.resize(end, 0);
            }
            bytes[*at as usize..end].copy_from_slice(data);
        }
        Op::Truncate { size } => bytes.resize(*size as usize, 0),
    }
}

#[derive(Default)]
struct FileState {
    durable: Vec<u8>,
    pending: Vec<Op>,
}

impl FileState {
    fn view(&self) -> Vec<u8> {
        let mut bytes = self.durable.clone();
        for op in &self.pending {
            apply(&mut bytes, op);
        }
        bytes
    }
}

/// Every simulated file, and the crash trigger: after `budget` more
/// mutating calls (write, truncate, flush) every call fails, as if the
/// process died there. The call that exhausts the budget may tear: a write
/// lands only its first `tear` bytes.
#[derive(Default)]
struct Disk {
    files: BTreeMap<u64, FileState>,
    budget: Option<usize>,
    tear: Option<usize>,
    crashed: bool,
}

#[derive(Clone)]
struct SimFile {
    disk: Arc<Mutex<Disk>>,
    id: u64,
}

fn dead() -> IoFailure {
    IoFailure::new(IoKind::Other, "crashed")
}

impl SimFile {
    /// Counts a mutating call against the budget; `Err` once crashed.
    fn spend(disk: &mut Disk) -> std::result::Result<bool, IoFailure> {
        if disk.crashed {
            return Err(dead());
        }
        match &mut disk.budget {
            Some(0) => {
                disk.crashed = true;
                Ok(true)
            }
            Some(n) => {
                *n -= 1;
                Ok(false)
            }
            None => Ok(false),
        }
    }
}

impl SlotFile for SimFile {
    fn size(&self) -> IoResult<u64> {
        let disk = self.disk.lock().unwrap();
        if disk.crashed {
            return Err(dead());
        }
        Ok(disk.files[&self.id].view().len() as u64)
    }
    fn read(&self, at: u64, buf: &mut [u8]) -> IoResult<usize> {
        let disk = self.disk.lock().unwrap();
        if disk.crashed {
            return Err(dead());
        }
        let view = disk.files[&self.id].view();
        let start = (at as usize).min(view.len());
        let n = buf.len().min(view.len() - start);
        buf[..n].copy_from_slice(&view[start..start + n]);
        Ok(n)
    }
    fn write(&self, at: u64, data: &[u8]) -> IoResult<usize> {
        let mut disk = self.disk.lock().unwrap();
        if Self::spend(&mut disk)? {
            let keep = disk.tear.unwrap_or(0).min(data.len());
            if keep > 0 {
                disk.files.get_mut(&self.id).unwrap().pending.push(Op::Write { at, data: data[..keep].to_vec() });
            }
            return Err(dead());
        }
        disk.files.get_mut(&self.id).unwrap().pending.push(Op::Write { at, data: data.to_vec() });
        Ok(data.len())
    }
    fn truncate(&self, size: u64) -> IoResult<()> {
        let mut disk = self.disk.lock().unwrap();
        if Self::spend(&mut disk)? {
            return Err(dead());
        }
        disk.files.get_mut(&self.id).unwrap().pending.push(Op::Truncate { size });
        Ok(())
    }
    fn flush(&self) -> IoResult<()> {
        let mut disk = self.disk.lock().unwrap();
        if Self::spend(&mut disk)? {
            return Err(dead());
        }
        let file = disk.files.get_mut(&self.id).unwrap();
        file.durable = file.view();
        file.pending.clear();
        Ok(())
    }
}

#[derive(Clone, Copy, Debug)]
enum Model {
    /// Every issued write survives (the browser was killed).
    Kill,
    /// Each file keeps the first `keep` of its unflushed operations (all of
    /// them if it has fewer): unflushed writes are lost in order.
    PowerLoss { keep: usize },
}

/// A fresh disk of `slots` empty files.
fn disk(slots: u64) -> Arc<Mutex<Disk>> {
    let disk = Arc::new(Mutex::new(Disk::default()));
    for id in 1..=slots {
        disk.lock().unwrap().files.insert(id, FileState::default());
    }
    disk
}

fn files(disk: &Arc<Mutex<Disk>>) -> Vec<(u64, SimFile)> {
    let ids: Vec<u64> = disk.lock().unwrap().files.keys().copied().collect();
    ids.into_iter().map(|id| (id, SimFile { disk: disk.clone(), id })).collect()
}

fn load(disk: &Arc<Mutex<Disk>>) -> Pool<SimFile> {
    Pool::load(files(disk)).expect("the pool loads")
}

/// The disk after a crash under `model`: a new disk holding what survived.
fn reboot(disk: &Arc<Mutex<Disk>>, model: Model) -> Arc<Mutex<Disk>> {
    let old = disk.lock().unwrap();
    let mut fresh = Disk::default();
    for (id, file) in &old.files {
        let mut bytes = file.durable.clone();
        let keep = match model {
            Model::Kill => file.pending.len(),
            Model::PowerLoss { keep } => keep.min(file.pending.len()),
        };
        for op in &file.pending[..keep] {
            apply(&mut bytes, op);
        }
        fresh.files.insert(*id, FileState { durable: bytes, pending: Vec::new() });
    }
    Arc::new(Mutex::new(fresh))
}

/// Every logical file and its bytes.
fn contents(pool: &mut Pool<SimFile>) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for name in pool.list() {
        let len = pool.len(&name).unwrap();
        let mut buf = vec![0u8; len as usize];
        pool.read_at(&name, 0, &mut buf).unwrap();
        out.insert(name, buf);
    }
    out
}

#[test]
fn headers_round_trip_and_damage_is_invalid() {
    for header in [
        Header { generation: 1, name: Some("CURRENT".into()) },
        Header { generation: u64::MAX - 1, name: None },
        Header { generation: 7, name: Some("x".repeat(NAME_MAX)) },
    ] {
        let bytes = encode_header(&header);
        assert_eq!(decode_header(&bytes), Copy::Valid(header.clone()));
        for cut in 0..bytes.len() {
            assert_eq!(decode_header(&bytes[..cut]), Copy::Invalid, "a torn header ({cut} bytes) is invalid");
        }
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x10;
            assert_eq!(decode_header(&flipped), Copy::Invalid, "a flipped byte at {i} is caught");
        }
    }
    assert_eq!(decode_header(&[0u8; 2048]), Copy::Invalid, "a zeroed copy is invalid");
    // A checksummed header of a newer version is refused, not misread.
    let mut newer = encode_header(&Header { generation: 3, name: Some("a".into()) });
    newer[8..10].copy_from_slice(&2u16.to_le_bytes());
    let end = newer.len() - 4;
    let crc = crc32(&newer[..end]).to_le_bytes();
    newer[end..].copy_from_slice(&crc);
    assert_eq!(decode_header(&newer), Copy::NewerVersion(2));
}

/// The bytes `wasm/FORMAT.md` documents, spelled out (CRCs from an
/// independent implementation, Python's `zlib.crc32`).
#[test]
fn headers_have_the_documented_bytes() {
    let used = encode_header(&Header { generation: 7, name: Some("CURRENT".into()) });
    let mut expected = b"LSMKVSLT".to_vec();
    expected.extend_from_slice(&[1, 0]); // version 1
    expected.extend_from_slice(&[1, 0]); // flags: in use
    expected.extend_from_slice(&[7, 0, 0, 0, 0, 0, 0, 0]); // generation
    expected.extend_from_slice(&[7, 0]); // name length
    expected.extend_from_slice(b"CURRENT");
    expected.extend_from_slice(&0x3d8f_9d70u32.to_le_bytes());
    assert_eq!(used, expected);

    let free = encode_header(&Header { generation: 9, name: None });
    let mut expected = b"LSMKVSLT".to_vec();
    expected.extend_from_slice(&[1, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expected.extend_from_slice(&0x48b4_7249u32.to_le_bytes());
    assert_eq!(free, expected);
}

#[test]
fn crc32_matches_the_ieee_check_value() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

#[test]
fn conformance_suite_passes_and_a_reload_sees_the_same_files() {
    let disk = disk(64);
    let storage = PoolStorage::new(load(&disk));
    lsmkv::testing::conformance::run_all(&storage);
    storage.create("kept").unwrap();
    storage.append("kept", b"survives a reload").unwrap();
    storage.create("switch.tmp").unwrap();
    storage.append("switch.tmp", b"new").unwrap();
    storage.create("switch").unwrap();
    storage.append("switch", b"old").unwrap();
    storage.rename("switch.tmp", "switch").unwrap();
    let before = storage.with(contents);
    assert_eq!(storage.with(|p| p.live_files()), 2);
    let mut reloaded = load(&disk);
    assert_eq!(contents(&mut reloaded), before);
    assert_eq!(reloaded.free_slots(), 62, "every slot the suite used is free again");
    assert_eq!(reloaded.counters().stale_slots_freed, 0);
    // The suite again on the reloaded pool (it expects its names absent).
    let storage = PoolStorage::new(reloaded);
    lsmkv::testing::conformance::run_all(&storage);
}

#[test]
fn an_exhausted_pool_fails_create_clearly_and_takes_new_slots() {
    let disk = disk(2);
    let mut pool = load(&disk);
    pool.create("a").unwrap();
    pool.create("b").unwrap();
    let error = pool.create("c").unwrap_err();
    assert!(error.to_string().contains("exhausted"), "{error}");
    disk.lock().unwrap().files.insert(3, FileState::default());
    pool.add_free(3, SimFile { disk: disk.clone(), id: 3 });
    pool.create("c").unwrap();
    pool.remove("a").unwrap();
    let taken = pool.take_free(5);
    assert_eq!(taken.len(), 1);
    assert_eq!(pool.slot_count(), 2);
}

/// The state a test starts an operation from: two files, `a` and `b`.
fn setup(disk: &Arc<Mutex<Disk>>) -> BTreeMap<String, Vec<u8>> {
    let mut pool = load(disk);
    pool.create("a").unwrap();
    pool.append("a", b"alpha-bytes").unwrap();
    pool.sync("a").unwrap();
    pool.create("b").unwrap();
    pool.append("b", b"bravo").unwrap();
    pool.sync("b").unwrap();
    contents(&mut pool)
}

type Step = fn(&mut Pool<SimFile>) -> Result<()>;

/// Operations as steps: a crash may leave the state after any whole step.
fn operations() -> Vec<(&'static str, Vec<Step>)> {
    vec![
        ("create", vec![|p| p.create("c")]),
        ("remove", vec![|p| p.remove("a")]),
        ("rename to a new name", vec![|p| p.rename("a", "c")]),
        ("rename over an existing file", vec![|p| p.rename("a", "b")]),
        ("truncate", vec![|p| p.truncate("a", 5)]),
        (
            "the manifest switch: create, append, sync, rename over",
            vec![|p| p.create("CURRENT.tmp"), |p| p.append("CURRENT.tmp", b"next"), |p| p.sync("CURRENT.tmp"), |p| {
                p.rename("CURRENT.tmp", "b")
            }],
        ),
    ]
}

/// True if `state` is one of `states`, allowing an unsynced append's file
/// to hold any prefix of its bytes (the storage contract).
fn allowed(state: &BTreeMap<String, Vec<u8>>, states: &[BTreeMap<String, Vec<u8>>]) -> bool {
    states.iter().any(|want| {
        want.len() == state.len()
            && want.iter().all(|(name, bytes)| {
                state.get(name).is_some_and(|got| got == bytes || (name == "CURRENT.tmp" && bytes.starts_with(got)))
            })
    })
}

#[test]
fn every_crash_point_of_every_operation_leaves_the_old_or_the_new_state() {
    let mut checked = 0;
    for (label, steps) in operations() {
        // The state before, and after each step, without a crash.
        let clean = disk(8);
        let mut states = vec![setup(&clean)];
        let mut pool = load(&clean);
        for step in &steps {
            step(&mut pool).unwrap();
            states.push(contents(&mut pool));
        }
        let after = states.last().unwrap().clone();
        assert_ne!(states[0], after, "{label} changes something");
        for budget in 0..40 {
            for tear in [None, Some(1), Some(14), Some(23), Some(30)] {
                for model in [Model::Kill, Model::PowerLoss { keep: 0 }, Model::PowerLoss { keep: 1 }] {
                    let disk = disk(8);
                    setup(&disk);
                    let mut pool = load(&disk);
                    {
                        let mut d = disk.lock().unwrap();
                        d.budget = Some(budget);
                        d.tear = tear;
                    }
                    let result = steps.iter().try_for_each(|step| step(&mut pool));
                    let crashed = disk.lock().unwrap().crashed;
                    let recovered = reboot(&disk, model);
                    let mut reloaded = load(&recovered);
                    let state = contents(&mut reloaded);
                    if result.is_ok() {
                        assert!(!crashed, "{label}: an operation that returned did not crash");
                        assert_eq!(
                            state, after,
                            "{label}: an operation that returned is durable ({model:?}, budget {budget})"
                        );
                    } else {
                        assert!(
                            allowed(&state, &states),
                            "{label}: crash after {budget} calls ({model:?}, tear {tear:?}) left {state:?}, none of {states:?}"
                        );
                    }
                    // The reloaded pool is fully usable and stays consistent.
                    let storage = PoolStorage::new(reloaded);
                    lsmkv::testing::conformance::check_rename(&storage);
                    lsmkv::testing::conformance::check_create(&storage);
                    let mut again = load(&recovered);
                    assert_eq!(contents(&mut again), state, "{label}: a second reload agrees");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 1000);
}

#[test]
fn unsynced_appends_lose_only_a_suffix_and_synced_bytes_survive() {
    for keep in 0..6 {
        let disk = disk(4);
        let mut pool = load(&disk);
        pool.create("wal").unwrap();
        pool.append("wal", b"synced;").unwrap();
        pool.sync("wal").unwrap();
        for chunk in [&b"one;"[..], b"two;", b"three;"] {
            pool.append("wal", chunk).unwrap();
        }
        let recovered = reboot(&disk, Model::PowerLoss { keep });
        let mut reloaded = load(&recovered);
        let bytes = contents(&mut reloaded).remove("wal").expect("a created file survives");
        let full = b"synced;one;two;three;";
        assert!(full.starts_with(&bytes), "a prefix survives: {:?}", String::from_utf8_lossy(&bytes));
        assert!(bytes.starts_with(b"synced;"), "synced bytes survive");
    }
}

#[test]
fn a_stale_duplicate_loses_to_the_newer_generation_and_is_freed() {
    // Crash right after a rename's header flush, before the replaced slot
    // is freed: two slots say "b".
    let disk = disk(4);
    setup(&disk);
    let mut pool = load(&disk);
    // rename = flush(a), header(a), flush(a), then release(b): header(b), ...
    disk.lock().unwrap().budget = Some(3);
    assert!(pool.rename("a", "b").is_err());
    let recovered = reboot(&disk, Model::PowerLoss { keep: 0 });
    let mut reloaded = load(&recovered);
    assert_eq!(reloaded.counters().stale_slots_freed, 1);
    let state = contents(&mut reloaded);
    assert_eq!(state.get("b").map(Vec::as_slice), Some(&b"alpha-bytes"[..]));
    assert!(!state.contains_key("a"));
    assert_eq!(reloaded.free_slots(), 3);
}

#[test]
fn random_operations_with_crashes_match_a_model() {
    // A deterministic random walk: operations on a handful of names, a crash
    // at a random point, a reload, and a check against the model of what
    // returned (everything returned is durable: every mutation here syncs).
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |bound: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % bound
    };
    let names = ["CURRENT", "CURRENT.tmp", "000001.wal", "000002.sst", "000003.sst"];
    let mut disk = disk(16);
    let mut model: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for round in 0..300 {
        let mut pool = load(&disk);
        assert_eq!(contents(&mut pool), model, "round {round}: the reloaded pool matches the model");
        disk.lock().unwrap().budget = Some(next(30) as usize);
        for _ in 0..20 {
            let name = names[next(names.len() as u64) as usize];
            let other = names[next(names.len() as u64) as usize];
            let mut after = model.clone();
            let result = match next(5) {
                0 => {
                    after.entry(name.to_string()).or_default();
                    if model.contains_key(name) {
                        continue;
                    } else {
                        pool.create(name)
                    }
                }
                1 => {
                    if !model.contains_key(name) {
                        continue;
                    }
                    let data = vec![round as u8; 1 + next(40) as usize];
                    after.get_mut(name).unwrap().extend_from_slice(&data);
                    pool.append(name, &data).and_then(|()| pool.sync(name))
                }
                2 => {
                    if after.remove(name).is_none() {
                        continue;
                    }
                    pool.remove(name)
                }
                3 => {
                    let Some(bytes) = after.remove(name) else { continue };
                    after.insert(other.to_string(), bytes);
                    pool.rename(name, other)
                }
                _ => {
                    let Some(bytes) = after.get_mut(name) else { continue };
                    let len = next(bytes.len() as u64 + 1);
                    bytes.truncate(len as usize);
                    pool.truncate(name, len)
                }
            };
            match result {
                Ok(()) => model = after,
                Err(_) => {
                    // Crashed mid-operation: the reload shows the old or the new state.
                    let model_kind =
                        if next(2) == 0 { Model::Kill } else { Model::PowerLoss { keep: next(3) as usize } };
                    disk = reboot(&disk, model_kind);
                    let mut reloaded = load(&disk);
                    let state = contents(&mut reloaded);
                    assert!(state == model || state == after, "round {round}: crash left {state:?}");
                    model = state;
                    break;
                }
            }
        }
        if !disk.lock().unwrap().crashed {
            disk = reboot(&disk, Model::Kill);
        }
    }
}

#[test]
fn directory_names_are_safe_and_distinct() {
    assert_eq!(directory_name("my-app_1"), "my-app_1");
    assert_eq!(directory_name("a/b"), "a%2Fb");
    assert_eq!(directory_name(".."), "%2E%2E");
    assert_eq!(directory_name("\\"), "%5C");
    assert_eq!(directory_name("é"), "%C3%A9");
    let long = "x".repeat(300);
    let other = format!("{}y", "x".repeat(299));
    assert!(directory_name(&long).len() <= 170);
    assert_ne!(directory_name(&long), directory_name(&other));
    for shift in 0..3 {
        let name = format!("{}{}", "a".repeat(shift), "é".repeat(100));
        let dir = directory_name(&name);
        let stem = dir.split('~').next().unwrap().as_bytes();
        assert!(stem.len() <= 150, "{dir}");
        for (i, byte) in stem.iter().enumerate() {
            if *byte == b'%' {
                assert!(
                    i + 2 < stem.len() && stem[i + 1].is_ascii_hexdigit() && stem[i + 2].is_ascii_hexdigit(),
                    "{dir}"
                );
            }
        }
    }
}

#[test]
fn appends_are_buffered_until_sync_and_read_back_meanwhile() {
    let disk = disk(4);
    let mut pool = load(&disk);
    pool.create("wal").unwrap();
    for i in 0..100u8 {
        pool.append("wal", &[i; 10]).unwrap();
    }
    assert_eq!(pool.len("wal").unwrap(), 1000);
    assert_eq!(pool.counters().append_writes, 0, "nothing written before a sync");
    pool.sync("wal").unwrap();
    assert_eq!(pool.counters().append_writes, 1, "a hundred appends, one write");
    // Reads see buffered bytes; truncate and rename carry them.
    pool.append("wal", b"tail").unwrap();
    let mut buf = [0u8; 6];
    pool.read_at("wal", 998, &mut buf).unwrap();
    assert_eq!(&buf, &[99, 99, b't', b'a', b'i', b'l']);
    pool.append("wal", b"more").unwrap();
    pool.truncate("wal", 1002).unwrap();
    pool.append("wal", b"!").unwrap();
    pool.rename("wal", "renamed").unwrap();
    let mut reloaded = load(&reboot(&disk, Model::Kill));
    let bytes = contents(&mut reloaded).remove("renamed").unwrap();
    assert_eq!(bytes.len(), 1003);
    assert_eq!(&bytes[998..], b"\x63\x63ta!");
    // A removed file's buffered bytes are dropped, not written anywhere.
    pool.create("gone").unwrap();
    pool.append("gone", b"never written").unwrap();
    let before = pool.counters().bytes_written;
    pool.remove("gone").unwrap();
    assert_eq!(pool.counters().bytes_written, before);
    pool.create("gone").unwrap();
    assert_eq!(pool.len("gone").unwrap(), 0);
}
