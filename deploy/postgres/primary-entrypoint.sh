#!/bin/bash
# Primary: the WAL archive volume mounts root-owned; PostgreSQL's archive_command writes there
# as `postgres`. Then the official entrypoint, unchanged.
set -euo pipefail
mkdir -p /wal-archive
chown postgres:postgres /wal-archive
chmod 700 /wal-archive
exec docker-entrypoint.sh "$@"
