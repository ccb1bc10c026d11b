//! Tests that cross modules below the public API (the public API's own are
//! in `core/tests/`).

mod log_crash;
