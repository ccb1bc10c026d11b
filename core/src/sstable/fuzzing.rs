//! The table decoders' entry points for `crate::fuzz` (their modules are
//! private), and helpers to cut a real table into its parts.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::block::{Block, BlockCursor, RESTART_INTERVAL};
use super::bloom::BloomFilter;
use super::footer::Footer;
use super::stored;
use super::{BlockHandle, FormatVersion, Properties, FOOTER_SIZE, HANDLE_SIZE};
use crate::coding;
use crate::error::Result;

const FILE: &str = "000001.sst";

/// What `block` found: the full validation, and each cursor move's result.
pub type BlockOutcome = (Result<()>, Vec<Result<()>>);

/// Restart intervals a block may have: formats 1 and 2, and format 3.
pub const INTERVALS: [usize; 2] = [1, RESTART_INTERVAL];

/// Full validation of a block with a restart point every `interval`
/// entries, and every cursor move on the read path's lighter parse of it:
/// `(validation, moves)`.
pub fn block(data: &[u8], interval: usize) -> BlockOutcome {
    let validated = Block::parse(data.to_vec(), interval, Arc::from(FILE), 0).map(drop);
    let mut moves = Vec::new();
    let Ok(block) = Block::parse_trusting_checksum(data.to_vec(), interval, Arc::from(FILE), 0) else {
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

/// A properties block of either format; one that decodes re-encodes to its bytes.
pub fn properties(data: &[u8]) -> Result<()> {
    let version = if data.len() == FormatVersion::V1.properties_size() { FormatVersion::V1 } else { FormatVersion::V2 };
    let properties = Properties::decode(data, FILE, 0, version)?;
    assert_eq!(properties.encode(version), data, "decoded properties re-encode to their bytes");
    Ok(())
}

/// A stored block (as a table holds it, trailer included, with its crc made
/// right): read as format 3 — the kind byte, LZ4 decompression of untrusted
/// bytes — and, if that works, parsed and walked like a data block of each
/// restart interval.
pub fn stored_block(data: &[u8]) -> (Result<()>, Vec<BlockOutcome>) {
    let mut file = data.to_vec();
    if file.len() < 5 {
        return (Ok(()), Vec::new());
    }
    let crc_at = file.len() - 4;
    let crc = coding::crc32(&file[..crc_at]);
    file[crc_at..].copy_from_slice(&crc.to_le_bytes());
    let storage = crate::storage::MemStorage::new();
    write(&storage, &file);
    let handle = BlockHandle { offset: 0, size: (file.len() - 5) as u32 };
    match stored::read(&storage, FILE, handle, FormatVersion::V3) {
        Ok(raw) => (Ok(()), INTERVALS.iter().map(|&interval| block(&raw, interval)).collect()),
        Err(e) => (Err(e), Vec::new()),
    }
}

fn write(storage: &crate::storage::MemStorage, bytes: &[u8]) {
    use crate::storage::Storage;
    let _ = storage.create(FILE);
    let _ = storage.append(FILE, bytes);
}

/// `(offset, size)` of the handle encoded at `at`, if it is in the file.
fn handle_at(file: &[u8], at: usize) -> Option<(usize, usize)> {
    let bytes = file.get(at..at + HANDLE_SIZE)?;
    let offset = usize::try_from(u64::from_le_bytes(bytes[..8].try_into().ok()?)).ok()?;
    let size = u32::from_le_bytes(bytes[8..12].try_into().ok()?) as usize;
    Some((offset, size))
}

/// The table's format, from its footer.
fn version(file: &[u8]) -> Option<FormatVersion> {
    let at = file.len().checked_sub(FOOTER_SIZE)? + 3 * HANDLE_SIZE;
    FormatVersion::from_number(u32::from_le_bytes(file.get(at..at + 4)?.try_into().ok()?))
}

/// The block at a handle without its trailer, if it lies in the file.
fn block_at(file: &[u8], (offset, size): (usize, usize), version: FormatVersion) -> Option<&[u8]> {
    let end = offset.checked_add(size)?.checked_add(stored::trailer_size(version))?;
    file.get(offset..end).map(|b| &b[..size])
}

/// Rewrites the trailer's crc of the block at a handle, if it lies in the file.
fn fix_block(file: &mut [u8], (offset, size): (usize, usize), version: FormatVersion) {
    let trailer = stored::trailer_size(version);
    let Some(end) = offset.checked_add(size).and_then(|e| e.checked_add(trailer)) else { return };
    if end > file.len() {
        return;
    }
    let crc = coding::crc32(&file[offset..end - 4]);
    file[end - 4..end].copy_from_slice(&crc.to_le_bytes());
}

/// The handles an index-shaped block of a `version` table holds: each
/// value's `slot`-th handle.
fn handles_in(index: &[u8], slot: usize, version: FormatVersion) -> Vec<(usize, usize)> {
    let interval = version.restart_interval();
    let Ok(block) = Block::parse_trusting_checksum(index.to_vec(), interval, Arc::from(FILE), 0) else {
        return Vec::new();
    };
    (0..block.entry_count().min(4096))
        .filter_map(|i| block.entry(i).ok())
        .filter_map(|entry| handle_at(entry.value, slot * HANDLE_SIZE))
        .collect()
}

/// Every block handle of the table: data blocks, filters, indexes, properties.
fn every_block(file: &[u8]) -> Option<(FormatVersion, Vec<(usize, usize)>)> {
    let version = version(file)?;
    let start = file.len().checked_sub(FOOTER_SIZE)?;
    let first = handle_at(file, start)?;
    let properties = handle_at(file, start + 2 * HANDLE_SIZE)?;
    let mut blocks = alloc::vec![first, properties];
    match version {
        FormatVersion::V1 => {
            blocks.push(handle_at(file, start + HANDLE_SIZE)?);
            blocks.extend(block_at(file, first, version).map(|i| handles_in(i, 0, version)).unwrap_or_default());
        }
        FormatVersion::V2 | FormatVersion::V3 => {
            let top = block_at(file, first, version)
                .map(|t| (handles_in(t, 0, version), handles_in(t, 1, version)))
                .unwrap_or_default();
            for partition in &top.0 {
                blocks
                    .extend(block_at(file, *partition, version).map(|i| handles_in(i, 0, version)).unwrap_or_default());
            }
            blocks.extend(top.0);
            blocks.extend(top.1);
        }
    }
    Some((version, blocks))
}

/// Makes every crc of a (mutated) table right again: data blocks, filters,
/// indexes, properties, footer.
pub fn fix_checksums(file: &mut [u8]) {
    let Some((version, blocks)) = every_block(file) else { return };
    for handle in blocks {
        fix_block(file, handle, version);
    }
    let start = file.len() - FOOTER_SIZE;
    let crc_at = start + 3 * HANDLE_SIZE + 4;
    let crc = coding::crc32(&file[start..crc_at]);
    file[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());
}

/// A real table's parts, as seeds: `(target, bytes)`.
pub fn parts(file: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    let Some(version) = version(file) else { return out };
    let start = file.len() - FOOTER_SIZE;
    out.push(("footer", file[start..].to_vec()));
    let (Some(first), Some(properties)) = (handle_at(file, start), handle_at(file, start + 2 * HANDLE_SIZE)) else {
        return out;
    };
    if let Some(bytes) = block_at(file, properties, version) {
        out.push(("properties", bytes.to_vec()));
    }
    let Some(index) = block_at(file, first, version) else { return out };
    out.push(("block", index.to_vec()));
    let (data_index, filter) = match version {
        FormatVersion::V1 => (Some(index.to_vec()), handle_at(file, start + HANDLE_SIZE)),
        FormatVersion::V2 | FormatVersion::V3 => {
            let partition =
                handles_in(index, 0, version).first().and_then(|h| block_at(file, *h, version)).map(<[u8]>::to_vec);
            (partition, handles_in(index, 1, version).first().copied())
        }
    };
    if let Some(bytes) = filter.and_then(|h| block_at(file, h, version)) {
        out.push(("bloom", bytes.to_vec()));
    }
    if let Some(first_data) = data_index.as_deref().and_then(|i| handles_in(i, 0, version).first().copied()) {
        if let Some(bytes) = block_at(file, first_data, version) {
            out.push(("block", bytes.to_vec()));
            let trailer = stored::trailer_size(version);
            if let Some(whole) = file.get(first_data.0..first_data.0 + first_data.1 + trailer) {
                out.push(("stored", whole.to_vec()));
            }
        }
    }
    out
}
