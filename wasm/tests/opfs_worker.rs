//! The OPFS backend where it runs: a dedicated worker in headless Chromium,
//! on real OPFS sync access handles. The core's storage conformance suite,
//! reloads, the file pool growing and the repair of what a crash leaves.
#![cfg(target_arch = "wasm32")]

use std::collections::BTreeMap;

use js_sys::{Array, Reflect, JSON};
use lsmkv::Storage;
use lsmkv_wasm::js::options::DurabilityMode;
use lsmkv_wasm::opfs::{self, Call, OpfsBackend};
use lsmkv_wasm::Store;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

mod common;
use common::{ok, s, unique};

/// A call that writes nothing (a flush, say): room for rewriting what is live.
const NOTHING: Call = Call::Write { entries: 0, bytes: 0 };

fn contents(storage: &dyn Storage) -> BTreeMap<String, Vec<u8>> {
    storage.list().unwrap().into_iter().map(|n| (n.clone(), storage.read_all(&n).unwrap())).collect()
}

async fn open(name: &str) -> OpfsBackend {
    match OpfsBackend::open(name, DurabilityMode::Strict, &lsmkv::Options::teaching()).await {
        Ok(backend) => backend,
        Err(failure) => panic!("OPFS backend opens: {failure:?}"),
    }
}

#[wasm_bindgen_test]
async fn conformance_suite_passes_on_opfs_and_a_reopen_sees_the_same_files() {
    let name = unique("conformance");
    let backend = open(&name).await;
    backend.prepare(NOTHING).await.expect("the pool fills");
    let files = backend.files();
    lsmkv::testing::conformance::run_all(files.as_ref());
    lsmkv::testing::write_file(files.as_ref(), "left-behind", b"bytes that must survive").unwrap();
    lsmkv::testing::write_file(files.as_ref(), "CURRENT.tmp", b"new").unwrap();
    files.create("CURRENT").unwrap();
    files.append("CURRENT", b"old").unwrap();
    files.rename("CURRENT.tmp", "CURRENT").unwrap();
    let before = contents(files.as_ref());
    backend.close();

    let reopened = open(&name).await;
    let files = reopened.files();
    assert_eq!(contents(files.as_ref()), before, "a reopen finds exactly the files left");
    files.remove("CURRENT").unwrap();
    files.remove("left-behind").unwrap();
    lsmkv::testing::conformance::run_all(files.as_ref());
    reopened.close();
    opfs::destroy(&name).await.expect("destroy");
}

#[wasm_bindgen_test]
async fn the_pool_grows_before_calls_that_need_it() {
    let name = unique("pool");
    let backend = open(&name).await;
    backend.prepare(NOTHING).await.unwrap();
    let files = backend.files();
    let first = files.with(|p| p.slot_count());
    assert!(first >= 32, "a new store gets free slots: {first}");
    // Many live files: the next prepare must add room for compacting them all.
    for i in 0..40 {
        files.create(&format!("{i:06}.sst")).unwrap();
    }
    let put = Call::Write { entries: 1, bytes: 10 };
    assert!(!backend.ready(put));
    backend.prepare(put).await.unwrap();
    assert!(backend.ready(put));
    let (live, free) = files.with(|p| (p.live_files(), p.free_slots()));
    assert_eq!(live, 40);
    assert!(free >= 2 * 40 + 32, "free slots {free}");
    backend.close();
    // A reopen counts every slot file, used or free.
    let reopened = open(&name).await;
    assert_eq!(reopened.files().with(|p| p.live_files()), 40);
    reopened.close();
    opfs::destroy(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_second_opener_is_locked_out_by_the_handles() {
    let name = unique("locked");
    let backend = open(&name).await;
    backend.prepare(NOTHING).await.unwrap();
    let failure = match OpfsBackend::open(&name, DurabilityMode::Strict, &lsmkv::Options::teaching()).await {
        Ok(_) => panic!("a second open of the same files must fail"),
        Err(failure) => failure,
    };
    assert_eq!(failure.code, "LSMKV_LOCKED", "{failure:?}");
    backend.close();
    open(&name).await.close();
    opfs::destroy(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_store_in_a_worker_opens_opfs_directly_and_recovers_after_a_crash() {
    // In a dedicated worker, Store.open({ backend: 'opfs' }) runs the engine
    // right here (no second worker).
    let name = unique("store");
    let options = JSON::parse(r#"{"backend":"opfs","preset":"teaching"}"#).unwrap();
    let store = JsFuture::from(Store::open(s(&name), Some(options.clone()))).await.expect("opens");
    assert_eq!(Reflect::get(&store, &"backend".into()).unwrap(), s("opfs"));
    for i in 0..200 {
        ok(&store, "put", &[s(&format!("k{i:04}")), JsValue::from(i)]).await;
    }
    let health = ok(&store, "health", &[]).await;
    let opfs = Reflect::get(&health, &"opfs".into()).unwrap();
    assert!(Reflect::get(&opfs, &"files".into()).unwrap().as_f64().unwrap() >= 3.0);
    assert!(Reflect::get(&opfs, &"walSyncs".into()).unwrap().as_f64().unwrap() >= 1.0);
    // A crash: nothing flushed or closed beyond what each put made durable.
    ok(&store, "debugCrash", &[]).await;
    let store = JsFuture::from(Store::open(s(&name), Some(options))).await.expect("reopens");
    for i in [0, 57, 199] {
        assert_eq!(ok(&store, "get", &[s(&format!("k{i:04}"))]).await, JsValue::from(i));
    }
    let keys: Array = ok(&store, "keys", &[]).await.unchecked_into();
    assert_eq!(keys.length(), 200);
    ok(&store, "close", &[]).await;
    JsFuture::from(Store::destroy(s(&name), Some(JSON::parse(r#"{"backend":"opfs"}"#).unwrap()))).await.unwrap();
}
