//! File names in the storage namespace (see FORMAT.md, "Files").

use alloc::format;
use alloc::string::String;

pub const CURRENT: &str = "CURRENT";
pub const CURRENT_TMP: &str = "CURRENT.tmp";

/// What a storage name is to the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FileKind {
    Current,
    CurrentTmp,
    Manifest(u64),
    Wal(u64),
    Table(u64),
}

pub fn table_name(number: u64) -> String {
    format!("{number:06}.sst")
}

pub fn wal_name(number: u64) -> String {
    format!("{number:06}.wal")
}

pub fn manifest_name(number: u64) -> String {
    format!("MANIFEST-{number:06}")
}

/// Parses a name the engine owns; `None` for anything else (left alone).
pub fn parse(name: &str) -> Option<FileKind> {
    match name {
        CURRENT => return Some(FileKind::Current),
        CURRENT_TMP => return Some(FileKind::CurrentTmp),
        _ => {}
    }
    if let Some(digits) = name.strip_prefix("MANIFEST-") {
        return number(digits).map(FileKind::Manifest);
    }
    if let Some(digits) = name.strip_suffix(".wal") {
        return number(digits).map(FileKind::Wal);
    }
    if let Some(digits) = name.strip_suffix(".sst") {
        return number(digits).map(FileKind::Table);
    }
    None
}

fn number(digits: &str) -> Option<u64> {
    if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(parse(&table_name(7)), Some(FileKind::Table(7)));
        assert_eq!(parse(&wal_name(1234567)), Some(FileKind::Wal(1234567)));
        assert_eq!(parse(&manifest_name(3)), Some(FileKind::Manifest(3)));
        assert_eq!(parse("LOCK"), None);
        assert_eq!(parse("12.sst"), None);
        assert_eq!(parse("00000x.wal"), None);
    }
}
