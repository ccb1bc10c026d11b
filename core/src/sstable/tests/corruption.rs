//! Damaged tables: every bit flip, crc-valid inconsistencies, short files
//! and other format versions are errors, never a panic or wrong data.

use super::*;

/// Reads everything a table offers: open, both scans, gets at every probe
/// target, and the inspector. Returns the first error.
fn read_everything(storage: &Arc<MemStorage>, name: &str, file_size: u64, entries: &[ModelEntry]) -> Result<(), Error> {
    let table = Arc::new(Table::open(&**storage, name, 1, file_size)?);
    let cache = Arc::new(BlockCache::new(1 << 20));
    let forward = scan(&table, storage, &cache, Direction::Forward)?;
    let reverse = scan(&table, storage, &cache, Direction::Reverse)?;
    assert_eq!(forward, entries, "a damaged table returned different data");
    assert!(reverse.iter().rev().eq(entries.iter()), "a damaged table returned different data");
    // A fresh cache, so gets read (and check) the blocks themselves.
    check_gets(&table, &**storage, &BlockCache::new(0), entries)?;
    table.inspect(&**storage)?;
    Ok(())
}

/// Goal: damage is always detected, never returned as data and never a
/// panic. Method: flip every bit of every byte of a small table (data
/// blocks, filter, index, properties, footer) one at a time and read
/// everything; each flip must give `Corruption` (or `UnsupportedFormat`)
/// naming the file. CRC-32 catches every single-bit error, so none may pass.
#[test]
fn every_bit_flip_is_detected() {
    let storage = Arc::new(MemStorage::new());
    let name = "000009.sst";
    let entries: Vec<ModelEntry> = random_entries(&mut Rng::new(3), 12)
        .into_iter()
        .map(|(k, s, kind, v)| (k, s, kind, v.into_iter().take(40).collect()))
        .collect();
    write_table(&*storage, name, &entries, 128);
    let original = storage.read_all(name).unwrap();
    assert!((600..=2500).contains(&original.len()), "table is {} bytes", original.len());
    read_everything(&storage, name, original.len() as u64, &entries).unwrap();
    for byte in 0..original.len() {
        for bit in 0..8 {
            storage.with_file_mut(name, |file| file[byte] ^= 1 << bit).unwrap();
            let result = read_everything(&storage, name, original.len() as u64, &entries);
            match result {
                Err(Error::Corruption { file, offset, .. }) => {
                    assert_eq!(file, name);
                    assert!(offset < original.len() as u64, "offset {offset} lies outside the file");
                }
                Err(Error::UnsupportedFormat { file, .. }) => assert_eq!(file, name),
                other => panic!("flip of bit {bit} in byte {byte} gave {other:?}"),
            }
            storage.with_file_mut(name, |file| file[byte] ^= 1 << bit).unwrap();
        }
    }
}

/// Applies `change` to the block at `handle` and recomputes its crc, making
/// damage that checksums cannot see (a writer bug, a crafted file).
fn rewrite_block(storage: &MemStorage, name: &str, handle: BlockHandle, change: impl FnOnce(&mut [u8])) {
    storage
        .with_file_mut(name, |file| {
            let start = handle.offset as usize;
            let end = start + handle.size as usize;
            change(&mut file[start..end]);
            // Format 2: the crc covers the block and its kind byte.
            let crc = crate::coding::crc32(&file[start..end + 1]);
            file[end + 1..end + 5].copy_from_slice(&crc.to_le_bytes());
        })
        .unwrap();
}

/// Goal: structure is checked, not only checksums. Method: make
/// crc-valid tables that lie (properties that disagree with the entries, an
/// unknown kind, a data block whose last key is not its index key, handles
/// that do not tile the file) and expect `Corruption` naming the file.
#[test]
fn crc_valid_inconsistencies_are_corruption() {
    type Damage = fn(&MemStorage, &str, &TableInspection);
    let damages: [(&str, Damage); 4] = [
        ("properties disagree", |storage, name, inspection| {
            let end = inspection.index_handle.end_with_trailer(FormatVersion::NEWEST).unwrap();
            let properties = BlockHandle { offset: end, size: 64 };
            rewrite_block(storage, name, properties, |block| block[0] += 1);
        }),
        ("unknown value kind", |storage, name, inspection| {
            // The first entry's kind byte follows its two one-byte varints.
            rewrite_block(storage, name, inspection.blocks[1].handle, |block| block[2] = 7);
        }),
        ("last key differs", |storage, name, inspection| {
            let handle = inspection.blocks[1].handle;
            let key_len = inspection.blocks[1].last_key.len();
            rewrite_block(storage, name, handle, |block| {
                // The last entry's last key byte, just before its value: the
                // entries (one-byte varints here) are walked from the start up
                // to the restart array.
                let count_at = block.len() - 4;
                let entries = u32::from_le_bytes(block[count_at..].try_into().unwrap()) as usize;
                let entries_end = count_at - 4 * entries.div_ceil(FormatVersion::NEWEST.restart_interval());
                let mut last = 0;
                for _ in 1..entries {
                    last += 2 + 8 + block[last] as usize + block[last + 1] as usize;
                }
                let value_len = block[last + 1] as usize;
                assert!(entries >= 1 && value_len < 128);
                assert_eq!(last + 2 + 8 + key_len + value_len, entries_end, "the walk ends at the restart array");
                block[last + 2 + 8 + key_len - 1] ^= 0x01;
            });
        }),
        ("do not tile", |storage, name, inspection| {
            // The top index's first entry: the size of its index partition's
            // handle follows the key and the handle's offset.
            let first_key_len = inspection.blocks[0].last_key.len();
            rewrite_block(storage, name, inspection.index_handle, |block| block[2 + 8 + first_key_len + 8] ^= 0x01);
        }),
    ];
    // Each damage names the reason the reader must give.
    for (expected_reason, damage) in damages {
        let storage = Arc::new(MemStorage::new());
        let entries: Vec<ModelEntry> = (0..30u32)
            .map(|i| (format!("key{i:03}").into_bytes(), 100 - u64::from(i), ValueKind::Put, vec![1; 20]))
            .collect();
        // Stored as is, so the damage below edits entries directly.
        let info = write_table_with(&*storage, "000001.sst", &entries, 64, Compression::None);
        let inspection = open(&*storage, "000001.sst", 1).inspect(&*storage).unwrap();
        damage(&storage, "000001.sst", &inspection);
        let result = read_everything(&storage, "000001.sst", info.file_size, &entries);
        let named = matches!(&result, Err(Error::Corruption { file, reason, .. })
            if file == "000001.sst" && reason.contains(expected_reason));
        assert!(named, "{expected_reason}: {result:?}");
    }
}

/// Goal: a wrong size from the manifest, a truncated file, or garbage is
/// corruption naming the file, not a panic.
#[test]
fn short_or_missized_files_are_corruption() {
    let storage = Arc::new(MemStorage::new());
    let entries = random_entries(&mut Rng::new(8), 10);
    let info = write_table(&*storage, "000001.sst", &entries, 64);
    for size in [0, 1, 51, 52, 53, info.file_size - 1, info.file_size / 2] {
        let result = Table::open(&*storage, "000001.sst", 1, size);
        assert!(matches!(&result, Err(Error::Corruption { file, .. }) if file == "000001.sst"), "size {size}");
    }
    // Past the end of the file: the storage's own read error, still corruption.
    assert!(matches!(Table::open(&*storage, "000001.sst", 1, info.file_size + 10), Err(Error::Corruption { .. })));
    storage.create("garbage.sst").unwrap();
    storage.append("garbage.sst", &[0xab; 300]).unwrap();
    assert!(matches!(Table::open(&*storage, "garbage.sst", 2, 300), Err(Error::Corruption { .. })));
}

/// Goal: a table written by another format version is `UnsupportedFormat`.
/// Method: rewrite the footer's version with a valid crc.
#[test]
fn another_format_version_is_unsupported() {
    let storage = MemStorage::new();
    let entries = random_entries(&mut Rng::new(11), 5);
    let info = write_table(&storage, "000001.sst", &entries, 4096);
    let footer_start = (info.file_size as usize) - FOOTER_SIZE;
    storage
        .with_file_mut("000001.sst", |file| {
            let footer = &mut file[footer_start..];
            footer[36..40].copy_from_slice(&4u32.to_le_bytes());
            let crc = crate::coding::crc32(&footer[..40]);
            footer[40..44].copy_from_slice(&crc.to_le_bytes());
        })
        .unwrap();
    assert_eq!(
        Table::open(&storage, "000001.sst", 1, info.file_size).err(),
        Some(Error::UnsupportedFormat { file: "000001.sst".into(), found: 4, supported: 3 })
    );
}
