#!/usr/bin/env bash
# The playground's end-to-end tests: builds it with `trunk build --release`,
# serves the result with a static server on 127.0.0.1, and drives it in
# headless Chromium (Debian's /usr/bin/chromium through playwright-core).
# Screenshots of every view go to artifacts/ (gitignored).
#
#   bash web/scripts/test.sh                 # build, serve, test
#   bash web/scripts/test.sh --only crash    # only the tests whose name matches
#
# Needs what scripts/install.sh installs (trunk 0.21.14, wasm-bindgen 0.2.130,
# npm binaryen@132 and playwright-core in the root node_modules, chromium).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/env.sh"
cd "$root"

dist="$root/target/playground-e2e"
log=$(mktemp -d)
rm -f "$root"/artifacts/failed-*.png
# Trunk.toml builds offline (cargo --offline): make sure the crates are here.
cargo fetch --locked --quiet
echo "[web] trunk build --release → ${dist#$root/}"
if ! trunk build --release --skip-version-check --dist "$dist" >"$log/trunk.log" 2>&1; then
  tail -40 "$log/trunk.log" >&2
  echo "[web] trunk build failed (full log: $log/trunk.log)" >&2
  exit 1
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dist" >"$log/http.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/', timeout=1)" 2>/dev/null; then break; fi
  sleep 0.2
done

echo "[web] end-to-end tests against http://127.0.0.1:$port/"
node "$root/web/tests/e2e.mjs" --base "http://127.0.0.1:$port/" --artifacts "$root/artifacts" "$@"
