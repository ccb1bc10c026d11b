#!/usr/bin/env bash
# Type-checks lsmkv-level's declarations, runs its own tests (Node), then
# runs abstract-level's own test suite (npm abstract-level 3.x, unmodified)
# against it:
#   - in Node, on the memory backend (wasm/pkg-node);
#   - in headless Chromium, on the IndexedDB backend (wasm/pkg, bundled with
#     esbuild, driven by playwright-core with /usr/bin/chromium);
# each twice: with the default Store settings, and with the 'teaching' preset
# (30-entry memtables and tables, so reads also go through SSTables, bloom
# filters and compactions).
#
#   bash wasm/level/scripts/test.sh
#
# Builds wasm/pkg and wasm/pkg-node first (wasm/scripts/build.sh) when they
# are missing or older than the Rust sources; LSMKV_LEVEL_REBUILD=1 forces it.
# Needs what scripts/install.sh installs (Rust target, wasm-pack,
# wasm-bindgen-cli, Chromium, `npm ci` in wasm/ and wasm/level/).
set -euo pipefail
level=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$level/../.." && pwd)
source "$root/scripts/env.sh"
cd "$root"

say() { printf '\033[1m[lsmkv-level]\033[0m %s\n' "$*"; }

for dir in wasm wasm/level; do
  if [ ! -d "$dir/node_modules" ]; then
    say "npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done

stale() {
  local built=$1
  [ "${LSMKV_LEVEL_REBUILD:-0}" = 1 ] && return 0
  [ -f "$built" ] || return 0
  [ -n "$(find core/src core/Cargo.toml wasm/src wasm/Cargo.toml Cargo.lock -newer "$built" -print -quit)" ]
}
if stale wasm/pkg/lsmkv_wasm_bg.wasm || stale wasm/pkg-node/lsmkv_wasm_bg.wasm; then
  say "building wasm/pkg and wasm/pkg-node"
  bash wasm/scripts/build.sh
fi

cd "$level"
summaries=()
status=0
run() {
  local label=$1; shift
  local log
  log=$(mktemp)
  say "$label"
  if "$@" >"$log" 2>&1; then
    grep -E '^# (tests|pass|fail|skip|todo) +[0-9]+$' "$log" || true
  else
    status=1
    tail -n 60 "$log"
  fi
  summaries+=("$(tail -n 1 "$log")")
  rm -f "$log"
}

run "types: tsc on a consumer of index.d.ts and browser.d.mts" \
  bash -c 'npx --no-install tsc -p test/types/tsconfig.json && echo "types: 1 passed, 0 failed"'
run "lsmkv-level's own tests (node, memory backend)" bash -c 'set -o pipefail; node test/extra.js | node test/tally.js own-tests'
run "node, memory backend" bash -c 'set -o pipefail; node test/node.js | node test/tally.js node-memory'
run "node, memory backend, teaching preset" bash -c 'set -o pipefail; node test/node.js teaching | node test/tally.js node-memory-teaching'
run "headless chromium, indexeddb backend" node test/browser/run.js
run "headless chromium, indexeddb backend, teaching preset" node test/browser/run.js --preset teaching

say "results:"
printf '  %s\n' "${summaries[@]}"
exit "$status"
