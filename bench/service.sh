#!/usr/bin/env bash
# Measures the service itself, in one run, over the full public recall data:
#
#   search    search at fixed request rates (100, 200, 500 per second),
#             uncached and cached: p50, p95, p99, status counts;
#   readyz    /readyz at 2000 requests per second: the Postgres queries it
#             causes per second, beside the same instance left idle;
#   metrics   /metrics render time and size after the other phases have
#             created realistic label sets (every route, error statuses);
#   memory    resident memory of each instance idle and its peak under load.
#
# Setup: a throwaway Postgres 15 (with pg_stat_statements) and a throwaway
# Redis on free loopback ports; the full data imported with
# `babyshield-api import "$RECALLS_DIR"`; two release instances on the same
# database, started at once: `uncached` (SEARCH_CACHE_TTL_SECONDS=0, no
# Redis) and `cached` (Redis, a one-hour TTL, filled by a warm-up pass).
# Rate limits are raised out of the way; every other setting is the default.
# The load generator (bench/loadgen) sends open-loop load at a fixed rate and
# counts latency from each request's due time, so queueing is not hidden.
# Search phases alternate uncached, cached at each rate.
#
# Usage: RECALLS_DIR=path/to/data/recalls bench/service.sh
# Knobs: DURATION (seconds per search phase, default 20), RATES (default
# "100 200 500"), READYZ_RATE (2000), SKIP_BUILD=1 to reuse the last build.
# About 5 minutes with the defaults. Output: a report on stdout, the loadgen
# summaries in $RESULTS_DIR/service-*.json.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

: "${RECALLS_DIR:?set RECALLS_DIR to the folder of public recall data (see README, Importing the full data)}"
DURATION="${DURATION:-20}"
RATES="${RATES:-100 200 500}"
READYZ_RATE="${READYZ_RATE:-2000}"
BODIES="$BENCH_DIR/search-bodies.jsonl"

need_packages bc
start_bench_dependencies shared_preload_libraries=pg_stat_statements
psql_bench() { psql -X -q -t -A -h 127.0.0.1 -p "$PG_PORT" -U postgres -d babyshield "$@"; }

echo "importing $RECALLS_DIR"
import_started="$(date +%s.%N)"
DATABASE_URL="$DATABASE_URL" LOG_LEVEL=warn "$API_BIN" import "$RECALLS_DIR" >"$BENCH_TMP/import.log" 2>&1
echo "import took $(python3 -c "import time; print(round(time.time() - $import_started, 1))") s;" \
    "$(psql_bench -c 'SELECT count(*) FROM recalls_enhanced') recalls"
psql_bench -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' >/dev/null
psql_bench -c 'VACUUM ANALYZE' >/dev/null

declare -A PORT PID
common=(DATABASE_URL="$DATABASE_URL" LOAD_SAMPLE=false
    RATE_LIMIT_REQUESTS=1000000000 RATE_LIMIT_WINDOW_SECONDS=60)
PORT[uncached]="$(free_port)"
LOG="$BENCH_TMP/uncached.log" start_api "${common[@]}" BIND_ADDRESS="127.0.0.1:${PORT[uncached]}" \
    REDIS_URL= SEARCH_CACHE_TTL_SECONDS=0
PID[uncached]="$STARTED_PID"
PORT[cached]="$(free_port)"
LOG="$BENCH_TMP/cached.log" start_api "${common[@]}" BIND_ADDRESS="127.0.0.1:${PORT[cached]}" \
    REDIS_URL="redis://127.0.0.1:$REDIS_PORT" SEARCH_CACHE_TTL_SECONDS=3600
PID[cached]="$STARTED_PID"
for variant in uncached cached; do
    wait_http_200 "http://127.0.0.1:${PORT[$variant]}/api/v1/monitoring/readyz" 60
done

# Both instances see every body once, so Postgres' buffers are warm for
# both and the cached instance contains every page before measuring.
for variant in uncached cached; do
    "$LOADGEN_BIN" --target "http://127.0.0.1:${PORT[$variant]}" --bodies "$BODIES" \
        --rate 50 --duration-s 3 >/dev/null
done
sleep 2
declare -A IDLE_RSS
for variant in uncached cached; do IDLE_RSS[$variant]="$(rss_kib "${PID[$variant]}")"; done

# Runs loadgen; $1 names the result, the rest are loadgen arguments.
load() {
    local name="$1"; shift
    "$LOADGEN_BIN" --summary "$RESULTS_DIR/service-$name.json" "$@" >/dev/null
}

echo
echo "## search"
for rate in $RATES; do
    for variant in uncached cached; do
        load "search-$variant-$rate" --target "http://127.0.0.1:${PORT[$variant]}" \
            --bodies "$BODIES" --rate "$rate" --duration-s "$DURATION" --timeout-ms 10000
    done
done
python3 - "$RESULTS_DIR" "$RATES" <<'PY'
import json, sys
results, rates = sys.argv[1], sys.argv[2].split()
print("| rate | cache | requests | statuses | p50 | p95 | p99 | max | send lag p99 |")
print("|---:|---|---:|---|---:|---:|---:|---:|---:|")
for rate in rates:
    for variant in ("uncached", "cached"):
        s = json.load(open(f"{results}/service-search-{variant}-{rate}.json"))
        l = s["latency"]
        statuses = ", ".join(f"{k}: {v}" for k, v in s["by_status"].items())
        print(f"| {rate}/s | {variant} | {s['requests']} | {statuses} | {l['p50_ms']:.1f} ms "
              f"| {l['p95_ms']:.1f} ms | {l['p99_ms']:.1f} ms | {l['max_ms']:.1f} ms "
              f"| {s['send_lag_ms']['p99_ms']:.1f} ms |")
PY

echo
echo "## readyz"
# Statements the instances run, per second, from pg_stat_statements: the
# readiness check's `SELECT 1` is normalised to `SELECT $1`.
statement_calls() {
    psql_bench -c "SELECT coalesce(sum(calls) FILTER (WHERE query ~* '^select \\\$1\$'), 0) || ' ' || coalesce(sum(calls), 0) FROM pg_stat_statements"
}
READYZ_SECONDS=20
read -r idle_select_before idle_all_before < <(statement_calls)
sleep "$READYZ_SECONDS"
read -r idle_select_after idle_all_after < <(statement_calls)
read -r load_select_before load_all_before < <(statement_calls)
load readyz --target "http://127.0.0.1:${PORT[cached]}" --path /api/v1/monitoring/readyz \
    --rate "$READYZ_RATE" --duration-s "$READYZ_SECONDS" --timeout-ms 5000
read -r load_select_after load_all_after < <(statement_calls)
python3 - "$RESULTS_DIR/service-readyz.json" "$READYZ_SECONDS" \
    "$idle_select_before" "$idle_select_after" "$idle_all_before" "$idle_all_after" \
    "$load_select_before" "$load_select_after" "$load_all_before" "$load_all_after" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
seconds = float(sys.argv[2])
n = [int(v) for v in sys.argv[3:]]
elapsed = s["elapsed_s"]
l = s["latency"]
print("| phase | readyz requests/s | statuses | readyz p50 / p99 / max | `SELECT 1` per second | all statements per second |")
print("|---|---:|---|---|---:|---:|")
print(f"| idle, {seconds:.0f} s | 0 | — | — | {(n[1] - n[0]) / seconds:.2f} | {(n[3] - n[2]) / seconds:.2f} |")
statuses = ", ".join(f"{k}: {v}" for k, v in s["by_status"].items())
print(f"| {s['rate']:.0f}/s for {s['duration_s']:.0f} s | {s['achieved_rps']} | {statuses} "
      f"| {l['p50_ms']:.2f} / {l['p99_ms']:.2f} / {l['max_ms']:.2f} ms "
      f"| {(n[5] - n[4]) / elapsed:.2f} | {(n[7] - n[6]) / elapsed:.2f} |")
PY

echo
echo "## metrics"
# Label sets an instance meets in production besides searches: 400, 404,
# 405 and 415 responses, and every monitoring route.
base="http://127.0.0.1:${PORT[cached]}"
for path in /api/v1/monitoring/healthz /api/v1/monitoring/slo /api/v1/openapi.json \
    /api/v1/monitoring/probe/healthz /api/v1/monitoring/probe/search /nope /wp-login.php; do
    curl -s -o /dev/null "$base$path"
done
curl -s -o /dev/null -X DELETE "$base/api/v1/search/advanced"
curl -s -o /dev/null -H 'content-type: application/json' -d '{' "$base/api/v1/search/advanced"
curl -s -o /dev/null -H 'content-type: application/json' -d '{"limit": 1000}' "$base/api/v1/search/advanced"
curl -s -o /dev/null -H 'content-type: text/plain' -d 'x' "$base/api/v1/search/advanced"
curl -s -o "$BENCH_TMP/metrics.txt" -D "$BENCH_TMP/metrics.headers" "$base/metrics"
load metrics --target "$base" --path /metrics --concurrency 1 --duration-s 5
python3 - "$RESULTS_DIR/service-metrics.json" "$BENCH_TMP/metrics.txt" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
text = open(sys.argv[2], "rb").read()
samples = [line for line in text.decode().splitlines() if line and not line.startswith("#")]
families = [line for line in text.decode().splitlines() if line.startswith("# TYPE")]
l = s["latency"]
print("| body size | families | samples | scrapes in 5 s, one at a time | p50 | p99 | max |")
print("|---:|---:|---:|---:|---:|---:|---:|")
print(f"| {len(text):,} B | {len(families)} | {len(samples)} | {s['requests']} "
      f"| {l['p50_ms']:.2f} ms | {l['p99_ms']:.2f} ms | {l['max_ms']:.2f} ms |")
PY

echo
echo "## memory"
echo "| instance | RSS idle (after warm-up) | RSS now | peak RSS (VmHWM) |"
echo "|---|---:|---:|---:|"
for variant in uncached cached; do
    printf '| %s | %.1f MiB | %.1f MiB | %.1f MiB |\n' "$variant" \
        "$(echo "${IDLE_RSS[$variant]} / 1024" | bc -l)" \
        "$(echo "$(rss_kib "${PID[$variant]}") / 1024" | bc -l)" \
        "$(echo "$(hwm_kib "${PID[$variant]}") / 1024" | bc -l)"
done
