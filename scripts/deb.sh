#!/usr/bin/env bash
# Builds paydesk's Debian package with Tauri's bundler (its CLI is a locked dev dependency of the
# UI): target/release/bundle/deb/paydesk_<version>_amd64.deb. `deb.sh --debug` packs the debug
# build instead (target/debug/bundle/deb/), which the install test uses to spare CI a release build.
#
# The Tauri config sits at the top of the repository, beside a workspace manifest the bundler
# cannot read as an app crate, so the bundler runs in target/deb-stage: a copy of the config, a
# manifest naming the app's binary, and packaging/deb.json (paths relative to that stage) merged in.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

profile=release
build=(cargo build --release -p paydesk-app)
bundle=(--bundles deb --ci)
if [[ "${1:-}" == "--debug" ]]; then
  profile=debug
  build=(cargo build -p paydesk-app)
  bundle+=(--debug)
fi

scripts/setup.sh
"${build[@]}"

version=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' tauri.conf.json | head -n1)
stage=target/deb-stage
rm -rf "$stage"
mkdir -p "$stage"
cp tauri.conf.json "$stage/"
cat >"$stage/Cargo.toml" <<TOML
# Made by scripts/deb.sh for Tauri's bundler; the app is built from src-tauri/app.
[package]
name = "paydesk-app"
version = "$version"
edition = "2021"
description = "Desktop cashier"

[[bin]]
name = "paydesk"
path = "main.rs"

[workspace]
TOML
touch "$stage/main.rs"

rm -rf "target/$profile/bundle/deb"
(cd "$stage" && CARGO_TARGET_DIR="$top/target" "$top/ui/node_modules/.bin/tauri" bundle "${bundle[@]}" \
  --config "$top/packaging/deb.json")
deb=$(ls "target/$profile/bundle/deb/"*.deb)
echo "deb: $deb"
