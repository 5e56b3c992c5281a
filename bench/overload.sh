#!/usr/bin/env bash
# Overload: an open-loop search load well above what two cores can serve,
# against two instances side by side on the same database: `shedding` with
# the default MAX_CONCURRENT_SEARCHES, and `unbounded` with the limit set
# out of reach. Beyond capacity the first rejects the excess at once with
# 503 and Retry-After, so its successful requests stay fast. The second
# queues every request until all of them are slow.
#
# Both instances search the bundled sample with the cache off
# (SEARCH_CACHE_TTL_SECONDS=0), so every request reaches Postgres. The
# phases alternate: shedding, unbounded.
#
# Usage: bench/overload.sh   (about 1 minute; SKIP_BUILD=1 reuses the last
# build). Knobs: RATE (default 1500 requests per second), DURATION (10 s).
# Output: a table on stdout; summaries in $RESULTS_DIR/overload-*.json.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RATE="${RATE:-1500}"
DURATION="${DURATION:-10}"

build_service_and_loadgen
machine_header

PG_PORT="$(free_port)"
pg_throwaway_start "$PG_PORT"
DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/babyshield"

declare -A PORT PID
common=(DATABASE_URL="$DATABASE_URL" REDIS_URL= SEARCH_CACHE_TTL_SECONDS=0
    RATE_LIMIT_REQUESTS=1000000000)
PORT[shedding]="$(free_port)"
LOG="$BENCH_TMP/shedding.log" start_api "${common[@]}" BIND_ADDRESS="127.0.0.1:${PORT[shedding]}"
PID[shedding]="$STARTED_PID"
wait_http_200 "http://127.0.0.1:${PORT[shedding]}/api/v1/monitoring/readyz" 120
PORT[unbounded]="$(free_port)"
LOG="$BENCH_TMP/unbounded.log" start_api "${common[@]}" BIND_ADDRESS="127.0.0.1:${PORT[unbounded]}" \
    MAX_CONCURRENT_SEARCHES=1000000
PID[unbounded]="$STARTED_PID"
wait_http_200 "http://127.0.0.1:${PORT[unbounded]}/api/v1/monitoring/readyz" 60

for variant in shedding unbounded; do
    "$LOADGEN_BIN" --target "http://127.0.0.1:${PORT[$variant]}" \
        --bodies "$BENCH_DIR/search-bodies.jsonl" --rate 50 --duration-s 3 >/dev/null
done
for variant in shedding unbounded; do
    "$LOADGEN_BIN" --target "http://127.0.0.1:${PORT[$variant]}" \
        --bodies "$BENCH_DIR/search-bodies.jsonl" --rate "$RATE" --duration-s "$DURATION" \
        --timeout-ms 30000 --max-in-flight 20000 \
        --summary "$RESULTS_DIR/overload-$variant.json" >/dev/null
    sleep 3
done

python3 - "$RESULTS_DIR" <<'PY'
import json, sys
print()
print("| instance | offered | answered/s | 200: count, p50 / p95 / p99 | 503: count, with Retry-After, p50 / p99 | other |")
print("|---|---:|---:|---|---|---|")
for variant in ("shedding", "unbounded"):
    s = json.load(open(f"{sys.argv[1]}/overload-{variant}.json"))
    by = s["latency_by_status"]
    def cell(status, extra=""):
        if status not in by:
            return "0"
        l = by[status]
        return f"{l['count']}{extra}, {l['p50_ms']:.0f} / " + (f"{l['p95_ms']:.0f} / " if status == "200" else "") + f"{l['p99_ms']:.0f} ms"
    other = {k: v for k, v in s["by_status"].items() if k not in ("200", "503")}
    retry = f", {s['with_retry_after_503']} with Retry-After"
    print(f"| {variant} | {s['rate']:.0f}/s for {s['duration_s']:.0f} s | {s['achieved_rps']} "
          f"| {cell('200')} | {cell('503', retry)} | {other or '—'} |")
PY
