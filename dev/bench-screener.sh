#!/usr/bin/env bash
# Screener benchmark (DESIGN §7): warm custom screens over the reference universe and over 10,000
# synthetic stocks, search, cached vs uncached reads, DynamoDB requests per route.
#   bash dev/bench-screener.sh [runs]      (default 200)
# Release build, on the test profile's stand-ins (started, seeded and stopped by bench-stack.sh).
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/bench-stack.sh" release screener-bench --runs "${1:-200}"
