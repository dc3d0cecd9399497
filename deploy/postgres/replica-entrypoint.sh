#!/bin/bash
# Streaming replica with the official image. First start (empty data directory): clone the
# primary with pg_basebackup -R, which writes standby.signal and primary_conninfo (slot
# replica_1, made by init-replication.sh on the primary). Every start: the official entrypoint,
# which sees an initialised directory and just runs the hot standby.
set -euo pipefail
PGDATA="${PGDATA:-/var/lib/postgresql/data}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 700 "$PGDATA"
    # On failure pg_basebackup empties the directory again, and the restart policy retries.
    PGPASSWORD="${POSTGRES_REPLICATION_PASSWORD:?}" gosu postgres pg_basebackup \
        --host="${PRIMARY_HOST:?}" --username=replicator --pgdata="$PGDATA" \
        --wal-method=stream --slot=replica_1 --write-recovery-conf --checkpoint=fast --progress
fi
exec docker-entrypoint.sh postgres "$@"
