#!/usr/bin/env bash
# Schema-driven fuzzing of the HTTP API: schemathesis generates requests (valid and invalid)
# from the served OpenAPI document and checks every answer: never a 5xx, and status code,
# content type, headers and body exactly as documented. Runs the debug `warden` binary on a
# throwaway SQLite database, as an admin, with a fixed seed, so every run sends the same
# requests.
#
#   bash .ci/schemathesis.sh            (CI runs it from .ci/run)
#
# Knobs: SCHEMATHESIS_MAX_EXAMPLES (per operation, default 100), SCHEMATHESIS_SEED,
# SCHEMATHESIS_FUZZ_SECONDS (unset: stop after the examples; set: keep fuzzing, with fresh
# examples, for that long), CARGO_TARGET_DIR. The whole schemathesis run is killed (and fails)
# after 170 s.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-100}
SEED=${SCHEMATHESIS_SEED:-20261125}
FUZZ_SECONDS=${SCHEMATHESIS_FUZZ_SECONDS:-}
HARD_LIMIT=170
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/warden-ci
VENV=$CACHE/schemathesis-$SCHEMATHESIS_VERSION

say() { printf 'schemathesis.sh: %s\n' "$*" >&2; }

# schemathesis, pinned, in a virtualenv of its own (kept between runs).
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION"; then
    say "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    rm -rf "$VENV"
    mkdir -p "$CACHE"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "schemathesis==$SCHEMATHESIS_VERSION"
fi
SCHEMATHESIS=$VENV/bin/schemathesis

say "building the warden binary"
cargo build --quiet -p warden
WARDEN=${CARGO_TARGET_DIR:-target}/debug/warden
[[ $WARDEN = /* ]] || WARDEN=$PWD/$WARDEN

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    local status=$?
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ $status -ne 0 && -s $WORK/server.log ]]; then
        say "the server's last log lines:"
        tail -n 10 "$WORK/server.log" >&2 || true
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT

# A fresh database and data directory; mail goes to .eml files (no SMTP_URL).
unset SMTP_URL WARDEN_TEST_DATABASE_URL RUST_LOG
export DATABASE_URL=sqlite://$WORK/warden.db
export WARDEN_DATA_DIR=$WORK/data
export WARDEN_ADDR=127.0.0.1:$PORT
export WARDEN_HTTP_WORKERS=2
export LOG_FORMAT=json
export JWT_SECRET
JWT_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(32))')

"$WARDEN" user create --email admin@example.com --password admin-password --admin >/dev/null
"$WARDEN" user create --email ada@example.com --password ada-password --first-name Ada >/dev/null
TOKEN=$("$WARDEN" token --email admin@example.com)

"$WARDEN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$BASE/api/v1/openapi.json" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { say "the server exited at start"; exit 1; }
    sleep 0.1
done
curl -fsS -o /dev/null "$BASE/api/v1/openapi.json"

# Checks: no 5xx; every status code, content type, header and body as documented; schema-valid
# input accepted and invalid input refused; a wrong method answered 405 with `Allow`; a missing
# credential refused. A schema-valid status or role change may still break a rule (deactivating
# oneself, reactivating an active account, changing one's own role): 400 is a fine answer there; so are 409 and 422 for a
# schema-valid `Idempotency-Key` the fuzzer already sent with another body (or still in flight),
# and 422 for a schema-valid suspension end that is already past.
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance
CHECKS+=,response_headers_conformance,response_schema_conformance
CHECKS+=,positive_data_acceptance,negative_data_rejection
CHECKS+=,unsupported_method,allow_header_conformance,missing_required_header,ignored_auth
cat >"$WORK/schemathesis.toml" <<'TOML'
[[operations]]
include-path-regex = "^/api/v1/users/((de|re)activate(/bulk)?|role)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

# A schema-valid webhook URL may still be refused (not https, or a host that does not resolve
# to public addresses: 422), and a schema-valid id may name no webhook (404).
[[operations]]
include-path-regex = "^/api/v1/webhooks"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422"]

# Two schema-valid times may still be out of order: `since` later than `until` is a 422; an
# export cursor is opaque (a schema-valid string that no page handed out is a 422).
[[operations]]
include-path-regex = "^/api/v1/events(/export)?$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "422"]
TOML

ARGS=(
    --config-file "$WORK/schemathesis.toml"
    run "$BASE/api/v1/openapi.json"
    --url "$BASE"
    --header "Authorization: Bearer $TOKEN"
    --checks "$CHECKS"
    --max-examples "$MAX_EXAMPLES"
    --seed "$SEED"
    --generation-database none
    --request-timeout 10
    --workers 1
    --no-color
    # No stateful phase: the API declares no links, and the one schemathesis infers from the
    # bulk route's `Location` (`/api/v1/jobs/{id}`) it pins on the wrong operation.
    --phases examples,coverage,fuzzing
)
[[ -z $FUZZ_SECONDS ]] || ARGS+=(--max-time "$FUZZ_SECONDS")

say "fuzzing $BASE/api/v1/openapi.json: seed $SEED, $MAX_EXAMPLES examples per operation${FUZZ_SECONDS:+, for ${FUZZ_SECONDS}s}"
# From the temporary directory, so that its caches (.hypothesis, .schemathesis) stay out of the
# work tree and no earlier run's findings are replayed.
set +e
(cd "$WORK" && timeout --kill-after=10 "$HARD_LIMIT" "$SCHEMATHESIS" "${ARGS[@]}")
STATUS=$?
set -e
[[ $STATUS -ne 124 && $STATUS -ne 137 ]] || say "schemathesis did not finish within ${HARD_LIMIT}s"

# Belt and braces: the server's own log of every request must show no 5xx either.
SERVER_ERRORS=$(grep -cE '"status":5[0-9]{2}[,}]' "$WORK/server.log" || true)
if [[ $SERVER_ERRORS -ne 0 ]]; then
    say "the server logged $SERVER_ERRORS answers with a 5xx status:"
    grep -E '"status":5[0-9]{2}[,}]' "$WORK/server.log" | tail -n 20 >&2
    [[ $STATUS -ne 0 ]] || STATUS=1
fi
REQUESTS=$(grep -c '"message":"request finished"' "$WORK/server.log" || true)
if [[ $STATUS -ne 0 ]]; then
    say "FAILED (exit status $STATUS) after $REQUESTS requests"
    exit "$STATUS"
fi
say "passed: $REQUESTS requests, no server errors, no departures from the spec"
