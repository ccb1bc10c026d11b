//! The core's plain-data reports (stats, events, traces, inspections) as JS
//! objects: the serializable views of `lsmkv::report` (camelCase fields, the
//! same shapes lsmkv-server sends as JSON) through serde-wasm-bindgen, keys
//! decoded per the store's key encoding, absent values as `null`; values in
//! traces and inspections decoded like `get`'s.

use js_sys::{Array, Reflect};
use lsmkv::report::{self as view, KeyStyle};
use lsmkv::TableInspection;
use lsmkv::{CompactionReport, EventPage, FlushReport, GetTrace, Health, SpaceStats, Stats};
use serde::ser::Serialize;
use wasm_bindgen::prelude::*;

use crate::js::codec::{decode_value, KeyEncoding};
use crate::js::error::{code, JsFailure, JsResult};

/// Serializes a report to a plain JS object.
pub fn to_js<T: Serialize>(value: &T) -> JsResult<JsValue> {
    let serializer =
        serde_wasm_bindgen::Serializer::new().serialize_missing_as_null(true).serialize_maps_as_objects(true);
    value.serialize(&serializer).map_err(|e| JsFailure::new(code::IO, format!("cannot convert a report for JS: {e}")))
}

fn style(encoding: KeyEncoding) -> KeyStyle {
    match encoding {
        KeyEncoding::Utf8 => KeyStyle::Text,
        KeyEncoding::Binary => KeyStyle::Bytes,
    }
}

pub fn stats(s: &Stats, encoding: KeyEncoding) -> JsResult<JsValue> {
    to_js(&view::stats(s, style(encoding)))
}

pub fn flush_report(r: &FlushReport, encoding: KeyEncoding) -> view::FlushView<'_> {
    view::flush_report(r, style(encoding))
}

pub fn compaction_report(r: &CompactionReport, encoding: KeyEncoding) -> view::CompactionView<'_> {
    view::compaction_report(r, style(encoding))
}

/// Compaction reports as an array of plain objects.
pub fn compaction_reports(reports: &[CompactionReport], encoding: KeyEncoding) -> JsResult<JsValue> {
    let views: Vec<_> = reports.iter().map(|r| compaction_report(r, encoding)).collect();
    to_js(&views)
}

pub fn event_page(page: &EventPage, encoding: KeyEncoding) -> JsResult<JsValue> {
    to_js(&view::event_page(page, style(encoding)))
}

pub fn space(s: &SpaceStats) -> JsResult<JsValue> {
    to_js(&view::space(s))
}

/// The engine's part of `health()`; the store adds the backend's.
pub fn engine_health(h: &Health) -> view::HealthView<'_> {
    view::health(h)
}

/// `{ probes, value, decidedBy }`; `value` decoded like `get`'s.
pub fn get_trace(trace: &GetTrace) -> JsResult<JsValue> {
    let object = to_js(&view::get_trace(trace))?;
    let value = match &trace.value {
        Some(stored) => decode_value(stored)?,
        None => JsValue::UNDEFINED,
    };
    set(&object, "value", &value);
    Ok(object)
}

/// Every block and entry of a table; each entry's `value` decoded like
/// `get`'s (`undefined` for a tombstone or an undecodable value).
pub fn inspection(t: &TableInspection, encoding: KeyEncoding) -> JsResult<JsValue> {
    let object = to_js(&view::inspection(t, style(encoding)))?;
    let entries: Array = Reflect::get(&object, &"entries".into()).unwrap_or(JsValue::UNDEFINED).unchecked_into();
    for (index, entry) in t.entries.iter().enumerate() {
        let value = match entry.kind == lsmkv::ValueKind::Put {
            true => decode_value(&entry.value).unwrap_or(JsValue::UNDEFINED),
            false => JsValue::UNDEFINED,
        };
        set(&entries.get(index as u32), "value", &value);
    }
    Ok(object)
}

fn set(object: &JsValue, field: &str, value: &JsValue) {
    // Setting a field on a plain object we just made cannot fail.
    let _ = Reflect::set(object, &field.into(), value);
}
