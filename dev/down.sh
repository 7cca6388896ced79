#!/usr/bin/env bash
# Stops exactly what dev/up.sh started (by the pids it recorded). `--wipe` also deletes the dev
# profile's DynamoDB data, so the next `up` starts from an empty, freshly seeded store.
set -euo pipefail

DEV_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$DEV_DIR/standins.sh" stop dev
if [ "${1:-}" = --wipe ]; then
    rm -rf "$DEV_DIR/../.run/dev/dynamodb"
    echo "bourse: dev data wiped"
fi
