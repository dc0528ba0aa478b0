#!/usr/bin/env bash
# Runs every test: formatting, the core and the sandbox (unit, contract against the sandbox over
# loopback HTTP, bad input, disk faults, CLI, crash and recovery, Alipay's and WeChat Pay's own client
# libraries against the sandbox and against our requests, tills uploading to a real PostgreSQL,
# and a short chaos run), each fuzz
# target briefly, the UI's unit tests, and the end-to-end tests of the real window under Xvfb.
# Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
export CARGO_TERM_COLOR=never
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n== %s\n' "$*"; }

step "format"
cargo fmt --all -- --check

step "wallet SDKs (the wallets' own npm client libraries check our signatures: tests/wallet_sdks.rs)"
(cd scripts/wallet-sdks && npm ci --no-audit --no-fund)

step "core and sandbox"
cargo test --workspace --exclude paydesk-e2e --exclude paydesk-app --exclude paydesk-floor

step "fuzzing: every target for 20 s (scripts/fuzz.sh 600 for the long run)"
scripts/fuzz.sh 20

step "ui unit tests"
(cd ui && npm test --silent)

step "window end-to-end (tauri-driver + WebKitWebDriver under Xvfb)"
if ! cargo install --list | grep -q "^tauri-driver v2.1.0"; then
  cargo install tauri-driver --locked --version 2.1.0
fi
cargo build -p paydesk-app
# The Debian package of that build, for tests/install.rs (dpkg -i, start it, upgrade it).
scripts/deb.sh --debug
cargo test -p paydesk-e2e --no-run
xvfb-run -a -s "-screen 0 1280x800x24" cargo test -p paydesk-e2e -- --test-threads=1
echo
echo "all tests passed; window screenshots are in target/e2e/"
