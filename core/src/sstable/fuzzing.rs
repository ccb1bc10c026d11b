//! The table decoders' entry points for `crate::fuzz` (their modules are
//! private), and helpers to cut a real table into its parts.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::block::{Block, BlockCursor};
use super::bloom::BloomFilter;
use super::footer::Footer;
use super::{Properties, BLOCK_TRAILER_SIZE, FOOTER_SIZE, HANDLE_SIZE, PROPERTIES_SIZE};
use crate::coding;
use crate::error::Result;

const FILE: &str = "000001.sst";

/// Full validation of a block, and every cursor move on the read path's
/// lighter parse of it: `(validation, moves)`.
pub fn block(data: &[u8]) -> (Result<()>, Vec<Result<()>>) {
    let validated = Block::parse(data.to_vec(), Arc::from(FILE), 0).map(drop);
    let mut moves = Vec::new();
    let Ok(block) = Block::parse_trusting_checksum(data.to_vec(), Arc::from(FILE), 0) else {
        return (validated, moves);
    };
    let block = Arc::new(block);
    let count = block.entry_count();
    let mut cursor = BlockCursor::new(block.clone());
    let mut keys = Vec::new();
    moves.push(cursor.seek_first());
    while moves.last().is_some_and(Result::is_ok) && cursor.valid() && keys.len() <= count {
        keys.push((cursor.user_key().to_vec(), cursor.seq()));
        let _ = (cursor.kind(), cursor.value().len());
        moves.push(cursor.next());
    }
    moves.push(cursor.seek_last());
    let mut back = 0;
    while moves.last().is_some_and(Result::is_ok) && cursor.valid() && back <= count {
        back += 1;
        moves.push(cursor.prev());
    }
    keys.truncate(16);
    keys.push((Vec::new(), 0));
    keys.push((alloc::vec![0xff; 4], u64::MAX >> 8));
    for (key, seq) in &keys {
        moves.push(cursor.seek_ge(key, *seq));
        moves.push(cursor.seek_le(key, *seq));
    }
    if validated.is_ok() {
        assert!(moves.iter().all(Result::is_ok), "a validated block reads without error");
        assert_eq!(keys.len() - 2, count.min(16), "a scan of a validated block sees every entry");
    }
    (validated, moves)
}

pub fn bloom(data: &[u8]) -> Result<()> {
    let filter = BloomFilter::parse(data.to_vec(), FILE, 0)?;
    for key in [&b"k001"[..], b"", b"\xff\xff"] {
        let _ = filter.may_contain(key);
    }
    let _ = filter.summary();
    Ok(())
}

/// A footer; one that decodes re-encodes to its 52 bytes.
pub fn footer(data: &[u8]) -> Result<()> {
    let footer = Footer::decode(data, FILE, 0)?;
    assert_eq!(footer.encode(), data[..FOOTER_SIZE], "a decoded footer re-encodes to its bytes");
    Ok(())
}

/// A properties block; one that decodes re-encodes to its 56 bytes.
pub fn properties(data: &[u8]) -> Result<()> {
    let properties = Properties::decode(data, FILE, 0)?;
    assert_eq!(properties.encode(), data[..PROPERTIES_SIZE], "decoded properties re-encode to their bytes");
    Ok(())
}

/// `(offset, size)` of the handle encoded at `at`, if it is in the file.
fn handle_at(file: &[u8], at: usize) -> Option<(usize, usize)> {
    let bytes = file.get(at..at + HANDLE_SIZE)?;
    let offset = usize::try_from(u64::from_le_bytes(bytes[..8].try_into().ok()?)).ok()?;
    let size = u32::from_le_bytes(bytes[8..12].try_into().ok()?) as usize;
    Some((offset, size))
}

/// The block at a handle without its crc, if it lies in the file.
fn block_at(file: &[u8], (offset, size): (usize, usize)) -> Option<&[u8]> {
    file.get(offset..offset.checked_add(size)?.checked_add(BLOCK_TRAILER_SIZE)?).map(|b| &b[..size])
}

/// Rewrites the crc of the block at a handle, if it lies in the file.
fn fix_block(file: &mut [u8], handle: (usize, usize)) {
    if let Some(crc) = block_at(file, handle).map(coding::crc32) {
        let at = handle.0 + handle.1;
        file[at..at + BLOCK_TRAILER_SIZE].copy_from_slice(&crc.to_le_bytes());
    }
}

/// The footer's index, filter and properties handles.
fn footer_handles(file: &[u8]) -> Option<[(usize, usize); 3]> {
    let start = file.len().checked_sub(FOOTER_SIZE)?;
    Some([handle_at(file, start)?, handle_at(file, start + HANDLE_SIZE)?, handle_at(file, start + 2 * HANDLE_SIZE)?])
}

/// The data block handles an index block holds (values of 12 bytes).
fn data_handles(index: &[u8]) -> Vec<(usize, usize)> {
    let Ok(block) = Block::parse_trusting_checksum(index.to_vec(), Arc::from(FILE), 0) else { return Vec::new() };
    (0..block.entry_count().min(4096))
        .filter_map(|i| block.entry(i).ok())
        .filter_map(|entry| handle_at(entry.value, 0))
        .collect()
}

/// Makes every crc of a (mutated) table right again: data blocks, filter,
/// index, properties, footer.
pub fn fix_checksums(file: &mut [u8]) {
    let Some(handles) = footer_handles(file) else { return };
    let data = block_at(file, handles[0]).map(data_handles).unwrap_or_default();
    for handle in data.into_iter().chain(handles) {
        fix_block(file, handle);
    }
    let start = file.len() - FOOTER_SIZE;
    let crc_at = start + 3 * HANDLE_SIZE + 4;
    let crc = coding::crc32(&file[start..crc_at]);
    file[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());
}

/// A real table's parts, as seeds: `(target, bytes)`.
pub fn parts(file: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    let Some([index, filter, properties]) = footer_handles(file) else { return out };
    out.push(("footer", file[file.len() - FOOTER_SIZE..].to_vec()));
    for (target, handle) in [("block", index), ("bloom", filter), ("properties", properties)] {
        if let Some(bytes) = block_at(file, handle) {
            out.push((target, bytes.to_vec()));
        }
    }
    if let Some(first) = block_at(file, index).map(data_handles).and_then(|h| h.first().copied()) {
        if let Some(bytes) = block_at(file, first) {
            out.push(("block", bytes.to_vec()));
        }
    }
    out
}
