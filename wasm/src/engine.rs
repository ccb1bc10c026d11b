//! Where a store's engine runs: here (`Local`: memory, IndexedDB, or OPFS
//! in a dedicated worker) or in a worker this page started (`Remote`: OPFS
//! opened from a page). The one place that split is declared: the `Store`,
//! its snapshots and iterators, and `health()` all hold an `Engine`.

use std::rc::Rc;

use wasm_bindgen::JsValue;

use crate::js::codec::KeyEncoding;
use crate::js::error::{code, JsFailure};
use crate::local::Local;
use crate::opfs::remote::Remote;

#[derive(Clone)]
pub enum Engine {
    Local(Rc<Local>),
    Remote(Rc<Remote>),
}

impl Engine {
    pub fn name(&self) -> &str {
        match self {
            Engine::Local(local) => local.name(),
            Engine::Remote(remote) => remote.name(),
        }
    }

    /// How keys come back by default.
    pub fn encoding(&self) -> KeyEncoding {
        match self {
            Engine::Local(local) => local.encoding(),
            Engine::Remote(remote) => remote.encoding(),
        }
    }

    /// `'indexeddb'`, `'opfs'` or `'memory'`.
    pub fn backend(&self) -> &'static str {
        match self {
            Engine::Local(local) => local.backend().name(),
            Engine::Remote(_) => "opfs",
        }
    }

    /// The engine here, for a synchronous method (`getSync`,
    /// `snapshotSync`): a remote store's engine is in a worker.
    pub fn local_sync(&self, method: &str) -> Result<Rc<Local>, JsValue> {
        match self {
            Engine::Local(local) => Ok(local.clone()),
            Engine::Remote(_) => Err(JsFailure::new(
                code::UNSUPPORTED,
                format!("{method}() is not available on an OPFS store: its engine runs in a worker (use the promise-based method)"),
            )
            .to_js()),
        }
    }
}
