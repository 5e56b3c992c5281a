# Helpers shared by the bench/*.sh scripts; source it, do not run it.
#
# Every process a script starts is recorded with `remember_pid` and stopped
# by its pid when the script exits. Throwaway Postgres and Redis servers live
# in a temporary folder that is removed at exit.

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_DIR/target-bench}"
API_BIN="$CARGO_TARGET_DIR/release/babyshield-api"
LOADGEN_BIN="$CARGO_TARGET_DIR/release/loadgen"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
RESULTS_DIR="${RESULTS_DIR:-$BENCH_DIR/results}"
mkdir -p "$RESULTS_DIR"

BENCH_PIDS=()
BENCH_TMP="$(mktemp -d /tmp/babyshield-bench.XXXXXX)"
chmod 755 "$BENCH_TMP"
THROWAWAY_PG_DATA=()

remember_pid() { BENCH_PIDS+=("$1"); }

bench_cleanup() {
    local pid data
    for pid in "${BENCH_PIDS[@]}"; do
        # A paused process would ignore SIGTERM until continued.
        kill -CONT "$pid" 2>/dev/null || true
        kill -TERM "$pid" 2>/dev/null || true
    done
    for data in "${THROWAWAY_PG_DATA[@]}"; do
        pg_throwaway_continue "$data" 2>/dev/null || true
        setpriv --reuid=postgres --regid=postgres --init-groups \
            "$PG_BIN/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
    done
    # Instances drain for SHUTDOWN_DRAIN_DELAY_SECONDS after SIGTERM; a
    # benchmark's teardown need not wait for that.
    sleep 0.5
    {
        for pid in "${BENCH_PIDS[@]}"; do
            kill -KILL "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        done
    } 2>/dev/null
    rm -rf "$BENCH_TMP"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# Prints a free TCP port on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Prints the machine, date and load in the form the BENCHMARKS.md sections
# quote.
machine_header() {
    echo "date: $(date -u)"
    echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
    echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "rustc: $(rustc --version 2>/dev/null || echo unknown)"
}

# Installs the Debian packages named in $@ that are missing (needs root).
need_packages() {
    local missing=() package
    for package in "$@"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    if ((${#missing[@]})); then
        echo "installing ${missing[*]}" >&2
        apt-get install -y -q "${missing[@]}" >/dev/null
    fi
}

# Builds the service and the load generator (release) unless SKIP_BUILD=1.
build_service_and_loadgen() {
    if [[ "${SKIP_BUILD:-0}" == 1 ]]; then return; fi
    (cd "$REPO_DIR" && cargo build --release -q -p babyshield-api)
    (cd "$BENCH_DIR/loadgen" && cargo build --release -q)
}

# Waits up to $2 seconds (default 120) for HTTP 200 from URL $1.
wait_http_200() {
    local url="$1" limit="${2:-120}" i
    for ((i = 0; i < limit * 10; i++)); do
        if [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url")" == 200 ]]; then
            return 0
        fi
        sleep 0.1
    done
    echo "no 200 from $url within ${limit}s" >&2
    return 1
}

# Starts babyshield-api serve in the background with the environment given
# as NAME=VALUE arguments; sets STARTED_PID. Log: $LOG (default
# $BENCH_TMP/api-<port>.log).
start_api() {
    local log="${LOG:-$BENCH_TMP/api-$$-$RANDOM.log}"
    env "$@" "$API_BIN" serve >"$log" 2>&1 &
    STARTED_PID=$!
    remember_pid "$STARTED_PID"
}

# Resident set size of process $1, in KiB.
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# Peak resident set size of process $1, in KiB.
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
# User CPU time of process $1 (all threads), in clock ticks.
utime_ticks() { awk '{print $14}' "/proc/$1/stat"; }

# Creates and starts a throwaway Postgres 15 cluster as the postgres OS user
# on port $1, in a folder under $BENCH_TMP; extra `-c name=value` settings
# may follow. Sets PG_DATA.
pg_throwaway_start() {
    local port="$1"; shift
    PG_DATA="$BENCH_TMP/pg-$port"
    mkdir -p "$PG_DATA"
    chown postgres:postgres "$PG_DATA"
    setpriv --reuid=postgres --regid=postgres --init-groups \
        "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --no-sync >/dev/null
    THROWAWAY_PG_DATA+=("$PG_DATA")
    local options="-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG_DATA -c fsync=off"
    local setting
    for setting in "$@"; do options+=" -c $setting"; done
    echo "$options" >"$PG_DATA/bench-options"
    setpriv --reuid=postgres --regid=postgres --init-groups \
        "$PG_BIN/pg_ctl" -D "$PG_DATA" -o "$options" -l "$PG_DATA/server.log" -w start >/dev/null
}

# Builds, prints the machine header, and starts a throwaway Postgres (extra
# `name=value` settings as arguments) and a throwaway Redis on free ports.
# Sets PG_PORT, PG_DATA, REDIS_PORT, REDIS_PID and DATABASE_URL.
start_bench_dependencies() {
    need_packages redis-server
    build_service_and_loadgen
    machine_header
    PG_PORT="$(free_port)"
    REDIS_PORT="$(free_port)"
    pg_throwaway_start "$PG_PORT" "$@"
    redis_throwaway_start "$REDIS_PORT"
    DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/babyshield"
}

# Pid of the postmaster of cluster folder $1.
pg_throwaway_postmaster() { head -1 "$1/postmaster.pid"; }

# Pauses (SIGSTOP) the postmaster of cluster $1 and every backend it
# started; backends run setsid, so signalling the process group is not
# enough.
pg_throwaway_pause() {
    local postmaster
    postmaster="$(pg_throwaway_postmaster "$1")"
    kill -STOP "$postmaster"
    pkill -STOP -P "$postmaster" || true
}

pg_throwaway_continue() {
    local postmaster
    postmaster="$(pg_throwaway_postmaster "$1")"
    pkill -CONT -P "$postmaster" || true
    kill -CONT "$postmaster"
}

pg_throwaway_stop() {
    setpriv --reuid=postgres --regid=postgres --init-groups \
        "$PG_BIN/pg_ctl" -D "$1" -m fast -w stop >/dev/null
}

pg_throwaway_restart() {
    setpriv --reuid=postgres --regid=postgres --init-groups \
        "$PG_BIN/pg_ctl" -D "$1" -m fast -w restart >/dev/null
}

pg_throwaway_resume() {
    setpriv --reuid=postgres --regid=postgres --init-groups \
        "$PG_BIN/pg_ctl" -D "$1" -o "$(cat "$1/bench-options")" -l "$1/server.log" -w start >/dev/null
}

# Starts a throwaway Redis on port $1 without persistence; sets REDIS_PID.
redis_throwaway_start() {
    local port="$1"
    redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
        --dir "$BENCH_TMP" --logfile "$BENCH_TMP/redis-$port.log" >/dev/null 2>&1 &
    REDIS_PID=$!
    remember_pid "$REDIS_PID"
    local i
    for ((i = 0; i < 50; i++)); do
        redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "redis on port $port did not start" >&2
    return 1
}
