//! Block handles and the footer (FORMAT.md, "Footer"): the fixed-size tail
//! that says the table's format and locates its metadata.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use alloc::vec::Vec;

use crate::coding::{self, Decoder};
use crate::error::{Error, Result};

use super::{BlockHandle, FormatVersion, FOOTER_SIZE, HANDLE_SIZE, TABLE_MAGIC};

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

    /// Where the block's trailer ends in a table of `version`: the first
    /// byte after the block.
    #[must_use]
    pub(crate) fn end_with_trailer(&self, version: FormatVersion) -> Option<u64> {
        let trailer = super::stored::trailer_size(version) as u64;
        self.offset.checked_add(u64::from(self.size))?.checked_add(trailer)
    }
}

/// What a footer locates (FORMAT.md, "Footer").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Footer {
    /// Format 1: the index, filter and properties blocks.
    V1 { index: BlockHandle, filter: BlockHandle, properties: BlockHandle },
    /// Formats 2 and 3 (`version`): the top index, where the filter
    /// partitions start and how many partitions there are, and the
    /// properties block.
    Partitioned {
        version: FormatVersion,
        top_index: BlockHandle,
        filters_start: u64,
        partitions: u32,
        properties: BlockHandle,
    },
}

impl Footer {
    pub fn version(&self) -> FormatVersion {
        match self {
            Footer::V1 { .. } => FormatVersion::V1,
            Footer::Partitioned { version, .. } => *version,
        }
    }

    pub fn properties(&self) -> BlockHandle {
        match *self {
            Footer::V1 { properties, .. } | Footer::Partitioned { properties, .. } => properties,
        }
    }

    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FOOTER_SIZE);
        match *self {
            Footer::V1 { index, filter, properties } => {
                index.encode_to(&mut out);
                filter.encode_to(&mut out);
                properties.encode_to(&mut out);
            }
            Footer::Partitioned { top_index, filters_start, partitions, properties, .. } => {
                top_index.encode_to(&mut out);
                coding::put_u64(&mut out, filters_start);
                coding::put_u32(&mut out, partitions);
                properties.encode_to(&mut out);
            }
        }
        coding::put_u32(&mut out, self.version().number());
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
        let mut version = Decoder::new(body.get(FOOTER_VERSION_OFFSET..).unwrap_or(&[]), file, offset);
        let number = version.u32()?;
        let mut fields = Decoder::new(body, file, offset);
        match FormatVersion::from_number(number) {
            Some(FormatVersion::V1) => Ok(Footer::V1 {
                index: BlockHandle::decode_from(&mut fields)?,
                filter: BlockHandle::decode_from(&mut fields)?,
                properties: BlockHandle::decode_from(&mut fields)?,
            }),
            Some(version @ (FormatVersion::V2 | FormatVersion::V3)) => Ok(Footer::Partitioned {
                version,
                top_index: BlockHandle::decode_from(&mut fields)?,
                filters_start: fields.u64()?,
                partitions: fields.u32()?,
                properties: BlockHandle::decode_from(&mut fields)?,
            }),
            None => Err(Error::UnsupportedFormat {
                file: file.into(),
                found: number,
                supported: FormatVersion::NEWEST.number(),
            }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    fn footer() -> Footer {
        Footer::Partitioned {
            version: FormatVersion::V3,
            top_index: BlockHandle { offset: 300, size: 40 },
            filters_start: 200,
            partitions: 3,
            properties: BlockHandle { offset: 345, size: 64 },
        }
    }

    /// The footer is 52 bytes ending in the magic, and decodes to itself,
    /// in every format.
    #[test]
    fn footer_round_trips_at_its_fixed_size() {
        let v1 = Footer::V1 {
            index: BlockHandle { offset: 300, size: 40 },
            filter: BlockHandle { offset: 200, size: 96 },
            properties: BlockHandle { offset: 344, size: 56 },
        };
        let v2 = match footer() {
            Footer::Partitioned { top_index, filters_start, partitions, properties, .. } => {
                Footer::Partitioned { version: FormatVersion::V2, top_index, filters_start, partitions, properties }
            }
            Footer::V1 { .. } => unreachable!(),
        };
        for footer in [footer(), v2, v1] {
            let bytes = footer.encode();
            assert_eq!(bytes.len(), FOOTER_SIZE);
            assert_eq!(&bytes[44..], b"LSMKVSST");
            assert_eq!(Footer::decode(&bytes, "t", 0).unwrap(), footer);
        }
    }

    /// Another version with an intact crc is `UnsupportedFormat`, not corruption.
    #[test]
    fn another_version_is_unsupported() {
        let mut bytes = footer().encode();
        bytes[FOOTER_VERSION_OFFSET] = 4;
        let crc = coding::crc32(&bytes[..FOOTER_CRC_OFFSET]);
        bytes[FOOTER_CRC_OFFSET..FOOTER_MAGIC_OFFSET].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(
            Footer::decode(&bytes, "t", 0),
            Err(Error::UnsupportedFormat { file: "t".into(), found: 4, supported: 3 })
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
