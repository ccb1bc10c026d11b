//! Keys and values between JS and the engine's bytes.
//!
//! Keys are stored as their bytes: a string as UTF-8, a `Uint8Array` as is,
//! so both sort bytewise together. On the way out a key is a string when the
//! store's `keyEncoding` is `'utf8'` (the default) and its bytes are valid
//! UTF-8, else a `Uint8Array`.
//!
//! Values carry a one-byte type tag in front, so `get` returns the type that
//! was put. DO NOT RENUMBER: the tags are part of what a store holds.
//!
//! | tag  | JS type                  | bytes after the tag          |
//! |------|--------------------------|------------------------------|
//! | 0x00 | `Uint8Array`             | the bytes, raw               |
//! | 0x01 | `string`                 | UTF-8                        |
//! | 0x02 | other JSON-compatible    | UTF-8 `JSON.stringify` text  |
//!
//! JSON-compatible means `null`, booleans, finite numbers, strings, arrays
//! and plain objects of those. Anything else (`undefined`, `NaN`, a `Date`, a
//! `Map`, a class instance, a typed array other than `Uint8Array`, a cycle) is
//! rejected with `LSMKV_INVALID_VALUE` instead of coming back changed.

use js_sys::{Array, Object, Uint8Array, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::js::error::{code, describe_js, JsFailure, JsResult};

#[wasm_bindgen(module = "/js/browser.js")]
extern "C" {
    /// `[key, value][]` from entries laid out by `entries_to_js`; throws
    /// only if a JSON value does not parse.
    #[wasm_bindgen(catch)]
    fn lsmkv_entries(bytes: &[u8], ends: &[u32], flags: &[u8]) -> Result<JsValue, JsValue>;
}

/// Value tags (shared with lsmkv-server). DO NOT RENUMBER: they are stored with every value.
pub use lsmkv::report::ValueTag;

/// How keys come back to JS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum KeyEncoding {
    /// Strings when the bytes are UTF-8, else `Uint8Array`.
    #[default]
    Utf8,
    /// Always `Uint8Array`.
    Binary,
}

impl KeyEncoding {
    pub fn parse(value: &JsValue, what: &str) -> JsResult<Option<KeyEncoding>> {
        if value.is_undefined() {
            return Ok(None);
        }
        match value.as_string().as_deref() {
            Some("utf8") => Ok(Some(KeyEncoding::Utf8)),
            Some("binary") => Ok(Some(KeyEncoding::Binary)),
            _ => Err(JsFailure::new(code::INVALID_OPTIONS, format!("{what} must be 'utf8' or 'binary'"))),
        }
    }
}

/// A key's bytes. `what` names the argument in the error ("key", "gte"...).
pub fn key_bytes(value: &JsValue, what: &str) -> JsResult<Vec<u8>> {
    if let Some(text) = value.as_string() {
        return Ok(text.into_bytes());
    }
    if let Some(bytes) = value.dyn_ref::<Uint8Array>() {
        return Ok(bytes.to_vec());
    }
    Err(JsFailure::new(code::INVALID_KEY, format!("{what} must be a string or a Uint8Array, got {}", type_name(value))))
}

/// A key for JS.
pub fn key_to_js(bytes: &[u8], encoding: KeyEncoding) -> JsValue {
    if encoding == KeyEncoding::Utf8 {
        if let Ok(text) = std::str::from_utf8(bytes) {
            return JsValue::from_str(text);
        }
    }
    Uint8Array::from(bytes).into()
}

/// A value's stored bytes: tag, then payload.
pub fn encode_value(value: &JsValue) -> JsResult<Vec<u8>> {
    if let Some(bytes) = value.dyn_ref::<Uint8Array>() {
        // Copied straight from JS into place (no intermediate Vec).
        let mut out = vec![0u8; 1 + bytes.length() as usize];
        out[0] = ValueTag::Bytes as u8;
        bytes.copy_to(&mut out[1..]);
        return Ok(out);
    }
    if let Some(text) = value.as_string() {
        let mut out = Vec::with_capacity(1 + text.len());
        out.push(ValueTag::String as u8);
        out.extend_from_slice(text.as_bytes());
        return Ok(out);
    }
    check_json(value, "value", 0)?;
    let text = JSON::stringify(value).map_err(|e| {
        JsFailure::new(code::INVALID_VALUE, format!("value cannot be stored as JSON: {}", describe_js(&e)))
    })?;
    let text = String::from(text);
    let mut out = Vec::with_capacity(1 + text.len());
    out.push(ValueTag::Json as u8);
    out.extend_from_slice(text.as_bytes());
    Ok(out)
}

/// The JS value of stored bytes. Bytes that do not decode (a value written
/// by something else than this layer) are corruption, reported, not guessed.
pub fn decode_value(stored: &[u8]) -> JsResult<JsValue> {
    let (&tag, payload) = stored
        .split_first()
        .ok_or_else(|| JsFailure::new(code::CORRUPTION, "stored value is empty: it has no type tag"))?;
    let utf8 = |payload| {
        std::str::from_utf8(payload)
            .map_err(|_| JsFailure::new(code::CORRUPTION, format!("stored value with tag {tag:#04x} is not UTF-8")))
    };
    match ValueTag::try_from(tag) {
        Ok(ValueTag::Bytes) => Ok(Uint8Array::from(payload).into()),
        Ok(ValueTag::String) => Ok(JsValue::from_str(utf8(payload)?)),
        Ok(ValueTag::Json) => JSON::parse(utf8(payload)?)
            .map_err(|_| JsFailure::new(code::CORRUPTION, "stored JSON value does not parse")),
        Err(unknown) => {
            Err(JsFailure::new(code::CORRUPTION, format!("stored value has unknown type tag {unknown:#04x}")))
        }
    }
}

/// `[key, value]` pairs (as `range` and `StoreIterator.next` return them),
/// built in one call into JS: the bytes of every key and value go across
/// in one buffer, ASCII keys become strings without a `TextDecoder` call,
/// and there is no wasm-to-JS call per entry (BENCHMARKS.md, "Browser").
/// Every check of `key_to_js` and `decode_value` is made here first, so
/// the JS side only decodes what is known to be well formed.
pub fn entries_to_js<K: AsRef<[u8]>, V: AsRef<[u8]>>(entries: &[(K, V)], encoding: KeyEncoding) -> JsResult<JsValue> {
    let total: usize = entries.iter().map(|(k, v)| k.as_ref().len() + v.as_ref().len()).sum();
    let mut bytes = Vec::with_capacity(total);
    let mut ends = Vec::with_capacity(2 * entries.len());
    let mut flags = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let (key, value) = (key.as_ref(), value.as_ref());
        let key_is_text = encoding == KeyEncoding::Utf8 && std::str::from_utf8(key).is_ok();
        let (&tag, payload) = value
            .split_first()
            .ok_or_else(|| JsFailure::new(code::CORRUPTION, "stored value is empty: it has no type tag"))?;
        match ValueTag::try_from(tag) {
            Ok(ValueTag::Bytes) => {}
            Ok(ValueTag::String | ValueTag::Json) => {
                if std::str::from_utf8(payload).is_err() {
                    return Err(JsFailure::new(
                        code::CORRUPTION,
                        format!("stored value with tag {tag:#04x} is not UTF-8"),
                    ));
                }
            }
            Err(unknown) => {
                return Err(JsFailure::new(
                    code::CORRUPTION,
                    format!("stored value has unknown type tag {unknown:#04x}"),
                ))
            }
        }
        bytes.extend_from_slice(key);
        ends.push(bytes.len() as u32);
        bytes.extend_from_slice(value);
        ends.push(bytes.len() as u32);
        flags.push(u8::from(key_is_text));
    }
    lsmkv_entries(&bytes, &ends, &flags)
        .map_err(|_| JsFailure::new(code::CORRUPTION, "stored JSON value does not parse"))
}

/// Nesting deeper than this is refused rather than risking the stack (and
/// catches cycles, which JSON cannot hold anyway).
const JSON_DEPTH_MAX: usize = 256;

fn invalid_value(path: &str, why: String) -> JsFailure {
    JsFailure::new(
        code::INVALID_VALUE,
        format!(
            "{path} {why}; values must be a Uint8Array, a string, or JSON-compatible \
             (null, boolean, finite number, string, array, plain object)"
        ),
    )
}

/// Checks that `value` survives `JSON.stringify` → `JSON.parse` unchanged.
fn check_json(value: &JsValue, path: &str, depth: usize) -> JsResult<()> {
    if depth > JSON_DEPTH_MAX {
        return Err(invalid_value(path, format!("is nested deeper than {JSON_DEPTH_MAX} levels (or is a cycle)")));
    }
    if value.is_null() || value.as_bool().is_some() || value.is_string() {
        return Ok(());
    }
    if let Some(number) = value.as_f64() {
        return if number.is_finite() {
            Ok(())
        } else {
            Err(invalid_value(path, format!("is {number}, which JSON cannot hold")))
        };
    }
    if Array::is_array(value) {
        let array: &Array = value.unchecked_ref();
        for (index, item) in array.iter().enumerate() {
            check_json(&item, &format!("{path}[{index}]"), depth + 1)?;
        }
        return Ok(());
    }
    if is_plain_object(value) {
        let object: &Object = value.unchecked_ref();
        for entry in Object::entries(object).iter() {
            let pair: Array = entry.unchecked_into();
            let name = pair.get(0).as_string().unwrap_or_default();
            check_json(&pair.get(1), &format!("{path}.{name}"), depth + 1)?;
        }
        return Ok(());
    }
    Err(invalid_value(path, format!("is {}", type_name(value))))
}

fn is_plain_object(value: &JsValue) -> bool {
    if !value.is_object() || value.is_function() {
        return false;
    }
    let proto = Object::get_prototype_of(value);
    proto.is_null() || proto == Object::get_prototype_of(&Object::new())
}

/// A short description of a JS value's type for error messages.
pub fn type_name(value: &JsValue) -> String {
    if value.is_undefined() {
        return "undefined".into();
    }
    if value.is_null() {
        return "null".into();
    }
    if value.is_object() {
        let constructor = js_sys::Reflect::get(value, &"constructor".into()).ok();
        let name = constructor
            .and_then(|c| js_sys::Reflect::get(&c, &"name".into()).ok())
            .and_then(|n| n.as_string())
            .filter(|n| !n.is_empty());
        return match name {
            Some(name) => format!("a {name}"),
            None => "an object".into(),
        };
    }
    value.js_typeof().as_string().unwrap_or_else(|| "unknown".into())
}
