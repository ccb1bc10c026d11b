//! Internal keys: a user key plus the sequence number and kind of one write.
//!
//! Order (the order of every memtable, block, table and level): user key
//! ascending bytewise, then sequence number descending, so the newest version
//! of a key comes first. A sequence number is unique per entry, so the kind
//! never decides the order.

use alloc::vec::Vec;
use core::cmp::Ordering;

/// Sequence numbers fit in 56 bits: the trailer packs `seq << 8 | kind`.
pub const SEQ_MAX: u64 = (1 << 56) - 1;

/// What an entry says about its key. Stored on disk as one byte.
/// DO NOT RENUMBER: these values are part of the WAL and SSTable formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ValueKind {
    /// The key was deleted (a tombstone); the entry has no value.
    Delete = 0,
    /// The key holds the entry's value.
    Put = 1,
}

impl TryFrom<u8> for ValueKind {
    type Error = u8;
    fn try_from(tag: u8) -> core::result::Result<Self, u8> {
        match tag {
            0 => Ok(ValueKind::Delete),
            1 => Ok(ValueKind::Put),
            other => Err(other),
        }
    }
}

/// Packs a sequence number and kind into the on-disk trailer.
pub fn pack_trailer(seq: u64, kind: ValueKind) -> u64 {
    debug_assert!(seq <= SEQ_MAX);
    (seq << 8) | kind as u64
}

/// Splits a trailer; an unknown kind byte is reported by the caller as corruption.
pub fn unpack_trailer(trailer: u64) -> (u64, core::result::Result<ValueKind, u8>) {
    (trailer >> 8, ValueKind::try_from((trailer & 0xff) as u8))
}

/// An owned internal key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InternalKey {
    pub user_key: Vec<u8>,
    pub seq: u64,
    pub kind: ValueKind,
}

impl InternalKey {
    pub fn new(user_key: impl Into<Vec<u8>>, seq: u64, kind: ValueKind) -> Self {
        InternalKey { user_key: user_key.into(), seq, kind }
    }
}

impl Ord for InternalKey {
    fn cmp(&self, other: &Self) -> Ordering {
        compare(&self.user_key, self.seq, &other.user_key, other.seq)
    }
}

impl PartialOrd for InternalKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The internal-key order: user key ascending, then sequence descending.
#[inline]
pub fn compare(a_key: &[u8], a_seq: u64, b_key: &[u8], b_seq: u64) -> Ordering {
    compare_user_keys(a_key, b_key).then(b_seq.cmp(&a_seq))
}

/// Bytewise order of two user keys, the same as `a.cmp(b)`, eight bytes at
/// a time. Every memtable, block and index search compares keys a dozen
/// times or more; for keys of tens of bytes the call into libc's `memcmp`
/// that `a.cmp(b)` makes cost more than the comparison (a fifth of a
/// Zipfian read/update mix's time at 2M keys).
#[inline]
pub fn compare_user_keys(a: &[u8], b: &[u8]) -> Ordering {
    let mut a_words = a.chunks_exact(8);
    let mut b_words = b.chunks_exact(8);
    for (x, y) in (&mut a_words).zip(&mut b_words) {
        let (x, y) = (be_word(x), be_word(y));
        if x != y {
            return x.cmp(&y);
        }
    }
    // Past the last whole word of the shorter key: the rest of it is under
    // eight bytes (the longer one's whole words past that point are
    // still in its iterator, so compare from the same offset of both).
    let done = a.len().min(b.len()) / 8 * 8;
    let (a_rest, b_rest) = (a.get(done..).unwrap_or_default(), b.get(done..).unwrap_or_default());
    for (x, y) in a_rest.iter().zip(b_rest) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// Eight bytes as a big-endian word (the caller passes exactly eight).
#[inline]
fn be_word(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(bytes);
    u64::from_be_bytes(word)
}

/// The smallest key strictly greater than every key that starts with
/// `prefix`, or `None` when there is none (the prefix is empty or all 0xFF).
/// Trailing 0xFF bytes cannot be incremented, so they are dropped first:
/// the successor of `ab\xff` is `ac`, not `ab\x00`.
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let keep = prefix.iter().rposition(|&b| b != 0xff)?;
    let mut out = prefix[..=keep].to_vec();
    out[keep] += 1;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_versions_sort_first() {
        let a = InternalKey::new(b"k".to_vec(), 9, ValueKind::Put);
        let b = InternalKey::new(b"k".to_vec(), 3, ValueKind::Delete);
        let c = InternalKey::new(b"l".to_vec(), 100, ValueKind::Put);
        assert!(a < b && b < c);
    }

    /// `compare_user_keys` is exactly the bytewise order, on keys that share
    /// long prefixes, differ in any byte, or are prefixes of one another.
    #[test]
    fn user_key_order_is_bytewise() {
        let mut rng = crate::testing::Rng::new(7);
        let alphabet = [0u8, 1, 0x7f, 0x80, 0xfe, 0xff, b'0', b'9'];
        let mut keys: Vec<Vec<u8>> = Vec::new();
        for _ in 0..400 {
            let len = rng.below(40) as usize;
            let mut key: Vec<u8> = (0..len).map(|_| alphabet[rng.below(alphabet.len() as u64) as usize]).collect();
            if let Some(other) = keys.last().filter(|_| rng.below(2) == 0) {
                // Share a prefix with the previous key.
                let shared = other.len().min(rng.below(24) as usize);
                key.splice(0..0, other[..shared].iter().copied());
            }
            keys.push(key);
        }
        for a in &keys {
            for b in keys.iter().step_by(3) {
                assert_eq!(compare_user_keys(a, b), a.cmp(b), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn prefix_successor_skips_trailing_ff() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_successor(b"a\xff\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_successor(b"\xff\xff"), None);
        assert_eq!(prefix_successor(b""), None);
        assert_eq!(prefix_successor(b"\x00"), Some(b"\x01".to_vec()));
    }

    #[test]
    fn trailer_round_trips() {
        let t = pack_trailer(SEQ_MAX, ValueKind::Put);
        assert_eq!(unpack_trailer(t), (SEQ_MAX, Ok(ValueKind::Put)));
        assert_eq!(unpack_trailer(7 << 8 | 9).1, Err(9));
    }
}
