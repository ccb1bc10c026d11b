//! The properties block (FORMAT.md, "Properties block"): seven u64 counters
//! describing the table, checked against what they claim when read.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use alloc::vec::Vec;

use crate::coding::{self, Decoder};
use crate::error::{Error, Result};
use crate::key::{ValueKind, SEQ_MAX};

use super::{Properties, PROPERTIES_SIZE};

impl Properties {
    #[must_use]
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PROPERTIES_SIZE);
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
        debug_assert_eq!(out.len(), PROPERTIES_SIZE);
        out
    }

    /// Decodes and sanity-checks a properties block (crc already checked)
    /// found at byte `offset` of `file`.
    pub(crate) fn decode(bytes: &[u8], file: &str, offset: u64) -> Result<Properties> {
        if bytes.len() != PROPERTIES_SIZE {
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
        }
    }

    /// Properties encode to exactly 56 bytes and decode to themselves.
    #[test]
    fn properties_round_trip_in_56_bytes() {
        let bytes = sample().encode();
        assert_eq!(bytes.len(), PROPERTIES_SIZE);
        assert_eq!(Properties::decode(&bytes, "t", 0).unwrap(), sample());
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
            let result = Properties::decode(&properties.encode(), "t", 77);
            assert!(matches!(result, Err(Error::Corruption { offset: 77, .. })), "case {i}");
        }
        assert!(Properties::decode(&[0; 55], "t", 0).is_err());
    }
}
