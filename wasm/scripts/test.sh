#!/usr/bin/env bash
# Runs every lsmkv-wasm test, assuming the tools are installed (see
# scripts/install.sh at the repository root, and `npm ci` in wasm/):
#   1. native unit tests of the journal (the IndexedDB backend's pure half);
#   2. wasm-bindgen tests in headless Chromium (conformance suite on both
#      backends, the Store API, persistence, group commit, injected faults,
#      locking, a BTreeMap model test);
#   3. the npm package build (web + nodejs), then `tsc --noEmit` on a typed
#      consumer of its .d.ts;
#   4. Node tests of the nodejs build (memory backend, sorted-Map model test);
#   5. Playwright tests of the web build in headless Chromium (multi-tab
#      locking, a database deleted under the store, a JS model test on
#      IndexedDB and on OPFS, IndexedDB wipe detection, examples/embed.html);
#   6. the crash test: Chromium killed mid-write and relaunched, on OPFS and
#      on IndexedDB (wasm/scripts/crash.sh; CRASH_KILLS_OPFS, CRASH_KILLS_IDB).
set -euo pipefail
wasm=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$wasm/.." && pwd)
export PATH="$wasm/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
cd "$root"

step() { printf '\n\033[1m-- lsmkv-wasm: %s\033[0m\n' "$*"; }

if [ ! -x "$wasm/node_modules/.bin/tsc" ]; then
  step "npm ci (wasm/)"
  (cd "$wasm" && npm ci --no-audit --no-fund --loglevel=error)
fi

step "native tests (journal)"
cargo test -p lsmkv-wasm --locked

step "browser tests (wasm-bindgen-test, headless Chromium)"
cargo test -p lsmkv-wasm --target wasm32-unknown-unknown --tests --locked

step "package build (wasm/pkg, wasm/pkg-node)"
bash "$wasm/scripts/build.sh"

step "TypeScript declarations (tsc --noEmit)"
tsc -p "$wasm/tests/ts"
echo "tsc: declarations type-check"

step "Node tests (nodejs build, memory backend)"
node --test "$wasm/tests/node/"

step "Playwright tests (web build, IndexedDB, several tabs, examples/embed.html)"
node --test "$wasm/tests/browser/"

step "crash test (Chromium killed mid-write, OPFS and IndexedDB)"
bash "$wasm/scripts/crash.sh"
