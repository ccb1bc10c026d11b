#!/usr/bin/env bash
# The browser benchmark, one command: builds wasm/pkg and the native example,
# then runs wasm/bench/bench.mjs — lsmkv (IndexedDB, memory) beside raw
# IndexedDB and idb-keyval in one headless Chromium run, plus lsmkv's memory
# backend natively, for 10k and 100k keys, median of 3 runs (~10 minutes on
# 2 cores):
#   bash wasm/scripts/bench.sh [--sizes 10000,100000] [--runs 3] [--slow 2000]
#        [--writers 100] [--baseline wasm/pkg-baseline] [--json out.json]
# For before/after ratios in the same run, build the other commit first:
#   bash wasm/scripts/build-baseline.sh <commit> && bash wasm/scripts/bench.sh --baseline wasm/pkg-baseline
set -euo pipefail
wasm=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$wasm/node_modules/.bin:$HOME/.cargo/bin:$PATH"
if [ ! -d "$wasm/node_modules/idb-keyval" ]; then
  (cd "$wasm" && npm ci --no-audit --no-fund --loglevel=error)
fi
bash "$wasm/scripts/build.sh" web
cargo build --quiet --release -p lsmkv-wasm --example native_bench --manifest-path "$wasm/Cargo.toml"
node "$wasm/bench/bench.mjs" "$@"
