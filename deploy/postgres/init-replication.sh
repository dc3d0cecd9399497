#!/bin/bash
# Primary, first start only (docker-entrypoint-initdb.d): the role the streaming replica
# connects as, its physical slot (the primary keeps WAL until the replica has it), and the
# pg_hba line replication needs — `host all all all` does not cover the replication keyword.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v password="${POSTGRES_REPLICATION_PASSWORD:?}" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'password';
SELECT pg_create_physical_replication_slot('replica_1');
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
