use super::*;
use crate::key::ValueKind;
use crate::record::LOG_HEADER_SIZE;
use crate::storage::MemStorage;
use crate::testing::FaultStorage;
use crate::testing::Rng;
use alloc::vec;

fn random_key(rng: &mut Rng) -> Vec<u8> {
    let len = 1 + rng.below(24) as usize;
    rng.bytes(len)
}

fn table(rng: &mut Rng, number: u64) -> TableMeta {
    let (mut a, mut b) = (random_key(rng), random_key(rng));
    if a > b {
        core::mem::swap(&mut a, &mut b);
    }
    let min_seq = rng.below(1 << 40) + 1;
    let max_seq = min_seq + rng.below(1000);
    let entry_count = 1 + rng.below(10_000);
    TableMeta {
        number,
        file_size: rng.next_u64() >> 20,
        entry_count,
        tombstone_count: rng.below(entry_count + 1),
        min_seq,
        max_seq,
        smallest: InternalKey::new(a, max_seq, ValueKind::Put),
        largest: InternalKey::new(b, min_seq, ValueKind::Delete),
    }
}

fn full_edit(seed: u64, tables: usize) -> VersionEdit {
    let mut rng = Rng::new(seed);
    VersionEdit {
        next_file_number: Some(1 + rng.below(1 << 50)),
        flushed_seq: Some(100),
        last_seq: Some(SEQ_MAX),
        added: (0..tables).map(|i| (i % LEVELS, table(&mut rng, i as u64 + 7))).collect(),
        removed: (0..tables / 2).map(|i| ((i * 3) % LEVELS, rng.next_u64())).collect(),
    }
}

fn encoded(edit: &VersionEdit) -> Vec<u8> {
    let mut out = Vec::new();
    edit.encode(&mut out);
    out
}

fn corruption_offset(result: Result<VersionEdit>) -> u64 {
    match result {
        Err(Error::Corruption { file, offset, .. }) => {
            assert_eq!(file, "MANIFEST-000001");
            offset
        }
        other => panic!("want corruption, got {other:?}"),
    }
}

fn decode(payload: &[u8]) -> Result<VersionEdit> {
    VersionEdit::decode(payload, "MANIFEST-000001", 100)
}

/// Goal: edits with every field, and with many tables, round-trip.
#[test]
fn edits_round_trip() {
    for edit in [
        VersionEdit { next_file_number: Some(2), flushed_seq: Some(0), last_seq: Some(0), ..Default::default() },
        VersionEdit { removed: vec![(6, u64::MAX)], ..Default::default() },
        full_edit(1, 1),
        full_edit(2, 1000),
    ] {
        assert_eq!(decode(&encoded(&edit)).unwrap(), edit);
    }
    let mut extreme = full_edit(3, 2);
    extreme.added[0].1.smallest.user_key = vec![0xFF; KEY_SIZE_LIMIT];
    extreme.added[0].1.largest.user_key = vec![0xFF; KEY_SIZE_LIMIT];
    assert_eq!(decode(&encoded(&extreme)).unwrap(), extreme);
}

/// Goal: the bytes are FORMAT.md's: tag, then fixed fields in order.
#[test]
fn edit_layout_matches_format() {
    let edit = VersionEdit { next_file_number: Some(2), removed: vec![(3, 9)], ..Default::default() };
    let mut want = vec![TAG_NEXT_FILE_NUMBER];
    want.extend_from_slice(&2u64.to_le_bytes());
    want.extend_from_slice(&[TAG_REMOVE_TABLE, 3]);
    want.extend_from_slice(&9u64.to_le_bytes());
    assert_eq!(encoded(&edit), want);
}

/// Goal: unknown tags, bad levels and malformed keys are corruption at
/// the offset of the field.
#[test]
fn malformed_edits_are_corruption() {
    for tag in [0u8, 6, 255] {
        assert_eq!(corruption_offset(decode(&[tag, 0, 0])), 100);
    }
    let mut prefix = encoded(&VersionEdit { last_seq: Some(5), ..Default::default() });
    prefix.extend_from_slice(&[TAG_REMOVE_TABLE, LEVELS as u8]);
    prefix.extend_from_slice(&1u64.to_le_bytes());
    assert_eq!(corruption_offset(decode(&prefix)), 100 + 11); // just after the level byte

    let add = encoded(&full_edit(4, 1));
    let add_at = 27; // three scalar fields of 9 bytes come first
    assert_eq!(add[add_at], TAG_ADD_TABLE);
    let mut bad_level = add.clone();
    bad_level[add_at + 1] = 7;
    assert_eq!(corruption_offset(decode(&bad_level)), 100 + add_at as u64 + 2);
    let key_len_at = add_at + 2 + 6 * 8;
    let mut empty_key = add.clone();
    empty_key[key_len_at] = 0;
    assert!(decode(&empty_key).is_err());
    let mut bad_kind = add.clone();
    let key_len = add[key_len_at] as usize;
    bad_kind[key_len_at + 1 + key_len] = 2; // low byte of the trailer = kind
    assert!(decode(&bad_kind).is_err());
    let mut long_key = vec![TAG_ADD_TABLE, 0];
    long_key.extend_from_slice(&[0u8; 48]);
    put_varint32(&mut long_key, KEY_SIZE_LIMIT as u32 + 1);
    long_key.extend_from_slice(&vec![1u8; KEY_SIZE_LIMIT + 9]);
    assert!(decode(&long_key).is_err());
}

/// Goal: a cut inside a field is corruption, never a shorter table.
#[test]
fn every_truncated_add_table_is_corruption() {
    let edit = VersionEdit { added: full_edit(5, 1).added, ..Default::default() };
    let bytes = encoded(&edit);
    for len in 1..bytes.len() {
        assert!(matches!(decode(&bytes[..len]), Err(Error::Corruption { .. })), "len {len}");
    }
}

/// Goal: inconsistent content that parses is still corruption.
#[test]
fn inconsistent_edits_are_corruption() {
    let mut twice = encoded(&VersionEdit { flushed_seq: Some(1), ..Default::default() });
    twice.extend_from_slice(&twice.clone());
    assert_eq!(corruption_offset(decode(&twice)), 109);
    let mut flushed_after_last = vec![TAG_FLUSHED_SEQ];
    flushed_after_last.extend_from_slice(&9u64.to_le_bytes());
    flushed_after_last.push(TAG_LAST_SEQ);
    flushed_after_last.extend_from_slice(&8u64.to_le_bytes());
    assert!(decode(&flushed_after_last).is_err());
    let mut seq_too_big = vec![TAG_LAST_SEQ];
    seq_too_big.extend_from_slice(&(SEQ_MAX + 1).to_le_bytes());
    assert!(decode(&seq_too_big).is_err());

    let good = full_edit(6, 1);
    let mutations: [fn(&mut TableMeta); 4] = [
        |t| t.entry_count = 0,
        |t| t.tombstone_count = t.entry_count + 1,
        |t| t.min_seq = t.max_seq + 1,
        |t| core::mem::swap(&mut t.smallest, &mut t.largest),
    ];
    for mutate in mutations {
        let mut meta = good.added[0].1.clone();
        mutate(&mut meta);
        // Bypass encode's assertion to build the bytes a buggy writer would.
        let mut bytes = vec![TAG_ADD_TABLE];
        encode_table(0, &meta, &mut bytes);
        assert_eq!(corruption_offset(decode(&bytes)), 100);
    }
}

#[test]
#[should_panic(expected = "invalid version edit")]
fn encoding_a_bad_level_is_a_bug() {
    let edit = VersionEdit { removed: vec![(LEVELS, 1)], ..Default::default() };
    encoded(&edit);
}

/// Goal: a manifest written by the writer reads back edit for edit, and
/// each create/append is synced before it returns.
#[test]
fn writer_and_reader_round_trip() {
    let storage = FaultStorage::new();
    let snapshot = full_edit(7, 20);
    let mut writer = ManifestWriter::create(&storage, 4, &snapshot).unwrap();
    assert_eq!(writer.name(), "MANIFEST-000004");
    let len = |s: &FaultStorage| s.raw_bytes("MANIFEST-000004").unwrap().len() as u64;
    assert_eq!(storage.synced_len("MANIFEST-000004"), Some(len(&storage)));
    let mut edits = vec![snapshot];
    for i in 0..10 {
        let edit = full_edit(100 + i, i as usize);
        let before = len(&storage);
        assert_eq!(writer.append(&storage, &edit).unwrap(), len(&storage) - before);
        assert_eq!(storage.synced_len("MANIFEST-000004"), Some(len(&storage)));
        edits.push(edit);
    }
    assert_eq!(read_manifest(&storage, 4).unwrap(), (edits, None));
    let err = writer.append(&storage, &VersionEdit::default()).unwrap_err();
    assert_eq!(err.code(), "INVALID_ARGUMENT");
}

/// Goal: a torn last edit is dropped and reported, at every cut.
#[test]
fn torn_manifest_tail_drops_only_the_last_edit() {
    let storage = MemStorage::new();
    let snapshot = full_edit(8, 3);
    let mut writer = ManifestWriter::create(&storage, 1, &snapshot).unwrap();
    let complete = storage.len("MANIFEST-000001").unwrap();
    writer.append(&storage, &full_edit(9, 4)).unwrap();
    let full = storage.len("MANIFEST-000001").unwrap();
    for len in (complete + 1..full).rev() {
        storage.truncate("MANIFEST-000001", len).unwrap();
        let (edits, tail) = read_manifest(&storage, 1).unwrap();
        assert_eq!(edits, vec![snapshot.clone()]);
        assert_eq!(tail, Some(TornTail { offset: complete, dropped_bytes: len - complete }));
    }
    storage.truncate("MANIFEST-000001", LOG_HEADER_SIZE as u64 - 1).unwrap();
    let (edits, tail) = read_manifest(&storage, 1).unwrap();
    assert!(edits.is_empty());
    assert_eq!(tail.map(|t| t.offset), Some(0));
}

/// Goal: CURRENT round-trips, is replaced by install, and a stale
/// CURRENT.tmp does not block an install.
#[test]
fn current_install_and_read() {
    let storage = MemStorage::new();
    assert_eq!(read_current(&storage).unwrap(), None);
    install_current(&storage, 1).unwrap();
    assert_eq!(read_current(&storage).unwrap(), Some(1));
    storage.create(CURRENT_TMP).unwrap();
    storage.append(CURRENT_TMP, b"half-written garbage").unwrap();
    install_current(&storage, 123_456_789).unwrap();
    assert_eq!(read_current(&storage).unwrap(), Some(123_456_789));
    assert!(!storage.exists(CURRENT_TMP).unwrap());
    assert_eq!(storage.read_all(CURRENT).unwrap(), encode_current(123_456_789).to_vec());
    let mut names = storage.list().unwrap();
    names.sort();
    assert_eq!(names, vec![String::from(CURRENT)]);
}

/// Goal: CURRENT's layout is FORMAT.md's.
#[test]
fn current_layout_matches_format() {
    let bytes = encode_current(0x0102_0304_0506_0708);
    assert_eq!(&bytes[..8], b"LSMKVCUR");
    assert_eq!(&bytes[8..12], &1u32.to_le_bytes());
    assert_eq!(&bytes[12..20], &0x0102_0304_0506_0708u64.to_le_bytes());
    assert_eq!(&bytes[20..], &crc32(&bytes[..20]).to_le_bytes());
}

/// Goal: any damage to CURRENT is detected: every bit flip, every
/// length other than 24; a valid CURRENT of another version is
/// UnsupportedFormat.
#[test]
fn damaged_current_is_detected() {
    let good = encode_current(42);
    for bit in 0..CURRENT_SIZE * 8 {
        let mut damaged = good;
        damaged[bit / 8] ^= 1 << (bit % 8);
        let err = decode_current(&damaged, CURRENT).unwrap_err();
        assert!(matches!(err, Error::Corruption { ref file, .. } if file == CURRENT), "bit {bit}: {err:?}");
    }
    for len in (0..CURRENT_SIZE).chain([CURRENT_SIZE + 1]) {
        let mut bytes = good.to_vec();
        bytes.resize(len, 0);
        assert!(matches!(decode_current(&bytes, CURRENT), Err(Error::Corruption { .. })), "len {len}");
    }
    let mut v2 = good;
    v2[8] = 2;
    let crc = crc32(&v2[..20]);
    v2[20..].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(
        decode_current(&v2, CURRENT).unwrap_err(),
        Error::UnsupportedFormat { file: CURRENT.into(), found: 2, supported: 1 }
    );
    let storage = MemStorage::new();
    storage.create(CURRENT).unwrap();
    storage.append(CURRENT, &good[..10]).unwrap();
    assert!(matches!(read_current(&storage), Err(Error::Corruption { .. })));
}
