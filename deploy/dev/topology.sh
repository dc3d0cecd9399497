# Shared by `./run --scale N` and tests/scale/run (source deploy/dev/services.sh first): a
# streaming read replica of the local PostgreSQL, PgBouncer in transaction mode in front of the
# primary, a self-signed TLS certificate, and nginx in front of N api instances. Everything
# listens on 127.0.0.1. PostgreSQL and PgBouncer refuse to run as root, so they run as the
# `postgres` user with their files under a state directory it owns (on /tmp: the repository
# may not be readable by that user).
# shellcheck shell=bash

PG_PRIMARY_PORT=5432

require_free_port() { # require_free_port PORT WHAT
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    echo "error: port $1 (for $2) is already in use; choose another (see README, 'Running several instances')" >&2
    return 1
  fi
}

as_postgres() { as_root runuser -u postgres -- "$@"; }

pg_bin() { # the server binaries of the newest installed PostgreSQL
  echo "/usr/lib/postgresql/$(ls /usr/lib/postgresql | sort -V | tail -n 1)/bin"
}

# The primary must accept replication connections from 127.0.0.1. Debian's default pg_hba.conf
# has such a line; a hand-edited one may not, so one is added using the same method as the
# primary's own loopback line.
ensure_replication_access() {
  local rules method hba
  rules=$(psql "$PG_URL_ADMIN" -qtAc "select count(*) from pg_hba_file_rules
    where type = 'host' and 'replication' = any(database) and address = '127.0.0.1'")
  [ "$rules" != "0" ] && return 0
  method=$(psql "$PG_URL_ADMIN" -qtAc "select auth_method from pg_hba_file_rules
    where type = 'host' and 'all' = any(database) and address = '127.0.0.1' order by line_number limit 1")
  hba=$(psql "$PG_URL_ADMIN" -qtAc "show hba_file")
  log "allowing replication from 127.0.0.1 in $hba ($method)"
  echo "host replication all 127.0.0.1/32 ${method:-scram-sha-256}" | as_root tee -a "$hba" >/dev/null
  psql "$PG_URL_ADMIN" -qtAc "select pg_reload_conf()" >/dev/null
}

replica_streaming() { # replica_streaming PORT
  [ "$(psql "postgres://postgres:postgres@127.0.0.1:$1/postgres" -qtAc \
    "select status from pg_stat_wal_receiver" 2>/dev/null)" = "streaming" ]
}

# start_replica DIR PORT: reuses DIR when it is a standby of this primary that catches up,
# otherwise rebuilds it with pg_basebackup (the whole cluster: a few seconds locally).
start_replica() {
  local dir=$1 port=$2 bin
  bin=$(pg_bin)
  stop_replica "$dir" # left running by a run that was killed
  require_free_port "$port" "the read replica"
  ensure_replication_access
  if as_root test -f "$dir/standby.signal"; then
    log "starting the read replica on 127.0.0.1:$port ($dir)"
    if as_postgres "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 30 start >/dev/null &&
      wait_for "the read replica" replica_streaming "$port"; then
      return 0
    fi
    log "the old replica cannot catch up; rebuilding it"
    as_postgres "$bin/pg_ctl" -D "$dir" -m immediate stop >/dev/null 2>&1 || true
  fi
  log "building the read replica with pg_basebackup into $dir"
  as_root rm -rf "$dir"
  as_root install -d -o postgres -g postgres -m 700 "$dir"
  as_postgres env PGPASSWORD=postgres "$bin/pg_basebackup" -h 127.0.0.1 -p "$PG_PRIMARY_PORT" \
    -U postgres -D "$dir" -R -X stream -c fast --no-sync
  # Debian keeps a cluster's configuration outside its data directory: the copy needs its own.
  as_postgres cp "$(psql "$PG_URL_ADMIN" -qtAc 'show hba_file')" "$dir/pg_hba.conf"
  as_postgres touch "$dir/pg_ident.conf"
  as_postgres tee "$dir/postgresql.conf" >/dev/null <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
shared_buffers = 64MB
hot_standby = on
hot_standby_feedback = on
# A throwaway development copy, rebuilt when in doubt: without fsync it skips syncing the whole
# copied cluster at start (over a minute when the primary holds many test databases).
fsync = off
CONF
  as_postgres "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 300 start >/dev/null
  wait_for "the read replica" replica_streaming "$port"
}

stop_replica() { # stop_replica DIR (kept for the next start)
  as_root test -f "$1/postmaster.pid" || return 0
  as_postgres "$(pg_bin)/pg_ctl" -D "$1" -m fast stop >/dev/null 2>&1 || true
}

# start_pgbouncer DIR PORT POOL_SIZE: PgBouncer in front of every database of the primary, in
# session mode: sqlx 0.9 names its prepared statements (`sqlx_s_N`) even with its statement
# cache off and sends Parse and Bind in separate round trips, which PgBouncer 1.18's
# transaction mode hands to different server connections ("prepared statement sqlx_s_1 already
# exists"). README, "Running several instances", has the details. Clients log in with the
# primary's credentials (postgres/postgres in development).
start_pgbouncer() {
  local dir=$1 port=$2 pool=${3:-20}
  if ! command -v pgbouncer >/dev/null 2>&1; then ensure_packages pgbouncer; fi
  stop_pgbouncer "$dir" # left running by a run that was killed
  require_free_port "$port" "PgBouncer"
  as_root install -d -o postgres -g postgres -m 700 "$dir"
  as_postgres tee "$dir/userlist.txt" >/dev/null <<<'"postgres" "postgres"'
  # sqlx sends extra_float_digits at connect; PgBouncer 1.18 refuses unknown startup parameters.
  as_postgres tee "$dir/pgbouncer.ini" >/dev/null <<INI
[databases]
* = host=127.0.0.1 port=$PG_PRIMARY_PORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = md5
auth_file = $dir/userlist.txt
pool_mode = session
default_pool_size = $pool
max_client_conn = 2000
server_reset_query = DISCARD ALL
ignore_startup_parameters = extra_float_digits,options
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
  log "starting PgBouncer (session pooling) on 127.0.0.1:$port"
  as_postgres pgbouncer -d -q "$dir/pgbouncer.ini"
  wait_for "PgBouncer" psql "postgres://postgres:postgres@127.0.0.1:$port/postgres" -qtAc 'select 1'
}

stop_pgbouncer() { # stop_pgbouncer DIR
  local pid
  pid=$(as_root cat "$1/pgbouncer.pid" 2>/dev/null) || return 0
  as_root kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 20); do as_root kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
}

ensure_tls_cert() { # ensure_tls_cert DIR: a self-signed certificate for localhost, made once
  local dir=$1
  [ -f "$dir/localhost.crt" ] && return 0
  if ! command -v openssl >/dev/null 2>&1; then ensure_packages openssl; fi
  mkdir -p "$dir"
  log "making a self-signed TLS certificate for localhost ($dir)"
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$dir/localhost.key" -out "$dir/localhost.crt" 2>/dev/null
}

# write_nginx_conf FILE HTTP_PORT HTTPS_PORT TLS_DIR WEB_DIR STATE_DIR CONN_LIMIT PORT...:
# deploy/nginx.local.conf.template with an upstream of the given api ports.
write_nginx_conf() {
  local file=$1 http=$2 https=$3 tls=$4 web=$5 state=$6 limit=$7
  shift 7
  local servers="" p
  for p in "$@"; do servers+="    server 127.0.0.1:$p max_fails=2 fail_timeout=5s;\n"; done
  mkdir -p "$state"
  sed -e "s|@HTTP_PORT@|$http|g; s|@HTTPS_PORT@|$https|g; s|@TLS_DIR@|$tls|g" \
    -e "s|@WEB_DIR@|$web|g; s|@STATE_DIR@|$state|g; s|@CONN_LIMIT@|$limit|g" \
    -e "s|@UPSTREAM_SERVERS@|${servers}|" \
    "$(dirname "${BASH_SOURCE[0]}")/../nginx.local.conf.template" >"$file"
}

# start_nginx CONF: in the foreground of a background job (so it dies with the caller's
# cleanup); prints nothing, sets NGINX_PID.
start_nginx() {
  if ! command -v nginx >/dev/null 2>&1; then ensure_packages nginx; fi
  nginx -t -q -c "$1" -g "daemon off;" || return 1
  nginx -c "$1" -g "daemon off;" &
  NGINX_PID=$!
}
