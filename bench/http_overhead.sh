#!/usr/bin/env bash
# Measures the per-request cost of the HTTP metrics layers on a trivial
# `GET /hello` route: bare axum, the service's own stack
# (babyshield_monitoring::TrackRequestsLayer with Metrics and SloTracker) and
# axum-prometheus, all built from bench/http-overhead.
#
# Method: the three servers run at once, each pinned to core 0 with one
# tokio worker thread; wrk runs on core 1 (`wrk -t1 -c32 -d${DURATION}s
# --latency`). After one warm-up per variant, ROUNDS interleaved rounds
# (bare, tracked, axum-prometheus, bare, ...) are run. The script reports
# the median of each variant: requests per second, wrk's p50 and p99, and
# the server's user CPU time per request (utime delta from /proc/PID/stat
# divided by the requests wrk completed).
#
# Run from anywhere: bench/http_overhead.sh   (about 2 minutes with the
# defaults ROUNDS=3 DURATION=8; SKIP_BUILD=1 reuses the last build).
# Output: a table on stdout and $RESULTS_DIR/http_overhead.tsv.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-8}"
VARIANTS=(bare tracked axum-prometheus)
SERVER_BIN="$CARGO_TARGET_DIR/release/http-overhead"
TICKS_PER_SECOND="$(getconf CLK_TCK)"

need_packages wrk
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    (cd "$BENCH_DIR/http-overhead" && cargo build --release -q)
fi

machine_header
declare -A PORT PID
for variant in "${VARIANTS[@]}"; do
    PORT[$variant]="$(free_port)"
    taskset -c 0 "$SERVER_BIN" "$variant" "127.0.0.1:${PORT[$variant]}" &
    PID[$variant]=$!
    remember_pid "${PID[$variant]}"
done
for variant in "${VARIANTS[@]}"; do
    wait_http_200 "http://127.0.0.1:${PORT[$variant]}/hello" 10
done

# Runs wrk once against $1 for $2 seconds; prints
# "requests rps p50_ms p99_ms utime_ticks".
run_once() {
    local variant="$1" seconds="$2" before after output
    before="$(utime_ticks "${PID[$variant]}")"
    output="$(taskset -c 1 wrk -t1 -c32 -d"${seconds}s" --latency \
        "http://127.0.0.1:${PORT[$variant]}/hello")"
    after="$(utime_ticks "${PID[$variant]}")"
    python3 - "$output" "$((after - before))" <<'PY'
import re, sys
text, ticks = sys.argv[1], int(sys.argv[2])
def ms(value):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
requests = int(re.search(r"(\d+) requests in", text).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = ms(re.search(r"\s50%\s+(\S+)", text).group(1))
p99 = ms(re.search(r"\s99%\s+(\S+)", text).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if errors:
    sys.exit(f"wrk reported {errors.group(1)} non-2xx responses")
print(requests, rps, p50, p99, ticks)
PY
}

for variant in "${VARIANTS[@]}"; do
    run_once "$variant" 3 >/dev/null
done

TSV="$RESULTS_DIR/http_overhead.tsv"
printf 'round\tvariant\trequests\trps\tp50_ms\tp99_ms\tutime_ticks\n' >"$TSV"
for ((round = 1; round <= ROUNDS; round++)); do
    for variant in "${VARIANTS[@]}"; do
        read -r requests rps p50 p99 ticks < <(run_once "$variant" "$DURATION")
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$variant" "$requests" "$rps" \
            "$p50" "$p99" "$ticks" >>"$TSV"
        echo "round $round $variant: $rps req/s, p50 $p50 ms, p99 $p99 ms, $ticks ticks"
    done
done

python3 - "$TSV" "$TICKS_PER_SECOND" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
tick_us = 1e6 / int(sys.argv[2])
by_variant = {}
for row in rows:
    by_variant.setdefault(row["variant"], []).append(row)
median = lambda rows, key: statistics.median(float(r[key]) for r in rows)
cpu = {v: statistics.median(int(r["utime_ticks"]) * tick_us / int(r["requests"]) for r in rs)
       for v, rs in by_variant.items()}
bare_rps = median(by_variant["bare"], "rps")
print()
print("| variant | req/s (median) | ratio to bare | wrk p50 | wrk p99 | user CPU per request | over bare |")
print("|---|---:|---:|---:|---:|---:|---:|")
for variant, rs in by_variant.items():
    rps = median(rs, "rps")
    over = "—" if variant == "bare" else f"+{cpu[variant] - cpu['bare']:.2f} µs"
    print(f"| {variant} | {rps:,.0f} | {rps / bare_rps:.2f} | {median(rs, 'p50_ms'):.2f} ms "
          f"| {median(rs, 'p99_ms'):.2f} ms | {cpu[variant]:.2f} µs | {over} |")
PY
