#!/usr/bin/env bash
# Returns benchmark (issue 14): the history rebuilt from the ledger and the returns (per holding and
# against the benchmark) of 10, 100 and 500 holdings over 1, 5 and 10 years of daily closes —
# median handler time computed and cached, the computation alone, DynamoDB requests and capacity.
#   bash dev/bench-returns.sh [runs]      (default 5)
# Release build, on the test profile's stand-ins (started, seeded and stopped by bench-stack.sh).
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/bench-stack.sh" release returns-bench --runs "${1:-5}"
