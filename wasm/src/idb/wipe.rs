//! Wipe detection for the IndexedDB backend.
//!
//! When Chromium finds its IndexedDB files damaged at open (a browser killed
//! mid-write leaves a torn log record in roughly 2–3% of kills on this kind
//! of machine), it logs "IndexedDB recovering from a corrupted (and deleted)
//! database" and deletes the origin's IndexedDB data. The store cannot
//! prevent that; it can refuse to pretend nothing happened.
//!
//! Each IndexedDB store keeps a marker *outside* IndexedDB: an empty file
//! `lsmkv-idb-markers/<store>` in the origin's OPFS (a separate part of the
//! profile that the IndexedDB recovery does not touch), or, where OPFS is
//! missing, a `localStorage` key. `open` creates the marker once the store
//! is on disk (its first manifest committed) and before the store is handed
//! out, so every acknowledged write happened with the marker in place. At a
//! later open, a database that holds no files at all while the marker says
//! the store existed was deleted outside lsmkv (a store that was ever opened
//! holds at least its manifest): `health().wipe` reports it, the
//! `lsmkv-wipe` event is dispatched on `globalThis`, and a warning goes to
//! the console.
//!
//! The signal is the data itself, not whether IndexedDB says it created the
//! database: after a corruption, Chromium's first IndexedDB call of the
//! session (even `indexedDB.databases()`) fails with "Internal error
//! opening backing store" while it deletes the data, and what it reports
//! afterwards depends on which call came first.
//! `Store.destroy` removes the marker first, so deleting a store on purpose
//! is never reported. Clearing site data removes the marker too, and is
//! (rightly) not reported either.

use js_sys::{Array, Promise};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::js::error::JsResult;
use crate::opfs::slots::directory_name;

const MARKERS: &str = "lsmkv-idb-markers";

#[wasm_bindgen(module = "/js/opfs-files.js")]
extern "C" {
    /// `action`: 'check' | 'create' | 'remove'. Resolves to whether the
    /// marker exists (or existed), or `null` without OPFS.
    fn lsmkv_opfs_marker(path: &Array, name: &str, action: &str) -> Promise;
}

#[wasm_bindgen(module = "/js/browser.js")]
extern "C" {
    fn lsmkv_local_marker(key: &str, action: &str) -> JsValue;
    fn lsmkv_announce_wipe(detail: &JsValue);
}

/// What the wipe check found at open.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Wipe {
    /// Where the marker lives: `'opfs'`, `'localStorage'`, or
    /// `'unavailable'` (wipes cannot be detected here).
    pub detection: &'static str,
    /// Set when the database was deleted since the last session.
    pub detected: Option<WipeReport>,
    /// The marker existed at open (else `mark` creates it).
    #[serde(skip)]
    marked: bool,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WipeReport {
    pub store: String,
    pub database: String,
    /// `Date.now()` at the open that found it.
    pub detected_at: f64,
    pub message: String,
}

fn local_key(name: &str) -> String {
    format!("lsmkv-idb-marker:{name}")
}

/// Runs `action` on store `name`'s marker: `Some(existed)`, or `None`
/// where there is nowhere to keep one (or it failed).
async fn marker(name: &str, action: &str) -> (Option<bool>, &'static str) {
    let path = Array::of1(&JsValue::from_str(MARKERS));
    match JsFuture::from(lsmkv_opfs_marker(&path, &directory_name(name), action)).await {
        Ok(v) if v.as_bool().is_some() => return (v.as_bool(), "opfs"),
        Ok(_) => {}
        // OPFS exists but failed (a private mode may refuse it): fall back.
        Err(_) => {}
    }
    match lsmkv_local_marker(&local_key(name), action).as_bool() {
        Some(existed) => (Some(existed), "localStorage"),
        None => (None, "unavailable"),
    }
}

/// At open, once the database is loaded and before the engine opens it:
/// compares the marker with whether the database holds no files (`empty`).
/// Never fails the open: without a place for the marker, detection is
/// reported as unavailable.
pub async fn detect(name: &str, database: &str, empty: bool) -> Wipe {
    let (exists, detection) = marker(name, "check").await;
    let Some(exists) = exists else { return Wipe { detection, detected: None, marked: false } };
    if !exists || !empty {
        return Wipe { detection, detected: None, marked: exists };
    }
    let message = format!(
        "IndexedDB database '{database}' of store '{name}' was deleted since the store was last opened \
         (the browser discards an origin's IndexedDB data when it finds it damaged, e.g. after a crash, \
         or it was deleted outside lsmkv): the store starts empty"
    );
    let detected = WipeReport {
        store: name.to_string(),
        database: database.to_string(),
        detected_at: js_sys::Date::now(),
        message,
    };
    Wipe { detection, detected: Some(detected), marked: true }
}

/// Once the store is on disk: creates the marker if it was missing.
pub async fn mark(name: &str, wipe: &mut Wipe) {
    if wipe.marked || wipe.detection == "unavailable" {
        return;
    }
    let (made, detection) = marker(name, "create").await;
    wipe.marked = made.is_some();
    wipe.detection = if made.is_some() { detection } else { "unavailable" };
}

impl Wipe {
    /// Dispatches `lsmkv-wipe` and warns on the console, if a wipe was found.
    pub fn announce(&self) {
        if let Some(report) = &self.detected {
            if let Ok(detail) = crate::js::report::to_js(report) {
                lsmkv_announce_wipe(&detail);
            }
        }
    }
}

/// Removes store `name`'s marker (before `Store.destroy` deletes it).
pub async fn forget(name: &str) -> JsResult<()> {
    marker(name, "remove").await;
    Ok(())
}
