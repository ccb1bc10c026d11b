#!/usr/bin/env bash
# Benchmarks lsmkv (IndexedDB and memory) against raw IndexedDB in one
# headless Chromium run: builds the web package, then runs wasm/bench/bench.mjs.
#   bash wasm/scripts/bench.sh [--n 20000] [--runs 3] [--json out.json]
set -euo pipefail
wasm=$(cd "$(dirname "$0")/.." && pwd)
bash "$wasm/scripts/build.sh" web
node "$wasm/bench/bench.mjs" "$@"
