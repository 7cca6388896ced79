#!/usr/bin/env bash
# Builds the stack as shipped: `sam build` on template.yaml, unchanged — every function for arm64
# (Graviton) on provided.al2023 through cargo-lambda (BuildMethod rust-cargolambda), which
# cross-compiles with zig (installed with cargo-lambda by dev/install.sh). Installs the aarch64
# standard library with rustup when it is missing. Prints each function's bootstrap (checked to
# be an aarch64 ELF, at most 5 MB zipped, and to start under qemu) with its size raw and zipped,
# and the time the build took.
#
#   bash dev/build-arm64.sh          # artefacts in .aws-sam/build/<Function>/bootstrap
set -euo pipefail

DEV_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=dev/env.sh
source "$DEV_DIR/env.sh"
cd "$BOURSE_REPO_DIR"

bash "$DEV_DIR/install.sh"
if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
    echo "bourse: installing the aarch64-unknown-linux-gnu standard library (rustup)"
    rustup target add aarch64-unknown-linux-gnu || {
        echo "bourse: cannot build for arm64: rustup could not install the aarch64-unknown-linux-gnu standard library" >&2
        exit 1
    }
fi

# qemu and the aarch64 C library, to start each bootstrap once on this x86_64 machine.
if ! command -v qemu-aarch64 >/dev/null || [ ! -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]; then
    echo "bourse: installing qemu-user and libc6-arm64-cross (Debian) to start the arm64 bootstraps"
    { apt-get install -y -qq --no-install-recommends qemu-user libc6-arm64-cross >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends qemu-user libc6-arm64-cross >/dev/null 2>&1; }; } ||
        { echo "bourse: cannot install qemu-user and libc6-arm64-cross" >&2; exit 1; }
fi

started="$(date +%s)"
# SAM's Rust builder is a beta feature: without the flag sam refuses BuildMethod rust-cargolambda.
# --no-cached: sam's cache would checksum the whole code directory (CodeUri is the workspace,
# target/ included: gigabytes) before each function; cargo's own incremental build is the cache.
SAM_CLI_BETA_RUST_CARGO_LAMBDA=1 sam build --template template.yaml --build-dir .aws-sam/build --beta-features --no-cached
elapsed=$(($(date +%s) - started))

# Each bootstrap must be an aarch64 ELF (e_machine 183) of at most 5 MB deflated (what a zip
# holds), and must start.
python3 - <<'PY'
import struct, subprocess, sys, zlib
status = 0
for fn in ["AuthFunction", "PortfolioFunction", "ScreenerFunction", "EnrichConsumerFunction", "OpsFunction",
           "AssistantFunction", "AssistantStreamFunction"]:
    path = f".aws-sam/build/{fn}/bootstrap"
    try:
        data = open(path, "rb").read()
    except OSError as err:
        print(f"FAIL {fn}: {err}"); status = 1; continue
    if data[:4] != b"\x7fELF" or struct.unpack_from("<H", data, 18)[0] != 183:
        print(f"FAIL {fn}: {path} is not an aarch64 ELF executable"); status = 1; continue
    zipped = len(zlib.compress(data, 9))
    pie = struct.unpack_from("<H", data, 16)[0] == 3  # e_type ET_DYN: position-independent
    # Started with no configuration, a bootstrap that loads and runs stops at its first setting.
    run = subprocess.run(["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu", path], env={}, capture_output=True, text=True, timeout=60)
    started = 'Missing("BOURSE_STAGE")' in run.stdout + run.stderr
    verdict = "ok  " if started and zipped <= 5_000_000 else "FAIL"
    status |= verdict == "FAIL"
    print(f"{verdict} {fn:<24} aarch64 {'PIE' if pie else 'non-PIE'}  {len(data) / 1e6:5.1f} MB raw  "
          f"{zipped / 1e6:4.2f} MB zipped  {'starts' if started else 'DOES NOT START: ' + (run.stdout + run.stderr)[-200:]}")
sys.exit(status)
PY
echo "sam build (arm64): ${elapsed} s"
