#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis answer on their standard loopback ports:
# installs them with apt-get when they are missing and starts them when they
# are stopped. Used by scripts/run.sh, scripts/test.sh and CI.
set -euo pipefail

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

apt_install() {
  echo "installing $* with apt-get" >&2
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

postgres_answers() {
  psql "postgres://postgres@127.0.0.1:5432/postgres" -tAc 'SELECT 1' >/dev/null 2>&1
}

redis_answers() {
  [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]
}

wait_for() {
  local what=$1 check=$2
  for _ in $(seq 1 60); do
    if "$check"; then return 0; fi
    sleep 0.5
  done
  echo "$what did not answer on 127.0.0.1 within 30 s" >&2
  return 1
}

# PostgreSQL with pg_trgm (in Debian's postgresql package since version 10).
if ! postgres_answers; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    apt_install postgresql postgresql-client
  fi
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  "${sudo_cmd[@]}" pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
  if ! wait_for PostgreSQL postgres_answers; then
    # A fresh Debian cluster asks for a password on TCP; the service's
    # default URL uses the postgres role without one, as on this kind of
    # development machine. Trust loopback connections only.
    hba=/etc/postgresql/$version/main/pg_hba.conf
    "${sudo_cmd[@]}" sed -i -E 's#^(host\s+all\s+all\s+(127\.0\.0\.1/32|::1/128)\s+)\S+#\1trust#' "$hba"
    "${sudo_cmd[@]}" pg_ctlcluster --skip-systemctl-redirect "$version" main reload
    wait_for PostgreSQL postgres_answers
  fi
fi
echo "PostgreSQL answers on 127.0.0.1:5432" >&2

if ! redis_answers; then
  if ! command -v redis-server >/dev/null 2>&1; then
    apt_install redis-server
  fi
  "${sudo_cmd[@]}" mkdir -p /var/lib/redis /var/log/redis
  "${sudo_cmd[@]}" redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 \
    --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for Redis redis_answers
fi
echo "Redis answers on 127.0.0.1:6379" >&2
