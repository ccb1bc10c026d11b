//! Tests that cross modules below the public API (the public API's own are
//! in `core/tests/`).

pub(crate) mod heap;
mod log_crash;
