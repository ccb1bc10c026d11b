//! Native tests of the journal, the request planner and the loader, against
//! a model of the two object stores. What they prove: persisting any
//! sequence of mutations in any batching, then loading, gives back exactly
//! the live files.

use std::collections::BTreeMap;

use super::*;
use lsmkv::testing::Rng;

/// The `files` and `chunks` object stores, as IndexedDB would hold them.
#[derive(Default, Debug)]
struct ModelStores {
    /// name -> (id, `len` of a format 1 record).
    files: BTreeMap<String, (FileId, Option<u64>)>,
    chunks: BTreeMap<(FileId, u64), Vec<u8>>,
    transactions: usize,
}

impl ModelStores {
    fn apply(&mut self, requests: &[Request]) {
        self.transactions += 1;
        for request in requests {
            match request {
                Request::PutFile { name, id } => {
                    self.files.insert(name.clone(), (*id, None));
                }
                Request::DeleteFile { name } => {
                    self.files.remove(name);
                }
                Request::PutChunk { id, offset, data } => {
                    self.chunks.insert((*id, *offset), data.clone());
                }
                Request::DeleteChunks { id, from } => {
                    self.chunks.retain(|(chunk_id, offset), _| !(chunk_id == id && offset >= from));
                }
            }
        }
    }

    fn load(&self) -> Loaded {
        let records = self.files.iter().map(|(name, (id, len))| (name.clone(), *id, *len)).collect();
        let chunks = self.chunks.iter().map(|((id, offset), data)| (*id, *offset, data.clone())).collect();
        load(records, chunks).expect("stored state loads")
    }
}

fn persist(files: &JournaledFiles, stores: &mut ModelStores) {
    let batch = files.take_batch();
    if !batch.mutations.is_empty() {
        stores.apply(&plan(batch.mutations));
    }
}

fn snapshot(files: &JournaledFiles) -> BTreeMap<String, Vec<u8>> {
    files.list().unwrap().into_iter().map(|name| (name.clone(), files.read_all(&name).unwrap())).collect()
}

fn loaded_snapshot(loaded: &Loaded) -> BTreeMap<String, Vec<u8>> {
    loaded.files.iter().map(|(name, _, data)| (name.clone(), data.clone())).collect()
}

#[test]
fn conformance_suite_passes() {
    // The core's storage contract, on the journaled files.
    lsmkv::testing::conformance::run_all(&JournaledFiles::default());
}

#[test]
fn contiguous_appends_become_one_chunk() {
    // A table written block by block, then synced, is one chunk: many
    // appends cost one put.
    let files = JournaledFiles::default();
    files.create("000001.sst").unwrap();
    for block in 0..100u8 {
        files.append("000001.sst", &[block; 10]).unwrap();
    }
    let requests = plan(files.take_batch().mutations);
    let chunks = requests.iter().filter(|r| matches!(r, Request::PutChunk { .. })).count();
    assert_eq!(chunks, 1);
    assert!(requests.contains(&Request::PutFile { name: "000001.sst".into(), id: 0 }));
}

#[test]
fn an_append_after_persist_writes_only_the_new_bytes() {
    // WAL appends never rewrite the file: the second batch carries 3 bytes.
    let files = JournaledFiles::default();
    let mut stores = ModelStores::default();
    files.create("000002.wal").unwrap();
    files.append("000002.wal", b"first record").unwrap();
    persist(&files, &mut stores);
    files.append("000002.wal", b"abc").unwrap();
    let requests = plan(files.take_batch().mutations);
    let bytes: usize = requests
        .iter()
        .map(|r| match r {
            Request::PutChunk { data, .. } => data.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(bytes, 3);
}

#[test]
fn rename_over_an_existing_file_is_one_batch_and_drops_the_old_chunks() {
    // The manifest switch: CURRENT.tmp replaces CURRENT atomically.
    let files = JournaledFiles::default();
    let mut stores = ModelStores::default();
    files.create("CURRENT").unwrap();
    files.append("CURRENT", b"MANIFEST-000001\n").unwrap();
    persist(&files, &mut stores);
    files.create("CURRENT.tmp").unwrap();
    files.append("CURRENT.tmp", b"MANIFEST-000009\n").unwrap();
    files.rename("CURRENT.tmp", "CURRENT").unwrap();
    persist(&files, &mut stores);
    assert_eq!(stores.transactions, 2);
    assert_eq!(stores.chunks.len(), 1, "the replaced CURRENT's chunk is gone");
    assert_eq!(loaded_snapshot(&stores.load()), snapshot(&files));
}

#[test]
fn truncate_then_append_loads_the_new_tail() {
    // A torn WAL tail cut at open, then written again.
    let files = JournaledFiles::default();
    let mut stores = ModelStores::default();
    files.create("w").unwrap();
    files.append("w", b"0123456789").unwrap();
    persist(&files, &mut stores);
    files.append("w", b"abcdef").unwrap();
    persist(&files, &mut stores);
    files.truncate("w", 12).unwrap();
    files.append("w", b"XY").unwrap();
    persist(&files, &mut stores);
    assert_eq!(files.read_all("w").unwrap(), b"0123456789abXY");
    assert_eq!(loaded_snapshot(&stores.load()), snapshot(&files));
}

#[test]
fn an_append_batch_is_one_chunk_put_and_nothing_else() {
    // The common group commit (WAL appends) touches only the chunks store,
    // with one request: no file record to update.
    let files = JournaledFiles::default();
    let mut stores = ModelStores::default();
    files.create("000002.wal").unwrap();
    files.append("000002.wal", b"first").unwrap();
    persist(&files, &mut stores);
    files.append("000002.wal", b"second").unwrap();
    files.append("000002.wal", b"third").unwrap();
    let requests = plan(files.take_batch().mutations);
    assert_eq!(requests, vec![Request::PutChunk { id: 0, offset: 5, data: b"secondthird".to_vec() }]);
    assert!(chunks_only(&requests));
    stores.apply(&requests);
    assert_eq!(loaded_snapshot(&stores.load()), snapshot(&files));
}

#[test]
fn a_truncate_inside_a_chunk_is_cut_by_an_empty_chunk() {
    let files = JournaledFiles::default();
    let mut stores = ModelStores::default();
    files.create("w").unwrap();
    files.append("w", b"0123456789").unwrap();
    persist(&files, &mut stores);
    files.truncate("w", 4).unwrap();
    persist(&files, &mut stores);
    assert_eq!(stores.chunks.get(&(0, 4)), Some(&Vec::new()), "the cut is an empty chunk at the new length");
    assert_eq!(loaded_snapshot(&stores.load())["w"], b"0123");
    files.append("w", b"xy").unwrap();
    persist(&files, &mut stores);
    assert_eq!(loaded_snapshot(&stores.load())["w"], b"0123xy");
}

#[test]
fn a_gap_in_the_chunks_is_corruption() {
    let err = load(vec![("f".into(), 1, None)], vec![(1, 0, vec![1; 4]), (1, 6, vec![2; 2])]).unwrap_err();
    assert!(matches!(err, Error::Corruption { .. }), "{err:?}");
    // A format 1 record longer than its chunks.
    let err = load(vec![("f".into(), 1, Some(8))], vec![(1, 0, vec![1; 4])]).unwrap_err();
    assert!(matches!(err, Error::Corruption { .. }), "{err:?}");
}

#[test]
fn ids_beyond_the_loadable_range_are_corruption_and_a_loaded_store_can_always_create() {
    // A file or chunk id past LOADED_ID_MAX: damage (the fuzzer's journal
    // crash: an id near 2^53 loaded, and the next create ran out of ids).
    let err = load(vec![("f".into(), LOADED_ID_MAX, None)], vec![]).unwrap_err();
    assert!(matches!(err, Error::Corruption { .. }), "{err:?}");
    let err = load(vec![], vec![(LOADED_ID_MAX, 0, vec![1])]).unwrap_err();
    assert!(matches!(err, Error::Corruption { .. }), "{err:?}");
    // The highest loadable id leaves room to create files.
    let loaded = load(vec![("f".into(), LOADED_ID_MAX - 1, None)], vec![(LOADED_ID_MAX - 1, 0, vec![7])]).unwrap();
    assert_eq!(loaded.next_id, LOADED_ID_MAX);
    let files = JournaledFiles::from_loaded(loaded.files, loaded.next_id);
    for name in ["a", "b", "c"] {
        files.create(name).unwrap();
    }
    assert_eq!(files.read_all("f").unwrap(), vec![7]);
}

#[test]
fn format_1_records_load_cut_to_their_len_and_are_converted() {
    // Format 1 kept `{ id, len }` and cut the file to `len`, leaving the tail
    // of a chunk a truncate fell in. Loading honours `len`; the conversion
    // at open makes the chunks say the same without it.
    let mut stores = ModelStores::default();
    stores.files.insert("w".into(), (3, Some(6)));
    stores.files.insert("CURRENT".into(), (4, Some(4)));
    stores.chunks.insert((3, 0), b"0123".to_vec());
    stores.chunks.insert((3, 4), b"456789".to_vec()); // cut at 6 by the record
    stores.chunks.insert((4, 0), b"M-01".to_vec());
    let loaded = stores.load();
    let before = loaded_snapshot(&loaded);
    assert_eq!(before["w"], b"012345");
    assert_eq!(loaded.legacy.len(), 2);
    stores.apply(&coalesce_plan(&loaded));
    let converted = stores.load();
    assert!(converted.legacy.is_empty(), "every record is in the current format");
    assert_eq!(loaded_snapshot(&converted), before);
    // Appends after the conversion land after the cut.
    let files = JournaledFiles::from_loaded(converted.files, converted.next_id);
    files.append("w", b"ab").unwrap();
    persist(&files, &mut stores);
    assert_eq!(loaded_snapshot(&stores.load())["w"], b"012345ab");
}

#[test]
fn fragmented_files_and_orphans_are_coalesced_after_load() {
    let files = JournaledFiles::default();
    let mut stores = ModelStores::default();
    files.create("w").unwrap();
    for i in 0..(COALESCE_CHUNKS_MIN + 5) {
        files.append("w", &[i as u8]).unwrap();
        persist(&files, &mut stores);
    }
    stores.chunks.insert((77, 0), vec![9]); // an orphan
    let loaded = stores.load();
    assert_eq!(loaded.orphans, vec![77]);
    stores.apply(&coalesce_plan(&loaded));
    assert_eq!(stores.chunks.len(), 1);
    assert_eq!(loaded_snapshot(&stores.load()), snapshot(&files));
    assert!(stores.load().next_id > 0);
}

#[test]
fn random_mutations_in_random_batches_load_back_exactly() {
    // Model test: after every persist, loading the stores gives the live
    // files; a reload mid-way continues with fresh ids.
    for seed in 1..=40u64 {
        let mut rng = Rng::new(seed);
        let mut files = JournaledFiles::default();
        let mut stores = ModelStores::default();
        let names = ["a", "b", "c", "CURRENT", "CURRENT.tmp"];
        for step in 0..300 {
            let name = names[rng.below(names.len() as u64) as usize];
            let other = names[rng.below(names.len() as u64) as usize];
            // Errors (absent or existing names) are fine: they must not journal.
            let _ = match rng.below(7) {
                0 => files.create(name),
                1..=3 => {
                    let data: Vec<u8> = (0..rng.below(20)).map(|_| rng.next_u64() as u8).collect();
                    files.append(name, &data)
                }
                4 => files.len(name).and_then(|len| files.truncate(name, rng.below(len + 1))),
                5 => files.rename(name, other),
                _ => files.remove(name),
            };
            if rng.below(4) == 0 {
                persist(&files, &mut stores);
                assert_eq!(loaded_snapshot(&stores.load()), snapshot(&files), "seed {seed} step {step}");
            }
            if rng.below(50) == 0 {
                persist(&files, &mut stores);
                let loaded = stores.load();
                stores.apply(&coalesce_plan(&loaded));
                files = JournaledFiles::from_loaded(loaded.files, loaded.next_id);
            }
        }
        persist(&files, &mut stores);
        assert_eq!(loaded_snapshot(&stores.load()), snapshot(&files), "seed {seed} at end");
    }
}
