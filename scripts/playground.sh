#!/usr/bin/env bash
# Serves the playground at http://127.0.0.1:8080, installing what it needs.
set -euo pipefail
source "$(dirname "$0")/web-tools.sh"
port=${PORT:-8080}
echo "Playground: http://127.0.0.1:$port/"
exec trunk serve --release --address 127.0.0.1 --port "$port" --skip-version-check
