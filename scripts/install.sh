#!/usr/bin/env bash
# Installs every tool lsmkv's builds and tests need, skipping what is already
# present at the right version. Safe to run again and again.
#
#   bash scripts/install.sh            # everything (tests, playground, benchmarks' browser half)
#   bash scripts/install.sh playground # only what `trunk serve` needs
#   bash scripts/install.sh fuzz       # only what fuzz/run.sh needs
#
# Pins (see ../shared/docs/toolchain.md for why each matters):
#   wasm-bindgen-cli 0.2.130  must equal the wasm-bindgen crate in Cargo.lock
#   trunk 0.21.14             newer trunk needs a newer rustc
#   wasm-pack 0.15.1
#   wasm-opt from npm binaryen@132 (Debian's wasm-opt 108 breaks the module)
#   cargo-fuzz 0.13.1         libFuzzer needs a nightly toolchain (any recent one; Miri too)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-all}

WASM_BINDGEN_VERSION=0.2.130
TRUNK_VERSION=0.21.14
WASM_PACK_VERSION=0.15.1
CARGO_FUZZ_VERSION=0.13.1

say() { printf '\033[1m[install]\033[0m %s\n' "$*"; }
have_version() { command -v "$1" >/dev/null 2>&1 && "$1" --version 2>/dev/null | grep -q "$2"; }

export PATH="$root/node_modules/.bin:$HOME/.cargo/bin:$PATH"

install_fuzz() {
  if ! rustup toolchain list | grep -q '^nightly'; then
    say "rustup toolchain install nightly (minimal profile, about 1 minute)"
    rustup toolchain install nightly --profile minimal
  fi
  # Miri checks the memtable arena's unsafe code (scripts/test.sh).
  if ! rustup +nightly component list --installed | grep -q '^miri'; then
    say "rustup +nightly component add miri rust-src (about 1 minute)"
    rustup +nightly component add miri rust-src
  fi
  if ! have_version cargo-fuzz "$CARGO_FUZZ_VERSION"; then
    say "cargo install cargo-fuzz $CARGO_FUZZ_VERSION (about 1 minute)"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --force
  fi
}
if [ "$what" = fuzz ]; then
  install_fuzz
  exit 0
fi

# The lockfile must agree with the CLI pin, or the test runner refuses the module.
locked=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/"/,"",$3); print $3; exit}' "$root/Cargo.lock")
if [ -n "$locked" ] && [ "$locked" != "$WASM_BINDGEN_VERSION" ]; then
  echo "Cargo.lock has wasm-bindgen $locked but the pinned CLI is $WASM_BINDGEN_VERSION" >&2
  exit 1
fi

for target in wasm32-unknown-unknown wasm32v1-none; do
  if ! rustup target list --installed | grep -qx "$target"; then
    say "rustup target add $target"
    rustup target add "$target"
  fi
done

if ! have_version wasm-bindgen "$WASM_BINDGEN_VERSION"; then
  say "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 minutes)"
  # Without --locked: its lockfile wants a webpki-roots version the registry lacks.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

if ! have_version trunk "$TRUNK_VERSION"; then
  say "cargo install trunk $TRUNK_VERSION (about 9 minutes)"
  cargo install trunk --version "$TRUNK_VERSION" --locked --force
fi

# npm tools (binaryen's wasm-opt 132, playwright-core, typescript, test suites):
# every committed lockfile outside node_modules.
while IFS= read -r lock; do
  dir=$(dirname "$lock")
  if [ ! -d "$dir/node_modules" ] || [ "$lock" -nt "$dir/node_modules/.package-lock.json" ]; then
    say "npm ci in ${dir#$root/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done < <(cd "$root" && git ls-files --full-name '*package-lock.json' | sed "s|^|$root/|")

[ "$what" = playground ] && exit 0

if ! have_version wasm-pack "$WASM_PACK_VERSION"; then
  say "cargo install wasm-pack $WASM_PACK_VERSION (about 2 minutes)"
  cargo install wasm-pack --version "$WASM_PACK_VERSION" --locked --force
fi

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  say "apt-get install chromium chromium-driver"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium chromium-driver
fi

install_fuzz
