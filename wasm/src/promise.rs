//! Promise plumbing: how every asynchronous method of the JS API turns a
//! Rust future (or a failure found at call time) into a JS promise whose
//! rejection is an `Error` with a code.

use std::future::Future;

use js_sys::Promise;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::future_to_promise;

use crate::js::error::{JsFailure, JsResult};

/// Wraps a future as a JS promise whose rejection is a JS `Error` with a code.
///
/// The future is polled once right away, inside the JS call: the engine
/// work of every method (up to its first real wait, such as an IndexedDB
/// commit) runs in call order, as it did when each method was a task queued
/// in call order, and a method that does not wait (any read, any write to a
/// memory store) settles without a spawned task, a closure pair or a
/// `queueMicrotask` (BENCHMARKS.md, "Browser"). Only a future still pending
/// after that poll is spawned; every leaf future it waits on re-registers
/// the task's waker when the task polls it, so a wake-up that reached the
/// first poll's no-op waker is not lost (the task's first poll sees it done).
pub fn promise(future: impl Future<Output = JsResult<JsValue>> + 'static) -> Promise {
    let mut future = Box::pin(future);
    match future.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        std::task::Poll::Ready(Ok(value)) => Promise::resolve(&value),
        std::task::Poll::Ready(Err(failure)) => Promise::reject(&failure.to_js()),
        std::task::Poll::Pending => future_to_promise(async move { future.await.map_err(|failure| failure.to_js()) }),
    }
}

/// A promise already rejected with `failure`.
pub fn rejected(failure: JsFailure) -> Promise {
    Promise::reject(&failure.to_js())
}

/// Parses arguments now (at call time), then runs `body` as a promise.
pub fn call<A: 'static, F, Fut>(parsed: JsResult<A>, body: F) -> Promise
where
    F: FnOnce(A) -> Fut + 'static,
    Fut: Future<Output = JsResult<JsValue>> + 'static,
{
    match parsed {
        Ok(arguments) => promise(body(arguments)),
        Err(failure) => rejected(failure),
    }
}
