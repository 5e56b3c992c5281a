#!/usr/bin/env bash
# Rolling restart: two instances behind a readiness-aware client-side
# balancer take a bounded search load. Each instance in turn gets SIGTERM,
# exits, and is started again, as an ECS rolling deployment replaces tasks.
# The figure that matters is the number of failed requests: zero.
#
# The balancer (bench/loadgen --balance) polls each instance's /readyz every
# POLL_MS and routes round-robin only to instances whose latest poll
# returned 200, as a load balancer's health check does with a short
# interval. The service turns /readyz to 503 at once on SIGTERM and keeps
# serving for SHUTDOWN_DRAIN_DELAY_SECONDS, so the balancer stops routing to
# it before its listener closes.
#
# Usage: bench/rolling_restart.sh   (about 1 minute; SKIP_BUILD=1 reuses the
# last build). Knobs: RATE (default 100 requests per second), POLL_MS (250).
# Output: a summary on stdout; logs under $RESULTS_DIR/rolling-*.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RATE="${RATE:-100}"
POLL_MS="${POLL_MS:-250}"
DURATION=45

start_bench_dependencies

declare -A PORT PID
for name in a b; do PORT[$name]="$(free_port)"; done

start_instance() {
    local name="$1"
    LOG="$BENCH_TMP/api-$name-$(date +%s%N).log" start_api DATABASE_URL="$DATABASE_URL" \
        REDIS_URL="redis://127.0.0.1:$REDIS_PORT" BIND_ADDRESS="127.0.0.1:${PORT[$name]}" \
        RATE_LIMIT_REQUESTS=1000000000
    PID[$name]="$STARTED_PID"
}

# The first instance loads the bundled sample; the second starts on the
# filled table.
start_instance a
wait_http_200 "http://127.0.0.1:${PORT[a]}/api/v1/monitoring/readyz" 120
start_instance b
wait_http_200 "http://127.0.0.1:${PORT[b]}/api/v1/monitoring/readyz" 120

"$LOADGEN_BIN" --target "http://127.0.0.1:${PORT[a]}" --target "http://127.0.0.1:${PORT[b]}" \
    --balance --poll-ms "$POLL_MS" --bodies "$BENCH_DIR/search-bodies.jsonl" \
    --rate "$RATE" --duration-s "$DURATION" --timeout-ms 30000 \
    --requests-log "$RESULTS_DIR/rolling-requests.csv" --poll-log "$RESULTS_DIR/rolling-polls.csv" \
    --summary "$RESULTS_DIR/rolling.json" >/dev/null &
LOADGEN_PID=$!

# Sends SIGTERM to instance $1, waits for it to exit, starts it again and
# waits until it is ready; prints what happened.
replace() {
    local name="$1" pid="${PID[$1]}" started ended code
    started="$(date +%s%3N)"
    kill -TERM "$pid"
    code=0
    wait "$pid" || code=$?
    ended="$(date +%s%3N)"
    echo "instance $name: SIGTERM to exit $((ended - started)) ms, exit code $code"
    start_instance "$name"
    wait_http_200 "http://127.0.0.1:${PORT[$name]}/api/v1/monitoring/readyz" 60
    echo "instance $name: ready again $(($(date +%s%3N) - ended)) ms after the old process exited"
}

sleep 8
replace a
sleep 5
replace b
wait "$LOADGEN_PID"

python3 - "$RESULTS_DIR/rolling.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
l = s["latency"]
statuses = ", ".join(f"{k}: {v}" for k, v in s["by_status"].items())
print()
print("| requests | failed | statuses | p50 | p99 | max |")
print("|---:|---:|---|---:|---:|---:|")
print(f"| {s['requests']} | {s['failed']} | {statuses} | {l['p50_ms']:.1f} ms | {l['p99_ms']:.1f} ms | {l['max_ms']:.1f} ms |")
PY
