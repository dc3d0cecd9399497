# Shared by ./run and ./test: makes sure PostgreSQL, Redis and the local S3 server are installed
# and running on this machine. Installs with apt (Debian) and cargo when something is missing.
# shellcheck shell=bash

PG_URL_ADMIN="postgres://postgres:postgres@127.0.0.1:5432/postgres"
S3_PORT="${S3_PORT:-9000}"
S3S_VERSION="0.14.1"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=""
ensure_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

wait_for() { # wait_for DESCRIPTION COMMAND...
  local what=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "error: $what did not come up" >&2
  return 1
}

ensure_postgres() {
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! command -v pg_dump >/dev/null 2>&1; then
    ensure_packages postgresql postgresql-client
  fi
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    log "starting PostgreSQL"
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
    wait_for "PostgreSQL" pg_isready -h 127.0.0.1 -p 5432
  fi
  # A fresh Debian install asks for a password over TCP: give postgres the one our URLs use.
  if ! psql "$PG_URL_ADMIN" -qtAc 'select 1' >/dev/null 2>&1; then
    as_root runuser -u postgres -- psql -qc "alter user postgres password 'postgres'" >/dev/null
  fi
}

ensure_redis() {
  if ! command -v redis-server >/dev/null 2>&1; then
    ensure_packages redis-server
  fi
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    log "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    wait_for "Redis" redis-cli -h 127.0.0.1 -p 6379 ping
  fi
}

# A disk-backed S3-compatible server (s3s-fs) stands in for MinIO on this machine.
ensure_s3() { # ensure_s3 DATA_DIR
  local dir=$1
  if ! command -v s3s-fs >/dev/null 2>&1; then
    log "installing s3s-fs $S3S_VERSION (local S3-compatible server; one-time build)"
    cargo install -q s3s-fs --version "$S3S_VERSION" --features binary
  fi
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$S3_PORT") 2>/dev/null; then
    log "starting local S3 on 127.0.0.1:$S3_PORT (data in $dir)"
    mkdir -p "$dir"
    nohup s3s-fs --host 127.0.0.1 --port "$S3_PORT" \
      --access-key commonpot --secret-key commonpot-secret "$dir" >"$dir.log" 2>&1 &
    wait_for "local S3" bash -c "exec 3<>/dev/tcp/127.0.0.1/$S3_PORT"
  fi
}

ensure_services() { # ensure_services S3_DATA_DIR
  ensure_packages ca-certificates curl
  ensure_postgres
  ensure_redis
  ensure_s3 "$1"
}
