//! The `Store` API on OPFS from a page (headless Chromium's main thread):
//! every call goes to the store's worker and back. The same checks as the
//! IndexedDB tests in `web.rs` — CRUD, value types, coded errors, snapshots
//! and iterators, persistence across close and crash, one writer — plus
//! what only the proxy does: errors raised at call time, bytes copied at call
//! time, calls of one tick sharing one flush.
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Function, Promise, Reflect, Uint8Array, JSON};
use lsmkv_wasm::Store;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::*;

const OPTIONS: &str = r#"{"backend":"opfs","preset":"teaching"}"#;

async fn destroy(name: &str) {
    JsFuture::from(Store::destroy(s(name), Some(json(r#"{"backend":"opfs"}"#)))).await.expect("destroy");
}

#[wasm_bindgen_test]
async fn crud_batch_range_and_keys_work_on_opfs() {
    let name = unique("crud");
    let store = open(&name, OPTIONS).await;
    assert_eq!(field(&store, "backend"), s("opfs"));
    assert_eq!(field(&store, "name"), s(&name));
    ok(&store, "put", &[s("b"), s("two")]).await;
    ok(&store, "put", &[s("a"), s("one")]).await;
    ok(&store, "put", &[s("c"), json("3")]).await;
    assert_eq!(ok(&store, "get", &[s("a")]).await, s("one"));
    assert!(ok(&store, "get", &[s("zz")]).await.is_undefined(), "absent is undefined");
    ok(&store, "delete", &[s("b")]).await;
    assert!(ok(&store, "get", &[s("b")]).await.is_undefined());
    ok(&store, "batchPut", &[json(r#"[["d","four"],["e","five"]]"#)]).await;
    ok(&store, "batch", &[json(r#"[{"type":"put","key":"f","value":6},{"type":"del","key":"a"}]"#)]).await;
    assert_eq!(JSON::stringify(&ok(&store, "keys", &[]).await).unwrap(), "[\"c\",\"d\",\"e\",\"f\"]");
    // The plain-object form crosses to the worker (as pairs) too.
    ok(&store, "batchPut", &[json(r#"{"o:1":{"n":1},"o:2":"two"}"#)]).await;
    assert_eq!(JSON::stringify(&ok(&store, "get", &[s("o:1")]).await).unwrap(), r#"{"n":1}"#);
    assert_eq!(fails(&store, "batchPut", &[s("o:3=x")]).await, "LSMKV_INVALID_ARGUMENT");
    ok(&store, "batch", &[json(r#"[{"type":"del","key":"o:1"},{"type":"del","key":"o:2"}]"#)]).await;
    let range = ok(&store, "range", &[json(r#"{"gt":"c","lte":"e"}"#)]).await;
    assert_eq!(JSON::stringify(&range).unwrap(), "[[\"d\",\"four\"],[\"e\",\"five\"]]");
    let reverse = ok(&store, "range", &[json(r#"{"reverse":true,"limit":2}"#)]).await;
    assert_eq!(JSON::stringify(&reverse).unwrap(), "[[\"f\",6],[\"e\",\"five\"]]");
    assert_eq!(JSON::stringify(&ok(&store, "keys", &[json(r#"{"prefix":"d"}"#)]).await).unwrap(), "[\"d\"]");
    // The engine is in the worker: no synchronous reads from the page.
    assert_eq!(throws(&store, "getSync", &[s("a")]), "LSMKV_UNSUPPORTED");
    assert_eq!(throws(&store, "snapshotSync", &[]), "LSMKV_UNSUPPORTED");
    ok(&store, "close", &[]).await;
    destroy(&name).await;
}

#[wasm_bindgen_test]
async fn values_and_bytes_cross_the_worker_unchanged_and_are_copied_at_call_time() {
    let name = unique("types");
    let store = open(&name, r#"{"backend":"opfs"}"#).await;
    let bytes = Uint8Array::from(&[0u8, 255, 7][..]);
    let pending = start(&store, "put", &[s("bytes"), bytes.clone().into()]);
    // Changing the array after the call must not change the write.
    bytes.set_index(0, 42);
    JsFuture::from(pending).await.unwrap();
    let got = ok(&store, "get", &[s("bytes")]).await;
    assert_eq!(got.dyn_into::<Uint8Array>().expect("a Uint8Array").to_vec(), vec![0, 255, 7]);
    // A view into a larger buffer sends only its own bytes.
    let big = Uint8Array::new_with_length(1 << 20);
    big.fill(9, 0, 1 << 20);
    ok(&store, "put", &[s("view"), big.subarray(10, 14).into()]).await;
    let got: Uint8Array = ok(&store, "get", &[s("view")]).await.unchecked_into();
    assert_eq!(got.to_vec(), vec![9, 9, 9, 9]);
    let object = json(r#"{"nested":{"list":[1,2]}}"#);
    let pending = start(&store, "put", &[s("v"), object.clone()]);
    Reflect::set(&object, &"nested".into(), &JsValue::NULL).unwrap();
    JsFuture::from(pending).await.unwrap();
    assert_eq!(
        String::from(JSON::stringify(&ok(&store, "get", &[s("v")]).await).unwrap()),
        r#"{"nested":{"list":[1,2]}}"#
    );
    for text in [r#""text""#, "42.5", "true", "null", r#"[1,"x",{"y":null}]"#] {
        ok(&store, "put", &[s("v"), json(text)]).await;
        assert_eq!(String::from(JSON::stringify(&ok(&store, "get", &[s("v")]).await).unwrap()), text);
    }
    let key: JsValue = Uint8Array::from(&[0xffu8, 0xff][..]).into();
    ok(&store, "put", &[key.clone(), s("high")]).await;
    assert_eq!(ok(&store, "get", &[key]).await, s("high"));
    let keys: Array = ok(&store, "keys", &[json(r#"{"keyEncoding":"binary"}"#)]).await.unchecked_into();
    assert_eq!(keys.pop().dyn_into::<Uint8Array>().unwrap().to_vec(), vec![0xff, 0xff]);
    ok(&store, "close", &[]).await;
    destroy(&name).await;
}

#[wasm_bindgen_test]
async fn bad_input_is_the_same_coded_error_as_on_the_other_backends() {
    let name = unique("bad-input");
    let store = open(&name, r#"{"backend":"opfs"}"#).await;
    assert_eq!(fails(&store, "put", &[json("12"), s("v")]).await, "LSMKV_INVALID_KEY");
    assert_eq!(fails(&store, "put", &[s(""), s("v")]).await, "LSMKV_INVALID_KEY");
    assert_eq!(fails(&store, "put", &[s("k"), JsValue::UNDEFINED]).await, "LSMKV_INVALID_VALUE");
    assert_eq!(fails(&store, "put", &[s("k"), js_sys::Date::new_0().into()]).await, "LSMKV_INVALID_VALUE");
    let function: JsValue = Function::new_no_args("return 1").into();
    assert_eq!(fails(&store, "put", &[s("k"), function]).await, "LSMKV_INVALID_VALUE");
    assert_eq!(fails(&store, "range", &[json(r#"{"gt":"a","gte":"b"}"#)]).await, "LSMKV_INVALID_ARGUMENT");
    assert_eq!(fails(&store, "range", &[json(r#"{"from":"a"}"#)]).await, "LSMKV_INVALID_ARGUMENT");
    assert_eq!(fails(&store, "get", &[s("k"), json(r#"{"snapshot":{"id":99}}"#)]).await, "LSMKV_INVALID_ARGUMENT");
    assert_eq!(fails(&store, "inspectTable", &[json("12345")]).await, "LSMKV_INVALID_ARGUMENT");
    assert!(store.dyn_ref::<js_sys::Object>().is_some());
    let inject: Function = field(&store, "debugInjectFault").dyn_into().unwrap();
    assert!(inject.call1(&store, &s("abort")).is_err(), "faults are IndexedDB-only");
    assert_eq!(open_error("x", r#"{"backend":"opfs","memtableMaxEntries":0}"#).await, "LSMKV_INVALID_OPTIONS");
    ok(&store, "close", &[]).await;
    assert_eq!(fails(&store, "get", &[s("k")]).await, "LSMKV_CLOSED");
    assert_eq!(fails(&store, "put", &[s("k"), s("v")]).await, "LSMKV_CLOSED");
    ok(&store, "close", &[]).await;
    assert_eq!(field(&ok(&store, "health", &[]).await, "status"), s("closed"));
    destroy(&name).await;
}

#[wasm_bindgen_test]
async fn data_survives_close_and_crash_and_flushes_compactions_run_in_the_worker() {
    let name = unique("persist");
    let store = open(&name, OPTIONS).await;
    for i in 0..300 {
        ok(&store, "put", &[s(&format!("k{i:04}")), JsValue::from(i)]).await;
    }
    let stats = ok(&store, "stats", &[]).await;
    assert!(num(&stats, "flushes") >= 9.0, "teaching caps flush every 30 entries");
    ok(&store, "compact", &[]).await;
    let flushed = ok(&store, "flush", &[]).await;
    assert!(flushed.is_null(), "nothing left to flush after compact");
    ok(&store, "close", &[]).await;

    let store = open(&name, OPTIONS).await;
    assert_eq!(ok(&store, "get", &[s("k0123")]).await, JsValue::from(123));
    for i in 300..350 {
        ok(&store, "put", &[s(&format!("k{i:04}")), JsValue::from(i)]).await;
    }
    // Acknowledged writes survive a crash (WAL replay).
    ok(&store, "debugCrash", &[]).await;
    assert_eq!(fails(&store, "get", &[s("k0001")]).await, "LSMKV_CLOSED");
    let store = open(&name, OPTIONS).await;
    let keys: Array = ok(&store, "keys", &[]).await.unchecked_into();
    assert_eq!(keys.length(), 350);
    assert_eq!(ok(&store, "get", &[s("k0349")]).await, JsValue::from(349));
    let page = ok(&store, "events", &[JsValue::from(0), JsValue::from(1000)]).await;
    let events: Array = field(&page, "events").unchecked_into();
    assert!(events.iter().any(|e| field(&e, "type") == s("walReplayed")), "the reopen replayed the WAL");
    ok(&store, "close", &[]).await;
    destroy(&name).await;
    let store = open(&name, OPTIONS).await;
    assert_eq!(JSON::stringify(&ok(&store, "keys", &[]).await).unwrap(), "[]", "destroy deleted everything");
    ok(&store, "close", &[]).await;
    destroy(&name).await;
}

#[wasm_bindgen_test]
async fn writes_in_one_tick_share_one_flush() {
    let name = unique("group");
    let store = open(&name, r#"{"backend":"opfs"}"#).await;
    ok(&store, "put", &[s("warm"), s("up")]).await;
    let before = num(&ok(&store, "health", &[]).await, "opfs.walSyncs");
    let pending: Array =
        (0..200).map(|i| JsValue::from(start(&store, "put", &[s(&format!("g{i}")), JsValue::from(i)]))).collect();
    JsFuture::from(Promise::all(&pending)).await.unwrap();
    let health = ok(&store, "health", &[]).await;
    let syncs = num(&health, "opfs.walSyncs") - before;
    assert!(syncs <= 2.0, "200 same-tick puts used {syncs} WAL flushes");
    assert_eq!(field(&health, "backend"), s("opfs"));
    assert_eq!(field(&health, "status"), s("ok"));
    assert_eq!(field(&health, "opfs.durability"), s("strict"));
    assert!(num(&health, "opfs.freeSlots") >= 32.0);
    ok(&store, "close", &[]).await;
    destroy(&name).await;
}

#[wasm_bindgen_test]
async fn writes_in_flight_when_close_is_called_complete_and_persist() {
    let name = unique("close-in-flight");
    let store = open(&name, OPTIONS).await;
    let pending: Array =
        (0..50).map(|i| JsValue::from(start(&store, "put", &[s(&format!("f{i:02}")), JsValue::from(i)]))).collect();
    let closing = start(&store, "close", &[]);
    JsFuture::from(Promise::all(&pending)).await.expect("writes issued before close() resolve");
    JsFuture::from(closing).await.expect("close resolves");
    assert_eq!(fails(&store, "put", &[s("late"), s("x")]).await, "LSMKV_CLOSED");
    let store = open(&name, OPTIONS).await;
    let keys: Array = ok(&store, "keys", &[]).await.unchecked_into();
    assert_eq!(keys.length(), 50);
    ok(&store, "close", &[]).await;
    destroy(&name).await;
}

#[wasm_bindgen_test]
async fn a_second_opener_is_locked_out_then_waits() {
    let name = unique("locked");
    let first = open(&name, r#"{"backend":"opfs"}"#).await;
    ok(&first, "put", &[s("owner"), s("first")]).await;
    assert_eq!(open_error(&name, r#"{"backend":"opfs"}"#).await, "LSMKV_LOCKED");
    let waiting = Store::open(s(&name), Some(json(r#"{"backend":"opfs","lock":"wait"}"#)));
    ok(&first, "close", &[]).await;
    let second = JsFuture::from(waiting).await.expect("the waiting opener gets the store");
    assert_eq!(ok(&second, "get", &[s("owner")]).await, s("first"));
    // Destroy is refused while the store is open.
    let code =
        error_code(&JsFuture::from(Store::destroy(s(&name), Some(json(r#"{"backend":"opfs"}"#)))).await.unwrap_err());
    assert_eq!(code, "LSMKV_LOCKED");
    ok(&second, "close", &[]).await;
    destroy(&name).await;
}

#[wasm_bindgen_test]
async fn snapshots_and_iterators_work_through_the_worker() {
    let name = unique("handles");
    let store = open(&name, OPTIONS).await;
    for i in 0..50 {
        ok(&store, "put", &[s(&format!("k{i:02}")), JsValue::from(i)]).await;
    }
    let snapshot = ok(&store, "snapshot", &[]).await;
    assert!(num(&snapshot, "seq") >= 50.0);
    ok(&store, "put", &[s("k00"), s("changed")]).await;
    ok(&store, "delete", &[s("k01")]).await;
    let at = |_: ()| {
        let options = js_sys::Object::new();
        Reflect::set(&options, &"snapshot".into(), &snapshot).unwrap();
        JsValue::from(options)
    };
    assert_eq!(ok(&store, "get", &[s("k00"), at(())]).await, JsValue::from(0));
    assert_eq!(ok(&store, "get", &[s("k00")]).await, s("changed"));
    let keys: Array = ok(&store, "keys", &[at(())]).await.unchecked_into();
    assert_eq!(keys.length(), 50, "the snapshot still sees k01");

    let iterator = ok(&store, "iterator", &[at(())]).await;
    let first: Array = ok(&iterator, "next", &[JsValue::from(10)]).await.unchecked_into();
    assert_eq!(first.length(), 10);
    ok(&iterator, "seek", &[s("k45")]).await;
    let rest: Array = ok(&iterator, "next", &[JsValue::from(100)]).await.unchecked_into();
    assert_eq!(rest.length(), 5);
    let done: Array = ok(&iterator, "next", &[]).await.unchecked_into();
    assert_eq!(done.length(), 0);
    let close: Function = field(&iterator, "close").dyn_into().unwrap();
    close.call0(&iterator).unwrap();
    assert_eq!(fails(&iterator, "next", &[]).await, "LSMKV_CLOSED");

    let release: Function = field(&snapshot, "release").dyn_into().unwrap();
    release.call0(&snapshot).unwrap();
    assert_eq!(fails(&store, "get", &[s("k00"), at(())]).await, "LSMKV_INVALID_ARGUMENT");
    ok(&store, "close", &[]).await;
    destroy(&name).await;
}

#[wasm_bindgen_test]
async fn reports_have_their_documented_shapes() {
    let name = unique("reports");
    let store = open(&name, OPTIONS).await;
    for i in 0..40 {
        ok(&store, "put", &[s(&format!("r{i:02}")), JsValue::from(i)]).await;
    }
    let flushed = ok(&store, "flush", &[]).await;
    assert!(num(&flushed, "memtableEntries") > 0.0);
    let trace = ok(&store, "explainGet", &[s("r05")]).await;
    assert!(field(&trace, "probes").is_object());
    let stats = ok(&store, "stats", &[]).await;
    let levels: Array = field(&stats, "levels").unchecked_into();
    let table = levels.iter().flat_map(|l| Array::from(&field(&l, "tables")).to_vec()).next().expect("a table");
    let inspection = ok(&store, "inspectTable", &[field(&table, "number")]).await;
    assert!(field(&inspection, "blocks").is_object());
    let space = ok(&store, "space", &[]).await;
    assert_eq!(num(&space, "liveKeys"), 40.0);
    let health = ok(&store, "health", &[]).await;
    for path in ["opfs.directory", "opfs.files", "opfs.slots", "opfs.flushes", "opfs.bytesWritten"] {
        assert!(!field(&health, path).is_undefined(), "health has {path}");
    }
    assert!(field(&health, "indexeddb").is_null());
    ok(&store, "close", &[]).await;
    destroy(&name).await;
}

#[wasm_bindgen_test]
async fn random_operations_match_a_btreemap_model_across_reopens_and_crashes() {
    for seed in [7u64, 1234] {
        let name = unique("model");
        btreemap_model(&name, OPTIONS, seed, 400, &["close", "debugCrash"]).await;
        destroy(&name).await;
    }
}
