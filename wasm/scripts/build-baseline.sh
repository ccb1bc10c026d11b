#!/usr/bin/env bash
# Builds the web package of another commit (default: HEAD) into
# wasm/pkg-baseline, so the benchmark can time it beside the working tree's
# build in the same run:
#   bash wasm/scripts/build-baseline.sh [COMMIT] [OUT_DIR]
#   node wasm/bench/bench.mjs --baseline wasm/pkg-baseline
# The commit's tree is exported with `git archive` into a temporary directory
# (no worktree, no checkout: the working tree is not touched).
# With WASM_ONLY=1, only the wasm crate's sources (wasm/src, wasm/js, wasm/Cargo.toml)
# come from COMMIT and everything else (the core) from HEAD, so the ratios
# measure the wasm layer's changes alone while the core moves on:
#   WASM_ONLY=1 bash wasm/scripts/build-baseline.sh <commit>
set -euo pipefail
wasm=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$wasm/.." && pwd)
commit=${1:-HEAD}
out=$(realpath -m "${2:-$wasm/pkg-baseline}")
export PATH="$wasm/node_modules/.bin:$HOME/.cargo/bin:$PATH"
if ! wasm-opt --version 2>/dev/null | grep -q "version 132"; then
  echo "wasm-opt 132 not found: run 'npm ci' in wasm/ first" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "${WASM_ONLY:-0}" = 1 ]; then
  git -C "$root" archive HEAD | tar -x -C "$tmp"
  rm -rf "$tmp/wasm/src" "$tmp/wasm/js"
  # wasm/js (the OPFS snippets) goes with the sources that import it.
  js=$(git -C "$root" cat-file -e "$commit:wasm/js" 2>/dev/null && echo wasm/js || true)
  git -C "$root" archive "$commit" wasm/src $js wasm/Cargo.toml | tar -x -C "$tmp"
else
  git -C "$root" archive "$commit" | tar -x -C "$tmp"
fi
# `git archive` stamps every file with its commit's time, which can be older
# than the last build in the target directory: cargo would then take the
# sources for unchanged and keep the previous build. Stamp them now.
find "$tmp" -type f -exec touch {} +
# A separate target directory keeps the two builds from rebuilding each other.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}-baseline
(cd "$tmp/wasm" && wasm-pack --quiet build . --target web --release --out-dir "$out" --mode no-install)
echo "built $(git -C "$root" rev-parse --short "$commit")${WASM_ONLY:+ (wasm sources only; core of $(git -C "$root" rev-parse --short HEAD))} into $out"
