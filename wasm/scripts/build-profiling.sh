#!/usr/bin/env bash
# Builds the web package with function names kept (release code, no wasm-opt,
# which strips the name section) into wasm/pkg-prof, for
# `node wasm/bench/profile.mjs --pkg wasm/pkg-prof`: the profile then names
# Rust functions instead of wasm-function[1234].
set -euo pipefail
wasm=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$wasm/.." && pwd)
export PATH="$HOME/.cargo/bin:$PATH"
target=${CARGO_TARGET_DIR:-$root/target}
cargo build --quiet --release -p lsmkv-wasm --target wasm32-unknown-unknown --manifest-path "$wasm/Cargo.toml"
wasm-bindgen --target web --out-dir "$wasm/pkg-prof" "$target/wasm32-unknown-unknown/release/lsmkv_wasm.wasm"
echo "built $wasm/pkg-prof (names kept)"
