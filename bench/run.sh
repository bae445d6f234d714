#!/usr/bin/env bash
# `make bench`: Warden's deactivation throughput against PostgreSQL's own ceiling for the same
# statements, on this machine, in one run. See docs/benchmarks.md for the method.
#
# 1. Builds `warden` in release mode, installs wrk/pgbench/sqlite3 if missing.
# 2. Creates a fresh PostgreSQL database (BENCH_DB, dropped first), migrates it, creates an admin
#    through the CLI and seeds users with SQL (one argon2 hash reused), then takes a token.
# 3. For each concurrency: pgbench runs Warden's statements for one request
#    (bench/pgbench-deactivate.sql); then a fresh `warden serve` (release, mail worker on,
#    delivering to a local SMTP sink) is driven by wrk (bench/deactivate.lua). Every run
#    deactivates its own, disjoint range of still-active users.
# 4. The same Warden runs on a fresh SQLite file.
# 5. Prints the table. Nothing here asserts a timing: a benchmark is a report.
# 6. Measures the idle mail drain (bench/drain.sh).
#
# Settings (environment):
#   BENCH_PG_URL        server to use, without database   postgres://postgres@127.0.0.1:5432
#   BENCH_DB            database created (and dropped) for the run            warden_bench
#   BENCH_CONCURRENCY   concurrencies to measure                                     "16 64"
#   BENCH_DURATION      seconds per measurement                                          20
#   BENCH_WARMUP        seconds of warm-up before each Warden measurement                 3
#   BENCH_USERS_PER_RUN users reserved for each measurement (must exceed its requests) 150000
#   BENCH_THREADS       wrk and pgbench threads                                            2
#   BENCH_SQLITE        0 to skip the SQLite runs                                          1
#   BENCH_RUST_LOG      the server's RUST_LOG during the runs                           warn
#   BENCH_KEEP          1 to keep the database and the work directory afterwards           0
#   BENCH_TARGET_DIR    cargo target dir for the release build   $CARGO_TARGET_DIR or ./target
#   BENCH_WARDEN_BIN    a warden binary to measure instead of building one
#   BENCH_DRAIN         0 to skip the mail drain (bench/drain.sh, BENCH_DRAIN_MAILS=20000)
#   BENCH_SSF           0 to skip the SSF push latency (bench/ssf.sh, BENCH_SSF_USERS=200)
#   WARDEN_DB_MAX_CONNECTIONS, WARDEN_HTTP_WORKERS   passed through to the server (defaults: 16
#                       connections, one HTTP worker per two cores)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
DB=${BENCH_DB:-warden_bench}
CONCURRENCY=${BENCH_CONCURRENCY:-"16 64"}
DURATION=${BENCH_DURATION:-20}
WARMUP=${BENCH_WARMUP:-3}
PER_RUN=${BENCH_USERS_PER_RUN:-150000}
THREADS=${BENCH_THREADS:-2}
WITH_SQLITE=${BENCH_SQLITE:-1}
SERVER_LOG=${BENCH_RUST_LOG:-warn}
KEEP=${BENCH_KEEP:-0}
TARGET_DIR=${BENCH_TARGET_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}}
PORT=${BENCH_PORT:-18080}
SMTP_PORT=${BENCH_SMTP_PORT:-12525}
ADMIN_EMAIL=admin@bench.example.com
REASON=Benchmark
# Users reserved for each warm-up.
WARM_USERS=$((WARMUP * 8000 + 2000))

WORK=$(mktemp -d "${TMPDIR:-/tmp}/warden-bench.XXXXXX")
DB_URL="$PG_URL/$DB"
SERVER_PID=
SINK_PID=

say() { printf '== %s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null
    if [ "$KEEP" = 1 ]; then
        say "kept database $DB and $WORK"
    else
        psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

# ---------------------------------------------------------------------------- tools
apt_install() {
    command -v apt-get >/dev/null || die "$1 is missing and there is no apt-get to install it"
    local sudo=
    [ "$(id -u)" = 0 ] || sudo=sudo
    say "installing $* (apt-get)"
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
command -v wrk >/dev/null || apt_install wrk
command -v psql >/dev/null || apt_install postgresql-client
command -v sqlite3 >/dev/null || apt_install sqlite3
command -v python3 >/dev/null || apt_install python3
# Debian ships pgbench with the server package of its major version (postgresql-NN).
if ! command -v pgbench >/dev/null; then
    major=$(psql -Atq "$PG_URL/postgres" -c "SELECT current_setting('server_version_num')::int / 10000")
    apt_install "postgresql-$major" || apt_install postgresql-contrib
fi
command -v cargo >/dev/null || die "cargo is needed to build warden"

if [ -n "${BENCH_WARDEN_BIN:-}" ]; then
    WARDEN=$BENCH_WARDEN_BIN # e.g. a build of another revision, to compare
else
    say "building warden (release) into $TARGET_DIR"
    cargo build --release -q -p warden --target-dir "$TARGET_DIR"
    WARDEN="$TARGET_DIR/release/warden"
fi

# ---------------------------------------------------------------------------- helpers
# A fresh random key each run: a patterned one is refused at start.
export JWT_SECRET
JWT_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')
export WARDEN_DATA_DIR="$WORK/data"
export SMTP_URL="smtp://127.0.0.1:$SMTP_PORT"
export WARDEN_ADDR="127.0.0.1:$PORT"
export LOG_FORMAT=text
export JWT_TTL_SECONDS=7200
# As in production: no backtrace capture on every error value.
unset RUST_BACKTRACE RUST_LIB_BACKTRACE
mkdir -p "$WARDEN_DATA_DIR"

q() { psql -Atq -v ON_ERROR_STOP=1 "$DB_URL" -c "$1"; }

uuid_of() { printf '01938000-0000-7000-8000-%012x' "$1"; }

# The next unused seeded user number; `reserve N` hands out [NEXT, NEXT + N).
NEXT=1
reserve() { START=$NEXT; NEXT=$((NEXT + $1)); }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
busy_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }

start_server() { # backend database-url
    RUST_LOG=$SERVER_LOG DATABASE_URL=$2 "$WARDEN" serve 2>>"$WORK/server-$1.log" &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then return 0; fi
        kill -0 "$SERVER_PID" 2>/dev/null || die "warden did not start; see $WORK/server-$1.log"
        sleep 0.1
    done
    die "warden is not listening on $PORT"
}

stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

sql() { # backend statement: runs it on the backend's database
    if [ "$1" = postgres ]; then q "$2"; else sqlite3 -cmd ".timeout 5000" "$SQLITE_FILE" "$2"; fi
}

pending_mail() { sql "$1" "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL"; }
sent_mail() { sql "$1" "SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL"; }

# The outbox worker delivers far fewer messages per second than Warden accepts requests (see
# docs/benchmarks.md), so a run leaves a backlog. Between runs (server stopped) it is marked
# sent here, so that every measurement starts from the same empty outbox.
retire_mail() { # backend
    local now="now()"
    [ "$1" = sqlite ] && now="strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
    sql "$1" "UPDATE outbox SET sent_at = $now, last_error = 'retired by bench/run.sh'
               WHERE sent_at IS NULL AND failed_at IS NULL" >/dev/null
}

deactivated_in() { # backend first count
    sql "$1" "SELECT count(*) FROM users
               WHERE id BETWEEN '$(uuid_of "$2")' AND '$(uuid_of $(($2 + $3 - 1)))' AND NOT is_active"
}

quiesce() { # before each measurement on PostgreSQL: same starting conditions for both sides
    q "VACUUM (ANALYZE) users, audit_events, outbox" >/dev/null
    q "CHECKPOINT" >/dev/null
}

field() { sed -n "s/.*[[:space:]]$1=\([0-9.]*\).*/\1/p" <<<" $2"; }
ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }

# Clock ticks used so far by the given processes (those still alive), in one pass.
ticks() {
    [ $# -gt 0 ] || { echo 0; return; }
    (cd /proc && cat "${@/%//stat}" 2>/dev/null) | awk '{ s += $14 + $15 } END { print s + 0 }'
}

# CPU so far, in clock ticks: "all busy warden loadgen pg_db pg_all sink" (all: every core,
# idle included). pg_db: the backends connected to the benchmark database (the PIDs of the
# first snapshot, $2, are reused for the second, so both count the same processes).
snapshot() { # loadgen-pid [pg-db-pids]
    local pg_db=${2:-} busy all
    if [ -z "$pg_db" ]; then
        pg_db=$(psql -Atq "$PG_URL/postgres" -c "SELECT pid FROM pg_stat_activity
                  WHERE datname = '$DB' AND pid <> pg_backend_pid()" | tr '\n' ' ')
    fi
    read -r busy all < <(busy_ticks)
    # shellcheck disable=SC2086 # PID lists
    echo "$all $busy $(ticks ${SERVER_PID:-}) $(ticks "$1") $(ticks $pg_db) \
$(ticks $(pgrep -x postgres)) $(ticks "$SINK_PID")|$pg_db"
}

# Samples CPU from 2 s after the load starts to 2 s before it ends; prints, in microseconds of
# CPU per request (at `rate` requests/s): warden, load generator, PostgreSQL backends of the
# benchmark database, other PostgreSQL processes (WAL writer, checkpointer, other databases),
# SMTP sink, everything else, idle.
profile_during() { # loadgen-pid seconds -> writes $WORK/profile.raw
    local s0 s1
    : >"$WORK/profile.raw"
    [ "$2" -ge 8 ] || return 0
    sleep 2
    s0=$(snapshot "$1")
    sleep $(($2 - 4))
    s1=$(snapshot "$1" "${s0#*|}")
    echo "${s0%%|*} ${s1%%|*}" >"$WORK/profile.raw"
}

cpu_per_request() { # rate -> "warden loadgen pg_db pg_other sink rest idle" (us per request)
    [ -s "$WORK/profile.raw" ] || { echo "- - - - - - -"; return; }
    awk -v rate="$1" -v hz="$(getconf CLK_TCK)" '{
        all = $8 - $1; busy = $9 - $2; w = $10 - $3; l = $11 - $4; d = $12 - $5
        pa = $13 - $6; k = $14 - $7
        secs = all / hz / ncpu; n = rate * secs; f = 1e6 / hz / n
        printf "%.0f %.0f %.0f %.0f %.0f %.0f %.0f", w * f, l * f, d * f, (pa - d) * f, k * f,
            (busy - w - l - pa - k) * f, (all - busy) * f
    }' ncpu="$(nproc)" "$WORK/profile.raw"
}

# wrk against the running server: prints the WRK line of deactivate.lua plus measured extras.
drive() { # backend concurrency first count seconds
    local backend=$1 c=$2 first=$3 count=$4 secs=$5 t0 t1 b0 b1 out
    BENCH_ID_START=$first BENCH_ID_COUNT=$count BENCH_THREADS=$THREADS \
        BENCH_TOKEN=$TOKEN BENCH_REASON=$REASON \
        wrk -t "$THREADS" -c "$c" -d "${secs}s" --timeout 10s -s bench/deactivate.lua \
        "http://127.0.0.1:$PORT" >"$WORK/wrk.out" 2>&1 &
    local wrk_pid=$!
    t0=$(cpu_ticks "$SERVER_PID")
    b0=$(busy_ticks)
    profile_during "$wrk_pid" "$secs"
    wait "$wrk_pid" || die "wrk failed: $(cat "$WORK/wrk.out")"
    t1=$(cpu_ticks "$SERVER_PID")
    b1=$(busy_ticks)
    out=$(grep '^WRK ' "$WORK/wrk.out") || die "wrk printed no result: $(cat "$WORK/wrk.out")"
    # Server CPU in % of one core; whole-machine CPU busy in %.
    local hz
    hz=$(getconf CLK_TCK)
    echo "$out server_cpu=$(awk -v a="$t0" -v b="$t1" -v s="$secs" -v hz="$hz" 'BEGIN { printf "%.0f", 100 * (b - a) / hz / s }')" \
        "machine_busy=$(awk -v a="$b0" -v b="$b1" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2]) }')"
}

# One Warden measurement: fresh server, warm-up, measurement, server stopped. Sets W_*.
measure_warden() { # backend database-url concurrency
    local backend=$1 url=$2 c=$3 line sent0 sink0
    start_server "$backend" "$url"
    reserve "$WARM_USERS"
    drive "$backend" "$c" "$START" "$WARM_USERS" "$WARMUP" >/dev/null
    retire_mail "$backend"
    [ "$backend" = postgres ] && quiesce
    echo 5 >"/proc/$SERVER_PID/clear_refs" 2>/dev/null || true # resets the peak RSS (VmHWM)
    sent0=$(sent_mail "$backend")
    sink0=$(cat "$WORK/sink.count")
    reserve "$PER_RUN"
    say "$backend c=$c: wrk ${DURATION}s, users $START..$((START + PER_RUN - 1))"
    line=$(drive "$backend" "$c" "$START" "$PER_RUN" "$DURATION")
    W_RSS=$(awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status")
    W_MAIL=$(($(sent_mail "$backend") - sent0))
    W_BACKLOG=$(pending_mail "$backend")
    stop_server
    W_SINK=$(($(cat "$WORK/sink.count") - sink0))
    retire_mail "$backend"
    W_REQ=$(field requests "$line")
    W_DUR=$(field duration_us "$line")
    W_RPS=$(awk -v n="$W_REQ" -v us="$W_DUR" 'BEGIN { printf "%.0f", n / (us / 1e6) }')
    W_MPS=$(awk -v n="$W_MAIL" -v us="$W_DUR" 'BEGIN { printf "%.0f", n / (us / 1e6) }')
    W_P50=$(ms "$(field p50_us "$line")")
    W_P99=$(ms "$(field p99_us "$line")")
    W_MAX=$(ms "$(field max_us "$line")")
    W_ERR=0
    for e in err_connect err_read err_write err_status err_timeout; do
        W_ERR=$((W_ERR + $(field "$e" "$line")))
    done
    W_CPU=$(field server_cpu "$line")
    W_US=$(awk -v cpu="$W_CPU" -v rps="$W_RPS" 'BEGIN { printf "%.0f", cpu * 10000 / rps }')
    W_BUSY=$(field machine_busy "$line")
    W_DONE=$(deactivated_in "$backend" "$START" "$PER_RUN")
    W_PROFILE=$(cpu_per_request "$W_RPS")
    echo "$backend c=$c $line rss_mib=$W_RSS deactivated=$W_DONE mail_sent=$W_MAIL sink=$W_SINK backlog=$W_BACKLOG" >>"$WORK/raw.txt"
}

# One pgbench measurement; sets P_*.
measure_pgbench() { # concurrency
    local c=$1 out lat
    local vars=(-D k=-1 -D nclients="$c" -D admin="$ADMIN_ID" -D reason="$REASON" -D one=1 -D version=0 -D admin_name="$ADMIN_EMAIL")
    # Warm-up: the same script, its own users.
    reserve "$WARM_USERS"
    pgbench -n -M prepared -f bench/pgbench-deactivate.sql -c "$c" -j "$THREADS" \
        -T "$WARMUP" "${vars[@]}" -D start="$START" "$DB_URL" >/dev/null 2>&1 ||
        die "pgbench warm-up failed"
    retire_mail postgres
    quiesce
    reserve "$PER_RUN"
    say "postgres c=$c: pgbench ${DURATION}s, users $START..$((START + PER_RUN - 1))"
    rm -rf "$WORK/pgbench" && mkdir -p "$WORK/pgbench"
    (cd "$WORK/pgbench" && exec pgbench -n -M prepared -f "$ROOT/bench/pgbench-deactivate.sql" \
        -c "$c" -j "$THREADS" -T "$DURATION" -l --sampling-rate=0.1 "${vars[@]}" -D start="$START" "$DB_URL") \
        >"$WORK/pgbench.out" 2>&1 &
    local pgbench_pid=$! b0 b1
    b0=$(busy_ticks)
    profile_during "$pgbench_pid" "$DURATION"
    wait "$pgbench_pid" || die "pgbench failed: $(cat "$WORK/pgbench.out")"
    b1=$(busy_ticks)
    out=$(cat "$WORK/pgbench.out")
    P_BUSY=$(awk -v a="$b0" -v b="$b1" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2]) }')
    P_TPS=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out" | head -n 1)
    P_TPS=$(printf '%.0f' "$P_TPS")
    P_TX=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
    P_FAILED=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")
    # Log of one transaction in ten (logging them all costs pgbench CPU the ceiling should not
    # pay): the 3rd field is the latency in microseconds.
    lat=$(cat "$WORK"/pgbench/pgbench_log.* | awk '{print $3}' | sort -n |
        awk '{ v[NR] = $1 } END { printf "%d %d %d", v[int(NR * 0.50 + 0.5)], v[int(NR * 0.99 + 0.5)], v[NR] }')
    read -r p50 p99 pmax <<<"$lat"
    P_P50=$(ms "$p50")
    P_P99=$(ms "$p99")
    P_MAX=$(ms "$pmax")
    P_DONE=$(deactivated_in postgres "$START" "$PER_RUN")
    P_PROFILE=$(cpu_per_request "$P_TPS")
    retire_mail postgres # pgbench's notifications are not Warden's to send
    echo "postgres c=$c pgbench tps=$P_TPS tx=$P_TX failed=$P_FAILED p50=$P_P50 p99=$P_P99 max=$P_MAX deactivated=$P_DONE" >>"$WORK/raw.txt"
}

check_run() { # what successes deactivated
    # A request in flight when wrk stops still commits: allow one per connection.
    if [ "$3" -lt "$2" ] || [ "$3" -gt $(($2 + 64)) ]; then
        say "warning: $1 reported $2 successes but $3 users were deactivated"
    fi
}

# ---------------------------------------------------------------------------- mail sink
python3 bench/smtp_sink.py "$SMTP_PORT" "$WORK/sink.count" &
SINK_PID=$!
for _ in $(seq 1 50); do [ -s "$WORK/sink.count" ] && break; sleep 0.1; done

# ---------------------------------------------------------------------------- PostgreSQL
nconc=$(wc -w <<<"$CONCURRENCY")
# Each concurrency twice (pgbench, Warden), plus Warden at c16 with one row held locked.
PG_USERS=$(((nconc * 2 + 1) * (PER_RUN + WARM_USERS)))
say "fresh database $DB; seeding $PG_USERS users"
psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
DATABASE_URL=$DB_URL RUST_LOG=warn "$WARDEN" migrate
ADMIN_ID=$(DATABASE_URL=$DB_URL RUST_LOG=warn "$WARDEN" user create --email "$ADMIN_EMAIL" \
    --password bench-admin-password --admin --first-name Bench)
psql -q -v ON_ERROR_STOP=1 -v users="$PG_USERS" -f bench/seed-postgres.sql "$DB_URL" >/dev/null
TOKEN=$(DATABASE_URL=$DB_URL RUST_LOG=warn "$WARDEN" token --email "$ADMIN_EMAIL")
PG_VERSION=$(q "SHOW server_version" | cut -d' ' -f1)

declare -A ROW CPU UNLOCKED_RPS
CFMT='%-8s %4s %-7s | %6s %7s %6s %8s %5s %5s %5s\n'
FMT='%-8s %4s | %8s %6s %6s %7s %6s | %7s %6s %6s %5s | %8s %6s %6s %6s | %5s\n'
for c in $CONCURRENCY; do
    measure_pgbench "$c"
    check_run "pgbench c=$c" "$P_TX" "$P_DONE"
    measure_warden postgres "$DB_URL" "$c"
    check_run "warden postgres c=$c" "$((W_REQ - W_ERR))" "$W_DONE"
    ratio=$(awk -v w="$W_RPS" -v p="$P_TPS" 'BEGIN { printf "%.2f", w / p }')
    UNLOCKED_RPS[$c]=$W_RPS
    ROW[postgres-$c]=$(printf "$FMT" postgres "$c" "$W_RPS" "$W_P50" "$W_P99" "$W_MAX" "$W_ERR" \
        "$W_RSS" "$W_US" "$W_MPS" "$W_BUSY" "$P_TPS" "$P_P50" "$P_P99" "$P_MAX" "$ratio")
    CPU[postgres-$c]=$(printf "$CFMT" postgres "$c" Warden $W_PROFILE)
    CPU[pgbench-$c]=$(printf "$CFMT" postgres "$c" pgbench $P_PROFILE)
    ROW[note-postgres-$c]="postgres c=$c: deactivated by Warden $W_DONE (wrk: $W_REQ responses, $W_ERR errors), by pgbench $P_DONE ($P_TX transactions, $P_FAILED failed); mail sent during the run $W_MAIL (SMTP sink got $W_SINK), still queued at its end $W_BACKLOG"
done

# ------------------------------------------------------- PostgreSQL, one unrelated row locked
# A transaction elsewhere (a psql session, a long SCIM write, a migration) holds one account's
# row for the whole run; no request touches that account. Each request's fate is its own
# (docs/benchmarks.md, "A row locked elsewhere"): the throughput should stay near the unlocked
# run's, with no errors.
LOCKED_C=16
HELD_ID=$(DATABASE_URL=$DB_URL RUST_LOG=warn "$WARDEN" user create --email held@bench.example \
    --password bench-held-password --first-name Held)
psql -q "$DB_URL" -c "BEGIN" -c "SELECT id FROM users WHERE id = '$HELD_ID' FOR UPDATE" \
    -c "SELECT pg_sleep(86400)" >/dev/null 2>&1 &
HOLDER_PID=$!
for _ in $(seq 1 50); do
    [ "$(q "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE a.query LIKE 'SELECT pg_sleep%' AND l.locktype = 'transactionid'")" -ge 1 ] && break
    sleep 0.1
done
measure_warden postgres "$DB_URL" "$LOCKED_C"
kill "$HOLDER_PID" 2>/dev/null || true
wait "$HOLDER_PID" 2>/dev/null || true
check_run "warden postgres c=$LOCKED_C, one row locked" "$((W_REQ - W_ERR))" "$W_DONE"
unlocked=${UNLOCKED_RPS[$LOCKED_C]:-0}
locked_ratio=$(awk -v w="$W_RPS" -v u="$unlocked" 'BEGIN { if (u > 0) printf "%.2f", w / u; else print "-" }')
ROW[postgres-locked]=$(printf "$FMT" "pg+lock" "$LOCKED_C" "$W_RPS" "$W_P50" "$W_P99" "$W_MAX" "$W_ERR" \
    "$W_RSS" "$W_US" "$W_MPS" "$W_BUSY" - - - - "$locked_ratio")
ROW[note-postgres-locked]="postgres c=$LOCKED_C with one unrelated row locked: deactivated by Warden $W_DONE (wrk: $W_REQ responses, $W_ERR errors); ratio to the unlocked run at c=$LOCKED_C: $locked_ratio"

# ---------------------------------------------------------------------------- SQLite
if [ "$WITH_SQLITE" = 1 ]; then
    SQLITE_FILE="$WORK/sqlite/warden.db"
    mkdir -p "$WORK/sqlite"
    SQLITE_URL="sqlite://$SQLITE_FILE"
    NEXT=1
    SQ_USERS=$((nconc * (PER_RUN + WARM_USERS)))
    say "fresh SQLite file; seeding $SQ_USERS users"
    DATABASE_URL=$SQLITE_URL RUST_LOG=warn "$WARDEN" migrate
    DATABASE_URL=$SQLITE_URL RUST_LOG=warn "$WARDEN" user create --email "$ADMIN_EMAIL" \
        --password bench-admin-password --admin --first-name Bench >/dev/null
    sed "s/@USERS@/$SQ_USERS/" bench/seed-sqlite.sql | sqlite3 "$SQLITE_FILE" >/dev/null
    TOKEN=$(DATABASE_URL=$SQLITE_URL RUST_LOG=warn "$WARDEN" token --email "$ADMIN_EMAIL")
    for c in $CONCURRENCY; do
        measure_warden sqlite "$SQLITE_URL" "$c"
        check_run "warden sqlite c=$c" "$((W_REQ - W_ERR))" "$W_DONE"
        ROW[sqlite-$c]=$(printf "$FMT" sqlite "$c" "$W_RPS" "$W_P50" "$W_P99" "$W_MAX" "$W_ERR" \
            "$W_RSS" "$W_US" "$W_MPS" "$W_BUSY" - - - - -)
        CPU[sqlite-$c]=$(printf "$CFMT" sqlite "$c" Warden $W_PROFILE)
        ROW[note-sqlite-$c]="sqlite c=$c: deactivated by Warden $W_DONE (wrk: $W_REQ responses, $W_ERR errors); mail sent during the run $W_MAIL (SMTP sink got $W_SINK), still queued at its end $W_BACKLOG"
    done
fi

# ---------------------------------------------------------------------------- report
{
    echo
    echo "Warden deactivation benchmark: $(nproc) CPU(s), PostgreSQL $PG_VERSION, ${DURATION}s per run," \
        "wrk/pgbench threads $THREADS, RUST_LOG=$SERVER_LOG, pool ${WARDEN_DB_MAX_CONNECTIONS:-16}," \
        "HTTP workers ${WARDEN_HTTP_WORKERS:-one per two cores}, mail worker on (SMTP sink)"
    printf "$FMT" "" "" "Warden" "" "" "" "" "" "" "" "" "pgbench" "" "" "" ""
    printf "$FMT" backend conc "req/s" p50ms p99ms maxms errors "RSS MiB" "us/req" "mail/s" "busy%" \
        "tx/s" p50ms p99ms maxms ratio
    for b in postgres sqlite; do
        for c in $CONCURRENCY; do
            [ -n "${ROW[$b-$c]:-}" ] && printf '%s\n' "${ROW[$b-$c]}"
        done
        [ -n "${ROW[$b-locked]:-}" ] && printf '%s\n' "${ROW[$b-locked]}"
    done
    echo "RSS: peak resident set of warden serve during the run; us/req: its CPU time per request;"
    echo "mail/s: notifications its outbox worker delivered per second during the run; busy%: whole"
    echo "machine CPU; ratio: Warden req/s / pgbench tx/s on the same statements and concurrency"
    echo "(pg+lock: one unrelated account's row held locked by another session for the whole run;"
    echo "its ratio is to Warden's unlocked run at the same concurrency)."
    for b in postgres sqlite; do
        for c in $CONCURRENCY; do
            [ -n "${ROW[note-$b-$c]:-}" ] && echo "${ROW[note-$b-$c]}"
        done
        [ -n "${ROW[note-$b-locked]:-}" ] && echo "${ROW[note-$b-locked]}"
    done
    echo
    echo "CPU time per request in microseconds, from /proc, over the middle $((DURATION - 4)) s of each run"
    echo "($(nproc) cores: at saturation the columns add up to $(nproc) s / throughput)"
    printf "$CFMT" backend conc driver warden loadgen "PG db" "PG other" sink rest idle
    for b in postgres sqlite; do
        for c in $CONCURRENCY; do
            [ -n "${CPU[$b-$c]:-}" ] && printf '%s\n' "${CPU[$b-$c]}"
            [ "$b" = postgres ] && [ -n "${CPU[pgbench-$c]:-}" ] && printf '%s\n' "${CPU[pgbench-$c]}"
        done
    done
    echo "loadgen: wrk or pgbench; PG db: the backends serving the benchmark database; PG other:"
    echo "WAL writer, checkpointer, other databases; rest: everything else running on the machine."
    true
} | tee "$WORK/table.txt"

# ---------------------------------------------------------------------------- mail drain
# The worker's idle delivery rate (docs/benchmarks.md, "Mail delivery"); under load, the
# "mail/s" column above is the worker draining at its default limit while requests run.
if [ "${BENCH_DRAIN:-1}" = 1 ]; then
    stop_server 2>/dev/null || true
    BENCH_WARDEN_BIN=$WARDEN BENCH_PG_URL=$PG_URL bash bench/drain.sh | tee -a "$WORK/table.txt"
fi

# ------------------------------------------------------------------------- SSF push latency
# From a deactivation's 200 to its SET at a local push receiver (bench/ssf.sh, docs/benchmarks.md).
if [ "${BENCH_SSF:-1}" = 1 ]; then
    BENCH_WARDEN_BIN=$WARDEN bash bench/ssf.sh | tee -a "$WORK/table.txt"
fi
