//! The bytes of a Raft snapshot: every data key of the state machine at one
//! lsmkv snapshot, as length-prefixed pairs. All integers little-endian.
//!
//! ```text
//! magic        8 bytes  "LSMKVSNP"
//! version      u32      1
//! meta_len     u32      then meta_len bytes: the openraft SnapshotMeta, as JSON
//! records      each: key_len u32 (at least 1), key, value_len u32, value; in key order
//! end          u32      0 (a key length no record has)
//! count        u64      the number of records
//! crc          u32      crc32 (IEEE) of every byte before it
//! ```
//!
//! The whole snapshot is held in memory, on the sender (openraft's
//! `Cursor<Vec<u8>>` snapshot data) and on the receiver until it installs:
//! a node needs free memory of about the size of its live data to send or
//! receive one. The metadata (last applied log id, membership) travels in
//! the header and, separately, in openraft's own message; install checks
//! that the two agree.

use openraft::SnapshotMeta;

use super::NodeId;

const MAGIC: &[u8; 8] = b"LSMKVSNP";
/// The format version. Never reuse a number for a different layout.
const VERSION: u32 = 1;
const U32: usize = 4;
const U64: usize = 8;

pub type Meta = SnapshotMeta<NodeId, openraft::BasicNode>;

/// Writes a snapshot: `begin`, `push` each pair in key order, `finish`.
pub struct Writer {
    bytes: Vec<u8>,
    count: u64,
}

impl Writer {
    pub fn begin(meta: &Meta) -> Result<Self, serde_json::Error> {
        let meta = serde_json::to_vec(meta)?;
        let mut bytes = Vec::with_capacity(64 + meta.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&VERSION.to_le_bytes());
        push_len(&mut bytes, meta.len());
        bytes.extend_from_slice(&meta);
        Ok(Writer { bytes, count: 0 })
    }

    pub fn push(&mut self, key: &[u8], value: &[u8]) {
        debug_assert!(!key.is_empty(), "a key length of 0 marks the end");
        push_len(&mut self.bytes, key.len());
        self.bytes.extend_from_slice(key);
        push_len(&mut self.bytes, value.len());
        self.bytes.extend_from_slice(value);
        self.count += 1;
    }

    pub fn finish(mut self) -> Vec<u8> {
        push_len(&mut self.bytes, 0);
        self.bytes.extend_from_slice(&self.count.to_le_bytes());
        let crc = crc32fast::hash(&self.bytes);
        self.bytes.extend_from_slice(&crc.to_le_bytes());
        self.bytes
    }
}

fn push_len(bytes: &mut Vec<u8>, len: usize) {
    // Keys and values are far below 4 GiB (the engine's limits).
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    bytes.extend_from_slice(&len.to_le_bytes());
}

/// Why a snapshot's bytes were refused.
#[derive(Debug)]
pub struct FormatError(pub String);

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad snapshot: {}", self.0)
    }
}

impl std::error::Error for FormatError {}

fn bad(why: impl Into<String>) -> FormatError {
    FormatError(why.into())
}

/// A key and its value, borrowed from the snapshot's bytes.
pub type Pair<'a> = (&'a [u8], &'a [u8]);

/// A checked snapshot: its metadata, then its pairs through `next_pair`.
pub struct Reader<'a> {
    pub meta: Meta,
    records: &'a [u8],
    read: u64,
    count: u64,
}

impl<'a> Reader<'a> {
    /// Checks the magic, version, checksum and header; the records are
    /// checked as they are read.
    pub fn open(bytes: &'a [u8]) -> Result<Self, FormatError> {
        let body_len = bytes.len().checked_sub(U32).ok_or_else(|| bad("shorter than its checksum"))?;
        let (body, crc) = bytes.split_at(body_len);
        if crc32fast::hash(body).to_le_bytes() != crc {
            return Err(bad("checksum mismatch"));
        }
        let count_at = body.len().checked_sub(U64).ok_or_else(|| bad("shorter than its trailer"))?;
        let (body, count) = body.split_at(count_at);
        let count = u64::from_le_bytes(count.try_into().map_err(|_| bad("trailer"))?);
        let mut cursor = Cursor(body);
        if cursor.take(MAGIC.len())? != MAGIC {
            return Err(bad("not a snapshot (magic)"));
        }
        let version = cursor.u32()?;
        if version != VERSION {
            return Err(bad(format!("format version {version}; this build reads {VERSION}")));
        }
        let meta_len = cursor.u32()? as usize;
        let meta = serde_json::from_slice(cursor.take(meta_len)?).map_err(|e| bad(format!("metadata: {e}")))?;
        Ok(Reader { meta, records: cursor.0, read: 0, count })
    }

    /// The next pair, `None` at the end (after checking the count).
    pub fn next_pair(&mut self) -> Result<Option<Pair<'a>>, FormatError> {
        let mut cursor = Cursor(self.records);
        let key_len = cursor.u32()? as usize;
        if key_len == 0 {
            if !cursor.0.is_empty() || self.read != self.count {
                return Err(bad(format!("{} records where the trailer says {}", self.read, self.count)));
            }
            return Ok(None);
        }
        let key = cursor.take(key_len)?;
        let value_len = cursor.u32()? as usize;
        let value = cursor.take(value_len)?;
        self.records = cursor.0;
        self.read += 1;
        Ok(Some((key, value)))
    }
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FormatError> {
        if self.0.len() < n {
            return Err(bad("truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, FormatError> {
        let bytes = self.take(U32)?;
        Ok(u32::from_le_bytes(bytes.try_into().map_err(|_| bad("truncated"))?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Meta {
        Meta { snapshot_id: "1-1-7".into(), ..Default::default() }
    }

    #[test]
    fn a_snapshot_reads_back_what_was_written() {
        let mut writer = Writer::begin(&meta()).unwrap();
        writer.push(b"a", b"");
        writer.push(b"b", b"value");
        let bytes = writer.finish();
        let mut reader = Reader::open(&bytes).unwrap();
        assert_eq!(reader.meta, meta());
        assert_eq!(reader.next_pair().unwrap(), Some((&b"a"[..], &b""[..])));
        assert_eq!(reader.next_pair().unwrap(), Some((&b"b"[..], &b"value"[..])));
        assert_eq!(reader.next_pair().unwrap(), None);
    }

    /// Every flipped byte and every truncation is refused, never misread.
    #[test]
    fn damage_is_refused() {
        let mut writer = Writer::begin(&meta()).unwrap();
        writer.push(b"key", b"value");
        let bytes = writer.finish();
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x40;
            assert!(Reader::open(&damaged).is_err(), "a flip at {at}");
            assert!(Reader::open(&bytes[..at]).is_err(), "a cut at {at}");
        }
    }
}
