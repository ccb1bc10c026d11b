//! JS values in and out of Rust: keys and values (`codec`), call arguments
//! (`args`), `Store.open` options (`options`), the core's reports as plain
//! objects (`report`), the TypeScript shapes of all of it (`types`), and
//! errors with stable codes (`error`). Nothing here knows about backends or
//! where the engine runs.

pub(crate) mod args;
pub mod codec;
pub mod error;
pub mod options;
pub(crate) mod report;
mod types;
