#!/usr/bin/env bash
# Enumeration timing (issue: accounts): registration, a password-reset request and a failed
# sign-in for an address with an account and for one without — medians, 90th percentiles and the
# gap. Release build, on the test profile's stand-ins (started, seeded and stopped by bench-stack.sh).
#   bash dev/bench-enumeration.sh [runs]      (default 30)
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/bench-stack.sh" release enumeration-bench --runs "${1:-30}"
