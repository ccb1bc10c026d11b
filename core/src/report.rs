//! The engine's plain-data reports (stats, events, traces, inspections) in
//! the one serialized shape every front end shows: camelCase fields, keys as
//! text where they are UTF-8 (per [`KeyStyle`]), absent values as `None`.
//! The JS `Store` (through serde-wasm-bindgen) and `lsmkv-server` (through
//! serde_json) serialize these same views, so a page draws either.
//!
//! Stored *values* are not in these views: their meaning (the JS layer's type
//! tags) belongs to the front end, which adds a `value` field itself where a
//! report carries one (`GetTrace`, `TableInspection` entries).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use serde::ser::{Serialize, Serializer};
use serde::Serialize as DeriveSerialize;

use crate::options::Compression;
use crate::sstable::TableInspection;
use crate::{
    CompactionReason, CompactionReport, Event, EventKind, EventPage, FlushReport, GetTrace, Health, HealthStatus,
    LevelStats, Probe, SpaceStats, Stats, TableSummary, ValueKind,
};

/// How keys are written in a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum KeyStyle {
    /// A string when the bytes are UTF-8, else bytes.
    #[default]
    Text,
    /// Always bytes.
    Bytes,
}

/// A key in a report.
pub struct Key<'a> {
    pub bytes: &'a [u8],
    pub style: KeyStyle,
}

impl Serialize for Key<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match (self.style, core::str::from_utf8(self.bytes)) {
            (KeyStyle::Text, Ok(text)) => s.serialize_str(text),
            _ => s.serialize_bytes(self.bytes),
        }
    }
}

/// One table of the tree.
#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
pub struct TableView<'a> {
    number: u64,
    level: usize,
    entries: u64,
    tombstones: u64,
    bytes: u64,
    smallest_key: Key<'a>,
    largest_key: Key<'a>,
    min_seq: u64,
    max_seq: u64,
}

impl<'a> TableView<'a> {
    fn new(t: &'a TableSummary, style: KeyStyle) -> Self {
        TableView {
            number: t.number,
            level: t.level,
            entries: t.entries,
            tombstones: t.tombstones,
            bytes: t.bytes,
            smallest_key: Key { bytes: &t.smallest_key, style },
            largest_key: Key { bytes: &t.largest_key, style },
            min_seq: t.min_seq,
            max_seq: t.max_seq,
        }
    }
}

fn tables(tables: &[TableSummary], style: KeyStyle) -> Vec<TableView<'_>> {
    tables.iter().map(|t| TableView::new(t, style)).collect()
}

#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
struct LevelView<'a> {
    level: usize,
    tables: Vec<TableView<'a>>,
    bytes: u64,
    entries: u64,
    target_bytes: Option<u64>,
}

/// [`Stats`].
#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
pub struct StatsView<'a> {
    memtable_entries: u64,
    memtable_bytes: u64,
    memtable_max_entries: u64,
    memtable_max_bytes: u64,
    sstable_max_entries: u64,
    sstable_max_bytes: u64,
    l0_compaction_trigger: u64,
    immutable_memtables: u64,
    levels: Vec<LevelView<'a>>,
    wal_files: u64,
    wal_bytes: u64,
    last_seq: u64,
    flushed_seq: u64,
    flushes: u64,
    compactions: u64,
    parallel_merges: u64,
    user_bytes_written: u64,
    storage_bytes_written: u64,
    write_amplification: f64,
    stored_bytes: u64,
    gets: u64,
    tables_probed: u64,
    bloom_negatives: u64,
    read_amplification: f64,
    block_cache_hits: u64,
    block_cache_misses: u64,
    block_cache_bytes: u64,
    block_cache_capacity_bytes: u64,
    partition_cache_hits: u64,
    partition_cache_misses: u64,
    partition_cache_bytes: u64,
    partition_cache_capacity_bytes: u64,
    open_tables: u64,
    table_memory_bytes: u64,
    wal_tail_truncations: u64,
    write_stalls: u64,
    write_stall_micros: u64,
    write_slowdowns: u64,
    write_slowdown_micros: u64,
}

pub fn stats(s: &Stats, style: KeyStyle) -> StatsView<'_> {
    let levels = s.levels.iter().map(|l: &LevelStats| LevelView {
        level: l.level,
        tables: tables(&l.tables, style),
        bytes: l.bytes,
        entries: l.entries,
        target_bytes: l.target_bytes,
    });
    StatsView {
        memtable_entries: s.memtable_entries,
        memtable_bytes: s.memtable_bytes,
        memtable_max_entries: s.memtable_max_entries,
        memtable_max_bytes: s.memtable_max_bytes,
        sstable_max_entries: s.sstable_max_entries,
        sstable_max_bytes: s.sstable_max_bytes,
        l0_compaction_trigger: s.l0_compaction_trigger,
        immutable_memtables: s.immutable_memtables,
        levels: levels.collect(),
        wal_files: s.wal_files,
        wal_bytes: s.wal_bytes,
        last_seq: s.last_seq,
        flushed_seq: s.flushed_seq,
        flushes: s.flushes,
        compactions: s.compactions,
        parallel_merges: s.parallel_merges,
        user_bytes_written: s.user_bytes_written,
        storage_bytes_written: s.storage_bytes_written,
        write_amplification: s.write_amplification,
        stored_bytes: s.stored_bytes,
        gets: s.gets,
        tables_probed: s.tables_probed,
        bloom_negatives: s.bloom_negatives,
        read_amplification: s.read_amplification,
        block_cache_hits: s.block_cache_hits,
        block_cache_misses: s.block_cache_misses,
        block_cache_bytes: s.block_cache_bytes,
        block_cache_capacity_bytes: s.block_cache_capacity_bytes,
        partition_cache_hits: s.partition_cache_hits,
        partition_cache_misses: s.partition_cache_misses,
        partition_cache_bytes: s.partition_cache_bytes,
        partition_cache_capacity_bytes: s.partition_cache_capacity_bytes,
        open_tables: s.open_tables,
        table_memory_bytes: s.table_memory_bytes,
        wal_tail_truncations: s.wal_tail_truncations,
        write_stalls: s.write_stalls,
        write_stall_micros: s.write_stall_micros,
        write_slowdowns: s.write_slowdowns,
        write_slowdown_micros: s.write_slowdown_micros,
    }
}

/// [`FlushReport`].
#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
pub struct FlushView<'a> {
    memtable_entries: u64,
    outputs: Vec<TableView<'a>>,
    dropped_entries: u64,
    flushed_seq: u64,
    retired_wals: &'a [u64],
    levels_after: &'a [Vec<u64>],
}

pub fn flush_report(r: &FlushReport, style: KeyStyle) -> FlushView<'_> {
    FlushView {
        memtable_entries: r.memtable_entries,
        outputs: tables(&r.outputs, style),
        dropped_entries: r.dropped_entries,
        flushed_seq: r.flushed_seq,
        retired_wals: &r.retired_wals,
        levels_after: &r.levels_after,
    }
}

/// [`CompactionReport`].
#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
pub struct CompactionView<'a> {
    reason: &'static str,
    output_level: usize,
    inputs: Vec<TableView<'a>>,
    outputs: Vec<TableView<'a>>,
    trivial_move: bool,
    entries_in: u64,
    entries_out: u64,
    dropped_overwritten: u64,
    dropped_tombstones: u64,
    zeroed_seqs: u64,
    levels_after: &'a [Vec<u64>],
}

pub fn compaction_report(r: &CompactionReport, style: KeyStyle) -> CompactionView<'_> {
    CompactionView {
        reason: match r.reason {
            CompactionReason::L0Tables => "l0Tables",
            CompactionReason::LevelSize => "levelSize",
            CompactionReason::Manual => "manual",
        },
        output_level: r.output_level,
        inputs: tables(&r.inputs, style),
        outputs: tables(&r.outputs, style),
        trivial_move: r.trivial_move,
        entries_in: r.entries_in,
        entries_out: r.entries_out,
        dropped_overwritten: r.dropped_overwritten,
        dropped_tombstones: r.dropped_tombstones,
        zeroed_seqs: r.zeroed_seqs,
        levels_after: &r.levels_after,
    }
}

/// One event's kind and fields: `{ type, ...fields }`.
#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase", tag = "type")]
enum EventKindView<'a> {
    #[serde(rename_all = "camelCase")]
    Opened {
        created: bool,
    },
    #[serde(rename_all = "camelCase")]
    WalReplayed {
        files: &'a [u64],
        records: u64,
        entries: u64,
    },
    #[serde(rename_all = "camelCase")]
    WalTailTruncated {
        file: &'a str,
        offset: u64,
        dropped_bytes: u64,
    },
    #[serde(rename_all = "camelCase")]
    ManifestTailDiscarded {
        file: &'a str,
        offset: u64,
        dropped_bytes: u64,
    },
    #[serde(rename_all = "camelCase")]
    MemtableFrozen {
        entries: u64,
        bytes: u64,
    },
    Flushed {
        report: FlushView<'a>,
    },
    Compacted {
        report: CompactionView<'a>,
    },
    TablesRemoved {
        numbers: &'a [u64],
    },
    WentReadOnly {
        reason: &'a str,
    },
    StorageNotice {
        message: &'a str,
    },
    /// A kind this build of the views does not know yet.
    Other {
        description: String,
    },
}

/// One event: `{ cursor, type, ...fields }`.
#[derive(DeriveSerialize)]
pub struct EventView<'a> {
    cursor: u64,
    #[serde(flatten)]
    kind: EventKindView<'a>,
}

impl EventView<'_> {
    /// The event's `type` field, e.g. `"flushed"` (the SSE event name).
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            EventKindView::Opened { .. } => "opened",
            EventKindView::WalReplayed { .. } => "walReplayed",
            EventKindView::WalTailTruncated { .. } => "walTailTruncated",
            EventKindView::ManifestTailDiscarded { .. } => "manifestTailDiscarded",
            EventKindView::MemtableFrozen { .. } => "memtableFrozen",
            EventKindView::Flushed { .. } => "flushed",
            EventKindView::Compacted { .. } => "compacted",
            EventKindView::TablesRemoved { .. } => "tablesRemoved",
            EventKindView::WentReadOnly { .. } => "wentReadOnly",
            EventKindView::StorageNotice { .. } => "storageNotice",
            EventKindView::Other { .. } => "other",
        }
    }

    pub fn cursor(&self) -> u64 {
        self.cursor
    }
}

pub fn event(e: &Event, style: KeyStyle) -> EventView<'_> {
    let kind = match &e.kind {
        EventKind::Opened { created } => EventKindView::Opened { created: *created },
        EventKind::WalReplayed { files, records, entries } => {
            EventKindView::WalReplayed { files, records: *records, entries: *entries }
        }
        EventKind::WalTailTruncated { file, offset, dropped_bytes } => {
            EventKindView::WalTailTruncated { file, offset: *offset, dropped_bytes: *dropped_bytes }
        }
        EventKind::ManifestTailDiscarded { file, offset, dropped_bytes } => {
            EventKindView::ManifestTailDiscarded { file, offset: *offset, dropped_bytes: *dropped_bytes }
        }
        EventKind::MemtableFrozen { entries, bytes } => {
            EventKindView::MemtableFrozen { entries: *entries, bytes: *bytes }
        }
        EventKind::Flushed(r) => EventKindView::Flushed { report: flush_report(r, style) },
        EventKind::Compacted(r) => EventKindView::Compacted { report: compaction_report(r, style) },
        EventKind::TablesRemoved { numbers } => EventKindView::TablesRemoved { numbers },
        EventKind::WentReadOnly { reason } => EventKindView::WentReadOnly { reason },
        EventKind::StorageNotice { message } => EventKindView::StorageNotice { message },
        #[allow(unreachable_patterns)]
        other => EventKindView::Other { description: format!("{other:?}") },
    };
    EventView { cursor: e.cursor, kind }
}

/// [`EventPage`]: `{ events, nextCursor, missed }`.
#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
pub struct EventPageView<'a> {
    events: Vec<EventView<'a>>,
    next_cursor: u64,
    missed: u64,
}

pub fn event_page(page: &EventPage, style: KeyStyle) -> EventPageView<'_> {
    EventPageView {
        events: page.events.iter().map(|e| event(e, style)).collect(),
        next_cursor: page.next_cursor,
        missed: page.missed,
    }
}

/// [`SpaceStats`].
#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
pub struct SpaceView {
    live_keys: u64,
    live_bytes: u64,
    stored_bytes: u64,
    space_amplification: f64,
}

pub fn space(s: &SpaceStats) -> SpaceView {
    SpaceView {
        live_keys: s.live_keys,
        live_bytes: s.live_bytes,
        stored_bytes: s.stored_bytes,
        space_amplification: s.space_amplification,
    }
}

/// The engine's part of a health answer; each front end adds its backend's.
#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthView<'a> {
    pub status: &'static str,
    pub reason: Option<&'a str>,
    pub wal_tail_truncations: u64,
    pub last_seq: u64,
}

pub fn health(h: &Health) -> HealthView<'_> {
    HealthView {
        status: match h.status {
            HealthStatus::Ok => "ok",
            HealthStatus::ReadOnly => "readOnly",
            HealthStatus::Closed => "closed",
        },
        reason: h.reason.as_deref(),
        wal_tail_truncations: h.wal_tail_truncations,
        last_seq: h.last_seq,
    }
}

#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
enum ProbeView {
    Memtable { found: bool },
    FrozenMemtable { found: bool },
    OutOfRange { level: usize, table: u64 },
    BloomNegative { level: usize, table: u64 },
    Searched { level: usize, table: u64, found: bool },
}

#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
struct DecidedByView {
    seq: u64,
    tombstone: bool,
}

/// [`GetTrace`] without its value: `{ probes, decidedBy }`.
#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceView {
    probes: Vec<ProbeView>,
    decided_by: Option<DecidedByView>,
}

pub fn get_trace(trace: &GetTrace) -> TraceView {
    let probes = trace
        .probes
        .iter()
        .map(|p| match *p {
            Probe::Memtable { found } => ProbeView::Memtable { found },
            Probe::FrozenMemtable { found } => ProbeView::FrozenMemtable { found },
            Probe::OutOfRange { level, table } => ProbeView::OutOfRange { level, table },
            Probe::BloomNegative { level, table } => ProbeView::BloomNegative { level, table },
            Probe::Searched { level, table, found } => ProbeView::Searched { level, table, found },
        })
        .collect();
    TraceView { probes, decided_by: trace.decided_by.map(|(seq, tombstone)| DecidedByView { seq, tombstone }) }
}

#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
struct HandleView {
    offset: u64,
    size: u32,
}

#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
struct BlockView<'a> {
    offset: u64,
    /// Stored size (compressed, if it is).
    size: u32,
    /// Size before compression.
    raw_size: u32,
    entry_count: u32,
    first_key: Key<'a>,
    last_key: Key<'a>,
}

#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
struct InspectedEntryView<'a> {
    key: Key<'a>,
    seq: u64,
    kind: &'static str,
    block: u32,
}

#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
struct FilterView {
    /// The filter block (formats 2 and 3: the first filter partition).
    offset: u64,
    size: u32,
    /// All filter partitions together.
    bytes: u32,
    bits: u32,
    bits_set: u32,
    probes: u8,
}

/// [`TableInspection`] without the entries' values (the front end adds each
/// entry's `value`, in the same order as `TableInspection::entries`).
#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
pub struct InspectionView<'a> {
    file_size: u64,
    /// The table format (1 or 2).
    format: u32,
    /// `"none"` or `"lz4"`: what the writer compressed data blocks with.
    compression: &'static str,
    /// Index and filter partitions (format 1: 1).
    partitions: u32,
    entry_count: u64,
    tombstone_count: u64,
    min_seq: u64,
    max_seq: u64,
    data_block_count: u64,
    raw_key_bytes: u64,
    raw_value_bytes: u64,
    blocks: Vec<BlockView<'a>>,
    index: HandleView,
    filter: FilterView,
    entries: Vec<InspectedEntryView<'a>>,
}

pub fn inspection(t: &TableInspection, style: KeyStyle) -> InspectionView<'_> {
    let p = &t.properties;
    InspectionView {
        file_size: t.file_size,
        format: t.format,
        compression: match p.compression {
            Compression::None => "none",
            Compression::Lz4 => "lz4",
        },
        partitions: t.partitions,
        entry_count: p.entry_count,
        tombstone_count: p.tombstone_count,
        min_seq: p.min_seq,
        max_seq: p.max_seq,
        data_block_count: p.data_block_count,
        raw_key_bytes: p.raw_key_bytes,
        raw_value_bytes: p.raw_value_bytes,
        blocks: t
            .blocks
            .iter()
            .map(|b| BlockView {
                offset: b.handle.offset,
                size: b.handle.size,
                raw_size: b.raw_size,
                entry_count: b.entry_count,
                first_key: Key { bytes: &b.first_key, style },
                last_key: Key { bytes: &b.last_key, style },
            })
            .collect(),
        index: HandleView { offset: t.index_handle.offset, size: t.index_handle.size },
        filter: FilterView {
            offset: t.filter_handle.offset,
            size: t.filter_handle.size,
            bytes: t.filter.bytes,
            bits: t.filter.bits,
            bits_set: t.filter.bits_set,
            probes: t.filter.probes,
        },
        entries: t
            .entries
            .iter()
            .map(|e| InspectedEntryView {
                key: Key { bytes: &e.user_key, style },
                seq: e.seq,
                kind: match e.kind {
                    ValueKind::Put => "put",
                    ValueKind::Delete => "delete",
                },
                block: e.block,
            })
            .collect(),
    }
}

/// The one-byte type tag in front of every value the JS `Store` and
/// `lsmkv-server` store, so `get` returns the type that was put and a value
/// means the same through either. DO NOT RENUMBER: the tags are stored.
///
/// | tag  | value                    | bytes after the tag          |
/// |------|--------------------------|------------------------------|
/// | 0x00 | bytes                    | the bytes, raw               |
/// | 0x01 | a string                 | UTF-8                        |
/// | 0x02 | any other JSON value     | its UTF-8 JSON text          |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ValueTag {
    Bytes = 0x00,
    String = 0x01,
    Json = 0x02,
}

impl TryFrom<u8> for ValueTag {
    type Error = u8;
    fn try_from(tag: u8) -> Result<Self, u8> {
        match tag {
            0x00 => Ok(ValueTag::Bytes),
            0x01 => Ok(ValueTag::String),
            0x02 => Ok(ValueTag::Json),
            other => Err(other),
        }
    }
}
