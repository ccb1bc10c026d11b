use super::*;
use alloc::format;
use alloc::vec;

fn file() -> Arc<str> {
    Arc::from("000007.sst")
}

/// Entries (key, seq, kind, value) in internal order.
fn sample() -> Vec<(Vec<u8>, u64, ValueKind, Vec<u8>)> {
    let mut entries = Vec::new();
    for i in 0..20u32 {
        let key = format!("k{:03}", i * 2).into_bytes();
        entries.push((key.clone(), 50, ValueKind::Put, format!("v{i}").into_bytes()));
        if i % 3 == 0 {
            entries.push((key, 10, ValueKind::Delete, Vec::new()));
        }
    }
    entries
}

/// Restart intervals the tests run with: formats 1 and 2, format 3, and
/// one that makes many small groups of the sample.
const INTERVALS: [usize; 3] = [1, RESTART_INTERVAL, 3];

fn build_with(entries: &[(Vec<u8>, u64, ValueKind, Vec<u8>)], interval: usize) -> Vec<u8> {
    let mut builder = BlockBuilder::new(interval);
    for (key, seq, kind, value) in entries {
        builder.add(key, key::pack_trailer(*seq, *kind), value);
    }
    let expected_size = builder.encoded_size();
    let bytes = builder.finish().clone();
    assert_eq!(bytes.len() as u64, expected_size);
    bytes
}

/// Every entry comes back, in order, from a cursor moving either way.
#[test]
fn cursor_walks_both_ways() {
    for interval in INTERVALS {
        cursor_walks_both_ways_with(interval);
    }
}

fn cursor_walks_both_ways_with(interval: usize) {
    let entries = sample();
    let block = Arc::new(Block::parse(build_with(&entries, interval), interval, file(), 0).unwrap());
    assert_eq!(block.entry_positions().unwrap().len(), entries.len());
    for (i, (key, seq, _, _)) in entries.iter().enumerate() {
        let entry = block.entry(i).unwrap();
        assert_eq!((entry.user_key, entry.seq), (&key[..], *seq), "entry {i}, interval {interval}");
    }
    let mut cursor = BlockCursor::new(Arc::clone(&block));
    cursor.seek_first().unwrap();
    for (key, seq, kind, value) in &entries {
        assert_eq!(
            (cursor.user_key(), cursor.seq(), cursor.kind(), cursor.value()),
            (&key[..], *seq, *kind, &value[..])
        );
        cursor.next().unwrap();
    }
    assert!(!cursor.valid());
    cursor.seek_last().unwrap();
    for (key, seq, _, _) in entries.iter().rev() {
        assert_eq!((cursor.user_key(), cursor.seq()), (&key[..], *seq));
        cursor.prev().unwrap();
    }
    assert!(!cursor.valid());
}

/// `seek_ge`/`seek_le` agree with a linear scan at every key, every
/// neighbouring sequence number and between keys.
#[test]
fn seeks_match_a_linear_scan() {
    for interval in INTERVALS {
        seeks_match_a_linear_scan_with(interval);
    }
}

fn seeks_match_a_linear_scan_with(interval: usize) {
    let entries = sample();
    let block = Arc::new(Block::parse(build_with(&entries, interval), interval, file(), 0).unwrap());
    let mut cursor = BlockCursor::new(block.clone());
    let mut targets: Vec<(Vec<u8>, u64)> = Vec::new();
    for i in 0..42u32 {
        for seq in [0, 9, 10, 11, 49, 50, 51, u64::MAX] {
            targets.push((format!("k{i:03}").into_bytes(), seq));
        }
    }
    targets.push((b"a".to_vec(), 0));
    targets.push((b"z".to_vec(), 0));
    for (target_key, target_seq) in &targets {
        let cmp = |e: &(Vec<u8>, u64, ValueKind, Vec<u8>)| key::compare(&e.0, e.1, target_key, *target_seq);
        let first_ge = entries.iter().find(|e| cmp(e) != Ordering::Less);
        let found = block.first_at_or_after(target_key, *target_seq).unwrap();
        assert_eq!(found.map(|e| (e.user_key.to_vec(), e.seq)), first_ge.map(|e| (e.0.clone(), e.1)));
        cursor.seek_ge(target_key, *target_seq).unwrap();
        assert_eq!(
            cursor.valid().then(|| (cursor.user_key().to_vec(), cursor.seq())),
            first_ge.map(|e| (e.0.clone(), e.1))
        );
        let last_le = entries.iter().rev().find(|e| cmp(e) != Ordering::Greater);
        cursor.seek_le(target_key, *target_seq).unwrap();
        assert_eq!(
            cursor.valid().then(|| (cursor.user_key().to_vec(), cursor.seq())),
            last_le.map(|e| (e.0.clone(), e.1))
        );
    }
}

/// Structurally wrong blocks (even with a valid crc) are corruption that
/// names the file and an offset inside the block, never a panic.
#[test]
fn malformed_blocks_are_corruption() {
    for interval in INTERVALS {
        malformed_blocks_are_corruption_with(interval);
    }
}

fn malformed_blocks_are_corruption_with(interval: usize) {
    let build = |entries: &[(Vec<u8>, u64, ValueKind, Vec<u8>)]| build_with(entries, interval);
    let good = build(&sample());
    let cases: Vec<Vec<u8>> = vec![
        Vec::new(),
        vec![0, 0, 0],
        vec![0, 0, 0, 0], // zero entries
        vec![9, 0, 0, 0], // count larger than the block
        {
            let mut b = good.clone();
            let n = b.len();
            b[n - 8] ^= 1; // last restart offset wrong
            b
        },
        {
            let mut b = good.clone();
            let n = b.len();
            b[n - 4] += 1; // one entry more than the entries hold
            b
        },
        {
            let mut b = build(&[(b"a".to_vec(), 1, ValueKind::Put, Vec::new())]);
            b[2] = 7; // unknown kind: the trailer's low byte follows the two varints
            b
        },
        build(&[(b"b".to_vec(), 1, ValueKind::Put, Vec::new()), (b"a".to_vec(), 1, ValueKind::Put, Vec::new())]),
        build(&[(b"a".to_vec(), 1, ValueKind::Put, Vec::new()), (b"a".to_vec(), 1, ValueKind::Put, Vec::new())]),
    ];
    for (i, bytes) in cases.into_iter().enumerate() {
        match Block::parse(bytes, interval, file(), 1000) {
            Err(Error::Corruption { file, offset, .. }) => {
                assert_eq!(file, "000007.sst", "case {i}");
                assert!(offset >= 1000, "case {i}");
            }
            other => panic!("case {i}, interval {interval}: {:?}", other.map(|b| b.entry_count())),
        }
    }
}

/// A block trusted by its crc (not validated whole) whose entry's key length
/// overruns the next entry — the fuzzer's `opfs_slots` find: the scan read a
/// key no one wrote, made of two entries' bytes — is corruption as soon as
/// that entry is decoded, by a cursor or a search.
#[test]
fn an_entry_overrunning_its_neighbour_is_corruption_in_a_trusted_block() {
    for interval in INTERVALS {
        an_entry_overrunning_its_neighbour_with(interval);
    }
}

fn an_entry_overrunning_its_neighbour_with(interval: usize) {
    let entries =
        [(b"k1".to_vec(), 5, ValueKind::Put, b"v".to_vec()), (b"k2".to_vec(), 5, ValueKind::Put, b"w".to_vec())];
    let mut bytes = build_with(&entries, interval);
    // Entry 0: key_len 2, value_len 1, 8-byte trailer, "k1", "v"; its value
    // may grow into entry 1 and still stay inside the entries.
    assert_eq!(&bytes[..2], &[2, 1]);
    bytes[1] = 5;
    let block = Arc::new(Block::parse_trusting_checksum(bytes.clone(), interval, file(), 0).unwrap());
    let mut cursor = BlockCursor::new(block.clone());
    assert!(matches!(cursor.seek_first(), Err(Error::Corruption { .. })));
    assert!(matches!(block.lower_bound(b"k1", 5), Err(Error::Corruption { .. })));
    assert!(matches!(block.first_at_or_after(b"k2", 5), Err(Error::Corruption { .. })));
    assert!(
        matches!(Block::parse(bytes, interval, file(), 0), Err(Error::Corruption { .. })),
        "full validation agrees"
    );
}
