//! `Store.open` options: camelCase JS mirroring the core's `Options`, plus
//! what only the browser layer knows (backend, locking, persistence).

use lsmkv::{Compression, Durability, Options};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::js::codec::KeyEncoding;
use crate::js::error::{invalid_options, JsResult};

/// Where the store keeps its files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// IndexedDB: durable across reloads. The default.
    #[default]
    Indexeddb,
    /// Memory: gone when the store is closed or the page unloads.
    Memory,
    /// The Origin Private File System, through sync access handles in a
    /// dedicated worker (started for the store when opened from a page).
    Opfs,
}

/// IndexedDB transaction durability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DurabilityMode {
    /// The browser flushes to disk before a transaction completes. Default.
    #[default]
    Strict,
    /// The browser may report completion before flushing to disk: much
    /// faster, but an OS crash or power loss can lose acknowledged writes.
    Relaxed,
}

impl DurabilityMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DurabilityMode::Strict => "strict",
            DurabilityMode::Relaxed => "relaxed",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// 30-entry memtables and tables: flushes and compactions you can watch.
    Teaching,
    /// Byte-capped memtables and tables for real data. Default.
    #[default]
    Production,
}

/// `compression`: how new tables store their data blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CompressionName {
    None,
    Lz4,
}

/// What to do when another tab or worker holds the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LockMode {
    /// Reject with `LSMKV_LOCKED`. Default.
    #[default]
    Fail,
    /// Wait until the other holder closes the store.
    Wait,
}

/// Every option name, to reject unknown ones (a typo must not silently fall
/// back to a default; serde-wasm-bindgen only reads the fields it knows).
const OPTION_NAMES: &[&str] = &[
    "backend",
    "preset",
    "durability",
    "lock",
    "persist",
    "keyEncoding",
    "opfsGlueUrl",
    "memtableMaxEntries",
    "memtableMaxBytes",
    "sstableMaxEntries",
    "sstableMaxBytes",
    "blockSize",
    "bloomBitsPerKey",
    "compression",
    "l0CompactionTrigger",
    "levelBaseBytes",
    "levelSizeRatio",
    "autoCompaction",
    "keySizeMax",
    "valueSizeMax",
    "blockCacheBytes",
    "partitionCacheBytes",
    "eventLogCapacity",
];

/// The JS options object, as given.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawOptions {
    backend: Option<BackendKind>,
    preset: Option<Preset>,
    durability: Option<DurabilityMode>,
    lock: Option<LockMode>,
    persist: Option<bool>,
    key_encoding: Option<String>,
    opfs_glue_url: Option<String>,
    memtable_max_entries: Option<usize>,
    memtable_max_bytes: Option<usize>,
    sstable_max_entries: Option<usize>,
    sstable_max_bytes: Option<usize>,
    block_size: Option<usize>,
    bloom_bits_per_key: Option<u32>,
    compression: Option<CompressionName>,
    l0_compaction_trigger: Option<usize>,
    level_base_bytes: Option<u64>,
    level_size_ratio: Option<u32>,
    auto_compaction: Option<bool>,
    key_size_max: Option<usize>,
    value_size_max: Option<usize>,
    block_cache_bytes: Option<usize>,
    partition_cache_bytes: Option<usize>,
    event_log_capacity: Option<usize>,
}

/// Everything `Store.open` needs, validated.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    pub backend: BackendKind,
    pub durability: DurabilityMode,
    pub lock: LockMode,
    pub persist: bool,
    pub key_encoding: KeyEncoding,
    /// OPFS from a page: the URL of this package's JS module, which the
    /// worker imports (found from the call stack when not given).
    pub glue_url: Option<String>,
    pub engine: Options,
}

impl StoreConfig {
    pub fn from_js(value: &JsValue) -> JsResult<StoreConfig> {
        let raw: RawOptions = if value.is_undefined() || value.is_null() {
            RawOptions::default()
        } else {
            crate::js::args::check_fields(value, OPTION_NAMES, "options").map_err(|f| invalid_options(f.message))?;
            serde_wasm_bindgen::from_value(value.clone()).map_err(|e| invalid_options(format!("options: {e}")))?
        };
        let key_encoding = match raw.key_encoding.as_deref() {
            None | Some("utf8") => KeyEncoding::Utf8,
            Some("binary") => KeyEncoding::Binary,
            Some(other) => {
                return Err(invalid_options(format!("keyEncoding must be 'utf8' or 'binary', got '{other}'")))
            }
        };
        let engine = engine_options(&raw);
        // The core checks every field and names the one that is wrong.
        engine.validate()?;
        Ok(StoreConfig {
            backend: raw.backend.unwrap_or_default(),
            durability: raw.durability.unwrap_or_default(),
            lock: raw.lock.unwrap_or_default(),
            persist: raw.persist.unwrap_or(false),
            key_encoding,
            glue_url: raw.opfs_glue_url,
            engine,
        })
    }
}

/// `{ backend }` for `Store.destroy`.
pub fn destroy_backend(options: &JsValue) -> JsResult<BackendKind> {
    crate::js::args::check_fields(options, &["backend"], "destroy options")?;
    match crate::js::args::field(options, "backend").map(|b| b.as_string()) {
        None => Ok(BackendKind::Indexeddb),
        Some(Some(b)) if b == "indexeddb" => Ok(BackendKind::Indexeddb),
        Some(Some(b)) if b == "opfs" => Ok(BackendKind::Opfs),
        _ => Err(crate::js::error::invalid_argument("destroy options: backend must be 'indexeddb' or 'opfs'")),
    }
}

fn engine_options(raw: &RawOptions) -> Options {
    let mut o = match raw.preset.unwrap_or_default() {
        Preset::Teaching => Options::teaching(),
        Preset::Production => Options::production(),
    };
    // Each browser write awaits its IndexedDB commit, which the engine's
    // WAL sync cannot observe; `Sync` keeps the engine's own bookkeeping
    // strict, and the browser-level durability is `durability` above.
    o.durability = Durability::Sync;
    let set = |field: &mut usize, value: Option<usize>| {
        if let Some(v) = value {
            *field = v;
        }
    };
    set(&mut o.memtable_max_entries, raw.memtable_max_entries);
    set(&mut o.memtable_max_bytes, raw.memtable_max_bytes);
    set(&mut o.sstable_max_entries, raw.sstable_max_entries);
    set(&mut o.sstable_max_bytes, raw.sstable_max_bytes);
    set(&mut o.block_size, raw.block_size);
    set(&mut o.l0_compaction_trigger, raw.l0_compaction_trigger);
    set(&mut o.key_size_max, raw.key_size_max);
    set(&mut o.value_size_max, raw.value_size_max);
    set(&mut o.block_cache_bytes, raw.block_cache_bytes);
    set(&mut o.partition_cache_bytes, raw.partition_cache_bytes);
    set(&mut o.event_log_capacity, raw.event_log_capacity);
    if let Some(v) = raw.bloom_bits_per_key {
        o.bloom_bits_per_key = v;
    }
    if let Some(v) = raw.compression {
        o.compression = match v {
            CompressionName::None => Compression::None,
            CompressionName::Lz4 => Compression::Lz4,
        };
    }
    if let Some(v) = raw.level_base_bytes {
        o.level_base_bytes = v;
    }
    if let Some(v) = raw.level_size_ratio {
        o.level_size_ratio = v;
    }
    if let Some(v) = raw.auto_compaction {
        o.auto_compaction = v;
    }
    o
}
