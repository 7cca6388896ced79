#!/usr/bin/env bash
# Starts, stops and reports Bourse's local AWS stand-ins, each bound to 127.0.0.1 only:
#   dynamodb  DynamoDB Local 1.25.1 through the loopback launcher (in memory for test,
#             -dbPath $BOURSE_RUN_DIR/dynamodb for dev so data survives restarts)
#   redis     redis-server speaking TLS only (like ElastiCache with transit encryption), with a
#             throwaway CA and server certificate in $BOURSE_RUN_DIR/tls (dev/tls-material.sh);
#             no persistence, protected mode on
#   sqs       ministack serving SQS, Secrets Manager, SES, KMS and Bedrock Runtime (AWS JSON 1.x and
#             REST protocols, like the Rust SDK)
# and the two processes of the local API itself, started by dev/up.sh and dev/test.sh:
#   lambda    `cargo lambda watch` on 127.0.0.1:$LAMBDA_PORT (every function over HTTP)
#   poller    `bourse-dev poll`: the SQS event-source mapping, queue -> enrich-consumer
#   web       the reference web app's static build (web/dist) on 127.0.0.1:$WEB_PORT, calling the
#             profile's functions (dev/serve_web.py; dev/web.sh builds it)
#
# Usage:
#   dev/standins.sh start|stop|status <dev|test>
#   dev/standins.sh start-one|stop-one <dynamodb|redis|sqs|lambda|poller|web> <dev|test>
#
# `start` starts the three stand-ins; `stop` stops everything of the profile (the API too).
#
# Each server runs in its own session/process group (setsid); its pid is in
# $BOURSE_RUN_DIR/pids/<service>.pid and its output in $BOURSE_RUN_DIR/logs/<service>.log.
# `start` is idempotent and waits until every server answers its real protocol; `stop` signals
# only the process groups whose leader pid we recorded. Run dev/install.sh first.
set -euo pipefail

DEV_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=dev/env.sh
source "$DEV_DIR/env.sh"

STANDINS=(dynamodb redis sqs)
# Stopped first: they depend on the stand-ins.
API_PROCESSES=(web poller lambda)
START_TIMEOUT="${BOURSE_START_TIMEOUT:-30}" # seconds, for all services of one start together
STOP_TIMEOUT="${BOURSE_STOP_TIMEOUT:-10}"   # seconds between TERM and KILL

usage() {
    cat >&2 <<'EOF'
usage: dev/standins.sh start|stop|status <dev|test>
       dev/standins.sh start-one|stop-one <dynamodb|redis|sqs|lambda|poller|web> <dev|test>
EOF
    exit 2
}

say() { echo "bourse: $*"; }
err() { echo "bourse: $*" >&2; }

# --- per-service facts ----------------------------------------------------------------------

svc_port() {
    case "$1" in
        dynamodb) echo "$DYNAMODB_PORT" ;;
        redis) echo "$REDIS_PORT" ;;
        sqs) echo "$SQS_PORT" ;;
        lambda) echo "$LAMBDA_PORT" ;;
        poller) echo "-" ;;
        web) echo "$WEB_PORT" ;;
    esac
}

# A string that must appear in the process's command line for a recorded pid to count as ours
# (guards against a reused pid after a reboot or a crash).
svc_marker() {
    case "$1" in
        dynamodb) echo "LoopbackDynamoDbLocal" ;;
        redis) echo "redis-server" ;; # redis rewrites its title to "redis-server 127.0.0.1:PORT"
        sqs) echo "ministack" ;;
        lambda) echo "lambda watch" ;;
        poller) echo "bourse-dev" ;;
        web) echo "serve_web.py" ;;
    esac
}

pid_file() { echo "$BOURSE_RUN_DIR/pids/$1.pid"; }
log_file() { echo "$BOURSE_RUN_DIR/logs/$1.log"; }

# The command line of each server, exec'ed in a new session by launch().
svc_command() {
    local ddb="$BOURSE_TOOLS_DIR/dynamodb-local"
    case "$1" in
        dynamodb)
            local store="-inMemory"
            if [ "$BOURSE_PROFILE" = dev ]; then
                store="$BOURSE_RUN_DIR/dynamodb"
                mkdir -p "$store"
            fi
            # preferIPv4Stack: a plain IPv4 socket, so `ss` shows 127.0.0.1 rather than
            # [::ffff:127.0.0.1] (both are loopback only).
            SVC_CMD=(java -Djava.net.preferIPv4Stack=true
                "-Djava.library.path=$ddb/emulator/DynamoDBLocal_lib"
                -cp "$ddb/launcher:$ddb/emulator/DynamoDBLocal.jar"
                LoopbackDynamoDbLocal "$DYNAMODB_PORT" "$store")
            ;;
        redis)
            mkdir -p "$BOURSE_RUN_DIR/redis"
            bash "$DEV_DIR/tls-material.sh" "$BOURSE_RUN_DIR/tls" || return 1
            # --port 0: no plain-text listener at all, as on ElastiCache with TLS required.
            SVC_CMD=(redis-server --bind 127.0.0.1 --port 0 --tls-port "$REDIS_PORT"
                --tls-cert-file "$BOURSE_RUN_DIR/tls/server.pem" --tls-key-file "$BOURSE_RUN_DIR/tls/server.key"
                --tls-ca-cert-file "$BOURSE_RUN_DIR/tls/ca.pem" --tls-auth-clients no
                --protected-mode yes --save '' --appendonly no --daemonize no
                --dir "$BOURSE_RUN_DIR/redis" --logfile '')
            ;;
        sqs)
            # ministack: SERVICES limits it to SQS, Secrets Manager (the signing key the auth
            # function reads at init, as deployed), SES (account e-mails), KMS (the assistant's
            # saved provider keys) and Bedrock Runtime (the assistant's model, answered
            # deterministically); BIND_HOST keeps it on loopback; the IoT mTLS
            # listener (port 8883, all interfaces) and SFTP are switched off; TMPDIR holds its own
            # pid file, so two profiles never share one; no state is persisted. Its Bedrock never
            # forwards to a real model (no MINISTACK_BEDROCK_PROXY_URL from the caller's shell).
            mkdir -p "$BOURSE_RUN_DIR/sqs-tmp"
            SVC_CMD=(env -u LOCALSTACK_PERSISTENCE -u MINISTACK_BEDROCK_PROXY_URL
                BIND_HOST=127.0.0.1 GATEWAY_PORT="$SQS_PORT" SERVICES=sqs,secretsmanager,ses,kms,bedrock-runtime
                IOT_MTLS_ENABLED=0 SFTP_ENABLED=0 PERSIST_STATE=0 MINISTACK_REGION="$AWS_REGION"
                TMPDIR="$BOURSE_RUN_DIR/sqs-tmp" PYTHONUNBUFFERED=1 LOG_LEVEL=INFO
                "$BOURSE_TOOLS_DIR/venv/bin/ministack")
            ;;
        lambda)
            # -A: cargo lambda binds all interfaces otherwise. CORS is the functions' own (the
            # same settings as the template's), so cargo lambda's default CORS layer is off.
            # The test profile serves fixed binaries; dev reloads on code changes.
            # The local stages allow pages on port 3000 (bourse-config); the profile's own web
            # server is added to CORS_ALLOWED_ORIGINS when it serves on another port (test: 23000).
            local reload=() origins="${CORS_ALLOWED_ORIGINS:-}"
            [ "$BOURSE_PROFILE" = test ] && reload=(--ignore-changes)
            [ "$WEB_PORT" = 3000 ] || origins="${origins:+$origins,}http://127.0.0.1:$WEB_PORT,http://localhost:$WEB_PORT"
            SVC_CMD=(env -C "$BOURSE_REPO_DIR" "CORS_ALLOWED_ORIGINS=$origins" cargo lambda watch -A 127.0.0.1 -P "$LAMBDA_PORT"
                --disable-cors "${reload[@]}")
            ;;
        poller)
            SVC_CMD=("$BOURSE_REPO_DIR/target/debug/bourse-dev" poll --queue-url "$ENRICH_QUEUE_URL,$SCHEDULED_QUEUE_URL,$MAIL_QUEUE_URL"
                --invoke-url "http://127.0.0.1:$LAMBDA_PORT/2015-03-31/functions/enrich-consumer/invocations")
            ;;
        web)
            SVC_CMD=(python3 "$DEV_DIR/serve_web.py" --port "$WEB_PORT" --root "$BOURSE_REPO_DIR/web/dist"
                --api-url "http://127.0.0.1:$LAMBDA_PORT" --layout local)
            ;;
    esac
}

svc_installed() {
    case "$1" in
        dynamodb) [ -f "$BOURSE_TOOLS_DIR/dynamodb-local/launcher/LoopbackDynamoDbLocal.class" ] && command -v java >/dev/null ;;
        redis) command -v redis-server >/dev/null && command -v redis-cli >/dev/null ;;
        sqs) [ -x "$BOURSE_TOOLS_DIR/venv/bin/ministack" ] ;;
        lambda) command -v cargo-lambda >/dev/null ;;
        poller) [ -x "$BOURSE_REPO_DIR/target/debug/bourse-dev" ] ;;
        web) [ -f "$BOURSE_REPO_DIR/web/dist/index.html" ] ;;
    esac
}

# Readiness and liveness by the real protocol, each attempt bounded to 2 s.
svc_answers() {
    local port
    port="$(svc_port "$1")"
    case "$1" in
        dynamodb)
            # DynamoDB Local wants an Authorization header but does not check the signature.
            curl -sf --max-time 2 -X POST "http://127.0.0.1:$port/" \
                -H 'Content-Type: application/x-amz-json-1.0' \
                -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
                -H 'Authorization: AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
                -d '{}' 2>/dev/null | grep -q '"TableNames"'
            ;;
        redis)
            [ "$(timeout 2 redis-cli --tls --cacert "$BOURSE_RUN_DIR/tls/ca.pem" -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]
            ;;
        sqs)
            curl -sf --max-time 2 -X POST "http://127.0.0.1:$port/" \
                -H 'Content-Type: application/x-amz-json-1.0' \
                -H 'X-Amz-Target: AmazonSQS.ListQueues' \
                -d '{}' 2>/dev/null | grep -q '"QueueUrls"'
            ;;
        lambda)
            # Any HTTP answer means the invoke server is up (functions build on first call).
            curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/"
            ;;
        poller)
            # No port: it is ready once running; its log shows each batch.
            is_ours poller "$(read_pid poller)"
            ;;
        web)
            curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$port/config.json"
            ;;
    esac
}

# --- process bookkeeping ---------------------------------------------------------------------

read_pid() { # prints the recorded pid, or nothing
    local f
    f="$(pid_file "$1")"
    [ -f "$f" ] || return 0
    local pid
    pid="$(tr -dc '0-9' <"$f")"
    echo "$pid"
}

# True if the process exists and is not a zombie. A zombie counts as gone: where the reaper
# (pid 1) is slow, an exited server can linger as one for seconds.
alive() {
    local state
    state="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
    [[ -n "$state" && "$state" != Z* ]]
}

any_alive() {
    local pid
    for pid in "$@"; do
        alive "$pid" && return 0
    done
    return 1
}

# True if pid is alive and is the service's server (not a recycled pid).
is_ours() { # is_ours <service> <pid>
    local pid="$2"
    [ -n "$pid" ] && alive "$pid" || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$(svc_marker "$1")"
}

# True if anything accepts TCP connections on 127.0.0.1:port.
port_busy() {
    (: <>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

port_owner() { # best effort, for error messages
    if command -v ss >/dev/null; then
        ss -Hltnp "sport = :$1" 2>/dev/null | awk '{print $4, $6}' | paste -sd ';' -
    fi
}

# Starts the server in a new session. The child writes its own pid ($$ of the shell that then
# execs the server), so the pid file is right whether or not setsid had to fork.
launch() {
    local svc="$1" pidf logf
    pidf="$(pid_file "$svc")"
    logf="$(log_file "$svc")"
    [ -f "$logf" ] && mv -f "$logf" "$logf.prev" # keep the previous run's log for post-mortems
    svc_command "$svc"
    rm -f "$pidf"
    # The working directory is the run dir: DynamoDB Local drops a dynamodb-local-metadata.json
    # into its current directory, which must not land in the work tree.
    # shellcheck disable=SC2016 # $$, $0 and $1 belong to the inner shell
    setsid bash -c 'cd "$1" && echo $$ >"$0.tmp" && mv -f "$0.tmp" "$0" && shift && exec "$@"' \
        "$pidf" "$BOURSE_RUN_DIR" "${SVC_CMD[@]}" \
        </dev/null >"$logf" 2>&1 9>&- & # 9>&-: the server must not inherit (and hold) our lock
    local i
    for ((i = 0; i < 50; i++)); do
        [ -s "$pidf" ] && return 0
        sleep 0.1
    done
    err "$svc: no pid file after 5 s; see $logf"
    return 1
}

# Waits until the service answers, its process dies, or the shared deadline passes.
wait_ready() { # wait_ready <service> <deadline epoch seconds>
    local svc="$1" deadline="$2" pid port logf
    pid="$(read_pid "$svc")"
    port="$(svc_port "$svc")"
    logf="$(log_file "$svc")"
    while :; do
        if svc_answers "$svc"; then
            say "$svc ready on 127.0.0.1:$port (pid $pid)"
            return 0
        fi
        if ! alive "$pid"; then
            err "$svc exited during startup on 127.0.0.1:$port; log $logf:"
            tail -n 20 "$logf" | sed 's/^/    /' >&2
            rm -f "$(pid_file "$svc")"
            return 1
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            err "$svc did not answer on 127.0.0.1:$port within ${START_TIMEOUT}s; log $logf:"
            tail -n 20 "$logf" | sed 's/^/    /' >&2
            stop_many "$svc" >/dev/null
            return 1
        fi
        sleep 0.2
    done
}

# Phase 1 of a start: leaves a healthy server alone, cleans stale pid files, refuses ports held
# by others, and launches. Adds the service to WAITING if its readiness must be awaited.
begin_start() {
    local svc="$1" pid port
    port="$(svc_port "$svc")"
    svc_installed "$svc" || {
        if [ "$svc" = web ]; then err "web/dist is not built; run bash dev/web.sh build"; else err "$svc is not installed; run dev/install.sh"; fi
        return 1
    }
    pid="$(read_pid "$svc")"
    if is_ours "$svc" "$pid"; then
        if svc_answers "$svc"; then
            say "$svc already running on 127.0.0.1:$port (pid $pid)"
        else
            WAITING+=("$svc") # ours but not answering (yet): give it until the deadline
        fi
        return 0
    fi
    if [ -f "$(pid_file "$svc")" ]; then
        say "$svc: removing stale pid file (pid ${pid:-?} is gone or is not ours)"
        rm -f "$(pid_file "$svc")"
    fi
    if [ "$port" != - ] && port_busy "$port"; then
        err "$svc: port 127.0.0.1:$port is taken by a process this script did not start ($(port_owner "$port")); stop it or set ${svc^^}_PORT"
        return 1
    fi
    launch "$svc" || return 1
    WAITING+=("$svc")
}

start_many() {
    local svc failed=0 deadline
    deadline=$(($(date +%s) + START_TIMEOUT))
    WAITING=()
    for svc in "$@"; do
        begin_start "$svc" || failed=1
    done
    # The servers start in parallel; DynamoDB Local (a JVM) is the slowest at about 2 s.
    for svc in "${WAITING[@]}"; do
        wait_ready "$svc" "$deadline" || failed=1
    done
    return "$failed"
}

# Stops services together: TERM to every recorded process group first, then one shared wait,
# then KILL for whatever is left. Only pids we recorded, and still ours, are ever signalled.
stop_many() {
    local svc pid i rc=0 stopping=() pids=()
    for svc in "$@"; do
        pid="$(read_pid "$svc")"
        if [ -z "$pid" ]; then
            say "$svc not running (no pid file)"
        elif ! is_ours "$svc" "$pid"; then
            # Dead, or the pid now belongs to someone else: never signal it.
            say "$svc not running (stale pid file for pid $pid removed)"
            rm -f "$(pid_file "$svc")"
        else
            # The process group that setsid created has the recorded pid as its id; any helper
            # the server forked goes with it.
            kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
            stopping+=("$svc")
            pids+=("$pid")
        fi
    done
    [ "${#stopping[@]}" -gt 0 ] || return 0

    for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
        any_alive "${pids[@]}" || break
        sleep 0.1
    done
    for i in "${!stopping[@]}"; do
        if alive "${pids[$i]}"; then
            say "${stopping[$i]} (pid ${pids[$i]}) ignored TERM for ${STOP_TIMEOUT}s; sending KILL"
            kill -KILL -- "-${pids[$i]}" 2>/dev/null || kill -KILL "${pids[$i]}" 2>/dev/null || true
        fi
    done
    for ((i = 0; i < 50; i++)); do
        any_alive "${pids[@]}" || break
        sleep 0.1
    done

    for i in "${!stopping[@]}"; do
        if alive "${pids[$i]}"; then
            err "${stopping[$i]} (pid ${pids[$i]}) is still alive after KILL"
            rc=1
        else
            rm -f "$(pid_file "${stopping[$i]}")"
            say "${stopping[$i]} stopped (pid ${pids[$i]})"
        fi
    done
    return "$rc"
}

status_one() {
    local svc="$1" pid port
    pid="$(read_pid "$svc")"
    port="$(svc_port "$svc")"
    if is_ours "$svc" "$pid"; then
        if svc_answers "$svc"; then
            printf '%-9s running   pid %-7s 127.0.0.1:%-6s log %s\n' "$svc" "$pid" "$port" "$(log_file "$svc")"
            return 0
        fi
        printf '%-9s NOT ANSWERING pid %-7s 127.0.0.1:%-6s log %s\n' "$svc" "$pid" "$port" "$(log_file "$svc")"
        return 1
    fi
    if [ "$port" != - ] && port_busy "$port"; then
        printf '%-9s stopped   (port %s taken by another process: %s)\n' "$svc" "$port" "$(port_owner "$port")"
    else
        printf '%-9s stopped\n' "$svc"
    fi
    return 1
}

# --- main ------------------------------------------------------------------------------------

[ $# -ge 2 ] || usage
action="$1"
case "$action" in
    start | status)
        [ $# -eq 2 ] || usage
        profile="$2"
        services=("${STANDINS[@]}")
        ;;
    stop)
        [ $# -eq 2 ] || usage
        profile="$2"
        services=("${API_PROCESSES[@]}" "${STANDINS[@]}")
        ;;
    start-one | stop-one)
        [ $# -eq 3 ] || usage
        case "$2" in dynamodb | redis | sqs | lambda | poller | web) ;; *) usage ;; esac
        profile="$3"
        services=("$2")
        ;;
    *) usage ;;
esac
bourse_profile "$profile" || usage

mkdir -p "$BOURSE_RUN_DIR/pids" "$BOURSE_RUN_DIR/logs"
# One start/stop at a time per profile, so concurrent callers never launch a server twice.
exec 9>"$BOURSE_RUN_DIR/.lock"
flock -w 60 9 || {
    err "another standins.sh holds $BOURSE_RUN_DIR/.lock"
    exit 1
}

case "$action" in
    start | start-one)
        if ! start_many "${services[@]}"; then
            err "start failed for profile $profile (logs in $BOURSE_RUN_DIR/logs)"
            exit 1
        fi
        ;;
    stop | stop-one)
        stop_many "${services[@]}"
        ;;
    status)
        rc=0
        for svc in "${services[@]}"; do status_one "$svc" || rc=3; done
        exit "$rc"
        ;;
esac
