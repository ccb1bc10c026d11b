//! Values between JSON and the engine's bytes, with the JS `Store`'s type
//! tags (`lsmkv::report::ValueTag`), so a value means the same through both.
//! A JSON string is stored as a string, `{"$base64": "..."}` as bytes, any
//! other JSON value as its raw text exactly as received, so it comes back
//! byte for byte (member order, number text such as `6.02E23` or `-0.0`).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use lsmkv::report::ValueTag;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};

/// A JSON value as its text.
pub type Raw = Box<RawValue>;

/// A member that is present (`null` included): `Some`; absent: `None` (with
/// `#[serde(default)]`).
pub fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Raw>, D::Error> {
    <Raw as serde::Deserialize>::deserialize(d).map(Some)
}

/// The bytes to store for a JSON value.
pub fn encode(value: &RawValue) -> ApiResult<Vec<u8>> {
    let text = value.get().trim();
    if text.starts_with('"') {
        let string: String = serde_json::from_str(text).map_err(|e| ApiError::bad(e.to_string()))?;
        return Ok(tagged(ValueTag::String, string.as_bytes()));
    }
    if text.starts_with('{') {
        if let Some(bytes) = as_base64(text)? {
            return Ok(tagged(ValueTag::Bytes, &bytes));
        }
    }
    Ok(tagged(ValueTag::Json, text.as_bytes()))
}

/// Raw bytes (an `application/octet-stream` body) to store.
pub fn encode_bytes(bytes: &[u8]) -> Vec<u8> {
    tagged(ValueTag::Bytes, bytes)
}

fn tagged(tag: ValueTag, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 1);
    out.push(tag as u8);
    out.extend_from_slice(payload);
    out
}

/// `Some(bytes)` for an object whose one member is `$base64` holding a
/// string (which must then be standard, padded base64).
fn as_base64(text: &str) -> ApiResult<Option<Vec<u8>>> {
    let Ok(Value::Object(members)) = serde_json::from_str::<Value>(text) else { return Ok(None) };
    if members.len() != 1 {
        return Ok(None);
    }
    match members.get("$base64") {
        None => Ok(None),
        Some(Value::String(b64)) => {
            BASE64.decode(b64).map(Some).map_err(|e| ApiError::bad(format!("bad $base64 value: {e}")))
        }
        // Not bytes: plain JSON that happens to use the name.
        Some(_) => Ok(None),
    }
}

/// What a stored value is.
pub enum Stored<'a> {
    Bytes(&'a [u8]),
    /// A JSON value: a string, or JSON text.
    Json(Raw),
}

fn corrupt(why: &str) -> ApiError {
    ApiError::from(lsmkv::Error::corruption("value", 0, why))
}

pub fn decode(stored: &[u8]) -> ApiResult<Stored<'_>> {
    let (&tag, payload) = stored.split_first().ok_or_else(|| corrupt("a stored value without its type tag"))?;
    let text =
        |p: &[u8]| core::str::from_utf8(p).map(str::to_owned).map_err(|_| corrupt("a stored text that is not UTF-8"));
    match ValueTag::try_from(tag) {
        Ok(ValueTag::Bytes) => Ok(Stored::Bytes(payload)),
        Ok(ValueTag::String) => Ok(Stored::Json(to_raw(&Value::String(text(payload)?)))),
        Ok(ValueTag::Json) => RawValue::from_string(text(payload)?)
            .map(Stored::Json)
            .map_err(|_| corrupt("stored JSON that does not parse")),
        Err(other) => Err(corrupt(&format!("unknown value type tag {other:#04x}"))),
    }
}

/// A stored value as JSON text (bytes as `{"$base64": ...}`).
pub fn to_raw_json(stored: &[u8]) -> ApiResult<Raw> {
    Ok(match decode(stored)? {
        Stored::Bytes(bytes) => to_raw(&bytes_json(bytes)),
        Stored::Json(raw) => raw,
    })
}

/// A stored value as a `serde_json::Value` (for reports; number text may
/// be normalized there).
pub fn to_json(stored: &[u8]) -> ApiResult<Value> {
    serde_json::from_str(to_raw_json(stored)?.get()).map_err(|_| corrupt("stored JSON that does not parse"))
}

pub fn to_raw(value: &Value) -> Raw {
    // A Value always serializes.
    serde_json::value::to_raw_value(value).unwrap_or_default()
}

pub fn bytes_json(bytes: &[u8]) -> Value {
    let mut object = serde_json::Map::new();
    object.insert("$base64".into(), Value::String(BASE64.encode(bytes)));
    Value::Object(object)
}

/// A key as JSON: a string (keys the server writes are always UTF-8).
pub fn key_json(key: &[u8]) -> Value {
    match core::str::from_utf8(key) {
        Ok(text) => Value::String(text.to_owned()),
        Err(_) => bytes_json(key),
    }
}
