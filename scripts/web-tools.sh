# Sourced by playground.sh and server.sh: installs what serving the
# playground needs (Trunk, wasm-bindgen, wasm-opt), puts it on PATH, moves to
# the repository root and fetches the crates (Trunk.toml builds offline).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bash "$here/install.sh" playground
source "$here/env.sh"
cd "$root"
cargo fetch --locked --quiet
