#!/usr/bin/env bash
# Builds the npm package: wasm/pkg (for browsers and bundlers, `--target web`)
# and wasm/pkg-node (CommonJS for Node, used by the Node tests).
#   bash wasm/scripts/build.sh            # both, release
#   bash wasm/scripts/build.sh web        # only wasm/pkg
# Needs: rustup target wasm32-unknown-unknown, wasm-pack 0.15.1,
# wasm-bindgen-cli 0.2.130, and `npm ci` in wasm/ (for wasm-opt 132: Debian's
# wasm-opt 108 produces modules that fail in the browser).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
if ! wasm-opt --version 2>/dev/null | grep -q "version 132"; then
  echo "wasm-opt 132 not found: run 'npm ci' in wasm/ first" >&2
  exit 1
fi
which="${1:-all}"
if [[ "$which" == all || "$which" == web ]]; then
  wasm-pack --quiet build . --target web --release --out-dir pkg --mode no-install
fi
if [[ "$which" == all || "$which" == node ]]; then
  wasm-pack --quiet build . --target nodejs --release --out-dir pkg-node --mode no-install
fi
