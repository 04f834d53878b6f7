#!/usr/bin/env bash
# Installs what is missing and runs every test: formatting, lints, unit and integration tests,
# then the end-to-end tests that drive the real bridge from headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh

ensure_test_tools

say "cargo fmt --check"
cargo fmt --all -- --check
say "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
say "unit and integration tests (cargo test)"
cargo test --workspace --locked

build_web
say "building the release bridge, with the web app embedded"
cargo build --release --locked -p bridge
say "end-to-end tests (headless Chromium)"
# --test-force-exit: a failed test that leaves a socket open must not keep its file running.
BRIDGE_BIN="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/bridge" \
  node --test --test-concurrency=1 --test-force-exit e2e/
