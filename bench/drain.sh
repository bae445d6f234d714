#!/usr/bin/env bash
# The outbox drain: how fast an idle `warden serve` delivers a backlog of notifications to an
# SMTP sink (bench/smtp_sink.py), on PostgreSQL. See docs/benchmarks.md, "Mail delivery".
#
#   bench/drain.sh                      # 20,000 mails, default worker settings
#   BENCH_DRAIN_MAILS=2000 bench/drain.sh
#   WARDEN_MAIL_MAX_PER_SECOND=0 WARDEN_MAIL_CONCURRENCY=8 bench/drain.sh   # passed through
#
# The backlog is inserted with SQL before the server starts; the rate is the backlog divided
# by the time between the first and the last `sent_at` (so start-up is not counted), and the
# script checks that the sink received every message. Called by bench/run.sh (`make bench`).
#
# Settings (environment):
#   BENCH_PG_URL        server to use, without database   postgres://postgres@127.0.0.1:5432
#   BENCH_DRAIN_DB      database created (and dropped) for the run            warden_drain
#   BENCH_DRAIN_MAILS   backlog size                                                 20000
#   BENCH_WARDEN_BIN    the warden binary            $BENCH_TARGET_DIR/release/warden (built)
#   BENCH_TARGET_DIR    cargo target dir for the release build   $CARGO_TARGET_DIR or ./target
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
DB=${BENCH_DRAIN_DB:-warden_drain}
MAILS=${BENCH_DRAIN_MAILS:-20000}
TARGET_DIR=${BENCH_TARGET_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}}
PORT=${BENCH_DRAIN_PORT:-18081}
SMTP_PORT=${BENCH_DRAIN_SMTP_PORT:-12526}
DB_URL="$PG_URL/$DB"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/warden-drain.XXXXXX")
SERVER_PID=
SINK_PID=

say() { printf '== %s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null
    psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

if [ -n "${BENCH_WARDEN_BIN:-}" ]; then
    WARDEN=$BENCH_WARDEN_BIN
else
    say "building warden (release) into $TARGET_DIR"
    cargo build --release -q -p warden --target-dir "$TARGET_DIR"
    WARDEN="$TARGET_DIR/release/warden"
fi

q() { psql -Atq -v ON_ERROR_STOP=1 "$DB_URL" -c "$1"; }

psql -q -v ON_ERROR_STOP=1 "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
DATABASE_URL=$DB_URL RUST_LOG=warn "$WARDEN" migrate
q "INSERT INTO outbox (id, action, recipient, recipient_first_name, reason, occurred_at, next_attempt_at)
   SELECT ('01938000-0000-7000-9000-' || lpad(to_hex(n), 12, '0'))::uuid, 'deactivated',
          'user' || n || '@bench.example.com', 'User Number ' || n, 'Benchmark', now(), now()
     FROM generate_series(1, $MAILS) AS n"
q "VACUUM ANALYZE outbox" >/dev/null

python3 bench/smtp_sink.py "$SMTP_PORT" "$WORK/sink.count" &
SINK_PID=$!
for _ in $(seq 1 50); do [ -s "$WORK/sink.count" ] && break; sleep 0.1; done

say "draining $MAILS notifications (concurrency ${WARDEN_MAIL_CONCURRENCY:-default}, limit ${WARDEN_MAIL_MAX_PER_SECOND:-default}/s)"
JWT_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))') WARDEN_DATA_DIR="$WORK/data" \
    SMTP_URL="smtp://127.0.0.1:$SMTP_PORT" WARDEN_ADDR="127.0.0.1:$PORT" LOG_FORMAT=text \
    RUST_LOG=warn DATABASE_URL=$DB_URL "$WARDEN" serve 2>>"$WORK/server.log" &
SERVER_PID=$!
deadline=$((SECONDS + 600))
while [ "$(q "SELECT count(*) FROM outbox WHERE sent_at IS NULL")" != 0 ]; do
    kill -0 "$SERVER_PID" 2>/dev/null || die "warden stopped: $(tail -5 "$WORK/server.log")"
    [ $SECONDS -lt $deadline ] || die "not drained after 600 s"
    sleep 0.2
done
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
kill "$SINK_PID"; wait "$SINK_PID" 2>/dev/null || true; SINK_PID=

read -r seconds failed <<<"$(q "SELECT extract(epoch FROM max(sent_at) - min(sent_at)),
                                    count(*) FILTER (WHERE failed_at IS NOT NULL) FROM outbox" | tr '|' ' ')"
sink=$(cat "$WORK/sink.count")
rate=$(awk -v n="$MAILS" -v s="$seconds" 'BEGIN { printf "%.0f", (s > 0 ? (n - 1) / s : 0) }')
printf 'drain: %s notifications in %.2f s: %s mails/s (SMTP sink got %s, given up %s)\n' \
    "$MAILS" "$seconds" "$rate" "$sink" "$failed"
[ "$sink" -ge "$MAILS" ] || die "the sink got $sink of $MAILS"
