#!/usr/bin/env bash
# Security advisories of every crate in Cargo.lock: `cargo deny check advisories` against the
# RustSec advisory database (deny.toml, [advisories]: vulnerabilities, unmaintained and unsound
# crates, yanked versions). cargo-deny fetches the database from its git repository, so this
# needs a machine that can reach it; CI cannot, which is why dev/test.sh runs the other
# cargo-deny checks and not this one. When the database cannot be fetched this fails: it never
# reports a pass it did not check.
set -euo pipefail

DEV_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=dev/env.sh
source "$DEV_DIR/env.sh"
cd "$BOURSE_REPO_DIR"

bash "$DEV_DIR/install.sh"
cargo deny --locked check --hide-inclusion-graph advisories
