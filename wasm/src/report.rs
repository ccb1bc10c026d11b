//! The core's plain-data reports (stats, events, traces, inspections) as JS
//! objects: camelCase fields, numbers (every counter stays below 2^53 in
//! practice; a larger one is an error, not a silently rounded number), keys
//! decoded per the store's key encoding, absent values as `null`.

use js_sys::{Array, Reflect};
use lsmkv::sstable::TableInspection;
use lsmkv::{
    CompactionReason, CompactionReport, Event, EventKind, EventPage, FlushReport, GetTrace, Health, HealthStatus,
    LevelStats, Probe, SpaceStats, Stats, TableSummary,
};
use serde::ser::{Serialize, Serializer};
use serde::Serialize as DeriveSerialize;
use wasm_bindgen::prelude::*;

use crate::codec::{decode_value, KeyEncoding};
use crate::error::{code, JsFailure, JsResult};

/// Serializes a report to a plain JS object.
pub fn to_js<T: Serialize>(value: &T) -> JsResult<JsValue> {
    let serializer = serde_wasm_bindgen::Serializer::new().serialize_missing_as_null(true).serialize_maps_as_objects(true);
    value
        .serialize(&serializer)
        .map_err(|e| JsFailure::new(code::IO, format!("cannot convert a report for JS: {e}")))
}

/// A key in a report.
pub struct Key<'a> {
    pub bytes: &'a [u8],
    pub encoding: KeyEncoding,
}

impl Serialize for Key<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match (self.encoding, std::str::from_utf8(self.bytes)) {
            (KeyEncoding::Utf8, Ok(text)) => s.serialize_str(text),
            _ => s.serialize_bytes(self.bytes),
        }
    }
}

#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
pub struct JsTable<'a> {
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

impl<'a> JsTable<'a> {
    fn new(t: &'a TableSummary, encoding: KeyEncoding) -> Self {
        JsTable {
            number: t.number,
            level: t.level,
            entries: t.entries,
            tombstones: t.tombstones,
            bytes: t.bytes,
            smallest_key: Key { bytes: &t.smallest_key, encoding },
            largest_key: Key { bytes: &t.largest_key, encoding },
            min_seq: t.min_seq,
            max_seq: t.max_seq,
        }
    }
}

fn tables(tables: &[TableSummary], encoding: KeyEncoding) -> Vec<JsTable<'_>> {
    tables.iter().map(|t| JsTable::new(t, encoding)).collect()
}

#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
struct JsLevel<'a> {
    level: usize,
    tables: Vec<JsTable<'a>>,
    bytes: u64,
    entries: u64,
    target_bytes: Option<u64>,
}

#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
struct JsStats<'a> {
    memtable_entries: u64,
    memtable_bytes: u64,
    memtable_max_entries: u64,
    memtable_max_bytes: u64,
    sstable_max_entries: u64,
    sstable_max_bytes: u64,
    immutable_memtables: u64,
    levels: Vec<JsLevel<'a>>,
    wal_files: u64,
    wal_bytes: u64,
    last_seq: u64,
    flushed_seq: u64,
    flushes: u64,
    compactions: u64,
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
    wal_tail_truncations: u64,
}

pub fn stats(s: &Stats, encoding: KeyEncoding) -> JsResult<JsValue> {
    let levels = s.levels.iter().map(|l: &LevelStats| JsLevel {
        level: l.level,
        tables: tables(&l.tables, encoding),
        bytes: l.bytes,
        entries: l.entries,
        target_bytes: l.target_bytes,
    });
    to_js(&JsStats {
        memtable_entries: s.memtable_entries,
        memtable_bytes: s.memtable_bytes,
        memtable_max_entries: s.memtable_max_entries,
        memtable_max_bytes: s.memtable_max_bytes,
        sstable_max_entries: s.sstable_max_entries,
        sstable_max_bytes: s.sstable_max_bytes,
        immutable_memtables: s.immutable_memtables,
        levels: levels.collect(),
        wal_files: s.wal_files,
        wal_bytes: s.wal_bytes,
        last_seq: s.last_seq,
        flushed_seq: s.flushed_seq,
        flushes: s.flushes,
        compactions: s.compactions,
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
        wal_tail_truncations: s.wal_tail_truncations,
    })
}

#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
pub struct JsFlush<'a> {
    memtable_entries: u64,
    outputs: Vec<JsTable<'a>>,
    dropped_entries: u64,
    flushed_seq: u64,
    retired_wals: &'a [u64],
}

pub fn flush_report(r: &FlushReport, encoding: KeyEncoding) -> JsFlush<'_> {
    JsFlush {
        memtable_entries: r.memtable_entries,
        outputs: tables(&r.outputs, encoding),
        dropped_entries: r.dropped_entries,
        flushed_seq: r.flushed_seq,
        retired_wals: &r.retired_wals,
    }
}

#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
pub struct JsCompaction<'a> {
    reason: &'static str,
    output_level: usize,
    inputs: Vec<JsTable<'a>>,
    outputs: Vec<JsTable<'a>>,
    trivial_move: bool,
    entries_in: u64,
    entries_out: u64,
    dropped_overwritten: u64,
    dropped_tombstones: u64,
}

pub fn compaction_report(r: &CompactionReport, encoding: KeyEncoding) -> JsCompaction<'_> {
    JsCompaction {
        reason: match r.reason {
            CompactionReason::L0Tables => "l0Tables",
            CompactionReason::LevelSize => "levelSize",
            CompactionReason::Manual => "manual",
        },
        output_level: r.output_level,
        inputs: tables(&r.inputs, encoding),
        outputs: tables(&r.outputs, encoding),
        trivial_move: r.trivial_move,
        entries_in: r.entries_in,
        entries_out: r.entries_out,
        dropped_overwritten: r.dropped_overwritten,
        dropped_tombstones: r.dropped_tombstones,
    }
}

/// One event: `{ cursor, type, ...fields }`.
#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase", tag = "type")]
enum JsEventKind<'a> {
    #[serde(rename_all = "camelCase")]
    Opened { created: bool },
    #[serde(rename_all = "camelCase")]
    WalReplayed { files: &'a [u64], records: u64, entries: u64 },
    #[serde(rename_all = "camelCase")]
    WalTailTruncated { file: &'a str, offset: u64, dropped_bytes: u64 },
    #[serde(rename_all = "camelCase")]
    ManifestTailDiscarded { file: &'a str, offset: u64, dropped_bytes: u64 },
    #[serde(rename_all = "camelCase")]
    MemtableFrozen { entries: u64, bytes: u64 },
    Flushed { report: JsFlush<'a> },
    Compacted { report: JsCompaction<'a> },
    TablesRemoved { numbers: &'a [u64] },
    WentReadOnly { reason: &'a str },
    StorageNotice { message: &'a str },
    /// A kind this build of the JS layer does not know yet.
    Other { description: String },
}

#[derive(DeriveSerialize)]
struct JsEvent<'a> {
    cursor: u64,
    #[serde(flatten)]
    kind: JsEventKind<'a>,
}

fn event(e: &Event, encoding: KeyEncoding) -> JsEvent<'_> {
    let kind = match &e.kind {
        EventKind::Opened { created } => JsEventKind::Opened { created: *created },
        EventKind::WalReplayed { files, records, entries } => {
            JsEventKind::WalReplayed { files, records: *records, entries: *entries }
        }
        EventKind::WalTailTruncated { file, offset, dropped_bytes } => {
            JsEventKind::WalTailTruncated { file, offset: *offset, dropped_bytes: *dropped_bytes }
        }
        EventKind::ManifestTailDiscarded { file, offset, dropped_bytes } => {
            JsEventKind::ManifestTailDiscarded { file, offset: *offset, dropped_bytes: *dropped_bytes }
        }
        EventKind::MemtableFrozen { entries, bytes } => JsEventKind::MemtableFrozen { entries: *entries, bytes: *bytes },
        EventKind::Flushed(r) => JsEventKind::Flushed { report: flush_report(r, encoding) },
        EventKind::Compacted(r) => JsEventKind::Compacted { report: compaction_report(r, encoding) },
        EventKind::TablesRemoved { numbers } => JsEventKind::TablesRemoved { numbers },
        EventKind::WentReadOnly { reason } => JsEventKind::WentReadOnly { reason },
        EventKind::StorageNotice { message } => JsEventKind::StorageNotice { message },
        #[allow(unreachable_patterns)]
        other => JsEventKind::Other { description: format!("{other:?}") },
    };
    JsEvent { cursor: e.cursor, kind }
}

#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
struct JsEventPage<'a> {
    events: Vec<JsEvent<'a>>,
    next_cursor: u64,
    missed: u64,
}

pub fn event_page(page: &EventPage, encoding: KeyEncoding) -> JsResult<JsValue> {
    to_js(&JsEventPage {
        events: page.events.iter().map(|e| event(e, encoding)).collect(),
        next_cursor: page.next_cursor,
        missed: page.missed,
    })
}

#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
struct JsSpace {
    live_keys: u64,
    live_bytes: u64,
    stored_bytes: u64,
    space_amplification: f64,
}

pub fn space(s: &SpaceStats) -> JsResult<JsValue> {
    to_js(&JsSpace {
        live_keys: s.live_keys,
        live_bytes: s.live_bytes,
        stored_bytes: s.stored_bytes,
        space_amplification: s.space_amplification,
    })
}

/// The engine's part of `health()`; the store adds the backend's.
#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
pub struct JsEngineHealth<'a> {
    pub status: &'static str,
    pub reason: Option<&'a str>,
    pub wal_tail_truncations: u64,
    pub last_seq: u64,
}

pub fn engine_health(h: &Health) -> JsEngineHealth<'_> {
    JsEngineHealth {
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
enum JsProbe {
    Memtable { found: bool },
    FrozenMemtable { found: bool },
    OutOfRange { level: usize, table: u64 },
    BloomNegative { level: usize, table: u64 },
    Searched { level: usize, table: u64, found: bool },
}

#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
struct JsDecidedBy {
    seq: u64,
    tombstone: bool,
}

#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
struct JsTrace {
    probes: Vec<JsProbe>,
    decided_by: Option<JsDecidedBy>,
}

/// `{ probes, value, decidedBy }`; `value` decoded like `get`'s.
pub fn get_trace(trace: &GetTrace) -> JsResult<JsValue> {
    let probes = trace
        .probes
        .iter()
        .map(|p| match *p {
            Probe::Memtable { found } => JsProbe::Memtable { found },
            Probe::FrozenMemtable { found } => JsProbe::FrozenMemtable { found },
            Probe::OutOfRange { level, table } => JsProbe::OutOfRange { level, table },
            Probe::BloomNegative { level, table } => JsProbe::BloomNegative { level, table },
            Probe::Searched { level, table, found } => JsProbe::Searched { level, table, found },
        })
        .collect();
    let decided_by = trace.decided_by.map(|(seq, tombstone)| JsDecidedBy { seq, tombstone });
    let object = to_js(&JsTrace { probes, decided_by })?;
    let value = match &trace.value {
        Some(stored) => decode_value(stored)?,
        None => JsValue::UNDEFINED,
    };
    set(&object, "value", &value);
    Ok(object)
}

#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
struct JsHandle {
    offset: u64,
    size: u32,
}

#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
struct JsBlock<'a> {
    offset: u64,
    size: u32,
    entry_count: u32,
    first_key: Key<'a>,
    last_key: Key<'a>,
}

#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
struct JsInspectedEntry<'a> {
    key: Key<'a>,
    seq: u64,
    kind: &'static str,
    block: u32,
}

#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
struct JsInspection<'a> {
    file_size: u64,
    entry_count: u64,
    tombstone_count: u64,
    min_seq: u64,
    max_seq: u64,
    data_block_count: u64,
    raw_key_bytes: u64,
    raw_value_bytes: u64,
    blocks: Vec<JsBlock<'a>>,
    index: JsHandle,
    filter: JsFilter,
    entries: Vec<JsInspectedEntry<'a>>,
}

#[derive(DeriveSerialize)]
#[serde(rename_all = "camelCase")]
struct JsFilter {
    offset: u64,
    size: u32,
    bits: u32,
    bits_set: u32,
    probes: u8,
}

/// Every block and entry of a table; each entry's `value` decoded like
/// `get`'s (`undefined` for a tombstone or an undecodable value).
pub fn inspection(t: &TableInspection, encoding: KeyEncoding) -> JsResult<JsValue> {
    let p = &t.properties;
    let object = to_js(&JsInspection {
        file_size: t.file_size,
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
            .map(|b| JsBlock {
                offset: b.handle.offset,
                size: b.handle.size,
                entry_count: b.entry_count,
                first_key: Key { bytes: &b.first_key, encoding },
                last_key: Key { bytes: &b.last_key, encoding },
            })
            .collect(),
        index: JsHandle { offset: t.index_handle.offset, size: t.index_handle.size },
        filter: JsFilter {
            offset: t.filter_handle.offset,
            size: t.filter_handle.size,
            bits: t.filter.bits,
            bits_set: t.filter.bits_set,
            probes: t.filter.probes,
        },
        entries: t
            .entries
            .iter()
            .map(|e| JsInspectedEntry {
                key: Key { bytes: &e.user_key, encoding },
                seq: e.seq,
                kind: match e.kind {
                    lsmkv::ValueKind::Put => "put",
                    lsmkv::ValueKind::Delete => "delete",
                },
                block: e.block,
            })
            .collect(),
    })?;
    let entries: Array = Reflect::get(&object, &"entries".into()).unwrap_or(JsValue::UNDEFINED).unchecked_into();
    for (index, entry) in t.entries.iter().enumerate() {
        let value = match e_kind_put(entry.kind) {
            true => decode_value(&entry.value).unwrap_or(JsValue::UNDEFINED),
            false => JsValue::UNDEFINED,
        };
        set(&entries.get(index as u32), "value", &value);
    }
    Ok(object)
}

fn e_kind_put(kind: lsmkv::ValueKind) -> bool {
    kind == lsmkv::ValueKind::Put
}

fn set(object: &JsValue, field: &str, value: &JsValue) {
    // Setting a field on a plain object we just made cannot fail.
    let _ = Reflect::set(object, &field.into(), value);
}
