//! The header of a slot file (`slots.rs`): two copies, each checksummed,
//! so a torn write of one leaves the other.
//!
//! ```text
//! 0       2048      4096                         size
//! | copy 0 | copy 1 | data: the logical file's bytes |
//! ```
//!
//! Each header copy is `magic "LSMKVSLT" | version u16 | flags u16 |
//! generation u64 | name length u16 | name | crc32 u32` (little-endian; the
//! CRC covers everything before it). A copy is valid if its magic, length
//! and CRC check. The slot's state is its valid copy with the highest
//! generation; a slot with no valid copy is free. Flags bit 0 set means the
//! slot holds the named file; clear means free. A free slot's data is empty.
//!
//! Generations are unique across the pool and only grow (the next one is one
//! more than any seen at load). Two slots may claim the same name only after
//! a crash in the middle of a rename; the higher generation wins and the
//! other slot is freed at load.

/// Bytes before a slot's data: two header copies.
pub const HEADER_SIZE: u64 = 4096;
/// Bytes reserved for each header copy.
pub(super) const COPY_SIZE: u64 = 2048;
const MAGIC: &[u8; 8] = b"LSMKVSLT";
/// Slot header format version. A newer one is refused, not misread.
pub const SLOT_FORMAT_VERSION: u16 = 1;
const FLAG_IN_USE: u16 = 1;
/// Fixed header fields before the name: magic, version, flags, generation, name length.
const FIXED: usize = 8 + 2 + 2 + 8 + 2;
/// Longest logical file name (bytes). Engine names are under 32.
pub const NAME_MAX: usize = 1024;

/// What one header copy says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub generation: u64,
    /// `Some(name)`: the slot holds that file; `None`: free.
    pub name: Option<String>,
}

/// The result of reading one header copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Copy {
    Valid(Header),
    /// Never written, torn, or not a header: ignored.
    Invalid,
    /// A header of a newer format: the store must not be opened.
    NewerVersion(u16),
}

pub fn encode_header(header: &Header) -> Vec<u8> {
    let name = header.name.as_deref().unwrap_or("");
    let mut out = Vec::with_capacity(FIXED + name.len() + 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&SLOT_FORMAT_VERSION.to_le_bytes());
    let flags = if header.name.is_some() { FLAG_IN_USE } else { 0 };
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(&header.generation.to_le_bytes());
    out.extend_from_slice(&(name.len() as u16).to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    debug_assert!(out.len() as u64 <= COPY_SIZE);
    out
}

pub fn decode_header(bytes: &[u8]) -> Copy {
    if bytes.len() < FIXED + 4 || &bytes[..8] != MAGIC {
        return Copy::Invalid;
    }
    let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
    let version = u16_at(8);
    let flags = u16_at(10);
    let generation = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
    let name_len = u16_at(20) as usize;
    let end = FIXED + name_len;
    if name_len > NAME_MAX || bytes.len() < end + 4 {
        return Copy::Invalid;
    }
    let stored = u32::from_le_bytes(bytes[end..end + 4].try_into().expect("4 bytes"));
    // Generations count up from 1; the last one is never written (no
    // generation could follow it).
    if crc32(&bytes[..end]) != stored || generation == u64::MAX {
        return Copy::Invalid;
    }
    if version > SLOT_FORMAT_VERSION {
        return Copy::NewerVersion(version);
    }
    let name = match std::str::from_utf8(&bytes[FIXED..end]) {
        Ok(name) if flags & FLAG_IN_USE != 0 => Some(name.to_string()),
        Ok(_) => None,
        Err(_) => return Copy::Invalid,
    };
    Copy::Valid(Header { generation, name })
}

/// CRC-32 (IEEE), the checksum the engine's own formats use.
pub(super) fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}
