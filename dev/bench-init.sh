#!/usr/bin/env bash
# Cold-initialisation benchmark (DESIGN §7): every function's release binary, spawned against a
# local Lambda Runtime API, from process start to its first request for work, next to a
# hello-world lambda_runtime binary in the same rounds; plus the first invocation's handler time
# (a health request, so each dependency is reached once) and each binary's size raw and deflated.
#
#   bash dev/bench-init.sh [rounds]      (default 30)
#
# Native release build of this machine (the same profile cargo lambda uses for arm64). Runs the
# stand-ins of the test profile for the first invocations and stops them afterwards.
set -euo pipefail

DEV_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=dev/env.sh
source "$DEV_DIR/env.sh"
cd "$BOURSE_REPO_DIR"
rounds="${1:-30}"

bash "$DEV_DIR/install.sh"
bourse_profile test
trap 'bash "$DEV_DIR/standins.sh" stop test >/dev/null || true' EXIT

echo "bourse: building release binaries"
cargo build --release --bins --quiet
bash "$DEV_DIR/standins.sh" start test >/dev/null
target/release/bourse-dev resources --template template.yaml --stack bourse --signing-key-file "$BOURSE_RUN_DIR/jwt/signing.pem" >/dev/null
target/release/bourse-dev init-bench --bin-dir target/release --rounds "$rounds" --events events
