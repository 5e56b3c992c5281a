#!/usr/bin/env bash
# Installs the checkers that the test suite runs on the service's output,
# when they are missing: promtool (Debian package prometheus) and
# schemathesis (PyPI).
set -euo pipefail

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} with apt-get" >&2
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v schemathesis >/dev/null 2>&1; then
  echo "installing schemathesis with pip" >&2
  python3 -m pip install --quiet schemathesis
fi
