#!/usr/bin/env bash
# Builds and runs the native side-by-side benchmark (lsmkv, fjall, RocksDB).
#
#   bench/run.sh                      # N = 1,000,000, one run
#   bench/run.sh --repeat 3           # three runs, medians (what BENCHMARKS.md reports)
#   bench/run.sh --num 100000 --benchmarks fillrandom,readrandom
#   bench/run.sh --num 200k --reads 50k --ycsb-ops 50k --threads 1,2   # every workload, quickly
#   bench/run.sh --num 10M --teaching-num 0       # production scale (LZ4 on); BENCHMARKS.md has the cost
#   LSMKV_BENCH_NO_ROCKSDB=1 bench/run.sh   # without RocksDB (no apt packages needed)
#
# Every argument goes to the benchmark; `bench/run.sh --help` lists them.
# RocksDB links Debian's librocksdb (7.8.x) instead of building it from
# source (~25 s instead of ~20 min): the script installs librocksdb-dev and
# libclang-dev with apt if they are missing and sets ROCKSDB_LIB_DIR.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Cargo builds into bench/target unless CARGO_TARGET_DIR says otherwise.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"

features=()
if [[ -n "${LSMKV_BENCH_NO_ROCKSDB:-}" ]]; then
  features=(--no-default-features)
else
  missing=()
  for package in librocksdb-dev libclang-dev; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  if ((${#missing[@]})); then
    echo "installing ${missing[*]} (apt)" >&2
    sudo_cmd=()
    [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >&2
  fi
  export ROCKSDB_LIB_DIR="${ROCKSDB_LIB_DIR:-/usr/lib/$(uname -m)-linux-gnu}"
fi

cargo build --release --manifest-path "$here/Cargo.toml" "${features[@]}" >&2

echo "host: $(uname -n), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "kernel: $(uname -r); rustc: $(rustc --version)"
echo "disk: $(df -h --output=avail,size,fstype,source "${TMPDIR:-/tmp}" | tail -1 | tr -s ' ')"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

exec "$CARGO_TARGET_DIR/release/lsmkv-bench" "$@"
