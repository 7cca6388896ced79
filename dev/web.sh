#!/usr/bin/env bash
# The TypeScript client and the reference web app:
#   dev/web.sh build    checks that clients/typescript/src/schema.ts is what openapi.yaml
#                       generates, type-checks and builds the client (dist/), then type-checks
#                       and builds the web app to static files (web/dist)
#   dev/web.sh generate regenerates clients/typescript/src/schema.ts from openapi.yaml
# The npm packages come from dev/install.sh (npm ci from the committed lock files).
set -euo pipefail

DEV_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=dev/env.sh
source "$DEV_DIR/env.sh"
CLIENT="$BOURSE_REPO_DIR/clients/typescript"
WEB="$BOURSE_REPO_DIR/web"

need_modules() {
    [ -d "$CLIENT/node_modules" ] && [ -d "$WEB/node_modules" ] || {
        echo "bourse: the npm packages are not installed; run bash dev/install.sh" >&2
        exit 1
    }
}

case "${1:-}" in
    build)
        need_modules
        (cd "$CLIENT" && npm run --silent check-generated && npm run --silent typecheck && rm -rf dist && npm run --silent build)
        (cd "$WEB" && rm -rf dist && npx tsc --noEmit && npx vite build --logLevel warn)
        size="$(find "$WEB/dist" -type f -printf '%s\n' | awk '{s += $1} END {print s}')"
        echo "bourse: web app built in web/dist ($size bytes)"
        ;;
    generate)
        need_modules
        (cd "$CLIENT" && npm run --silent generate)
        ;;
    *)
        echo "usage: dev/web.sh build|generate" >&2
        exit 2
        ;;
esac
