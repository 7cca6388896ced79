#!/usr/bin/env bash
# API fuzzing: schemathesis generates requests from openapi.yaml for every operation of every HTTP
# function (auth, portfolio, screener) and checks each answer: no 5xx at all, a status the
# document lists for the operation, its content type, and its body against the document's schema.
#
#   1. installs what is missing (schemathesis is pinned in dev/install.sh's venv);
#   2. takes the machine-wide test-run lock (dev/test.sh, which already holds it, says so with
#      BOURSE_TEST_RUN_LOCKED=1), builds, starts the test profile's stand-ins (DynamoDB Local,
#      Redis, the SQS stand-in), creates the tables and queues from template.yaml, seeds the
#      universe and serves the functions with `cargo lambda watch` on the test port;
#   3. dev/fuzz_api.py: a fresh account per function (register + login through the auth function),
#      a few resources it owns, then schemathesis against
#      http://127.0.0.1:$LAMBDA_PORT/lambda-url/<function>; prints the figures (operations,
#      requests, failures, time);
#   4. always stops what it started, by pid (dev/standins.sh stop test).
# Exit 1 on any failure. Everything binds and talks to 127.0.0.1 only.
#
#   bash dev/fuzz-api.sh [dev/fuzz_api.py options: --max-examples N, --seed S, --function NAME]
#   BOURSE_FUZZ_SEED=<seed> bash dev/fuzz-api.sh     # repeat a run's generated requests
set -euo pipefail

DEV_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=dev/env.sh
source "$DEV_DIR/env.sh"
cd "$BOURSE_REPO_DIR"

bash "$DEV_DIR/install.sh" >/dev/null
bourse_profile test

mkdir -p "$BOURSE_RUN_DIR"
bourse_test_lock || exit 1

stop_all() { bash "$DEV_DIR/standins.sh" stop test >/dev/null || true; }
trap stop_all EXIT

started=$(date +%s)
cargo build --workspace --bins --quiet
bash "$DEV_DIR/standins.sh" start test >/dev/null
target/debug/bourse-dev resources --template template.yaml --stack bourse --signing-key-file "$BOURSE_RUN_DIR/jwt/signing.pem" >/dev/null
target/debug/bourse-dev seed --data data >/dev/null
bash "$DEV_DIR/standins.sh" start-one lambda test >/dev/null
echo "fuzz: stack up on 127.0.0.1:$LAMBDA_PORT in $(($(date +%s) - started)) s"

# The venv's Python has schemathesis; its hooks (dev/fuzz_hooks.py) are loaded from there too.
status=0
"$BOURSE_TOOLS_DIR/venv/bin/python" "$DEV_DIR/fuzz_api.py" --port "$LAMBDA_PORT" "$@" || status=$?
echo "fuzz: whole step $(($(date +%s) - started)) s"
exit "$status"
