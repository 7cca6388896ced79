#!/usr/bin/env bash
# Portfolio benchmark (DESIGN §7): summary and holdings of 10, 100 and 500 positions — median
# handler time with the cache entry absent and present, DynamoDB requests and consumed capacity.
#   bash dev/bench-portfolio.sh [runs]      (default 50)
# Release build, on the test profile's stand-ins (started, seeded and stopped by bench-stack.sh).
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/bench-stack.sh" release portfolio-bench --runs "${1:-50}"
