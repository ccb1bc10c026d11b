//! How a block is stored (FORMAT.md, "Block trailer and compression"): its
//! trailer, its checksum, and — from format 2 on — its compression. Writing picks
//! the stored form; reading checks the trailer and returns the block's bytes.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use alloc::vec;
use alloc::vec::Vec;

use crate::coding;
use crate::error::{Error, Result};
use crate::options::Compression;
use crate::storage::Storage;

use super::{BlockHandle, FormatVersion};

/// The trailer kind of a block stored as is.
const KIND_RAW: u8 = 0;
/// The trailer kind of an LZ4-compressed block.
const KIND_LZ4: u8 = 1;
/// An LZ4 block starts with the raw length, a u32.
const RAW_LEN_SIZE: usize = 4;
/// LZ4 cannot expand data by more than this factor, so a declared raw
/// length above it is damage, refused before anything is allocated.
const LZ4_EXPANSION_MAX: usize = 255;

/// Bytes after each block: format 1 a crc; formats 2 and 3 a kind byte and a crc.
pub const fn trailer_size(version: FormatVersion) -> usize {
    match version {
        FormatVersion::V1 => 4,
        FormatVersion::V2 | FormatVersion::V3 => 5,
    }
}

/// Appends `block` in its stored form to `out` (cleared first), followed by
/// its trailer (formats 2 and 3). With `compression`, the block is stored LZ4-compressed
/// when that saves at least an eighth of it, else as is.
pub fn encode(block: &[u8], compression: Compression, out: &mut Vec<u8>) {
    out.clear();
    let kind = match compression {
        Compression::Lz4 if compress_lz4(block, out) => KIND_LZ4,
        _ => {
            out.clear();
            out.extend_from_slice(block);
            KIND_RAW
        }
    };
    out.push(kind);
    let crc = coding::crc32(out);
    coding::put_u32(out, crc);
}

/// Writes `raw_len` and the LZ4 block into `out`; false (and `out` holds
/// garbage) if the result would not save an eighth of `block`.
fn compress_lz4(block: &[u8], out: &mut Vec<u8>) -> bool {
    let limit = block.len() - block.len() / 8;
    out.resize(RAW_LEN_SIZE + lz4_flex::block::get_maximum_output_size(block.len()), 0);
    let (head, body) = out.split_at_mut(RAW_LEN_SIZE);
    head.copy_from_slice(&coding::len_u32(block.len()).to_le_bytes());
    match lz4_flex::block::compress_into(block, body) {
        Ok(written) if RAW_LEN_SIZE + written <= limit => {
            out.truncate(RAW_LEN_SIZE + written);
            true
        }
        _ => false,
    }
}

/// Reads the block at `handle` of a table of `version`, checks its trailer,
/// and returns its bytes (decompressed). The stored bytes are checked and
/// decompressed where the storage holds them (a file map): a compressed
/// block is never copied before it is decompressed.
pub fn read(storage: &dyn Storage, file: &str, handle: BlockHandle, version: FormatVersion) -> Result<Vec<u8>> {
    let size = handle.size as usize;
    let with_trailer = size
        .checked_add(trailer_size(version))
        .ok_or_else(|| Error::corruption(file, handle.offset, "block too large"))?;
    let mut block = Err(Error::corruption(file, handle.offset, "block cut short"));
    storage.read_with(file, handle.offset, with_trailer, &mut |stored| {
        block = decode(stored, size, file, handle.offset, version);
    })?;
    block
}

/// The block held in `stored` (its `size` bytes and its trailer).
fn decode(stored: &[u8], size: usize, file: &str, offset: u64, version: FormatVersion) -> Result<Vec<u8>> {
    let crc_at = stored.len().checked_sub(4).ok_or_else(|| Error::corruption(file, offset, "block cut short"))?;
    let (covered, crc_bytes) = stored.split_at(crc_at);
    let crc_bytes = <[u8; 4]>::try_from(crc_bytes).map_err(|_| Error::corruption(file, offset, "block cut short"))?;
    if coding::crc32(covered) != u32::from_le_bytes(crc_bytes) {
        return Err(Error::corruption(file, offset, "block checksum mismatch"));
    }
    let kind = match version {
        FormatVersion::V1 => KIND_RAW,
        FormatVersion::V2 | FormatVersion::V3 => covered.get(size).copied().unwrap_or(u8::MAX),
    };
    let body = covered.get(..size).ok_or_else(|| Error::corruption(file, offset, "block cut short"))?;
    match kind {
        KIND_RAW => Ok(body.to_vec()),
        KIND_LZ4 => decompress_lz4(body, file, offset),
        _ => Err(Error::corruption(file, offset, "unknown block kind")),
    }
}

/// Reads a block stored at `handle` that must not be compressed (metadata).
pub fn read_raw(storage: &dyn Storage, file: &str, handle: BlockHandle, version: FormatVersion) -> Result<Vec<u8>> {
    let block = read(storage, file, handle, version)?;
    if block.len() != handle.size as usize {
        return Err(Error::corruption(file, handle.offset, "a metadata block is compressed"));
    }
    Ok(block)
}

fn decompress_lz4(stored: &[u8], file: &str, offset: u64) -> Result<Vec<u8>> {
    let corrupt = |reason: &str| Error::corruption(file, offset, reason);
    let (head, body) = stored.split_at_checked(RAW_LEN_SIZE).ok_or_else(|| corrupt("compressed block too short"))?;
    let raw_len = u32::from_le_bytes(head.try_into().map_err(|_| corrupt("compressed block too short"))?) as usize;
    if raw_len > body.len().saturating_mul(LZ4_EXPANSION_MAX) || raw_len == 0 {
        return Err(corrupt("compressed block declares an impossible size"));
    }
    let mut raw = vec![0u8; raw_len];
    match lz4_flex::block::decompress_into(body, &mut raw) {
        Ok(written) if written == raw_len => Ok(raw),
        _ => Err(corrupt("compressed block does not decompress to its declared size")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::storage::MemStorage;

    fn store(storage: &MemStorage, name: &str, block: &[u8], compression: Compression) -> BlockHandle {
        let mut out = Vec::new();
        encode(block, compression, &mut out);
        storage.create(name).unwrap();
        storage.append(name, &out).unwrap();
        BlockHandle { offset: 0, size: (out.len() - trailer_size(FormatVersion::V2)) as u32 }
    }

    #[test]
    fn compressible_blocks_shrink_and_come_back() {
        let storage = MemStorage::new();
        let block: Vec<u8> = (0..4096u32).map(|i| (i % 7) as u8).collect();
        let handle = store(&storage, "a", &block, Compression::Lz4);
        assert!((handle.size as usize) < block.len() / 2, "stored {} of {}", handle.size, block.len());
        assert_eq!(read(&storage, "a", handle, FormatVersion::V2).unwrap(), block);
        assert!(read_raw(&storage, "a", handle, FormatVersion::V2).is_err(), "metadata must not be compressed");
    }

    #[test]
    fn incompressible_or_unasked_blocks_are_stored_as_is() {
        let storage = MemStorage::new();
        let mut rng = crate::testing::Rng::new(7);
        let noise = rng.bytes(1000);
        for (name, compression) in [("a", Compression::Lz4), ("b", Compression::None)] {
            let handle = store(&storage, name, &noise, compression);
            assert_eq!(handle.size as usize, noise.len());
            assert_eq!(read_raw(&storage, name, handle, FormatVersion::V2).unwrap(), noise);
        }
    }

    /// Every bit flip in a stored compressed block, trailer included, is an
    /// error: never a panic, never other bytes.
    #[test]
    fn damage_is_corruption() {
        let block: Vec<u8> = (0..2000u32).map(|i| (i % 13) as u8).collect();
        let mut stored = Vec::new();
        encode(&block, Compression::Lz4, &mut stored);
        let size = (stored.len() - 5) as u32;
        for bit in 0..stored.len() * 8 {
            let storage = MemStorage::new();
            let mut damaged = stored.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            storage.create("t").unwrap();
            storage.append("t", &damaged).unwrap();
            let result = read(&storage, "t", BlockHandle { offset: 0, size }, FormatVersion::V2);
            assert!(matches!(result, Err(Error::Corruption { .. })), "bit {bit}: {result:?}");
        }
    }

    /// A crc-valid block whose LZ4 payload lies about its size or is garbage.
    #[test]
    fn lying_compressed_blocks_are_corruption() {
        let mut rng = crate::testing::Rng::new(3);
        for case in 0..300 {
            let mut payload = Vec::new();
            let declared: u32 = match case % 3 {
                0 => 0,
                1 => u32::MAX,
                _ => rng.below(5000) as u32,
            };
            payload.extend_from_slice(&declared.to_le_bytes());
            let len = rng.below(64) as usize;
            payload.extend(rng.bytes(len));
            payload.push(KIND_LZ4);
            let crc = coding::crc32(&payload);
            coding::put_u32(&mut payload, crc);
            let storage = MemStorage::new();
            storage.create("t").unwrap();
            storage.append("t", &payload).unwrap();
            let handle = BlockHandle { offset: 0, size: (payload.len() - 5) as u32 };
            match read(&storage, "t", handle, FormatVersion::V2) {
                Err(Error::Corruption { .. }) => {}
                Ok(raw) => assert_eq!(raw.len(), declared as usize, "case {case}: a success has the declared size"),
                Err(other) => panic!("case {case}: {other:?}"),
            }
        }
    }
}
