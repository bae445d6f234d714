#!/usr/bin/env bash
# The audit export at 1,000,000 events on PostgreSQL (not run by CI or `make bench`; see
# docs/benchmarks.md, "Audit export").
#
# 1. Creates a fresh database (BENCH_DB, dropped first), applies the migrations with
#    `warden migrate`, creates an admin with the CLI, and seeds BENCH_EVENTS status-change
#    audit events (alternating deactivated/reactivated, over 1,000 accounts) in one
#    generate_series statement.
# 2. Starts `warden serve` and, for each format, walks the whole export with limit=1000 from no
#    cursor to the first empty page (following `Link: rel="next"`), as one collector does;
#    prints events/s and the server's peak RSS (VmHWM) after each format.
# 3. Keeps the first 1000 OCSF lines in $WORK/sample.ocsf.ndjson and validates them with
#    bench/validate_ocsf.py when BENCH_VALIDATE is a Python with ocsf-json-schema and jsonschema.
#
# Settings (environment):
#   BENCH_PG_URL     server, without database            postgres://postgres@127.0.0.1:5432
#   BENCH_DB         database created (and dropped)                      warden_export_bench
#   BENCH_EVENTS     audit events seeded                                             1000000
#   WARDEN           the binary                                         target/release/warden
#   BENCH_VALIDATE   a python3 with ocsf-json-schema + jsonschema (optional)
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
DB=${BENCH_DB:-warden_export_bench}
EVENTS=${BENCH_EVENTS:-1000000}
WARDEN=${WARDEN:-target/release/warden}
DB_URL="$PG_URL/$DB"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/warden-export.XXXXXX")
PORT=${BENCH_PORT:-18089}
SERVER=""

say() { printf '== %s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

export DATABASE_URL="$DB_URL" WARDEN_DATA_DIR="$WORK" WARDEN_ADDR="127.0.0.1:$PORT"
export JWT_SECRET="${JWT_SECRET:-$(head -c 48 /dev/urandom | base64 | tr -d '\n')}"
export RUST_LOG=warn

say "fresh database $DB"
psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
"$WARDEN" migrate >/dev/null
echo 'bench password 1234' | "$WARDEN" user create --email admin@bench.example.com \
    --password-stdin --admin >/dev/null
TOKEN=$("$WARDEN" token --email admin@bench.example.com)

say "seeding $EVENTS audit events"
psql -q -v ON_ERROR_STOP=1 "$DB_URL" <<SQL
INSERT INTO users (id, email, password_hash, first_name, last_name, role, is_active,
                   token_version, created_at, updated_at)
SELECT ('01938000-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid,
       'user' || n || '@bench.example.com', a.password_hash, 'User', 'Number ' || n, 'user',
       true, 0, a.created_at, a.created_at
  FROM generate_series(1, 1000) AS n,
       (SELECT password_hash, created_at FROM users WHERE role = 'admin' LIMIT 1) AS a;
INSERT INTO audit_events (id, user_id, actor_id, action, reason, created_at, actor_kind,
                          actor_name)
SELECT ('01938001-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid,
       ('01938000-0000-7000-8000-' || lpad(to_hex(1 + n % 1000), 12, '0'))::uuid,
       a.id, CASE WHEN n % 2 = 0 THEN 'deactivated' ELSE 'reactivated' END,
       CASE WHEN n % 2 = 0 THEN 'Left the company' END,
       now() - make_interval(secs => $EVENTS - n), 'user', a.email
  FROM generate_series(1, $EVENTS) AS n,
       (SELECT id, email FROM users WHERE role = 'admin' LIMIT 1) AS a;
ANALYZE;
SQL

say "starting warden serve"
"$WARDEN" serve >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$PORT/health/live" >/dev/null 2>&1 && break
    sleep 0.1
done

walk() {
    local format=$1 url="http://127.0.0.1:$PORT/api/v1/events/export?format=$1&limit=1000"
    local lines=0 n start end
    start=$(date +%s.%N)
    while :; do
        curl -fs -D "$WORK/headers" -H "Authorization: Bearer $TOKEN" "$url" >"$WORK/page"
        n=$(wc -l <"$WORK/page")
        [ "$format" = ocsf ] && [ ! -s "$WORK/sample.ocsf.ndjson" ] && cp "$WORK/page" "$WORK/sample.ocsf.ndjson"
        [ "$n" -eq 0 ] && break
        lines=$((lines + n))
        url=$(grep -i '^link:' "$WORK/headers" | sed -E 's/^[Ll]ink: <([^>]*)>.*/\1/')
    done
    end=$(date +%s.%N)
    local rss
    rss=$(awk '/VmHWM/ {print $2 " " $3}' "/proc/$SERVER/status")
    printf '%-7s %8d events  %6.1f s  %8.0f events/s  peak RSS %s\n' "$format" "$lines" \
        "$(echo "$end - $start" | bc)" "$(echo "$lines / ($end - $start)" | bc -l)" "$rss"
}

for format in ocsf ecs warden; do
    walk "$format"
done

if [ -n "${BENCH_VALIDATE:-}" ]; then
    "$BENCH_VALIDATE" bench/validate_ocsf.py <"$WORK/sample.ocsf.ndjson"
fi
