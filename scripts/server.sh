#!/usr/bin/env bash
# Starts lsmkv-server (the REST API over the native engine) at
# http://127.0.0.1:5000 and serves the Trunk-built playground at /.
# Arguments go to the server: bash scripts/server.sh --preset production
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/install.sh" playground
source "$here/env.sh"
cd "$root"
cargo fetch --locked --quiet
dist="$root/target/server-web"
trunk build --release --skip-version-check --dist "$dist" >/dev/null
exec cargo run --release --locked -p lsmkv-server -- --web-root "$dist" "$@"
