//! Fuzz entry points (feature `fuzzing`; also built for this crate's tests).
//!
//! One function per decoder, each taking arbitrary bytes: it runs the
//! decoder and everything that would use its result, and panics if the
//! outcome breaks the rule every decoder must keep — `Ok`, or an error that
//! says the bytes are bad (`Corruption`, `UnsupportedFormat`), never a panic,
//! another kind of error, or a value that re-encodes to something else.
//! `fuzz/` (a cargo-fuzz crate) drives them with libFuzzer; the tests below
//! run every seed and a few thousand deterministic mutations of each on the
//! stable toolchain, so CI catches a decoder that panics without nightly.
//!
//! `seeds()` builds the seed inputs from a real database (a workload of
//! puts, deletes, batches, flushes and compactions), so the fuzzer starts
//! from valid files and mutates inward.

use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::ops::Bound;

use crate::batch::{Op, WriteBatch};
use crate::error::{Error, Result};
use crate::iterator::{Direction, EntryIter};
use crate::manifest::{decode_current, VersionEdit};
use crate::options::{Compression, Durability, Options};
use crate::record::{parse_log, LogKind};
use crate::sstable::fuzzing as table_parts;
use crate::sstable::{BlockCache, Table};
use crate::storage::{MemStorage, Storage};
use crate::wal::{decode_batch, encode_batch};
use crate::{Db, RangeOptions};

/// The fuzz targets, by name (`fuzz/fuzz_targets/<name>.rs`).
/// A fuzz target: its name and its entry point.
pub type Target = (&'static str, fn(&[u8]));

pub const TARGETS: &[Target] = &[
    ("log", log),
    ("wal_batch", wal_batch),
    ("manifest_edit", manifest_edit),
    ("current", current),
    ("block", block),
    ("bloom", bloom),
    ("footer", footer),
    ("properties", properties),
    ("stored", stored),
    ("table", table),
    ("db_open", db_open),
];

/// The entry point of target `name` (a known one: the tests' seeds name them).
pub fn entry(targets: &[Target], name: &str) -> fn(&[u8]) {
    targets.iter().find(|(known, _)| *known == name).map(|(_, run)| *run).expect("a known fuzz target")
}

/// Runs every input saved under `root/<target>/` — the fuzzer's crashes,
/// kept once fixed — through its target.
#[cfg(feature = "std")]
pub fn replay_regressions(targets: &[Target], root: &std::path::Path) {
    for (target, run) in targets {
        let Ok(dir) = std::fs::read_dir(root.join(target)) else { continue };
        for entry in dir {
            run(&std::fs::read(entry.expect("dir entry").path()).expect("read regression"));
        }
    }
}

/// Whether `result` keeps the rule: `Ok`, or the input's fault.
fn check<T>(result: &Result<T>, what: &str) {
    match result {
        Ok(_) | Err(Error::Corruption { .. } | Error::UnsupportedFormat { .. }) => {}
        Err(other) => panic!("{what}: arbitrary bytes gave {other:?}, not Ok or Corruption"),
    }
}

/// WAL and manifest framing, then the payload decoder of each record found.
pub fn log(data: &[u8]) {
    for kind in [LogKind::Wal, LogKind::Manifest] {
        let parsed = parse_log(data, "000001.log", kind);
        check(&parsed, "parse_log");
        let Ok(contents) = parsed else { continue };
        let payload_bytes: usize = contents.records.iter().map(|(_, p)| p.len()).sum();
        assert!(payload_bytes <= data.len(), "records hold more bytes than the file");
        let mut last = None;
        for (offset, payload) in &contents.records {
            assert!(last < Some(*offset) && (*offset as usize) < data.len(), "record offsets increase inside the file");
            last = Some(*offset);
            match kind {
                LogKind::Wal => check(&decode_batch(payload, "000001.log", *offset), "decode_batch"),
                LogKind::Manifest => check(&VersionEdit::decode(payload, "000001.log", *offset), "VersionEdit::decode"),
            }
        }
    }
}

/// A WAL record payload; one that decodes must survive a round trip (its
/// bytes need not: a length may be a non-minimal varint).
pub fn wal_batch(data: &[u8]) {
    let decoded = decode_batch(data, "000001.wal", 16);
    check(&decoded, "decode_batch");
    if let Ok((first_seq, batch)) = decoded {
        let ops: Vec<Op<'_>> = batch.ops().iter().map(|o| Op { kind: o.kind, key: &o.key, value: &o.value }).collect();
        let mut again = Vec::new();
        encode_batch(first_seq, &ops, &mut again);
        assert!(again.len() <= data.len(), "a decoded batch is no larger re-encoded");
        let (seq, twice) = decode_batch(&again, "000001.wal", 16).expect("a re-encoded batch decodes");
        assert!(seq == first_seq && twice.ops() == batch.ops(), "a batch survives encode/decode");
    }
}

/// A manifest edit payload; one that decodes must survive a round trip.
pub fn manifest_edit(data: &[u8]) {
    let decoded = VersionEdit::decode(data, "MANIFEST-000001", 16);
    check(&decoded, "VersionEdit::decode");
    if let Ok(edit) = decoded {
        let mut again = Vec::new();
        edit.encode(&mut again);
        let twice = VersionEdit::decode(&again, "MANIFEST-000001", 16).expect("a re-encoded edit decodes");
        assert_eq!(twice, edit, "an edit survives encode/decode");
    }
}

/// The CURRENT file.
pub fn current(data: &[u8]) {
    check(&decode_current(data, "CURRENT"), "decode_current");
}

/// A data or index block (past its crc), read with each restart interval a
/// format has: full validation, and the read path's lighter parse with every
/// cursor move on it.
pub fn block(data: &[u8]) {
    for interval in table_parts::INTERVALS {
        let (validated, cursor_moves) = table_parts::block(data, interval);
        check(&validated, "Block::parse");
        for result in &cursor_moves {
            check(result, "block cursor");
        }
    }
}

/// A filter block (past its crc).
pub fn bloom(data: &[u8]) {
    check(&table_parts::bloom(data), "BloomFilter::parse");
}

/// A table footer.
pub fn footer(data: &[u8]) {
    check(&table_parts::footer(data), "Footer::decode");
}

/// A properties block (past its crc).
pub fn properties(data: &[u8]) {
    check(&table_parts::properties(data), "Properties::decode");
}

/// A stored block with its trailer (crc made right): the kind byte and LZ4
/// decompression of arbitrary bytes, then the block as a data block.
pub fn stored(data: &[u8]) {
    let (read, walked) = table_parts::stored_block(data);
    check(&read, "stored block");
    for (validated, moves) in &walked {
        check(validated, "Block::parse (decompressed)");
        for result in moves {
            check(result, "block cursor (decompressed)");
        }
    }
}

/// A whole table file: open (footer, index, filter, properties), scan both
/// ways, get every key seen and a few absent ones. When the first byte is
/// odd, the crcs of the footer and of the blocks it names are fixed first,
/// so mutations reach the decoders behind them.
pub fn table(data: &[u8]) {
    let Some((&mode, file)) = data.split_first() else { return };
    let mut file = file.to_vec();
    if mode & 1 == 1 {
        table_parts::fix_checksums(&mut file);
    }
    let storage = Arc::new(MemStorage::new());
    let name = "000001.sst";
    write_file(&*storage, name, &file);
    let opened = Table::open(&*storage, name, 1, file.len() as u64);
    check(&opened, "Table::open");
    let Ok(table) = opened else { return };
    let table = Arc::new(table);
    let cache = Arc::new(BlockCache::new(1 << 20));
    let mut keys = Vec::new();
    for direction in [Direction::Forward, Direction::Reverse] {
        let mut cursor = table.iter(storage.clone(), cache.clone(), direction);
        let mut step = cursor.seek(None);
        let mut entries = 0usize;
        while step.is_ok() && cursor.valid() {
            assert!(entries <= file.len(), "a table yields at most one entry per byte");
            entries += 1;
            if direction == Direction::Forward && keys.len() < 64 {
                keys.push(cursor.user_key().to_vec());
            }
            let _ = (cursor.seq(), cursor.kind(), cursor.value().len());
            step = cursor.next();
        }
        check(&step, "table scan");
    }
    keys.extend([Vec::new(), vec![0], vec![0xff; 9]]);
    for key in &keys {
        check(&table.get(&*storage, &cache, key, u64::MAX >> 8), "Table::get");
    }
    check(&table.inspect(&*storage), "Table::inspect");
}

/// A whole store directory, as files packed by `pack_image`: open it (CURRENT,
/// manifest, tables, WAL replay), read everything, compact, close. Reads and
/// writes after an error found in the data may say `ReadOnly`.
pub fn db_open(data: &[u8]) {
    let storage = MemStorage::new();
    for (name, bytes) in unpack_image(data) {
        write_file(&storage, &name, &bytes);
    }
    exercise_store(storage);
}

/// Opens a store on `storage` (which holds arbitrary files) and uses it:
/// every read, a compaction, a write, close. Also for the wasm backends'
/// targets.
pub fn exercise_store(storage: impl Storage + 'static) {
    let options = Options { background_work: false, durability: Durability::Buffered, ..Options::teaching() };
    let opened = Db::open(storage, options);
    check(&opened, "Db::open");
    let Ok(db) = opened else { return };
    let after_open = |result: &Result<()>, what: &str| match result {
        Err(Error::ReadOnly { .. }) => {}
        other => check(other, what),
    };
    let all = db.range(&RangeOptions::default());
    check(&all, "range");
    let reversed = db.range(&RangeOptions { reverse: true, ..RangeOptions::default() });
    check(&reversed, "reverse range");
    if let (Ok(all), Ok(reversed)) = (&all, &reversed) {
        assert!(all.windows(2).all(|w| w[0].0 < w[1].0), "a scan is strictly ascending");
        assert!(all.iter().eq(reversed.iter().rev()), "both directions see the same entries");
        for (key, value) in all.iter().take(50) {
            let got = db.get(key);
            check(&got, "get");
            if let Ok(got) = got {
                assert_eq!(got.as_ref(), Some(value), "get agrees with the scan");
            }
        }
    }
    check(
        &db.keys(&RangeOptions { start: Bound::Included(vec![b'k']), limit: Some(5), ..RangeOptions::default() }),
        "keys",
    );
    let _ = db.stats();
    after_open(&db.compact().map(|_| ()), "compact");
    after_open(&db.put(b"fuzz", b"value"), "put after open");
    after_open(&db.close(), "close");
}

fn write_file(storage: &dyn Storage, name: &str, bytes: &[u8]) {
    if storage.exists(name).unwrap_or(true) || storage.create(name).is_err() {
        return;
    }
    storage.append(name, bytes).expect("memory storage appends");
}

/// Packs files as `name length (u8), name, data length (u32 LE), data`.
pub fn pack_image(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in files {
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
    }
    out
}

/// The inverse of `pack_image`, forgiving: a truncated last file keeps what
/// is there, a name that is not a plain file name is skipped, at most 32 files.
pub fn unpack_image(mut data: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    while let Some((&name_len, rest)) = data.split_first() {
        if files.len() == 32 || rest.len() < name_len as usize {
            break;
        }
        let (name, rest) = rest.split_at(name_len as usize);
        let Some((len, rest)) = rest.split_first_chunk::<4>() else { break };
        let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
        let (body, rest) = rest.split_at(len);
        data = rest;
        match core::str::from_utf8(name) {
            Ok(name) if !name.is_empty() && !name.contains(['/', '\\']) && name != "." && name != ".." => {
                files.push((name.to_string(), body.to_vec()));
            }
            _ => {}
        }
    }
    files
}

/// Seed inputs for every target, from a real database: `(target, input)`.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let storage = Arc::new(MemStorage::new());
    // Small blocks, so tables have several index and filter partitions, and
    // compression, so some data blocks are stored compressed.
    let options = Options {
        background_work: false,
        durability: Durability::Buffered,
        block_size: 128,
        compression: Compression::Lz4,
        ..Options::teaching()
    };
    let db = Db::open_shared(storage.clone(), options).expect("open");
    let mut rng = crate::testing::Rng::new(7);
    for i in 0..150u64 {
        let key = alloc::format!("k{:03}", rng.below(90));
        match i % 10 {
            0 => db.delete(key.as_bytes()).expect("delete"),
            1 => {
                let mut batch = WriteBatch::new();
                batch.put(key.as_bytes().to_vec(), b"batched".to_vec()).delete(b"k000".to_vec());
                db.write(&batch).expect("batch");
            }
            2..=5 => {
                let len = 1 + rng.below(40) as usize;
                db.put(key.as_bytes(), &rng.bytes(len)).expect("put");
            }
            _ => {
                let len = 20 + rng.below(200) as usize;
                db.put(key.as_bytes(), &vec![b'a' + (i % 26) as u8; len]).expect("put a compressible value");
            }
        }
        if i == 100 {
            db.compact().expect("compact");
        }
    }
    db.sync().expect("sync");
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut names = storage.list().expect("list");
    names.sort();
    for name in names {
        let bytes = storage.read_all(&name).expect("read");
        files.push((name, bytes));
    }
    drop(db);
    let mut seeds = vec![("db_open", pack_image(&files))];
    for (name, bytes) in &files {
        if name.ends_with(".wal") || name.starts_with("MANIFEST") {
            seeds.push(("log", bytes.clone()));
            let kind = if name.ends_with(".wal") { LogKind::Wal } else { LogKind::Manifest };
            let target = if kind == LogKind::Wal { "wal_batch" } else { "manifest_edit" };
            for (_, payload) in parse_log(bytes, name, kind).expect("a real log parses").records.into_iter().take(4) {
                seeds.push((target, payload));
            }
        } else if name == "CURRENT" {
            seeds.push(("current", bytes.clone()));
        } else if name.ends_with(".sst") && seeds.iter().filter(|(t, _)| *t == "table").count() < 3 {
            seeds.push(("table", [&[0u8][..], bytes].concat()));
            seeds.push(("table", [&[1u8][..], bytes].concat()));
            for (target, part) in table_parts::parts(bytes) {
                seeds.push((target, part));
            }
        }
    }
    for (target, _) in TARGETS {
        assert!(seeds.iter().any(|(t, _)| t == target), "a seed for {target}");
    }
    seeds
}

/// A deterministic mutation of `input` (flips, cuts, insertions, overwrites
/// with boundary values), for the stable-toolchain replay below.
pub fn mutate(input: &[u8], rng: &mut crate::testing::Rng) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = out.len() as u64;
        match rng.below(6) {
            0 if len > 0 => {
                let bit = rng.below(len * 8);
                out[(bit / 8) as usize] ^= 1 << (bit % 8);
            }
            1 if len > 0 => out.truncate(rng.below(len) as usize),
            2 => {
                let at = rng.below(len + 1) as usize;
                let n = 1 + rng.below(8) as usize;
                let extra = rng.bytes(n);
                out.splice(at..at, extra);
            }
            3 if len > 0 => {
                let at = rng.below(len) as usize;
                out[at] = [0x00, 0x01, 0x7f, 0x80, 0xff][rng.below(5) as usize];
            }
            4 if len >= 4 => {
                let at = rng.below(len - 3) as usize;
                let word: u32 = [0, 1, u32::MAX, u32::MAX / 2, 1 << 31][rng.below(5) as usize];
                out[at..at + 4].copy_from_slice(&word.to_le_bytes());
            }
            _ if len > 0 => {
                let at = rng.below(len) as usize;
                out.remove(at);
            }
            _ => out.push(rng.below(256) as u8),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: every seed is handled, and the real files decode (the seeds
    /// really are valid inputs, so mutations start from deep paths).
    #[test]
    fn every_target_takes_its_seeds() {
        for (target, input) in seeds() {
            entry(TARGETS, target)(&input);
        }
    }

    /// Goal: no decoder panics on a few thousand mutations of its seeds (the
    /// short stable-toolchain run; `fuzz/` runs libFuzzer for real).
    #[test]
    fn mutated_seeds_keep_the_rule() {
        let seeds = seeds();
        let mut rng = crate::testing::Rng::new(0xf022);
        let mut runs = 0;
        for (target, run) in TARGETS {
            let mine: Vec<&Vec<u8>> = seeds.iter().filter(|(t, _)| t == target).map(|(_, input)| input).collect();
            let rounds = if *target == "db_open" { 300 } else { 1500 };
            for i in 0..rounds {
                let input = mutate(mine[i % mine.len()], &mut rng);
                run(&input);
                runs += 1;
            }
        }
        assert!(runs > 10_000);
    }

    /// Goal: every input the fuzzer ever crashed on stays fixed
    /// (`fuzz/regressions/<target>/`).
    #[cfg(feature = "std")]
    #[test]
    fn regressions_stay_fixed() {
        replay_regressions(TARGETS, &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions"));
    }

    /// Goal: the image packing used by `db_open` round-trips.
    #[test]
    fn images_round_trip() {
        let files = vec![(String::from("CURRENT"), vec![1, 2, 3]), (String::from("000004.sst"), Vec::new())];
        assert_eq!(unpack_image(&pack_image(&files)), files);
    }
}
