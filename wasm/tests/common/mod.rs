//! Helpers shared by the browser test files: call the JS-facing `Store` API
//! the way JS calls it — methods looked up on the JS object, promises
//! awaited, errors read from `error.code`.
#![allow(dead_code)] // each test file uses its own subset

use std::collections::BTreeMap;

use js_sys::{Array, Function, Promise, Reflect, JSON};
use lsmkv::testing::Rng;
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

/// Seeded model test through the JS API: `steps` random puts, deletes,
/// gets, ranges, batches and reopens on store `name`, checked against a
/// `BTreeMap` after every read and at the end. A reopen calls one of
/// `reopen_with` (`"close"`, `"debugCrash"`) and opens again; nothing
/// acknowledged may be lost.
pub async fn btreemap_model(name: &str, options: &str, seed: u64, steps: u64, reopen_with: &[&str]) {
    let mut rng = Rng::new(seed);
    let mut model: BTreeMap<String, String> = BTreeMap::new();
    let mut store = open(name, options).await;
    for step in 0..steps {
        let key = format!("k{:02}", rng.below(60));
        match rng.below(10) {
            0..=4 => {
                let value = format!("v{step}");
                ok(&store, "put", &[s(&key), s(&value)]).await;
                model.insert(key, value);
            }
            5 => {
                ok(&store, "delete", &[s(&key)]).await;
                model.remove(&key);
            }
            6 => {
                let got = ok(&store, "get", &[s(&key)]).await.as_string();
                assert_eq!(got.as_ref(), model.get(&key), "seed {seed} step {step} get {key}");
            }
            7 => {
                let (lo, hi) = (format!("k{:02}", rng.below(60)), format!("k{:02}", rng.below(60)));
                let range = format!(r#"{{"gte":"{lo}","lt":"{hi}"}}"#);
                let got = JSON::stringify(&ok(&store, "range", &[json(&range)]).await).unwrap();
                let want: Vec<[&str; 2]> = model
                    .range(lo.clone()..)
                    .take_while(|(k, _)| **k < hi)
                    .map(|(k, v)| [k.as_str(), v.as_str()])
                    .collect();
                let want = JSON::stringify(&serde_wasm_bindgen::to_value(&want).unwrap()).unwrap();
                assert_eq!(got, want, "seed {seed} step {step} range {lo}..{hi}");
            }
            8 if rng.below(8) == 0 => {
                let how = reopen_with[rng.below(reopen_with.len() as u64) as usize];
                ok(&store, how, &[]).await;
                store = open(name, options).await;
            }
            _ => {
                let deleted = format!("k{:02}", rng.below(60));
                let batch =
                    format!(r#"[{{"type":"put","key":"{key}","value":"b{step}"}},{{"type":"del","key":"{deleted}"}}]"#);
                ok(&store, "batch", &[json(&batch)]).await;
                model.insert(key, format!("b{step}"));
                model.remove(&deleted);
            }
        }
    }
    let keys = JSON::stringify(&ok(&store, "keys", &[]).await).unwrap();
    let want = JSON::stringify(&serde_wasm_bindgen::to_value(&model.keys().collect::<Vec<_>>()).unwrap()).unwrap();
    assert_eq!(keys, want, "seed {seed} final keys");
    ok(&store, "close", &[]).await;
}
