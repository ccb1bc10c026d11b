//! The page side of a store running in a worker (the OPFS backend).
//!
//! OPFS sync access handles exist only in dedicated workers, so
//! `Store.open(name, { backend: 'opfs' })` in a page starts a worker (the
//! `js/opfs.js` snippet, which ships with the package), opens the store
//! there, and returns a `Store` whose methods forward each call through the
//! proxy of `js/opfs-proxy.js`: arguments are checked here first, exactly as
//! a local store checks them (same errors, at call time), then copied and
//! sent, a write with its `Weight`; every call of one tick travels in one
//! message, so the worker starts them together and their writes share one
//! flush. Results come back with their `Uint8Array`s transferred, not copied.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;

use js_sys::{Array, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::js::args;
use crate::js::codec::{key_bytes, KeyEncoding};
use crate::js::error::{code, describe_js, invalid_argument, JsFailure, JsResult};
use crate::ops::{Kind, Op, Weigh};
use crate::promise::rejected;

#[wasm_bindgen(module = "/js/opfs-proxy.js")]
extern "C" {
    /// The proxy to one worker (see `js/opfs-proxy.js`).
    #[wasm_bindgen(js_name = LsmkvRemote)]
    pub type RemoteHandle;
    #[wasm_bindgen(method)]
    fn call(this: &RemoteHandle, op: &str, args: Array, weight: JsValue) -> Promise;
    #[wasm_bindgen(method)]
    fn post(this: &RemoteHandle, op: &str, args: Array);
    #[wasm_bindgen(method)]
    fn terminate(this: &RemoteHandle, message: &str);
    /// Starts the worker script at `url`; throws a coded error if it cannot.
    #[wasm_bindgen(catch)]
    fn lsmkv_opfs_spawn(url: &str) -> Result<RemoteHandle, JsValue>;
    /// The URL of the glue module that called into wasm, from the stack.
    pub fn lsmkv_glue_url() -> Option<String>;
    fn lsmkv_opfs_spawn_capable() -> bool;
}

#[wasm_bindgen(module = "/js/opfs.js")]
extern "C" {
    /// The URL of the worker script (`js/opfs.js` beside the glue).
    fn lsmkv_opfs_worker_url() -> String;
}

pub struct Remote {
    handle: RemoteHandle,
    name: String,
    encoding: KeyEncoding,
    closed: Cell<bool>,
    /// Ids of this store's live snapshots (the worker holds the snapshots).
    snapshots: RefCell<HashSet<u32>>,
}

impl Remote {
    /// Starts the worker and opens store `name` in it with `options` (the
    /// caller's object, already validated). `glue` is the URL of the
    /// package's JS module, which the worker imports.
    pub async fn open(name: &str, options: &JsValue, glue: Option<String>, encoding: KeyEncoding) -> JsResult<Remote> {
        if !lsmkv_opfs_spawn_capable() {
            return Err(JsFailure::new(
                code::UNSUPPORTED,
                "OPFS is not available here (it needs Worker and navigator.storage.getDirectory in a secure context)",
            ));
        }
        let glue = glue.ok_or_else(|| {
            JsFailure::new(
                code::UNSUPPORTED,
                "cannot tell the URL of lsmkv's JS module for the OPFS worker; pass opfsGlueUrl (the URL of lsmkv_wasm.js)",
            )
        })?;
        // The compiled module goes to the worker, so it neither fetches nor
        // compiles it again, wherever the page loaded it from. Without the
        // feature (`--target bundler` builds, where wasm-bindgen has no
        // `module()`), the worker's glue fetches its .wasm beside itself.
        #[cfg(feature = "transfer-module")]
        let module = wasm_bindgen::module();
        #[cfg(not(feature = "transfer-module"))]
        let module = JsValue::UNDEFINED;
        let handle = lsmkv_opfs_spawn(&lsmkv_opfs_worker_url()).map_err(|e| failure_from_js(&e))?;
        let args = [JsValue::from_str(&glue), module, JsValue::from_str(name), options.clone()];
        if let Err(error) =
            JsFuture::from(handle.call(Op::Open.name(), args.iter().collect(), JsValue::UNDEFINED)).await
        {
            let failure = failure_from_js(&error);
            handle.terminate(&failure.message);
            return Err(failure);
        }
        Ok(Remote {
            handle,
            name: name.to_string(),
            encoding,
            closed: Cell::new(false),
            snapshots: RefCell::new(HashSet::new()),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn encoding(&self) -> KeyEncoding {
        self.encoding
    }

    pub fn is_closed(&self) -> bool {
        self.closed.get()
    }

    fn send(&self, op: Op, args: &[JsValue], weight: JsValue) -> Promise {
        if self.closed.get() {
            return rejected(JsFailure::new(code::CLOSED, format!("store '{}' is closed", self.name)));
        }
        self.handle.call(op.name(), args.iter().collect(), weight)
    }

    /// Sends `op(...args)`; the promise settles with the worker's reply.
    pub fn call(&self, op: Op, args: &[JsValue]) -> Promise {
        debug_assert!(op.kind() != Kind::Write, "writes are sent with their weight");
        self.send(op, args, JsValue::UNDEFINED)
    }

    /// `call`, awaited, for replies the page side turns into handles.
    pub async fn request(&self, op: Op, args: &[JsValue]) -> JsResult<JsValue> {
        JsFuture::from(self.call(op, args)).await.map_err(|e| failure_from_js(&e))
    }

    /// Sends `op(...args)` if the arguments parsed, else rejects with why not.
    pub fn forward<A>(&self, op: Op, parsed: &JsResult<A>, args: &[JsValue]) -> Promise {
        match parsed {
            Ok(_) => self.call(op, args),
            Err(failure) => rejected(failure.clone()),
        }
    }

    /// `forward` for a write: sent with the weight of its parsed arguments.
    pub fn forward_write<A: Weigh>(&self, op: Op, parsed: &JsResult<A>, args: &[JsValue]) -> Promise {
        match parsed {
            Ok(parsed) => self.send(op, args, parsed.weight().to_js()),
            Err(failure) => rejected(failure.clone()),
        }
    }

    /// `get(key, options)`: checked here, its snapshot sent as `{ id }`.
    pub fn get(&self, key: &JsValue, options: &JsValue) -> Promise {
        let parsed = key_bytes(key, "key").and_then(|_| {
            self.read_options(options, |rest| args::get_options(rest, |_| unreachable_snapshot()).map(|_| ()))
        });
        match parsed {
            Ok(options) => self.call(Op::Get, &[key.clone(), options]),
            Err(failure) => rejected(failure),
        }
    }

    /// Range options checked as a local store checks them, their snapshot
    /// sent as `{ id }` (`range`, `keys`, `iterator`).
    pub fn range_options(&self, options: &JsValue) -> JsResult<JsValue> {
        self.read_options(options, |rest| args::range(rest, self.encoding, |_| unreachable_snapshot()).map(|_| ()))
    }

    /// `range` or `keys`.
    pub fn range(&self, op: Op, options: &JsValue) -> Promise {
        match self.range_options(options) {
            Ok(options) => self.call(op, &[options]),
            Err(failure) => rejected(failure),
        }
    }

    /// Read options with their `snapshot` (a `Snapshot` of this store)
    /// replaced by `{ id }` for the worker; `check` validates the rest as a
    /// local store would.
    fn read_options(&self, options: &JsValue, check: impl FnOnce(&JsValue) -> JsResult<()>) -> JsResult<JsValue> {
        if !options.is_object() {
            check(options)?;
            return Ok(options.clone());
        }
        let copy = Object::assign(&Object::new(), options.unchecked_ref());
        let snapshot = args::field(&copy, "snapshot");
        let _ = Reflect::delete_property(&copy, &"snapshot".into());
        check(&copy)?;
        if let Some(snapshot) = snapshot {
            let id = args::field(&snapshot, "id")
                .and_then(|id| id.as_f64())
                .map(|id| id as u32)
                .filter(|id| self.snapshots.borrow().contains(id))
                .ok_or_else(|| {
                    invalid_argument("snapshot is not a live Snapshot of this store (released, or from another store)")
                })?;
            let plain = Object::new();
            let _ = Reflect::set(&plain, &"id".into(), &JsValue::from(id));
            let _ = Reflect::set(&copy, &"snapshot".into(), &plain);
        }
        Ok(copy.into())
    }

    pub fn add_snapshot(&self, id: u32) {
        self.snapshots.borrow_mut().insert(id);
    }

    pub fn release_snapshot(&self, id: u32) {
        if self.snapshots.borrow_mut().remove(&id) && !self.closed.get() {
            self.handle.post(Op::ReleaseSnapshot.name(), Array::of1(&JsValue::from(id)));
        }
    }

    pub fn close_iterator(&self, id: u32) {
        if !self.closed.get() {
            self.handle.post(Op::IteratorClose.name(), Array::of1(&JsValue::from(id)));
        }
    }

    /// Runs `op` (`close` or `debugCrash`) in the worker, then stops it.
    /// Closing twice is fine.
    pub async fn finish(&self, op: Op) -> JsResult<JsValue> {
        debug_assert_eq!(op.kind(), Kind::End);
        if self.closed.replace(true) {
            return Ok(JsValue::UNDEFINED);
        }
        self.snapshots.borrow_mut().clear();
        let result = JsFuture::from(self.handle.call(op.name(), Array::new(), JsValue::UNDEFINED)).await;
        self.handle.terminate(&format!("store '{}' is closed", self.name));
        result.map_err(|e| failure_from_js(&e))
    }
}

fn unreachable_snapshot() -> JsResult<lsmkv::Snapshot> {
    // `read_options` takes the snapshot out before the rest is checked.
    Err(invalid_argument("snapshot is not a live Snapshot of this store"))
}

/// A coded `Error` from the worker back into a `JsFailure`.
pub fn failure_from_js(error: &JsValue) -> JsFailure {
    let text = |name: &str| Reflect::get(error, &name.into()).ok().and_then(|v| v.as_string());
    JsFailure::new(
        &text("code").unwrap_or_else(|| code::IO.to_string()),
        text("message").unwrap_or_else(|| describe_js(error)),
    )
}
