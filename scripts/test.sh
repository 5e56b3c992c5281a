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
cargo clippy --locked --workspace --all-targets -- -D warnings
cargo test --locked --workspace
