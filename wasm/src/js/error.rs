//! Errors as JS sees them: a real `Error` (with a stack) carrying a stable
//! `code` (`LSMKV_*`), made from the core's `Error` or from bad JS input.

use js_sys::Reflect;
use wasm_bindgen::prelude::*;

/// Codes this layer adds beyond the core's `Error::code()`.
pub mod code {
    pub const INVALID_KEY: &str = "LSMKV_INVALID_KEY";
    pub const INVALID_VALUE: &str = "LSMKV_INVALID_VALUE";
    pub const INVALID_OPTIONS: &str = "LSMKV_INVALID_OPTIONS";
    pub const INVALID_ARGUMENT: &str = "LSMKV_INVALID_ARGUMENT";
    pub const CORRUPTION: &str = "LSMKV_CORRUPTION";
    pub const QUOTA: &str = "LSMKV_QUOTA";
    pub const CLOSED: &str = "LSMKV_CLOSED";
    pub const LOCKED: &str = "LSMKV_LOCKED";
    pub const IO: &str = "LSMKV_IO";
    pub const READ_ONLY: &str = "LSMKV_READ_ONLY";
    /// The environment lacks an API the chosen backend needs (IndexedDB,
    /// Web Locks).
    pub const UNSUPPORTED: &str = "LSMKV_UNSUPPORTED";
}

/// An error on its way to JS: a code and a message. Turned into a JS `Error`
/// only at the boundary, so Rust code can build and test it cheaply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsFailure {
    pub code: String,
    pub message: String,
}

pub type JsResult<T> = Result<T, JsFailure>;

impl JsFailure {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        JsFailure { code: code.to_string(), message: message.into() }
    }

    /// The JS `Error` object: `new Error(message)` plus `code` and `name`.
    pub fn to_js(&self) -> JsValue {
        let error = js_sys::Error::new(&self.message);
        error.set_name("LsmkvError");
        // Setting a property on a fresh Error cannot fail.
        let _ = Reflect::set(&error, &"code".into(), &JsValue::from_str(&self.code));
        error.into()
    }
}

impl From<lsmkv::Error> for JsFailure {
    fn from(error: lsmkv::Error) -> Self {
        JsFailure { code: format!("LSMKV_{}", error.code()), message: error.to_string() }
    }
}

/// A JS exception caught from a browser API, described for a message.
pub fn describe_js(value: &JsValue) -> String {
    if let Some(error) = value.dyn_ref::<js_sys::Error>() {
        return format!("{}: {}", String::from(error.name()), String::from(error.message()));
    }
    if let Some(text) = value.as_string() {
        return text;
    }
    format!("{value:?}")
}

pub fn invalid_argument(message: impl Into<String>) -> JsFailure {
    JsFailure::new(code::INVALID_ARGUMENT, message)
}

pub fn invalid_options(message: impl Into<String>) -> JsFailure {
    JsFailure::new(code::INVALID_OPTIONS, message)
}
