#!/usr/bin/env bash
# Account search and audit log latency at 1,000,000 accounts on PostgreSQL (not run by CI or
# `make bench`; see docs/benchmarks.md, "Search at a million accounts").
#
# 1. Creates a fresh database (BENCH_DB, dropped first), applies migrations/postgres with psql,
#    and seeds BENCH_USERS accounts in one generate_series statement: 40 first names x 40 last
#    names, emails `first.lastN@<one of 5 domains>`, 1% deactivated (each with its audit event).
# 2. For each query shape, pgbench runs the statement the PostgreSQL adapter sends
#    (crates/warden-postgres/src/directory.rs: the same WHERE, ORDER BY id DESC, LIMIT page+1)
#    over the extended protocol with an unnamed statement, as diesel sends a boxed query, so it
#    is planned with its actual values. Each transaction first picks its random text with a
#    trivial `SELECT ... \gset` (a few tens of microseconds, included in the figures).
# 3. Prints p50/p99/max per shape from pgbench's per-transaction log, and each shape's plan.
#
# What it measures: the database's side of a search (planning + execution + one local round
# trip), not HTTP, JSON or authentication (the deactivation benchmark covers those: ~110 us of
# Warden CPU per request).
#
# Settings (environment):
#   BENCH_PG_URL     server, without database            postgres://postgres@127.0.0.1:5432
#   BENCH_DB         database created (and dropped)                      warden_search_bench
#   BENCH_USERS      accounts seeded                                                 1000000
#   BENCH_DURATION   seconds per query shape                                              10
#   BENCH_CLIENTS    concurrent pgbench clients                                            4
#   BENCH_KEEP       1 to keep the database afterwards                                     0
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
DB=${BENCH_DB:-warden_search_bench}
USERS=${BENCH_USERS:-1000000}
DURATION=${BENCH_DURATION:-10}
CLIENTS=${BENCH_CLIENTS:-4}
KEEP=${BENCH_KEEP:-0}
DB_URL="$PG_URL/$DB"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/warden-search.XXXXXX")

say() { printf '== %s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
cleanup() {
    if [ "$KEEP" != 1 ]; then
        psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

say "fresh database $DB"
psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
for up in migrations/postgres/*/up.sql; do
    psql -q -v ON_ERROR_STOP=1 "$DB_URL" -f "$up" >/dev/null
done

FIRST="ARRAY['Ada','Grace','Alan','Barbara','Edsger','Frances','Donald','Margaret','John','Radia',
  'Ken','Dennis','Bjarne','Guido','James','Linus','Tim','Vint','Leslie','Niklaus','Tony','Robin',
  'Shafi','Silvio','Whitfield','Martin','Adele','Jean','Karen','Sophie','Hedy','Katherine',
  'Dorothy','Mary','Annie','Evelyn','Jennifer','Betty','Kathleen','Ruth']"
LAST="ARRAY['Lovelace','Hopper','Turing','Liskov','Dijkstra','Allen','Knuth','Hamilton','Backus',
  'Perlman','Thompson','Ritchie','Stroustrup','Rossum','Gosling','Torvalds','Berners','Cerf',
  'Lamport','Wirth','Hoare','Milner','Goldwasser','Micali','Diffie','Hellman','Goldberg','Sammet',
  'Jones','Wilson','Lamarr','Johnson','Vaughan','Keller','Easley','Boyd','Widom','Holberton',
  'Booth','Teitelbaum']"
DOMAINS="ARRAY['example.com','mail.example.org','corp.example.net','uni.example.edu','example.io']"

say "seeding $USERS accounts"
SEED_START=$(date +%s)
psql -q -v ON_ERROR_STOP=1 "$DB_URL" <<SQL >/dev/null
INSERT INTO users (id, email, password_hash, first_name, last_name, role, is_active,
                   deactivated_at, token_version, created_at, updated_at)
SELECT ('01938000-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid,
       lower(($FIRST)[1 + n % 40]) || '.' || lower(($LAST)[1 + (n / 40) % 40]) || n || '@'
           || ($DOMAINS)[1 + n % 5],
       '\$argon2id\$v=19\$m=19456,t=2,p=1\$c2VlZA\$c2VlZA',
       ($FIRST)[1 + n % 40],
       ($LAST)[1 + (n / 40) % 40],
       CASE WHEN n % 10000 = 1 THEN 'admin' ELSE 'user' END,
       n % 100 <> 7,
       CASE WHEN n % 100 = 7 THEN now() END,
       0, now(), now()
  FROM generate_series(1, $USERS) AS n;
INSERT INTO audit_events (id, user_id, actor_id, action, reason, created_at, actor_kind, actor_name)
SELECT ('01938000-0001-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid,
       ('01938000-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid,
       '01938000-0000-7000-8000-000000000001'::uuid,
       'deactivated', 'Benchmark', now() - (n || ' seconds')::interval, 'user',
       'admin@example.com'
  FROM generate_series(7, $USERS, 100) AS n;
VACUUM (ANALYZE) users;
VACUUM (ANALYZE) audit_events;
SQL
say "seeded in $(( $(date +%s) - SEED_START )) s"

COLUMNS="id, email, first_name, last_name, role, is_active, deactivated_at, deactivated_by,
  deactivation_reason, token_version, created_at, updated_at"
TEXT="(lower(email) LIKE :p ESCAPE '\\' OR lower(first_name) LIKE :p ESCAPE '\\'
  OR lower(last_name) LIKE :p ESCAPE '\\')"
EVENTS="id, user_id, actor_id, action, reason, created_at, actor_kind, actor_name"

# name | description | the \gset line choosing :p (and :c) | the query
shape() {
    local name=$1 pick=$2 query=$3
    {
        echo '\set f random(1, 40)'
        echo '\set l random(1, 4)'
        echo "\\set n random(1, $USERS)"
        echo "$pick \\gset"
        echo "$query;"
    } >"$WORK/$name.sql"
}
shape short_prefix "SELECT left(lower(($FIRST)[:f::int]), :l::int) || '%' AS p" \
    "SELECT $COLUMNS FROM users WHERE $TEXT ORDER BY id DESC LIMIT 21"
shape one_account "SELECT lower(($FIRST)[1 + :n::int % 40]) || '.' || lower(($LAST)[1 + (:n::int / 40) % 40]) || :n::int || '@%' AS p" \
    "SELECT $COLUMNS FROM users WHERE $TEXT ORDER BY id DESC LIMIT 21"
shape no_match "SELECT 'zq' || :n::int || '%' AS p" \
    "SELECT $COLUMNS FROM users WHERE $TEXT ORDER BY id DESC LIMIT 21"
shape active_admins_prefix "SELECT left(lower(($LAST)[:f::int]), :l::int) || '%' AS p" \
    "SELECT $COLUMNS FROM users WHERE $TEXT AND is_active = true AND role = 'admin' ORDER BY id DESC LIMIT 21"
shape later_page "SELECT left(lower(($FIRST)[:f::int]), 2) || '%' AS p, ('01938000-0000-7000-8000-' || lpad(to_hex(:n::int), 12, '0')) AS c" \
    "SELECT $COLUMNS FROM users WHERE $TEXT AND id < :c::uuid ORDER BY id DESC LIMIT 21"
shape inactive "SELECT 1 AS p" \
    "SELECT $COLUMNS FROM users WHERE is_active = false ORDER BY id DESC LIMIT 21"
shape events_newest "SELECT 1 AS p" \
    "SELECT $EVENTS FROM audit_events WHERE action = 'deactivated' ORDER BY id DESC LIMIT 21"
shape events_of_target "SELECT ('01938000-0000-7000-8000-' || lpad(to_hex(7 + (:n::int / 100) * 100), 12, '0')) AS c" \
    "SELECT $EVENTS FROM audit_events WHERE user_id = :c::uuid ORDER BY id DESC LIMIT 21"

pct() { # sorted latencies (us) on stdin -> "p50 p99 max count" in ms
    awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "- - - 0"; exit }
        i50 = int(NR * 0.50); if (i50 < 1) i50 = 1
        i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
        printf "%.2f %.2f %.2f %d\n", v[i50] / 1000, v[i99] / 1000, v[NR] / 1000, NR }'
}

say "measuring: $DURATION s per shape, $CLIENTS clients"
RESULTS="$WORK/results.txt"
printf '%-22s %8s %8s %8s %9s\n' shape p50ms p99ms maxms searches >"$RESULTS"
for script in short_prefix one_account no_match active_admins_prefix later_page inactive \
              events_newest events_of_target; do
    (cd "$WORK" && pgbench -n -M extended -c "$CLIENTS" -j 2 -T "$DURATION" \
        -f "$script.sql" --log --log-prefix="log_$script" "$DB_URL" >"$WORK/$script.out" 2>&1) \
        || { cat "$WORK/$script.out" >&2; exit 1; }
    read -r p50 p99 max count < <(cat "$WORK"/log_"$script".* | awk '{ print $3 }' | sort -n | pct)
    printf '%-22s %8s %8s %8s %9s\n' "$script" "$p50" "$p99" "$max" "$count" >>"$RESULTS"
    rm -f "$WORK"/log_"$script".*
done

say "plans (one execution each, with a typical value)"
psql -q "$DB_URL" -v p="'ad%'" -v c="'01938000-0000-7000-8000-000000050000'" <<SQL 2>&1 \
    | grep -E '^(short|later|one|no match)|Index|Seq Scan|Bitmap|Sort|Execution Time' | sed 's/^/    /' >&2
\echo short prefix 'ad%'
EXPLAIN (ANALYZE, COSTS OFF) SELECT $COLUMNS FROM users WHERE $TEXT ORDER BY id DESC LIMIT 21;
\echo later page 'ad%' below the middle id
EXPLAIN (ANALYZE, COSTS OFF) SELECT $COLUMNS FROM users WHERE $TEXT AND id < :c::uuid ORDER BY id DESC LIMIT 21;
\set p '\'ada.lovelace40@%\''
\echo one account 'ada.lovelace40@%'
EXPLAIN (ANALYZE, COSTS OFF) SELECT $COLUMNS FROM users WHERE $TEXT ORDER BY id DESC LIMIT 21;
\set p '\'zq123%\''
\echo no match 'zq123%'
EXPLAIN (ANALYZE, COSTS OFF) SELECT $COLUMNS FROM users WHERE $TEXT ORDER BY id DESC LIMIT 21;
SQL

echo
echo "Search at $USERS accounts: PostgreSQL $(psql -Atq "$DB_URL" -c 'SHOW server_version'), $(nproc) CPU(s), pgbench -M extended, $CLIENTS clients, ${DURATION}s per shape"
cat "$RESULTS"
