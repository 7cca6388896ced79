#!/usr/bin/env bash
# The frontend's tests, against the real local stack (nothing of the backend is mocked):
#   client   the TypeScript client's tests (clients/typescript, vitest) against the functions;
#   browser  the web app's journey in headless Chromium (web/e2e, playwright-core driving
#            Debian's chromium), the page served by dev/serve_web.py on 127.0.0.1:$WEB_PORT; the
#            account e-mails' links are read from the SES stand-in's sent mail.
#
#   bash dev/test-web.sh [client|browser|all]        (default all)
#
# Alone, it takes the test-run lock, builds what it needs, starts the test profile's stand-ins,
# functions, queue poller and web server on the test ports, runs, and stops exactly what it
# started. Called by dev/test.sh with BOURSE_WEB_STACK_UP=1, it uses the stack that is already
# up and starts and stops only the web server. A failed browser step leaves a screenshot in
# web/e2e/artifacts/.
set -euo pipefail

DEV_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=dev/env.sh
source "$DEV_DIR/env.sh"
cd "$BOURSE_REPO_DIR"

what="${1:-all}"
case "$what" in client | browser | all) ;; *)
    echo "usage: dev/test-web.sh [client|browser|all]" >&2
    exit 2
    ;;
esac

if [ "${BOURSE_WEB_STACK_UP:-}" != 1 ]; then
    bash "$DEV_DIR/install.sh"
fi
bourse_profile test
mkdir -p "$BOURSE_RUN_DIR"
bourse_test_lock || exit 1

stop_started() { bash "$DEV_DIR/standins.sh" stop-one web test >/dev/null || true; }
if [ "${BOURSE_WEB_STACK_UP:-}" != 1 ]; then
    stop_started() { bash "$DEV_DIR/standins.sh" stop test >/dev/null || true; }
fi
trap stop_started EXIT

if [ "${BOURSE_WEB_STACK_UP:-}" != 1 ]; then
    bash "$DEV_DIR/web.sh" build
    echo "bourse: building the functions and tools (debug)"
    cargo build --workspace --bins --quiet
    bash "$DEV_DIR/standins.sh" start test
    target/debug/bourse-dev resources --template template.yaml --stack bourse --signing-key-file "$BOURSE_RUN_DIR/jwt/signing.pem"
    target/debug/bourse-dev seed --data data
    bash "$DEV_DIR/standins.sh" start-one lambda test
    bash "$DEV_DIR/standins.sh" start-one poller test
    for fn in auth portfolio screener; do
        # The first call of each function may still be building it: a bounded wait.
        status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 300 "http://127.0.0.1:$LAMBDA_PORT/lambda-url/$fn/v1/$fn/health" || true)"
        [ "$status" = 200 ] || {
            echo "bourse: $fn health answered ${status:-nothing}; see $BOURSE_RUN_DIR/logs/lambda.log" >&2
            exit 1
        }
    done
fi
[ -f web/dist/index.html ] || bash "$DEV_DIR/web.sh" build
bash "$DEV_DIR/standins.sh" start-one web test

rc=0
if [ "$what" != browser ]; then
    echo "== the TypeScript client against the stack (clients/typescript)"
    (cd clients/typescript && BOURSE_API_URL="http://127.0.0.1:$LAMBDA_PORT" BOURSE_API_LAYOUT=local npx vitest run) || rc=1
fi
if [ "$what" != client ]; then
    echo "== the web app's journey in headless Chromium (web/e2e)"
    rm -rf web/e2e/artifacts
    (cd web && BOURSE_WEB_URL="http://127.0.0.1:$WEB_PORT/" BOURSE_SES_URL="$AWS_ENDPOINT_URL_SESV2" node --test --test-reporter=spec e2e/) || {
        rc=1
        echo "bourse: screenshots of the failed step in web/e2e/artifacts/" >&2
    }
fi
exit "$rc"
