//! Browser tests (headless Chromium through wasm-bindgen-test): the storage
//! conformance suite on both backends, and the JS-facing `Store` API called
//! the way JS calls it (methods looked up on the JS object, promises
//! awaited, errors read from `error.code`).
#![cfg(target_arch = "wasm32")]

use std::collections::BTreeMap;

use js_sys::{Array, Function, Promise, Reflect, Uint8Array, JSON};
use lsmkv::Storage;
use lsmkv_wasm::idb::IdbBackend;
use lsmkv_wasm::js::options::DurabilityMode;
use lsmkv_wasm::Store;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::*;

async fn transactions(store: &JsValue) -> f64 {
    num(&ok(store, "health", &[]).await, "indexeddb.transactions")
}

fn idb_options() -> &'static str {
    r#"{"backend":"indexeddb","preset":"teaching"}"#
}

// ---- the storage conformance suite, on both backends ----

#[wasm_bindgen_test]
fn conformance_suite_on_memory_storage() {
    lsmkv::testing::conformance::run_all(&lsmkv::MemStorage::new());
}

#[wasm_bindgen_test]
async fn conformance_suite_on_indexeddb_storage_survives_reload() {
    // Runs the suite on the IndexedDB backend's files, persists what it left,
    // and checks a fresh load from IndexedDB holds exactly the same files.
    let name = unique("conformance");
    let backend = IdbBackend::open(&name, DurabilityMode::Strict).await.expect("backend opens");
    let files = backend.files();
    lsmkv::testing::conformance::run_all(files.as_ref());
    files.create("left-behind").unwrap();
    files.append("left-behind", b"bytes that must survive").unwrap();
    backend.persist().await.expect("persisted");
    let before: BTreeMap<String, Vec<u8>> =
        files.list().unwrap().into_iter().map(|n| (n.clone(), files.read_all(&n).unwrap())).collect();
    backend.close().await;
    let reloaded = IdbBackend::open(&name, DurabilityMode::Strict).await.expect("backend reopens");
    let files = reloaded.files();
    let after: BTreeMap<String, Vec<u8>> =
        files.list().unwrap().into_iter().map(|n| (n.clone(), files.read_all(&n).unwrap())).collect();
    assert_eq!(before, after);
    lsmkv::testing::conformance::run_all(&lsmkv_wasm::idb::journal::JournaledFiles::default());
    reloaded.close().await;
}

// ---- the Store API ----

async fn crud_batch_range_keys(store: &JsValue) {
    ok(store, "put", &[s("b"), s("two")]).await;
    ok(store, "put", &[s("a"), s("one")]).await;
    ok(store, "put", &[s("c"), json("3")]).await;
    assert_eq!(ok(store, "get", &[s("a")]).await, s("one"));
    assert!(ok(store, "get", &[s("zz")]).await.is_undefined(), "absent is undefined");
    ok(store, "delete", &[s("b")]).await;
    assert!(ok(store, "get", &[s("b")]).await.is_undefined());
    ok(store, "batchPut", &[json(r#"[["d","four"],["e","five"]]"#)]).await;
    ok(store, "batch", &[json(r#"[{"type":"put","key":"f","value":6},{"type":"del","key":"a"}]"#)]).await;
    let keys = ok(store, "keys", &[]).await;
    assert_eq!(JSON::stringify(&keys).unwrap(), "[\"c\",\"d\",\"e\",\"f\"]");
    let range = ok(store, "range", &[json(r#"{"gt":"c","lte":"e"}"#)]).await;
    assert_eq!(JSON::stringify(&range).unwrap(), "[[\"d\",\"four\"],[\"e\",\"five\"]]");
    let reverse = ok(store, "range", &[json(r#"{"reverse":true,"limit":2}"#)]).await;
    assert_eq!(JSON::stringify(&reverse).unwrap(), "[[\"f\",6],[\"e\",\"five\"]]");
    let prefix = ok(store, "keys", &[json(r#"{"prefix":"d"}"#)]).await;
    assert_eq!(JSON::stringify(&prefix).unwrap(), "[\"d\"]");
}

#[wasm_bindgen_test]
async fn crud_batch_range_and_keys_work_on_memory() {
    let store = open("crud-memory", r#"{"backend":"memory","preset":"teaching"}"#).await;
    crud_batch_range_keys(&store).await;
    ok(&store, "close", &[]).await;
}

#[wasm_bindgen_test]
async fn crud_batch_range_and_keys_work_on_indexeddb() {
    let store = open(&unique("crud-idb"), idb_options()).await;
    crud_batch_range_keys(&store).await;
    ok(&store, "close", &[]).await;
}

#[wasm_bindgen_test]
async fn batch_put_takes_a_plain_object_or_a_map_too() {
    // The original product's batch_put({ key: value, ... }), beside pairs.
    let store = open(&unique("batch-object"), idb_options()).await;
    let object = json(r#"{"product:2":{"name":"Lamp","price":19.5},"product:1":"x","product:3":[1,null]}"#);
    ok(&store, "batchPut", &[object]).await;
    assert_eq!(
        JSON::stringify(&ok(&store, "get", &[s("product:2")]).await).unwrap(),
        r#"{"name":"Lamp","price":19.5}"#
    );
    assert_eq!(ok(&store, "get", &[s("product:1")]).await, s("x"));
    let range = ok(&store, "range", &[json(r#"{"prefix":"product:"}"#)]).await;
    assert_eq!(
        JSON::stringify(&range).unwrap(),
        r#"[["product:1","x"],["product:2",{"name":"Lamp","price":19.5}],["product:3",[1,null]]]"#
    );
    // One atomic write of three entries.
    assert_eq!(num(&ok(&store, "stats", &[]).await, "memtableEntries"), 3.0);
    // Object.create(null) is a plain object; {} puts nothing.
    let bare: js_sys::Object = js_sys::Object::create(JsValue::NULL.unchecked_ref());
    Reflect::set(&bare, &s("bare"), &s("yes")).unwrap();
    ok(&store, "batchPut", &[bare.into()]).await;
    assert_eq!(ok(&store, "get", &[s("bare")]).await, s("yes"));
    ok(&store, "batchPut", &[json("{}")]).await;
    // A Map, with a string and a binary key, in the Map's order.
    let map = js_sys::Map::new();
    map.set(&s("m:b"), &json("2"));
    map.set(&Uint8Array::from(&b"m:a"[..]).into(), &s("bytes key"));
    ok(&store, "batchPut", &[map.into()]).await;
    assert_eq!(ok(&store, "get", &[s("m:a")]).await, s("bytes key"));
    assert_eq!(ok(&store, "get", &[s("m:b")]).await, json("2"));
    // Anything else is refused, and nothing of a refused batch is written.
    for bad in [
        s("k=v"),
        json("42"),
        JsValue::NULL,
        JsValue::UNDEFINED,
        js_sys::Date::new_0().into(),
        js_sys::Set::new(&JsValue::UNDEFINED).into(),
    ] {
        assert_eq!(fails(&store, "batchPut", &[bad]).await, "LSMKV_INVALID_ARGUMENT");
    }
    assert_eq!(fails(&store, "batchPut", &[json(r#"{"ok:1":"v","":"empty key"}"#)]).await, "LSMKV_INVALID_KEY");
    assert_eq!(fails(&store, "batchPut", &[json(r#"[["ok:2","v"],["bad"]]"#)]).await, "LSMKV_INVALID_ARGUMENT");
    let bad_value = js_sys::Object::new();
    Reflect::set(&bad_value, &s("ok:3"), &s("v")).unwrap();
    Reflect::set(&bad_value, &s("nan"), &JsValue::from_f64(f64::NAN)).unwrap();
    assert_eq!(fails(&store, "batchPut", &[bad_value.into()]).await, "LSMKV_INVALID_VALUE");
    let bad_map = js_sys::Map::new();
    bad_map.set(&s("ok:4"), &s("v"));
    bad_map.set(&json("7"), &s("number key"));
    assert_eq!(fails(&store, "batchPut", &[bad_map.into()]).await, "LSMKV_INVALID_KEY");
    for key in ["ok:1", "ok:2", "ok:3", "ok:4"] {
        assert!(ok(&store, "get", &[s(key)]).await.is_undefined(), "{key} of a refused batch was written");
    }
    ok(&store, "close", &[]).await;
}

#[wasm_bindgen_test]
async fn values_come_back_as_the_type_that_was_put() {
    let store = open("types", r#"{"backend":"memory"}"#).await;
    let bytes: JsValue = Uint8Array::from(&[0u8, 255, 7][..]).into();
    ok(&store, "put", &[s("bytes"), bytes]).await;
    let got = ok(&store, "get", &[s("bytes")]).await;
    assert_eq!(got.dyn_into::<Uint8Array>().expect("a Uint8Array").to_vec(), vec![0, 255, 7]);
    for text in [r#""text""#, "42.5", "true", "null", r#"[1,"x",{"y":null}]"#, r#"{"nested":{"list":[1,2]}}"#] {
        ok(&store, "put", &[s("v"), json(text)]).await;
        let got = ok(&store, "get", &[s("v")]).await;
        assert_eq!(String::from(JSON::stringify(&got).unwrap()), text);
    }
    // Binary keys, including 0xFF bytes, sort bytewise after text keys.
    let key: JsValue = Uint8Array::from(&[0xffu8, 0xff][..]).into();
    ok(&store, "put", &[key.clone(), s("high")]).await;
    assert_eq!(ok(&store, "get", &[key]).await, s("high"));
    let keys = ok(&store, "keys", &[json(r#"{"keyEncoding":"binary"}"#)]).await;
    let last: Uint8Array = Array::from(&keys).pop().dyn_into().unwrap();
    assert_eq!(last.to_vec(), vec![0xff, 0xff]);
    ok(&store, "close", &[]).await;
}

#[wasm_bindgen_test]
async fn bad_input_is_a_coded_error_never_a_panic() {
    let store = open("bad-input", r#"{"backend":"memory"}"#).await;
    assert_eq!(fails(&store, "put", &[json("12"), s("v")]).await, "LSMKV_INVALID_KEY");
    assert_eq!(fails(&store, "put", &[s(""), s("v")]).await, "LSMKV_INVALID_KEY");
    assert_eq!(fails(&store, "put", &[s("k"), JsValue::UNDEFINED]).await, "LSMKV_INVALID_VALUE");
    assert_eq!(fails(&store, "put", &[s("k"), JsValue::from_f64(f64::NAN)]).await, "LSMKV_INVALID_VALUE");
    let date = js_sys::Date::new_0();
    assert_eq!(fails(&store, "put", &[s("k"), date.into()]).await, "LSMKV_INVALID_VALUE");
    assert_eq!(fails(&store, "range", &[json(r#"{"gt":"a","gte":"b"}"#)]).await, "LSMKV_INVALID_ARGUMENT");
    assert_eq!(fails(&store, "range", &[json(r#"{"from":"a"}"#)]).await, "LSMKV_INVALID_ARGUMENT");
    assert_eq!(fails(&store, "batch", &[json(r#"[{"type":"merge","key":"a"}]"#)]).await, "LSMKV_INVALID_ARGUMENT");
    assert_eq!(fails(&store, "range", &[json(r#"{"limit":"ten"}"#)]).await, "LSMKV_INVALID_ARGUMENT");
    assert_eq!(fails(&store, "inspectTable", &[JsValue::from_f64(999999.0)]).await, "LSMKV_INVALID_ARGUMENT");
    // Not errors (README's table): an empty batch, a reversed range.
    ok(&store, "batchPut", &[json("{}")]).await;
    ok(&store, "put", &[s("m"), s("v")]).await;
    let reversed = ok(&store, "range", &[json(r#"{"gte":"z","lt":"a"}"#)]).await;
    assert_eq!(Array::from(&reversed).length(), 0);
    assert_eq!(open_error("x", r#"{"backend":"memory","memtableMaxEntries":0}"#).await, "LSMKV_INVALID_OPTIONS");
    assert_eq!(open_error("x", r#"{"backend":"memory","memtableMaxEntrys":10}"#).await, "LSMKV_INVALID_OPTIONS");
    assert_eq!(open_error("x", r#"{"backend":"floppy"}"#).await, "LSMKV_INVALID_OPTIONS");
    assert_eq!(open_error("", r#"{"backend":"memory"}"#).await, "LSMKV_INVALID_ARGUMENT");
    ok(&store, "close", &[]).await;
    assert_eq!(fails(&store, "get", &[s("a")]).await, "LSMKV_CLOSED");
    assert_eq!(fails(&store, "put", &[s("a"), s("b")]).await, "LSMKV_CLOSED");
    ok(&store, "close", &[]).await; // twice is fine
}

#[wasm_bindgen_test]
async fn teaching_caps_are_visible_in_stats() {
    // 30/30: the memtable never holds more than 30 entries, nor any table.
    let store = open(&unique("caps"), idb_options()).await;
    for i in 0..200 {
        ok(&store, "put", &[s(&format!("key{i:04}")), JsValue::from_f64(i as f64)]).await;
    }
    let stats = ok(&store, "stats", &[]).await;
    assert_eq!(num(&stats, "memtableMaxEntries"), 30.0);
    assert_eq!(num(&stats, "sstableMaxEntries"), 30.0);
    assert!(num(&stats, "memtableEntries") <= 30.0);
    assert!(num(&stats, "flushes") >= 6.0, "200 puts flush a 30-entry memtable at least 6 times");
    let levels = Array::from(&field(&stats, "levels"));
    let mut tables = 0;
    for level in levels.iter() {
        for table in Array::from(&field(&level, "tables")).iter() {
            tables += 1;
            assert!(num(&table, "entries") <= 30.0, "table over the 30-entry cap");
        }
    }
    assert!(tables >= 2);
    ok(&store, "close", &[]).await;
}

#[wasm_bindgen_test]
async fn data_survives_close_and_reopen_on_indexeddb() {
    // Acknowledged writes — in the memtable/WAL, flushed, and compacted —
    // all come back after a reopen.
    let name = unique("reopen");
    let store = open(&name, idb_options()).await;
    for i in 0..100 {
        ok(&store, "put", &[s(&format!("k{i:03}")), s(&format!("v{i}"))]).await;
    }
    ok(&store, "compact", &[]).await;
    for i in 0..10 {
        ok(&store, "put", &[s(&format!("k{i:03}")), s("new")]).await;
    }
    ok(&store, "delete", &[s("k050")]).await;
    let before = JSON::stringify(&ok(&store, "range", &[]).await).unwrap();
    ok(&store, "close", &[]).await;
    let store = open(&name, idb_options()).await;
    let after = JSON::stringify(&ok(&store, "range", &[]).await).unwrap();
    assert_eq!(before, after);
    assert_eq!(ok(&store, "get", &[s("k005")]).await, s("new"));
    assert!(ok(&store, "get", &[s("k050")]).await.is_undefined());
    ok(&store, "close", &[]).await;
    settle(Store::destroy(s(&name), None)).await.expect("destroyed");
    let store = open(&name, idb_options()).await;
    assert_eq!(Array::from(&ok(&store, "keys", &[]).await).length(), 0, "destroy removed the data");
    ok(&store, "close", &[]).await;
}

#[wasm_bindgen_test]
async fn writes_in_one_tick_share_one_transaction() {
    // Group commit: 50 puts issued without awaiting cost one or two
    // transactions, not fifty.
    let store = open(&unique("group"), r#"{"backend":"indexeddb"}"#).await;
    let before = transactions(&store).await;
    let put: Function = Reflect::get(&store, &"put".into()).unwrap().unchecked_into();
    let pending: Array =
        (0..50).map(|i| put.call2(&store, &s(&format!("g{i:02}")), &JsValue::from_f64(i as f64)).unwrap()).collect();
    settle(Promise::all(&pending)).await.expect("all puts resolve");
    let used = transactions(&store).await - before;
    assert!((1.0..=2.0).contains(&used), "50 same-tick puts used {used} transactions");
    assert_eq!(Array::from(&ok(&store, "keys", &[]).await).length(), 50);
    ok(&store, "close", &[]).await;
}

#[wasm_bindgen_test]
async fn a_wal_append_writes_only_the_new_bytes_and_reopen_coalesces() {
    // Appending to the WAL must not rewrite the file: one small put writes
    // about its own size, however much the WAL already holds.
    let name = unique("append");
    let store = open(&name, r#"{"backend":"indexeddb"}"#).await;
    for i in 0..200 {
        ok(&store, "put", &[s(&format!("w{i:03}")), s("0123456789")]).await;
    }
    let bytes = |h: &JsValue| num(h, "indexeddb.bytesWritten");
    let before = bytes(&ok(&store, "health", &[]).await);
    ok(&store, "put", &[s("w999"), s("0123456789")]).await;
    let written = bytes(&ok(&store, "health", &[]).await) - before;
    assert!(written > 0.0 && written < 100.0, "one put wrote {written} bytes");
    ok(&store, "close", &[]).await;
    // 201 one-put commits left the WAL in 201 chunks: the next open rewrites
    // it as one (off the write path) and loses nothing.
    let store = open(&name, r#"{"backend":"indexeddb"}"#).await;
    let health = ok(&store, "health", &[]).await;
    assert!(num(&health, "indexeddb.coalescedFiles") >= 1.0, "the WAL was coalesced at open");
    assert_eq!(Array::from(&ok(&store, "keys", &[]).await).length(), 201);
    ok(&store, "close", &[]).await;
    let store = open(&name, r#"{"backend":"indexeddb"}"#).await;
    assert_eq!(num(&ok(&store, "health", &[]).await, "indexeddb.coalescedFiles"), 0.0, "nothing left to coalesce");
    ok(&store, "close", &[]).await;
}

#[wasm_bindgen_test]
async fn an_awaited_put_is_one_request_in_one_transaction() {
    // The common commit writes the new WAL chunk and nothing else: no file
    // record (lengths come from the chunks), so one put, one request.
    let name = unique("one-request");
    let store = open(&name, r#"{"backend":"indexeddb"}"#).await;
    ok(&store, "put", &[s("first"), s("1")]).await;
    let before = ok(&store, "health", &[]).await;
    ok(&store, "put", &[s("second"), s("2")]).await;
    let after = ok(&store, "health", &[]).await;
    assert_eq!(num(&after, "indexeddb.transactions") - num(&before, "indexeddb.transactions"), 1.0);
    assert_eq!(num(&after, "indexeddb.requests") - num(&before, "indexeddb.requests"), 1.0);
    ok(&store, "close", &[]).await;
    let store = open(&name, r#"{"backend":"indexeddb"}"#).await;
    assert_eq!(ok(&store, "get", &[s("second")]).await, s("2"));
    ok(&store, "close", &[]).await;
}

#[wasm_bindgen_test]
async fn an_aborted_transaction_rejects_and_reopen_shows_acknowledged_state() {
    let name = unique("abort");
    let store = open(&name, idb_options()).await;
    ok(&store, "put", &[s("kept"), s("yes")]).await;
    Reflect::get(&store, &"debugInjectFault".into())
        .unwrap()
        .unchecked_into::<Function>()
        .call1(&store, &s("abort"))
        .unwrap();
    assert_eq!(fails(&store, "put", &[s("lost"), s("no")]).await, "LSMKV_IO");
    // The engine holds the unpersisted write: the store refuses to go on.
    assert_eq!(fails(&store, "put", &[s("after"), s("no")]).await, "LSMKV_READ_ONLY");
    assert_eq!(fails(&store, "get", &[s("kept")]).await, "LSMKV_IO");
    let health = ok(&store, "health", &[]).await;
    assert_eq!(field(&health, "status"), s("readOnly"));
    assert!(field(&health, "indexeddb.failure").is_string());
    ok(&store, "close", &[]).await;
    let store = open(&name, idb_options()).await;
    assert_eq!(ok(&store, "get", &[s("kept")]).await, s("yes"));
    assert!(ok(&store, "get", &[s("lost")]).await.is_undefined(), "the rejected write is not there");
    ok(&store, "put", &[s("again"), s("fine")]).await;
    ok(&store, "close", &[]).await;
}

#[wasm_bindgen_test]
async fn quota_exhaustion_rejects_with_lsmkv_quota() {
    let name = unique("quota");
    let store = open(&name, idb_options()).await;
    ok(&store, "put", &[s("a"), s("1")]).await;
    let inject: Function = Reflect::get(&store, &"debugInjectFault".into()).unwrap().unchecked_into();
    inject.call1(&store, &s("quota")).unwrap();
    assert_eq!(fails(&store, "put", &[s("b"), s("2")]).await, "LSMKV_QUOTA");
    ok(&store, "close", &[]).await;
    let store = open(&name, idb_options()).await;
    assert_eq!(JSON::stringify(&ok(&store, "keys", &[]).await).unwrap(), "[\"a\"]");
    ok(&store, "close", &[]).await;
}

#[wasm_bindgen_test]
async fn a_lost_connection_is_reopened_and_the_write_retried() {
    let name = unique("lost");
    let store = open(&name, idb_options()).await;
    let inject: Function = Reflect::get(&store, &"debugInjectFault".into()).unwrap().unchecked_into();
    inject.call1(&store, &s("connectionLost")).unwrap();
    ok(&store, "put", &[s("survives"), s("yes")]).await;
    assert_eq!(num(&ok(&store, "health", &[]).await, "indexeddb.reconnects"), 1.0);
    ok(&store, "close", &[]).await;
    let store = open(&name, idb_options()).await;
    assert_eq!(ok(&store, "get", &[s("survives")]).await, s("yes"));
    ok(&store, "close", &[]).await;
}

#[wasm_bindgen_test]
async fn a_second_opener_is_locked_out() {
    let name = unique("locked");
    let first = open(&name, idb_options()).await;
    assert_eq!(open_error(&name, idb_options()).await, "LSMKV_LOCKED");
    assert_eq!(error_code(&settle(Store::destroy(s(&name), None)).await.unwrap_err()), "LSMKV_LOCKED");
    // A waiting opener gets the store once the first closes.
    let waiting = Store::open(s(&name), Some(json(r#"{"backend":"indexeddb","lock":"wait"}"#)));
    ok(&first, "put", &[s("from"), s("first")]).await;
    ok(&first, "close", &[]).await;
    let second = settle(waiting).await.expect("the waiter opens after close");
    assert_eq!(ok(&second, "get", &[s("from")]).await, s("first"));
    ok(&second, "close", &[]).await;
}

#[wasm_bindgen_test]
async fn snapshots_and_iterators_read_consistently() {
    let store = open("handles", r#"{"backend":"memory","preset":"teaching"}"#).await;
    for i in 0..50 {
        ok(&store, "put", &[s(&format!("i{i:02}")), JsValue::from_f64(i as f64)]).await;
    }
    let snapshot = ok(&store, "snapshot", &[]).await;
    ok(&store, "put", &[s("i00"), s("changed")]).await;
    ok(&store, "delete", &[s("i01")]).await;
    let options = js_sys::Object::new();
    Reflect::set(&options, &"snapshot".into(), &snapshot).unwrap();
    assert_eq!(ok(&store, "get", &[s("i00"), options.clone().into()]).await, JsValue::from_f64(0.0));
    assert_eq!(Array::from(&ok(&store, "keys", &[options.clone().into()]).await).length(), 50);
    assert_eq!(ok(&store, "get", &[s("i00")]).await, s("changed"));
    let iterator = ok(&store, "iterator", &[json(r#"{"gte":"i10"}"#)]).await;
    let batch = Array::from(&ok(&iterator, "next", &[JsValue::from_f64(5.0)]).await);
    assert_eq!(batch.length(), 5);
    assert_eq!(Array::from(&batch.get(0)).get(0), s("i10"));
    ok(&iterator, "seek", &[s("i45")]).await;
    let rest = Array::from(&ok(&iterator, "next", &[JsValue::from_f64(100.0)]).await);
    assert_eq!(rest.length(), 5);
    assert_eq!(Array::from(&ok(&iterator, "next", &[]).await).length(), 0, "[] at the end");
    Reflect::get(&snapshot, &"release".into()).unwrap().unchecked_into::<Function>().call0(&snapshot).unwrap();
    assert_eq!(fails(&store, "get", &[s("i00"), options.into()]).await, "LSMKV_INVALID_ARGUMENT");
    ok(&store, "close", &[]).await;
}

#[wasm_bindgen_test]
async fn get_sync_reads_what_was_called_before_it_on_memory_and_indexeddb() {
    for options in [r#"{"backend":"memory","preset":"teaching"}"#, idb_options()] {
        let store = open(&unique("get-sync"), options).await;
        let get = |key: &str| call_sync(&store, "getSync", &[s(key)]).unwrap_or_else(|e| panic!("{}", describe(&e)));
        // Not awaited: the write reached the engine when it was called.
        let pending = start(&store, "put", &[s("a"), json(r#"{"n":1}"#)]);
        assert_eq!(JSON::stringify(&get("a")).unwrap(), "{\"n\":1}", "{options}");
        assert!(get("zz").is_undefined(), "absent is undefined");
        settle(pending).await.expect("the put resolves");
        for i in 0..40 {
            ok(&store, "put", &[s(&format!("k{i:02}")), JsValue::from(i)]).await;
        }
        assert_eq!(get("k07"), JsValue::from(7), "found in a table after flushes ({options})");
        // At a snapshot taken synchronously.
        let snapshot = call_sync(&store, "snapshotSync", &[]).expect("snapshotSync");
        ok(&store, "put", &[s("k07"), s("changed")]).await;
        let at = js_sys::Object::new();
        Reflect::set(&at, &"snapshot".into(), &snapshot).unwrap();
        assert_eq!(call_sync(&store, "getSync", &[s("k07"), at.clone().into()]).unwrap(), JsValue::from(7));
        assert_eq!(get("k07"), s("changed"));
        Reflect::get(&snapshot, &"release".into()).unwrap().unchecked_into::<Function>().call0(&snapshot).unwrap();
        assert_eq!(throws(&store, "getSync", &[s("k07"), at.into()]), "LSMKV_INVALID_ARGUMENT");
        assert_eq!(throws(&store, "getSync", &[s("")]), "LSMKV_INVALID_KEY");
        assert_eq!(throws(&store, "getSync", &[json("12")]), "LSMKV_INVALID_KEY");
        ok(&store, "close", &[]).await;
        assert_eq!(throws(&store, "getSync", &[s("a")]), "LSMKV_CLOSED");
        assert_eq!(throws(&store, "snapshotSync", &[]), "LSMKV_CLOSED");
    }
}

#[wasm_bindgen_test]
async fn reports_have_their_documented_shapes() {
    let store = open(&unique("reports"), idb_options()).await;
    for i in 0..40 {
        ok(&store, "put", &[s(&format!("r{i:02}")), s("v")]).await;
    }
    let flushed = ok(&store, "flush", &[]).await;
    assert!(flushed.is_null() || field(&flushed, "outputs").is_object());
    let trace = ok(&store, "explainGet", &[s("r05")]).await;
    assert_eq!(field(&trace, "value"), s("v"));
    assert!(Array::from(&field(&trace, "probes")).length() >= 1);
    let stats = ok(&store, "stats", &[]).await;
    let l0 = Array::from(&field(&stats, "levels")).get(0);
    let table = Array::from(&field(&l0, "tables")).get(0);
    let inspection = ok(&store, "inspectTable", &[field(&table, "number")]).await;
    assert!(num(&inspection, "entryCount") >= 1.0);
    let entry = Array::from(&field(&inspection, "entries")).get(0);
    assert_eq!(field(&entry, "value"), s("v"));
    let page = ok(&store, "events", &[JsValue::from_f64(0.0)]).await;
    let first = Array::from(&field(&page, "events")).get(0);
    assert_eq!(field(&first, "type"), s("opened"));
    let space = ok(&store, "space", &[]).await;
    assert_eq!(num(&space, "liveKeys"), 40.0);
    let health = ok(&store, "health", &[]).await;
    assert_eq!(field(&health, "status"), s("ok"));
    assert_eq!(field(&health, "backend"), s("indexeddb"));
    assert!(field(&health, "storage").is_object(), "navigator.storage.estimate() is reported");
    ok(&store, "compactStep", &[]).await;
    ok(&store, "close", &[]).await;
}

#[wasm_bindgen_test]
async fn random_operations_match_a_btreemap_model_across_reopens() {
    // Through the JS API on IndexedDB (teaching caps, so flushes and
    // compactions happen); reopens in between lose nothing.
    for seed in [7u64, 1234] {
        btreemap_model(&unique("model"), idb_options(), seed, 400, &["close"]).await;
    }
}

#[wasm_bindgen_test]
async fn the_model_holds_with_compressed_partitioned_tables() {
    // Production's table format at test scale in the browser: LZ4 data
    // blocks and tables of several index and filter partitions, on IndexedDB.
    let options = r#"{"backend":"indexeddb","preset":"teaching","compression":"lz4","blockSize":128}"#;
    btreemap_model(&unique("model-lz4"), options, 99, 400, &["close"]).await;
    assert_eq!(open_error("x", r#"{"backend":"memory","compression":"zstd"}"#).await, "LSMKV_INVALID_OPTIONS");
}
