//! The table sink: a sorted stream of entries (a frozen memtable, or the
//! merged inputs of a compaction) written into new tables, keeping what
//! `compaction::Retention` keeps and starting a new table whenever the next
//! entry would break `sstable_max_entries` or `sstable_max_bytes`, so no
//! table ever written breaks them.

use alloc::vec::Vec;

use super::state::DbInner;
use crate::compaction::{Retention, Verdict};
use crate::error::Result;
use crate::filename;
use crate::iterator::EntryIter;
use crate::options::Options;
use crate::sstable::TableWriter;
use crate::storage::Storage;
use crate::version::TableMeta;

/// Entries between two calls of `write_tables`' `pause`: a few milliseconds
/// of merging, against a check that takes a lock for a moment.
const PAUSE_EVERY: u64 = 4096;

/// What writing a merged stream into tables produced.
#[derive(Default)]
pub(super) struct Written {
    pub tables: Vec<TableMeta>,
    pub dropped_shadowed: u64,
    pub dropped_tombstones: u64,
    /// Entries kept with their sequence number set to 0 (`Verdict::KeepAsOldest`).
    pub zeroed_seqs: u64,
    pub entries_in: u64,
}

impl Written {
    /// Adds what the next key range of the same merge wrote (its tables
    /// follow this one's).
    #[cfg(feature = "std")]
    pub fn absorb(&mut self, next: Written) {
        self.tables.extend(next.tables);
        self.dropped_shadowed += next.dropped_shadowed;
        self.dropped_tombstones += next.dropped_tombstones;
        self.zeroed_seqs += next.zeroed_seqs;
        self.entries_in += next.entries_in;
    }
}

impl DbInner {
    /// Writes the entries of `source` that `retention` keeps into new tables,
    /// starting a new table whenever the next entry would break
    /// `sstable_max_entries` or `sstable_max_bytes`. `bottom` tells
    /// `retention` whether a key can exist below the output level. `pause`
    /// runs after each finished table and every `PAUSE_EVERY` entries (a
    /// compaction flushes frozen memtables there, so writers do not wait for
    /// the whole merge).
    pub(super) fn write_tables(
        &self,
        source: &mut dyn EntryIter,
        mut retention: Retention,
        mut bottom: impl FnMut(&[u8]) -> bool,
        mut pause: impl FnMut() -> Result<()>,
    ) -> Result<Written> {
        let mut out = Written::default();
        let mut current: Option<(u64, TableWriter<'_>)> = None;
        let result = (|| {
            while source.valid() {
                out.entries_in += 1;
                if out.entries_in.is_multiple_of(PAUSE_EVERY) {
                    pause()?;
                }
                let (key, seq, kind) = (source.user_key(), source.seq(), source.kind());
                let verdict = retention.judge(key, seq, kind, &mut bottom);
                match verdict {
                    Verdict::DropShadowed => out.dropped_shadowed += 1,
                    Verdict::DropTombstone => out.dropped_tombstones += 1,
                    Verdict::Keep | Verdict::KeepAsOldest => {
                        let seq = if verdict == Verdict::KeepAsOldest {
                            out.zeroed_seqs += 1;
                            0
                        } else {
                            seq
                        };
                        let value = source.value();
                        if let Some((number, writer)) =
                            current.take_if(|(_, t)| self.table_full(t, key.len(), value.len()))
                        {
                            out.tables.push(finish_table(number, writer, &self.options)?);
                            pause()?;
                        }
                        if current.is_none() {
                            let number = self.allocate_file_number();
                            let writer = TableWriter::create(
                                &*self.storage,
                                &filename::table_name(number),
                                self.options.block_size,
                                self.options.bloom_bits_per_key,
                                self.options.compression,
                            )?;
                            current = Some((number, writer));
                        }
                        current.as_mut().expect("set above").1.add(key, seq, kind, value)?;
                    }
                }
                source.next()?;
            }
            if let Some((number, writer)) = current.take() {
                out.tables.push(finish_table(number, writer, &self.options)?);
            }
            Ok(())
        })();
        if let Err(e) = result {
            // Leave no half-written table behind (open would remove it anyway).
            if let Some((number, writer)) = current.take() {
                drop(writer);
                let _ = self.storage.remove(&filename::table_name(number));
            }
            for table in &out.tables {
                let _ = self.storage.remove(&filename::table_name(table.number));
            }
            return Err(e);
        }
        Ok(out)
    }

    fn table_full(&self, writer: &TableWriter<'_>, key_len: usize, value_len: usize) -> bool {
        writer.entry_count() >= self.options.sstable_max_entries
            || writer.size_if_added(key_len, value_len) > self.options.sstable_max_bytes as u64
    }
}

fn finish_table(number: u64, writer: TableWriter<'_>, options: &Options) -> Result<TableMeta> {
    let info = writer.finish()?;
    assert!(
        info.properties.entry_count <= options.sstable_max_entries as u64
            && info.file_size <= options.sstable_max_bytes as u64,
        "every table ever written respects the SSTable caps"
    );
    Ok(TableMeta {
        number,
        file_size: info.file_size,
        entry_count: info.properties.entry_count,
        tombstone_count: info.properties.tombstone_count,
        min_seq: info.properties.min_seq,
        max_seq: info.properties.max_seq,
        smallest: info.smallest,
        largest: info.largest,
    })
}
