#!/usr/bin/env bash
# README command 1: brings the whole Bourse API up locally on the stand-ins, seeded with data.
#   - installs what is missing (dev/install.sh; idempotent);
#   - starts DynamoDB Local, Redis and the SQS stand-in on 127.0.0.1 (dev ports);
#   - creates the tables and queues from template.yaml and seeds the data;
#   - serves every function with `cargo lambda watch -A 127.0.0.1` and starts the queue poller
#     that feeds enrich-consumer;
#   - builds the reference web app (web/, with the TypeScript client) and serves it on
#     http://127.0.0.1:3000, which the local stage's CORS allows with no setting;
#   - waits until every health endpoint answers and a message has gone through the queue.
# Safe to re-run. dev/down.sh stops exactly what this started.
set -euo pipefail

DEV_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=dev/env.sh
source "$DEV_DIR/env.sh"
cd "$BOURSE_REPO_DIR"

bash "$DEV_DIR/install.sh"
bourse_profile dev

bash "$DEV_DIR/standins.sh" start dev
echo "bourse: building the functions and tools (debug)"
cargo build --workspace --bins --quiet
target/debug/bourse-dev resources --template template.yaml --stack bourse --signing-key-file "$BOURSE_RUN_DIR/jwt/signing.pem"
target/debug/bourse-dev seed --data data

bash "$DEV_DIR/standins.sh" start-one lambda dev
bash "$DEV_DIR/standins.sh" start-one poller dev
bash "$DEV_DIR/web.sh" build
# A re-run serves the new build: the web server only serves files, so it is restarted.
bash "$DEV_DIR/standins.sh" stop-one web dev >/dev/null
bash "$DEV_DIR/standins.sh" start-one web dev

base="http://127.0.0.1:$LAMBDA_PORT/lambda-url"
for fn in auth portfolio screener; do
    url="$base/$fn/v1/$fn/health"
    # The first call of each function may still be building it; bounded wait.
    status="$(curl -s -o "$BOURSE_RUN_DIR/logs/health-$fn.json" -w '%{http_code}' --max-time 300 "$url" || true)"
    if [ "$status" != 200 ]; then
        echo "bourse: $fn health answered ${status:-nothing} at $url:" >&2
        cat "$BOURSE_RUN_DIR/logs/health-$fn.json" >&2 2>/dev/null || true
        echo >&2
        echo "bourse: see $BOURSE_RUN_DIR/logs/lambda.log" >&2
        exit 1
    fi
    echo "bourse: $fn healthy: $url"
done
target/debug/bourse-dev pipeline-check --queue-url "$ENRICH_QUEUE_URL" --timeout-seconds 120

cat <<TXT

Bourse is up (profile dev). Every function answers under $base/<function>/...
  Web app: http://127.0.0.1:$WEB_PORT/  (or http://localhost:$WEB_PORT/)
  curl -s $base/screener/v1/screener/health
  cargo lambda invoke screener --invoke-address 127.0.0.1 --invoke-port $LAMBDA_PORT --data-file events/screener/health.json
Logs: $BOURSE_RUN_DIR/logs/   Stop: bash dev/down.sh   (add --wipe to drop the local data)
TXT
