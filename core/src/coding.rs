//! Byte encoding helpers shared by every on-disk format: little-endian fixed
//! integers, LEB128 varints, and a bounds-checked `Decoder` that turns any
//! malformed input into `Error::Corruption` naming the file and offset.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{Error, Result};

/// CRC-32 (IEEE 802.3 polynomial, as computed by `crc32fast`).
pub fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

pub fn put_u8(out: &mut Vec<u8>, v: u8) {
    out.push(v);
}

pub fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// The longest varint of a u32.
pub const VARINT32_LEN_MAX: usize = 5;

/// Appends `v` as an unsigned LEB128 varint (1 to 5 bytes for a u32).
pub fn put_varint32(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Bytes `put_varint32` will write for `v`.
pub fn varint32_len(v: u32) -> usize {
    match v {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        0x4000..=0x1f_ffff => 3,
        0x20_0000..=0x0fff_ffff => 4,
        _ => 5,
    }
}

/// A length as u32. Every length the engine encodes is bounded far below
/// u32::MAX by `Options` validation, so this is an invariant, not input.
pub fn len_u32(len: usize) -> u32 {
    assert!(len <= u32::MAX as usize, "length {len} exceeds the u32 the format allows");
    len as u32
}

/// Reads little-endian fields from a byte slice, checking every bound.
/// Errors name `file` and the absolute offset (`base` + position).
pub struct Decoder<'a> {
    data: &'a [u8],
    pos: usize,
    file: &'a str,
    base: u64,
}

impl<'a> Decoder<'a> {
    /// Decodes `data`, which starts at byte `base` of `file`.
    pub fn new(data: &'a [u8], file: &'a str, base: u64) -> Self {
        Decoder { data, pos: 0, file, base }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// An `Error::Corruption` at the current position.
    pub fn error(&self, reason: impl Into<String>) -> Error {
        Error::corruption(self.file, self.base + self.pos as u64, reason)
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let out = self.pos.checked_add(n).and_then(|end| self.data.get(self.pos..end));
        let Some(out) = out else { return Err(self.error("field runs past the end of its record")) };
        self.pos += n;
        Ok(out)
    }

    /// The next `N` bytes as an array.
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let bytes = self.bytes(N)?;
        bytes.try_into().map_err(|_| self.error("field runs past the end of its record"))
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(u8::from_le_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub fn varint32(&mut self) -> Result<u32> {
        let mut value: u32 = 0;
        for shift in (0..35).step_by(7) {
            let byte = self.u8()?;
            let bits = u32::from(byte & 0x7f);
            if shift == 28 && bits > 0x0f {
                return Err(self.error("varint overflows 32 bits"));
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.error("varint longer than 5 bytes"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_every_width() {
        for v in [0u32, 1, 127, 128, 16383, 16384, 2_097_151, 2_097_152, u32::MAX] {
            let mut out = Vec::new();
            put_varint32(&mut out, v);
            assert_eq!(out.len(), varint32_len(v));
            let mut d = Decoder::new(&out, "t", 0);
            assert_eq!(d.varint32().unwrap(), v);
            assert!(d.is_empty());
        }
    }

    #[test]
    fn truncated_and_overlong_varints_are_corruption() {
        let mut d = Decoder::new(&[0x80, 0x80], "f", 10);
        assert!(matches!(d.varint32(), Err(Error::Corruption { offset: 12, .. })));
        let mut d = Decoder::new(&[0xff, 0xff, 0xff, 0xff, 0x7f], "f", 0);
        assert!(d.varint32().is_err());
    }
}
