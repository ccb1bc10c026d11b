//! The page side of a store running in a worker (the OPFS backend).
//!
//! OPFS sync access handles exist only in dedicated workers, so
//! `Store.open(name, { backend: 'opfs' })` in a page starts a worker (the
//! `js/opfs.js` snippet, which ships with the package), opens the store
//! there, and returns a `Store` whose methods forward each call: arguments
//! are checked here first, exactly as a local store checks them (same
//! errors, at call time), then copied and sent; every call of one tick
//! travels in one message, so the worker starts them together and their
//! writes share one flush. Results come back with their `Uint8Array`s
//! transferred, not copied.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;

use js_sys::{Array, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::args;
use crate::codec::KeyEncoding;
use crate::error::{code, invalid_argument, JsFailure, JsResult};
use crate::store::rejected;

#[wasm_bindgen(module = "/js/opfs.js")]
extern "C" {
    /// The proxy to one worker (see `js/opfs.js`).
    #[wasm_bindgen(js_name = LsmkvRemote)]
    pub type RemoteHandle;
    #[wasm_bindgen(method)]
    fn call(this: &RemoteHandle, op: &str, args: Array) -> Promise;
    #[wasm_bindgen(method)]
    fn post(this: &RemoteHandle, op: &str, args: Array);
    #[wasm_bindgen(method)]
    fn terminate(this: &RemoteHandle, message: &str);
    fn lsmkv_opfs_spawn(glue: &str, module: &JsValue, name: &str, options: &JsValue) -> Promise;
    /// The URL of the glue module that called into wasm, from the stack.
    pub fn lsmkv_glue_url() -> Option<String>;
    fn lsmkv_opfs_spawn_capable() -> bool;
}

pub struct RemoteStore {
    handle: RemoteHandle,
    name: String,
    encoding: KeyEncoding,
    closed: Cell<bool>,
    /// Ids of this store's live snapshots (the worker holds the snapshots).
    snapshots: RefCell<HashSet<u32>>,
}

impl RemoteStore {
    /// Starts the worker and opens store `name` in it with `options` (the
    /// caller's object, already validated). `glue` is the URL of the
    /// package's JS module, which the worker imports.
    pub async fn open(
        name: &str,
        options: &JsValue,
        glue: Option<String>,
        encoding: KeyEncoding,
    ) -> JsResult<RemoteStore> {
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
        let handle =
            JsFuture::from(lsmkv_opfs_spawn(&glue, &module, name, options)).await.map_err(|e| failure_from_js(&e))?;
        Ok(RemoteStore {
            handle: handle.unchecked_into(),
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

    fn closed_failure(&self) -> JsFailure {
        JsFailure::new(code::CLOSED, format!("store '{}' is closed", self.name))
    }

    /// Sends `op(...args)`; the promise settles with the worker's reply.
    pub fn call(&self, op: &str, args: &[JsValue]) -> Promise {
        if self.closed.get() {
            return rejected(self.closed_failure());
        }
        self.handle.call(op, args.iter().collect())
    }

    /// `call`, awaited, for replies the page side turns into handles.
    pub async fn request(&self, op: &str, args: &[JsValue]) -> JsResult<JsValue> {
        JsFuture::from(self.call(op, args)).await.map_err(|e| failure_from_js(&e))
    }

    /// Sends `op(...args)` if the arguments parsed, else rejects with why not.
    pub fn forward<A>(&self, parsed: JsResult<A>, op: &str, args: Vec<JsValue>) -> Promise {
        match parsed {
            Ok(_) => self.call(op, &args),
            Err(failure) => rejected(failure),
        }
    }

    /// Read options with their `snapshot` (a `Snapshot` of this store)
    /// replaced by `{ id }` for the worker; `check` validates the rest as a
    /// local store would.
    pub fn read_options(&self, options: &JsValue, check: impl FnOnce(&JsValue) -> JsResult<()>) -> JsResult<JsValue> {
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
            self.handle.post("releaseSnapshot", Array::of1(&JsValue::from(id)));
        }
    }

    pub fn close_iterator(&self, id: u32) {
        if !self.closed.get() {
            self.handle.post("iteratorClose", Array::of1(&JsValue::from(id)));
        }
    }

    /// Runs `op` (`close` or `debugCrash`) in the worker, then stops it.
    /// Closing twice is fine.
    pub async fn finish(&self, op: &str) -> JsResult<JsValue> {
        if self.closed.replace(true) {
            return Ok(JsValue::UNDEFINED);
        }
        self.snapshots.borrow_mut().clear();
        let result = JsFuture::from(self.handle.call(op, Array::new())).await;
        self.handle.terminate(&format!("store '{}' is closed", self.name));
        result.map_err(|e| failure_from_js(&e))
    }

    pub fn is_closed(&self) -> bool {
        self.closed.get()
    }
}

/// A coded `Error` from the worker back into a `JsFailure`.
fn failure_from_js(error: &JsValue) -> JsFailure {
    let text = |name: &str| Reflect::get(error, &name.into()).ok().and_then(|v| v.as_string());
    JsFailure::new(
        &text("code").unwrap_or_else(|| code::IO.to_string()),
        text("message").unwrap_or_else(|| crate::error::describe_js(error)),
    )
}
