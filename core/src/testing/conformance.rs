//! The backend conformance suite: one set of checks of the `Storage`
//! contract, run against every backend (natively for memory and files, in
//! headless Chromium for IndexedDB and OPFS).
//!
//! Each `check_*` function tests one group of rules and panics with a
//! message naming the rule broken (`storage conformance: <rule>: ...`).
//! [`run_all`] runs them all; [`CHECKS`] lists them by name so a harness can
//! run and report each separately.
//!
//! Expectations: the storage starts without any of the names the suite uses
//! (every check creates its own `conformance-*` files, and `check_names`
//! uses engine-style names such as `CURRENT` and `000001.wal`). Files
//! already present that the suite does not use (for example `FsStorage`'s
//! `LOCK`) are left alone and allowed in `list`. Every check removes what it
//! created, so the storage ends as it started. The suite is deterministic
//! (fixed byte patterns, no clock, no randomness source) and makes a few
//! hundred calls with about 1 MiB of data, so it stays quick in a browser.

use alloc::collections::BTreeSet;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use alloc::{format, vec};
use core::fmt::Debug;

use crate::error::{Error, IoKind, Result};
use crate::storage::Storage;

/// One check of the suite: panics if the storage breaks the rules it tests.
pub type Check = fn(&dyn Storage);

/// Every check, by name, in the order `run_all` runs them.
pub const CHECKS: &[(&str, Check)] = &[
    ("create", check_create),
    ("append_and_read_at", check_append_and_read_at),
    ("many_small_appends", check_many_small_appends),
    ("large_append", check_large_append),
    ("files_are_independent", check_files_are_independent),
    ("sync", check_sync),
    ("truncate", check_truncate),
    ("rename", check_rename),
    ("remove", check_remove),
    ("list", check_list),
    ("exists", check_exists),
    ("read_all", check_read_all),
    ("names", check_names),
    ("not_found_errors", check_not_found_errors),
    ("logs", check_logs),
];

/// Runs every check against a fresh, empty storage. Panics with a message
/// naming the broken rule on the first failure. Leaves the storage as found.
pub fn run_all(storage: &dyn Storage) {
    let before = name_set(storage, "list works on a fresh storage");
    for (_, check) in CHECKS {
        check(storage);
    }
    let after = name_set(storage, "list works after the suite");
    assert_eq!(after, before, "storage conformance: the suite leaves the storage with the files it found");
}

// ---------------------------------------------------------------------------
// The checks.

/// `create` makes an empty file; a second `create` of the name fails with
/// `AlreadyExists` and leaves the existing file's bytes alone.
pub fn check_create(s: &dyn Storage) {
    let name = "conformance-create";
    expect_absent(s, name);
    ok("create of a new name succeeds", s.create(name));
    expect_eq("a created file exists", ok("exists works", s.exists(name)), true);
    expect_eq("a created file is empty", ok("len of a new file works", s.len(name)), 0);
    expect_eq("read_all of a new file is empty", ok("read_all works", s.read_all(name)), Vec::new());
    ok("a zero-length read at offset 0 of an empty file succeeds", s.read_at(name, 0, &mut []));
    ok("append works", s.append(name, b"abc"));
    expect_io("create of an existing name fails with AlreadyExists", s.create(name), IoKind::AlreadyExists);
    expect_eq("a failed create leaves the existing file's bytes", read_all(s, name), b"abc".to_vec());
    cleanup(s, &[name]);
}

/// A file made by `create_log` behaves like any other file while the
/// storage lives: appends of every size land in order, `len` counts exactly
/// what was appended (never preallocated space), reads past it are
/// corruption, and truncate, rename and remove work on it. A second create
/// of the name fails.
pub fn check_logs(s: &dyn Storage) {
    let (name, renamed) = ("conformance-log", "conformance-log-renamed");
    expect_absent(s, name);
    expect_absent(s, renamed);
    ok("create_log of a new name succeeds", s.create_log(name));
    expect_io("create_log of an existing name fails", s.create_log(name), IoKind::AlreadyExists);
    expect_io("create of an existing log's name fails", s.create(name), IoKind::AlreadyExists);
    expect_eq("a new log is empty", len(s, name), 0);
    let mut model = Vec::new();
    for i in 0..300u64 {
        // Small appends, and now and then one larger than any first preallocation.
        let size = if i % 100 == 99 { (1 << 20) + 3 } else { 1 + (i % 200) as usize };
        let chunk = pattern(i, size);
        ok("an append to a log works", s.append(name, &chunk));
        model.extend_from_slice(&chunk);
        if i % 50 == 0 {
            expect_eq("a log's len counts exactly the appended bytes", len(s, name), model.len() as u64);
            ok("sync of a log works", s.sync(name));
        }
    }
    expect_eq("a log's len counts exactly the appended bytes", len(s, name), model.len() as u64);
    expect_eq("a log reads back in order", read_all(s, name), model.clone());
    let end = model.len() as u64;
    expect_corruption("a read past a log's end is Error::Corruption", s.read_at(name, end, &mut [0u8; 1]));
    ok("truncate of a log works", s.truncate(name, 1000));
    model.truncate(1000);
    expect_eq("a truncated log has the new length", len(s, name), 1000);
    ok("an append after truncate works", s.append(name, b"tail"));
    model.extend_from_slice(b"tail");
    ok("rename of a log works", s.rename(name, renamed));
    expect_eq("a renamed log keeps exactly its bytes", read_all(s, renamed), model);
    expect_eq("a renamed log keeps its length", len(s, renamed), 1004);
    cleanup(s, &[renamed]);
}

/// `append` adds bytes at the end; `len` counts them; `read_at` returns
/// exactly the requested range, and a range past the end is
/// `Error::Corruption`.
pub fn check_append_and_read_at(s: &dyn Storage) {
    let name = "conformance-append";
    expect_absent(s, name);
    ok("create works", s.create(name));
    ok("append works", s.append(name, b"hello"));
    ok("append works", s.append(name, b" world"));
    expect_eq("len counts every appended byte", len(s, name), 11);
    expect_eq("appends land in order at the end", read_all(s, name), b"hello world".to_vec());
    for (offset, want) in [(0u64, &b"hello world"[..]), (6, b"world"), (10, b"d"), (4, b"o w"), (0, b""), (11, b"")] {
        expect_eq("read_at returns exactly the requested range", read_at(s, name, offset, want.len()), want.to_vec());
        let vec = ok("read_vec works", s.read_vec(name, offset, want.len()));
        expect_eq("read_vec returns what read_at does", vec, want.to_vec());
        let mut lent = None;
        ok("read_with works", s.read_with(name, offset, want.len(), &mut |bytes| lent = Some(bytes.to_vec())));
        expect_eq("read_with lends what read_at returns, once", lent, Some(want.to_vec()));
    }
    for (offset, size) in [(10u64, 2usize), (11, 1), (0, 12), (1000, 1), (1 << 40, 8)] {
        let rule = format!("read_at({offset}, {size} bytes) of an 11-byte file is Error::Corruption");
        expect_corruption(&rule, s.read_at(name, offset, &mut vec![0u8; size]));
        expect_corruption(&format!("{rule} (read_vec too)"), s.read_vec(name, offset, size));
        let mut called = false;
        expect_corruption(&format!("{rule} (read_with too)"), s.read_with(name, offset, size, &mut |_| called = true));
        expect_eq("read_with lends nothing past the end", called, false);
    }
    ok("an empty append succeeds", s.append(name, b""));
    expect_eq("an empty append changes nothing", len(s, name), 11);
    let every_byte: Vec<u8> = (0..=255u8).collect();
    ok("append of every byte value works", s.append(name, &every_byte));
    expect_eq("every byte value round-trips", read_at(s, name, 11, 256), every_byte);
    cleanup(s, &[name]);
}

/// Many small appends keep every byte in order, and any range reads back.
pub fn check_many_small_appends(s: &dyn Storage) {
    const APPENDS: u64 = 200;
    let name = "conformance-small-appends";
    expect_absent(s, name);
    ok("create works", s.create(name));
    let mut model = Vec::new();
    for i in 0..APPENDS {
        let chunk = pattern(i, 1 + (i % 13) as usize);
        ok("a small append works", s.append(name, &chunk));
        model.extend_from_slice(&chunk);
        if i % 25 == 0 {
            expect_eq("len after each append counts every byte so far", len(s, name), model.len() as u64);
        }
    }
    expect_eq("many small appends read back in order", read_all(s, name), model.clone());
    let mut rng = Lcg(7);
    for _ in 0..40 {
        let start = rng.below(model.len() as u64) as usize;
        let size = rng.below((model.len() - start) as u64 + 1) as usize;
        let want = model[start..start + size].to_vec();
        expect_eq("any range of many small appends reads back", read_at(s, name, start as u64, size), want);
    }
    cleanup(s, &[name]);
}

/// A 1 MiB append is stored whole, and reads across its ends work.
pub fn check_large_append(s: &dyn Storage) {
    const LARGE: usize = 1 << 20;
    let name = "conformance-large-append";
    expect_absent(s, name);
    ok("create works", s.create(name));
    ok("append works", s.append(name, b"head"));
    let large = pattern(99, LARGE);
    ok("a 1 MiB append works", s.append(name, &large));
    ok("append after a large append works", s.append(name, b"tail"));
    let total = 4 + LARGE + 4;
    expect_eq("len counts a 1 MiB append", len(s, name), total as u64);
    let all = read_all(s, name);
    expect_eq("read_all returns the whole file", all.len(), total);
    expect_eq("a 1 MiB append reads back unchanged", all.get(4..4 + LARGE), Some(&large[..]));
    expect_eq("bytes after a 1 MiB append follow it", all.get(total - 4..), Some(&b"tail"[..]));
    for offset in [0usize, 1, 4095, 65_536, LARGE - 4096, total - 4096] {
        let want = all[offset..offset + 4096].to_vec();
        expect_eq("4 KiB reads anywhere in a large file match", read_at(s, name, offset as u64, 4096), want);
    }
    cleanup(s, &[name]);
}

/// Appends to one file never show up in another.
pub fn check_files_are_independent(s: &dyn Storage) {
    let names = ["conformance-indep-1", "conformance-indep-2", "conformance-indep-3"];
    let mut models = [Vec::new(), Vec::new(), Vec::new()];
    for name in names {
        expect_absent(s, name);
        ok("create works", s.create(name));
    }
    for round in 0..10u64 {
        for (i, name) in names.iter().enumerate() {
            let chunk = pattern(round * 3 + i as u64, 3 + i);
            ok("append works", s.append(name, &chunk));
            models[i].extend_from_slice(&chunk);
        }
    }
    for (name, model) in names.iter().zip(&models) {
        expect_eq("interleaved appends to different files stay apart", read_all(s, name), model.clone());
    }
    cleanup(s, &names);
}

/// `sync` succeeds on empty and non-empty files and changes no bytes.
pub fn check_sync(s: &dyn Storage) {
    let name = "conformance-sync";
    expect_absent(s, name);
    ok("create works", s.create(name));
    ok("sync of an empty file succeeds", s.sync(name));
    ok("append works", s.append(name, b"durable"));
    ok("sync after append succeeds", s.sync(name));
    ok("sync twice succeeds", s.sync(name));
    expect_eq("sync changes no bytes", read_all(s, name), b"durable".to_vec());
    ok("append after sync works", s.append(name, b"+more"));
    ok("sync works", s.sync(name));
    expect_eq("appends after a sync land after the synced bytes", read_all(s, name), b"durable+more".to_vec());
    cleanup(s, &[name]);
}

/// `truncate` shortens; to the current length or longer it changes nothing
/// (it never lengthens); appends continue at the new end.
pub fn check_truncate(s: &dyn Storage) {
    let name = "conformance-truncate";
    let bytes = pattern(5, 100);
    expect_absent(s, name);
    ok("create works", s.create(name));
    ok("append works", s.append(name, &bytes));
    ok("sync works", s.sync(name));
    ok("truncate to the current length succeeds", s.truncate(name, 100));
    expect_eq("truncate to the current length changes nothing", read_all(s, name), bytes.clone());
    ok("truncate beyond the end succeeds", s.truncate(name, 150));
    expect_eq("truncate never lengthens a file", len(s, name), 100);
    expect_eq("truncate beyond the end changes no bytes", read_all(s, name), bytes.clone());
    ok("truncate to a shorter length succeeds", s.truncate(name, 40));
    expect_eq("truncate shortens to the given length", len(s, name), 40);
    expect_eq("truncate keeps the prefix", read_all(s, name), bytes[..40].to_vec());
    expect_corruption("read_at past a truncated end is Error::Corruption", s.read_at(name, 39, &mut [0u8; 2]));
    ok("append after truncate works", s.append(name, b"after"));
    let mut want = bytes[..40].to_vec();
    want.extend_from_slice(b"after");
    expect_eq("an append after truncate lands at the new end", read_all(s, name), want);
    ok("truncate to zero succeeds", s.truncate(name, 0));
    expect_eq("truncate to zero empties the file", len(s, name), 0);
    ok("append to a file truncated to zero works", s.append(name, b"again"));
    expect_eq("a file truncated to zero starts over", read_all(s, name), b"again".to_vec());
    cleanup(s, &[name]);
}

/// `rename` moves a file to a new name or atomically over an existing one;
/// the old name is then free; a missing source is `NotFound` and leaves the
/// target alone.
pub fn check_rename(s: &dyn Storage) {
    let (a, b, c) = ("conformance-rename-a", "conformance-rename-b", "conformance-rename-c");
    for name in [a, b, c] {
        expect_absent(s, name);
    }
    ok("create works", s.create(a));
    ok("append works", s.append(a, b"alpha"));
    ok("sync works", s.sync(a));
    ok("rename to a new name succeeds", s.rename(a, b));
    expect_eq("after rename the source name is gone", ok("exists works", s.exists(a)), false);
    expect_io("after rename the source name is NotFound", s.len(a), IoKind::NotFound);
    expect_eq("rename keeps the bytes", read_all(s, b), b"alpha".to_vec());
    ok("append to a renamed file works", s.append(b, b"!"));
    expect_eq("appends to a renamed file land at its end", read_all(s, b), b"alpha!".to_vec());

    ok("create of a renamed-away name works", s.create(a));
    expect_eq("a name re-created after rename is empty", len(s, a), 0);
    ok("append works", s.append(a, b"new-a"));

    ok("create works", s.create(c));
    ok("append works", s.append(c, b"old-c"));
    ok("rename over an existing file succeeds", s.rename(b, c));
    expect_eq("rename over an existing file replaces its bytes", read_all(s, c), b"alpha!".to_vec());
    expect_eq("rename over an existing file removes the source", ok("exists works", s.exists(b)), false);
    ok("append to a replaced file works", s.append(c, b"+"));
    expect_eq("a replaced file appends after its new bytes", read_all(s, c), b"alpha!+".to_vec());
    expect_eq("rename leaves other files alone", read_all(s, a), b"new-a".to_vec());

    expect_io("rename of a missing source is NotFound", s.rename(b, c), IoKind::NotFound);
    expect_eq("a failed rename leaves the target alone", read_all(s, c), b"alpha!+".to_vec());
    expect_eq("a failed rename creates nothing", ok("exists works", s.exists(b)), false);
    cleanup(s, &[a, c]);
}

/// `remove` deletes a file; afterwards every call on the name is
/// `NotFound`, and the name can be created again, empty.
pub fn check_remove(s: &dyn Storage) {
    let name = "conformance-remove";
    expect_absent(s, name);
    ok("create works", s.create(name));
    ok("append works", s.append(name, b"first"));
    ok("sync works", s.sync(name));
    ok("remove of an existing file succeeds", s.remove(name));
    expect_eq("a removed file does not exist", ok("exists works", s.exists(name)), false);
    expect_io("len of a removed file is NotFound", s.len(name), IoKind::NotFound);
    expect_io("read_all of a removed file is NotFound", s.read_all(name), IoKind::NotFound);
    expect_io("append to a removed file is NotFound", s.append(name, b"x"), IoKind::NotFound);
    expect_io("remove of a removed file is NotFound", s.remove(name), IoKind::NotFound);
    ok("create of a removed name works", s.create(name));
    expect_eq("a re-created file is empty", len(s, name), 0);
    ok("append works", s.append(name, b"second"));
    expect_eq("a re-created file holds only new bytes", read_all(s, name), b"second".to_vec());
    cleanup(s, &[name]);
}

/// `list` returns exactly the files present: each once, none removed or
/// renamed away.
pub fn check_list(s: &dyn Storage) {
    let names = ["conformance-list-1", "conformance-list-2", "conformance-list-3"];
    let renamed = "conformance-list-renamed";
    let before = name_set(s, "list works");
    for name in names.iter().chain([&renamed]) {
        expect_absent(s, name);
    }
    let listed = ok("list works", s.list());
    expect_eq("list names each file once", listed.len(), before.len());
    for name in names {
        ok("create works", s.create(name));
    }
    ok("append works", s.append(names[0], b"x"));
    let mut want = before.clone();
    want.extend(names.iter().map(|n| n.to_string()));
    let listed = ok("list works", s.list());
    expect_eq("list names each file once", listed.len(), want.len());
    expect_eq("list returns exactly the files present", to_set(listed), want.clone());
    ok("remove works", s.remove(names[1]));
    ok("rename works", s.rename(names[2], renamed));
    want.remove(names[1]);
    want.remove(names[2]);
    want.insert(renamed.to_string());
    expect_eq("list drops removed and renamed-away names", name_set(s, "list works"), want);
    cleanup(s, &[names[0], renamed]);
    expect_eq("list is back to the files found", name_set(s, "list works"), before);
}

/// `exists` is true exactly for present files, and never an error for a
/// missing one.
pub fn check_exists(s: &dyn Storage) {
    let name = "conformance-exists";
    expect_eq("exists of a missing file is Ok(false)", ok("exists of a missing file works", s.exists(name)), false);
    ok("create works", s.create(name));
    expect_eq("exists of an empty file is true", ok("exists works", s.exists(name)), true);
    ok("append works", s.append(name, b"x"));
    expect_eq("exists of a non-empty file is true", ok("exists works", s.exists(name)), true);
    expect_eq("exists matches names exactly, not by prefix", ok("exists works", s.exists("conformance-exist")), false);
    cleanup(s, &[name]);
    expect_eq("exists after remove is false", ok("exists works", s.exists(name)), false);
}

/// `read_all` returns the whole file: empty, small, or after many appends.
pub fn check_read_all(s: &dyn Storage) {
    let name = "conformance-read-all";
    expect_absent(s, name);
    ok("create works", s.create(name));
    expect_eq("read_all of an empty file is empty", read_all(s, name), Vec::new());
    let mut model = Vec::new();
    for i in 0..5u64 {
        let chunk = pattern(200 + i, 1000 + i as usize);
        ok("append works", s.append(name, &chunk));
        model.extend_from_slice(&chunk);
        expect_eq("read_all returns every byte appended so far", read_all(s, name), model.clone());
    }
    cleanup(s, &[name]);
}

/// Names the engine uses — with digits, dots, dashes, and some that are
/// prefixes of others — are distinct files, listed and read back exactly.
pub fn check_names(s: &dyn Storage) {
    const NAMES: [&str; 11] = [
        "CURRENT",
        "CURRENT.tmp",
        "MANIFEST-000001",
        "MANIFEST-000002",
        "000001.wal",
        "000001.sst",
        "000002.sst",
        "000010.wal",
        "1234567.sst",
        "9999999999.wal",
        "a.b.c",
    ];
    let before = name_set(s, "list works");
    for name in NAMES {
        expect_absent(s, name);
    }
    for name in NAMES {
        ok("create of an engine-style name works", s.create(name));
        ok("append works", s.append(name, name.as_bytes()));
    }
    let mut want = before.clone();
    want.extend(NAMES.iter().map(|n| n.to_string()));
    expect_eq("list returns engine-style names exactly", name_set(s, "list works"), want);
    for name in NAMES {
        expect_eq("each name is its own file", read_all(s, name), name.as_bytes().to_vec());
        expect_eq("exists finds engine-style names", ok("exists works", s.exists(name)), true);
    }
    cleanup(s, &NAMES);
    expect_eq("removing engine-style names leaves the files found", name_set(s, "list works"), before);
}

/// Every method given a missing file fails with `IoKind::NotFound` (except
/// `exists`, which says false, and `create`, which makes it).
pub fn check_not_found_errors(s: &dyn Storage) {
    let name = "conformance-missing";
    let other = "conformance-missing-target";
    expect_absent(s, name);
    expect_absent(s, other);
    expect_io("append to a missing file is NotFound", s.append(name, b"x"), IoKind::NotFound);
    expect_io("read_at of a missing file is NotFound", s.read_at(name, 0, &mut [0u8; 1]), IoKind::NotFound);
    expect_io("a zero-length read_at of a missing file is NotFound", s.read_at(name, 0, &mut []), IoKind::NotFound);
    expect_io("len of a missing file is NotFound", s.len(name), IoKind::NotFound);
    expect_io("sync of a missing file is NotFound", s.sync(name), IoKind::NotFound);
    expect_io("truncate of a missing file is NotFound", s.truncate(name, 0), IoKind::NotFound);
    expect_io("rename of a missing file is NotFound", s.rename(name, other), IoKind::NotFound);
    expect_io("remove of a missing file is NotFound", s.remove(name), IoKind::NotFound);
    expect_io("read_all of a missing file is NotFound", s.read_all(name), IoKind::NotFound);
    expect_absent(s, name);
    expect_absent(s, other);
}

// ---------------------------------------------------------------------------
// Helpers: each failure names the rule it checks.

fn fail(rule: &str, detail: impl Debug) -> ! {
    panic!("storage conformance: {rule}: {detail:?}")
}

fn ok<T>(rule: &str, result: Result<T>) -> T {
    result.unwrap_or_else(|e| fail(rule, format!("unexpected error: {e}")))
}

fn expect_eq<T: PartialEq + Debug>(rule: &str, got: T, want: T) {
    if got != want {
        fail(rule, format!("got {got:?}, want {want:?}"));
    }
}

fn expect_io<T: Debug>(rule: &str, result: Result<T>, kind: IoKind) {
    match result {
        Err(e) if e.is_io(kind) => {}
        other => fail(rule, format!("want Error::Io {{ kind: {kind:?} }}, got {other:?}")),
    }
}

fn expect_corruption<T: Debug>(rule: &str, result: Result<T>) {
    match result {
        Err(Error::Corruption { .. }) => {}
        other => fail(rule, format!("want Error::Corruption, got {other:?}")),
    }
}

fn expect_absent(s: &dyn Storage, name: &str) {
    if ok("exists works", s.exists(name)) {
        fail("the suite starts without the names it uses", name);
    }
}

fn len(s: &dyn Storage, name: &str) -> u64 {
    ok("len of an existing file works", s.len(name))
}

fn read_all(s: &dyn Storage, name: &str) -> Vec<u8> {
    ok("read_all of an existing file works", s.read_all(name))
}

fn read_at(s: &dyn Storage, name: &str, offset: u64, size: usize) -> Vec<u8> {
    let mut buf = vec![0u8; size];
    ok("read_at within the file works", s.read_at(name, offset, &mut buf));
    buf
}

fn name_set(s: &dyn Storage, rule: &str) -> BTreeSet<String> {
    to_set(ok(rule, s.list()))
}

fn to_set(names: Vec<String>) -> BTreeSet<String> {
    names.into_iter().collect()
}

fn cleanup(s: &dyn Storage, names: &[&str]) {
    for name in names {
        ok("remove of a file the check created works", s.remove(name));
    }
}

/// `len` deterministic bytes, different for each `seed`.
fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = Lcg(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    (0..len).map(|_| (rng.next() >> 56) as u8).collect()
}

/// A 64-bit linear congruential generator (Knuth's MMIX constants): enough
/// for varied, reproducible test bytes and offsets.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0
    }

    /// A value in `0..bound` (`bound` > 0).
    fn below(&mut self, bound: u64) -> u64 {
        (self.next() >> 33) % bound
    }
}
