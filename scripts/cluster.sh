#!/usr/bin/env bash
# Starts a three-node lsmkv cluster on this machine: nodes 1, 2 and 3 at
# http://127.0.0.1:7001, :7002 and :7003, with data in target/cluster_data/node{1,2,3},
# joins them (POST /cluster/init on node 1) and waits; Ctrl-C stops all three.
# Started again on the same directories, the nodes resume (no init needed).
#   bash scripts/cluster.sh                 # the API on each node
#   bash scripts/cluster.sh --playground    # ...and the playground at / on each node
# Other arguments go to every node: bash scripts/cluster.sh --preset production
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/env.sh"
cd "$root"
web=()
if [[ "${1:-}" == "--playground" ]]; then
  shift
  bash "$here/install.sh" playground
  dist="$root/target/server-web"
  trunk build --release --skip-version-check --dist "$dist" >/dev/null
  web=(--web-root "$dist")
fi
cargo build --release --locked --quiet -p lsmkv-server
data=${LSMKV_CLUSTER_DATA:-$root/target/cluster_data}
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT
for id in 1 2 3; do
  mkdir -p "$data/node$id"
  "$root/target/release/lsmkv-server" --cluster --node-id "$id" --bind "127.0.0.1:700$id" \
    --data-dir "$data/node$id" "${web[@]}" "$@" &
  pids+=($!)
done
for id in 1 2 3; do
  until curl -sf "http://127.0.0.1:700$id/api/health" >/dev/null; do sleep 0.2; done
done
curl -s -d '{"nodes":{"1":"127.0.0.1:7001","2":"127.0.0.1:7002","3":"127.0.0.1:7003"}}' \
  http://127.0.0.1:7001/cluster/init
echo
until curl -s http://127.0.0.1:7001/api/health | grep -q '"leader":{'; do sleep 0.2; done
curl -s http://127.0.0.1:7001/api/health
echo
echo "three nodes at http://127.0.0.1:7001, :7002, :7003 (data in $data); Ctrl-C stops them"
wait
