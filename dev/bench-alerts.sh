#!/usr/bin/env bash
# Alerts benchmark: the consumer's evaluation of a refresh of 500 symbols carrying 10,000 alerts —
# alerts evaluated per second, DynamoDB requests per changed symbol and per fired alert, and the
# inbox read latency (first page, unread count) of the users they notified.
#   bash dev/bench-alerts.sh [alerts] [symbols] [concurrency]      (default 10000 500 8)
# Release build, on the test profile's stand-ins (started, seeded and stopped by bench-stack.sh).
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/bench-stack.sh" release alerts-bench --alerts "${1:-10000}" --symbols "${2:-500}" --concurrency "${3:-8}"
