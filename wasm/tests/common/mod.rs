//! Helpers shared by the browser test files: call the JS-facing `Store` API
//! the way JS calls it — methods looked up on the JS object, promises
//! awaited, errors read from `error.code`.
#![allow(dead_code)] // each test file uses its own subset

use js_sys::{Array, Function, Promise, Reflect, JSON};
use lsmkv_wasm::Store;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

pub fn json(text: &str) -> JsValue {
    JSON::parse(text).expect("test JSON parses")
}

pub fn s(text: &str) -> JsValue {
    JsValue::from_str(text)
}

/// A store name unique to this run, so reruns never see old data.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", js_sys::Math::random().to_bits())
}

pub async fn settle(promise: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(promise).await
}

/// `object[name](...args)`, not awaited.
pub fn start(object: &JsValue, name: &str, args: &[JsValue]) -> Promise {
    let method: Function = Reflect::get(object, &name.into())
        .expect("method exists")
        .dyn_into()
        .unwrap_or_else(|_| panic!("{name} is a function"));
    let result = method.apply(object, &args.iter().collect::<Array>()).expect("methods never throw synchronously");
    result.dyn_into().expect("methods return promises")
}

/// `object[name](...args)` awaited.
pub async fn call(object: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    settle(start(object, name, args)).await
}

/// `object[name](...args)` for a synchronous method: its result, or what it threw.
pub fn call_sync(object: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let method: Function = Reflect::get(object, &name.into())
        .expect("method exists")
        .dyn_into()
        .unwrap_or_else(|_| panic!("{name} is a function"));
    method.apply(object, &args.iter().collect::<Array>())
}

/// The `code` of what a synchronous method threw.
pub fn throws(object: &JsValue, name: &str, args: &[JsValue]) -> String {
    match call_sync(object, name, args) {
        Ok(value) => panic!("{name} should have thrown, got {value:?}"),
        Err(error) => error_code(&error),
    }
}

pub async fn ok(object: &JsValue, name: &str, args: &[JsValue]) -> JsValue {
    call(object, name, args).await.unwrap_or_else(|e| panic!("{name} failed: {}", describe(&e)))
}

/// The `code` of a rejection, checking it is a real `Error`.
pub async fn fails(object: &JsValue, name: &str, args: &[JsValue]) -> String {
    match call(object, name, args).await {
        Ok(value) => panic!("{name} should have failed, got {value:?}"),
        Err(error) => error_code(&error),
    }
}

/// A rejection's `code`, checking it is an `LsmkvError` with a stack.
pub fn error_code(error: &JsValue) -> String {
    assert!(error.is_instance_of::<js_sys::Error>(), "rejections are Error objects: {error:?}");
    assert!(Reflect::get(error, &"stack".into()).unwrap().is_string(), "errors carry a stack");
    assert_eq!(Reflect::get(error, &"name".into()).unwrap(), s("LsmkvError"));
    Reflect::get(error, &"code".into()).unwrap().as_string().expect("errors carry a code")
}

pub fn describe(error: &JsValue) -> String {
    let text = |f: &str| Reflect::get(error, &f.into()).ok().and_then(|v| v.as_string()).unwrap_or_default();
    format!("{}: {}", text("code"), text("message"))
}

pub async fn open(name: &str, options: &str) -> JsValue {
    settle(Store::open(s(name), Some(json(options)))).await.unwrap_or_else(|e| panic!("open failed: {}", describe(&e)))
}

pub async fn open_error(name: &str, options: &str) -> String {
    error_code(&settle(Store::open(s(name), Some(json(options)))).await.expect_err("open should fail"))
}

/// `object.a.b.c` for the path `"a.b.c"`.
pub fn field(object: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(object.clone(), |o, name| Reflect::get(&o, &name.into()).unwrap())
}

pub fn num(object: &JsValue, path: &str) -> f64 {
    field(object, path).as_f64().unwrap_or_else(|| panic!("{path} is a number"))
}
