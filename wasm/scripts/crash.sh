#!/usr/bin/env bash
# The browser crash test (wasm/tests/crash/crash.mjs): Chromium killed with
# SIGKILL of its whole process group while a page writes, relaunched on the
# same profile, every acknowledged write and every batch checked.
#   OPFS:      CRASH_KILLS_OPFS kills (default 100), 0 acknowledged writes lost.
#   IndexedDB: CRASH_KILLS_IDB kills (default 50), every wipe Chromium makes
#              must be detected and no write lost without one. Chromium wipes
#              in only ~2% of kills, so the test forces it: before every 10th
#              relaunch it corrupts the IndexedDB LevelDB log (Chromium then
#              finds the corruption and deletes the data itself), and before
#              every 7th it deletes the data outright; each must be reported.
# Needs wasm/pkg (bash wasm/scripts/build.sh web) and /usr/bin/chromium.
# About 1.5-2.5 s per kill on a 2-vCPU machine.
set -euo pipefail
wasm=$(cd "$(dirname "$0")/.." && pwd)
cd "$wasm/.."
export PATH="$wasm/node_modules/.bin:$PATH"
node "$wasm/tests/crash/crash.mjs" --backend opfs --kills "${CRASH_KILLS_OPFS:-100}" "$@"
node "$wasm/tests/crash/crash.mjs" --backend indexeddb --kills "${CRASH_KILLS_IDB:-50}" --corrupt-every 10 --wipe-every 7 "$@"
