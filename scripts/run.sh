#!/usr/bin/env bash
# Sets up (first time) and starts the paydesk cashier. On first run with no config it writes the
# demo profile and starts a payment sandbox on loopback, so the whole flow works at once.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release -p paydesk-app
if [[ -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" ]]; then
  echo "run: no display found. On a desktop, run this from a terminal inside it;"
  echo "     on a server, try: xvfb-run -a scripts/run.sh"
  exit 1
fi
echo "run: data in ${PAYDESK_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/paydesk}"
exec target/release/paydesk
