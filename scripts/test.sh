#!/usr/bin/env bash
# Runs every test lsmkv has, installing what is missing first. This is the
# command the README gives and the one CI runs (.ci/run).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/install.sh"
source "$here/env.sh"
cd "$root"

stage() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

stage "style: rustfmt and clippy (warnings are errors)"
cargo fmt --all --check
cargo fmt --manifest-path fuzz/Cargo.toml --all --check
cargo fmt --manifest-path bench/Cargo.toml --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings

stage "native: core and wasm crates (cargo test)"
# As root, core's disk-full test mounts a small tmpfs and must not skip.
if [ "$(id -u)" -eq 0 ]; then export LSMKV_REQUIRE_DISK_FULL_TEST=1; fi
cargo test --workspace --locked

stage "miri: the memtable arena's unsafe code, under Rust's UB checker (cargo miri)"
# The tests that hand arena bytes across threads and chunks; the rest of
# the engine's unsafe (file maps) is outside what Miri can run.
cargo +nightly miri test -p lsmkv --lib --locked -- \
  memtable::arena memtable::tests::readers_see memtable::tests::iterates memtable::tests::get_returns

stage "fuzz: every decoder under libFuzzer, ${LSMKV_FUZZ_SECONDS:=8} s each (fuzz/run.sh)"
bash fuzz/run.sh "$LSMKV_FUZZ_SECONDS"

stage "no_std: core builds for wasm32v1-none, a target without std"
cargo build -p lsmkv --no-default-features --target wasm32v1-none --locked
# The wasm crate without its default `transfer-module` feature, as the
# `--target bundler` build its README gives compiles it.
cargo build -p lsmkv-wasm --no-default-features --target wasm32-unknown-unknown --locked

for suite in wasm/scripts/test.sh web/scripts/test.sh wasm/level/scripts/test.sh; do
  if [ -f "$suite" ]; then
    stage "$suite"
    bash "$suite"
  fi
done
stage "all tests passed"
