//! lsmkv-server: the original product's REST API (API.md) and the
//! playground over the native, on-disk engine; with `--cluster`, one node of
//! a replicated group (`cluster`). The binary (`main.rs`) parses the command
//! line and starts one of the two.

pub mod api;
pub mod cluster;
pub mod command;
pub mod data;
pub mod error;
pub mod query;
pub mod value;
