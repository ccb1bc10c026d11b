#!/usr/bin/env bash
# The playground's end-to-end tests: builds it with `trunk build --release`,
# serves the result with a static server on 127.0.0.1, and drives it in
# headless Chromium (Debian's /usr/bin/chromium through playwright-core).
# Then the same tests' server part against lsmkv-server serving that build.
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

# The same page served by lsmkv-server (its server backend preselected), on
# an ephemeral loopback port and a fresh data directory; stopped with SIGTERM,
# which must exit 0 with the page's event stream still open.
echo "[web] cargo build -p lsmkv-server"
cargo build --quiet --locked -p lsmkv-server
data=$(mktemp -d)
"$root/target/debug/lsmkv-server" --bind 127.0.0.1:0 --web-root "$dist" --data-dir "$data/kv" >"$log/server.log" 2>&1 &
lsmkv=$!
trap 'kill "$server" "$lsmkv" 2>/dev/null || true; wait "$server" "$lsmkv" 2>/dev/null || true; rm -rf "$data"' EXIT
url=
for _ in $(seq 100); do
  url=$(sed -n 's/^lsmkv-server listening on \(http:[^ ]*\)$/\1/p' "$log/server.log")
  [ -n "$url" ] && break
  kill -0 "$lsmkv" 2>/dev/null || { cat "$log/server.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "[web] lsmkv-server did not start" >&2; cat "$log/server.log" >&2; exit 1; }
echo "[web] end-to-end tests against lsmkv-server at $url/"
node "$root/web/tests/e2e.mjs" --base "$url/" --server yes --artifacts "$root/artifacts" "$@"
kill -TERM "$lsmkv"
status=0
wait "$lsmkv" || status=$?
[ "$status" -eq 0 ] || { echo "[web] lsmkv-server exited $status on SIGTERM" >&2; cat "$log/server.log" >&2; exit 1; }
echo "[web] lsmkv-server stopped cleanly on SIGTERM"
