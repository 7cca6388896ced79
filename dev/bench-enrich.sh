#!/usr/bin/env bash
# Enrichment benchmark (DESIGN §7): refresh of the whole universe (503 symbols) through the queue
# against a local stub provider with a rate limit and a latency; wall time against the bound N/R
# and the number of 429s the provider had to send.
#   bash dev/bench-enrich.sh [rate per second] [latency ms] [concurrent consumers]   (20 100 5)
# Runs on the test profile's stand-ins (which it starts and stops, holding the test-run lock so it
# never stops another run's servers), in a stack and Redis database of its own. The work is
# I/O-bound (the rate limit), so the debug build is used.
set -euo pipefail

DEV_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=dev/env.sh
source "$DEV_DIR/env.sh"
cd "$BOURSE_REPO_DIR"

bash "$DEV_DIR/install.sh"
bourse_profile test
mkdir -p "$BOURSE_RUN_DIR"
exec 8>"$BOURSE_RUN_DIR/test-run.lock"
flock -w 1800 8 || { echo "bourse: another test run holds the lock" >&2; exit 1; }
trap 'bash "$DEV_DIR/standins.sh" stop test >/dev/null || true' EXIT

cargo build --bin bourse-dev --quiet
bash "$DEV_DIR/standins.sh" start test >/dev/null
target/debug/bourse-dev resources --template template.yaml --stack bourse >/dev/null
RUST_LOG=error target/debug/bourse-dev enrich-bench --rate "${1:-20}" --latency-ms "${2:-100}" --concurrency "${3:-5}" | grep -v '^{"'
