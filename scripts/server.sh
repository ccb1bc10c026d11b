#!/usr/bin/env bash
# Starts lsmkv-server (the REST API over the native engine) at
# http://127.0.0.1:5000 and serves the Trunk-built playground at /.
# Arguments go to the server: bash scripts/server.sh --preset production
set -euo pipefail
source "$(dirname "$0")/web-tools.sh"
dist="$root/target/server-web"
trunk build --release --skip-version-check --dist "$dist" >/dev/null
exec cargo run --release --locked -p lsmkv-server -- --web-root "$dist" "$@"
