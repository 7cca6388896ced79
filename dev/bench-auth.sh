#!/usr/bin/env bash
# Login latency (argon2id at the production parameters) and access-token verification cost per
# request, medians of repeated runs, from a release build. Usage: bash dev/bench-auth.sh [rounds]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo run --quiet --release -p bourse-tokens --example auth_bench -- "${1:-15}"
