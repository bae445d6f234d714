#!/usr/bin/env bash
# How long a bulk deactivation of 10,000 accounts takes, end to end: `POST
# /api/v1/users/deactivate/bulk` with every id, then `GET /api/v1/jobs/{id}` until `done`
# (each user through the DeactivateUser use case: authority re-check, conditional update,
# audit event, outbox row; the outbox worker mails meanwhile, to .eml files). On SQLite, and
# on PostgreSQL when BENCH_PG_URL's server answers. Optional; `make bench-bulk` runs it
# (about a minute after the release build).
#
# Settings (environment):
#   BENCH_BULK_USERS   accounts in the job (1..10000)                    10000
#   BENCH_PG_URL       server, without database    postgres://postgres@127.0.0.1:5432
#   BENCH_BULK_DB      PostgreSQL database created (and dropped)      warden_bulk_bench
#   WARDEN             the binary                              target/release/warden
set -euo pipefail
cd "$(dirname "$0")/.."

USERS=${BENCH_BULK_USERS:-10000}
PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
PG_DB=${BENCH_BULK_DB:-warden_bulk_bench}
WARDEN=${WARDEN:-target/release/warden}
PORT=${BENCH_BULK_PORT:-18089}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/warden-bulk.XXXXXX")
# A fresh random key each run: a patterned one is refused at start.
export JWT_SECRET
JWT_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')
export WARDEN_ADDR=127.0.0.1:$PORT RUST_LOG=${BENCH_RUST_LOG:-warn}
SERVER_PID=

say() { printf '== %s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

[ -x "$WARDEN" ] || cargo build --release -q -p warden --bin warden

# seed BACKEND URL: the admin through the CLI (one argon2 hash), USERS accounts by SQL.
seed() {
    local backend=$1 url=$2
    DATABASE_URL=$url "$WARDEN" migrate >/dev/null
    DATABASE_URL=$url "$WARDEN" user create --email admin@bench.example.com \
        --password bench-admin-password --admin >/dev/null
    if [ "$backend" = sqlite ]; then
        sed "s/@USERS@/$USERS/" bench/seed-sqlite.sql | sqlite3 "${url#sqlite://}" >/dev/null
        sqlite3 "${url#sqlite://}" "SELECT id FROM users WHERE role = 'user'" >"$WORK/ids"
    else
        psql -q -v ON_ERROR_STOP=1 "$url" -v users="$USERS" -f bench/seed-postgres.sql >/dev/null
        psql -Atq "$url" -c "SELECT id FROM users WHERE role = 'user'" >"$WORK/ids"
    fi
    jq -R -s '{user_ids: (split("\n") | map(select(length > 0))), reason: "bench"}' \
        "$WORK/ids" >"$WORK/body.json"
}

# measure BACKEND URL: prints one line with the job's duration.
measure() {
    local backend=$1 url=$2 token job start end data
    token=$(DATABASE_URL=$url "$WARDEN" token --email admin@bench.example.com)
    DATABASE_URL=$url "$WARDEN" serve 2>>"$WORK/server-$backend.log" &
    SERVER_PID=$!
    until curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null; do sleep 0.1; done
    start=$(date +%s.%N)
    job=$(curl -sf -X POST "http://127.0.0.1:$PORT/api/v1/users/deactivate/bulk" \
        -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
        --data-binary @"$WORK/body.json" | jq -r .data.job_id)
    while :; do
        data=$(curl -sf "http://127.0.0.1:$PORT/api/v1/jobs/$job" -H "Authorization: Bearer $token")
        [ "$(jq -r .data.status <<<"$data")" = done ] && break
        sleep 0.05
    done
    end=$(date +%s.%N)
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
    awk -v b="$backend" -v n="$USERS" -v s="$start" -v e="$end" \
        -v ok="$(jq .data.succeeded <<<"$data")" -v ko="$(jq .data.failed <<<"$data")" \
        'BEGIN { printf "BULK %-8s users=%d succeeded=%d failed=%d seconds=%.2f per_second=%.0f\n", b, n, ok, ko, e - s, n / (e - s) }'
}

mkdir -p "$WORK/sqlite"
say "SQLite: seeding $USERS accounts"
export WARDEN_DATA_DIR=$WORK/sqlite
seed sqlite "sqlite://$WORK/sqlite/warden.db"
say "SQLite: bulk deactivation"
measure sqlite "sqlite://$WORK/sqlite/warden.db"

if psql -q "$PG_URL/postgres" -c "SELECT 1" >/dev/null 2>&1; then
    mkdir -p "$WORK/pg"
    export WARDEN_DATA_DIR=$WORK/pg
    psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $PG_DB" -c "CREATE DATABASE $PG_DB" >/dev/null
    say "PostgreSQL: seeding $USERS accounts"
    seed postgres "$PG_URL/$PG_DB"
    say "PostgreSQL: bulk deactivation"
    measure postgres "$PG_URL/$PG_DB"
else
    say "PostgreSQL not reachable at $PG_URL: skipped"
fi
