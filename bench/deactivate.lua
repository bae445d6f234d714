-- wrk script: PATCH /api/v1/users/deactivate, every request for a different seeded user.
--
-- Seeded user number n has the id 01938000-0000-7000-8000-<n as 12 hex digits> (bench/seed-*.sql).
-- This run owns the numbers [BENCH_ID_START, BENCH_ID_START + BENCH_ID_COUNT): thread t of T
-- takes start+t, start+t+T, start+t+2T, ... so no two requests name the same user and every
-- request is a real deactivation (200). Running past the range wraps around, and the repeats
-- answer 400 ("already deactivated"), which wrk counts as errors: give runs enough users.
--
-- Environment: BENCH_TOKEN (admin access token), BENCH_ID_START, BENCH_ID_COUNT,
-- BENCH_THREADS (wrk's -t), BENCH_REASON (optional).

local start = tonumber(os.getenv("BENCH_ID_START"))
local count = tonumber(os.getenv("BENCH_ID_COUNT"))
local nthreads = tonumber(os.getenv("BENCH_THREADS"))
local token = os.getenv("BENCH_TOKEN")
local reason = os.getenv("BENCH_REASON") or "Benchmark"

local created = 0

function setup(thread)
  thread:set("tid", created)
  created = created + 1
end

local k = 0

function init(args)
  wrk.method = "PATCH"
  wrk.path = "/api/v1/users/deactivate"
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local offset = (tid + nthreads * k) % count
  k = k + 1
  local id = string.format("01938000-0000-7000-8000-%012x", start + offset)
  local body = '{"user_id":"' .. id .. '","reason":"' .. reason .. '"}'
  return wrk.format(nil, nil, nil, body)
end

-- One machine-readable line for bench/run.sh. Latencies in microseconds.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
