#!/usr/bin/env bash
# Deploys template.yaml, unchanged, into the AWS emulator ministack and runs a smoke journey
# against the deployed functions (dev/README.md, "The template in the emulator").
#
#   bash dev/deploy-emulator.sh              # build, deploy, smoke, stop everything it started
#   bash dev/deploy-emulator.sh --no-build   # reuse target/lambda/*/bootstrap and target/debug/bourse-dev
#
# Phases, each timed:
#   build   release bootstraps for the host (x86_64; the template says arm64, see dev/README.md)
#           with one cargo-lambda invocation, and bourse-dev (seeding) in debug;
#   deploy  a throwaway CA and a TLS Redis at the cache endpoint ministack reports; ministack with
#           all services and the SAM transform; the signing key's secret (dev/keys.sh); packaging,
#           CreateStack and the HTTP API's routes (dev/emulator_deploy.py); the market table seeded;
#   smoke   dev/smoke_emulator.py through the emulated API Gateway, the queue and the schedule.
#
# Settings (environment):
#   BOURSE_EMULATOR_PORT (34566), BOURSE_EMULATOR_CACHE_PORT (36379), BOURSE_EMULATOR_STACK (bourse);
#   BOURSE_EMULATOR_TARGET_DIR (target, or CARGO_TARGET_DIR): where lambda/<bin>/bootstrap and
#     debug/bourse-dev are built or, with --no-build, taken from;
#   BOURSE_EMULATOR_AUTH (true): ministack checks signatures and enforces the template's IAM policies;
#   BOURSE_EMULATOR_NETNS (auto): run the deploy and smoke phases in a network namespace of their
#     own with only a loopback interface when the machine allows it; 1 requires it, 0 never.
# Everything binds 127.0.0.1; state lives in .run/emulator/ (fresh each run; the previous run's is
# kept in .run/emulator.prev/).
set -euo pipefail

DEV_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=dev/env.sh
source "$DEV_DIR/env.sh"
REPO="$BOURSE_REPO_DIR"
cd "$REPO"

PORT="${BOURSE_EMULATOR_PORT:-34566}"
CACHE_PORT="${BOURSE_EMULATOR_CACHE_PORT:-36379}"
STACK="${BOURSE_EMULATOR_STACK:-bourse}"
AUTH="${BOURSE_EMULATOR_AUTH:-true}"
NETNS="${BOURSE_EMULATOR_NETNS:-auto}"
REGION=us-east-1
RUN="$REPO/.run/emulator"
TARGET="${BOURSE_EMULATOR_TARGET_DIR:-${CARGO_TARGET_DIR:-target}}"
case "$TARGET" in /*) ;; *) TARGET="$REPO/$TARGET" ;; esac
PY="$BOURSE_TOOLS_DIR/venv/bin/python"
# One bootstrap per Metadata.BuildProperties.Binary of the template (the assistant crate has two).
FUNCTION_BINS=(auth portfolio screener enrich-consumer ops assistant assistant-stream)
# The cache endpoint ministack reports for the template's replication group (it starts no cache
# itself without Docker): REDIS_HOST:REDIS_PORT of its environment. A DNS name, like ElastiCache's.
CACHE_HOST=localhost

say() { echo "emulator: $*"; }
die() {
    echo "emulator: $*" >&2
    exit 1
}
clock() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(clock)" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------------------------------------
# build (outside any network namespace)
# ---------------------------------------------------------------------------------------------
phase_build() {
    local started bins=()
    started="$(clock)"
    for bin in "${FUNCTION_BINS[@]}"; do bins+=(--bin "$bin"); done
    say "build: cargo lambda build --release --x86-64 ${bins[*]}"
    CARGO_TARGET_DIR="$TARGET" cargo lambda build --release --x86-64 "${bins[@]}"
    CARGO_TARGET_DIR="$TARGET" cargo build --quiet --bin bourse-dev
    say "phase build: $(since "$started") s"
}

# ---------------------------------------------------------------------------------------------
# servers: each in its own session, stopped by its recorded pid's process group
# ---------------------------------------------------------------------------------------------
declare -A SERVER_PIDS=()

start_server() { # start_server <name> <command...>; output in $RUN/logs/<name>.log
    local name="$1"
    shift
    setsid "$@" >"$RUN/logs/$name.log" 2>&1 </dev/null &
    SERVER_PIDS[$name]=$!
    echo "${SERVER_PIDS[$name]}" >"$RUN/pids/$name"
}

alive() { # alive <pid>: exists and is not a zombie
    local state
    state="$(ps -o stat= -p "$1" 2>/dev/null || true)"
    [ -n "$state" ] && [[ "$state" != Z* ]]
}

stop_servers() {
    local name pid i
    for name in "${!SERVER_PIDS[@]}"; do
        pid="${SERVER_PIDS[$name]}"
        # setsid made the pid its process group's leader; the group also holds what the server
        # started (ministack's function processes).
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    done
    for name in "${!SERVER_PIDS[@]}"; do
        pid="${SERVER_PIDS[$name]}"
        for ((i = 0; i < 100; i++)); do
            alive "$pid" || break
            sleep 0.1
        done
        if alive "$pid"; then
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        fi
        # Whatever else is left in the group (a function process that ignored TERM).
        kill -KILL -- "-$pid" 2>/dev/null || true
        rm -f "$RUN/pids/$name"
        unset "SERVER_PIDS[$name]"
    done
}

wait_for() { # wait_for <what> <seconds> <command...>
    local what="$1" seconds="$2" deadline
    shift 2
    deadline=$(($(date +%s) + seconds))
    until "$@" >/dev/null 2>&1; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "emulator: $what did not answer within ${seconds} s; log tail:" >&2
            return 1
        fi
        sleep 0.2
    done
}

# Every socket a server of ours listens on must be a loopback one.
check_loopback_only() {
    local name pid bad
    for name in "${!SERVER_PIDS[@]}"; do
        pid="${SERVER_PIDS[$name]}"
        bad="$(ss -Hltnup 2>/dev/null | grep -E "pid=($pid|$(pgrep -g "$pid" -d '|' || echo "$pid"))," |
            awk '{print $5}' | grep -Ev '^(127\.0\.0\.1|\[::1\]|\[::ffff:127\.0\.0\.1\]):' || true)"
        [ -z "$bad" ] || die "$name listens on a non-loopback address: $bad"
    done
}

# ---------------------------------------------------------------------------------------------
# the throwaway CA, the TLS cache and the trust bundle the functions get
# ---------------------------------------------------------------------------------------------
make_tls() {
    local dir="$RUN/tls" system_bundle=""
    # A CA and a server certificate (localhost, 127.0.0.1, ::1) made for this run only.
    bash "$DEV_DIR/tls-material.sh" "$dir"
    # The bundle the function processes trust: the system's CAs plus the throwaway one. They get it
    # as SSL_CERT_FILE from ministack's environment, which ministack passes to every function
    # process it starts (the template is not changed).
    for candidate in "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/cert.pem; do
        if [ -n "$candidate" ] && [ -s "$candidate" ]; then
            system_bundle="$candidate"
            break
        fi
    done
    [ -n "$system_bundle" ] || die "no system CA bundle found (set SSL_CERT_FILE)"
    cat "$system_bundle" "$dir/ca.pem" >"$dir/trust-bundle.pem"
}

start_cache() {
    mkdir -p "$RUN/redis"
    start_server redis redis-server --port 0 --tls-port "$CACHE_PORT" --bind 127.0.0.1 -::1 \
        --tls-cert-file "$RUN/tls/server.pem" --tls-key-file "$RUN/tls/server.key" \
        --tls-ca-cert-file "$RUN/tls/ca.pem" --tls-auth-clients no \
        --save "" --appendonly no --dir "$RUN/redis" --daemonize no
    if ! wait_for "the TLS cache" 15 redis-cli --tls --cacert "$RUN/tls/ca.pem" -h "$CACHE_HOST" -p "$CACHE_PORT" ping; then
        tail -n 20 "$RUN/logs/redis.log" >&2
        exit 1
    fi
}

start_ministack() {
    mkdir -p "$RUN/tmp"
    # A clean environment: nothing of the caller's (AWS profiles, dev-stack endpoints, a Docker
    # host) reaches ministack or, through it, the function processes, which inherit it.
    local env_vars=(
        PATH="/usr/local/bin:/usr/bin:/bin" HOME="$HOME" LANG=C.UTF-8
        BIND_HOST=127.0.0.1 GATEWAY_PORT="$PORT" MINISTACK_HOST=localhost
        IOT_MTLS_ENABLED=0 SFTP_ENABLED=0 PERSIST_STATE=0 TMPDIR="$RUN/tmp"
        DOCKER_HOST="unix://$RUN/no-docker.sock"
        AUTH="$AUTH"
        MINISTACK_REGION="$REGION" AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION"
        AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
        # ministack sets AWS_ENDPOINT_URL of every function process it starts to this, after the
        # function's own variables: every SDK client of a function talks to ministack.
        AWS_ENDPOINT_URL="http://127.0.0.1:$PORT"
        AWS_EC2_METADATA_DISABLED=true
        REDIS_HOST="$CACHE_HOST" REDIS_PORT="$CACHE_PORT"
        SSL_CERT_FILE="$RUN/tls/trust-bundle.pem"
    )
    start_server ministack env -i "${env_vars[@]}" "$PY" "$DEV_DIR/emulator_launcher.py"
    if ! wait_for "ministack" 60 curl -sf --max-time 2 "http://127.0.0.1:$PORT/_ministack/ready"; then
        tail -n 30 "$RUN/logs/ministack.log" >&2
        exit 1
    fi
    grep '^bourse: ' "$RUN/logs/ministack.log" | sed 's/^bourse: /emulator: /' || true
}

make_signing_key() { # the operator's first step, against ministack's Secrets Manager
    env -i PATH="/usr/local/bin:/usr/bin:/bin" HOME="$HOME" BOURSE_TOOLS_DIR="$BOURSE_TOOLS_DIR" \
        AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true \
        bash "$DEV_DIR/keys.sh" new --kid emulator-1 --region "$REGION" --endpoint-url "http://127.0.0.1:$PORT" \
        >"$RUN/keys.txt" 2>&1 || die "dev/keys.sh could not create the signing key: $(tail -n 3 "$RUN/keys.txt")"
    say "$(head -n 1 "$RUN/keys.txt")"
}

seed_market() {
    local tables
    tables="$("$PY" -c 'import json,sys; o=json.load(open(sys.argv[1]))["outputs"]; print(o["AppTableName"], o["MarketTableName"])' "$RUN/stack.json")"
    read -r app_table market_table <<<"$tables"
    env -i PATH="/usr/local/bin:/usr/bin:/bin" HOME="$HOME" \
        BOURSE_STAGE=local AWS_REGION="$REGION" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
        AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" \
        APP_TABLE="$app_table" MARKET_TABLE="$market_table" \
        "$TARGET/debug/bourse-dev" seed --data data
}

phase_run() { # deploy + smoke; runs inside the network namespace when there is one
    local started rc=0
    if [ "${BOURSE_EMULATOR_IN_NETNS:-0}" = 1 ]; then
        ip link set lo up || die "cannot bring up the loopback interface in the network namespace"
        say "network: a namespace of its own with only loopback (nothing started here can reach beyond this machine)"
    fi
    trap stop_servers EXIT
    trap 'exit 130' INT TERM

    started="$(clock)"
    make_tls
    start_cache
    start_ministack
    check_loopback_only
    make_signing_key
    "$PY" "$DEV_DIR/emulator_deploy.py" --endpoint "http://127.0.0.1:$PORT" --region "$REGION" \
        --stack "$STACK" --template template.yaml --lambda-dir "$TARGET/lambda" \
        --keys-output "$RUN/keys.txt" --out "$RUN/stack.json"
    local seed_started
    seed_started="$(clock)"
    seed_market
    say "seed: $(since "$seed_started") s"
    say "phase deploy: $(since "$started") s"

    started="$(clock)"
    "$PY" "$DEV_DIR/smoke_emulator.py" --state "$RUN/stack.json" --run-dir "$RUN" \
        --cache-ca "$RUN/tls/ca.pem" --cache-host "$CACHE_HOST" --cache-port "$CACHE_PORT" || rc=$?
    say "phase smoke: $(since "$started") s"
    check_loopback_only
    return "$rc"
}

# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------
if [ "${1:-}" = "--run-phase" ]; then # re-entry inside the network namespace
    exec 9>&-
    phase_run
    exit $?
fi

build=1
for arg in "$@"; do
    case "$arg" in
        --no-build) build=0 ;;
        *) die "unknown argument $arg (expected --no-build)" ;;
    esac
done

bash "$DEV_DIR/install.sh" >/dev/null
[ -x "$PY" ] || die "the tools venv has no python ($PY); run dev/install.sh"
"$PY" -c 'import samtranslator, boto3' 2>/dev/null || die "the tools venv lacks aws-sam-translator or boto3; run dev/install.sh"
for tool in openssl redis-server redis-cli curl ss; do
    command -v "$tool" >/dev/null || die "$tool is not installed (dev/install.sh installs redis; openssl, curl and iproute2 are Debian packages)"
done

mkdir -p "$REPO/.run"
exec 9>"$REPO/.run/emulator.lock"
flock -n 9 || die "another dev/deploy-emulator.sh run holds .run/emulator.lock"

total_started="$(clock)"
if [ "$build" = 1 ]; then
    phase_build
fi
for bin in "${FUNCTION_BINS[@]}"; do
    [ -x "$TARGET/lambda/$bin/bootstrap" ] || die "$TARGET/lambda/$bin/bootstrap is missing (run without --no-build)"
done
[ -x "$TARGET/debug/bourse-dev" ] || die "$TARGET/debug/bourse-dev is missing (run without --no-build)"

for port in "$PORT" "$CACHE_PORT"; do
    if ss -Hltn "sport = :$port" | grep -q .; then
        die "port $port is in use on this machine ($(ss -Hltnp "sport = :$port" | awk '{print $NF}' | head -n 1)); set BOURSE_EMULATOR_PORT / BOURSE_EMULATOR_CACHE_PORT"
    fi
done

rm -rf "$RUN.prev"
[ -d "$RUN" ] && mv "$RUN" "$RUN.prev"
mkdir -p "$RUN/logs" "$RUN/pids"

use_netns=0
why_not="not allowed on this machine"
case "$NETNS" in
    0 | no | false) why_not="BOURSE_EMULATOR_NETNS=$NETNS" ;;
    1 | yes | true)
        unshare --net true 2>/dev/null || die "BOURSE_EMULATOR_NETNS=1 but this machine does not allow a network namespace (unshare --net)"
        use_netns=1
        ;;
    *) if unshare --net true 2>/dev/null && command -v ip >/dev/null; then use_netns=1; fi ;;
esac

rc=0
# The servers are stopped by the run phase's own exit trap; this one only reports.
trap 'say "interrupted; everything started was stopped"; exit 130' INT TERM
if [ "$use_netns" = 1 ]; then
    BOURSE_EMULATOR_IN_NETNS=1 unshare --net -- bash "$0" --run-phase || rc=$?
else
    say "network: the host's (no network namespace: $why_not); the functions' AWS endpoint is still ministack"
    BOURSE_EMULATOR_IN_NETNS=0 bash "$0" --run-phase || rc=$?
fi
say "total: $(since "$total_started") s; logs in .run/emulator/logs/"
if [ "$rc" = 0 ]; then
    say "ok"
else
    say "FAILED (exit $rc)"
fi
exit "$rc"
