//! The size bounds the SSTable caps rely on: `size_if_added` and
//! `single_entry_table_size` never underestimate, so a table cut by them
//! never exceeds its cap.

use super::*;

/// Random workloads for the size bound: key lengths 1..=64, values from empty
/// to several blocks.
fn random_sizes(rng: &mut Rng, count: usize) -> Vec<ModelEntry> {
    let mut entries = Vec::new();
    let mut seq = 1;
    let mut previous_key: Vec<u8> = Vec::new();
    while entries.len() < count {
        // Keys grow: a random suffix on a counter keeps them increasing.
        let mut user_key = format!("{:08}", entries.len()).into_bytes();
        user_key.extend((0..rng.below(56)).map(|_| b'a' + rng.below(26) as u8));
        // Sometimes another version of the previous key instead.
        let repeat = !previous_key.is_empty() && rng.chance(20);
        if repeat {
            user_key = previous_key.clone();
        }
        let value = vec![0x5a; value_len(rng)];
        entries.push((user_key.clone(), seq, ValueKind::Put, value));
        seq += 1;
        previous_key = user_key;
    }
    // Versions of one key must be newest first.
    sort_model(&mut entries);
    entries
}

/// Goal: `size_if_added` is a true upper bound, and a tight one. Method: for
/// random workloads and block sizes, record the bound before each add; after
/// `finish` the file must not exceed the last bound (and, stored as is, be
/// within a few filter bytes of it, since the bound is exact but for the
/// filter; compressed, only below it).
#[test]
fn size_if_added_is_an_upper_bound() {
    let storage = MemStorage::new();
    for seed in 0..30u64 {
        let mut rng = Rng::new(seed);
        let block_size = [64, 200, 512, 4096][seed as usize % 4];
        let bits_per_key = 1 + (seed as u32 % 32);
        let count = 1 + rng.below(200) as usize;
        let entries = random_sizes(&mut rng, count);
        let name = format!("{seed:06}.sst");
        let compression = if seed % 2 == 0 { Compression::None } else { Compression::Lz4 };
        let mut writer = TableWriter::create(&storage, &name, block_size, bits_per_key, compression).unwrap();
        let mut bound = 0;
        for (user_key, seq, kind, value) in &entries {
            // Not monotonic: a shorter next key shrinks the projected index entry.
            bound = writer.size_if_added(user_key.len(), value.len());
            writer.add(user_key, *seq, *kind, value).unwrap();
        }
        let info = writer.finish().unwrap();
        assert!(info.file_size <= bound, "seed {seed}: {} > {bound}", info.file_size);
        if compression == Compression::None {
            assert!(bound - info.file_size <= 8, "seed {seed}: bound {bound} is loose for {}", info.file_size);
        }
    }
}

/// Goal: `single_entry_table_size` bounds a one-entry table. Method: write
/// one-entry tables of many key and value sizes.
#[test]
fn single_entry_table_size_is_an_upper_bound() {
    let storage = MemStorage::new();
    let mut rng = Rng::new(9);
    for i in 0..60u32 {
        let key_len = 1 + rng.below(300) as usize;
        let value_len = [0, 1, 127, 128, 16_383, 16_384, 70_000][i as usize % 7] + rng.below(3) as usize;
        let bits_per_key = 1 + rng.below(32) as u32;
        let name = format!("{i:06}.sst");
        let mut writer = TableWriter::create(&storage, &name, 4096, bits_per_key, Compression::Lz4).unwrap();
        writer.add(&vec![b'k'; key_len], 1, ValueKind::Put, &vec![1; value_len]).unwrap();
        let info = writer.finish().unwrap();
        let bound = single_entry_table_size(key_len, value_len, bits_per_key) as u64;
        assert!(info.file_size <= bound, "{key_len}/{value_len}: {} > {bound}", info.file_size);
    }
}

/// Goal: the product guarantee. Method: split a long random stream into
/// tables the way flush and compaction do (start a new table when the next
/// entry's bound would pass the cap); no table exceeds the cap, and together
/// they hold every entry.
#[test]
fn splitting_by_the_bound_never_exceeds_the_cap() {
    let storage = MemStorage::new();
    let entries = random_sizes(&mut Rng::new(42), 3000);
    for (cap, block_size) in [(8 << 10, 64usize), (20 << 10, 512), (48 << 10, 4096)] {
        let largest = entries.iter().map(|e| single_entry_table_size(e.0.len(), e.3.len(), 10)).max().unwrap();
        assert!(largest as u64 <= cap, "every entry fits a table");
        let mut tables: Vec<(String, u64)> = Vec::new();
        let mut writer: Option<TableWriter<'_>> = None;
        let mut written = 0;
        for (user_key, seq, kind, value) in &entries {
            let full = writer.as_ref().is_some_and(|w| w.size_if_added(user_key.len(), value.len()) > cap);
            if full {
                let info = writer.take().unwrap().finish().unwrap();
                tables.push((format!("{}", tables.len()), info.file_size));
            }
            let writer = writer.get_or_insert_with(|| {
                TableWriter::create(
                    &storage,
                    &format!("cap{cap}-{:06}.sst", tables.len()),
                    block_size,
                    10,
                    Compression::Lz4,
                )
                .unwrap()
            });
            writer.add(user_key, *seq, *kind, value).unwrap();
            written += 1;
        }
        let info = writer.take().unwrap().finish().unwrap();
        tables.push((String::new(), info.file_size));
        assert_eq!(written, entries.len());
        assert!(tables.len() > 2, "the stream needed several tables at cap {cap}: {}", tables.len());
        for (_, size) in &tables {
            assert!(*size <= cap, "a table of {size} bytes exceeds the cap {cap}");
        }
        let names: Vec<String> =
            storage.list().unwrap().into_iter().filter(|n| n.starts_with(&format!("cap{cap}-"))).collect();
        let total: u64 = names.iter().map(|name| open(&storage, name, 1).properties().entry_count).sum();
        assert_eq!(total, entries.len() as u64);
    }
}
