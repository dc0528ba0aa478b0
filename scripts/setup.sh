#!/usr/bin/env bash
# Installs what paydesk needs on Debian 12 (idempotent): system packages, the UI's npm packages,
# and the built UI. `setup.sh --test` also installs what the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."

# The app: Tauri v2 on Linux (WebKitGTK), CJK fonts so Chinese text renders, udev for serial
# scanners, libclang for the camera bindings.
packages=(libwebkit2gtk-4.1-dev librsvg2-dev libayatana-appindicator3-dev build-essential pkg-config
  file libudev-dev libclang-dev fonts-noto-cjk)
if [[ "${1:-}" == "--test" ]]; then
  # Window tests under Xvfb through WebKitWebDriver; screenshots; pty pairs; a reference decoder;
  # a real PostgreSQL for the chain tests (each starts its own cluster) and openssl for its certificates.
  packages+=(xvfb xauth webkit2gtk-driver imagemagick xdotool socat zbar-tools postgresql openssl)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

command -v cargo >/dev/null || { echo "setup: cargo is missing: install Rust (https://rustup.rs)"; exit 1; }
command -v npm >/dev/null || { echo "setup: npm is missing: install Node.js 20 or newer"; exit 1; }

# The UI: install exactly the locked packages, then build it into ui/dist (the app embeds it).
if [[ ! -d ui/node_modules ]] || [[ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]]; then
  (cd ui && npm ci --no-audit --no-fund)
fi
(cd ui && npm run build --silent)
