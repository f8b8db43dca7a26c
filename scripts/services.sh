# Sourced by run.sh and test.sh: make sure MariaDB and Redis are installed and running.
# Installs from Debian's packages when missing (needs root, as on a fresh machine).

log() { printf '\033[1m[novel]\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then
    as_root apt-get update -qq >/dev/null
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

mariadb_up() { mysqladmin --protocol=tcp -h127.0.0.1 -uroot ping >/dev/null 2>&1; }
redis_cli() { redis-cli -h 127.0.0.1 -p 6379 "$@"; }
redis_up() { [ "$(redis_cli ping 2>/dev/null)" = PONG ]; }

wait_for() {
  local what=$1 check=$2
  for _ in $(seq 1 60); do
    if $check; then return 0; fi
    sleep 0.5
  done
  log "$what did not come up"
  return 1
}

ensure_mariadb() {
  if ! command -v mysqladmin >/dev/null || ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ]; then
    log "installing MariaDB"
    apt_install mariadb-server mariadb-client
  fi
  if mariadb_up; then return 0; fi
  log "starting MariaDB"
  as_root mkdir -p /run/mysqld && as_root chown mysql:mysql /run/mysqld 2>/dev/null || true
  as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
  wait_for MariaDB mariadb_up
}

ensure_redis() {
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    log "installing Redis"
    apt_install redis-server redis-tools
  fi
  if redis_up; then return 0; fi
  log "starting Redis (AOF on: queued jobs and sessions survive a crash)"
  as_root mkdir -p /var/lib/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 --port 6379 \
    --appendonly yes --appendfsync everysec --dir /var/lib/redis
  wait_for Redis redis_up
}

aof_on() { redis_cli info persistence | grep -q '^aof_enabled:1'; }
aof_settled() { redis_cli info persistence | grep -q '^aof_rewrite_in_progress:0'; }

# RUN ends with a durable Redis: queued jobs and sessions live only there. A Redis found running
# with AOF off (some machines start one with no persistence) gets it turned on, as the one
# ensure_redis starts has it.
ensure_redis_durable() {
  if aof_on; then return 0; fi
  log "Redis on 127.0.0.1:6379 has AOF off: a restart would lose every queued job and session"
  if [ "$(redis_cli config set appendfsync everysec)" != OK ] ||
     [ "$(redis_cli config set appendonly yes)" != OK ]; then
    log "could not turn AOF on (CONFIG refused); web and worker refuse such a Redis (redis.require_aof)"
    return 1
  fi
  wait_for "AOF" aof_on && wait_for "the first AOF rewrite" aof_settled
  if [ "$(redis_cli config rewrite 2>&1)" = OK ]; then
    log "turned AOF on (appendonly yes, appendfsync everysec) and saved it to Redis's config file"
  else
    log "turned AOF on (appendonly yes, appendfsync everysec) until Redis restarts" \
      "(it has no config file to keep it in: start it with --appendonly yes)"
  fi
}

ensure_services() {
  ensure_mariadb
  ensure_redis
}
