#!/usr/bin/env bash
# Runs one `bourse-dev` benchmark on the test profile's stand-ins: installs what is missing, takes
# the machine-wide test-run lock (so it never stops another run's servers), starts the stand-ins,
# creates the tables and queues and seeds the universe, runs the benchmark, and always stops them.
# The functions write EMF metric lines to stdout; only the benchmark's figures are printed.
#   bash dev/bench-stack.sh <release|debug> <bourse-dev command> [options...]
set -euo pipefail

DEV_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=dev/env.sh
source "$DEV_DIR/env.sh"
cd "$BOURSE_REPO_DIR"
build="$1"
shift

bash "$DEV_DIR/install.sh"
bourse_profile test
mkdir -p "$BOURSE_TOOLS_DIR"
exec 8>"$BOURSE_TOOLS_DIR/test-run.lock"
flock -w 1800 8 || { echo "bourse: another test run holds the lock" >&2; exit 1; }
trap 'bash "$DEV_DIR/standins.sh" stop test >/dev/null || true' EXIT

case "$build" in
    release) cargo build --release --bin bourse-dev --quiet ;;
    debug) cargo build --bin bourse-dev --quiet ;;
    *) echo "usage: bench-stack.sh <release|debug> <command> [options...]" >&2; exit 2 ;;
esac
dev_tool="${CARGO_TARGET_DIR:-target}/$build/bourse-dev"
bash "$DEV_DIR/standins.sh" start test >/dev/null
"$dev_tool" resources --template template.yaml --stack bourse --signing-key-file "$BOURSE_RUN_DIR/jwt/signing.pem" >/dev/null
"$dev_tool" seed --data data
RUST_LOG=error "$dev_tool" "$@" | grep -v '^{"'
