#!/usr/bin/env bash
# Start a PostgreSQL server on loopback for the store tests, and print the URL to use:
#   export THREAD_ANALYZER_TEST_PG_URL="$(.ci/start-postgres.sh | tail -n 1)"
# Idempotent: installs PostgreSQL (Debian) if missing, creates the cluster once, starts it if
# it is not running, (re)sets the test role's password. Run as root on a fresh Debian machine.
set -euo pipefail

PORT="${THREAD_ANALYZER_PG_PORT:-5432}"
ROLE="${THREAD_ANALYZER_PG_ROLE:-analyzer}"
PASSWORD="${THREAD_ANALYZER_PG_PASSWORD:-analyzer-test}"
CLUSTER="${THREAD_ANALYZER_PG_CLUSTER:-main}"

log() { echo "start-postgres: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    log "run as root (it installs packages and starts the server as the postgres user)"
    exit 1
fi

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    log "installing PostgreSQL"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
fi

VERSION="$(ls -1 /usr/lib/postgresql | sort -V | tail -n 1)"
install -d -o postgres -g postgres -m 2775 /var/run/postgresql

if [ ! -d "/etc/postgresql/$VERSION/$CLUSTER" ]; then
    log "creating cluster $VERSION/$CLUSTER on port $PORT"
    pg_createcluster "$VERSION" "$CLUSTER" --port "$PORT" -- \
        --auth-local=peer --auth-host=scram-sha-256 --encoding=UTF8 >&2
fi
# Loopback only, whatever the cluster was created with (Debian's postgresql.conf reads conf.d/).
CONF_D="/etc/postgresql/$VERSION/$CLUSTER/conf.d"
install -d -o postgres -g postgres "$CONF_D"
printf "listen_addresses = '127.0.0.1'\nport = %s\n" "$PORT" > "$CONF_D/thread-analyzer.conf"
chown postgres:postgres "$CONF_D/thread-analyzer.conf"

if ! pg_ctlcluster "$VERSION" "$CLUSTER" status >/dev/null 2>&1; then
    log "starting cluster $VERSION/$CLUSTER"
    pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi

for _ in $(seq 1 60); do
    if pg_isready -q -h 127.0.0.1 -p "$PORT"; then break; fi
    sleep 0.5
done
pg_isready -h 127.0.0.1 -p "$PORT" >&2

# The role may create databases: each test session makes (and drops) its own.
runuser -u postgres -- psql -v ON_ERROR_STOP=1 -q -p "$PORT" \
    -v role="$ROLE" -v password="$PASSWORD" >&2 <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB', :'role')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN CREATEDB PASSWORD %L', :'role', :'password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'role', :'role')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'role') \gexec
SQL

echo "postgresql+psycopg://$ROLE:$PASSWORD@127.0.0.1:$PORT/$ROLE"
