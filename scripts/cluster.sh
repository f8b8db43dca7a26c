#!/usr/bin/env bash
# CLUSTER: a local Redis Cluster, three primaries with a replica each, for the suite's cluster
# pass (scripts/test.sh) or a manual run. `start` is idempotent and returns once every node says
# cluster_state:ok and every replica's link is up; `stop` shuts the nodes down and removes them.
#   scripts/cluster.sh start|stop
# Ports: NOVEL_CLUSTER_PORT (default 7000) and the five above it, bus ports 10000 higher; data in
# /tmp/novel-cluster-<port>. A node timeout of 5 s (NOVEL_CLUSTER_NODE_TIMEOUT_MS) keeps a node
# starved on a busy machine from being failed over mid-suite.
# Use: NOVEL__REDIS__MODE=cluster NOVEL__REDIS__CLUSTER_NODES=redis://127.0.0.1:7000,…
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh

base=${NOVEL_CLUSTER_PORT:-7000}
timeout_ms=${NOVEL_CLUSTER_NODE_TIMEOUT_MS:-5000}
ports=$(seq "$base" $((base + 5)))
dir=/tmp/novel-cluster-$base

node() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }
node_up() { [ "$(node "$1" ping 2>/dev/null)" = PONG ]; }

# Every node in a cluster of six that covers all slots, three primaries, replicas linked.
ready() {
  local p primaries=0
  for p in $ports; do
    node "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
    node "$p" cluster info | grep -q '^cluster_known_nodes:6' || return 1
    if node "$p" info replication | grep -q '^role:master'; then
      primaries=$((primaries + 1))
    else
      node "$p" info replication | grep -q '^master_link_status:up' || return 1
    fi
  done
  [ "$primaries" = 3 ]
}

# The nodes' cluster size: 1 for a fresh node, 6 once they form the cluster.
known_nodes() { node "$1" cluster info | sed -n 's/^cluster_known_nodes:\([0-9]*\).*/\1/p' | tr -d '\r'; }

start() {
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    log "installing Redis"
    apt_install redis-server redis-tools
  fi
  if ready 2>/dev/null; then
    log "Redis Cluster on 127.0.0.1:$base-$((base + 5)) is up"
    return 0
  fi
  mkdir -p "$dir"
  local p
  for p in $ports; do
    if node_up "$p"; then continue; fi
    mkdir -p "$dir/$p"
    redis-server --port "$p" --bind 127.0.0.1 --dir "$dir/$p" --daemonize yes \
      --pidfile "$dir/$p/redis.pid" --logfile "$dir/$p/redis.log" \
      --cluster-enabled yes --cluster-config-file nodes.conf \
      --cluster-node-timeout "$timeout_ms" \
      --appendonly yes --appendfsync everysec --save ""
  done
  for p in $ports; do
    check() { node_up "$p"; }
    wait_for "Redis node $p" check
  done
  # Nodes that know only themselves are fresh: make the cluster. Restarted nodes (their
  # nodes.conf kept) find each other by themselves.
  if [ "$(known_nodes "$base")" = 1 ]; then
    log "creating the Redis Cluster on 127.0.0.1:$base-$((base + 5))"
    local addresses=()
    for p in $ports; do addresses+=("127.0.0.1:$p"); done
    redis-cli --cluster create "${addresses[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log" 2>&1 ||
      { log "redis-cli --cluster create failed: $dir/create.log"; return 1; }
  fi
  wait_for "Redis Cluster" ready
  log "Redis Cluster on 127.0.0.1:$base-$((base + 5)) is up"
}

stop() {
  local p
  for p in $ports; do
    node "$p" shutdown nosave >/dev/null 2>&1 || true
  done
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
