#!/usr/bin/env bash
# Fault matrix: while a bounded open-loop search load runs, stop, pause
# (SIGSTOP) and restart Postgres, then Redis, and measure per fault the
# requests that failed, the longest response, the time the service took to
# recover once the dependency was back, and what /readyz returned
# throughout.
#
# Setup: a throwaway Postgres 15 and a throwaway Redis on free loopback
# ports, one release instance with default settings except a raised rate
# limit (the limiter still runs in Redis) and the bundled sample loaded. The
# request bodies are made distinct (every body at many offsets) so that
# every search misses the cache and reaches Postgres, and every cache
# lookup and store reaches Redis.
#
# Each fault is its own load run: BEFORE seconds of steady load, the fault
# for HOLD seconds (for a restart, the restart itself), then AFTER seconds.
# Readiness is polled every 100 ms with a 1 s client limit.
#
# Usage: bench/fault_matrix.sh   (about 4 minutes; SKIP_BUILD=1 reuses the
# last build). Knobs: RATE (default 50 requests per second), BEFORE (5),
# HOLD (10), AFTER (10). Output: a table on stdout; request and poll logs
# under $RESULTS_DIR/fault-*.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RATE="${RATE:-50}"
BEFORE="${BEFORE:-5}"
HOLD="${HOLD:-10}"
AFTER="${AFTER:-10}"

start_bench_dependencies

API_PORT="$(free_port)"
BASE="http://127.0.0.1:$API_PORT"
LOG="$BENCH_TMP/api.log" start_api DATABASE_URL="$DATABASE_URL" \
    REDIS_URL="redis://127.0.0.1:$REDIS_PORT" BIND_ADDRESS="127.0.0.1:$API_PORT" \
    RATE_LIMIT_REQUESTS=1000000000
API_PID="$STARTED_PID"
wait_http_200 "$BASE/api/v1/monitoring/readyz" 120

BODIES="$BENCH_TMP/bodies.jsonl"
python3 - "$BENCH_DIR/search-bodies.jsonl" >"$BODIES" <<'PY'
import json, sys
base = [json.loads(l) for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")]
for offset in range(0, 4000, 20):
    for body in base:
        print(json.dumps({**body, "offset": offset, "limit": 20}))
PY

now_ms() { date +%s%3N; }

redis_stop() { kill -TERM "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null || true; }
redis_start() { redis_throwaway_start "$REDIS_PORT"; }

# Runs one fault: $1 name, $2 dependency (database|redis), $3 and $4 the
# commands that start and end the fault (the end command is empty for a
# restart, which is a single step).
run_fault() {
    local name="$1" dependency="$2" begin="$3" end="$4" total
    total=$((BEFORE + HOLD + AFTER))
    "$LOADGEN_BIN" --target "$BASE" --bodies "$BODIES" --rate "$RATE" --duration-s "$total" \
        --timeout-ms 30000 --poll-ms 100 --poll-timeout-ms 1000 \
        --requests-log "$RESULTS_DIR/fault-$name-requests.csv" \
        --poll-log "$RESULTS_DIR/fault-$name-polls.csv" \
        --summary "$RESULTS_DIR/fault-$name.json" >/dev/null &
    local loadgen=$!
    sleep "$BEFORE"
    local fault_started fault_ended
    fault_started="$(now_ms)"
    eval "$begin"
    if [[ -n "$end" ]]; then
        sleep "$HOLD"
        eval "$end"
    fi
    fault_ended="$(now_ms)"
    wait "$loadgen"
    echo "$name $dependency $fault_started $fault_ended" >>"$RESULTS_DIR/fault-events.txt"
    # Let the service settle before the next fault.
    wait_http_200 "$BASE/api/v1/monitoring/readyz" 30
    sleep 2
}

: >"$RESULTS_DIR/fault-events.txt"
run_fault pg-stop database 'pg_throwaway_stop "$PG_DATA"' 'pg_throwaway_resume "$PG_DATA"'
run_fault pg-pause database 'pg_throwaway_pause "$PG_DATA"' 'pg_throwaway_continue "$PG_DATA"'
run_fault pg-restart database 'pg_throwaway_restart "$PG_DATA"' ''
run_fault redis-stop redis 'redis_stop' 'redis_start'
run_fault redis-pause redis 'kill -STOP "$REDIS_PID"' 'kill -CONT "$REDIS_PID"'
run_fault redis-restart redis 'redis_stop; redis_start' ''

if grep -q '"level":"ERROR".*panic\|panicked' "$BENCH_TMP/api.log"; then
    echo "the service panicked:" >&2
    grep 'panic' "$BENCH_TMP/api.log" >&2
fi
kill -0 "$API_PID" 2>/dev/null || echo "the service is no longer running" >&2
echo "panics in the service log: $(grep -c 'panicked' "$BENCH_TMP/api.log" || true)"

python3 - "$RESULTS_DIR" <<'PY'
import csv, json, sys
results = sys.argv[1]
print()
print("| fault | requests | failed (by status) | longest response | errors until | recovered after return | /readyz during the fault | /readyz ok again after return | longest /readyz |")
print("|---|---:|---|---:|---:|---:|---|---:|---:|")
for line in open(f"{results}/fault-events.txt"):
    name, dependency, started, ended = line.split()
    started, ended = float(started), float(ended)
    summary = json.load(open(f"{results}/fault-{name}.json"))
    rows = list(csv.DictReader(open(f"{results}/fault-{name}-requests.csv")))
    failed = [r for r in rows if not r["status"].startswith("2")]
    by_status = {}
    for r in failed:
        key = r["status"] if r["status"] != "0" else r["error"]
        by_status[key] = by_status.get(key, 0) + 1
    failed_text = f"{len(failed)}" + (" (" + ", ".join(f"{k}: {v}" for k, v in sorted(by_status.items())) + ")" if failed else "")
    longest = max(float(r["latency_ms"]) for r in rows)
    # A failure ends when its response arrives: due time plus latency.
    last_failure_end = max((float(r["due_unix_ms"]) + float(r["latency_ms"]) for r in failed), default=None)
    if last_failure_end is None:
        errors_until, recovered = "—", "no failure"
    else:
        errors_until = f"{(last_failure_end - started) / 1000:.2f} s after start"
        recovered = f"{max(0.0, (last_failure_end - ended) / 1000):.2f} s"
    polls = list(csv.DictReader(open(f"{results}/fault-{name}-polls.csv")))
    during = [p for p in polls if started + 1000 <= float(p["unix_ms"]) <= ended]
    seen = {}
    for p in during:
        body = p["body"]
        if p["status"] == "0":
            state = f"no answer ({body})"
        else:
            check = "database" if dependency == "database" else "redis"
            value = "?"
            marker = f"'{check}':'"
            if marker in body:
                value = body.split(marker, 1)[1].split("'", 1)[0]
            state = f"{p['status']} {check} {value}"
        seen[state] = seen.get(state, 0) + 1
    readiness = ", ".join(f"{k} ×{v}" for k, v in sorted(seen.items())) or "—"
    longest_poll = max(float(p["latency_ms"]) for p in polls)
    # First poll after the return that shows the dependency as "ok" again.
    marker = "'database':'ok'" if dependency == "database" else "'redis':'ok'"
    ok_again = [float(p["unix_ms"]) + float(p["latency_ms"]) for p in polls
                if float(p["unix_ms"]) >= ended and p["status"] == "200" and marker in p["body"]]
    ready_again = f"{(min(ok_again) - ended) / 1000:.2f} s" if ok_again else "never"
    print(f"| {name} | {len(rows)} | {failed_text} | {longest / 1000:.2f} s | {errors_until} "
          f"| {recovered} | {readiness} | {ready_again} | {longest_poll:.0f} ms |")
PY
