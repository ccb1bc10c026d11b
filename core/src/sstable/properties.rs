//! The properties block (FORMAT.md, "Properties block"): u64 counters
//! describing the table (seven in format 1, eight with `compression` in
//! formats 2 and 3), checked against what they claim when read.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use alloc::vec::Vec;

use crate::coding::{self, Decoder};
use crate::error::{Error, Result};
use crate::key::{ValueKind, SEQ_MAX};

use super::{FormatVersion, Properties};
use crate::options::Compression;

impl Properties {
    #[must_use]
    pub(crate) fn encode(&self, version: FormatVersion) -> Vec<u8> {
        let mut out = Vec::with_capacity(version.properties_size());
        for field in [
            self.entry_count,
            self.tombstone_count,
            self.min_seq,
            self.max_seq,
            self.data_block_count,
            self.raw_key_bytes,
            self.raw_value_bytes,
        ] {
            coding::put_u64(&mut out, field);
        }
        if version != FormatVersion::V1 {
            coding::put_u64(&mut out, compression_code(self.compression));
        }
        debug_assert_eq!(out.len(), version.properties_size());
        out
    }

    /// Decodes and sanity-checks a properties block (crc already checked)
    /// found at byte `offset` of `file`.
    pub(crate) fn decode(bytes: &[u8], file: &str, offset: u64, version: FormatVersion) -> Result<Properties> {
        if bytes.len() != version.properties_size() {
            return Err(Error::corruption(file, offset, "properties block has the wrong size"));
        }
        let mut decoder = Decoder::new(bytes, file, offset);
        let properties = Properties {
            entry_count: decoder.u64()?,
            tombstone_count: decoder.u64()?,
            min_seq: decoder.u64()?,
            max_seq: decoder.u64()?,
            data_block_count: decoder.u64()?,
            raw_key_bytes: decoder.u64()?,
            raw_value_bytes: decoder.u64()?,
            compression: match version {
                FormatVersion::V1 => Compression::None,
                FormatVersion::V2 | FormatVersion::V3 => match decoder.u64()? {
                    0 => Compression::None,
                    1 => Compression::Lz4,
                    _ => return Err(Error::corruption(file, offset, "unknown compression")),
                },
            },
        };
        properties.check().map_err(|reason| Error::corruption(file, offset, reason))?;
        Ok(properties)
    }

    /// Counts one more entry (the writer as it adds entries, the inspector
    /// as it recomputes a table's properties from its entries).
    pub(crate) fn count_entry(&mut self, key_len: usize, seq: u64, kind: ValueKind, value_len: usize) {
        if self.entry_count == 0 {
            self.min_seq = seq;
            self.max_seq = seq;
        }
        self.entry_count += 1;
        self.tombstone_count += u64::from(kind == ValueKind::Delete);
        self.min_seq = self.min_seq.min(seq);
        self.max_seq = self.max_seq.max(seq);
        self.raw_key_bytes += key_len as u64;
        self.raw_value_bytes += value_len as u64;
    }

    /// The invariants any table's properties satisfy (FORMAT.md): at least
    /// one entry, in at least one block, and coherent counts and bounds.
    pub(crate) fn check(&self) -> core::result::Result<(), &'static str> {
        if self.entry_count == 0 {
            return Err("table has no entries");
        }
        if self.tombstone_count > self.entry_count {
            return Err("more tombstones than entries");
        }
        if self.min_seq > self.max_seq || self.max_seq > SEQ_MAX {
            return Err("sequence range is impossible");
        }
        if self.data_block_count == 0 || self.data_block_count > self.entry_count {
            return Err("data block count is impossible");
        }
        if self.raw_key_bytes < self.entry_count {
            return Err("keys shorter than one byte each");
        }
        Ok(())
    }
}

/// The frozen code of each compression (FORMAT.md).
fn compression_code(compression: Compression) -> u64 {
    match compression {
        Compression::None => 0,
        Compression::Lz4 => 1,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    fn sample() -> Properties {
        Properties {
            entry_count: 10,
            tombstone_count: 2,
            min_seq: 3,
            max_seq: 90,
            data_block_count: 2,
            raw_key_bytes: 40,
            raw_value_bytes: 1000,
            compression: Compression::Lz4,
        }
    }

    /// Properties encode to exactly 56 (format 1) or 64 bytes and decode to
    /// themselves (format 1 has no compression field: none).
    #[test]
    fn properties_round_trip_at_their_fixed_sizes() {
        let bytes = sample().encode(FormatVersion::V2);
        assert_eq!(bytes.len(), 64);
        assert_eq!(Properties::decode(&bytes, "t", 0, FormatVersion::V2).unwrap(), sample());
        let bytes = sample().encode(FormatVersion::V1);
        assert_eq!(bytes.len(), 56);
        let v1 = Properties { compression: Compression::None, ..sample() };
        assert_eq!(Properties::decode(&bytes, "t", 0, FormatVersion::V1).unwrap(), v1);
        let mut unknown = sample().encode(FormatVersion::V2);
        unknown[56] = 9;
        assert!(Properties::decode(&unknown, "t", 0, FormatVersion::V2).is_err());
    }

    /// Each broken invariant is corruption at the block's offset.
    #[test]
    fn impossible_properties_are_corruption() {
        let breakers: [fn(&mut Properties); 5] = [
            |p| p.entry_count = 0,
            |p| p.tombstone_count = 11,
            |p| p.min_seq = 91,
            |p| p.data_block_count = 0,
            |p| p.raw_key_bytes = 9,
        ];
        for (i, breaker) in breakers.iter().enumerate() {
            let mut properties = sample();
            breaker(&mut properties);
            let result = Properties::decode(&properties.encode(FormatVersion::V2), "t", 77, FormatVersion::V2);
            assert!(matches!(result, Err(Error::Corruption { offset: 77, .. })), "case {i}");
        }
        assert!(Properties::decode(&[0; 63], "t", 0, FormatVersion::V2).is_err());
    }
}
