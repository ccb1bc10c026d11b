//! Block handles and the footer (FORMAT.md, "Footer"): the fixed-size tail
//! that locates the filter, index and properties blocks.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use alloc::vec::Vec;

use crate::coding::{self, Decoder};
use crate::error::{Error, Result};

use super::{BlockHandle, BLOCK_TRAILER_SIZE, FOOTER_SIZE, HANDLE_SIZE, TABLE_FORMAT_VERSION, TABLE_MAGIC};

/// Footer field offsets: three handles, then version, crc and magic.
const FOOTER_VERSION_OFFSET: usize = 3 * HANDLE_SIZE;
const FOOTER_CRC_OFFSET: usize = FOOTER_VERSION_OFFSET + 4;
const FOOTER_MAGIC_OFFSET: usize = FOOTER_CRC_OFFSET + 4;
const _: () = assert!(FOOTER_MAGIC_OFFSET + TABLE_MAGIC.len() == FOOTER_SIZE);

impl BlockHandle {
    /// The 12-byte encoding: offset u64, size u32.
    pub(crate) fn to_bytes(self) -> [u8; HANDLE_SIZE] {
        let mut out = [0u8; HANDLE_SIZE];
        out[..8].copy_from_slice(&self.offset.to_le_bytes());
        out[8..].copy_from_slice(&self.size.to_le_bytes());
        out
    }

    pub(crate) fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bytes());
    }

    pub(crate) fn decode_from(decoder: &mut Decoder<'_>) -> Result<BlockHandle> {
        Ok(BlockHandle { offset: decoder.u64()?, size: decoder.u32()? })
    }

    /// Where the block's crc ends: the first byte after it.
    #[must_use]
    pub(crate) fn end_with_crc(&self) -> Option<u64> {
        self.offset.checked_add(u64::from(self.size))?.checked_add(BLOCK_TRAILER_SIZE as u64)
    }
}

/// The three handles a footer holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footer {
    pub index: BlockHandle,
    pub filter: BlockHandle,
    pub properties: BlockHandle,
}

impl Footer {
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FOOTER_SIZE);
        self.index.encode_to(&mut out);
        self.filter.encode_to(&mut out);
        self.properties.encode_to(&mut out);
        coding::put_u32(&mut out, TABLE_FORMAT_VERSION);
        let crc = coding::crc32(&out);
        coding::put_u32(&mut out, crc);
        out.extend_from_slice(&TABLE_MAGIC);
        debug_assert_eq!(out.len(), FOOTER_SIZE);
        out
    }

    /// Decodes the footer found at byte `offset` of `file`. The magic is
    /// checked first (is this a table at all?), then the crc (is it intact?),
    /// then the version (can this build read it?).
    pub fn decode(bytes: &[u8], file: &str, offset: u64) -> Result<Footer> {
        let mut decoder = Decoder::new(bytes, file, offset);
        let body = decoder.bytes(FOOTER_CRC_OFFSET)?;
        let crc = decoder.u32()?;
        let magic = decoder.bytes(TABLE_MAGIC.len())?;
        if magic != TABLE_MAGIC {
            return Err(Error::corruption(file, offset + FOOTER_MAGIC_OFFSET as u64, "bad table magic"));
        }
        if coding::crc32(body) != crc {
            return Err(Error::corruption(file, offset, "footer checksum mismatch"));
        }
        let mut fields = Decoder::new(body, file, offset);
        let footer = Footer {
            index: BlockHandle::decode_from(&mut fields)?,
            filter: BlockHandle::decode_from(&mut fields)?,
            properties: BlockHandle::decode_from(&mut fields)?,
        };
        let version = fields.u32()?;
        if version != TABLE_FORMAT_VERSION {
            return Err(Error::UnsupportedFormat {
                file: file.into(),
                found: version,
                supported: TABLE_FORMAT_VERSION,
            });
        }
        Ok(footer)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    fn footer() -> Footer {
        Footer {
            index: BlockHandle { offset: 300, size: 40 },
            filter: BlockHandle { offset: 200, size: 96 },
            properties: BlockHandle { offset: 344, size: 56 },
        }
    }

    /// The footer is 52 bytes ending in the magic, and decodes to itself.
    #[test]
    fn footer_round_trips_at_its_fixed_size() {
        let bytes = footer().encode();
        assert_eq!(bytes.len(), FOOTER_SIZE);
        assert_eq!(&bytes[44..], b"LSMKVSST");
        assert_eq!(Footer::decode(&bytes, "t", 0).unwrap(), footer());
    }

    /// Another version with an intact crc is `UnsupportedFormat`, not corruption.
    #[test]
    fn another_version_is_unsupported() {
        let mut bytes = footer().encode();
        bytes[FOOTER_VERSION_OFFSET] = 2;
        let crc = coding::crc32(&bytes[..FOOTER_CRC_OFFSET]);
        bytes[FOOTER_CRC_OFFSET..FOOTER_MAGIC_OFFSET].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(
            Footer::decode(&bytes, "t", 0),
            Err(Error::UnsupportedFormat { file: "t".into(), found: 2, supported: 1 })
        );
    }

    /// A wrong magic, a damaged field or a short footer is corruption at the
    /// offset of the damage (the magic's own offset, or the footer's start).
    #[test]
    fn bad_magic_and_bad_crc_are_corruption() {
        let mut bytes = footer().encode();
        bytes[50] ^= 4;
        assert!(matches!(Footer::decode(&bytes, "t", 100), Err(Error::Corruption { offset: 144, .. })));
        let mut bytes = footer().encode();
        bytes[3] ^= 4;
        assert!(matches!(Footer::decode(&bytes, "t", 100), Err(Error::Corruption { offset: 100, .. })));
        assert!(matches!(Footer::decode(&bytes[..51], "t", 100), Err(Error::Corruption { .. })));
    }
}
