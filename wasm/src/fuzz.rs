//! Fuzz entry points for the browser backends' own formats (feature
//! `fuzzing`; also built for this crate's native tests), beside the engine's
//! in `lsmkv::fuzz`: the IndexedDB journal as loaded (`journal`) and a
//! directory of OPFS slot files (`opfs_slots`), each then opened as a store
//! and used. The rule is the engine's: `Ok`, or an error that blames the
//! bytes (`Corruption`, `UnsupportedFormat`); never a panic.

use std::sync::{Arc, Mutex};

use lsmkv::fuzz::{exercise_store, pack_image, unpack_image, Target};
use lsmkv::{Db, Durability, Error, Options, Result, Storage};

use crate::idb::journal::{self, FileId, JournaledFiles, Record};
use crate::opfs::slots::{IoResult, Pool, PoolStorage, SlotFile};

/// The targets, by name (`fuzz/fuzz_targets/<name>.rs`).
pub const TARGETS: &[Target] = &[("journal", journal), ("opfs_slots", opfs_slots)];

fn check<T>(result: &Result<T>, what: &str) {
    match result {
        Ok(_) | Err(Error::Corruption { .. } | Error::UnsupportedFormat { .. }) => {}
        Err(other) => panic!("{what}: arbitrary bytes gave {other:?}, not Ok or Corruption"),
    }
}

/// Reads the input front to back; missing bytes read as zeros.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> &[u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }
    fn u8(&mut self) -> u8 {
        self.take(1).first().copied().unwrap_or(0)
    }
    fn u64(&mut self) -> u64 {
        let mut bytes = [0u8; 8];
        let got = self.take(8);
        bytes[..got.len()].copy_from_slice(got);
        u64::from_le_bytes(bytes)
    }
}

/// A journal chunk as the fuzz input describes it: file, offset, bytes.
pub type Chunk = (FileId, u64, Vec<u8>);

/// Journal input: a record count (u8, at most 16); per record a name
/// (length u8, bytes), an id (u64), a format 1 length if the flag byte is
/// odd (u64); then chunks to the end, each an id (u64), an offset (u64) and
/// data (length u8, bytes).
pub fn decode_journal(data: &[u8]) -> (Vec<Record>, Vec<Chunk>) {
    let mut input = Reader(data);
    let count = input.u8().min(16);
    let mut records = Vec::new();
    for _ in 0..count {
        let len = input.u8() as usize;
        let name = String::from_utf8_lossy(input.take(len)).into_owned();
        let id = input.u64();
        let cut = (input.u8() % 2 == 1).then(|| input.u64());
        records.push((name, id, cut));
    }
    let mut chunks = Vec::new();
    while !input.0.is_empty() {
        let (id, offset) = (input.u64(), input.u64());
        let len = input.u8() as usize;
        chunks.push((id, offset, input.take(len).to_vec()));
    }
    (records, chunks)
}

fn encode_journal(records: &[Record], chunks: &[(FileId, u64, Vec<u8>)]) -> Vec<u8> {
    let mut out = vec![records.len() as u8];
    for (name, id, cut) in records {
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&id.to_le_bytes());
        match cut {
            Some(len) => {
                out.push(1);
                out.extend_from_slice(&len.to_le_bytes());
            }
            None => out.push(0),
        }
    }
    for (id, offset, data) in chunks {
        assert!(data.len() <= 255, "a seed chunk fits its length byte");
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
        out.push(data.len() as u8);
        out.extend_from_slice(data);
    }
    out
}

/// The IndexedDB journal as read at open: records and chunks rebuilt into
/// files (`journal::load`), the conversion plan made, the store opened.
pub fn journal(data: &[u8]) {
    let (records, chunks) = decode_journal(data);
    let chunk_bytes: usize = chunks.iter().map(|(_, _, d)| d.len()).sum();
    let loaded = journal::load(records, chunks);
    check(&loaded, "journal::load");
    let Ok(loaded) = loaded else { return };
    let file_bytes: usize = loaded.files.iter().map(|(_, _, d)| d.len()).sum();
    assert!(file_bytes <= chunk_bytes, "files hold no byte that no chunk held");
    let _ = (journal::coalesce_plan(&loaded), loaded.fragmented());
    exercise_store(JournaledFiles::from_loaded(loaded.files, loaded.next_id));
}

/// A slot file in memory.
#[derive(Default)]
pub struct MemSlot(Mutex<Vec<u8>>);

impl MemSlot {
    fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
}

impl SlotFile for Arc<MemSlot> {
    fn size(&self) -> IoResult<u64> {
        Ok(self.0.lock().unwrap().len() as u64)
    }
    fn read(&self, at: u64, buf: &mut [u8]) -> IoResult<usize> {
        let data = self.0.lock().unwrap();
        let start = usize::try_from(at).unwrap_or(usize::MAX).min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }
    fn write(&self, at: u64, bytes: &[u8]) -> IoResult<usize> {
        let mut data = self.0.lock().unwrap();
        let at = at as usize;
        if data.len() < at + bytes.len() {
            data.resize(at + bytes.len(), 0);
        }
        data[at..at + bytes.len()].copy_from_slice(bytes);
        Ok(bytes.len())
    }
    fn truncate(&self, size: u64) -> IoResult<()> {
        self.0.lock().unwrap().resize(size as usize, 0);
        Ok(())
    }
    fn flush(&self) -> IoResult<()> {
        Ok(())
    }
}

/// Free slots the backend would have topped the pool up with.
const FREE_SLOTS: u64 = 24;

/// OPFS slot files, packed as `lsmkv::fuzz::pack_image` packs files (names
/// ignored; at most 32): the pool loaded (headers, stale copies, names),
/// topped up with free slots, and the store opened on it.
pub fn opfs_slots(data: &[u8]) {
    let files: Vec<(u64, Arc<MemSlot>)> = unpack_image(data)
        .into_iter()
        .enumerate()
        .map(|(id, (_, bytes))| (id as u64 + 1, Arc::new(MemSlot(Mutex::new(bytes)))))
        .collect();
    let loaded = Pool::load(files);
    check(&loaded, "Pool::load");
    let Ok(mut pool) = loaded else { return };
    let first_free = pool.max_id().unwrap_or(0) + 1;
    for id in first_free..first_free + FREE_SLOTS {
        pool.add_free(id, Arc::new(MemSlot::default()));
    }
    exercise_store(PoolStorage::new(pool));
}

/// Seeds: a real store's journal and slot files after a workload.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let options = Options { background_work: false, durability: Durability::Buffered, ..Options::teaching() };
    let workload = |storage: Arc<dyn Storage>| {
        let db = Db::open_shared(storage, options.clone()).expect("open");
        for i in 0..75u32 {
            db.put(format!("k{:03}", i % 50).as_bytes(), &i.to_le_bytes()).expect("put");
            if i % 9 == 0 {
                db.delete(format!("k{:03}", i % 7).as_bytes()).expect("delete");
            }
        }
        db.close().expect("close");
    };

    let files = Arc::new(JournaledFiles::default());
    workload(files.clone());
    let (mut records, mut chunks) = (Vec::new(), Vec::new());
    for (id, name) in (1u64..).zip(files.list().expect("list")) {
        let data = files.read_all(&name).expect("read");
        for (i, piece) in data.chunks(200).enumerate() {
            chunks.push((id, (i * 200) as u64, piece.to_vec()));
        }
        records.push((name, id, None));
    }
    chunks.sort_by_key(|&(id, offset, _)| (id, offset));

    let slots: Vec<Arc<MemSlot>> = (0..40).map(|_| Arc::new(MemSlot::default())).collect();
    let mut pool = Pool::load(Vec::new()).expect("an empty pool");
    for (id, slot) in (1u64..).zip(&slots) {
        pool.add_free(id, slot.clone());
    }
    workload(Arc::new(PoolStorage::new(pool)));
    let image: Vec<(String, Vec<u8>)> =
        slots.iter().map(|slot| slot.bytes()).filter(|b| !b.is_empty()).map(|b| (String::from("slot"), b)).collect();

    vec![("journal", encode_journal(&records, &chunks)), ("opfs_slots", pack_image(&image))]
}

#[cfg(test)]
mod tests {
    use super::*;
    use lsmkv::testing::Rng;

    /// Goal: the seeds are real stores that open with their data.
    #[test]
    fn every_target_takes_its_seeds() {
        for (target, input) in seeds() {
            assert!(input.len() > 1000, "{target}: a real store image");
            lsmkv::fuzz::entry(TARGETS, target)(&input);
        }
    }

    /// Goal: mutations of the seeds keep the rule (the short stable run;
    /// `fuzz/` runs libFuzzer).
    #[test]
    fn mutated_seeds_keep_the_rule() {
        let seeds = seeds();
        let mut rng = Rng::new(0x5107);
        for (target, input) in &seeds {
            let run = lsmkv::fuzz::entry(TARGETS, target);
            for _ in 0..300 {
                run(&lsmkv::fuzz::mutate(input, &mut rng));
            }
        }
    }

    /// Goal: inputs the fuzzer crashed on stay fixed (`fuzz/regressions/`).
    #[test]
    fn regressions_stay_fixed() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
        lsmkv::fuzz::replay_regressions(TARGETS, &root);
    }
}
