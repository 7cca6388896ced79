#!/usr/bin/env bash
# README command 2 (what .ci/run calls): every test, on a clean machine.
#   1. installs what is missing (idempotent), then the gates, which fail the run at once:
#      `cargo fmt --check`, `cargo clippy --all-targets -D warnings`, and `cargo deny` over
#      licences, bans (duplicate versions included) and sources — security advisories need the
#      RustSec database, which CI cannot fetch: dev/audit.sh checks them (README, "The two commands");
#   2. unit tests need nothing; integration tests run against DynamoDB Local, Redis and the SQS
#      stand-in, which this script starts on the test ports and always stops;
#   3. cfn-lint and `sam validate --lint` on template.yaml;
#   4. `cargo lambda invoke --data-file` of every file in events/, checked against
#      events/expected.json; a message through the real queue to enrich-consumer; and the API
#      keeps serving with Redis stopped;
#   5. API fuzzing (dev/fuzz-api.sh): schemathesis generates requests from openapi.yaml for every
#      operation of every HTTP function, on stand-ins of its own; any 5xx, a status, content type
#      or body the document does not describe fails the run;
#   6. template.yaml, unchanged, deployed into the AWS emulator with the release binaries, and a
#      smoke journey through the deployed functions (dev/deploy-emulator.sh).
set -euo pipefail

DEV_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=dev/env.sh
source "$DEV_DIR/env.sh"
cd "$BOURSE_REPO_DIR"

bash "$DEV_DIR/install.sh"

echo "== gates: formatting, lints, dependencies"
gate() { # gate <name> <command...>: stops the run when the command fails
    local name="$1"
    shift
    if ! "$@"; then
        echo "FAIL $name (gate: $*)" >&2
        exit 1
    fi
    echo "ok   $name"
}
gate "cargo fmt" cargo fmt --all -- --check
gate "cargo clippy" cargo clippy --workspace --all-targets --locked --quiet -- -D warnings
gate "cargo deny" cargo deny --locked check --hide-inclusion-graph bans licenses sources

bourse_profile test

mkdir -p "$BOURSE_RUN_DIR"
bourse_test_lock || exit 1

stop_all() { bash "$DEV_DIR/standins.sh" stop test >/dev/null || true; }
trap stop_all EXIT

checks_passed=0
checks_failed=0
check() { # check <name> <command...>: a stack-level check, counted in the closing line
    local name="$1"
    shift
    if "$@"; then
        checks_passed=$((checks_passed + 1))
        echo "ok   $name"
    else
        checks_failed=$((checks_failed + 1))
        echo "FAIL $name"
    fi
}

echo "== template checks"
check "cfn-lint template.yaml" cfn-lint template.yaml
check "sam validate --lint" sam validate --lint --template template.yaml --region us-east-1

echo "== build"
cargo build --workspace --bins --tests --quiet

echo "== stand-ins"
bash "$DEV_DIR/standins.sh" start test
target/debug/bourse-dev resources --template template.yaml --stack bourse --signing-key-file "$BOURSE_RUN_DIR/jwt/signing.pem"
target/debug/bourse-dev seed --data data

echo "== unit and integration tests"
# Debug builds keep whole request futures (SDK calls included) on the test thread's stack; the
# default 2 MiB is too little for a handler driving hundreds of writes. Lambda's main thread has 8.
export RUST_MIN_STACK=8388608
cargo test --workspace --quiet
# The cache's deployed command timeout (50 ms; the profile's 1 s absorbs a loaded machine): the
# tests of the cache itself and the screener's cached reads run again with it, so the production
# bound is exercised.
echo "== cache-facing tests with the production cache timeout (50 ms)"
CACHE_TIMEOUT_MS=50 cargo test --quiet -p bourse-integration-tests --test cache_aside --test screener

echo "== sample events through cargo lambda"
bash "$DEV_DIR/standins.sh" start-one lambda test
bash "$DEV_DIR/standins.sh" start-one poller test
check "every sample event answers as expected" python3 "$DEV_DIR/check_events.py" "$LAMBDA_PORT"
check "a queued message reaches enrich-consumer" \
    target/debug/bourse-dev pipeline-check --queue-url "$ENRICH_QUEUE_URL" --timeout-seconds 120

health_with_cache_down() {
    local fn
    for fn in auth portfolio screener; do
        curl -s --max-time 30 -w '\n%{http_code}' "http://127.0.0.1:$LAMBDA_PORT/lambda-url/$fn/v1/$fn/health" |
            python3 -c '
import json, sys
body, status = sys.stdin.read().rsplit("\n", 1)
doc = json.loads(body)
ok = status == "200" and doc["status"] == "degraded" and doc["dependencies"]["cache"]["status"] == "down"
print(("  " if ok else "  UNEXPECTED ") + sys.argv[1] + ": " + status + " cache " + doc["dependencies"]["cache"]["status"])
sys.exit(0 if ok else 1)' "$fn" || return 1
    done
}
bash "$DEV_DIR/standins.sh" stop-one redis test >/dev/null
check "every function serves with Redis stopped and reports the cache down" health_with_cache_down
bash "$DEV_DIR/standins.sh" start-one redis test >/dev/null
bash "$DEV_DIR/standins.sh" stop test >/dev/null

echo "== API fuzzing against openapi.yaml"
# It starts (fresh) and stops the test stand-ins itself; this run already holds the lock.
check "every HTTP function fuzzed against openapi.yaml: no 5xx, only documented statuses, content types and bodies" \
    env BOURSE_TEST_RUN_LOCKED=1 bash "$DEV_DIR/fuzz-api.sh"

echo "== the template deployed into the emulator"
check "template.yaml deployed into the emulator passes the smoke journey" bash "$DEV_DIR/deploy-emulator.sh"

echo "checks: $checks_passed passed, $checks_failed failed"
[ "$checks_failed" -eq 0 ]
