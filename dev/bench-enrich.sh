#!/usr/bin/env bash
# Enrichment benchmark (DESIGN §7): refresh of the whole universe through the queue against a local
# stub provider with a rate limit and a latency; wall time against the bound N/R and the number of
# 429s the provider had to send.
#   bash dev/bench-enrich.sh [rate per second] [latency ms] [concurrent consumers]   (20 100 5)
# On the test profile's stand-ins (bench-stack.sh), in a stack and Redis database of its own. The
# work is I/O-bound (the rate limit), so the debug build is used.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/bench-stack.sh" debug enrich-bench --rate "${1:-20}" --latency-ms "${2:-100}" --concurrency "${3:-5}"
