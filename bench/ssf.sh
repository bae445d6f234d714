#!/usr/bin/env bash
# `make bench-ssf`: the time from a deactivation's 200 to its account-disabled SET at a local
# RFC 8935 push receiver (bench/ssf_latency.py), p50 and p99, one deactivation at a time. A
# report, not a test: nothing asserts a timing. See docs/benchmarks.md.
#
# Settings (environment):
#   BENCH_SSF_USERS        deactivations measured                                      200
#   BENCH_SSF_DATABASE_URL the store (a fresh SQLite file by default)  sqlite://$WORK/warden.db
#   BENCH_TARGET_DIR       cargo target dir for the release build  $CARGO_TARGET_DIR or ./target
#   BENCH_WARDEN_BIN       a warden binary to measure instead of building one
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
USERS=${BENCH_SSF_USERS:-200}
TARGET_DIR=${BENCH_TARGET_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}}
PORT=${BENCH_PORT:-18090}
RECEIVER_PORT=${BENCH_RECEIVER_PORT:-18091}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/warden-bench-ssf.XXXXXX")
DB_URL=${BENCH_SSF_DATABASE_URL:-sqlite://$WORK/warden.db}
DB_SHOWN=${BENCH_SSF_DATABASE_URL:+PostgreSQL}
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

if [ -n "${BENCH_WARDEN_BIN:-}" ]; then
    WARDEN=$BENCH_WARDEN_BIN
else
    cargo build --release -p warden --target-dir "$TARGET_DIR" >&2
    WARDEN=$TARGET_DIR/release/warden
fi
export DATABASE_URL=$DB_URL WARDEN_DATA_DIR=$WORK/data RUST_LOG=warn
export JWT_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')
"$WARDEN" migrate
"$WARDEN" user create --email admin@bench.example --password bench-admin-password --admin \
    --first-name Bench >/dev/null
ADMIN=$("$WARDEN" token --email admin@bench.example)
CLIENT=$("$WARDEN" client create --name bench-receiver --scope ssf.manage)
IDS=()
for i in $(seq 1 "$USERS"); do
    IDS+=("$("$WARDEN" user create --email "user$i@bench.example" --password bench-user-password \
        --first-name User)")
done
unset SMTP_URL
WARDEN_ADDR=127.0.0.1:$PORT WARDEN_WEBHOOK_ALLOW_PRIVATE=true "$WARDEN" serve \
    >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null 2>&1 && break
    sleep 0.1
done
python3 bench/ssf_latency.py "http://127.0.0.1:$PORT" "$ADMIN" "$CLIENT" "$RECEIVER_PORT" \
    "${IDS[@]}" >"$WORK/latencies.txt" 2>"$WORK/summary.txt"
echo "SSF push, deactivation's 200 to its SET at a local receiver ($(nproc) cores, ${DB_SHOWN:-SQLite}):"
echo "  $(cat "$WORK/summary.txt")"
