#!/usr/bin/env bash
# RUN: install/start MariaDB + Redis if needed (Redis with AOF on), migrate, load demo data,
# start web + 2 workers.
# Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh

ensure_services
ensure_redis_durable
log "building (release)"
cargo build --release --bins -q
bin=target/release

"$bin/web" migrate
"$bin/web" demo
# A demo admin so /admin can be tried at once (an existing admin keeps its password).
admin_password=${NOVEL_ADMIN_PASSWORD:-demo-admin-password}
NOVEL_ADMIN_PASSWORD=$admin_password "$bin/web" create-admin admin

pids=()
stop() {
  trap - INT TERM EXIT
  log "stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

"$bin/web" serve & pids+=($!)
for n in 1 2; do
  NOVEL__WORKER__METRICS_PORT=$((9100 + n)) "$bin/worker" & pids+=($!)
done

port=${NOVEL__HTTP__PORT:-8080}
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
  sleep 0.2
done
log "novel is running at http://127.0.0.1:$port/  (API: /api/books; Ctrl-C stops it)"
log "sign in as reader / demo-password, ink_river / demo-password (an author), admin / $admin_password (/admin)"
wait
