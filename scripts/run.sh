#!/usr/bin/env bash
# Starts PostgreSQL and Redis when needed, then serves BabyShield API on
# 127.0.0.1:8080 (override with BIND_ADDRESS and the other variables that
# `babyshield-api --help` lists).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh
exec cargo run --release --locked -p babyshield-api -- serve "$@"
