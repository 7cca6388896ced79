#!/usr/bin/env bash
# Assistant benchmark (issue 16): one question through the whole pipeline with the local stub as
# the model — time to the stream's first byte and first word, the stream's total and the
# non-streaming route's, with a model answering at once and one writing a word every PACE ms.
#   bash dev/bench-assistant.sh [runs] [pace-ms]      (default 20 20)
# Release build, on the test profile's stand-ins (started, seeded and stopped by bench-stack.sh).
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/bench-stack.sh" release assistant-bench --runs "${1:-20}" --pace-ms "${2:-20}"
