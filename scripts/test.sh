#!/usr/bin/env bash
# Runs every check of the repository: the deployment and observability
# assets with the tools that consume them, formatting, clippy with warnings
# as errors, and all tests against real PostgreSQL and Redis on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh
scripts/tools.sh

scripts/check-assets.sh
cargo fmt --all -- --check
# The bench crates have workspaces of their own, outside the root one.
for crate in bench/loadgen bench/http-overhead; do
    (cd "$crate" && cargo fmt -- --check)
done
cargo clippy --locked --workspace --all-targets -- -D warnings
# Every test binary runs even when an earlier one fails, so one run shows
# every failure.
cargo test --locked --workspace --no-fail-fast
