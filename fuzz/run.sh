#!/usr/bin/env bash
# Runs the libFuzzer targets (nightly + cargo-fuzz; scripts/install.sh fuzz
# installs them), each for SECONDS, after writing the seed corpus. A crash is
# saved in fuzz/artifacts/<target>/; copy it into fuzz/regressions/<target>/
# once fixed, and `cargo test` replays it forever after.
#
#   bash fuzz/run.sh 30                 # every target, 30 s each
#   bash fuzz/run.sh 3600 db_open table # these, an hour each
#   JOBS=2 bash fuzz/run.sh 3600 log    # two processes on one target
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
seconds=${1:-30}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list | grep -vx seeds)
fi
cargo +nightly run --quiet --manifest-path fuzz/Cargo.toml --bin seeds -- fuzz/corpus
# Each allocation is bounded (-malloc_limit_mb) as well as the whole
# process: a decoder must not allocate far beyond what the input holds
# (inputs are at most -max_len bytes).
# -jobs sends each process's output to fuzz-N.log in the working directory:
# only for JOBS > 1 (read them there; .gitignore has them).
parallel=()
if [ "${JOBS:-1}" -gt 1 ]; then
  parallel=(-jobs="$JOBS" -workers="$JOBS")
fi
for target in "${targets[@]}"; do
  echo "[fuzz] $target for ${seconds}s"
  mkdir -p "fuzz/artifacts/$target"
  cargo +nightly fuzz run --release --debug-assertions "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -max_len=65536 -malloc_limit_mb=64 -rss_limit_mb=1024 \
    -timeout=10 "${parallel[@]}" -print_final_stats=1 \
    -artifact_prefix="fuzz/artifacts/$target/" 2>&1 | grep -E '^(#[0-9]+.*(DONE|pulse)|stat::|==[0-9]+==|SUMMARY|thread .* panicked|.*Done)' || true
  if [ -n "$(find "fuzz/artifacts/$target" -type f)" ]; then
    echo "[fuzz] $target: failing inputs in fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
