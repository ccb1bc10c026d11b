#!/usr/bin/env bash
# Serves the playground at http://127.0.0.1:8080, installing what it needs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/install.sh" playground
source "$here/env.sh"
cd "$root"
# Trunk.toml builds offline (cargo --offline): fetch the crates first.
cargo fetch --locked --quiet
port=${PORT:-8080}
echo "Playground: http://127.0.0.1:$port/"
exec trunk serve --release --address 127.0.0.1 --port "$port" --skip-version-check
