#!/usr/bin/env bash
# Refreshes the README's screenshots, docs/screenshot-*.png: builds the web app and the release
# bridge, then runs the browser tests that take them (each calls `screenshot(page, name)` from
# e2e/harness.js), with SCREENSHOT_DIR pointing at docs/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh

ensure_test_tools
build_web
say "building the release bridge, with the web app embedded"
cargo build --release --locked -p bridge
say "taking the screenshots (headless Chromium, 1280x800 and 420x800)"
target="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
files=$(grep -l 'await screenshot(' e2e/*.test.js)
# shellcheck disable=SC2086
BRIDGE_BIN="$target/release/bridge" SCREENSHOT_DIR="$PWD/docs" \
  node --test --test-concurrency=1 $files
ls -l docs/screenshot-*.png
