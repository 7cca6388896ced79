#!/usr/bin/env bash
# Screener benchmark (DESIGN §7): warm custom screens over the reference universe and over 10,000
# synthetic stocks, search, cached vs uncached reads, DynamoDB requests per route.
#   bash dev/bench-screener.sh [runs]      (default 200)
# Release build; runs on the test profile's stand-ins, which it starts, seeds and stops.
set -euo pipefail

DEV_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=dev/env.sh
source "$DEV_DIR/env.sh"
cd "$BOURSE_REPO_DIR"
runs="${1:-200}"

bash "$DEV_DIR/install.sh"
bourse_profile test
trap 'bash "$DEV_DIR/standins.sh" stop test >/dev/null || true' EXIT

cargo build --release --bin bourse-dev --quiet
bash "$DEV_DIR/standins.sh" start test >/dev/null
target/release/bourse-dev resources --template template.yaml --stack bourse >/dev/null
target/release/bourse-dev seed --data data
# The functions write their EMF metric lines to stdout; the benchmark prints only its figures.
RUST_LOG=error target/release/bourse-dev screener-bench --runs "$runs" | grep -v '^{"'
