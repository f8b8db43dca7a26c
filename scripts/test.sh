#!/usr/bin/env bash
# TEST: the whole suite against real MariaDB and Redis (started/installed here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh

ensure_services
# The dashboard test evaluates every panel query with a real Prometheus.
# The API fuzz test runs schemathesis against the OpenAPI document.
if ! command -v st >/dev/null 2>&1; then
  log "installing schemathesis"
  python3 -m pip install -q 'schemathesis>=4.32,<5'
fi
if [ ! -x /usr/bin/prometheus ]; then
  log "installing Prometheus"
  apt_install prometheus
fi

drop_test_databases() {
  mysql --protocol=tcp -h127.0.0.1 -uroot -N -e \
    "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'novel\\_t\\_%'" |
    while read -r db; do mysql --protocol=tcp -h127.0.0.1 -uroot -e "DROP DATABASE \`$db\`"; done
}
drop_test_databases

log "fmt and clippy"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -q -- -D warnings

log "tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi

log "web, worker and jobs' Redis tests again on a Redis Cluster (three primaries, three replicas; three job partitions)"
# Left out: tests of a Redis of their own or behind a proxy (single node by nature: they would
# only run again), the schemathesis fuzz and the real-Prometheus dashboard test (nothing in them
# depends on the Redis topology, and they are the slowest), and the API test that starts a
# cluster of its own (it just ran).
single_only='test(/^health::readyz_reports_whether_redis/) | test(/^health::with_require_aof/)
  | test(/^outages::with_redis_down/) | binary(persistence) | binary(config)
  | test(/^a_clean_release_that_a_redis_restart/)
  | test(/^fuzz::schemathesis/) | test(/^observability::a_real_prometheus/) | test(/^cluster::/)'
scripts/cluster.sh start
trap 'scripts/cluster.sh stop' EXIT
cluster_nodes=$(printf 'redis://127.0.0.1:%s,' 7000 7001 7002 7003 7004 7005)
cluster_env=(NOVEL__REDIS__MODE=cluster "NOVEL__REDIS__CLUSTER_NODES=${cluster_nodes%,}"
  NOVEL__JOBS__PARTITIONS=3)
if cargo nextest --version >/dev/null 2>&1; then
  # jobs: the id leases and the submit script (its other tests need no Redis).
  env "${cluster_env[@]}" cargo nextest run -p web -p worker -p jobs --no-fail-fast \
    -E "not ($single_only) & (not package(jobs) | binary(ids) | test(/^job::submit::/))"
else
  env "${cluster_env[@]}" cargo test -p web -p worker --no-fail-fast -- \
    --skip readyz_reports_whether_redis --skip with_require_aof --skip with_redis_down \
    --skip schemathesis --skip a_real_prometheus --skip on_a_three_primary_cluster \
    --skip with_wait_replicas
fi
scripts/cluster.sh stop
trap - EXIT

cargo build -q --bins
log "bench smoke run (direct + end to end, then the invariant check)"
# The shared Redis may run without AOF (tests must not reconfigure it): not required here.
NOVEL__REDIS__REQUIRE_AOF=false \
  "${CARGO_TARGET_DIR:-target}/debug/bench" all --duration 2 --concurrency 2 --chapters 500 >/dev/null
log "bench reads smoke run (pages, a chapter and a search: web tier next to MySQL)"
NOVEL__REDIS__REQUIRE_AOF=false \
  "${CARGO_TARGET_DIR:-target}/debug/bench" reads --duration 0.5 --concurrency 2 --chapters 100 >/dev/null
log "bench chaos smoke run: a Redis of its own killed mid-load and restarted from its AOF"
# It fails on any accepted job lost or session gone; its log: target/bench-redis-crash.log.
"${CARGO_TARGET_DIR:-target}/debug/bench" chaos --redis-crash --no-db-restart \
  --duration 4 --concurrency 4 --chapters 500 2>"${CARGO_TARGET_DIR:-target}/bench-redis-crash.log" |
  grep -E 'lost|sessions|invariants'
log "bench failover smoke run: a primary of a Redis Cluster of its own killed mid-load (WAIT 1)"
# It fails on any accepted job lost or session gone; its log: target/bench-redis-failover.log.
"${CARGO_TARGET_DIR:-target}/debug/bench" chaos --redis-failover --durable --no-db-restart \
  --duration 8 --concurrency 4 --chapters 500 2>"${CARGO_TARGET_DIR:-target}/bench-redis-failover.log" |
  grep -E 'failover|lost|sessions|invariants'

log "browser tests (headless Chromium against the real web tier and a worker)"
if [ ! -x /usr/bin/chromium ]; then
  log "installing Chromium (Debian's package; no browser is downloaded by npm)"
  apt_install chromium
fi
# Screenshots (target/screenshots) show Chinese text as readers see it, not empty boxes.
if ! fc-list :lang=zh | grep -q .; then
  log "installing CJK fonts (fonts-noto-cjk)"
  apt_install fonts-noto-cjk
fi
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error && node --test --test-concurrency=1)
drop_test_databases
