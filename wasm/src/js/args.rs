//! Arguments from JS: range options, batch operations, entries. Each is
//! checked here, so bad input is a coded error, never a panic.

use std::ops::Bound;

use js_sys::{Array, Object, Reflect};
use lsmkv::{RangeOptions, Snapshot, WriteBatch};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::js::codec::{encode_value, key_bytes, type_name, KeyEncoding};
use crate::js::error::{invalid_argument, JsResult};

/// Longest store name accepted (it becomes a database and a lock name).
const NAME_LENGTH_MAX: usize = 256;

/// A store name: a non-empty string of at most `NAME_LENGTH_MAX` bytes.
pub fn store_name(value: &JsValue) -> JsResult<String> {
    match value.as_string() {
        Some(name) if !name.is_empty() && name.len() <= NAME_LENGTH_MAX => Ok(name),
        _ => Err(invalid_argument(format!("store name must be a non-empty string of at most {NAME_LENGTH_MAX} bytes"))),
    }
}

/// A property of an options object (`None` when undefined).
pub fn field(object: &JsValue, name: &str) -> Option<JsValue> {
    Reflect::get(object, &name.into()).ok().filter(|v| !v.is_undefined())
}

/// Rejects names outside `known`, so a typo is an error, not a no-op.
pub(crate) fn check_fields(object: &JsValue, known: &[&str], what: &str) -> JsResult<()> {
    if object.is_undefined() || object.is_null() {
        return Ok(());
    }
    if !object.is_object() {
        return Err(invalid_argument(format!("{what} must be an object, got {}", type_name(object))));
    }
    for name in Object::keys(object.unchecked_ref::<Object>()).iter() {
        let name = name.as_string().unwrap_or_default();
        if !known.contains(&name.as_str()) {
            return Err(invalid_argument(format!(
                "{what} has an unknown field '{name}' (known: {})",
                known.join(", ")
            )));
        }
    }
    Ok(())
}

fn bool_field(object: &JsValue, name: &str) -> JsResult<bool> {
    match field(object, name) {
        None => Ok(false),
        Some(v) => v.as_bool().ok_or_else(|| invalid_argument(format!("{name} must be a boolean"))),
    }
}

/// `limit`: a non-negative integer; a negative number or `Infinity` means
/// no limit (as in abstract-level, where -1 is "no limit").
fn limit_field(object: &JsValue) -> JsResult<Option<usize>> {
    let Some(value) = field(object, "limit") else { return Ok(None) };
    let number = value.as_f64().ok_or_else(|| invalid_argument("limit must be a number"))?;
    if number < 0.0 || number == f64::INFINITY {
        return Ok(None);
    }
    if number.fract() != 0.0 || number.is_nan() {
        return Err(invalid_argument(format!("limit must be an integer, got {number}")));
    }
    Ok(Some(number.min(usize::MAX as f64) as usize))
}

/// One side of a range from its exclusive and inclusive names.
fn bound(object: &JsValue, exclusive: &str, inclusive: &str) -> JsResult<Bound<Vec<u8>>> {
    match (field(object, exclusive), field(object, inclusive)) {
        (Some(_), Some(_)) => Err(invalid_argument(format!("give at most one of {exclusive} and {inclusive}"))),
        (Some(key), None) => Ok(Bound::Excluded(key_bytes(&key, exclusive)?)),
        (None, Some(key)) => Ok(Bound::Included(key_bytes(&key, inclusive)?)),
        (None, None) => Ok(Bound::Unbounded),
    }
}

/// A parsed range: what the core reads, plus how keys come back.
pub struct RangeArgs {
    pub options: RangeOptions,
    pub encoding: KeyEncoding,
}

const RANGE_FIELDS: &[&str] = &["gt", "gte", "lt", "lte", "prefix", "reverse", "limit", "snapshot", "keyEncoding"];

/// `{ gt, gte, lt, lte, prefix, reverse, limit, snapshot, keyEncoding }`.
/// `find_snapshot` resolves a `Snapshot` handle of this store.
pub fn range(
    object: &JsValue,
    default_encoding: KeyEncoding,
    find_snapshot: impl Fn(&JsValue) -> JsResult<Snapshot>,
) -> JsResult<RangeArgs> {
    check_fields(object, RANGE_FIELDS, "range options")?;
    if object.is_undefined() || object.is_null() {
        return Ok(RangeArgs { options: RangeOptions::default(), encoding: default_encoding });
    }
    let prefix = field(object, "prefix").map(|p| key_bytes(&p, "prefix")).transpose()?;
    let snapshot = field(object, "snapshot").map(|s| find_snapshot(&s)).transpose()?;
    let encoding = KeyEncoding::parse(&field(object, "keyEncoding").unwrap_or(JsValue::UNDEFINED), "keyEncoding")?;
    Ok(RangeArgs {
        options: RangeOptions {
            start: bound(object, "gt", "gte")?,
            end: bound(object, "lt", "lte")?,
            prefix,
            reverse: bool_field(object, "reverse")?,
            limit: limit_field(object)?,
            snapshot,
        },
        encoding: encoding.unwrap_or(default_encoding),
    })
}

/// `{ snapshot }` for `get`.
pub fn get_options(
    object: &JsValue,
    find_snapshot: impl Fn(&JsValue) -> JsResult<Snapshot>,
) -> JsResult<Option<Snapshot>> {
    check_fields(object, &["snapshot"], "get options")?;
    if object.is_undefined() || object.is_null() {
        return Ok(None);
    }
    field(object, "snapshot").map(|s| find_snapshot(&s)).transpose()
}

fn array<'a>(value: &'a JsValue, what: &str) -> JsResult<&'a Array> {
    if Array::is_array(value) {
        Ok(value.unchecked_ref())
    } else {
        Err(invalid_argument(format!("{what} must be an array, got {}", type_name(value))))
    }
}

/// Runs `check` with a short name; only if it fails, runs it again with the
/// full name `what()` for the error. Names like `entries[41][0]` were
/// formatted for every entry of a batch, a visible share of `batchPut`.
fn named<T>(check: impl Fn(&str) -> JsResult<T>, what: impl FnOnce() -> String) -> JsResult<T> {
    check("").or_else(|_| check(&what()))
}

/// What `batchPut` accepts, besides an array of pairs: a plain object
/// (`{ key: value, ... }`, the original product's `batch_put`) or a `Map`.
enum EntriesShape<'a> {
    Pairs(&'a Array),
    Object(&'a Object),
    Map(&'a js_sys::Map),
}

/// A plain object is one made by `{...}`, `JSON.parse` or
/// `Object.create(null)`: its prototype is `Object.prototype` or `null`.
/// Class instances (a `Date`, a `Set`, ...) are not plain.
fn is_plain_object(value: &JsValue) -> bool {
    if !value.is_object() || value.is_function() {
        return false;
    }
    let proto = Object::get_prototype_of(value);
    proto.is_null() || Object::get_prototype_of(&proto).is_null()
}

fn entries_shape(value: &JsValue) -> JsResult<EntriesShape<'_>> {
    if Array::is_array(value) {
        Ok(EntriesShape::Pairs(value.unchecked_ref()))
    } else if let Some(map) = value.dyn_ref::<js_sys::Map>() {
        Ok(EntriesShape::Map(map))
    } else if is_plain_object(value) {
        Ok(EntriesShape::Object(value.unchecked_ref()))
    } else {
        Err(invalid_argument(format!(
            "entries must be an array of [key, value] pairs, a plain object of key: value or a Map, got {}",
            type_name(value)
        )))
    }
}

/// `batchPut`'s argument as an array of `[key, value]` pairs, for the OPFS
/// worker: the page's proxy copies arrays and plain objects member by
/// member (and transfers large values), a `Map` only as a whole. Arrays
/// pass as they are.
pub fn entries_as_pairs(value: &JsValue) -> JsValue {
    match entries_shape(value) {
        Ok(EntriesShape::Object(object)) => Object::entries(object).into(),
        Ok(EntriesShape::Map(map)) => Array::from(&map.entries().into()).into(),
        _ => value.clone(),
    }
}

/// A batch of puts from `[[key, value], ...]`, from a plain object
/// `{ key: value, ... }` (own enumerable string keys, in JS property order:
/// insertion order, except that integer-like keys come first, ascending),
/// or from a `Map` (in its order; keys strings or `Uint8Array`s).
pub fn entries(value: &JsValue) -> JsResult<WriteBatch> {
    match entries_shape(value)? {
        EntriesShape::Pairs(pairs) => pair_entries(pairs),
        EntriesShape::Object(object) => {
            let mut batch = WriteBatch::new();
            for key in Object::keys(object).iter() {
                let value = Reflect::get(object, &key).unwrap_or(JsValue::UNDEFINED);
                let key = key_bytes(&key, "an entries key")?;
                batch.put(key, encode_value(&value)?);
            }
            Ok(batch)
        }
        EntriesShape::Map(map) => {
            let mut failure = None;
            let mut batch = WriteBatch::new();
            map.for_each(&mut |value, key| {
                if failure.is_some() {
                    return;
                }
                let parsed = key_bytes(&key, "a Map key").and_then(|key| Ok((key, encode_value(&value)?)));
                match parsed {
                    Ok((key, value)) => {
                        batch.put(key, value);
                    }
                    Err(f) => failure = Some(f),
                }
            });
            match failure {
                Some(f) => Err(f),
                None => Ok(batch),
            }
        }
    }
}

fn pair_entries(pairs: &Array) -> JsResult<WriteBatch> {
    let mut batch = WriteBatch::new();
    for (index, pair) in pairs.iter().enumerate() {
        let pair = named(|what| array(&pair, what), || format!("entries[{index}]"))?;
        if pair.length() != 2 {
            return Err(invalid_argument(format!("entries[{index}] must be a [key, value] pair")));
        }
        let key = pair.get(0);
        let key = named(|what| key_bytes(&key, what), || format!("entries[{index}][0]"))?;
        batch.put(key, encode_value(&pair.get(1))?);
    }
    Ok(batch)
}

/// `[{ type: 'put', key, value } | { type: 'del', key }, ...]`.
pub fn operations(value: &JsValue) -> JsResult<WriteBatch> {
    let mut batch = WriteBatch::new();
    for (index, op) in array(value, "operations")?.iter().enumerate() {
        let what = || format!("operations[{index}]");
        named(|what| check_fields(&op, &["type", "key", "value"], what), what)?;
        let key = field(&op, "key").unwrap_or(JsValue::UNDEFINED);
        let key = named(|what| key_bytes(&key, what), || format!("{}.key", what()))?;
        match field(&op, "type").and_then(|t| t.as_string()).as_deref() {
            Some("put") => {
                let value = field(&op, "value").unwrap_or(JsValue::UNDEFINED);
                batch.put(key, encode_value(&value)?);
            }
            Some("del") | Some("delete") => {
                batch.delete(key);
            }
            _ => return Err(invalid_argument(format!("{}.type must be 'put' or 'del'", what()))),
        }
    }
    Ok(batch)
}

/// An optional key (`undefined`/`null`: unbounded).
pub fn optional_key(value: &JsValue, what: &str) -> JsResult<Option<Vec<u8>>> {
    if value.is_undefined() || value.is_null() {
        Ok(None)
    } else {
        key_bytes(value, what).map(Some)
    }
}

/// An optional non-negative integer argument.
pub fn optional_count(value: &JsValue, what: &str, default: u64) -> JsResult<u64> {
    if value.is_undefined() || value.is_null() {
        return Ok(default);
    }
    value
        .as_f64()
        .filter(|n| *n >= 0.0 && n.fract() == 0.0 && *n <= 9_007_199_254_740_991.0)
        .map(|n| n as u64)
        .ok_or_else(|| invalid_argument(format!("{what} must be a non-negative integer")))
}
